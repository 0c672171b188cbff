import LSTMCore

/// The layers around the recurrent ones on (batch, steps, features) tensors: convolution,
/// pooling, normalization, PReLU, the general ReLU, padding and TimeDistributed. ONNX's Conv and
/// pooling operators take channels first, so those run between two transposes.
extension ONNXLayers {
    static let sequenceExporters: [String: Exporter] = {
        var table: [String: Exporter] = [
            "Conv1D": conv1D,
            "BatchNormalization": batchNormalization,
            "LayerNormalization": layerNormalization,
            "PReLU": prelu,
            "TimeDistributed": timeDistributed,
            "ZeroPadding1D": padding1D, "Cropping1D": padding1D, "UpSampling1D": padding1D,
        ]
        for kind in ["MaxPooling1D", "AveragePooling1D"] { table[kind] = pooling1D }
        for kind in ["GlobalMaxPooling1D", "GlobalAveragePooling1D"] { table[kind] = globalPooling1D }
        return table
    }()

    /// (batch, steps, channels) <-> (batch, channels, steps).
    private static func swapStepsAndChannels(_ x: String, _ g: inout ONNXGraph, name: String) -> String {
        g.op("Transpose", [x], name: name, [("perm", .ints([0, 2, 1]))])
    }

    /// Keras's "valid", "same" (the odd step of padding on the right: ONNX's SAME_UPPER) and
    /// "causal" (all of it on the left) as Conv's and the poolings' padding attributes.
    private static func paddingAttributes(_ padding: String, span: Int, _ call: ONNXLayerCall) throws -> [(String, ONNXGraph.Attribute)] {
        switch padding {
        case "valid": return [("pads", .ints([0, 0]))]
        case "same": return [("auto_pad", .string("SAME_UPPER"))]
        case "causal": return [("pads", .ints([Int64(span - 1), 0]))]
        default: throw call.unsupported("padding '\(padding)'")
        }
    }

    static func conv1D(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: Conv1DSpec.self)
        let k = s.kernelSize, filters = s.filters
        let channels = call.weights[0].count / max(k * filters, 1)
        // Keras's kernel is (kernel_size, channels, filters); ONNX's (filters, channels, kernel_size).
        var w = [Float](repeating: 0, count: call.weights[0].count)
        for j in 0..<k {
            for c in 0..<channels {
                for f in 0..<filters { w[(f * channels + c) * k + j] = call.weights[0][(j * channels + c) * filters + f] }
            }
        }
        var inputs = [swapStepsAndChannels(call.inputs[0], &g, name: s.name),
                      g.constant("\(s.name)/kernel", shape: [filters, channels, k], values: w)]
        if s.useBias { inputs.append(g.constant("\(s.name)/bias", shape: [filters], values: call.weights[1])) }
        let span = (k - 1) * s.dilationRate + 1
        let y = g.op("Conv", inputs, name: s.name,
                     [("kernel_shape", .ints([Int64(k)])), ("strides", .ints([Int64(s.strides)])),
                      ("dilations", .ints([Int64(s.dilationRate)]))] + (try paddingAttributes(s.padding, span: span, call)))
        return .unmasked([g.apply(s.activation, to: swapStepsAndChannels(y, &g, name: s.name), name: s.name)])
    }

    private static func opName(_ r: Pooling1DSpec.Reduction, max: String, average: String) -> String {
        switch r {
        case .max: return max
        case .average: return average
        }
    }

    /// Padding is never the maximum and is left out of the average, as TensorFlow computes
    /// them: MaxPool's and AveragePool's behaviour (count_include_pad 0).
    static func pooling1D(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: Pooling1DSpec.self)
        let y = g.op(opName(s.reduction, max: "MaxPool", average: "AveragePool"), [swapStepsAndChannels(call.inputs[0], &g, name: s.name)], name: s.name,
                     [("kernel_shape", .ints([Int64(s.poolSize)])), ("strides", .ints([Int64(s.strides)]))]
                         + (try paddingAttributes(s.padding, span: s.poolSize, call)))
        return .unmasked([swapStepsAndChannels(y, &g, name: s.name)])
    }

    static func globalPooling1D(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: GlobalPooling1DSpec.self)
        let op = opName(s.reduction, max: "ReduceMax", average: "ReduceMean")
        if case .average = s.reduction, let mask = call.mask {
            // Keras 3's masked average: Σ mask · x / Σ mask over the steps.
            let m = g.op("Unsqueeze", [g.op("Cast", [mask], name: s.name, [("to", .int(ONNXGraph.ElementType.float.rawValue))]), g.int64s([-1])], name: s.name)
            let sum = g.op("ReduceSum", [g.op("Mul", [call.inputs[0], m], name: s.name), g.int64s([1])], name: s.name,
                           [("keepdims", .int(s.keepDims ? 1 : 0))])
            let count = g.op("ReduceSum", [m, g.int64s([1])], name: s.name, [("keepdims", .int(s.keepDims ? 1 : 0))])
            return .unmasked([g.op("Div", [sum, count], name: s.name)])
        }
        // opset 17: ReduceMean and ReduceMax take their axes as an attribute.
        return .unmasked([g.op(op, [call.inputs[0]], name: s.name, [("axes", .ints([1])), ("keepdims", .int(s.keepDims ? 1 : 0))])])
    }

    /// Inference: (x - moving_mean) · gamma / sqrt(moving_variance + epsilon) + beta, the scale
    /// worked out once in Double.
    static func batchNormalization(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: BatchNormalizationSpec.self)
        var k = 0
        let gamma: [Float]? = s.scale ? call.weights[k] : nil
        if s.scale { k += 1 }
        let beta: [Float]? = s.center ? call.weights[k] : nil
        if s.center { k += 1 }
        let mean = call.weights[k], variance = call.weights[k + 1]
        let scale = variance.indices.map { i in
            Float(Double(gamma?[i] ?? 1) / (Double(variance[i]) + s.epsilon).squareRoot())
        }
        let n = mean.count
        var y = g.op("Sub", [call.inputs[0], g.constant("\(s.name)/moving_mean", shape: [n], values: mean)], name: s.name)
        y = g.op("Mul", [y, g.constant("\(s.name)/scale", shape: [n], values: scale)], name: s.name)
        if let beta { y = g.op("Add", [y, g.constant("\(s.name)/beta", shape: [n], values: beta)], name: s.name) }
        return [y]
    }

    static func layerNormalization(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: LayerNormalizationSpec.self)
        guard let n = call.inputShapes[0].last ?? nil else { throw call.unsupported("an input with open features") }
        var k = 0
        let gamma = s.scale ? call.weights[k] : [Float](repeating: 1, count: n)
        if s.scale { k += 1 }
        let beta = s.center ? call.weights[k] : [Float](repeating: 0, count: n)
        return [g.op("LayerNormalization", [call.inputs[0], g.constant("\(s.name)/gamma", shape: [n], values: gamma),
                                            g.constant("\(s.name)/beta", shape: [n], values: beta)],
                     name: s.name, [("axis", .int(-1)), ("epsilon", .float(Float(s.epsilon)))])]
    }

    /// max(x, 0) + alpha · min(x, 0): ONNX's PRelu, alpha broadcast over the batch (and the
    /// shared axes, which Keras keeps as size 1).
    static func prelu(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: PReLUSpec.self)
        return [g.op("PRelu", [call.inputs[0], g.constant("\(s.name)/alpha", shape: call.weightShapes[0], values: call.weights[0])],
                     name: s.name)]
    }

    static func padding1D(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: ReshapingSpec.self)
        let x = call.inputs[0]
        switch s.operation {
        case let .zeroPadding1D(left, right):
            return .unmasked([g.op("Pad", [x, g.int64s([0, Int64(left), 0, 0, Int64(right), 0])], name: s.name)])
        case let .cropping1D(left, right):
            return .unmasked([g.op("Slice", [x, g.int64s([Int64(left)]), g.int64s([right == 0 ? Int64.max : -Int64(right)]), g.int64s([1])], name: s.name)])
        case .upSampling1D(let size):
            // Each step `size` times: (batch, steps, 1, features) tiled, then merged back.
            guard let features = call.outputShapes[0].last ?? nil else { throw call.unsupported("an input with open features") }
            let tiled = g.op("Tile", [g.op("Unsqueeze", [x, g.int64s([2])], name: s.name), g.int64s([1, 1, Int64(size), 1])], name: s.name)
            return .unmasked([g.op("Reshape", [tiled, g.int64s([0, -1, Int64(features)])], name: s.name)])
        case .flatten, .reshape, .permute, .repeatVector:
            return try reshaping(call, &g)
        }
    }

    /// The wrapped layer on every step: (batch, steps, ...) folded into (batch · steps, ...),
    /// the layer's exporter, then unfolded. A Dense needs no folding (MatMul takes any rank).
    static func timeDistributed(_ call: ONNXLayerCall, _ g: inout ONNXGraph) throws -> ONNXLayerOutputs {
        let s = try call.spec(as: TimeDistributedSpec.self)
        let inner = s.layer
        guard let exporter = exporters[inner.kind] else {
            throw call.unsupported("the wrapped layer '\(inner.name)' (\(inner.kind))")
        }
        let innerIn = Array(call.inputShapes[0].dropFirst()), innerOut = Array(call.outputShapes[0].dropFirst())
        let described = "\(call.described) around layer '\(inner.name)' (\(inner.kind))"
        if inner is DenseSpec {
            let c = ONNXLayerCall(spec: inner, described: described, weights: call.weights, weightShapes: call.weightShapes,
                                  inputs: call.inputs, inputShapes: call.inputShapes, outputShapes: call.outputShapes, masks: call.masks)
            return ONNXLayerOutputs(try exporter(c, &g).values)
        }
        func fixedDims(_ shape: SampleShape) throws -> [Int64] {
            try shape.map { d in guard let d else { throw call.unsupported("a step shape with open dimensions") }; return Int64(d) }
        }
        let folded = g.op("Reshape", [call.inputs[0], g.int64s([-1] + (try fixedDims(innerIn)))], name: s.name)
        let c = ONNXLayerCall(spec: inner, described: described, weights: call.weights, weightShapes: call.weightShapes,
                              inputs: [folded], inputShapes: [innerIn], outputShapes: [innerOut])
        let y = try exporter(c, &g).values
        guard y.count == 1 else { throw call.unsupported("a wrapped layer with several outputs") }
        // (batch, steps) from the input, then the step's output shape.
        let batchAndSteps = g.op("Slice", [g.op("Shape", [call.inputs[0]], name: s.name), g.int64s([0]), g.int64s([2])], name: s.name)
        let target = g.op("Concat", [batchAndSteps, g.int64s(try fixedDims(innerOut))], name: s.name, [("axis", .int(0))])
        return ONNXLayerOutputs([g.op("Reshape", [y[0], target], name: s.name)])
    }

    /// Keras's ReLU layer in general: clip(x · [x > threshold], 0, max_value) - negative_slope ·
    /// relu(threshold - x), term by term as Keras's relu computes it.
    static func generalReLU(_ x: String, maxValue: Double?, slope: Double, threshold: Double, name: String,
                            _ g: inout ONNXGraph) -> String {
        let t = g.constant("\(name)/threshold", shape: [], values: [Float(threshold)])
        var y: String
        if threshold != 0 {
            let above = g.op("Cast", [g.op("Greater", [x, t], name: name)], name: name, [("to", .int(ONNXGraph.ElementType.float.rawValue))])
            y = g.op("Mul", [x, above], name: name)
        } else {
            y = g.op("Relu", [x], name: name)
        }
        if let maxValue {
            y = g.op("Clip", [y, g.constant("\(name)/min", shape: [], values: [0]), g.constant("\(name)/max", shape: [], values: [Float(maxValue)])], name: name)
        }
        if slope != 0 {
            let negative = g.op("Relu", [g.op("Sub", [t, x], name: name)], name: name)
            y = g.op("Sub", [y, g.op("Mul", [g.constant("\(name)/slope", shape: [], values: [Float(slope)]), negative], name: name)], name: name)
        }
        return y
    }
}
