/// The hot loops of liblstm, float32 only, written once and compiled three times: this module
/// for the x86-64 baseline (SSE2), LSTMKernelsAVX2 (the same files, linked) with `-target-cpu
/// haswell` and LSTM_FMA, and LSTMKernelsAVX512 with `-target-cpu skylake-avx512`, LSTM_FMA and
/// LSTM_AVX512; LSTMCore picks the best the CPU runs.
/// Entry points are `@inline(never)` so that their code is always the one built for its module.

typealias V8 = SIMD8<Float>

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> V8 { UnsafeRawPointer(p).loadUnaligned(as: V8.self) }

@inline(__always)
func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self) }

/// The first `count` (0...8) lanes from p, the rest zero.
@inline(__always)
func loadPartial8(_ p: UnsafePointer<Float>, _ count: Int) -> V8 {
    if count >= 8 { return load8(p) }
    var v = V8()
    for k in 0..<count { v[k] = p[k] }
    return v
}

@inline(__always)
func storePartial8(_ v: V8, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count >= 8 { store8(v, p); return }
    for k in 0..<count { p[k] = v[k] }
}

/// acc + a·b: one fused instruction in the AVX2 build, a multiply and an add in the baseline
/// build (where fmaf would be a library call).
@inline(__always)
func fma8(_ acc: V8, _ a: V8, _ b: V8) -> V8 {
#if LSTM_FMA
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
}

/// Which build this is, for tests and diagnostics.
public let kernelBuild: String = {
#if LSTM_AVX512
    return "avx512"
#elseif LSTM_FMA
    return "avx2-fma"
#else
    return "baseline"
#endif
}()
