extension ModelSpec {
    /// Builds every layer call for the shapes that reach it: the graph is checked (each call
    /// reads model inputs or outputs of earlier calls, every layer is called), shapes are carried
    /// through it, and a layer called twice must need the same weights both times.
    /// - Returns: one built layer per node.
    /// - Throws: `.invalidArgument` for a malformed graph, `.unsupported` for inputs of a rank
    ///   not supported, and what the layers' `build` throws.
    public func buildNodes() throws -> [any Layer] {
        guard !layers.isEmpty else {
            throw LSTMError.invalidArgument("model '\(name)' has no layers")
        }
        guard !inputs.isEmpty, !outputs.isEmpty else {
            throw LSTMError.invalidArgument("model '\(name)' needs at least one input and one output")
        }
        for input in inputs {
            guard !input.shape.isEmpty, input.shape.count < 4 else {
                throw LSTMError.unsupported("model '\(name)': input '\(input.name)' has shape \(LayerChecks.describe(input.shape)); inputs of 1 to 3 axes besides the batch are supported")
            }
            for d in input.shape {
                if let d { try LayerChecks.size(d, "input '\(input.name)': dimension", limit: 1 << 24) }
            }
        }
        var built: [any Layer] = []
        var firstBuild: [(any Layer)?] = Array(repeating: nil, count: layers.count)
        func shape(of ref: TensorRef, at node: Int) throws -> SampleShape {
            switch ref {
            case .input(let i):
                guard i >= 0, i < inputs.count else {
                    throw LSTMError.invalidArgument("model '\(name)': call #\(node) reads input \(i), but the model has \(inputs.count)")
                }
                return inputs[i].shape
            case .node(let j, let k):
                guard j >= 0, j < node, k >= 0, k < built[j].outputShapes.count else {
                    throw LSTMError.invalidArgument("model '\(name)': call #\(node) reads output \(k) of call #\(j), which does not come before it or has no such output")
                }
                return built[j].outputShapes[k]
            }
        }
        for (ni, node) in nodes.enumerated() {
            guard node.layer >= 0, node.layer < layers.count else {
                throw LSTMError.invalidArgument("model '\(name)': call #\(ni) names layer \(node.layer), but the model has \(layers.count)")
            }
            let spec = layers[node.layer]
            let shapes = try node.inputs.map { try shape(of: $0, at: ni) }
            if let mask = node.mask {
                let m = try shape(of: mask, at: ni)
                guard let x = shapes.first, x.count >= 2, m.count == 1, m[0] == x[0] || m[0] == nil || x[0] == nil else {
                    throw LSTMError.shapeMismatch("layer '\(spec.name)': its mask has shape \(LayerChecks.describe(m)); a mask of its input \(shapes.first.map { LayerChecks.describe($0) } ?? "()") has shape (None, timesteps)")
                }
            }
            let layer = try spec.build(inputs: shapes)
            if let first = firstBuild[node.layer] {
                guard first.weights == layer.weights else {
                    throw LSTMError.shapeMismatch("layer '\(spec.name)' is called on inputs of shapes \(first.inputShapes.map { LayerChecks.describe($0) }) and \(shapes.map { LayerChecks.describe($0) }), which need different weights")
                }
            } else {
                firstBuild[node.layer] = layer
            }
            if isSequential, layer.outputShapes.count != 1 {
                throw LSTMError.unsupported("layer '\(spec.name)' (\(spec.kind)) returns \(layer.outputShapes.count) tensors (return_state or merge_mode None); a Sequential model's layers must return one: use a functional model")
            }
            built.append(layer)
        }
        for ref in outputs { _ = try shape(of: ref, at: nodes.count) }
        if let never = firstBuild.firstIndex(where: { $0 == nil }) {
            throw LSTMError.invalidArgument("model '\(name)': layer '\(layers[never].name)' is never called")
        }
        return built
    }
}
