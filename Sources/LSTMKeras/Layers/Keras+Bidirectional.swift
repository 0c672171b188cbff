import LSTMCore

/// Keras's `Bidirectional`: the wrapped layer's config under `layer`, the backward one under
/// `backward_layer`; weights under forward_layer/ and backward_layer/ in a Keras 3 file, and
/// named bidirectional/forward_lstm/lstm_cell/... in the legacy layout.
enum BidirectionalCodec: KerasLayerCodec {
    static let className = "Bidirectional"

    static func parse(_ r: inout KerasLayerReader) throws -> BidirectionalSpec {
        var mode: BidirectionalSpec.MergeMode? = .concat
        if let m = r.get("merge_mode") {
            if m.isNull {
                mode = nil
            } else if let name = m.stringValue, let parsed = BidirectionalSpec.MergeMode(rawValue: name) {
                mode = parsed
            } else {
                throw LSTMError.invalidArgument("layer '\(r.layer)' (Bidirectional): merge_mode must be concat, sum, mul, ave or null, got \(m.serialized())")
            }
        }
        guard let inner = r.get("layer") else {
            throw LSTMError.format("layer '\(r.layer)' (Bidirectional): 'layer' is missing")
        }
        var forward = try wrapped(inner, in: r)
        forward.name = "forward_" + removePrefix("forward_", forward.name)
        // Keras's wrapper makes its halves output zeros at masked steps when they return sequences.
        if forward.recurrent.returnSequences { forward.recurrent.zeroOutputForMask = true }
        var backward: any RecurrentLayerSpec
        if let b = r.get("backward_layer"), !b.isNull {
            backward = try wrapped(b, in: r)
        } else {
            backward = forward
            backward.recurrent.goBackwards = !forward.recurrent.goBackwards
            backward.recurrent.zeroOutputForMask = forward.recurrent.zeroOutputForMask
            // tf-keras's naming (Keras 3 always writes backward_layer).
            backward.name = "backward_" + removePrefix("forward_", forward.name)
        }
        try r.requireDefault("weights", .null)
        return BidirectionalSpec(name: r.layer, forward: forward, backward: backward, mergeMode: mode)
    }

    static func removePrefix(_ prefix: String, _ s: String) -> String {
        s.hasPrefix(prefix) ? String(s.dropFirst(prefix.count)) : s
    }

    /// A serialized recurrent layer inside the wrapper.
    static func wrapped(_ j: JSON, in r: KerasLayerReader) throws -> any RecurrentLayerSpec {
        guard let cls = j["class_name"]?.stringValue, let c = j["config"], case .object = c else {
            throw LSTMError.format("layer '\(r.layer)' (Bidirectional): the wrapped layer must be {\"class_name\": ..., \"config\": {...}}")
        }
        let name = c["name"]?.stringValue ?? KerasConfig.defaultName(cls, 0)
        let entry = KerasConfig.LayerEntry(cls: cls, name: name, config: c, json: j)
        let parsed = try KerasConfig.parseLayer(entry, flavor: r.flavor)
        guard let spec = parsed.spec as? any RecurrentLayerSpec else {
            throw LSTMError.unsupported("layer '\(r.layer)' (Bidirectional) wraps a \(cls); it wraps LSTM, GRU and SimpleRNN")
        }
        guard parsed.regularization.isEmpty else {
            throw LSTMError.unsupported("layer '\(r.layer)' (Bidirectional): regularizers on the wrapped \(cls) are not supported yet")
        }
        return spec
    }

    static func config(_ s: BidirectionalSpec) throws -> [(String, JSON)] { try config(s, inputShapes: []) }

    static func config(_ s: BidirectionalSpec, inputShapes: [SampleShape]) throws -> [(String, JSON)] {
        // The halves are built on the sequence alone.
        let sequence = Array(inputShapes.prefix(1))
        return [("merge_mode", s.mergeMode.map { .string($0.rawValue) } ?? .null),
                ("layer", .object(try KerasConfig.layerEntryJSON(s.forward, inputShapes: sequence))),
                ("backward_layer", .object(try KerasConfig.layerEntryJSON(s.backward, inputShapes: sequence)))]
    }

    static func callArguments(_ s: BidirectionalSpec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) {
        KerasRecurrent.callArguments(inputs)
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { KerasRecurrent.buildConfig(inputShapes) }

    static func keras3Groups(_ s: BidirectionalSpec, weightCount: Int) -> [Keras3VarGroup] {
        // The two halves have the same weights, so half the count each.
        func groups(_ inner: any LayerSpec, _ prefix: String) -> [Keras3VarGroup] {
            ((try? KerasLayers.codec(for: inner).keras3GroupsAny(inner, weightCount: weightCount / 2)) ?? [])
                .map { Keras3VarGroup(path: prefix + "/" + $0.path, count: $0.count, nameAttribute: $0.nameAttribute) }
        }
        return groups(s.forward, "forward_layer") + groups(s.backward, "backward_layer")
            + [Keras3VarGroup(path: "vars", count: 0, nameAttribute: s.name)]
    }

    static func legacyWeightPaths(_ s: BidirectionalSpec, weights: [String]) throws -> [String] {
        // weights: "forward_lstm/kernel", ..., "backward_lstm/kernel", ...
        try weights.map { w in
            let inner = w.hasPrefix(s.forward.name + "/") ? s.forward : s.backward
            let own = String(w.dropFirst(inner.name.count + 1))
            return "\(s.name)/" + (try KerasLayers.codec(for: inner).legacyWeightPathsAny(inner, weights: [own]))[0]
        }
    }
}
