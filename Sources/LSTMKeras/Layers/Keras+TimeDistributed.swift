import LSTMCore

/// Keras's TimeDistributed: the wrapped layer's entry under `layer`; its weights below
/// `layer/` in a Keras 3 file, and as the wrapper's own (time_distributed/kernel) in the legacy
/// layout.
enum TimeDistributedCodec: KerasLayerCodec {
    static let className = "TimeDistributed"

    static func parse(_ r: inout KerasLayerReader) throws -> TimeDistributedSpec {
        guard let inner = r.get("layer"), let cls = inner["class_name"]?.stringValue, let c = inner["config"], case .object = c else {
            throw LSTMError.format("layer '\(r.layer)' (TimeDistributed): 'layer' must be {\"class_name\": ..., \"config\": {...}}")
        }
        let name = c["name"]?.stringValue ?? KerasConfig.defaultName(cls, 0)
        let parsed = try KerasConfig.parseLayer(KerasConfig.LayerEntry(cls: cls, name: name, config: c, json: inner), flavor: r.flavor)
        guard parsed.trainable else {
            throw LSTMError.unsupported("layer '\(r.layer)' (TimeDistributed): a frozen wrapped layer is not supported (freeze the wrapper)")
        }
        guard parsed.regularization.isEmpty else {
            throw LSTMError.unsupported("layer '\(r.layer)' (TimeDistributed): regularizers on the wrapped \(cls) are not supported yet")
        }
        return TimeDistributedSpec(name: r.layer, layer: parsed.spec)
    }

    static func config(_ s: TimeDistributedSpec) throws -> [(String, JSON)] { try config(s, inputShapes: []) }

    static func config(_ s: TimeDistributedSpec, inputShapes: [SampleShape]) throws -> [(String, JSON)] {
        // The wrapped layer is built on one step.
        let step = inputShapes.first.map { [Array($0.dropFirst())] } ?? []
        return [("layer", .object(try KerasConfig.layerEntryJSON(s.layer, inputShapes: step)))]
    }

    static func keras3Groups(_ s: TimeDistributedSpec, weightCount: Int) -> [Keras3VarGroup] {
        let inner = (try? KerasLayers.codec(for: s.layer).keras3GroupsAny(s.layer, weightCount: weightCount)) ?? []
        return inner.map { Keras3VarGroup(path: "layer/" + $0.path, count: $0.count, nameAttribute: $0.nameAttribute) }
            + [Keras3VarGroup(path: "vars", count: 0, nameAttribute: s.name)]
    }

    static func legacyWeightPaths(_ s: TimeDistributedSpec, weights: [String]) throws -> [String] {
        // tf-keras names the wrapped layer's weights after the wrapper: time_distributed/kernel:0
        // (inside its cell for a recurrent layer: time_distributed/lstm_cell/kernel:0).
        let inner = try KerasLayers.codec(for: s.layer).legacyWeightPathsAny(s.layer, weights: weights)
        return inner.map { p in s.name + p.dropFirst(s.layer.name.count) }
    }
}
