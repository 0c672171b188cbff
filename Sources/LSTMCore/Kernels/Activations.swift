/// Elementwise activations applied in place, and their derivatives: from the output alone where
/// the activation allows it (the recurrent cells keep only outputs), else from input and output.
extension Activation {
    static let seluAlpha = 1.6732632423543772848170429916717
    static let seluScale = 1.0507009873554804934193349852946

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
        default:
            for j in 0..<n { p[j] = value(p[j]) }
        }
    }

    /// The activation of one value (every elementwise case).
    @inline(__always)
    func value<T: Scalar>(_ x: T) -> T {
        switch self {
        case .linear, .softmax: return x
        case .tanh: return T.tanh(x)
        case .sigmoid: return 1 / (1 + T.exp(-x))
        case .relu: return max(x, 0)
        case .hardSigmoid: return min(max(x / 6 + T(0.5), 0), 1)
        case .hardSigmoidKeras2: return min(max(x * T(0.2) + T(0.5), 0), 1)
        case .relu6: return min(max(x, 0), 6)
        case .leakyRelu(let s): return x >= 0 ? x : T(s) * x
        case .elu(let a): return x > 0 ? x : T(a) * (T.exp(x) - 1)
        case .selu:
            return T(Self.seluScale) * (x > 0 ? x : T(Self.seluAlpha) * (T.exp(x) - 1))
        case .gelu: return T(0.5) * x * (1 + T.erf(x * T(0.70710678118654752440)))
        case .silu: return x / (1 + T.exp(-x))
        case .softplus: return T.log1p(T.exp(-abs(x))) + max(x, 0)
        case .softsign: return x / (1 + abs(x))
        case .exponential: return T.exp(x)
        case let .thresholdedRelu(maxValue, slope, threshold):
            var positive = threshold != 0 ? (x > T(threshold) ? x : 0) : max(x, 0)
            if let m = maxValue { positive = min(max(positive, 0), T(m)) }
            return positive - T(slope) * max(T(threshold) - x, 0)
        }
    }

    /// d(activation)/dx at the point where the activation's output is `y`
    /// (only where `derivativeFollowsFromOutput`).
    @inline(__always)
    func derivative<T: Scalar>(fromOutput y: T) -> T {
        switch self {
        case .linear, .softmax: return 1
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .relu: return y > 0 ? 1 : 0
        case .hardSigmoid: return (y > 0 && y < 1) ? T(1) / 6 : 0
        case .hardSigmoidKeras2: return (y > 0 && y < 1) ? T(0.2) : 0
        case .relu6: return (y > 0 && y < 6) ? 1 : 0
        case .leakyRelu(let s): return y >= 0 ? 1 : T(s)
        case .elu(let a): return y > 0 ? 1 : y + T(a)
        case .selu: return y > 0 ? T(Self.seluScale) : y + T(Self.seluScale * Self.seluAlpha)
        case .softplus: return 1 - T.exp(-y)
        case .softsign: return (1 - abs(y)) * (1 - abs(y))
        case .exponential: return y
        case .gelu, .silu, .thresholdedRelu: return derivative(input: 0, output: y)  // not reached: see derivativeFollowsFromOutput
        }
    }

    /// d(activation)/dx at input x (output y): every elementwise case.
    @inline(__always)
    func derivative<T: Scalar>(input x: T, output y: T) -> T {
        switch self {
        case .gelu:
            let cdf = T(0.5) * (1 + T.erf(x * T(0.70710678118654752440)))
            return cdf + x * T.exp(-x * x / 2) * T(0.39894228040143267794)
        case .silu:
            let s = 1 / (1 + T.exp(-x))
            return s * (1 + x * (1 - s))
        case .leakyRelu(let s): return x >= 0 ? 1 : T(s)
        case .elu(let a): return x > 0 ? 1 : T(a) * T.exp(x)
        case let .thresholdedRelu(maxValue, slope, threshold):
            let passes = threshold != 0 ? x > T(threshold) : x > 0
            var d: T = passes && (maxValue.map { x < T($0) } ?? true) ? 1 : 0
            if x < T(threshold) { d += T(slope) }
            return d
        default: return derivative(fromOutput: y)
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

/// Softmax's backward over rows: dx = y ⊙ (dy - Σ dy·y), into `dx`.
@inline(__always)
func softmaxRowsBackward<T: Scalar>(_ m: Int, _ n: Int, y: UnsafePointer<T>, dy: UnsafePointer<T>,
                                    dx: UnsafeMutablePointer<T>) {
    for r in 0..<m {
        let yr = y + r * n, gr = dy + r * n, dr = dx + r * n
        var dot: T = 0
        for j in 0..<n { dot += gr[j] * yr[j] }
        for j in 0..<n { dr[j] = yr[j] * (gr[j] - dot) }
    }
}

/// The gradient of a layer's pre-activation z (rows × n) from that of its output y = act(z),
/// into `dz`. `preActivation` writes z into the buffer it is given; it is called only for the
/// activations whose derivative needs z (gelu, silu, the general ReLU), which layers recompute
/// rather than keep.
@inline(__always)
func activationBackward<T: Scalar>(_ act: Activation, rows: Int, n: Int, y: UnsafePointer<T>, dy: UnsafePointer<T>,
                                   into dz: UnsafeMutablePointer<T>, preActivation: (UnsafeMutablePointer<T>) -> Void) {
    if act == .softmax {
        softmaxRowsBackward(rows, n, y: y, dy: dy, dx: dz)
    } else if act.derivativeFollowsFromOutput {
        for k in 0..<(rows * n) { dz[k] = dy[k] * act.derivative(fromOutput: y[k]) }
    } else {
        preActivation(dz)
        for k in 0..<(rows * n) { dz[k] = dy[k] * act.derivative(input: dz[k], output: y[k]) }
    }
}
