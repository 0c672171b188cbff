/// Float32 products of at least this many multiply-adds (or 8 rows) pack B and take the
/// vectorized kernel: below it, packing costs more than it saves.
let packThreshold = 32 * 1024

/// C[m×n] += A[m×k] · B[k×n] in float32 through the packed kernel, rows split over threads when
/// the product is large.
func packedProduct(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                   _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let packed = kPacked(k, n, b, ldb)
    defer { packed.deallocate() }
    Parallel.forRows(m, work: m * n * k) { i0, i1 in
        kGemmPacked(i1 - i0, n, k, a + i0 * lda, lda, packed, c + i0 * ldc, ldc)
    }
}

/// Matrix products on raw row-major buffers. `ld*` are row strides in elements.
/// These loops keep the innermost index contiguous in both operands so that the compiler
/// vectorizes them; four rows of C share each row of B that is loaded.

/// C[m×n] += A[m×k] · B[k×n]
@inline(__always)
func gemmNN<T: Scalar>(_ m: Int, _ n: Int, _ k: Int,
                       _ a: UnsafePointer<T>, _ lda: Int,
                       _ b: UnsafePointer<T>, _ ldb: Int,
                       _ c: UnsafeMutablePointer<T>, _ ldc: Int) {
    if m == 0 || n == 0 || k == 0 { return }
    if T.self == Float.self {
        if m == 1 {
            kRowTimesMatrix(n, k, asFloat(a), asFloat(b), ldb, asFloat(c))
            return
        }
        if m >= 8 || m * n * k >= packThreshold {
            packedProduct(m, n, k, asFloat(a), lda, asFloat(b), ldb, asFloat(c), ldc)
            return
        }
    }
    var i = 0
    while i + 4 <= m {
        let c0 = c + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
        let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
        for p in 0..<k {
            let x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p]
            let bp = b + p * ldb
            for j in 0..<n {
                let bv = bp[j]
                c0[j] += x0 * bv
                c1[j] += x1 * bv
                c2[j] += x2 * bv
                c3[j] += x3 * bv
            }
        }
        i += 4
    }
    while i < m {
        let ci = c + i * ldc
        let ai = a + i * lda
        for p in 0..<k {
            let x = ai[p]
            if x == 0 { continue }
            let bp = b + p * ldb
            for j in 0..<n { ci[j] += x * bp[j] }
        }
        i += 1
    }
}

/// C[m×n] += Aᵀ · B where A is stored [k×m] and B [k×n]: the weight-gradient product.
@inline(__always)
func gemmTN<T: Scalar>(_ m: Int, _ n: Int, _ k: Int,
                       _ a: UnsafePointer<T>, _ lda: Int,
                       _ b: UnsafePointer<T>, _ ldb: Int,
                       _ c: UnsafeMutablePointer<T>, _ ldc: Int) {
    if m == 0 || n == 0 || k == 0 { return }
    if T.self == Float.self, m * n * k >= packThreshold {
        // Split by 16-column panels of C over threads.
        let panels = (n + 15) / 16
        Parallel.forRows(panels, work: m * n * k, grain: 1) { q0, q1 in
            let j0 = q0 * 16, j1 = min(n, q1 * 16)
            kGemmTransposedA(m, j1 - j0, k, asFloat(a), lda, asFloat(b + j0), ldb, asFloat(c + j0), ldc)
        }
        return
    }
    for p in 0..<k {
        let ap = a + p * lda
        let bp = b + p * ldb
        var i = 0
        while i + 4 <= m {
            let x0 = ap[i], x1 = ap[i + 1], x2 = ap[i + 2], x3 = ap[i + 3]
            let c0 = c + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
            for j in 0..<n {
                let bv = bp[j]
                c0[j] += x0 * bv
                c1[j] += x1 * bv
                c2[j] += x2 * bv
                c3[j] += x3 * bv
            }
            i += 4
        }
        while i < m {
            let x = ap[i]
            let ci = c + i * ldc
            for j in 0..<n { ci[j] += x * bp[j] }
            i += 1
        }
    }
}

/// dst[cols×rows] = srcᵀ where src is [rows×cols].
@inline(__always)
func transpose<T>(_ rows: Int, _ cols: Int, _ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>) {
    for r in 0..<rows {
        for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] }
    }
}

/// Sets each of the m rows of C [m×n] to `bias`, or to zero without one: the start of a
/// product that adds x·W to its bias, in one pass over C.
@inline(__always)
func setRows<T: Scalar>(_ m: Int, _ n: Int, _ bias: UnsafePointer<T>?, _ c: UnsafeMutablePointer<T>) {
    guard let bias else { c.update(repeating: 0, count: m * n); return }
    for i in 0..<m { (c + i * n).update(from: bias, count: n) }
}

/// g[n] += column sums of D[m×n].
@inline(__always)
func addColumnSums<T: Scalar>(_ m: Int, _ n: Int, _ d: UnsafePointer<T>, _ ldd: Int, _ g: UnsafeMutablePointer<T>) {
    for i in 0..<m {
        let di = d + i * ldd
        for j in 0..<n { g[j] += di[j] }
    }
}
