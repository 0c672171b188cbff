import LSTMCore

/// What Keras's recurrent layers (LSTM, GRU, SimpleRNN) share in their configs and calls.
enum KerasRecurrent {
    /// The common options; refuses by name those that change the math and are not implemented.
    static func parseOptions(_ r: inout KerasLayerReader) throws -> RecurrentOptions {
        var o = RecurrentOptions(units: try r.positiveInt("units"))
        o.returnSequences = try r.bool("return_sequences", default: false)
        o.returnState = try r.bool("return_state", default: false)
        o.goBackwards = try r.bool("go_backwards", default: false)
        o.zeroOutputForMask = try r.bool("zero_output_for_mask", default: false)
        o.stateful = try r.bool("stateful", default: false)
        try r.requireDefault("time_major", .bool(false))
        o.dropout = try r.number("dropout", default: 0)
        o.recurrentDropout = try r.number("recurrent_dropout", default: 0)
        try r.regularizers(["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer"])
        for k in ["kernel_constraint", "recurrent_constraint", "bias_constraint"] {
            try r.requireDefault(k, .null)
        }
        try r.accept(["unroll", "seed", "implementation", "kernel_initializer",
                      "recurrent_initializer", "bias_initializer", "use_cudnn"])
        return o
    }

    /// Keras 3's config, in Keras's key order; `cell` holds the cell's own options (activations,
    /// use_bias, ...) and `after` what Keras writes after the dropouts (GRU's reset_after).
    /// SimpleRNN writes no seed.
    static func config(_ o: RecurrentOptions, cell: [(String, JSON)], after: [(String, JSON)] = [],
                       seed: Bool = true) -> [(String, JSON)] {
        var config: [(String, JSON)] = [
            ("return_sequences", .bool(o.returnSequences)), ("return_state", .bool(o.returnState)),
            ("go_backwards", .bool(o.goBackwards)), ("stateful", .bool(o.stateful)), ("unroll", .bool(false)),
            ("zero_output_for_mask", .bool(o.zeroOutputForMask)), ("units", .number(Double(o.units))),
        ] + cell
        for k in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                  "kernel_constraint", "recurrent_constraint", "bias_constraint"] {
            config.append((k, .null))
        }
        return config + [("dropout", .number(o.dropout)), ("recurrent_dropout", .number(o.recurrentDropout))] + after + (seed ? [("seed", .null)] : [])
    }

    /// Refuses a CuDNN layer's config that asks for another formula than cuDNN's.
    static func requireCuDNN(_ isCuDNNFormula: Bool, _ r: KerasLayerReader) throws {
        guard isCuDNNFormula else {
            throw LSTMError.unsupported("layer '\(r.layer)' (\(r.cls)): cuDNN computes tanh with sigmoid gates, a bias (and for a GRU the reset gate after the recurrent product); this config asks for another formula")
        }
    }

    static let initializers: [(String, JSON)] = [
        ("kernel_initializer", KerasValues.glorotUniform), ("recurrent_initializer", KerasValues.orthogonal),
        ("bias_initializer", KerasValues.zeros),
    ]

    /// Keras 3 names the shapes of a call with an initial state: the sequence's and the state's
    /// (one shape, or a list for LSTM's [h, c]).
    static func buildConfig(_ inputShapes: [JSON]) -> JSON {
        guard let sequence = inputShapes.first else { return .null }
        guard inputShapes.count > 1 else { return .object([("input_shape", sequence)]) }
        let state = inputShapes.count == 2 ? inputShapes[1] : .array(Array(inputShapes.dropFirst()))
        return .object([("shapes_dict", .object([("sequences_shape", sequence), ("initial_state_shape", state)]))])
    }

    /// A call's tensors as Keras 3 writes them: the sequence positional, the initial state as
    /// the `initial_state` keyword.
    static func callArguments(_ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) {
        guard inputs.count > 1 else { return (inputs, []) }
        return ([inputs[0]], [("initial_state", .array(Array(inputs.dropFirst())))])
    }
}

/// Keras's `GRU`: weights under `cell/vars` (gru_cell).
enum GRUCodec: KerasLayerCodec {
    static let className = "GRU"

    static func parse(_ r: inout KerasLayerReader) throws -> GRUSpec {
        let options = try KerasRecurrent.parseOptions(&r)
        var s = GRUSpec(name: r.layer, units: options.units)
        s.recurrent = options
        s.activation = try r.activation("activation", default: .tanh)
        s.recurrentActivation = try r.activation("recurrent_activation", default: .sigmoid)
        s.useBias = try r.bool("use_bias", default: true)
        // Keras 3 and tf-keras default to reset_after=True and write it; a Keras 1 or 2.0 config
        // has no such key, since those had only the reset_after=False GRU.
        s.resetAfter = try r.bool("reset_after", default: r.flavor == .keras3)
        return s
    }

    static func config(_ s: GRUSpec) throws -> [(String, JSON)] {
        KerasRecurrent.config(s.recurrent, cell: [
            ("activation", try KerasValues.activation(s.activation, layer: s.name)),
            ("recurrent_activation", try KerasValues.activation(s.recurrentActivation, layer: s.name)),
            ("use_bias", .bool(s.useBias)),
        ] + KerasRecurrent.initializers, after: [("reset_after", .bool(s.resetAfter))])
    }

    static func keras3Groups(_ s: GRUSpec, weightCount: Int) -> [Keras3VarGroup] {
        [Keras3VarGroup(path: "cell/vars", count: weightCount, nameAttribute: "gru_cell"),
         Keras3VarGroup(path: "vars", count: 0, nameAttribute: s.name)]
    }

    static func legacyCell(_ s: GRUSpec) -> String? { "gru_cell" }
    /// Keras 0.x and 1.x stored W, U, b for the gates z, r, h (today's order); CuDNNGRU has a
    /// bias of 6·units, today's reset_after=True GRU's two biases.
    static func weightsFromOlderLayout(_ s: GRUSpec, _ arrays: [KerasOlderRecurrentLayouts.Array2], expected: [[Int]],
                                       _ where_: String) throws -> [[Float]]? {
        if arrays.count == 9 { return try KerasOlderRecurrentLayouts.joinedPerGate(arrays, fileGate: [0, 1, 2], expected: expected, where_) }
        if arrays.count == 3, arrays[2].shape == [6 * s.units] {
            guard s.resetAfter else {
                throw LSTMError.shapeMismatch("\(where_): CuDNNGRU weights (a bias of \(6 * s.units)) need a GRU with reset_after=True, the cuDNN formula")
            }
            return try KerasOlderRecurrentLayouts.fromCuDNN(arrays, gates: 3, units: s.units, sumBiases: false, where_)
        }
        return nil
    }
    static func callArguments(_ s: Spec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) { KerasRecurrent.callArguments(inputs) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { KerasRecurrent.buildConfig(inputShapes) }
}

/// Keras's `SimpleRNN`: weights under `cell/vars` (simple_rnn_cell).
enum SimpleRNNCodec: KerasLayerCodec {
    static let className = "SimpleRNN"

    static func parse(_ r: inout KerasLayerReader) throws -> SimpleRNNSpec {
        let options = try KerasRecurrent.parseOptions(&r)
        var s = SimpleRNNSpec(name: r.layer, units: options.units)
        s.recurrent = options
        s.activation = try r.activation("activation", default: .tanh)
        s.useBias = try r.bool("use_bias", default: true)
        return s
    }

    static func config(_ s: SimpleRNNSpec) throws -> [(String, JSON)] {
        KerasRecurrent.config(s.recurrent, cell: [
            ("activation", try KerasValues.activation(s.activation, layer: s.name)), ("use_bias", .bool(s.useBias)),
        ] + KerasRecurrent.initializers, seed: false)
    }

    static func keras3Groups(_ s: SimpleRNNSpec, weightCount: Int) -> [Keras3VarGroup] {
        [Keras3VarGroup(path: "cell/vars", count: weightCount, nameAttribute: "simple_rnn_cell"),
         Keras3VarGroup(path: "vars", count: 0, nameAttribute: s.name)]
    }

    static func legacyCell(_ s: SimpleRNNSpec) -> String? { "simple_rnn_cell" }
    static func callArguments(_ s: Spec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) { KerasRecurrent.callArguments(inputs) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { KerasRecurrent.buildConfig(inputShapes) }
}

/// Keras 2's `CuDNNLSTM` (a GPU-only layer): read as the `LSTM` it computes — tanh, sigmoid
/// gates, a bias — and written back as one; its weights are converted from cuDNN's layout
/// (`LSTMCodec.weightsFromOlderLayout`).
enum CuDNNLSTMCodec: KerasLayerCodec {
    static let className = "CuDNNLSTM"

    /// LSTM's reading, whose defaults (tanh, sigmoid gates, a bias) are cuDNN's formula; a
    /// config that says otherwise is not one cuDNN ran.
    static func parse(_ r: inout KerasLayerReader) throws -> LSTMSpec {
        let s = try LSTMCodec.parse(&r)
        try KerasRecurrent.requireCuDNN(s.activation == .tanh && s.recurrentActivation == .sigmoid && s.useBias, r)
        return s
    }

    static func config(_ s: LSTMSpec) throws -> [(String, JSON)] { try LSTMCodec.config(s) }
}

/// Keras 2's `CuDNNGRU`: read as the `GRU` with reset_after=True it computes.
enum CuDNNGRUCodec: KerasLayerCodec {
    static let className = "CuDNNGRU"

    /// GRU's reading, with cuDNN's formula: tanh, sigmoid gates, a bias, and the reset gate after
    /// the recurrent product (reset_after=True, which a CuDNNGRU config does not write).
    static func parse(_ r: inout KerasLayerReader) throws -> GRUSpec {
        var s = try GRUCodec.parse(&r)
        try KerasRecurrent.requireCuDNN(s.activation == .tanh && s.recurrentActivation == .sigmoid && s.useBias
                                        && r.config["reset_after"]?.boolValue != false, r)
        s.resetAfter = true
        return s
    }

    static func config(_ s: GRUSpec) throws -> [(String, JSON)] { try GRUCodec.config(s) }
}
