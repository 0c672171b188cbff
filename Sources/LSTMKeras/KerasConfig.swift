import LSTMCore

/// Which Keras wrote a config. The math of `hard_sigmoid` differs between them.
public enum KerasFlavor: Sendable {
    case keras3
    case keras2
}

/// A model architecture read from Keras JSON, with the compile settings it carried, if any.
public struct KerasModelConfig: Sendable {
    public var spec: ModelSpec
    public var compile: CompileSpec?
    public var flavor: KerasFlavor
}

/// Keras JSON <-> the core's specs: the model level (Sequential here, functional graphs in
/// KerasFunctional.swift); each layer's own config is its codec's (Layers/).
public enum KerasConfig {
    // MARK: - Reading

    /// Reads a model config: the `config.json` of a .keras file, the `model_config` of an .h5
    /// file, `model.to_json()`, or just the inner `config` object with its `layers`. Sequential
    /// and functional (`Functional`, tf-keras `Model`) models are read.
    /// - Throws: `.format` for malformed JSON or a config that is not a model,
    ///   `.unsupported` for layers and options not implemented, `.invalidArgument` for bad values.
    /// - Parameters:
    ///   - forceFlavor: the Keras version that wrote the config, when the file says it.
    ///   - lenientCompile: a compile config this library cannot follow leaves the model
    ///     uncompiled instead of failing (loading a file for inference).
    public static func parseModel(_ text: String, forceFlavor: KerasFlavor? = nil,
                                  lenientCompile: Bool = false, keepUnrunnable: Bool = false) throws -> KerasModelConfig {
        let root = try JSON.parse(text)
        guard case .object = root else { throw LSTMError.format("model JSON must be an object, got \(kind(root))") }
        var config = root
        var modelClass = "Sequential"
        if let cls = root["class_name"] {
            guard let name = cls.stringValue else { throw LSTMError.format("model JSON: class_name must be a string") }
            guard ["Sequential", "Functional", "Model"].contains(name) else {
                throw LSTMError.unsupported("model class '\(name)' is not supported: Sequential and functional models (Functional, Model) are")
            }
            modelClass = name
            switch root["config"] {
            case .object?:
                config = root["config"]!
            case .array(let layers)? where name == "Sequential":
                // Keras 2.0-2.2 wrote a Sequential's config as its list of layers.
                config = .object([("name", .string("sequential")), ("layers", .array(layers))])
            default:
                throw LSTMError.format("model JSON: \(name) has no 'config' object (nor, for Sequential, a list of layers)")
            }
        } else if root["layers"] == nil, let inner = root["config"], inner["layers"] != nil {
            config = inner
        }
        guard let layersJSON = config["layers"]?.arrayValue else {
            throw LSTMError.format("model JSON: no 'layers' list (expected a Keras Sequential or functional config)")
        }
        var flavor: KerasFlavor = .keras3
        if let v = root["keras_version"]?.stringValue, v.hasPrefix("1.") || v.hasPrefix("2.") { flavor = .keras2 }
        if case .array? = root["config"] { flavor = .keras2 }
        for l in layersJSON {
            if let c = l["config"], c["batch_input_shape"] != nil || c["time_major"] != nil || c["implementation"] != nil
                || KerasLegacyConfig.isKeras1(c) || c["layer"]?["config"].map(KerasLegacyConfig.isKeras1) == true {
                flavor = .keras2
            }
        }
        if let forceFlavor { flavor = forceFlavor }
        let spec = modelClass == "Sequential" && config["input_layers"] == nil
            ? try parseSequential(config, layersJSON, flavor: flavor)
            : try KerasFunctional.parse(config, layersJSON, flavor: flavor, keepUnrunnable: keepUnrunnable)
        var compile: CompileSpec? = nil
        // Keras writes an empty compile_config for an uncompiled model, and one without its
        // optimizer once the optimizer is built: neither says how to compile.
        if let cc = root["compile_config"], cc["optimizer"].map({ !$0.isNull }) == true {
            do {
                compile = try parseCompile(cc, fromFile: true)
            } catch where lenientCompile {
                compile = nil
            }
        }
        return KerasModelConfig(spec: spec, compile: compile, flavor: flavor)
    }

    /// The entries of a `layers` list, each with its class, unique name and config object.
    struct LayerEntry {
        var cls: String
        var name: String
        var config: JSON
        var json: JSON
    }

    static func layerEntries(_ layersJSON: [JSON]) throws -> [LayerEntry] {
        var classCounts: [String: Int] = [:]
        var names: Set<String> = []
        return try layersJSON.enumerated().map { index, l in
            guard let cls = l["class_name"]?.stringValue else {
                throw LSTMError.format("model JSON: layer #\(index) has no class_name")
            }
            guard let c = l["config"], case .object = c else {
                throw LSTMError.format("model JSON: layer #\(index) ('\(cls)') has no config object")
            }
            let count = classCounts[cls, default: 0]
            classCounts[cls] = count + 1
            let name = c["name"]?.stringValue ?? l["name"]?.stringValue ?? defaultName(cls, count)
            guard names.insert(name).inserted else {
                throw LSTMError.invalidArgument("model JSON: two layers are named '\(name)'; layer names must be unique")
            }
            return LayerEntry(cls: cls, name: name, config: c, json: l)
        }
    }

    /// An InputLayer: its name, per-sample shape and fixed batch size.
    static func parseInputLayer(_ e: LayerEntry, flavor: KerasFlavor) throws -> ModelSpec.Input {
        var r = KerasLayerReader(config: e.config, layer: e.name, cls: e.cls, flavor: flavor)
        let shape = try r.batchShape(required: true)!
        let batch = r.batchSize()
        try r.accept(["dtype", "name", "input_tensor"])
        try r.requireDefault("sparse", .bool(false))
        try r.requireDefault("ragged", .bool(false))
        try r.requireDefault("optional", .bool(false))
        try r.rejectUnknown()
        return ModelSpec.Input(name: e.name, shape: shape, batchSize: batch)
    }

    /// A layer other than InputLayer, through its codec; with `readsInputShape`, also the input
    /// shape a Sequential model's first layer may carry.
    static func parseLayer(_ e: LayerEntry, flavor: KerasFlavor, readsInputShape: Bool = false)
        throws -> (spec: any LayerSpec, inputShape: SampleShape?, batchSize: Int?, trainable: Bool, regularization: LayerRegularization) {
        let config = flavor == .keras2 ? try KerasLegacyConfig.keras2Config(e.cls, e.config, layer: e.name) : e.config
        var r = KerasLayerReader(config: config, layer: e.name, cls: e.cls, flavor: flavor)
        let shape = readsInputShape ? try r.batchShape(required: false) : nil
        let batch = readsInputShape ? r.batchSize() : nil
        // tf-keras repeats an input shape on layers inside a graph, where the graph decides it.
        try r.accept(["name", "dtype", "batch_input_shape", "batch_shape", "input_shape"])
        let trainable = try r.bool("trainable", default: true)
        // Keras 1 and early Keras 2 named the first layer's input type so.
        try r.requireDefault("input_dtype", .string("float32"))
        let codec = try KerasLayers.codec(className: e.cls, layer: e.name)
        let spec = try codec.parseAny(&r)
        try r.rejectUnknown()
        return (spec, shape, batch, trainable, r.regularization)
    }

    static func parseSequential(_ config: JSON, _ layersJSON: [JSON], flavor: KerasFlavor) throws -> ModelSpec {
        var inputShape: SampleShape? = nil
        var inputName = "input_layer"
        var batchSize: Int? = nil
        var layers: [any LayerSpec] = []
        var frozen: Set<Int> = []
        var regularization: [Int: LayerRegularization] = [:]
        for e in try layerEntries(layersJSON) {
            if e.cls == "InputLayer" {
                guard layers.isEmpty, inputShape == nil else {
                    throw LSTMError.unsupported("layer '\(e.name)': an InputLayer is only supported as the first layer of a Sequential model")
                }
                let input = try parseInputLayer(e, flavor: flavor)
                (inputShape, inputName, batchSize) = (input.shape, input.name, input.batchSize)
                continue
            }
            let (spec, shape, batch, trainable, regularizers) = try parseLayer(e, flavor: flavor, readsInputShape: layers.isEmpty && inputShape == nil)
            if !trainable { frozen.insert(layers.count) }
            if !regularizers.isEmpty { regularization[layers.count] = regularizers }
            layers.append(spec)
            if let shape { inputShape = shape; batchSize = batch }
        }
        if inputShape == nil, let b = config["build_input_shape"] {
            inputShape = try parseBatchShape(b, layer: "build_input_shape")
        }
        guard let shape = inputShape else {
            throw LSTMError.format("model JSON: the input shape is not given (no InputLayer, batch_input_shape or build_input_shape)")
        }
        guard !layers.isEmpty else { throw LSTMError.invalidArgument("model JSON: the model has no layers") }
        var spec = ModelSpec(name: config["name"]?.stringValue ?? "sequential",
                             input: .init(name: inputName, shape: shape, batchSize: batchSize), layers: layers)
        spec.frozenLayers = frozen
        spec.regularization = regularization
        return spec
    }

    /// Keras's default layer name: the class in snake case ("InputLayer" -> "input_layer",
    /// "LSTM" -> "lstm"), with "_1", "_2", ... for later layers of the same class.
    static func defaultName(_ cls: String, _ index: Int) -> String {
        let chars = Array(cls)
        var out = ""
        for (k, ch) in chars.enumerated() {
            let prevLower = k > 0 && chars[k - 1].isLowercase
            let startsWord = k > 0 && ch.isUppercase && k + 1 < chars.count && chars[k + 1].isLowercase
            if ch.isUppercase && (prevLower || startsWord) { out += "_" }
            out += ch.lowercased()
        }
        return index == 0 ? out : "\(out)_\(index)"
    }

    static func kind(_ j: JSON) -> String {
        switch j {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number, .real: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// A batch shape [batch, d1, ...] (null where open) as a per-sample shape.
    static func parseBatchShape(_ j: JSON, layer: String) throws -> SampleShape {
        guard let a = j.arrayValue else {
            throw LSTMError.format("layer '\(layer)': the batch shape must be a list, got \(kind(j))")
        }
        guard a.count >= 2, a.count <= 4 else {
            throw LSTMError.unsupported("layer '\(layer)': input shape \(j.serialized()) has rank \(a.count); inputs of rank 2 to 4 (the batch included) are supported")
        }
        return try a.dropFirst().enumerated().map { axis, v -> Int? in
            if v.isNull { return nil }
            guard let d = v.numberValue, d == d.rounded(), d >= 1, d <= Double(1 << 24) else {
                throw LSTMError.invalidArgument("layer '\(layer)': axis \(axis + 1) of input shape \(j.serialized()) must be a positive integer or null")
            }
            return Int(d)
        }
    }

    // MARK: - Writing (Keras 3)

    /// The model's Keras 3 JSON, as `model.to_json()` / a .keras file's config.json has it.
    /// The name of the innermost layer (an object with a class_name and a config naming it)
    /// whose config holds the string `value`, anywhere in `json`; nil if none does.
    static func layerUsing(_ value: String, in json: JSON, layer: String? = nil) -> String? {
        switch json {
        case .string(let s): return s == value ? layer ?? "?" : nil
        case .array(let items): return items.lazy.compactMap { layerUsing(value, in: $0, layer: layer) }.first
        case .object(let members):
            let name = json["class_name"] != nil ? json["config"]?["name"]?.stringValue ?? layer : layer
            return members.lazy.compactMap { layerUsing(value, in: $0.1, layer: name) }.first
        default: return nil
        }
    }

    public static func modelJSON(_ spec: ModelSpec, compile: CompileSpec?) throws -> JSON {
        let built = try spec.buildNodes()
        if !spec.isSequential { return try KerasFunctional.modelJSON(spec, built: built, compile: compile) }
        let input = spec.inputs[0]
        var layers: [JSON] = [inputLayerJSON(input)]
        for (node, layer) in zip(spec.nodes, built) {
            layers.append(.object(try layerEntryJSON(spec.layers[node.layer], inputShapes: layer.inputShapes,
                                                     trainable: !spec.frozenLayers.contains(node.layer),
                                                     regularization: spec.regularization[node.layer])))
        }
        let inputShape = KerasValues.batchShape(input.shape, batch: input.batchSize)
        return .object([
            ("module", .string("keras")), ("class_name", .string("Sequential")),
            ("config", .object([("name", .string(spec.name)), ("trainable", .bool(true)), ("dtype", KerasValues.float32Policy),
                                ("layers", .array(layers)), ("build_input_shape", inputShape)])),
            ("registered_name", .null),
            ("build_config", .object([("input_shape", inputShape)])),
            ("compile_config", compile.map(compileJSON) ?? .object([])),
        ])
    }

    static func inputLayerJSON(_ input: ModelSpec.Input, extra: [(String, JSON)] = []) -> JSON {
        .object([
            ("module", .string("keras.layers")), ("class_name", .string("InputLayer")),
            ("config", .object([("batch_shape", KerasValues.batchShape(input.shape, batch: input.batchSize)), ("dtype", .string("float32")),
                                ("sparse", .bool(false)), ("ragged", .bool(false)), ("name", .string(input.name)),
                                ("optional", .bool(false))])),
            ("registered_name", .null),
        ] + extra)
    }

    /// One layer's entry of a `layers` list, as Keras 3 writes it (a functional model adds
    /// `name` and `inbound_nodes`).
    static func layerEntryJSON(_ spec: any LayerSpec, inputShapes: [SampleShape], trainable: Bool = true,
                               regularization: LayerRegularization? = nil) throws -> [(String, JSON)] {
        let codec = try KerasLayers.codec(for: spec)
        if codec.isOperation {
            let config: [(String, JSON)] = [("name", .string(spec.name))] + (try codec.configAny(spec, inputShapes: inputShapes))
            return [("module", .string(codec.module)), ("class_name", .string(codec.className)), ("config", .object(config)),
                    ("registered_name", codec.registeredName)]
        }
        let config = KerasRegularizers.apply(regularization, to: codec.commonConfig(name: spec.name, trainable: trainable)
                                                 + (try codec.configAny(spec, inputShapes: inputShapes)))
        let build = codec.buildConfig(inputShapes.map { KerasValues.batchShape($0) })
        return [("module", .string(codec.module)), ("class_name", .string(codec.className)), ("config", .object(config)),
                ("registered_name", codec.registeredName)] + (build.isNull ? [] : [("build_config", build)])
    }
}
