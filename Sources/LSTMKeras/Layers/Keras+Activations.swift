import LSTMCore

/// Keras's activation layers: Activation, LeakyReLU, ReLU, ELU, Softmax (one core spec,
/// `ActivationSpec`, told apart by its kind) and PReLU. Keras builds none of the first five.
enum ActivationCodec: KerasLayerCodec {
    static let className = "Activation"

    static func parse(_ r: inout KerasLayerReader) throws -> ActivationSpec {
        guard r.get("activation") != nil else { throw LSTMError.format("layer '\(r.layer)' (Activation): 'activation' is missing") }
        return ActivationSpec(name: r.layer, kind: className, activation: try r.activation("activation", default: .linear))
    }

    static func config(_ s: ActivationSpec) throws -> [(String, JSON)] {
        [("activation", try KerasValues.activation(s.activation, layer: s.name))]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum LeakyReLUCodec: KerasLayerCodec {
    static let className = "LeakyReLU"

    static func parse(_ r: inout KerasLayerReader) throws -> ActivationSpec {
        // Keras 3 calls the slope negative_slope, tf-keras alpha.
        let slope = try r.number(r.flavor == .keras2 && r.config["alpha"] != nil ? "alpha" : "negative_slope", default: 0.3)
        return ActivationSpec(name: r.layer, kind: className, activation: .leakyRelu(negativeSlope: slope))
    }

    static func config(_ s: ActivationSpec) throws -> [(String, JSON)] {
        guard case .leakyRelu(let slope) = s.activation else { throw mismatch(s, s.activation) }
        return [("negative_slope", .number(slope))]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum ReLUCodec: KerasLayerCodec {
    static let className = "ReLU"

    static func parse(_ r: inout KerasLayerReader) throws -> ActivationSpec {
        var maxValue: Double? = nil
        if let v = r.get("max_value"), !v.isNull {
            guard let m = v.numberValue, m.isFinite, m >= 0 else {
                throw LSTMError.invalidArgument("layer '\(r.layer)' (ReLU): max_value must be a number >= 0 or null, got \(v.serialized())")
            }
            maxValue = m
        }
        let slope = try r.number("negative_slope", default: 0), threshold = try r.number("threshold", default: 0)
        guard slope >= 0 else {
            throw LSTMError.invalidArgument("layer '\(r.layer)' (ReLU): negative_slope must be >= 0, got \(slope)")
        }
        let activation: Activation = maxValue == nil && slope == 0 && threshold == 0
            ? .relu : .thresholdedRelu(maxValue: maxValue, negativeSlope: slope, threshold: threshold)
        return ActivationSpec(name: r.layer, kind: className, activation: activation)
    }

    static func config(_ s: ActivationSpec) throws -> [(String, JSON)] {
        switch s.activation {
        case .relu: return [("max_value", .null), ("negative_slope", .number(0)), ("threshold", .number(0))]
        case let .thresholdedRelu(maxValue, slope, threshold):
            return [("max_value", maxValue.map { .number($0) } ?? .null), ("negative_slope", .number(slope)), ("threshold", .number(threshold))]
        default: throw mismatch(s, s.activation)
        }
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum ELUCodec: KerasLayerCodec {
    static let className = "ELU"

    static func parse(_ r: inout KerasLayerReader) throws -> ActivationSpec {
        ActivationSpec(name: r.layer, kind: className, activation: .elu(alpha: try r.number("alpha", default: 1)))
    }

    static func config(_ s: ActivationSpec) throws -> [(String, JSON)] {
        guard case .elu(let alpha) = s.activation else { throw mismatch(s, s.activation) }
        return [("alpha", .number(alpha))]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum SoftmaxCodec: KerasLayerCodec {
    static let className = "Softmax"

    static func parse(_ r: inout KerasLayerReader) throws -> ActivationSpec {
        if let axes = try r.ints("axis"), axes != [-1] {
            throw LSTMError.unsupported("layer '\(r.layer)' (Softmax): axis \(axes) is not supported (only the last axis, -1)")
        }
        return ActivationSpec(name: r.layer, kind: className, activation: .softmax)
    }

    static func config(_ s: ActivationSpec) throws -> [(String, JSON)] { [("axis", .number(-1))] }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum PReLUCodec: KerasLayerCodec {
    static let className = "PReLU"

    static func parse(_ r: inout KerasLayerReader) throws -> PReLUSpec {
        try r.regularizers(["alpha_regularizer"])
        try r.requireNull(["alpha_constraint"])
        try r.accept(["alpha_initializer"])
        return PReLUSpec(name: r.layer, sharedAxes: try r.ints("shared_axes") ?? [])
    }

    static func config(_ s: PReLUSpec) throws -> [(String, JSON)] {
        [("alpha_initializer", KerasValues.zeros), ("alpha_regularizer", .null), ("alpha_constraint", .null),
         ("shared_axes", s.sharedAxes.isEmpty ? .null : KerasValues.numbers(s.sharedAxes))]
    }
}
