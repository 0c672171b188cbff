/// Activation functions, with Keras's names and definitions.
public enum Activation: Equatable, Sendable {
    case linear, tanh, sigmoid, relu, softmax
    /// Keras 3's hard_sigmoid: clip(x/6 + 1/2, 0, 1).
    case hardSigmoid
    /// Keras 2 / tf-keras's hard_sigmoid: clip(0.2x + 1/2, 0, 1). Kept for models those wrote.
    case hardSigmoidKeras2

    /// Keras's name for the activation.
    public var kerasName: String {
        switch self {
        case .linear: return "linear"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .relu: return "relu"
        case .softmax: return "softmax"
        case .hardSigmoid, .hardSigmoidKeras2: return "hard_sigmoid"
        }
    }
}

/// An LSTM layer's configuration, in Keras's vocabulary.
public struct LSTMSpec: Equatable, Sendable {
    public var name: String
    public var units: Int
    public var activation: Activation = .tanh
    public var recurrentActivation: Activation = .sigmoid
    public var useBias = true
    public var unitForgetBias = true
    public var returnSequences = false
    public var goBackwards = false

    public init(name: String = "lstm", units: Int) {
        self.name = name
        self.units = units
    }
}

/// A Dense layer's configuration, applied on the last axis.
public struct DenseSpec: Equatable, Sendable {
    public var name: String
    public var units: Int
    public var activation: Activation = .linear
    public var useBias = true

    public init(name: String = "dense", units: Int) {
        self.name = name
        self.units = units
    }
}

public enum LayerSpec: Equatable, Sendable {
    case lstm(LSTMSpec)
    case dense(DenseSpec)

    public var name: String {
        switch self {
        case .lstm(let s): return s.name
        case .dense(let s): return s.name
        }
    }
}

/// A Sequential model's architecture: what its input looks like and its layers in order.
public struct ModelSpec: Equatable, Sendable {
    public var name: String
    /// Timesteps per sample, or nil for "any length".
    public var timesteps: Int?
    public var features: Int
    /// The InputLayer's name, kept so that the JSON written back names it as it was.
    public var inputName: String
    public var layers: [LayerSpec]

    public init(name: String = "sequential", timesteps: Int?, features: Int, inputName: String = "input_layer",
                layers: [LayerSpec]) {
        self.name = name
        self.timesteps = timesteps
        self.features = features
        self.inputName = inputName
        self.layers = layers
    }
}

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
