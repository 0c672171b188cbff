import LSTMCore

/// Keras's functional models (`keras.Model(inputs, outputs)`): the `layers` list with each
/// layer's `inbound_nodes`, `input_layers` and `output_layers`, as Keras 3 and tf-keras write them.
enum KerasFunctional {
    /// A tensor named as Keras names it: the layer that made it, which of that layer's calls, and
    /// which of the call's outputs.
    struct History: Hashable {
        var layer: String
        var node: Int
        var tensor: Int
    }

    /// One call of a layer, as read: its input tensors in order.
    struct Call {
        var layer: Int
        var index: Int
        var inputs: [History]
        /// An explicit mask (the `mask` keyword), and positional arguments that are not tensors.
        var mask: History? = nil
        var constants: [JSON] = []
    }

    // MARK: - Reading

    /// With `keepUnrunnable`, a layer the library cannot run (an unknown class, a Lambda, an
    /// option it does not implement) becomes an `UnrunnableLayerSpec` in its place instead of
    /// failing the whole graph.
    static func parse(_ config: JSON, _ layersJSON: [JSON], flavor: KerasFlavor, keepUnrunnable: Bool = false) throws -> ModelSpec {
        let name = config["name"]?.stringValue ?? "functional"
        let entries = try KerasConfig.layerEntries(layersJSON)
        var inputShapes: [String: ModelSpec.Input] = [:]
        var layers: [any LayerSpec] = []
        var layerIndex: [String: Int] = [:]
        var frozen: Set<Int> = []
        var regularization: [Int: LayerRegularization] = [:]
        var calls: [Call] = []
        for e in entries {
            if e.cls == "InputLayer" {
                inputShapes[e.name] = try KerasConfig.parseInputLayer(e, flavor: flavor)
                continue
            }
            layerIndex[e.name] = layers.count
            let parsed: (spec: any LayerSpec, trainable: Bool, regularization: LayerRegularization)
            do {
                let p = try KerasConfig.parseLayer(e, flavor: flavor)
                parsed = (p.spec, p.trainable, p.regularization)
            } catch let error as LSTMError where keepUnrunnable {
                guard case .unsupported(let reason) = error else { throw error }
                parsed = (UnrunnableLayerSpec(name: e.name, kind: e.cls, reason: reason), true, LayerRegularization())
            }
            if !parsed.trainable { frozen.insert(layers.count) }
            if !parsed.regularization.isEmpty { regularization[layers.count] = parsed.regularization }
            layers.append(parsed.spec)
            guard let nodes = e.json["inbound_nodes"]?.arrayValue else {
                throw LSTMError.format("model JSON: layer '\(e.name)' has no inbound_nodes list (a functional model's layers say what they are called on)")
            }
            for (k, node) in nodes.enumerated() {
                var call = try parseCall(node, layer: e.name)
                call.layer = layers.count - 1
                call.index = k
                calls.append(call)
            }
            // A call's non-tensor arguments belong to the layer (one value per layer here).
            if !(parsed.spec is UnrunnableLayerSpec), let first = calls.last(where: { $0.layer == layers.count - 1 && $0.index == 0 }) {
                let codec = try KerasLayers.codec(className: e.cls, layer: e.name)
                layers[layers.count - 1] = try codec.withCallConstantsAny(layers[layers.count - 1], first.constants)
                for other in calls where other.layer == layers.count - 1 && other.constants != first.constants {
                    throw LSTMError.unsupported("layer '\(e.name)': calls with different non-tensor arguments are not supported")
                }
            }
        }
        let inputNames = try parseHistories(config["input_layers"], what: "input_layers").map { h -> String in
            guard inputShapes[h.layer] != nil else {
                throw LSTMError.format("model JSON: input_layers names '\(h.layer)', which is not an InputLayer of the model")
            }
            return h.layer
        }
        let inputs = inputNames.map { inputShapes[$0]! }
        let inputIndex = Dictionary(inputNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })

        // Calls in an order where every call's inputs come first (Keras lists layers by depth,
        // but a shared layer's later call can depend on layers listed after it).
        var nodes: [ModelSpec.Node] = []
        var nodeOf: [String: [Int: Int]] = [:]  // layer name -> call index -> node
        func ref(_ h: History) -> ModelSpec.TensorRef? {
            if let i = inputIndex[h.layer] { return h.node == 0 && h.tensor == 0 ? .input(i) : nil }
            guard let n = nodeOf[h.layer]?[h.node] else { return nil }
            return .node(n, output: h.tensor)
        }
        var pending = calls
        while !pending.isEmpty {
            var rest: [Call] = []
            for call in pending {
                let refs = call.inputs.compactMap(ref)
                let mask: ModelSpec.TensorRef? = call.mask.flatMap(ref)
                let ready = refs.count == call.inputs.count && (call.mask == nil || mask != nil)
                if ready {
                    nodeOf[layers[call.layer].name, default: [:]][call.index] = nodes.count
                    nodes.append(ModelSpec.Node(layer: call.layer, inputs: refs, mask: mask))
                } else {
                    rest.append(call)
                }
            }
            if rest.count == pending.count {
                let call = rest[0]
                let missing = (call.inputs + (call.mask.map { [$0] } ?? [])).first { ref($0) == nil }!
                throw LSTMError.format("model JSON: layer '\(layers[call.layer].name)' is called on \(missing.layer)[\(missing.node)][\(missing.tensor)], which no input or layer call of the model makes")
            }
            pending = rest
        }
        let outputs = try parseHistories(config["output_layers"], what: "output_layers").map { h -> ModelSpec.TensorRef in
            guard let r = ref(h) else {
                throw LSTMError.format("model JSON: output_layers names \(h.layer)[\(h.node)][\(h.tensor)], which no layer call makes")
            }
            return r
        }
        var spec = ModelSpec(name: name, inputs: inputs, layers: layers, nodes: nodes, outputs: outputs)
        spec.frozenLayers = frozen
        spec.regularization = regularization
        return inKerasOrder(spec)
    }

    /// The tensors a call reads. Keras 3: {"args": [tensor or [tensors], constants...],
    /// "kwargs": {...}}; tf-keras: [[layer, node, tensor, kwargs], ...].
    static func parseCall(_ node: JSON, layer: String) throws -> Call {
        if let args = node["args"]?.arrayValue, !args.isEmpty {
            try checkCallArguments(node["kwargs"], layer: layer)
            var call = Call(layer: 0, index: 0, inputs: try (args[0].arrayValue ?? [args[0]]).map { try kerasTensor($0, layer: layer) })
            for extra in args.dropFirst() {
                guard extra["class_name"] == nil else {
                    throw LSTMError.unsupported("layer '\(layer)': a call with several positional tensors is not supported")
                }
                call.constants.append(extra)
            }
            // A recurrent layer's initial state: extra inputs after the sequence.
            if let state = node["kwargs"]?["initial_state"], !state.isNull {
                call.inputs += try (state.arrayValue ?? [state]).map { try kerasTensor($0, layer: layer) }
            }
            if let mask = node["kwargs"]?["mask"], !mask.isNull {
                call.mask = try kerasTensor(mask, layer: layer)
            }
            return call
        }
        guard let refs = node.arrayValue else {
            throw LSTMError.format("model JSON: layer '\(layer)': an inbound node must be an object with args or a list, got \(node.serialized())")
        }
        return Call(layer: 0, index: 0, inputs: try refs.map { r in
            guard let a = r.arrayValue, a.count >= 3 else {
                throw LSTMError.format("model JSON: layer '\(layer)': inbound tensor \(r.serialized()) is not [layer, node, tensor, kwargs]")
            }
            if a.count > 3 { try checkCallArguments(a[3], layer: layer) }
            return try history(Array(a.prefix(3)), layer: layer)
        })
    }

    /// A Keras 3 `__keras_tensor__`.
    static func kerasTensor(_ j: JSON, layer: String) throws -> History {
        guard j["class_name"]?.stringValue == "__keras_tensor__", let h = j["config"]?["keras_history"]?.arrayValue else {
            throw LSTMError.unsupported("layer '\(layer)': call argument \(j.serialized().prefix(120)) is not a tensor of the model")
        }
        return try history(h, layer: layer)
    }

    static func history(_ a: [JSON], layer: String) throws -> History {
        guard a.count == 3, let name = a[0].stringValue, let n = a[1].numberValue, let t = a[2].numberValue,
              n >= 0, t >= 0, n == n.rounded(), t == t.rounded(), n < 1e6, t < 1e6 else {
            throw LSTMError.format("model JSON: layer '\(layer)': tensor reference \(JSON.array(a).serialized()) is not [layer name, node index, tensor index]")
        }
        return History(layer: name, node: Int(n), tensor: Int(t))
    }

    /// Call keyword arguments: only those that change nothing here are accepted.
    static func checkCallArguments(_ kwargs: JSON?, layer: String) throws {
        guard let kwargs, case .object(let members) = kwargs else { return }
        for (k, v) in members {
            switch k {
            case "training" where v.isNull || v == .bool(false):
                continue
            case "mask", "initial_state":
                continue
            case "constants" where v.isNull:
                continue
            default:
                throw LSTMError.unsupported("layer '\(layer)': the call argument \(k)=\(v.serialized().prefix(80)) is not supported")
            }
        }
    }

    /// input_layers / output_layers: one [name, node, tensor], or a list of them.
    static func parseHistories(_ j: JSON?, what: String) throws -> [History] {
        guard let a = j?.arrayValue, !a.isEmpty else {
            throw LSTMError.format("model JSON: a functional model needs a non-empty \(what) list")
        }
        if a[0].stringValue != nil { return [try history(a, layer: what)] }
        return try a.map { item in
            guard let h = item.arrayValue else {
                throw LSTMError.format("model JSON: \(what) entry \(item.serialized()) is not [layer name, node index, tensor index]")
            }
            return try history(h, layer: what)
        }
    }

    // MARK: - Keras's order of layers

    /// An entry of Keras's `model.layers` for a functional model: an input or a layer.
    enum Operation: Hashable {
        case input(Int)
        case layer(Int)
    }

    /// Keras's `model.layers` for this graph: the order in which Keras (keras/src/ops/function.py,
    /// `map_graph`) lists a functional model's operations — by decreasing depth from the outputs,
    /// ties by first visit in a depth-first walk from the outputs. It decides the order of
    /// `get_weights()` and the keys of a Keras 3 weights file. Layers that no output depends on
    /// (Keras drops them) come last.
    static func kerasOrder(_ spec: ModelSpec) -> [Operation] {
        enum GraphNode: Hashable {
            case input(Int)
            case call(Int)
        }
        func producer(_ ref: ModelSpec.TensorRef) -> GraphNode {
            switch ref {
            case .input(let i): return .input(i)
            case .node(let j, _): return .call(j)
            }
        }
        func operation(_ g: GraphNode) -> Operation {
            switch g {
            case .input(let i): return .input(i)
            case .call(let j): return .layer(spec.nodes[j].layer)
            }
        }
        func parents(_ g: GraphNode) -> [GraphNode] {
            if case .call(let j) = g { return spec.nodes[j].reads.map(producer) }
            return []
        }
        var finished = Set<GraphNode>()
        var order: [GraphNode] = []
        var firstVisit: [Operation: Int] = [:]
        func visit(_ g: GraphNode) {
            if finished.contains(g) { return }
            if firstVisit[operation(g)] == nil { firstVisit[operation(g)] = firstVisit.count }
            for p in parents(g) { visit(p) }
            finished.insert(g)
            order.append(g)
        }
        for out in spec.outputs { visit(producer(out)) }
        var nodeDepth: [GraphNode: Int] = [:]
        var operationDepth: [Operation: Int] = [:]
        for g in order.reversed() {
            let depth = Swift.max(nodeDepth[g] ?? 0, operationDepth[operation(g)] ?? 0)
            operationDepth[operation(g)] = depth
            nodeDepth[g] = depth
            for p in parents(g) { nodeDepth[p] = Swift.max(depth + 1, nodeDepth[p] ?? 0) }
        }
        for i in spec.inputs.indices where operationDepth[.input(i)] == nil {
            operationDepth[.input(i)] = 0
            firstVisit[.input(i)] = -1
        }
        var ops = Array(operationDepth.keys)
        ops.sort { a, b in
            let (da, db) = (operationDepth[a]!, operationDepth[b]!)
            return da != db ? da > db : firstVisit[a]! < firstVisit[b]!
        }
        for l in spec.layers.indices where operationDepth[.layer(l)] == nil { ops.append(.layer(l)) }
        return ops
    }

    /// The same model with `layers` in Keras's order (so that weights are listed as Keras lists them).
    static func inKerasOrder(_ spec: ModelSpec) -> ModelSpec {
        let order = kerasOrder(spec).compactMap { op -> Int? in if case .layer(let l) = op { return l } else { return nil } }
        var position = [Int](repeating: 0, count: spec.layers.count)
        for (p, l) in order.enumerated() { position[l] = p }
        var out = spec
        out.layers = order.map { spec.layers[$0] }
        out.nodes = spec.nodes.map { ModelSpec.Node(layer: position[$0.layer], inputs: $0.inputs, mask: $0.mask) }
        out.frozenLayers = Set(spec.frozenLayers.map { position[$0] })
        out.regularization = Dictionary(uniqueKeysWithValues: spec.regularization.map { (position[$0.key], $0.value) })
        return out
    }

    // MARK: - Writing (Keras 3)

    static func modelJSON(_ spec: ModelSpec, built: [any Layer], compile: CompileSpec?) throws -> JSON {
        // Which call of its layer each node is, to name the tensors it makes.
        var callIndex = [Int](repeating: 0, count: spec.nodes.count)
        var calls = [Int](repeating: 0, count: spec.layers.count)
        for (n, node) in spec.nodes.enumerated() {
            callIndex[n] = calls[node.layer]
            calls[node.layer] += 1
        }
        func history(_ ref: ModelSpec.TensorRef) -> JSON {
            switch ref {
            case .input(let i): return .array([.string(spec.inputs[i].name), .number(0), .number(0)])
            case .node(let j, let k):
                return .array([.string(spec.layers[spec.nodes[j].layer].name), .number(Double(callIndex[j])), .number(Double(k))])
            }
        }
        func shape(_ ref: ModelSpec.TensorRef) -> SampleShape {
            switch ref {
            case .input(let i): return spec.inputs[i].shape
            case .node(let j, let k): return built[j].outputShapes[k]
            }
        }
        func dtype(_ ref: ModelSpec.TensorRef) -> String {
            guard case .node(let j, _) = ref else { return "float32" }
            return (try? KerasLayers.codec(for: spec.layers[spec.nodes[j].layer]))?.outputDType ?? "float32"
        }
        func tensor(_ ref: ModelSpec.TensorRef) -> JSON {
            .object([("class_name", .string("__keras_tensor__")),
                     ("config", .object([("shape", KerasValues.batchShape(shape(ref))), ("dtype", .string(dtype(ref))),
                                         ("keras_history", history(ref))]))])
        }
        var layers: [JSON] = []
        for op in kerasOrder(spec) {
            switch op {
            case .input(let i):
                let input = spec.inputs[i]
                layers.append(KerasConfig.inputLayerJSON(input, extra: [("name", .string(input.name)), ("inbound_nodes", .array([]))]))
            case .layer(let l):
                let nodes = spec.nodes.indices.filter { spec.nodes[$0].layer == l }
                var entry = try KerasConfig.layerEntryJSON(spec.layers[l], inputShapes: built[nodes[0]].inputShapes,
                                                           trainable: !spec.frozenLayers.contains(l),
                                                           regularization: spec.regularization[l])
                let codec = try KerasLayers.codec(for: spec.layers[l])
                let inbound: [JSON] = try nodes.map { n in
                    let node = spec.nodes[n]
                    var (args, kwargs) = try codec.callArgumentsAny(spec.layers[l], node.inputs.map(tensor))
                    if let mask = node.mask { kwargs.append(("mask", tensor(mask))) }
                    return .object([("args", .array(args)), ("kwargs", .object(kwargs))])
                }
                entry += [("name", .string(spec.layers[l].name)), ("inbound_nodes", .array(inbound))]
                layers.append(.object(entry))
            }
        }
        func endpoints(_ refs: [ModelSpec.TensorRef]) -> JSON {
            refs.count == 1 ? history(refs[0]) : .array(refs.map(history))
        }
        return .object([
            ("module", .string("keras.src.models.functional")), ("class_name", .string("Functional")),
            ("config", .object([("name", .string(spec.name)), ("trainable", .bool(true)), ("layers", .array(layers)),
                                ("input_layers", endpoints(spec.inputs.indices.map { .input($0) })),
                                ("output_layers", endpoints(spec.outputs))])),
            ("registered_name", .string("Functional")),
            ("build_config", .object([("input_shape", .null)])),
            ("compile_config", compile.map(KerasConfig.compileJSON) ?? .object([])),
        ])
    }
}
