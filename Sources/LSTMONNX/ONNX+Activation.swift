import LSTMCore

/// Keras's activations in ONNX: as operators applied to a tensor, and as the activation names
/// (with their alpha and beta) the recurrent operators take.
extension ONNXGraph {
    /// `activation` applied to `x`: every Keras activation the library runs has an exact form.
    mutating func apply(_ activation: Activation, to x: String, name: String) -> String {
        switch activation {
        case .linear: return x
        case .tanh: return op("Tanh", [x], name: name)
        case .sigmoid: return op("Sigmoid", [x], name: name)
        case .relu: return op("Relu", [x], name: name)
        case .softmax: return op("Softmax", [x], name: name, [("axis", .int(-1))])
        case .hardSigmoid: return op("HardSigmoid", [x], name: name, [("alpha", .float(1.0 / 6)), ("beta", .float(0.5))])
        case .hardSigmoidKeras2: return op("HardSigmoid", [x], name: name, [("alpha", .float(0.2)), ("beta", .float(0.5))])
        case .relu6: return clip(x, 0, 6, name: name)
        case .leakyRelu(let slope): return op("LeakyRelu", [x], name: name, [("alpha", .float(Float(slope)))])
        case .elu(let alpha): return op("Elu", [x], name: name, [("alpha", .float(Float(alpha)))])
        // ONNX's defaults are Keras's constants (alpha 1.6732632, gamma 1.0507010).
        case .selu: return op("Selu", [x], name: name)
        case .gelu:
            // x · Φ(x) = x · (1 + erf(x / √2)) / 2, exactly (Keras's approximate=False).
            let scaled = op("Mul", [x, constant("\(name)_rsqrt2", shape: [], values: [Float(0.5.squareRoot())])], name: name)
            let erf = op("Erf", [scaled], name: name)
            let onePlus = op("Add", [erf, constant("\(name)_one", shape: [], values: [1])], name: name)
            let half = op("Mul", [x, constant("\(name)_half", shape: [], values: [0.5])], name: name)
            return op("Mul", [half, onePlus], name: name)
        case .silu: return op("Mul", [x, op("Sigmoid", [x], name: name)], name: name)
        case .softplus: return op("Softplus", [x], name: name)
        case .softsign: return op("Softsign", [x], name: name)
        case .exponential: return op("Exp", [x], name: name)
        case let .thresholdedRelu(maxValue, slope, threshold):
            return ONNXLayers.generalReLU(x, maxValue: maxValue, slope: slope, threshold: threshold, name: name, &self)
        }
    }

    private mutating func clip(_ x: String, _ lo: Float, _ hi: Float, name: String) -> String {
        op("Clip", [x, constant("\(name)_min", shape: [], values: [lo]), constant("\(name)_max", shape: [], values: [hi])], name: name)
    }
}

/// An activation as the LSTM, GRU and RNN operators name it.
struct RecurrentActivation {
    let name: String
    /// Only the functions that take them have these (see `recurrentAttributes`).
    let alpha: Float?
    let beta: Float?

    init?(_ a: Activation) {
        switch a {
        case .tanh: (name, alpha, beta) = ("Tanh", nil, nil)
        case .sigmoid: (name, alpha, beta) = ("Sigmoid", nil, nil)
        case .relu: (name, alpha, beta) = ("Relu", nil, nil)
        case .linear: (name, alpha, beta) = ("Affine", 1, 0)
        case .hardSigmoid: (name, alpha, beta) = ("HardSigmoid", 1.0 / 6, 0.5)
        case .hardSigmoidKeras2: (name, alpha, beta) = ("HardSigmoid", 0.2, 0.5)
        case .leakyRelu(let slope): (name, alpha, beta) = ("LeakyRelu", Float(slope), nil)
        case .elu(let a): (name, alpha, beta) = ("Elu", Float(a), nil)
        case .softsign: (name, alpha, beta) = ("Softsign", nil, nil)
        case .softplus: (name, alpha, beta) = ("Softplus", nil, nil)
        case .softmax, .relu6, .selu, .gelu, .silu, .exponential, .thresholdedRelu: return nil
        }
    }

    /// The `activations`, `activation_alpha` and `activation_beta` attributes for these
    /// functions (per direction, in the operator's order). The alpha and beta lists hold the
    /// values of the functions that take them, in order, as the operators consume them.
    static func attributes(_ functions: [RecurrentActivation]) -> [(String, ONNXGraph.Attribute)] {
        var out: [(String, ONNXGraph.Attribute)] = [("activations", .strings(functions.map(\.name)))]
        let alphas = functions.compactMap(\.alpha), betas = functions.compactMap(\.beta)
        if !alphas.isEmpty { out.append(("activation_alpha", .floats(alphas))) }
        if !betas.isEmpty { out.append(("activation_beta", .floats(betas))) }
        return out
    }
}
