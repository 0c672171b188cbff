/// Running the graph: forward over the nodes in order, backward in reverse, the gradients of a
/// tensor used by several nodes summed.
extension Model {
    /// Every node's outputs of one forward pass, and what each layer kept for backward.
    struct Pass {
        var inputs: [Tensor<T>]
        var outputs: [[Tensor<T>]]
        var tapes: [AnyObject?]
        /// Per node, the masks of its outputs.
        var masks: [[Mask?]] = []
        /// Whether the output nodes of `logitLayers` ran without their final activation.
        var logits = false

        func mask(_ ref: ModelSpec.TensorRef) -> Mask? {
            switch ref {
            case .input: return nil
            case .node(let j, let k): return masks[j][k]
            }
        }

        func tensor(_ ref: ModelSpec.TensorRef) -> Tensor<T> {
            switch ref {
            case .input(let i): return inputs[i]
            case .node(let j, let k): return outputs[j][k]
            }
        }
    }

    /// - Parameter reuse: the tapes of an earlier training pass, offered back to their layers
    ///   (fit's batches: large allocations cost page faults every batch).
    /// - Parameter carries: the stateful layers' carried states, per node (run with a BatchState).
    /// - Parameter logits: a loss pass of a crossentropy: the outputs of `logitLayers` are logits.
    func forward(_ inputs: [Tensor<T>], training: Bool, reuse: [AnyObject?] = [], carries: [StateCarry<T>?] = [],
                 logits: Bool = false) -> Pass {
        var pass = Pass(inputs: inputs, outputs: [], tapes: [])
        pass.logits = logits && !logitLayers.isEmpty
        pass.outputs.reserveCapacity(spec.nodes.count)
        for (ni, node) in spec.nodes.enumerated() {
            let ins = node.inputs.map(pass.tensor)
            var masks = node.inputs.map(pass.mask)
            if let ref = node.mask, !masks.isEmpty {
                let m = pass.tensor(ref)
                masks[0] = Mask(batch: m.shape[0], steps: m.shape.count > 1 ? m.shape[1] : 1, values: m.values.map { $0 != 0 })
            }
            var context = LayerContext(training: training, tape: ni < reuse.count ? reuse[ni] : nil, masks: masks)
            context.carry = ni < carries.count ? carries[ni] : nil
            if training { context.random = SeededRandom(seed: noiseSeed(node: ni)) }
            context.layerTrainable = !spec.frozenLayers.contains(node.layer)
            let layer = layer(ofNode: ni, logits: pass.logits)
            let outs = layer.forward(ins, weights: layerWeights[node.layer], context: &context)
            pass.masks.append(layer.outputMasks(ins, masks: masks))
            pass.outputs.append(outs)
            pass.tapes.append(training ? context.tape : nil)
        }
        return pass
    }

    /// The model's outputs of a pass.
    func outputs(of pass: Pass) -> [Tensor<T>] { spec.outputs.map(pass.tensor) }

    /// Backward from the gradients of the model's outputs; weight gradients are added into
    /// `gradients`. Nodes that no gradient reaches are skipped.
    /// - Parameter slices: when given, receives for the weights of layers with sparse gradients
    ///   (Embedding) the sums over their slices (see `Layer.sparseGradientWeights`).
    /// - Parameter extra: gradients of other tensors of the pass (activity regularizers'), added
    ///   to what reaches them from the outputs.
    func backward(_ pass: Pass, outputGradients: [Tensor<T>], gradients: Parameters<T>, slices: SliceSums<T>? = nil,
                  extra: [(ref: ModelSpec.TensorRef, gradient: Tensor<T>)] = []) {
        var d: [[Tensor<T>?]] = pass.outputs.map { Array(repeating: nil, count: $0.count) }
        func accumulate(_ ref: ModelSpec.TensorRef, _ g: Tensor<T>) {
            guard case .node(let j, let k) = ref else { return }  // a model input: nothing to train
            if d[j][k] == nil {
                d[j][k] = g
            } else {
                d[j][k]!.values.withUnsafeMutableBufferPointer { acc in
                    g.values.withUnsafeBufferPointer { add in
                        for i in 0..<acc.count { acc[i] += add[i] }
                    }
                }
            }
        }
        for (ref, g) in zip(spec.outputs, outputGradients) { accumulate(ref, g) }
        for (ref, g) in extra { accumulate(ref, g) }
        for ni in stride(from: spec.nodes.count - 1, through: 0, by: -1) {
            guard d[ni].contains(where: { $0 != nil }) else { continue }
            let node = spec.nodes[ni]
            let dOuts = d[ni].enumerated().map { k, g in g ?? Tensor(zeros: pass.outputs[ni][k].shape) }
            d[ni] = []  // released as soon as used
            let need = node.inputs.map { ref -> Bool in if case .node = ref { return true } else { return false } }
            let range = weightRanges[node.layer]
            let grads = Array(gradients.arrays[range])
            let layer = layer(ofNode: ni, logits: pass.logits)
            let dIns = layer.backward(node.inputs.map(pass.tensor), outputs: pass.outputs[ni], outputGradients: dOuts,
                                      weights: layerWeights[node.layer], gradients: grads, tape: pass.tapes[ni],
                                      needInput: need)
            if let slices, !nodeLayers[ni].sparseGradientWeights.isEmpty {
                nodeLayers[ni].addSliceSums(node.inputs.map(pass.tensor), outputGradients: dOuts, into: slices.buffers(range))
            }
            for (ref, g) in zip(node.inputs, dIns) {
                if let g { accumulate(ref, g) }
            }
        }
    }
}
