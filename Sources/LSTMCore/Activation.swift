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
