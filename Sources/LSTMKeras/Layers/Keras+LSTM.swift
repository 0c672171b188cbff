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
    /// Keras 0.x and 1.x stored W, U, b for the gates i, c, f, o (today's order is i, f, c, o);
    /// CuDNNLSTM has a bias of 8·units.
    static func weightsFromOlderLayout(_ s: LSTMSpec, _ arrays: [KerasOlderRecurrentLayouts.Array2], expected: [[Int]],
                                       _ where_: String) throws -> [[Float]]? {
        if arrays.count == 12 { return try KerasOlderRecurrentLayouts.joinedPerGate(arrays, fileGate: [0, 2, 1, 3], expected: expected, where_) }
        if arrays.count == 3, arrays[2].shape == [8 * s.units] {
            return try KerasOlderRecurrentLayouts.fromCuDNN(arrays, gates: 4, units: s.units, sumBiases: true, where_)
        }
        return nil
    }
    static func callArguments(_ s: Spec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) { KerasRecurrent.callArguments(inputs) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { KerasRecurrent.buildConfig(inputShapes) }
}
