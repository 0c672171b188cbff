import LSTMCore

/// A model described layer by layer as Keras's `summary()` shows it, for tools.
public enum KerasDescription {
    public struct Row {
        public var name: String
        /// Keras's class: "LSTM", "InputLayer".
        public var className: String
        /// The per-sample shapes of its (first) call's outputs.
        public var outputShapes: [SampleShape]
        /// How many times the model calls it.
        public var callCount: Int
        /// "lstm (LSTM)"
        public var layer: String
        /// "(None, 12, 8)", or several shapes for a layer with several outputs.
        public var shape: String
        public var parameters: Int
        /// The tensors its calls read, "lstm[0][0], dense[0][0]" (empty for an input).
        public var connectedTo: String
        /// Its options as Keras's config states them (units=8 activation=tanh ...).
        public var options: String
    }

    /// The name of model output k: its layer's, with [i] for a layer's output i > 0.
    public static func outputName(_ k: Int, in spec: ModelSpec) -> String { spec.outputName(k) }

    /// Keras's name of a tensor: layer[call][output].
    public static func tensorName(_ ref: ModelSpec.TensorRef, in spec: ModelSpec) -> String {
        switch ref {
        case .input(let i): return "\(spec.inputs[i].name)[0][0]"
        case .node(let j, let k):
            let layer = spec.nodes[j].layer
            let call = spec.nodes[..<j].filter { $0.layer == layer }.count
            return "\(spec.layers[layer].name)[\(call)][\(k)]"
        }
    }

    /// One row per layer, in Keras's `model.layers` order (with the inputs of a functional model).
    public static func layerRows(_ model: Model<Float>) throws -> [Row] {
        let spec = model.spec
        let built = try spec.buildNodes()
        func layerRow(_ l: Int) throws -> Row {
            let layer = spec.layers[l]
            let nodes = spec.nodes.indices.filter { spec.nodes[$0].layer == l }
            let shapes = built[nodes[0]].outputShapes.map { LayerChecks.describe($0) }
            let connected = nodes.flatMap { spec.nodes[$0].inputs.map { tensorName($0, in: spec) } }
            let params = model.layerWeightRanges[l].reduce(0) { $0 + model.weightShapes[$1].reduce(1, *) }
            return Row(name: layer.name, className: layer.kind, outputShapes: built[nodes[0]].outputShapes,
                       callCount: nodes.count, layer: "\(layer.name) (\(layer.kind))", shape: shapes.joined(separator: ", "),
                       parameters: params, connectedTo: connected.joined(separator: ", "),
                       options: (spec.frozenLayers.contains(l) ? "trainable=False " : "")
                           + (try options(layer, inputShapes: built[nodes[0]].inputShapes)))
        }
        if spec.isSequential { return try spec.layers.indices.map(layerRow) }
        // Keras's model.layers leaves out the keras.ops operations of a graph (its mask computations).
        return try KerasFunctional.kerasOrder(spec).compactMap { op -> Row? in
            switch op {
            case .input(let i):
                let input = spec.inputs[i]
                return Row(name: input.name, className: "InputLayer", outputShapes: [input.shape], callCount: 0,
                           layer: "\(input.name) (InputLayer)", shape: LayerChecks.describe(input.shape), parameters: 0,
                           connectedTo: "", options: "")
            case .layer(let l):
                return KerasLayers.isOperation(spec.layers[l]) ? nil : try layerRow(l)
            }
        }
    }

    /// The config values a reader cares about: numbers, strings and the options switched on.
    static func options(_ layer: any LayerSpec, inputShapes: [SampleShape]) throws -> String {
        let config: [(String, JSON)]
        do {
            config = try KerasLayers.codec(for: layer).configAny(layer, inputShapes: inputShapes)
        } catch {
            // Keras 2's hard_sigmoid has no Keras 3 name.
            return "(Keras 2 options: hard_sigmoid is 0.2x+0.5)"
        }
        return config.compactMap { key, value -> String? in
            switch value {
            case .number(let d): return d == 0 && key.hasSuffix("dropout") ? nil : "\(key)=\(JSON.format(d))"
            case .string(let s): return "\(key)=\(s)"
            case .bool(true) where !["use_bias", "unit_forget_bias"].contains(key): return key
            case .bool(false) where ["use_bias"].contains(key): return "\(key)=False"
            default: return nil
            }
        }.joined(separator: " ")
    }
}

extension KerasDescription {
    /// "RMSprop(learning_rate=0.001, rho=0.9, ...)": the optimizer's class and the options of
    /// its Keras config that are set (the inert EMA and loss-scaling keys left out).
    public static func optimizer(_ o: OptimizerSpec) -> String {
        let config = KerasConfig.compileJSON(CompileSpec(loss: .meanSquaredError, optimizer: o))["optimizer"]?["config"]
        let skipped: Set<String> = ["name", "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                                    "gradient_accumulation_steps"]
        guard case .object(let members)? = config else { return o.className }
        let shown = members.filter { !skipped.contains($0.0) && !$0.1.isNull }.map { "\($0.0)=\($0.1.serialized())" }
        return "\(o.className)(\(shown.joined(separator: ", ")))"
    }
}
