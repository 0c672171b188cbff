import LSTMCore

/// Keras's `LSTM`: config keys, Keras 3 weights under `cell/vars`, legacy names under `lstm_cell`.
enum LSTMCodec: KerasLayerCodec {
    static let className = "LSTM"

    static func parse(_ r: inout KerasLayerReader) throws -> LSTMSpec {
        var s = LSTMSpec(name: r.layer, units: try r.positiveInt("units"))
        s.activation = try r.activation("activation", default: .tanh)
        s.recurrentActivation = try r.activation("recurrent_activation", default: .sigmoid)
        s.useBias = try r.bool("use_bias", default: true)
        s.unitForgetBias = try r.bool("unit_forget_bias", default: true)
        s.returnSequences = try r.bool("return_sequences", default: false)
        s.goBackwards = try r.bool("go_backwards", default: false)
        try r.requireDefault("return_state", .bool(false))
        try r.requireDefault("stateful", .bool(false))
        try r.requireDefault("time_major", .bool(false))
        try r.requireZero("dropout")
        try r.requireZero("recurrent_dropout")
        for k in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                  "kernel_constraint", "recurrent_constraint", "bias_constraint"] {
            try r.requireDefault(k, .null)
        }
        try r.accept(["unroll", "zero_output_for_mask", "seed", "implementation", "kernel_initializer",
                      "recurrent_initializer", "bias_initializer", "use_cudnn"])
        return s
    }

    static func config(_ s: LSTMSpec) throws -> [(String, JSON)] {
        var config: [(String, JSON)] = [
            ("return_sequences", .bool(s.returnSequences)), ("return_state", .bool(false)),
            ("go_backwards", .bool(s.goBackwards)), ("stateful", .bool(false)), ("unroll", .bool(false)),
            ("zero_output_for_mask", .bool(false)), ("units", .number(Double(s.units))),
            ("activation", try KerasValues.activation(s.activation, layer: s.name)),
            ("recurrent_activation", try KerasValues.activation(s.recurrentActivation, layer: s.name)),
            ("use_bias", .bool(s.useBias)), ("kernel_initializer", KerasValues.glorotUniform),
            ("recurrent_initializer", KerasValues.orthogonal), ("bias_initializer", KerasValues.zeros),
            ("unit_forget_bias", .bool(s.unitForgetBias)),
        ]
        for k in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                  "kernel_constraint", "recurrent_constraint", "bias_constraint"] {
            config.append((k, .null))
        }
        return config + [("dropout", .number(0)), ("recurrent_dropout", .number(0)), ("seed", .null)]
    }

    static func keras3Groups(_ s: LSTMSpec, weightCount: Int) -> [Keras3VarGroup] {
        [Keras3VarGroup(path: "cell/vars", count: weightCount, nameAttribute: "lstm_cell"),
         Keras3VarGroup(path: "vars", count: 0, nameAttribute: s.name)]
    }

    static func legacyCell(_ s: LSTMSpec) -> String? { "lstm_cell" }
}
