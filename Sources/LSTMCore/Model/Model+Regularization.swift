/// Keras's regularization losses: each trainable weight's regularizer and each layer's activity
/// regularizer (of every output, divided by the batch size), summed and added to the loss of
/// fit, evaluate and validation as Keras's compute_loss adds `model.losses`.
extension Model {
    /// The trainable weight arrays with a regularizer (a frozen layer's have none: Keras reads
    /// `trainable_weights`).
    var regularizedArrays: [(array: Int, regularizer: Regularizer)] {
        guard !spec.regularization.isEmpty else { return [] }
        let trained = Set(trainableArrays)
        var out: [(Int, Regularizer)] = []
        for (l, r) in spec.regularization.sorted(by: { $0.key < $1.key }) where !r.weights.isEmpty {
            let prefix = spec.layers[l].name + "/"
            for k in weightRanges[l] where trained.contains(k) {
                if let reg = r.weights[String(weightNames[k].dropFirst(prefix.count))] { out.append((k, reg)) }
            }
        }
        return out
    }

    /// Per node: its layer's activity regularizer, if any.
    var activityRegularizers: [(node: Int, regularizer: Regularizer)] {
        spec.nodes.enumerated().compactMap { ni, node in spec.regularization[node.layer]?.activity.map { (ni, $0) } }
    }

    /// The regularization loss of a pass (`weights`: regularizedArrays, when the caller has it).
    func regularizationLoss(_ pass: Pass, weights: [(array: Int, regularizer: Regularizer)]? = nil) -> Double {
        weightPenalty(weights ?? regularizedArrays) + activityPenalty(pass)
    }

    /// The weight regularizers' part (`weights`: regularizedArrays): it depends on the weights alone.
    func weightPenalty(_ weights: [(array: Int, regularizer: Regularizer)]) -> Double {
        weights.reduce(0.0) { $0 + $1.regularizer.penalty(UnsafeBufferPointer(params.arrays[$1.array])) }
    }

    /// The activity regularizers' part: each output's penalty divided by its batch size.
    func activityPenalty(_ pass: Pass) -> Double {
        var total = 0.0
        for (ni, r) in activityRegularizers {
            for out in pass.outputs[ni] where out.batch > 0 {
                total += out.values.withUnsafeBufferPointer { r.penalty($0) } / Double(out.batch)
            }
        }
        return total
    }

    /// Adds the gradients of the weight regularizers (`weights`: regularizedArrays).
    func addRegularizationGradients(_ weights: [(array: Int, regularizer: Regularizer)], into gradients: Parameters<T>) {
        for (k, r) in weights {
            r.addGradient(UnsafeBufferPointer(params.arrays[k]), scale: 1, into: gradients.arrays[k].baseAddress!)
        }
    }

    /// The activity regularizers' gradients with respect to their nodes' outputs.
    func activityGradients(_ pass: Pass) -> [(ref: ModelSpec.TensorRef, gradient: Tensor<T>)] {
        activityRegularizers.flatMap { ni, r in
            pass.outputs[ni].enumerated().compactMap { k, out -> (ModelSpec.TensorRef, Tensor<T>)? in
                guard out.batch > 0 else { return nil }
                var g = Tensor<T>(zeros: out.shape)
                out.values.withUnsafeBufferPointer { v in
                    g.values.withUnsafeMutableBufferPointer { r.addGradient(v, scale: 1 / Double(out.batch), into: $0.baseAddress!) }
                }
                return (.node(ni, output: k), g)
            }
        }
    }
}
