import CCPU
import LSTMKernels
import LSTMKernelsAVX2
#if canImport(Glibc)
import Glibc
#endif

/// The float32 kernels come in two builds of the same source (see Package.swift): the AVX2 + FMA
/// one when the CPU and OS support it, else the x86-64 baseline. `LSTM_KERNELS=baseline` in the
/// environment forces the baseline build (for comparisons, and as a way out should the fast
/// build ever misbehave on some CPU).
enum KernelChoice {
    static let cpuHasAVX2 = lstm_cpu_has_haswell_features() != 0

    static let avx2: Bool = {
        if let v = getenv("LSTM_KERNELS"), String(cString: v) == "baseline" { return false }
        return cpuHasAVX2
    }()

    /// "avx2-fma" or "baseline": the build in use.
    static var name: String { avx2 ? LSTMKernelsAVX2.kernelBuild : LSTMKernels.kernelBuild }
}

@inline(__always)
func kRowTimesMatrix(_ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ c: UnsafeMutablePointer<Float>) {
    if KernelChoice.avx2 { LSTMKernelsAVX2.rowTimesMatrix(n, k, a, b, ldb, c) } else { LSTMKernels.rowTimesMatrix(n, k, a, b, ldb, c) }
}

/// B [k×n] (rows ldb apart) packed into the panels `kGemmPacked` reads, in new memory that the
/// caller deallocates. A copy: no arithmetic, so one build serves.
func kPacked(_ k: Int, _ n: Int, _ b: UnsafePointer<Float>, _ ldb: Int) -> UnsafeMutablePointer<Float> {
    let out = UnsafeMutablePointer<Float>.allocate(capacity: LSTMKernels.packedPanelsCount(k: k, n: n))
    LSTMKernels.packPanels(k, n, b, ldb, out)
    return out
}

@inline(__always)
func kGemmPacked(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                 _ packed: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if KernelChoice.avx2 {
        LSTMKernelsAVX2.gemmPacked(m, n, k, a, lda, packed, c, ldc)
    } else {
        LSTMKernels.gemmPacked(m, n, k, a, lda, packed, c, ldc)
    }
}

@inline(__always)
func kGemmTransposedA(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                      _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if KernelChoice.avx2 {
        LSTMKernelsAVX2.gemmTransposedA(m, n, k, a, lda, b, ldb, c, ldc)
    } else {
        LSTMKernels.gemmTransposedA(m, n, k, a, lda, b, ldb, c, ldc)
    }
}

@inline(__always)
func kSigmoid(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if KernelChoice.avx2 { LSTMKernelsAVX2.applySigmoid(p, n) } else { LSTMKernels.applySigmoid(p, n) }
}

@inline(__always)
func kTanh(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if KernelChoice.avx2 { LSTMKernelsAVX2.applyTanh(p, n) } else { LSTMKernels.applyTanh(p, n) }
}

@inline(__always)
func kCellForward(rows: Int, units: Int, z: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>?,
                  c: UnsafeMutablePointer<Float>, a: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
    if KernelChoice.avx2 {
        LSTMKernelsAVX2.lstmCellForward(rows: rows, units: units, z: z, cPrev: cPrev, c: c, a: a, h: h)
    } else {
        LSTMKernels.lstmCellForward(rows: rows, units: units, z: z, cPrev: cPrev, c: c, a: a, h: h)
    }
}

@inline(__always)
func kCellBackward(rows: Int, units: Int, gates: UnsafePointer<Float>, a: UnsafePointer<Float>,
                   cPrev: UnsafePointer<Float>?, dh: UnsafePointer<Float>,
                   dc: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>) {
    if KernelChoice.avx2 {
        LSTMKernelsAVX2.lstmCellBackward(rows: rows, units: units, gates: gates, a: a, cPrev: cPrev, dh: dh, dc: dc, dz: dz)
    } else {
        LSTMKernels.lstmCellBackward(rows: rows, units: units, gates: gates, a: a, cPrev: cPrev, dh: dh, dc: dc, dz: dz)
    }
}

@inline(__always)
func kGRUCellForward(rows: Int, units: Int, xw: UnsafePointer<Float>, rec: UnsafePointer<Float>,
                     hPrev: UnsafePointer<Float>, tape: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
    if KernelChoice.avx2 {
        LSTMKernelsAVX2.gruCellForward(rows: rows, units: units, xw: xw, rec: rec, hPrev: hPrev, tape: tape, h: h)
    } else {
        LSTMKernels.gruCellForward(rows: rows, units: units, xw: xw, rec: rec, hPrev: hPrev, tape: tape, h: h)
    }
}

@inline(__always)
func kGRUCellBackward(rows: Int, units: Int, tape: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
                      dh: UnsafePointer<Float>, dxw: UnsafeMutablePointer<Float>,
                      record: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
    if KernelChoice.avx2 {
        LSTMKernelsAVX2.gruCellBackward(rows: rows, units: units, tape: tape, hPrev: hPrev, dh: dh, dxw: dxw,
                                        record: record, dhPrev: dhPrev)
    } else {
        LSTMKernels.gruCellBackward(rows: rows, units: units, tape: tape, hPrev: hPrev, dh: dh, dxw: dxw,
                                    record: record, dhPrev: dhPrev)
    }
}

/// Float views of generic buffers, for the Float-only kernels (callers check T == Float).
@inline(__always)
func asFloat<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
func asFloat<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}
