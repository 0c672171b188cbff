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

/// The vector of the cells and activations: 16 lanes in the AVX-512 build, 8 in the others (the
/// products name their widths, V8 and V16, themselves).
#if LSTM_AVX512
typealias VF = SIMD16<Float>
typealias VU = SIMD16<UInt32>
#else
typealias VF = SIMD8<Float>
typealias VU = SIMD8<UInt32>
#endif

/// VF's lane count, a constant in each build.
@inline(__always)
var lanes: Int { VF.scalarCount }

@inline(__always)
func loadV(_ p: UnsafePointer<Float>) -> VF { UnsafeRawPointer(p).loadUnaligned(as: VF.self) }

@inline(__always)
func storeV(_ v: VF, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: VF.self) }

/// The first `count` (0...lanes) lanes from p, the rest zero; 16 lanes are two halves of 8, so
/// that 8 units (a common small size) still take one whole load.
@inline(__always)
func loadPartialV(_ p: UnsafePointer<Float>, _ count: Int) -> VF {
#if LSTM_AVX512
    if count >= 16 { return loadV(p) }
    return VF(lowHalf: loadPartial8(p, min(count, 8)), highHalf: loadPartial8(p + 8, max(count - 8, 0)))
#else
    return loadPartial8(p, count)
#endif
}

@inline(__always)
func storePartialV(_ v: VF, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
#if LSTM_AVX512
    if count >= 16 { storeV(v, p); return }
    storePartial8(v.lowHalf, p, min(count, 8))
    if count > 8 { storePartial8(v.highHalf, p + 8, count - 8) }
#else
    storePartial8(v, p, count)
#endif
}

/// acc + a·b in VF lanes (see fma8).
@inline(__always)
func fmaV(_ acc: VF, _ a: VF, _ b: VF) -> VF {
#if LSTM_FMA
    return acc.addingProduct(a, b)
#else
    return acc + a * b
#endif
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
