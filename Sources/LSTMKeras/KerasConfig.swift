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

/// Keras JSON <-> the core's specs.
public enum KerasConfig {
    // MARK: - Reading

    /// Reads a Sequential config: the `config.json` of a .keras file, the `model_config` of an
    /// .h5 file, `model.to_json()`, or just the inner `config` object with its `layers`.
    /// - Throws: `.format` for malformed JSON or a config that is not a Sequential model,
    ///   `.unsupported` for layers and options not implemented, `.invalidArgument` for bad values.
    /// - Parameters:
    ///   - forceFlavor: the Keras version that wrote the config, when the file says it.
    ///   - lenientCompile: a compile config this library cannot follow leaves the model
    ///     uncompiled instead of failing (loading a file for inference).
    public static func parseModel(_ text: String, forceFlavor: KerasFlavor? = nil,
                                  lenientCompile: Bool = false) throws -> KerasModelConfig {
        let root = try JSON.parse(text)
        guard case .object = root else { throw LSTMError.format("model JSON must be an object, got \(kind(root))") }
        var config = root
        if let cls = root["class_name"] {
            guard let name = cls.stringValue else { throw LSTMError.format("model JSON: class_name must be a string") }
            guard name == "Sequential" else {
                throw LSTMError.unsupported("model class '\(name)' is not supported: only Sequential models are")
            }
            guard let inner = root["config"], case .object = inner else {
                throw LSTMError.format("model JSON: Sequential has no 'config' object")
            }
            config = inner
        } else if root["layers"] == nil, let inner = root["config"], inner["layers"] != nil {
            config = inner
        }
        guard let layersJSON = config["layers"]?.arrayValue else {
            throw LSTMError.format("model JSON: no 'layers' list (expected a Keras Sequential config)")
        }
        var flavor: KerasFlavor = .keras3
        if let v = root["keras_version"]?.stringValue, v.hasPrefix("1.") || v.hasPrefix("2.") { flavor = .keras2 }
        for l in layersJSON {
            if let c = l["config"], c["batch_input_shape"] != nil || c["time_major"] != nil || c["implementation"] != nil {
                flavor = .keras2
            }
        }

        if let forceFlavor { flavor = forceFlavor }
        var inputShape: (timesteps: Int?, features: Int)? = nil
        var inputName = "input_layer"
        var layers: [LayerSpec] = []
        var classCounts: [String: Int] = [:]
        var names: Set<String> = []
        for (index, l) in layersJSON.enumerated() {
            guard let cls = l["class_name"]?.stringValue else {
                throw LSTMError.format("model JSON: layer #\(index) has no class_name")
            }
            guard let c = l["config"], case .object = c else {
                throw LSTMError.format("model JSON: layer #\(index) ('\(cls)') has no config object")
            }
            let count = classCounts[cls, default: 0]
            classCounts[cls] = count + 1
            let name = c["name"]?.stringValue ?? defaultName(cls, count)
            guard names.insert(name).inserted else {
                throw LSTMError.invalidArgument("model JSON: two layers are named '\(name)'; layer names must be unique")
            }
            var r = Reader(config: c, layer: name, cls: cls)
            switch cls {
            case "InputLayer":
                guard layers.isEmpty, inputShape == nil else {
                    throw LSTMError.unsupported("layer '\(name)': an InputLayer is only supported as the first layer")
                }
                inputShape = try r.batchShape(required: true)
                inputName = name
                try r.accept(["dtype", "name", "input_tensor"])
                try r.requireDefault("sparse", .bool(false))
                try r.requireDefault("ragged", .bool(false))
                try r.requireDefault("optional", .bool(false))
            case "LSTM":
                if inputShape == nil, layers.isEmpty, let s = try r.batchShape(required: false) { inputShape = s }
                var s = LSTMSpec(name: name, units: try r.positiveInt("units"))
                s.activation = try r.activation("activation", default: .tanh, flavor: flavor)
                s.recurrentActivation = try r.activation("recurrent_activation", default: .sigmoid, flavor: flavor)
                s.useBias = try r.bool("use_bias", default: true)
                s.unitForgetBias = try r.bool("unit_forget_bias", default: true)
                s.returnSequences = try r.bool("return_sequences", default: false)
                s.goBackwards = try r.bool("go_backwards", default: false)
                try r.requireDefault("return_state", .bool(false))
                try r.requireDefault("stateful", .bool(false))
                try r.requireDefault("time_major", .bool(false))
                try r.requireZero("dropout")
                try r.requireZero("recurrent_dropout")
                for k in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                          "kernel_constraint", "recurrent_constraint", "bias_constraint"] {
                    try r.requireDefault(k, .null)
                }
                try r.accept(["name", "trainable", "dtype", "unroll", "zero_output_for_mask", "seed", "implementation",
                              "kernel_initializer", "recurrent_initializer", "bias_initializer", "use_cudnn"])
                layers.append(.lstm(s))
            case "Dense":
                if inputShape == nil, layers.isEmpty, let s = try r.batchShape(required: false) { inputShape = s }
                var s = DenseSpec(name: name, units: try r.positiveInt("units"))
                s.activation = try r.activation("activation", default: .linear, flavor: flavor)
                s.useBias = try r.bool("use_bias", default: true)
                for k in ["kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint", "lora_rank", "quantization_config"] {
                    try r.requireDefault(k, .null)
                }
                try r.accept(["name", "trainable", "dtype", "kernel_initializer", "bias_initializer", "lora_alpha"])
                layers.append(.dense(s))
            default:
                throw LSTMError.unsupported("layer '\(name)': layer class '\(cls)' is not supported (supported: InputLayer, LSTM, Dense)")
            }
            try r.rejectUnknown()
        }
        if inputShape == nil, let b = config["build_input_shape"] {
            inputShape = try parseBatchShape(b, layer: "build_input_shape")
        }
        guard let shape = inputShape else {
            throw LSTMError.format("model JSON: the input shape is not given (no InputLayer, batch_input_shape or build_input_shape)")
        }
        guard !layers.isEmpty else { throw LSTMError.invalidArgument("model JSON: the model has no layers") }
        let spec = ModelSpec(name: config["name"]?.stringValue ?? "sequential", timesteps: shape.timesteps,
                             features: shape.features, inputName: inputName, layers: layers)
        var compile: CompileSpec? = nil
        // Keras writes an empty compile_config for an uncompiled model, and one without its
        // optimizer once the optimizer is built: neither says how to compile.
        if let cc = root["compile_config"], cc["optimizer"].map({ !$0.isNull }) == true {
            do {
                compile = try parseCompile(cc)
            } catch where lenientCompile {
                compile = nil
            }
        }
        return KerasModelConfig(spec: spec, compile: compile, flavor: flavor)
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
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// [batch, timesteps, features] with batch and timesteps possibly null.
    static func parseBatchShape(_ j: JSON, layer: String) throws -> (timesteps: Int?, features: Int) {
        guard let a = j.arrayValue else {
            throw LSTMError.format("layer '\(layer)': the batch shape must be a list, got \(kind(j))")
        }
        guard a.count == 3 else {
            throw LSTMError.unsupported("layer '\(layer)': input shape \(j.serialized()) has rank \(a.count); only sequences (batch, timesteps, features) are supported")
        }
        func dim(_ v: JSON, _ what: String) throws -> Int? {
            if v.isNull { return nil }
            guard let d = v.numberValue, d == d.rounded(), d >= 1, d <= Double(1 << 24) else {
                throw LSTMError.invalidArgument("layer '\(layer)': \(what) in input shape \(j.serialized()) must be a positive integer or null")
            }
            return Int(d)
        }
        let t = try dim(a[1], "timesteps")
        guard let f = try dim(a[2], "features") else {
            throw LSTMError.unsupported("layer '\(layer)': the feature count in input shape \(j.serialized()) must be known")
        }
        return (t, f)
    }

    /// Reads one layer config, tracking which keys were understood.
    struct Reader {
        let config: JSON
        let layer: String
        let cls: String
        var seen: Set<String> = []

        init(config: JSON, layer: String, cls: String) {
            self.config = config
            self.layer = layer
            self.cls = cls
        }

        mutating func get(_ key: String) -> JSON? {
            seen.insert(key)
            return config[key]
        }

        mutating func accept(_ keys: [String]) throws { for k in keys { seen.insert(k) } }

        mutating func batchShape(required: Bool) throws -> (timesteps: Int?, features: Int)? {
            for key in ["batch_shape", "batch_input_shape"] {
                if let v = get(key), !v.isNull { return try parseBatchShape(v, layer: layer) }
            }
            if let v = get("input_shape"), let a = v.arrayValue {
                return try parseBatchShape(.array([.null] + a), layer: layer)
            }
            if let v = get("shape"), let a = v.arrayValue {
                return try parseBatchShape(.array([.null] + a), layer: layer)
            }
            if required { throw LSTMError.format("layer '\(layer)': InputLayer has no batch_shape or batch_input_shape") }
            return nil
        }

        mutating func positiveInt(_ key: String) throws -> Int {
            guard let v = get(key) else { throw LSTMError.format("layer '\(layer)' (\(cls)): '\(key)' is missing") }
            guard let d = v.numberValue, d == d.rounded(), d >= 1, d <= Double(1 << 20) else {
                throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be a positive integer (at most \(1 << 20)), got \(v.serialized())")
            }
            return Int(d)
        }

        mutating func bool(_ key: String, default d: Bool) throws -> Bool {
            guard let v = get(key), !v.isNull else { return d }
            guard let b = v.boolValue else {
                throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be true or false, got \(v.serialized())")
            }
            return b
        }

        mutating func activation(_ key: String, default d: Activation, flavor: KerasFlavor) throws -> Activation {
            guard let v = get(key), !v.isNull else { return key == "activation" && cls == "Dense" ? .linear : d }
            var name = v.stringValue
            if name == nil, let cn = v["class_name"]?.stringValue { name = v["config"]?["name"]?.stringValue ?? cn }
            guard let n = name else {
                throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be an activation name, got \(v.serialized())")
            }
            switch n {
            case "linear", "None": return .linear
            case "tanh": return .tanh
            case "sigmoid": return .sigmoid
            case "relu": return .relu
            case "softmax" where cls == "Dense": return .softmax
            case "hard_sigmoid": return flavor == .keras2 ? .hardSigmoidKeras2 : .hardSigmoid
            default:
                throw LSTMError.unsupported("layer '\(layer)' (\(cls)): \(key) '\(n)' is not supported (supported: linear, tanh, sigmoid, relu, hard_sigmoid\(cls == "Dense" ? ", softmax" : ""))")
            }
        }

        mutating func requireDefault(_ key: String, _ value: JSON) throws {
            guard let v = get(key) else { return }
            guard v == value else {
                throw LSTMError.unsupported("layer '\(layer)' (\(cls)): \(key)=\(v.serialized()) is not supported (only \(value.serialized()))")
            }
        }

        mutating func requireZero(_ key: String) throws {
            guard let v = get(key), !v.isNull else { return }
            guard let d = v.numberValue else {
                throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be a number, got \(v.serialized())")
            }
            guard d == 0 else {
                throw LSTMError.unsupported("layer '\(layer)' (\(cls)): \(key)=\(v.serialized()) is not supported yet (only 0)")
            }
        }

        func rejectUnknown() throws {
            guard case .object(let members) = config else { return }
            for (k, _) in members where !seen.contains(k) {
                throw LSTMError.unsupported("layer '\(layer)' (\(cls)): option '\(k)' is not supported")
            }
        }
    }

    // MARK: - Compile config

    /// Reads Keras's compile config: {"optimizer": ..., "loss": ...} plus Keras's other keys.
    public static func parseCompile(_ text: String) throws -> CompileSpec {
        try parseCompile(try JSON.parse(text))
    }

    static func parseCompile(_ j: JSON) throws -> CompileSpec {
        guard case .object(let members) = j else {
            throw LSTMError.format("compile JSON must be an object, got \(kind(j))")
        }
        let known: Set<String> = ["optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                                  "steps_per_execution", "jit_compile", "auto_scale_loss", "sample_weight_mode"]
        for (k, _) in members where !known.contains(k) {
            throw LSTMError.unsupported("compile: option '\(k)' is not supported")
        }
        if let lw = j["loss_weights"], !lw.isNull {
            throw LSTMError.unsupported("compile: loss_weights is not supported")
        }
        guard let lossJ = j["loss"], !lossJ.isNull else { throw LSTMError.invalidArgument("compile: 'loss' is missing") }
        let loss = try parseLoss(lossJ)
        let optimizer = try parseOptimizer(j["optimizer"] ?? .string("rmsprop"))
        try optimizer.validate()
        return CompileSpec(loss: loss, optimizer: optimizer)
    }

    static func parseLoss(_ j: JSON) throws -> LossKind {
        var name = j.stringValue
        if name == nil, let cn = j["class_name"]?.stringValue {
            name = cn
            if let red = j["config"]?["reduction"]?.stringValue, red != "sum_over_batch_size", red != "auto" {
                throw LSTMError.unsupported("compile: loss reduction '\(red)' is not supported (only sum_over_batch_size)")
            }
        }
        guard let n = name else { throw LSTMError.invalidArgument("compile: loss must be a name, got \(j.serialized())") }
        switch n {
        case "mse", "mean_squared_error", "MeanSquaredError", "MSE": return .meanSquaredError
        case "mae", "mean_absolute_error", "MeanAbsoluteError", "MAE": return .meanAbsoluteError
        default:
            throw LSTMError.unsupported("compile: loss '\(n)' is not supported (supported: mse, mae)")
        }
    }

    static func parseOptimizer(_ j: JSON) throws -> OptimizerSpec {
        var cls: String
        var cfg: JSON = .object([])
        if let s = j.stringValue {
            cls = s
        } else if let cn = j["class_name"]?.stringValue {
            cls = cn
            if let c = j["config"] { cfg = c }
        } else {
            throw LSTMError.invalidArgument("compile: optimizer must be a name or {\"class_name\": ..., \"config\": {...}}, got \(j.serialized())")
        }
        // tf-keras names its optimizers "Custom>Adam" in training_config.
        if cls.hasPrefix("Custom>") { cls.removeFirst("Custom>".count) }
        cls = cls.lowercased()
        func number(_ key: String, _ d: Double) throws -> Double {
            guard let v = cfg[key], !v.isNull else { return d }
            guard let x = v.numberValue else {
                throw LSTMError.unsupported("compile: optimizer \(key)=\(v.serialized()) is not supported (a number is)")
            }
            return x
        }
        // Options that change the update and are not implemented must keep their neutral value.
        let neutral: [(String, JSON)] = [("weight_decay", .null), ("clipnorm", .null), ("global_clipnorm", .null),
                                         ("clipvalue", .null), ("use_ema", .bool(false)), ("amsgrad", .bool(false)),
                                         ("loss_scale_factor", .null), ("gradient_accumulation_steps", .null),
                                         ("decay", .number(0)), ("ema_overwrite_frequency", .null)]
        for (k, v) in neutral {
            if let got = cfg[k], got != v, !(v == .null && got == .number(0)) {
                throw LSTMError.unsupported("compile: optimizer option \(k)=\(got.serialized()) is not supported")
            }
        }
        let harmless: Set<String> = ["name", "learning_rate", "ema_momentum", "jit_compile", "is_legacy_optimizer",
                                     "beta_1", "beta_2", "epsilon", "momentum", "nesterov"]
        if case .object(let members) = cfg {
            for (k, _) in members where !harmless.contains(k) && !neutral.contains(where: { $0.0 == k }) {
                throw LSTMError.unsupported("compile: optimizer option '\(k)' is not supported")
            }
        }
        switch cls {
        case "adam":
            return .adam(learningRate: try number("learning_rate", 0.001), beta1: try number("beta_1", 0.9),
                         beta2: try number("beta_2", 0.999), epsilon: try number("epsilon", 1e-7))
        case "sgd":
            var nesterov = false
            if let n = cfg["nesterov"], !n.isNull {
                guard let b = n.boolValue else { throw LSTMError.invalidArgument("compile: SGD nesterov must be true or false") }
                nesterov = b
            }
            return .sgd(learningRate: try number("learning_rate", 0.01), momentum: try number("momentum", 0),
                        nesterov: nesterov)
        default:
            throw LSTMError.unsupported("compile: optimizer '\(cls)' is not supported (supported: adam, sgd)")
        }
    }

    // MARK: - Writing (Keras 3)

    static let float32Policy: JSON = .object([
        ("module", .string("keras")), ("class_name", .string("DTypePolicy")),
        ("config", .object([("name", .string("float32"))])), ("registered_name", .null),
    ])

    static func initializer(_ cls: String, _ config: [(String, JSON)]) -> JSON {
        .object([("module", .string("keras.initializers")), ("class_name", .string(cls)),
                 ("config", .object(config)), ("registered_name", .null)])
    }

    static func shapeJSON(_ dims: [Int?]) -> JSON {
        .array(dims.map { $0.map { .number(Double($0)) } ?? .null })
    }

    static func activationName(_ a: Activation, layer: String) throws -> JSON {
        if a == .hardSigmoidKeras2 {
            throw LSTMError.unsupported("layer '\(layer)': its hard_sigmoid is Keras 2's (0.2x + 0.5), which Keras 3 cannot express")
        }
        return .string(a.kerasName)
    }

    /// The model's Keras 3 JSON, as `model.to_json()` / a .keras file's config.json has it.
    public static func modelJSON(_ spec: ModelSpec, compile: CompileSpec?) throws -> JSON {
        let glorot = initializer("GlorotUniform", [("seed", .null), ("input_axes", .null), ("output_axes", .null)])
        let zeros = initializer("Zeros", [])
        var layers: [JSON] = [.object([
            ("module", .string("keras.layers")), ("class_name", .string("InputLayer")),
            ("config", .object([("batch_shape", shapeJSON([nil, spec.timesteps, spec.features])),
                                ("dtype", .string("float32")), ("sparse", .bool(false)), ("ragged", .bool(false)),
                                ("name", .string(spec.inputName)), ("optional", .bool(false))])),
            ("registered_name", .null),
        ])]
        var time = true, width = spec.features
        for layer in spec.layers {
            let inShape = shapeJSON(time ? [nil, spec.timesteps, width] : [nil, width])
            var cls: String, config: [(String, JSON)]
            switch layer {
            case .lstm(let s):
                cls = "LSTM"
                config = [("name", .string(s.name)), ("trainable", .bool(true)), ("dtype", float32Policy),
                          ("return_sequences", .bool(s.returnSequences)), ("return_state", .bool(false)),
                          ("go_backwards", .bool(s.goBackwards)), ("stateful", .bool(false)), ("unroll", .bool(false)),
                          ("zero_output_for_mask", .bool(false)), ("units", .number(Double(s.units))),
                          ("activation", try activationName(s.activation, layer: s.name)),
                          ("recurrent_activation", try activationName(s.recurrentActivation, layer: s.name)),
                          ("use_bias", .bool(s.useBias)), ("kernel_initializer", glorot),
                          ("recurrent_initializer", initializer("Orthogonal", [("seed", .null), ("gain", .number(1.0))])),
                          ("bias_initializer", zeros), ("unit_forget_bias", .bool(s.unitForgetBias))]
                for k in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                          "kernel_constraint", "recurrent_constraint", "bias_constraint"] {
                    config.append((k, .null))
                }
                config += [("dropout", .number(0)), ("recurrent_dropout", .number(0)), ("seed", .null)]
                time = s.returnSequences
                width = s.units
            case .dense(let s):
                cls = "Dense"
                config = [("name", .string(s.name)), ("trainable", .bool(true)), ("dtype", float32Policy),
                          ("units", .number(Double(s.units))), ("activation", try activationName(s.activation, layer: s.name)),
                          ("use_bias", .bool(s.useBias)), ("kernel_initializer", glorot), ("bias_initializer", zeros),
                          ("kernel_regularizer", .null), ("bias_regularizer", .null), ("kernel_constraint", .null),
                          ("bias_constraint", .null), ("quantization_config", .null)]
                width = s.units
            }
            layers.append(.object([
                ("module", .string("keras.layers")), ("class_name", .string(cls)), ("config", .object(config)),
                ("registered_name", .null), ("build_config", .object([("input_shape", inShape)])),
            ]))
        }
        let inputShape = shapeJSON([nil, spec.timesteps, spec.features])
        return .object([
            ("module", .string("keras")), ("class_name", .string("Sequential")),
            ("config", .object([("name", .string(spec.name)), ("trainable", .bool(true)), ("dtype", float32Policy),
                                ("layers", .array(layers)), ("build_input_shape", inputShape)])),
            ("registered_name", .null),
            ("build_config", .object([("input_shape", inputShape)])),
            ("compile_config", compile.map(compileJSON) ?? .object([])),
        ])
    }

    /// Keras 3's compile config for these settings.
    public static func compileJSON(_ c: CompileSpec) -> JSON {
        var cfg: [(String, JSON)]
        let cls: String
        switch c.optimizer {
        case let .adam(lr, b1, b2, eps):
            cls = "Adam"
            cfg = [("name", .string("adam")), ("learning_rate", .number(lr))]
            cfg += optimizerNeutral()
            cfg += [("beta_1", .number(b1)), ("beta_2", .number(b2)), ("epsilon", .number(eps)), ("amsgrad", .bool(false))]
        case let .sgd(lr, momentum, nesterov):
            cls = "SGD"
            cfg = [("name", .string("sgd")), ("learning_rate", .number(lr))]
            cfg += optimizerNeutral()
            cfg += [("momentum", .number(momentum)), ("nesterov", .bool(nesterov))]
        }
        let loss: String = c.loss == .meanSquaredError ? "mse" : "mae"
        return .object([
            ("optimizer", .object([("module", .string("keras.optimizers")), ("class_name", .string(cls)),
                                   ("config", .object(cfg)), ("registered_name", .null)])),
            ("loss", .string(loss)), ("loss_weights", .null), ("metrics", .null), ("weighted_metrics", .null),
            ("run_eagerly", .bool(false)), ("steps_per_execution", .number(1)), ("jit_compile", .bool(false)),
        ])
    }

    private static func optimizerNeutral() -> [(String, JSON)] {
        [("weight_decay", .null), ("clipnorm", .null), ("global_clipnorm", .null), ("clipvalue", .null),
         ("use_ema", .bool(false)), ("ema_momentum", .number(0.99)), ("ema_overwrite_frequency", .null),
         ("loss_scale_factor", .null), ("gradient_accumulation_steps", .null)]
    }
}
