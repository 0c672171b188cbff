import LSTMCore

/// Keras's BatchNormalization and LayerNormalization, on the last axis (Keras 3 writes -1,
/// tf-keras the axis's index, which the layer checks against its input when built).
enum KerasNormalization {
    /// The axis option: -1 or the index of the last axis (kept to check once the rank is known).
    static func axis(_ r: inout KerasLayerReader) throws -> Int {
        guard let axes = try r.ints("axis") else { return -1 }
        guard axes.count == 1 else {
            throw LSTMError.unsupported("layer '\(r.layer)' (\(r.cls)): normalizing over axes \(axes) is not supported (only the last axis)")
        }
        return axes[0]
    }

    static let regularizers = ["beta_regularizer", "gamma_regularizer"]
    static let constraints = ["beta_constraint", "gamma_constraint"]
    static let nulls: [(String, JSON)] = (regularizers + constraints).map { ($0, .null) }
}

enum BatchNormalizationCodec: KerasLayerCodec {
    static let className = "BatchNormalization"

    static func parse(_ r: inout KerasLayerReader) throws -> BatchNormalizationSpec {
        var s = BatchNormalizationSpec(name: r.layer)
        s.axis = try KerasNormalization.axis(&r)
        s.momentum = try r.number("momentum", default: 0.99)
        s.epsilon = try r.number("epsilon", default: 1e-3)
        s.center = try r.bool("center", default: true)
        s.scale = try r.bool("scale", default: true)
        try r.requireDefault("renorm", .bool(false))
        try r.requireDefault("virtual_batch_size", .null)
        try r.requireDefault("adjustment", .null)
        try r.requireDefault("fused", .null)
        try r.regularizers(KerasNormalization.regularizers)
        try r.requireNull(KerasNormalization.constraints)
        // synchronized: across devices, one here.
        try r.accept(["beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                      "synchronized", "renorm_clipping", "renorm_momentum"])
        return s
    }

    static func config(_ s: BatchNormalizationSpec) throws -> [(String, JSON)] {
        [("axis", .number(Double(s.axis))), ("momentum", .number(s.momentum)), ("epsilon", .number(s.epsilon)),
         ("center", .bool(s.center)), ("scale", .bool(s.scale)), ("beta_initializer", KerasValues.zeros),
         ("gamma_initializer", KerasValues.ones), ("moving_mean_initializer", KerasValues.zeros),
         ("moving_variance_initializer", KerasValues.ones)] + KerasNormalization.nulls
            + [("synchronized", .bool(false)), ("renorm", .bool(false)), ("renorm_clipping", .null), ("renorm_momentum", .number(0.99))]
    }
}

enum LayerNormalizationCodec: KerasLayerCodec {
    static let className = "LayerNormalization"

    static func parse(_ r: inout KerasLayerReader) throws -> LayerNormalizationSpec {
        var s = LayerNormalizationSpec(name: r.layer)
        s.axis = try KerasNormalization.axis(&r)
        s.epsilon = try r.number("epsilon", default: 1e-3)
        s.center = try r.bool("center", default: true)
        s.scale = try r.bool("scale", default: true)
        try r.requireDefault("rms_scaling", .bool(false))
        try r.regularizers(KerasNormalization.regularizers)
        try r.requireNull(KerasNormalization.constraints)
        try r.accept(["beta_initializer", "gamma_initializer"])
        return s
    }

    static func config(_ s: LayerNormalizationSpec) throws -> [(String, JSON)] {
        [("axis", .array([.number(Double(s.axis))])), ("epsilon", .number(s.epsilon)), ("center", .bool(s.center)),
         ("scale", .bool(s.scale)), ("rms_scaling", .bool(false)), ("beta_initializer", KerasValues.zeros),
         ("gamma_initializer", KerasValues.ones)] + KerasNormalization.nulls
    }
}
