/// A layer whose last operation is its `activation` (Dense, Conv1D, the activation layers): a
/// crossentropy can run it without that activation and read the logits instead.
protocol FinalActivationSpec: LayerSpec {
    var activation: Activation { get set }
}

extension DenseSpec: FinalActivationSpec {}
extension Conv1DSpec: FinalActivationSpec {}
extension ActivationSpec: FinalActivationSpec {}

/// An output node that the loss passes run with a linear activation, so that a crossentropy
/// reads its logits (see PredictionForm), and the activation it otherwise applies.
struct LogitOutput {
    var layer: any Layer
    var activation: Activation
}

/// The crossentropies' logits, as Keras's TensorFlow backend finds them.
extension Model {
    /// The output nodes whose sigmoid or softmax a loss that reads logits looks through: those
    /// made by a layer whose last operation is that activation. Left out (so the loss reads
    /// their probabilities, as it must for whatever else uses them): a node whose output another
    /// node also reads or that is listed as an output twice, and a layer with an activity
    /// regularizer (which penalizes the probabilities).
    func logitOutputs(for losses: OutputLosses) throws -> [Int: LogitOutput] {
        guard losses.readsLayerLogits else { return [:] }
        let readByNodes = Set(spec.nodes.flatMap(\.reads))
        let regularized = Set(activityRegularizers.map(\.node))
        var found: [Int: LogitOutput] = [:]
        for (k, ref) in spec.outputs.enumerated() {
            guard losses.kinds[k]?.readsLayerLogits == true, case .node(let j, 0) = ref, !readByNodes.contains(ref), !regularized.contains(j),
                  spec.outputs.filter({ $0 == ref }).count == 1,
                  var layerSpec = spec.layers[spec.nodes[j].layer] as? FinalActivationSpec,
                  layerSpec.activation == .sigmoid || layerSpec.activation == .softmax else { continue }
            let activation = layerSpec.activation
            layerSpec.activation = .linear
            found[j] = LogitOutput(layer: try layerSpec.build(inputs: nodeLayers[j].inputShapes), activation: activation)
        }
        return found
    }

    /// Sets `logitLayers` for these losses (compile does; so does a gradient call given others).
    func findLogitLayers(for losses: OutputLosses) throws {
        guard logitLayersLoss != losses else { return }
        logitLayers = try logitOutputs(for: losses)
        logitLayersLoss = losses
    }

    /// The layer a node runs in a pass: without its final activation in the loss passes of a
    /// crossentropy (see `logitOutputs`).
    func layer(ofNode ni: Int, logits: Bool) -> any Layer {
        logits ? (logitLayers[ni]?.layer ?? nodeLayers[ni]) : nodeLayers[ni]
    }

    /// How each model output of a pass reaches the loss.
    func predictionForms(_ pass: Pass, losses: OutputLosses) -> [PredictionForm] {
        spec.outputs.enumerated().map { k, ref in
            if pass.logits, case .node(let j, _) = ref, let swapped = logitLayers[j] { return .logits(swapped.activation) }
            guard let loss = losses.kinds[k] else { return .probabilities }
            return loss.fromLogits ? .logits(loss.logitActivation) : .probabilities
        }
    }
}
