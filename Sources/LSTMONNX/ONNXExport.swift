import LSTMCore
import LSTMKeras

/// Exports a model's inference graph as an ONNX model (opset 17): the model's inputs (float32,
/// batch and open lengths dynamic) and outputs under their Keras names, each layer call through
/// the exporter registered for its Keras class (`ONNXLayers.exporters`), the weights as
/// initializers. Keras's masks (Masking, Embedding's mask_zero, a mask passed to a call) flow
/// beside the tensors as boolean (batch, steps) values, passed on by each layer as Keras passes
/// them, and the recurrent layers and the average pooling honour them. A stateful layer's state
/// is an extra graph input and output (ONNXRecurrent). What has no exact ONNX form — a layer
/// class without an exporter, an activation the recurrent operators lack — is refused by name.
public enum ONNXExport {
    /// The ONNX file's bytes for `model`.
    /// - Throws: `.unsupported` naming the layer, its class and what it uses that has no ONNX form.
    public static func encode(_ model: Model<Float>, producerVersion: String) throws -> [UInt8] {
        let spec = model.spec
        var g = ONNXGraph()
        var names: [ModelSpec.TensorRef: String] = [:]
        var masks: [ModelSpec.TensorRef: String] = [:]
        for (i, input) in spec.inputs.enumerated() {
            let name = input.name
            g.input(name, .float, [.named("batch")] + dims(input.shape, openName: name))
            names[.input(i)] = name
        }
        for (j, node) in spec.nodes.enumerated() {
            let layer = spec.layers[node.layer]
            let described = "layer '\(layer.name)' (\(layer.kind))"
            var inputMasks = node.inputs.map { masks[$0] }
            if let ref = node.mask, let given = names[ref], !inputMasks.isEmpty {
                // A mask passed to the call: real where nonzero.
                let zero = g.constant("\(layer.name)/zero", shape: [], values: [0])
                inputMasks[0] = g.op("Not", [g.op("Equal", [given, zero], name: layer.name)], name: layer.name)
            }
            guard let exporter = ONNXLayers.exporters[layer.kind] else {
                throw LSTMError.unsupported("\(described) has no ONNX form in this exporter (it exports \(ONNXLayers.exporters.keys.sorted().joined(separator: ", ")))")
            }
            let range = model.layerWeightRanges[node.layer]
            let shapes = model.nodeShapes(j)
            let call = ONNXLayerCall(spec: layer, described: described, weights: range.map { model.weights[$0] },
                                     weightShapes: range.map { model.weightShapes[$0] },
                                     inputs: try node.inputs.map { ref in
                                         guard let n = names[ref] else { throw LSTMError.internal("\(described): an input before its producer") }
                                         return n
                                     },
                                     inputShapes: shapes.inputs, outputShapes: shapes.outputs, masks: inputMasks)
            let result = try exporter(call, &g)
            let outputs = result.values
            guard outputs.count == shapes.outputs.count else {
                throw LSTMError.internal("\(described): exported \(outputs.count) outputs, the layer has \(shapes.outputs.count)")
            }
            let outputMasks = result.masks ?? call.defaultOutputMasks(&g)
            for (k, o) in outputs.enumerated() {
                names[.node(j, output: k)] = o
                if k < outputMasks.count, let m = outputMasks[k] { masks[.node(j, output: k)] = m }
            }
        }
        // Outputs by their Keras names (a layer's, with _1, _2 ... for its further outputs);
        // each an Identity, so that an output that is also an input or another output keeps its name.
        for (k, ref) in spec.outputs.enumerated() {
            guard let value = names[ref] else { throw LSTMError.internal("output \(k) was never computed") }
            // "lstm[1]" (Keras's name of a layer's second output) becomes "lstm_1".
            let name = g.fresh(String(spec.outputName(k).compactMap { $0 == "[" ? "_" : $0 == "]" ? nil : $0 }))
            g.identity(value, as: name)
            let shape: SampleShape
            switch ref {
            case .input(let i): shape = spec.inputs[i].shape
            case .node(let j, let o): shape = model.nodeShapes(j).outputs[o]
            }
            g.output(name, .float, [.named("batch")] + dims(shape, openName: name))
        }
        return g.encoded(graphName: spec.name, producerVersion: producerVersion)
    }

    /// Writes `model` as an ONNX file at `path` (a name ending in .onnx), atomically as every
    /// save of the library.
    public static func save(_ model: Model<Float>, to path: String, producerVersion: String) throws {
        guard path.lowercased().hasSuffix(".onnx") else {
            throw LSTMError.invalidArgument("'\(path)': an ONNX export is written to a name ending in .onnx")
        }
        let bytes = try encode(model, producerVersion: producerVersion)
        try writeFileAtomically(bytes, to: path)
    }

    /// ONNX dimensions of a per-sample shape: fixed sizes, and a named symbol for an open one.
    private static func dims(_ shape: SampleShape, openName: String) -> [ONNXGraph.DynamicDim] {
        shape.enumerated().map { k, d in d.map { .fixed($0) } ?? .named(k == 0 ? "timesteps" : "\(openName)_dim\(k + 1)") }
    }
}

/// What an exporter gives back: the layer's outputs, in its order, and their masks (nil: Keras's
/// default rule, `ONNXLayerCall.defaultOutputMasks`).
struct ONNXLayerOutputs: ExpressibleByArrayLiteral {
    var values: [String]
    var masks: [String?]?

    init(_ values: [String], masks: [String?]? = nil) {
        self.values = values
        self.masks = masks
    }

    init(arrayLiteral values: String...) { self.init(values) }

    /// Outputs that carry no mask (the layer drops it, as Keras's convolutions and poolings do).
    static func unmasked(_ values: [String]) -> ONNXLayerOutputs { ONNXLayerOutputs(values, masks: values.map { _ in nil }) }
}

/// One call of a layer, as its exporter sees it.
struct ONNXLayerCall {
    let spec: any LayerSpec
    /// "layer 'lstm' (LSTM)", for messages.
    let described: String
    /// The layer's weight arrays in Keras's order and shapes.
    let weights: [[Float]]
    let weightShapes: [[Int]]
    /// The ONNX names of the call's input tensors.
    let inputs: [String]
    /// Per-sample shapes (no batch axis) of the inputs and outputs.
    let inputShapes: [SampleShape]
    let outputShapes: [SampleShape]
    /// The masks of the inputs: boolean (batch, steps), true where a step is real; nil: none.
    var masks: [String?] = []

    /// The first input's mask.
    var mask: String? { masks.first ?? nil }

    /// Keras's default for layers that support masking (Dense, the merges, the activations):
    /// the inputs' masks combined (a step is real where it is real in each) go to every output
    /// that keeps the first input's batch and time axes.
    func defaultOutputMasks(_ g: inout ONNXGraph) -> [String?] {
        let given = masks.compactMap { $0 }
        guard var combined = given.first else { return outputShapes.map { _ in nil } }
        for m in given.dropFirst() { combined = g.op("And", [combined, m], name: spec.name) }
        let steps = inputShapes.first?.first ?? nil
        return outputShapes.map { s in s.count >= 2 && s[0] == steps ? combined : nil }
    }

    /// The layer's spec as its concrete type (the registry is keyed by that type's kind).
    func spec<S: LayerSpec>(as type: S.Type) throws -> S {
        guard let s = spec as? S else { throw LSTMError.internal("\(described): not a \(S.self)") }
        return s
    }

    func unsupported(_ what: String) -> LSTMError {
        LSTMError.unsupported("\(described): \(what) has no ONNX form in this exporter")
    }
}
