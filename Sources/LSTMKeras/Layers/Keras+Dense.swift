import LSTMCore

/// Keras's `Dense`, on the last axis.
enum DenseCodec: KerasLayerCodec {
    static let className = "Dense"

    static func parse(_ r: inout KerasLayerReader) throws -> DenseSpec {
        var s = DenseSpec(name: r.layer, units: try r.positiveInt("units"))
        s.activation = try r.activation("activation", default: .linear)
        s.useBias = try r.bool("use_bias", default: true)
        try r.regularizers(["kernel_regularizer", "bias_regularizer", "activity_regularizer"])
        for k in ["kernel_constraint", "bias_constraint", "lora_rank", "quantization_config"] {
            try r.requireDefault(k, .null)
        }
        try r.accept(["kernel_initializer", "bias_initializer", "lora_alpha"])
        return s
    }

    static func config(_ s: DenseSpec) throws -> [(String, JSON)] {
        [("units", .number(Double(s.units))), ("activation", try KerasValues.activation(s.activation, layer: s.name)),
         ("use_bias", .bool(s.useBias)), ("kernel_initializer", KerasValues.glorotUniform),
         ("bias_initializer", KerasValues.zeros), ("kernel_regularizer", .null), ("bias_regularizer", .null),
         ("kernel_constraint", .null), ("bias_constraint", .null), ("quantization_config", .null)]
    }
}
