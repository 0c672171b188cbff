import CCPU
import LSTMKernels
import LSTMKernelsAVX2
import LSTMKernelsAVX512
#if canImport(Glibc)
import Glibc
#endif

/// One build of the float32 kernels (see Package.swift): the same functions, compiled for one
/// CPU level. A new kernel is one more field; a new CPU build one more table.
struct KernelTable: @unchecked Sendable {  // plain functions, no state
    let name: String
    /// Whether gemmPacked has a one-row kernel worth packing for (the AVX-512 build's).
    let packsOneRow: Bool
    let rowTimesMatrix: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    let gemmPacked: (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    let gemmTransposedA: (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                    UnsafeMutablePointer<Float>, Int) -> Void
    let sigmoid: (UnsafeMutablePointer<Float>, Int) -> Void
    let tanh: (UnsafeMutablePointer<Float>, Int) -> Void
    let cellForward: (Int, Int, UnsafeMutablePointer<Float>, UnsafePointer<Float>?, UnsafeMutablePointer<Float>,
                                UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    let cellBackward: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?,
                                 UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    let gruForward: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    let gruBackward: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void

    static let baseline = KernelTable(
        name: LSTMKernels.kernelBuild, packsOneRow: false, rowTimesMatrix: LSTMKernels.rowTimesMatrix, gemmPacked: LSTMKernels.gemmPacked,
        gemmTransposedA: LSTMKernels.gemmTransposedA, sigmoid: LSTMKernels.applySigmoid, tanh: LSTMKernels.applyTanh,
        cellForward: LSTMKernels.lstmCellForward, cellBackward: LSTMKernels.lstmCellBackward,
        gruForward: LSTMKernels.gruCellForward, gruBackward: LSTMKernels.gruCellBackward)
    static let avx2 = KernelTable(
        name: LSTMKernelsAVX2.kernelBuild, packsOneRow: false, rowTimesMatrix: LSTMKernelsAVX2.rowTimesMatrix,
        gemmPacked: LSTMKernelsAVX2.gemmPacked, gemmTransposedA: LSTMKernelsAVX2.gemmTransposedA,
        sigmoid: LSTMKernelsAVX2.applySigmoid, tanh: LSTMKernelsAVX2.applyTanh,
        cellForward: LSTMKernelsAVX2.lstmCellForward, cellBackward: LSTMKernelsAVX2.lstmCellBackward,
        gruForward: LSTMKernelsAVX2.gruCellForward, gruBackward: LSTMKernelsAVX2.gruCellBackward)
    static let avx512 = KernelTable(
        name: LSTMKernelsAVX512.kernelBuild, packsOneRow: true, rowTimesMatrix: LSTMKernelsAVX512.rowTimesMatrix,
        gemmPacked: LSTMKernelsAVX512.gemmPacked, gemmTransposedA: LSTMKernelsAVX512.gemmTransposedA,
        sigmoid: LSTMKernelsAVX512.applySigmoid, tanh: LSTMKernelsAVX512.applyTanh,
        cellForward: LSTMKernelsAVX512.lstmCellForward, cellBackward: LSTMKernelsAVX512.lstmCellBackward,
        gruForward: LSTMKernelsAVX512.gruCellForward, gruBackward: LSTMKernelsAVX512.gruCellBackward)
}

/// The kernel build in use, chosen once: the best this CPU and OS run (AVX-512, else AVX2 + FMA,
/// else the x86-64 baseline), or the one `LSTM_KERNELS=baseline|avx2|avx512` names when the
/// CPU runs it (for comparisons, and as a way out should a fast build ever misbehave).
enum KernelChoice {
    static let cpuHasAVX2 = lstm_cpu_has_haswell_features() != 0
    static let cpuHasAVX512 = lstm_cpu_has_avx512_features() != 0

    /// The builds this CPU runs, slowest first.
    static let runnable: [KernelTable] = [.baseline] + (cpuHasAVX2 ? [.avx2] : []) + (cpuHasAVX512 ? [.avx512] : [])

    static let active: KernelTable = {
        if let v = getenv("LSTM_KERNELS") {
            let wanted = String(cString: v) == "avx2" ? "avx2-fma" : String(cString: v)
            if let table = runnable.first(where: { $0.name == wanted }) { return table }
        }
        return runnable.last!
    }()

    /// "avx512", "avx2-fma" or "baseline": the build in use.
    static var name: String { active.name }
}

@inline(__always)
func kRowTimesMatrix(_ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ c: UnsafeMutablePointer<Float>) {
    KernelChoice.active.rowTimesMatrix(n, k, a, b, ldb, c)
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
    KernelChoice.active.gemmPacked(m, n, k, a, lda, packed, c, ldc)
}

@inline(__always)
func kGemmTransposedA(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                      _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    KernelChoice.active.gemmTransposedA(m, n, k, a, lda, b, ldb, c, ldc)
}

@inline(__always)
func kSigmoid(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    KernelChoice.active.sigmoid(p, n)
}

@inline(__always)
func kTanh(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    KernelChoice.active.tanh(p, n)
}

@inline(__always)
func kCellForward(rows: Int, units: Int, z: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>?,
                  c: UnsafeMutablePointer<Float>, a: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
    KernelChoice.active.cellForward(rows, units, z, cPrev, c, a, h)
}

@inline(__always)
func kCellBackward(rows: Int, units: Int, gates: UnsafePointer<Float>, a: UnsafePointer<Float>,
                   cPrev: UnsafePointer<Float>?, dh: UnsafePointer<Float>,
                   dc: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>) {
    KernelChoice.active.cellBackward(rows, units, gates, a, cPrev, dh, dc, dz)
}

@inline(__always)
func kGRUCellForward(rows: Int, units: Int, xw: UnsafePointer<Float>, rec: UnsafePointer<Float>,
                     hPrev: UnsafePointer<Float>, tape: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
    KernelChoice.active.gruForward(rows, units, xw, rec, hPrev, tape, h)
}

@inline(__always)
func kGRUCellBackward(rows: Int, units: Int, tape: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
                      dh: UnsafePointer<Float>, dxw: UnsafeMutablePointer<Float>,
                      record: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
    KernelChoice.active.gruBackward(rows, units, tape, hPrev, dh, dxw, record, dhPrev)
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
