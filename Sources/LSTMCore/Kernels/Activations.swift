/// Elementwise activations, applied in place, and their derivatives expressed through the
/// activation's output (every activation here allows it), so backward needs no pre-activations.
extension Activation {
    /// Applies the activation to `n` contiguous values in place. Softmax is not elementwise and
    /// is handled by `applySoftmaxRows`.
    @inline(__always)
    func apply<T: Scalar>(_ p: UnsafeMutablePointer<T>, _ n: Int) {
        if T.self == Float.self, self == .tanh || self == .sigmoid {
            if self == .tanh { kTanh(asFloat(p), n) } else { kSigmoid(asFloat(p), n) }
            return
        }
        switch self {
        case .linear, .softmax:
            return
        case .tanh:
            for j in 0..<n { p[j] = T.tanh(p[j]) }
        case .sigmoid:
            for j in 0..<n { p[j] = 1 / (1 + T.exp(-p[j])) }
        case .relu:
            for j in 0..<n { p[j] = max(p[j], 0) }
        case .hardSigmoid:
            for j in 0..<n { p[j] = min(max(p[j] / 6 + T(0.5), 0), 1) }
        case .hardSigmoidKeras2:
            for j in 0..<n { p[j] = min(max(p[j] * T(0.2) + T(0.5), 0), 1) }
        }
    }

    /// d(activation)/dx at the point where the activation's output is `y`.
    @inline(__always)
    func derivative<T: Scalar>(fromOutput y: T) -> T {
        switch self {
        case .linear, .softmax: return 1
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .relu: return y > 0 ? 1 : 0
        case .hardSigmoid: return (y > 0 && y < 1) ? T(1) / 6 : 0
        case .hardSigmoidKeras2: return (y > 0 && y < 1) ? T(0.2) : 0
        }
    }
}

/// Softmax over each row of an [m×n] block, in place, stabilised by the row maximum.
@inline(__always)
func applySoftmaxRows<T: Scalar>(_ m: Int, _ n: Int, _ p: UnsafeMutablePointer<T>) {
    for i in 0..<m {
        let r = p + i * n
        var mx = r[0]
        for j in 1..<n { mx = max(mx, r[j]) }
        var sum: T = 0
        for j in 0..<n { let e = T.exp(r[j] - mx); r[j] = e; sum += e }
        let inv = 1 / sum
        for j in 0..<n { r[j] *= inv }
    }
}
