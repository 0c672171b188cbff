public enum LossKind: String, Sendable {
    case meanSquaredError = "mean_squared_error"
    case meanAbsoluteError = "mean_absolute_error"
}

public enum OptimizerSpec: Equatable, Sendable {
    case adam(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double)
    case sgd(learningRate: Double, momentum: Double, nesterov: Bool)

    public static let defaultAdam = OptimizerSpec.adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
    public static let defaultSGD = OptimizerSpec.sgd(learningRate: 0.01, momentum: 0, nesterov: false)

    /// Checks the hyperparameters' ranges, as Keras's constructors do.
    public func validate() throws {
        func finite(_ v: Double, _ n: String) throws {
            guard v.isFinite else { throw LSTMError.invalidArgument("optimizer: \(n) must be finite, got \(v)") }
        }
        switch self {
        case let .adam(lr, b1, b2, eps):
            try finite(lr, "learning_rate"); try finite(eps, "epsilon")
            guard lr > 0 else { throw LSTMError.invalidArgument("Adam: learning_rate must be > 0, got \(lr)") }
            guard (0..<1).contains(b1) else { throw LSTMError.invalidArgument("Adam: beta_1 must be in [0, 1), got \(b1)") }
            guard (0..<1).contains(b2) else { throw LSTMError.invalidArgument("Adam: beta_2 must be in [0, 1), got \(b2)") }
            guard eps >= 0 else { throw LSTMError.invalidArgument("Adam: epsilon must be >= 0, got \(eps)") }
        case let .sgd(lr, momentum, _):
            try finite(lr, "learning_rate"); try finite(momentum, "momentum")
            guard lr > 0 else { throw LSTMError.invalidArgument("SGD: learning_rate must be > 0, got \(lr)") }
            guard (0...1).contains(momentum) else { throw LSTMError.invalidArgument("SGD: momentum must be in [0, 1], got \(momentum)") }
        }
    }
}

/// What `compile` sets: the loss and the optimizer.
public struct CompileSpec: Equatable, Sendable {
    public var loss: LossKind
    public var optimizer: OptimizerSpec
    public init(loss: LossKind, optimizer: OptimizerSpec) {
        self.loss = loss
        self.optimizer = optimizer
    }
}
