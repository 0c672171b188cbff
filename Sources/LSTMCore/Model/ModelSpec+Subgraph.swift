extension ModelSpec {
    /// The part of the graph that computes `outputs` (tensors of this graph): the calls, layers
    /// and inputs they need, in this graph's order, and nothing else — Keras's
    /// `Model(inputs, model.get_layer(name).output)`. `layerIndex` maps each kept layer to its
    /// index here, so that its weights can be found.
    public func subgraph(computing outputs: [TensorRef]) -> (spec: ModelSpec, layerIndex: [Int]) {
        var neededNodes = Set<Int>(), neededInputs = Set<Int>()
        var stack = outputs
        while let ref = stack.popLast() {
            switch ref {
            case .input(let i): neededInputs.insert(i)
            case .node(let j, _):
                if neededNodes.insert(j).inserted { stack += nodes[j].reads }
            }
        }
        let keptNodes = nodes.indices.filter { neededNodes.contains($0) }
        let keptLayers = layers.indices.filter { l in keptNodes.contains { nodes[$0].layer == l } }
        let keptInputs = inputs.indices.filter { neededInputs.contains($0) }
        let newLayer = Dictionary(uniqueKeysWithValues: keptLayers.enumerated().map { ($1, $0) })
        let newNode = Dictionary(uniqueKeysWithValues: keptNodes.enumerated().map { ($1, $0) })
        let newInput = Dictionary(uniqueKeysWithValues: keptInputs.enumerated().map { ($1, $0) })
        func map(_ ref: TensorRef) -> TensorRef {
            switch ref {
            case .input(let i): return .input(newInput[i] ?? 0)
            case .node(let j, let k): return .node(newNode[j] ?? 0, output: k)
            }
        }
        var sub = ModelSpec(name: name, inputs: keptInputs.map { inputs[$0] }, layers: keptLayers.map { layers[$0] },
                            nodes: keptNodes.map { j in
                                Node(layer: newLayer[nodes[j].layer] ?? 0, inputs: nodes[j].inputs.map(map), mask: nodes[j].mask.map(map))
                            },
                            outputs: outputs.map(map))
        sub.frozenLayers = Set(frozenLayers.compactMap { newLayer[$0] })
        sub.regularization = Dictionary(uniqueKeysWithValues: regularization.compactMap { l, r in newLayer[l].map { ($0, r) } })
        return (sub, keptLayers)
    }

    /// The layers the tensor `ref` depends on (indices into `layers`).
    public func layersNeeded(for ref: TensorRef) -> Set<Int> {
        var seen = Set<Int>(), layersSeen = Set<Int>()
        var stack = [ref]
        while let r = stack.popLast() {
            guard case .node(let j, _) = r, seen.insert(j).inserted else { continue }
            layersSeen.insert(nodes[j].layer)
            stack += nodes[j].reads
        }
        return layersSeen
    }
}
