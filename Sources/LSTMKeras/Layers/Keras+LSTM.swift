import LSTMCore

/// Keras's `LSTM`: config keys, Keras 3 weights under `cell/vars`, legacy names under `lstm_cell`.
enum LSTMCodec: KerasLayerCodec {
    static let className = "LSTM"

    static func parse(_ r: inout KerasLayerReader) throws -> LSTMSpec {
        let options = try KerasRecurrent.parseOptions(&r)
        var s = LSTMSpec(name: r.layer, units: options.units)
        s.recurrent = options
        s.activation = try r.activation("activation", default: .tanh)
        s.recurrentActivation = try r.activation("recurrent_activation", default: .sigmoid)
        s.useBias = try r.bool("use_bias", default: true)
        s.unitForgetBias = try r.bool("unit_forget_bias", default: true)
        return s
    }

    static func config(_ s: LSTMSpec) throws -> [(String, JSON)] {
        KerasRecurrent.config(s.recurrent, cell: [
            ("activation", try KerasValues.activation(s.activation, layer: s.name)),
            ("recurrent_activation", try KerasValues.activation(s.recurrentActivation, layer: s.name)),
            ("use_bias", .bool(s.useBias)),
        ] + KerasRecurrent.initializers + [("unit_forget_bias", .bool(s.unitForgetBias))])
    }

    static func keras3Groups(_ s: LSTMSpec, weightCount: Int) -> [Keras3VarGroup] {
        [Keras3VarGroup(path: "cell/vars", count: weightCount, nameAttribute: "lstm_cell"),
         Keras3VarGroup(path: "vars", count: 0, nameAttribute: s.name)]
    }

    static func legacyCell(_ s: LSTMSpec) -> String? { "lstm_cell" }
    /// Keras 0.x and 1.x stored W, U, b for the gates i, c, f, o; today's gate order is i, f, c, o.
    static let perGateLayout = [[0, 6, 3, 9], [1, 7, 4, 10], [2, 8, 5, 11]]
    static func callArguments(_ s: Spec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) { KerasRecurrent.callArguments(inputs) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { KerasRecurrent.buildConfig(inputShapes) }
}
