/// Keras's default initializers, driven by a seeded generator.
enum Initializers {
    /// glorot_uniform for a (fanIn, fanOut) kernel: U(-l, l) with l = sqrt(6 / (fanIn + fanOut)).
    /// `count` values (a matrix's fanIn · fanOut by default; a convolution kernel's fans count its
    /// window too, as Keras's compute_fans does).
    static func glorotUniform<T: Scalar>(fanIn: Int, fanOut: Int, count: Int? = nil, rng: inout SeededRandom) -> [T] {
        let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
        return (0..<(count ?? fanIn * fanOut)).map { _ in T((2 * rng.uniform() - 1) * limit) }
    }

    /// Keras's orthogonal initializer for a (rows, cols) matrix: the Q factor of a standard
    /// normal matrix (with R's diagonal made positive), transposed when rows < cols, so that the
    /// rows (or columns, whichever are fewer) are orthonormal.
    static func orthogonal<T: Scalar>(rows: Int, cols: Int, rng: inout SeededRandom) -> [T] {
        // Work on a tall matrix m × k (m >= k) drawn column by column.
        let m = max(rows, cols), k = min(rows, cols)
        let drawn = (0..<(m * k)).map { _ in rng.normal() }
        // Large float32 matrices (LSTM(2000)'s recurrent kernel takes 1.3e11 flops) go through
        // the product kernels; the rest keep the exact float64 loop, and with it the same
        // weights for the same seed as before.
        if T.self == Float.self, m * k * k >= largeOrthogonalWork {
            let q = blockOrthonormalized(drawn, m: m, k: k)  // k orthonormal rows of length m
            return (rows >= cols ? transposed(q, k, m) : q).map { T($0) }
        }
        var q = drawn
        q.withUnsafeMutableBufferPointer { gramSchmidt($0.baseAddress!, length: m, count: k, passes: 2) }
        // q holds k orthonormal columns of length m. As a (rows, cols) row-major matrix:
        var out = [T](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                // rows >= cols: element (r, c) is q[:, c][r]; rows < cols: the transpose.
                out[r * cols + c] = T(rows >= cols ? q[c * m + r] : q[r * m + c])
            }
        }
        return out
    }

    /// m·k² above which the float32 orthogonal initializer takes the product kernels.
    static let largeOrthogonalWork = 1 << 24

    /// The Q factor (positive R diagonal) of the m × k matrix whose columns are `columns`
    /// (column-major), returned transposed: k orthonormal float32 rows of length m. Block
    /// Gram-Schmidt, twice (BCGS2): each block of 32 vectors has the earlier vectors projected
    /// out by two products (S = Q·Bᵀ, Bᵀ -= Qᵀ·S, on the product kernels),
    /// then is orthonormalized within itself in float64; all of it twice, which keeps the vectors
    /// orthonormal to float32 precision for the well-conditioned random matrices this is for.
    static func blockOrthonormalized(_ columns: [Double], m: Int, k: Int) -> [Float] {
        let block = 32
        var q = columns.map { Float($0) }
        // The finished vectors also as columns (m × k, row-major), so that both products of a
        // block take the packed kernel with their operands read row by row.
        var columnsOfQ = [Float](repeating: 0, count: m * k)
        var s = [Float](repeating: 0, count: k * block)
        var bt = [Float](repeating: 0, count: m * block)
        var local = [Double](repeating: 0, count: m * block)
        q.withUnsafeMutableBufferPointer { qb in
            columnsOfQ.withUnsafeMutableBufferPointer { cb in
                s.withUnsafeMutableBufferPointer { sb in
                    bt.withUnsafeMutableBufferPointer { tb in
                        let qp = qb.baseAddress!, cp = cb.baseAddress!, sp = sb.baseAddress!, tp = tb.baseAddress!
                        for j0 in stride(from: 0, to: k, by: block) {
                            let nb = min(block, k - j0)
                            let b = qp + j0 * m  // the block's nb vectors, rows m apart
                            for _ in 0..<2 {
                                if j0 > 0 {
                                    // S[j0 × nb] = Q[:j0] · Bᵀ, then Bᵀ[m × nb] -= Q[:j0]ᵀ · S.
                                    transpose(nb, m, UnsafePointer(b), tp)
                                    sp.update(repeating: 0, count: j0 * nb)
                                    packedProduct(j0, nb, m, qp, m, tp, nb, sp, nb)
                                    for t in 0..<(j0 * nb) { sp[t] = -sp[t] }
                                    packedProduct(m, nb, j0, cp, k, sp, nb, tp, nb)
                                    transpose(m, nb, UnsafePointer(tp), b)
                                }
                                orthonormalizeBlock(b, m: m, nb: nb, scratch: &local)
                            }
                            for i in 0..<m { for c in 0..<nb { cp[i * k + j0 + c] = b[c * m + i] } }
                        }
                    }
                }
            }
        }
        return q
    }

    /// Modified Gram-Schmidt over the nb float32 vectors of length m at `p` (contiguous), in
    /// float64 (one pass: the caller's second pass is the reorthogonalization).
    private static func orthonormalizeBlock(_ p: UnsafeMutablePointer<Float>, m: Int, nb: Int,
                                            scratch: inout [Double]) {
        scratch.withUnsafeMutableBufferPointer { db in
            let d = db.baseAddress!
            for t in 0..<(nb * m) { d[t] = Double(p[t]) }
            gramSchmidt(d, length: m, count: nb, passes: 1)
            for t in 0..<(nb * m) { p[t] = Float(d[t]) }
        }
    }

    /// Modified Gram-Schmidt over `count` vectors of `length` at `d` (vector j at d + j·length):
    /// each vector has the earlier ones projected out `passes` times, then is normalized.
    /// Gram-Schmidt gives R a positive diagonal, the sign convention Keras applies after its QR.
    private static func gramSchmidt(_ d: UnsafeMutablePointer<Double>, length m: Int, count: Int, passes: Int) {
        for j in 0..<count {
            let v = d + j * m
            for _ in 0..<passes {
                for c in 0..<j {
                    let other = d + c * m
                    var dot = 0.0
                    for i in 0..<m { dot += other[i] * v[i] }
                    for i in 0..<m { v[i] -= dot * other[i] }
                }
            }
            var norm = 0.0
            for i in 0..<m { norm += v[i] * v[i] }
            norm = norm.squareRoot()
            for i in 0..<m { v[i] /= norm }
        }
    }

    /// The cols × rows transpose of a row-major rows × cols matrix.
    private static func transposed(_ a: [Float], _ rows: Int, _ cols: Int) -> [Float] {
        var t = [Float](repeating: 0, count: rows * cols)
        a.withUnsafeBufferPointer { src in t.withUnsafeMutableBufferPointer { transpose(rows, cols, src.baseAddress!, $0.baseAddress!) } }
        return t
    }
}
