/// Activation functions, with Keras's names and definitions.
public enum Activation: Equatable, Sendable {
    case linear, tanh, sigmoid, relu, softmax
    /// Keras 3's hard_sigmoid: clip(x/6 + 1/2, 0, 1).
    case hardSigmoid
    /// Keras 2 / tf-keras's hard_sigmoid: clip(0.2x + 1/2, 0, 1). Kept for models those wrote.
    case hardSigmoidKeras2
    /// min(max(x, 0), 6).
    case relu6
    /// x for x >= 0, else slope · x (the string "leaky_relu" is slope 0.2; LeakyReLU's default 0.3).
    case leakyRelu(negativeSlope: Double)
    /// x for x > 0, else alpha · (exp(x) - 1) (the string "elu" is alpha 1).
    case elu(alpha: Double)
    /// scale · elu(x, alpha) with Keras's fixed alpha and scale.
    case selu
    /// x · Φ(x), Φ the standard normal CDF (Keras's default, approximate=False).
    case gelu
    /// x · sigmoid(x) (also called swish).
    case silu
    /// log(1 + exp(x)).
    case softplus
    /// x / (1 + |x|).
    case softsign
    case exponential
    /// Keras's ReLU layer in general: max(x, 0) or x where x > threshold, clipped at max_value,
    /// minus slope · max(threshold - x, 0).
    case thresholdedRelu(maxValue: Double?, negativeSlope: Double, threshold: Double)

    /// Keras's name for the activation (the name its functions are serialized under).
    public var kerasName: String {
        switch self {
        case .linear: return "linear"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .relu, .thresholdedRelu: return "relu"
        case .softmax: return "softmax"
        case .hardSigmoid, .hardSigmoidKeras2: return "hard_sigmoid"
        case .relu6: return "relu6"
        case .leakyRelu: return "leaky_relu"
        case .elu: return "elu"
        case .selu: return "selu"
        case .gelu: return "gelu"
        case .silu: return "silu"
        case .softplus: return "softplus"
        case .softsign: return "softsign"
        case .exponential: return "exponential"
        }
    }

    /// The activations Keras names by a string, as that string gives them ("leaky_relu" is
    /// slope 0.2, "elu" alpha 1, "swish" is silu). Keras 2's hard_sigmoid is the caller's choice.
    public static func named(_ name: String) -> Activation? {
        switch name {
        case "linear": return .linear
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "relu": return .relu
        case "softmax": return .softmax
        case "hard_sigmoid": return .hardSigmoid
        // This library's name for Keras 2's, which Keras 3's names cannot say (to_json writes it).
        case Activation.keras2HardSigmoidName: return .hardSigmoidKeras2
        case "relu6": return .relu6
        case "leaky_relu": return .leakyRelu(negativeSlope: 0.2)
        case "elu": return .elu(alpha: 1)
        case "selu": return .selu
        case "gelu": return .gelu
        case "silu", "swish": return .silu
        case "softplus": return .softplus
        case "softsign": return .softsign
        case "exponential": return .exponential
        default: return nil
        }
    }

    /// Keras 2's hard_sigmoid, clip(0.2x + 0.5, 0, 1), in this library's JSON: an extension no
    /// Keras reads (Keras 3 refuses the name rather than computing another function), so that a
    /// model loaded from a Keras 2 file keeps its math through to_json and back.
    public static let keras2HardSigmoidName = "hard_sigmoid_keras2"

    /// Every name `named` knows, for error messages.
    public static let names = ["linear", "tanh", "sigmoid", "relu", "softmax", "hard_sigmoid", keras2HardSigmoidName, "relu6", "leaky_relu",
                               "elu", "selu", "gelu", "silu", "swish", "softplus", "softsign", "exponential"]

    /// Whether the derivative follows from the output alone (what the recurrent cells need:
    /// they keep outputs, not pre-activations). gelu and silu are not invertible; the general
    /// ReLU and non-positive slopes are not either.
    public var derivativeFollowsFromOutput: Bool {
        switch self {
        case .gelu, .silu, .thresholdedRelu: return false
        case .leakyRelu(let s): return s > 0
        case .elu(let a): return a > 0
        default: return true
        }
    }

    /// Whether it is one number in, one out (softmax works on a whole row).
    public var isElementwise: Bool { self != .softmax }
}
