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

    static func lstm(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: LSTMSpec.self)
        return try single(try lstmDirection(s, call.weights, call), s.recurrent, call, &g)
    }

    static func gru(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: GRUSpec.self)
        return try single(try gruDirection(s, call.weights, call), s.recurrent, call, &g)
    }

    static func simpleRNN(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: SimpleRNNSpec.self)
        return try single(try simpleRNNDirection(s, call.weights, call), s.recurrent, call, &g)
    }

    /// What one direction of a layer gives, batch first: the output sequence (batch, time,
    /// units) in the order the layer processed the steps, the last output (batch, units), and
    /// the final states.
    struct Pass {
        let sequence: String
        let last: String
        let states: [String]
    }

    /// A one-direction layer: [output] + its states if return_state. The output sequence keeps
    /// the input's mask; the last output and the states have none.
    private static func single(_ d: Direction, _ options: RecurrentOptions, _ call: ONNXLayerCall,
                               _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let stateNames = Array(["h", "c"].prefix(d.states))
        let initial = options.stateful ? try stateInputs(stateNames, units: d.units, call, &g) : Array(call.inputs.dropFirst())
        let p = try pass(d, backwards: d.goBackwards, zeroOutputForMask: options.zeroOutputForMask,
                         initial: initial, call, &g)
        if options.stateful { stateOutputs(p.states, names: stateNames, units: d.units, call, &g) }
        let output = options.returnSequences ? p.sequence : p.last
        let states = options.returnState ? p.states : []
        return ONNXLayerOutputs([output] + states, masks: [options.returnSequences ? call.mask : nil] + states.map { _ in nil })
    }

    static func bidirectional(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
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
        let name = s.name
        // Initial states: the forward half's, then the backward half's.
        let stateNames = Array(["forward_h", "forward_c"].prefix(f.states) + ["backward_h", "backward_c"].prefix(b.states))
        let stateful = forwardOptions.stateful || backwardOptions.stateful
        let given = stateful ? try stateInputs(stateNames, units: f.units, call, &g) : Array(call.inputs.dropFirst())
        let forwardPass: Pass, backwardPass: Pass
        if call.mask == nil, f.op == b.op, f.units == b.units, f.attributes.map(\.0) == b.attributes.map(\.0),
           f.attributes.first.map({ "\($0.1)" }) == b.attributes.first.map({ "\($0.1)" }) {
            // One operator with direction "bidirectional": ONNX gives the backward output in
            // input order already, as Keras's merge wants it.
            let perHalf = given.count / 2
            let initial = (0..<perHalf).map { k in
                g.op("Concat", [g.op("Unsqueeze", [given[k], g.int64s([0])], name: name),
                                g.op("Unsqueeze", [given[perHalf + k], g.int64s([0])], name: name)], name: name, [("axis", .int(0))])
            }
            let (y, finals) = try run([f, b], direction: "bidirectional", x: call.inputs[0], sequenceLengths: nil,
                                      initial: initial, name: name, &g)
            func halfOf(_ t: String, _ k: Int64, axis: Int64) -> String {
                g.op("Gather", [t, g.int64s([k], shape: [])], name: name, [("axis", .int(axis))])
            }
            let passes = (0..<2).map { k in
                Pass(sequence: g.op("Transpose", [halfOf(y, Int64(k), axis: 1)], name: name, [("perm", .ints([1, 0, 2]))]),
                     last: halfOf(finals[0], Int64(k), axis: 0), states: finals.map { halfOf($0, Int64(k), axis: 0) })
            }
            (forwardPass, backwardPass) = (passes[0], passes[1])
        } else {
            let perHalf = given.count / 2
            forwardPass = try pass(f, backwards: false, zeroOutputForMask: forwardOptions.zeroOutputForMask,
                                   initial: Array(given.prefix(perHalf)), call, &g)
            let backward = try pass(b, backwards: true, zeroOutputForMask: backwardOptions.zeroOutputForMask,
                                    initial: Array(given.dropFirst(perHalf)), call, &g)
            // Keras flips the backward half's sequence back into input order.
            backwardPass = Pass(sequence: reversedTime(backward.sequence, g: &g, name: name), last: backward.last, states: backward.states)
        }
        var outputs = forwardOptions.returnSequences ? [forwardPass.sequence, backwardPass.sequence] : [forwardPass.last, backwardPass.last]
        switch s.mergeMode {
        case .concat?: outputs = [g.op("Concat", outputs, name: name, [("axis", .int(-1))])]
        case .sum?: outputs = [g.op("Add", outputs, name: name)]
        case .mul?: outputs = [g.op("Mul", outputs, name: name)]
        case .ave?:
            outputs = [g.op("Div", [g.op("Add", outputs, name: name), g.constant("\(name)/two", shape: [], values: [2])], name: name)]
        case nil: break
        }
        if stateful { stateOutputs(forwardPass.states + backwardPass.states, names: stateNames, units: f.units, call, &g) }
        let masks: [String?] = outputs.map { _ in forwardOptions.returnSequences ? call.mask : nil }
        let states = forwardOptions.returnState ? forwardPass.states + backwardPass.states : []
        return ONNXLayerOutputs(outputs + states, masks: masks + states.map { _ in nil })
    }

    // MARK: Stateful layers

    /// A stateful layer's state (Keras's stateful=True carries it from one call to the next):
    /// graph inputs named `<layer>_<state>` of (batch, units) — zeros to start, as Keras's
    /// reset_states gives — from which the layer starts; see `stateOutputs`.
    private static func stateInputs(_ names: [String], units: Int, _ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> [String] {
        guard call.inputs.count == 1 else { throw call.unsupported("stateful=True with an initial_state") }
        return names.map { state in
            let name = g.fresh("\(call.spec.name)_\(state)")
            g.input(name, .float, [.named("batch"), .fixed(units)])
            return name
        }
    }

    /// The state a stateful layer ends with, as graph outputs `<layer>_<state>_out` after the
    /// model's own: the caller feeds them back as the next run's state inputs.
    private static func stateOutputs(_ values: [String], names: [String], units: Int, _ call: ONNXLayerCall, _ g: inout ONNXGraph) {
        for (value, state) in zip(values, names) {
            let name = g.fresh("\(call.spec.name)_\(state)_out")
            g.identity(value, as: name)
            g.stateOutput(name, .float, [.named("batch"), .fixed(units)])
        }
    }

    // MARK: The operator

    /// One direction over the call's sequence (backwards: the steps in reverse, as Keras's
    /// go_backwards, the outputs in that order), with the call's mask if it has one.
    private static func pass(_ d: Direction, backwards: Bool, zeroOutputForMask: Bool, initial: [String],
                             _ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> Pass {
        let name = call.spec.name
        guard let mask = call.mask else {
            let h0 = initial.map { g.op("Unsqueeze", [$0, g.int64s([0])], name: name) }
            let (y, finals) = try run([d], direction: backwards ? "reverse" : "forward", x: call.inputs[0], sequenceLengths: nil,
                                      initial: h0, name: name, &g)
            // (time, 1, batch, units) -> (batch, time, units); backwards, the layer returns the
            // steps in the order it processed them, the last input step first.
            var sequence = g.op("Transpose", [g.op("Squeeze", [y, g.int64s([1])], name: name)], name: name, [("perm", .ints([1, 0, 2]))])
            if backwards { sequence = reversedTime(sequence, g: &g, name: name) }
            let states = finals.map { g.op("Squeeze", [$0, g.int64s([0])], name: name) }
            return Pass(sequence: sequence, last: states[0], states: states)
        }
        let x = backwards ? reversedTime(call.inputs[0], g: &g, name: name) : call.inputs[0]
        let m = backwards ? reversedTime(mask, g: &g, name: name) : mask
        return try maskedForward(d, x: x, mask: m, initial: initial, zeroOutputForMask: zeroOutputForMask, name: name, &g)
    }

    /// A forward pass that skips the masked steps as Keras does: the state is carried through
    /// them unchanged, and a masked step outputs the previous output (zeros before the first real
    /// step), or zeros with zero_output_for_mask. The operators only stop each sequence early
    /// (sequence_lens), so the real steps of each row are first moved to its front in order
    /// (a stable permutation built from running counts of the mask), run with their count as the
    /// length, and each step's output then read back from the compacted ones.
    private static func maskedForward(_ d: Direction, x: String, mask: String, initial: [String], zeroOutputForMask: Bool,
                                      name: String, _ g: inout ONNXGraph) throws -> Pass {
        let float = Int64(ONNXGraph.ElementType.float.rawValue)
        let one = g.constant("\(name)/one", shape: [], values: [1]), zero = g.constant("\(name)/zero", shape: [], values: [0])
        let timeAxis = g.int64s([1], shape: [])
        let real = g.op("Cast", [mask], name: name, [("to", .int(float))])                     // (batch, time)
        let realSoFar = g.op("CumSum", [real, timeAxis], name: name)
        let maskedSoFar = g.op("CumSum", [g.op("Sub", [one, real], name: name), timeAxis], name: name)
        let count = g.op("ReduceSum", [real, g.int64s([1])], name: name, [("keepdims", .int(1))])  // (batch, 1)
        // Where each step goes: the real ones to 0, 1, ... in order, the masked ones after them.
        let destination = g.op("Where", [mask, g.op("Sub", [realSoFar, one], name: name),
                                         g.op("Sub", [g.op("Add", [count, maskedSoFar], name: name), one], name: name)], name: name)
        func alongTime(_ index: String, like t: String) -> String {
            let i = g.op("Cast", [index], name: name, [("to", .int(Int64(ONNXGraph.ElementType.int64.rawValue)))])
            return g.op("Expand", [g.op("Unsqueeze", [i, g.int64s([2])], name: name), g.op("Shape", [t], name: name)], name: name)
        }
        let compacted = g.op("ScatterElements", [x, alongTime(destination, like: x), x], name: name, [("axis", .int(1))])
        // A row with no real step runs one (ignored below): the operators want lengths of at least 1.
        let lengths = g.op("Cast", [g.op("Squeeze", [g.op("Max", [count, one], name: name), g.int64s([1])], name: name)], name: name,
                           [("to", .int(Int64(ONNXGraph.ElementType.int32.rawValue)))])
        let h0 = initial.map { g.op("Unsqueeze", [$0, g.int64s([0])], name: name) }
        let (y, finals) = try run([d], direction: "forward", x: compacted, sequenceLengths: lengths, initial: h0, name: name, &g)
        let ys = g.op("Transpose", [g.op("Squeeze", [y, g.int64s([1])], name: name)], name: name, [("perm", .ints([1, 0, 2]))])
        // Step t's output is the compacted output of the last real step up to t.
        let source = g.op("Max", [g.op("Sub", [realSoFar, one], name: name), zero], name: name)
        let gathered = g.op("GatherElements", [ys, alongTime(source, like: ys)], name: name, [("axis", .int(1))])
        let shown = zeroOutputForMask ? mask : g.op("Greater", [realSoFar, zero], name: name)
        let sequence = g.op("Where", [g.op("Unsqueeze", [shown, g.int64s([2])], name: name), gathered, zero], name: name)
        // A row with no real step: its last output is zeros and its states the initial ones.
        let any = g.op("Greater", [count, zero], name: name)
        let states = finals.enumerated().map { k, final in
            g.op("Where", [any, g.op("Squeeze", [final, g.int64s([0])], name: name), k < initial.count ? initial[k] : zero], name: name)
        }
        let last = g.op("Where", [any, g.op("Squeeze", [finals[0], g.int64s([0])], name: name), zero], name: name)
        return Pass(sequence: sequence, last: last, states: states)
    }

    /// Runs the operator over `x` (batch, time, features): Y (time, directions, batch, units)
    /// and the final states (directions, batch, units).
    private static func run(_ directions: [Direction], direction: String, x: String, sequenceLengths: String?,
                            initial: [String], name: String, _ g: inout ONNXGraph) throws -> (y: String, finals: [String]) {
        let d0 = directions[0]
        let n = directions.count, width = d0.gates * d0.units
        let features = d0.w.count / max(width, 1)
        let timeMajor = g.op("Transpose", [x], name: name, [("perm", .ints([1, 0, 2]))])
        let w = g.constant("\(name)/W", shape: [n, width, features], values: directions.flatMap(\.w))
        let r = g.constant("\(name)/R", shape: [n, width, d0.units], values: directions.flatMap(\.r))
        let b = g.constant("\(name)/B", shape: [n, 2 * width], values: directions.flatMap(\.b))
        guard initial.isEmpty || initial.count == d0.states else {
            throw LSTMError.unsupported("layer '\(name)': \(initial.count) initial states (the layer has \(d0.states))")
        }
        // X, W, R, B, sequence_lens, initial_h, initial_c.
        var inputs = [timeMajor, w, r, b]
        if sequenceLengths != nil || !initial.isEmpty { inputs.append(sequenceLengths ?? "") }
        inputs += initial
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
