import LSTMCore

/// The exporter of each Keras layer class: one entry per class, each turning one call of the
/// layer into ONNX nodes and returning the names of its outputs, in the layer's order. A class
/// not listed here is refused by name (ONNXExport).
enum ONNXLayers {
    typealias Exporter = (ONNXLayerCall, inout ONNXGraph) throws -> ONNXLayerOutputs

    static let exporters: [String: Exporter] = {
        var table: [String: Exporter] = [
            "LSTM": ONNXRecurrent.lstm,
            "GRU": ONNXRecurrent.gru,
            "SimpleRNN": ONNXRecurrent.simpleRNN,
            "Bidirectional": ONNXRecurrent.bidirectional,
            "Dense": dense,
            "Embedding": embedding,
            "Concatenate": concatenate,
            "Flatten": reshaping, "Reshape": reshaping, "Permute": reshaping, "RepeatVector": reshaping,
            "Masking": masking,
            "NotEqual": notEqual,
            "Any": any,
        ]
        for kind in ["Activation", "LeakyReLU", "ReLU", "ELU", "Softmax"] { table[kind] = activationLayer }
        // Noise is for training only: at inference these layers pass their input on.
        for kind in ["Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout"] { table[kind] = { call, _ in [call.inputs[0]] } }
        for op in MergeSpec.Operation.allCases { table[op.rawValue] = merge }
        table.merge(sequenceExporters) { listed, _ in listed }
        return table
    }()

    /// x · kernel + bias, then the activation (x of any rank: MatMul multiplies the last axis).
    static func dense(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: DenseSpec.self)
        let kernel = g.constant("\(s.name)/kernel", shape: call.weightShapes[0], values: call.weights[0])
        var y = g.op("MatMul", [call.inputs[0], kernel], name: s.name)
        if s.useBias {
            y = g.op("Add", [y, g.constant("\(s.name)/bias", shape: call.weightShapes[1], values: call.weights[1])], name: s.name)
        }
        return [g.apply(s.activation, to: y, name: s.name)]
    }

    /// The rows of the embedding matrix the ids pick (the ids come in as floats, as the library
    /// takes them, and are cast to int64 for Gather); with mask_zero, id 0 masks its step.
    static func embedding(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: EmbeddingSpec.self)
        let ids = g.op("Cast", [call.inputs[0]], name: s.name, [("to", .int(ONNXGraph.ElementType.int64.rawValue))])
        let matrix = g.constant("\(s.name)/embeddings", shape: call.weightShapes[0], values: call.weights[0])
        let rows = g.op("Gather", [matrix, ids], name: s.name, [("axis", .int(0))])
        guard s.maskZero, call.inputShapes[0].count == 1 else { return .unmasked([rows]) }
        let zero = g.constant("\(s.name)/zero", shape: [], values: [0])
        return ONNXLayerOutputs([rows], masks: [g.op("Not", [g.op("Equal", [call.inputs[0], zero], name: s.name)], name: s.name)])
    }

    /// A step is real where any of its features differs from mask_value; masked steps come out
    /// as zeros, as Keras's Masking multiplies them by the mask.
    static func masking(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: MaskingSpec.self)
        let x = call.inputs[0]
        let value = g.constant("\(s.name)/mask_value", shape: [], values: [Float(s.maskValue)])
        let differs = g.op("Cast", [g.op("Not", [g.op("Equal", [x, value], name: s.name)], name: s.name)], name: s.name,
                           [("to", .int(ONNXGraph.ElementType.float.rawValue))])
        let real = g.op("ReduceMax", [differs], name: s.name, [("axes", .ints([-1])), ("keepdims", .int(1))])
        let mask = g.op("Cast", [g.op("Squeeze", [real, g.int64s([-1])], name: s.name)], name: s.name,
                        [("to", .int(ONNXGraph.ElementType.bool.rawValue))])
        return ONNXLayerOutputs([g.op("Mul", [x, real], name: s.name)], masks: [mask])
    }

    /// keras.ops.not_equal in a mask computation: 1 where x differs from the value, else 0.
    static func notEqual(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: NotEqualSpec.self)
        let value = g.constant("\(s.name)/value", shape: [], values: [Float(s.value)])
        let differs = g.op("Not", [g.op("Equal", [call.inputs[0], value], name: s.name)], name: s.name)
        return .unmasked([g.op("Cast", [differs], name: s.name, [("to", .int(ONNXGraph.ElementType.float.rawValue))])])
    }

    /// keras.ops.any(axis=-1): 1 where any value of the last axis is nonzero, else 0.
    static func any(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: AnySpec.self)
        let zero = g.constant("\(s.name)/zero", shape: [], values: [0])
        let nonzero = g.op("Cast", [g.op("Not", [g.op("Equal", [call.inputs[0], zero], name: s.name)], name: s.name)], name: s.name,
                           [("to", .int(ONNXGraph.ElementType.float.rawValue))])
        return .unmasked([g.op("ReduceMax", [nonzero], name: s.name, [("axes", .ints([-1])), ("keepdims", .int(0))])])
    }

    static func activationLayer(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: ActivationSpec.self)
        return [g.apply(s.activation, to: call.inputs[0], name: s.name)]
    }

    static func concatenate(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: ConcatenateSpec.self)
        // Keras's axis counts the batch, as ONNX's does.
        let joined = g.op("Concat", call.inputs, name: s.name, [("axis", .int(Int64(s.axis)))])
        let rank = call.inputShapes[0].count + 1
        guard (s.axis < 0 ? s.axis + rank : s.axis) == 1, rank >= 3, call.masks.contains(where: { $0 != nil }) else {
            return [joined]
        }
        // Joined along the time axis, the masks are joined too (a missing one: every step real).
        let masks = zip(call.inputs, call.masks).map { x, m -> String in
            if let m { return m }
            let steps = g.op("Slice", [g.op("Shape", [x], name: s.name), g.int64s([0]), g.int64s([2])], name: s.name)
            // ConstantOfShape gives float zeros of (batch, steps): all equal to zero, all real.
            let zeros = g.op("ConstantOfShape", [steps], name: s.name)
            return g.op("Equal", [zeros, g.constant("\(s.name)/zero", shape: [], values: [0])], name: s.name)
        }
        return ONNXLayerOutputs([joined], masks: [g.op("Concat", masks, name: s.name, [("axis", .int(1))])])
    }

    /// Add, Subtract, Multiply, Average, Maximum, Minimum: element by element, broadcasting as
    /// Keras does (ONNX broadcasts the same way, numpy's rule).
    static func merge(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: MergeSpec.self)
        var y = call.inputs[0]
        for x in call.inputs.dropFirst() {
            switch s.operation {
            case .add, .average: y = g.op("Add", [y, x], name: s.name)
            case .subtract: y = g.op("Sub", [y, x], name: s.name)
            case .multiply: y = g.op("Mul", [y, x], name: s.name)
            case .maximum: y = g.op("Max", [y, x], name: s.name)
            case .minimum: y = g.op("Min", [y, x], name: s.name)
            }
        }
        if s.operation == .average {
            y = g.op("Div", [y, g.constant("\(s.name)/count", shape: [], values: [Float(call.inputs.count)])], name: s.name)
        }
        return [y]
    }

    /// The reshaping layers drop the mask, as Keras's do.
    static func reshaping(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: ReshapingSpec.self)
        let x = call.inputs[0]
        switch s.operation {
        case .flatten, .reshape:
            // The built output shape, with the batch kept (0) and one open axis inferred (-1).
            let target = [Int64(0)] + call.outputShapes[0].map { Int64($0 ?? -1) }
            guard target.filter({ $0 == -1 }).count <= 1 else { throw call.unsupported("a target shape with two open axes") }
            return .unmasked([g.op("Reshape", [x, g.int64s(target)], name: s.name)])
        case .permute(let dims):
            return .unmasked([g.op("Transpose", [x], name: s.name, [("perm", .ints([0] + dims.map(Int64.init)))])])
        case .repeatVector(let n):
            // (batch, features) -> (batch, n, features)
            let expanded = g.op("Unsqueeze", [x, g.int64s([1])], name: s.name)
            return .unmasked([g.op("Tile", [expanded, g.int64s([1, Int64(n), 1])], name: s.name)])
        case .zeroPadding1D, .cropping1D, .upSampling1D:
            return try padding1D(call, &g)
        }
    }
}
