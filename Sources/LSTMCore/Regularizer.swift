/// Keras's L1, L2 and L1L2 regularizers: a penalty l1·Σ|w| + l2·Σw² added to the loss.
public struct Regularizer: Equatable, Sendable {
    public var l1: Double
    public var l2: Double

    public init(l1: Double = 0, l2: Double = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    public func validate(_ what: String) throws {
        for (name, v) in [("l1", l1), ("l2", l2)] {
            guard v.isFinite, v >= 0 else { throw LSTMError.invalidArgument("\(what): \(name) must be a finite number >= 0, got \(v)") }
        }
    }

    /// l1·Σ|v| + l2·Σv².
    func penalty<T: Scalar>(_ v: UnsafeBufferPointer<T>) -> Double {
        var absolute = 0.0, square = 0.0
        for x in v {
            absolute += abs(Double(x))
            square += Double(x) * Double(x)
        }
        return l1 * absolute + l2 * square
    }

    /// g += scale · (l1·sign(v) + 2·l2·v), the penalty's gradient (sign(0) = 0, as TensorFlow's).
    func addGradient<T: Scalar>(_ v: UnsafeBufferPointer<T>, scale: Double, into g: UnsafeMutablePointer<T>) {
        let a = T(scale * l1), b = T(scale * 2 * l2)
        for j in v.indices {
            let x = v[j]
            g[j] += (x > 0 ? a : (x < 0 ? -a : 0)) + b * x
        }
    }
}

/// A layer's regularizers, as its Keras config names them: per weight (by the weight's name,
/// "kernel", "recurrent_kernel", "bias", "embeddings", "gamma", "beta", "alpha") and on its
/// outputs (activity_regularizer: the penalty of each output, divided by the batch size).
public struct LayerRegularization: Equatable, Sendable {
    public var weights: [String: Regularizer] = [:]
    public var activity: Regularizer?

    public init(weights: [String: Regularizer] = [:], activity: Regularizer? = nil) {
        self.weights = weights
        self.activity = activity
    }

    public var isEmpty: Bool { weights.isEmpty && activity == nil }
}
