/// Keras's default initializers, driven by a seeded generator.
enum Initializers {
    /// glorot_uniform for a (fanIn, fanOut) kernel: U(-l, l) with l = sqrt(6 / (fanIn + fanOut)).
    static func glorotUniform<T: Scalar>(fanIn: Int, fanOut: Int, rng: inout SeededRandom) -> [T] {
        let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
        return (0..<(fanIn * fanOut)).map { _ in T((2 * rng.uniform() - 1) * limit) }
    }

    /// Keras's orthogonal initializer for a (rows, cols) matrix: the Q factor of a standard
    /// normal matrix (with R's diagonal made positive), transposed when rows < cols, so that the
    /// rows (or columns, whichever are fewer) are orthonormal.
    static func orthogonal<T: Scalar>(rows: Int, cols: Int, rng: inout SeededRandom) -> [T] {
        // Work on a tall matrix m × k (m >= k) stored column by column.
        let m = max(rows, cols), k = min(rows, cols)
        var q = (0..<(m * k)).map { _ in rng.normal() }
        // Modified Gram-Schmidt, twice for numerical orthogonality. Gram-Schmidt gives R a
        // positive diagonal, which is the sign convention Keras applies after its QR.
        for j in 0..<k {
            for _ in 0..<2 {
                for p in 0..<j {
                    var dot = 0.0
                    for i in 0..<m { dot += q[p * m + i] * q[j * m + i] }
                    for i in 0..<m { q[j * m + i] -= dot * q[p * m + i] }
                }
            }
            var norm = 0.0
            for i in 0..<m { norm += q[j * m + i] * q[j * m + i] }
            norm = norm.squareRoot()
            for i in 0..<m { q[j * m + i] /= norm }
        }
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
}
