import CBLAS

/// Products this large (m·n·k multiply-adds) go to OpenBLAS in float32: below it, the call and
/// packing overhead outweighs OpenBLAS's faster kernels (measured with benchmarks/bench.c).
@usableFromInline let blasThreshold = 32 * 1024

@inline(__always)
func blasFloat<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
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
    if T.self == Float.self, m == 1, n >= 32, n * k < blasThreshold {
        rowTimesMatrix(n, k, blasFloat(a), blasFloat(b), ldb, UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self))
        return
    }
    if T.self == Float.self, m * n * k >= blasThreshold {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, blasFloat(a), Int32(lda),
                    blasFloat(b), Int32(ldb), 1, UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
        return
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
    if T.self == Float.self, m * n * k >= blasThreshold {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, blasFloat(a), Int32(lda),
                    blasFloat(b), Int32(ldb), 1, UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
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

/// Adds `bias` (n values) to each of m rows of C (ldc stride).
@inline(__always)
func addRowVector<T: Scalar>(_ m: Int, _ n: Int, _ bias: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _ ldc: Int) {
    for i in 0..<m {
        let ci = c + i * ldc
        for j in 0..<n { ci[j] += bias[j] }
    }
}

/// g[n] += column sums of D[m×n].
@inline(__always)
func addColumnSums<T: Scalar>(_ m: Int, _ n: Int, _ d: UnsafePointer<T>, _ ldd: Int, _ g: UnsafeMutablePointer<T>) {
    for i in 0..<m {
        let di = d + i * ldd
        for j in 0..<n { g[j] += di[j] }
    }
}

/// c[n] += a[k] · B[k×n] for one row (batch 1, streaming): 32 columns of c are held in
/// registers while the k rows of B stream past, instead of reading and writing c for every row.
@inline(__always)
func rowTimesMatrix(_ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                    _ c: UnsafeMutablePointer<Float>) {
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
    var j = 0
    while j + 32 <= n {
        var c0 = load(c + j), c1 = load(c + j + 8), c2 = load(c + j + 16), c3 = load(c + j + 24)
        var bp = b + j
        for p in 0..<k {
            let x = SIMD8<Float>(repeating: a[p])
            c0 += x * load(bp); c1 += x * load(bp + 8); c2 += x * load(bp + 16); c3 += x * load(bp + 24)
            bp += ldb
        }
        store(c0, c + j); store(c1, c + j + 8); store(c2, c + j + 16); store(c3, c + j + 24)
        j += 32
    }
    while j + 8 <= n {
        var acc = load(c + j)
        var bp = b + j
        for p in 0..<k {
            acc += SIMD8<Float>(repeating: a[p]) * load(bp)
            bp += ldb
        }
        store(acc, c + j)
        j += 8
    }
    if j < n {
        for p in 0..<k {
            let x = a[p], bp = b + p * ldb
            for jj in j..<n { c[jj] += x * bp[jj] }
        }
    }
}
