import LSTMCore

/// LSTM, GRU, SimpleRNN and Bidirectional as ONNX's LSTM, GRU and RNN operators.
///
/// Keras keeps a sequence as (batch, time, features) and the kernels as (features, gates x
/// units) in its own gate order; the operators take (time, batch, features), weights as
/// (directions, gates x units, features) in ONNX's gate order, and one input and one recurrent
/// bias per gate. A Bidirectional layer is one operator with direction "bidirectional", whose
/// backward output ONNX already gives in input order, as Keras's merge expects it.
enum ONNXRecurrent {
    /// One direction of a recurrent layer in the operator's terms.
    struct Direction {
        let op: String
        let units: Int
        let gates: Int
        /// W (gates·units, features), R (gates·units, units), B (2·gates·units) in ONNX's order.
        let w: [Float], r: [Float], b: [Float]
        let activations: [RecurrentActivation]
        let attributes: [(String, ONNXGraph.Attribute)]
        /// h (and c for LSTM): the states the layer returns and takes.
        let states: Int
        let goBackwards: Bool
    }

    // MARK: The three cells

    static func lstmDirection(_ s: LSTMSpec, _ weights: [[Float]], _ call: ONNXLayerCall) throws -> Direction {
        // Keras's gates are i, f, c, o; ONNX's i, o, f, c.
        try direction(op: "LSTM", s.recurrent, gateOrder: [0, 3, 1, 2], weights: weights, useBias: s.useBias,
                      functions: [s.recurrentActivation, s.activation, s.activation], call: call, states: 2)
    }

    static func gruDirection(_ s: GRUSpec, _ weights: [[Float]], _ call: ONNXLayerCall) throws -> Direction {
        // Keras's gates are z, r, h, as ONNX's. reset_after applies the reset gate after the
        // recurrent product (with its own bias): ONNX's linear_before_reset.
        try direction(op: "GRU", s.recurrent, gateOrder: [0, 1, 2], weights: weights, useBias: s.useBias,
                      functions: [s.recurrentActivation, s.activation], call: call, states: 1,
                      separateRecurrentBias: s.resetAfter, attributes: [("linear_before_reset", .int(s.resetAfter ? 1 : 0))])
    }

    static func simpleRNNDirection(_ s: SimpleRNNSpec, _ weights: [[Float]], _ call: ONNXLayerCall) throws -> Direction {
        try direction(op: "RNN", s.recurrent, gateOrder: [0], weights: weights, useBias: s.useBias,
                      functions: [s.activation], call: call, states: 1)
    }

    /// The direction of a recurrent spec of any of the three classes.
    static func direction(of spec: any LayerSpec, _ weights: [[Float]], _ call: ONNXLayerCall) throws -> Direction {
        if let s = spec as? LSTMSpec { return try lstmDirection(s, weights, call) }
        if let s = spec as? GRUSpec { return try gruDirection(s, weights, call) }
        if let s = spec as? SimpleRNNSpec { return try simpleRNNDirection(s, weights, call) }
        throw call.unsupported("a \(spec.kind) inside it")
    }

    /// Reorders Keras's (features, gates·units) kernels into ONNX's (gates·units, features)
    /// blocks, and its bias into input and recurrent halves.
    private static func direction(op: String, _ options: RecurrentOptions, gateOrder: [Int], weights: [[Float]],
                                  useBias: Bool, functions: [Activation], call: ONNXLayerCall, states: Int,
                                  separateRecurrentBias: Bool = false,
                                  attributes: [(String, ONNXGraph.Attribute)] = []) throws -> Direction {
        if options.stateful { throw call.unsupported("stateful=True (state carried between calls)") }
        let u = options.units, gates = gateOrder.count, width = gates * u
        let kernel = weights[0], recurrent = weights[1]
        let features = kernel.count / width
        func transposed(_ m: [Float], rows: Int) -> [Float] {
            var out = [Float](repeating: 0, count: width * rows)
            for (og, kg) in gateOrder.enumerated() {
                for k in 0..<u {
                    for f in 0..<rows { out[(og * u + k) * rows + f] = m[f * width + kg * u + k] }
                }
            }
            return out
        }
        func reordered(_ v: ArraySlice<Float>) -> [Float] {
            let base = v.startIndex
            return gateOrder.flatMap { kg in v[(base + kg * u)..<(base + (kg + 1) * u)] }
        }
        var b = [Float](repeating: 0, count: 2 * width)
        if useBias {
            let bias = weights[2]
            b.replaceSubrange(0..<width, with: reordered(bias[0..<width]))
            if separateRecurrentBias { b.replaceSubrange(width..<(2 * width), with: reordered(bias[width..<(2 * width)])) }
        }
        let acts = try functions.map { a -> RecurrentActivation in
            guard let r = RecurrentActivation(a) else { throw call.unsupported("activation '\(a.kerasName)' inside the \(op) operator") }
            return r
        }
        return Direction(op: op, units: u, gates: gates, w: transposed(kernel, rows: features), r: transposed(recurrent, rows: u),
                         b: b, activations: acts, attributes: attributes, states: states, goBackwards: options.goBackwards)
    }

    // MARK: Layers

    static func lstm(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> [String] {
        let s = try call.spec(as: LSTMSpec.self)
        return try single(try lstmDirection(s, call.weights, call), s.recurrent, call, &g)
    }

    static func gru(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> [String] {
        let s = try call.spec(as: GRUSpec.self)
        return try single(try gruDirection(s, call.weights, call), s.recurrent, call, &g)
    }

    static func simpleRNN(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> [String] {
        let s = try call.spec(as: SimpleRNNSpec.self)
        return try single(try simpleRNNDirection(s, call.weights, call), s.recurrent, call, &g)
    }

    /// A one-direction layer: [output] + its states if return_state.
    private static func single(_ d: Direction, _ options: RecurrentOptions, _ call: ONNXLayerCall,
                               _ g: inout ONNXGraph) throws -> [String] {
        let name = call.spec.name
        let initial = call.inputs.dropFirst().map { g.op("Unsqueeze", [$0, g.int64s([0])], name: name) }
        let (y, finals) = try run([d], direction: d.goBackwards ? "reverse" : "forward", initial: Array(initial), call, &g)
        var output: String
        if options.returnSequences {
            // (time, 1, batch, units) -> (batch, time, units); go_backwards returns the steps in
            // the order it processed them, last input step first.
            output = g.op("Transpose", [g.op("Squeeze", [y, g.int64s([1])], name: name)], name: name, [("perm", .ints([1, 0, 2]))])
            if d.goBackwards { output = reversedTime(output, g: &g, name: name) }
        } else {
            output = g.op("Squeeze", [finals[0], g.int64s([0])], name: name)
        }
        let states = options.returnState ? finals.map { g.op("Squeeze", [$0, g.int64s([0])], name: name) } : []
        return [output] + states
    }

    static func bidirectional(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> [String] {
        let s = try call.spec(as: BidirectionalSpec.self)
        guard let forwardOptions = (s.forward as? any RecurrentLayerSpec)?.recurrent,
              let backwardOptions = (s.backward as? any RecurrentLayerSpec)?.recurrent else {
            throw call.unsupported("a \(s.forward.kind) inside it")
        }
        guard !forwardOptions.goBackwards, backwardOptions.goBackwards else {
            throw call.unsupported("a forward half that goes backwards")
        }
        // The forward half's weights, then the backward half's (each: kernel, recurrent, [bias]).
        let half = call.weights.count / 2
        let f = try direction(of: s.forward, Array(call.weights[..<half]), call)
        let b = try direction(of: s.backward, Array(call.weights[half...]), call)
        guard f.op == b.op, f.units == b.units, f.attributes.map(\.0) == b.attributes.map(\.0) else {
            throw call.unsupported("halves of different kinds or sizes")
        }
        if case .int(let fl) = f.attributes.first?.1, case .int(let bl) = b.attributes.first?.1, fl != bl {
            throw call.unsupported("halves with different reset_after")
        }
        let name = s.name
        // Initial states: the forward half's, then the backward half's, stacked per state.
        let given = Array(call.inputs.dropFirst())
        var initial: [String] = []
        if !given.isEmpty {
            let perHalf = given.count / 2
            initial = (0..<perHalf).map { k in
                let fwd = g.op("Unsqueeze", [given[k], g.int64s([0])], name: name)
                let bwd = g.op("Unsqueeze", [given[perHalf + k], g.int64s([0])], name: name)
                return g.op("Concat", [fwd, bwd], name: name, [("axis", .int(0))])
            }
        }
        let (y, finals) = try run([f, b], direction: "bidirectional", initial: initial, call, &g)
        func halfOf(_ t: String, _ k: Int64, axis: Int64) -> String {
            g.op("Gather", [t, g.int64s([k], shape: [])], name: name, [("axis", .int(axis))])
        }
        var outputs: [String] = (0..<2).map { k in
            forwardOptions.returnSequences
                ? g.op("Transpose", [halfOf(y, Int64(k), axis: 1)], name: name, [("perm", .ints([1, 0, 2]))])
                : halfOf(finals[0], Int64(k), axis: 0)
        }
        switch s.mergeMode {
        case .concat?: outputs = [g.op("Concat", outputs, name: name, [("axis", .int(-1))])]
        case .sum?: outputs = [g.op("Add", outputs, name: name)]
        case .mul?: outputs = [g.op("Mul", outputs, name: name)]
        case .ave?:
            outputs = [g.op("Div", [g.op("Add", outputs, name: name), g.constant("\(name)/two", shape: [], values: [2])], name: name)]
        case nil: break
        }
        if forwardOptions.returnState {
            for k in 0..<2 { outputs += finals.map { halfOf($0, Int64(k), axis: 0) } }
        }
        return outputs
    }

    // MARK: The operator

    /// Runs the operator over the call's sequence: Y (time, directions, batch, units) and the
    /// final states (directions, batch, units).
    private static func run(_ directions: [Direction], direction: String, initial: [String], _ call: ONNXLayerCall,
                            _ g: inout ONNXGraph) throws -> (y: String, finals: [String]) {
        let d0 = directions[0], name = call.spec.name
        let n = directions.count, width = d0.gates * d0.units
        let features = d0.w.count / max(width, 1)
        let x = g.op("Transpose", [call.inputs[0]], name: name, [("perm", .ints([1, 0, 2]))])
        let w = g.constant("\(name)/W", shape: [n, width, features], values: directions.flatMap(\.w))
        let r = g.constant("\(name)/R", shape: [n, width, d0.units], values: directions.flatMap(\.r))
        let b = g.constant("\(name)/B", shape: [n, 2 * width], values: directions.flatMap(\.b))
        guard initial.isEmpty || initial.count == d0.states else {
            throw call.unsupported("\(initial.count) initial states (the layer has \(d0.states))")
        }
        // X, W, R, B, sequence_lens (none: every sequence is whole), initial_h, initial_c.
        var inputs = [x, w, r, b]
        if !initial.isEmpty { inputs += [""] + initial }
        let outputs = g.node(d0.op, inputs, outputs: 1 + d0.states, name: name,
                             attributes: [("hidden_size", .int(Int64(d0.units))), ("direction", .string(direction))]
                                 + RecurrentActivation.attributes(directions.flatMap(\.activations)) + d0.attributes)
        return (outputs[0], Array(outputs.dropFirst()))
    }

    /// `x` (batch, time, units) with its time axis reversed.
    private static func reversedTime(_ x: String, g: inout ONNXGraph, name: String) -> String {
        g.op("Slice", [x, g.int64s([-1]), g.int64s([Int64.min]), g.int64s([1]), g.int64s([-1])], name: name)
    }
}
