import LSTMCore

/// Keras's compile config (optimizer, loss and Keras's other keys) <-> the core's CompileSpec.
extension KerasConfig {

    /// Reads Keras's compile config: {"optimizer": ..., "loss": ...} plus Keras's other keys.
    /// Every key is honoured or refused: `metrics` and `weighted_metrics` are refused by name
    /// until metrics exist; run_eagerly, steps_per_execution, jit_compile and auto_scale_loss
    /// only steer TensorFlow's execution and are accepted.
    public static func parseCompile(_ text: String) throws -> CompileSpec {
        try parseCompile(try JSON.parse(text))
    }

    /// - Parameter fromFile: the compile config of a saved model: its metrics are dropped (the
    ///   model trains the same without them) rather than leaving it uncompiled.
    static func parseCompile(_ j: JSON, fromFile: Bool = false) throws -> CompileSpec {
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
        if let mode = j["sample_weight_mode"], !mode.isNull {
            throw LSTMError.unsupported("compile: sample_weight_mode \(mode.serialized()) is not supported")
        }
        for key in ["metrics", "weighted_metrics"] where !fromFile {
            if let m = j[key], !m.isNull, m != .array([]), m != .object([]) {
                throw LSTMError.unsupported("compile: \(key) \(m.serialized()) are not supported yet (the loss is what fit and evaluate report)")
            }
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

    /// Each optimizer's own config keys with Keras 3's defaults, in the order Keras writes them.
    static func optimizerDefaults(_ cls: String) -> (learningRate: Double, keys: [(String, JSON)])? {
        let adamLike: [(String, JSON)] = [("beta_1", .number(0.9)), ("beta_2", .number(0.999)), ("epsilon", .number(1e-7))]
        switch cls {
        case "sgd": return (0.01, [("momentum", .number(0)), ("nesterov", .bool(false))])
        case "adam", "adamw": return (0.001, adamLike + [("amsgrad", .bool(false))])
        case "rmsprop":
            return (0.001, [("rho", .number(0.9)), ("momentum", .number(0)), ("epsilon", .number(1e-7)), ("centered", .bool(false))])
        case "adagrad": return (0.001, [("initial_accumulator_value", .number(0.1)), ("epsilon", .number(1e-7))])
        case "adadelta": return (0.001, [("rho", .number(0.95)), ("epsilon", .number(1e-7))])
        case "adamax", "nadam": return (0.001, adamLike)
        case "lion": return (0.001, [("beta_1", .number(0.9)), ("beta_2", .number(0.99))])
        default: return nil
        }
    }

    static let optimizerNames = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion"]

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
        let shown = cls
        cls = cls.lowercased()
        guard let (defaultRate, ownKeys) = optimizerDefaults(cls) else {
            throw LSTMError.unsupported("compile: optimizer '\(shown)' is not supported (supported: \(optimizerNames.joined(separator: ", ")))")
        }
        func value(_ key: String) -> JSON? {
            guard let v = cfg[key], !v.isNull else { return nil }
            return v
        }
        func number(_ key: String, _ d: Double) throws -> Double {
            guard let v = value(key) else { return d }
            guard let x = v.numberValue else {
                throw LSTMError.unsupported("compile: \(shown) \(key)=\(v.serialized()) is not supported (a number is)")
            }
            return x
        }
        func optionalNumber(_ key: String) throws -> Double? {
            guard value(key) != nil else { return nil }
            return try number(key, 0)
        }
        func flag(_ key: String) throws -> Bool {
            guard let v = value(key) else { return false }
            guard let b = v.boolValue else { throw LSTMError.invalidArgument("compile: \(shown) \(key) must be true or false, got \(v.serialized())") }
            return b
        }
        func own(_ key: String) throws -> Double {
            guard case .number(let d)? = ownKeys.first(where: { $0.0 == key })?.1 else { return 0 }
            return try number(key, d)
        }
        if let lr = value("learning_rate"), lr.numberValue == nil {
            throw LSTMError.unsupported("compile: \(shown) learning_rate \(lr.serialized()) is not supported (a number is; learning-rate schedules are not implemented yet)")
        }
        // Options that change the update and are not implemented must keep their neutral value.
        let neutral: [(String, JSON)] = [("use_ema", .bool(false)), ("loss_scale_factor", .null),
                                         ("gradient_accumulation_steps", .null), ("decay", .number(0))]
        for (k, v) in neutral {
            if let got = cfg[k], got != v, !got.isNull {
                throw LSTMError.unsupported("compile: \(shown) option \(k)=\(got.serialized()) is not supported")
            }
        }
        // Without use_ema these only configure what is off.
        let inert: Set<String> = ["name", "ema_momentum", "ema_overwrite_frequency", "jit_compile", "is_legacy_optimizer"]
        let common: Set<String> = ["learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue"]
        if case .object(let members) = cfg {
            for (k, _) in members where !inert.contains(k) && !common.contains(k) && !neutral.contains(where: { $0.0 == k })
                && !ownKeys.contains(where: { $0.0 == k }) {
                throw LSTMError.unsupported("compile: \(shown) option '\(k)' is not supported")
            }
        }
        let algorithm: OptimizerSpec.Algorithm
        switch cls {
        case "sgd": algorithm = .sgd(momentum: try own("momentum"), nesterov: try flag("nesterov"))
        case "adam", "adamw":
            algorithm = .adam(beta1: try own("beta_1"), beta2: try own("beta_2"), epsilon: try own("epsilon"), amsgrad: try flag("amsgrad"))
        case "rmsprop":
            algorithm = .rmsprop(rho: try own("rho"), momentum: try own("momentum"), epsilon: try own("epsilon"), centered: try flag("centered"))
        case "adagrad": algorithm = .adagrad(initialAccumulator: try own("initial_accumulator_value"), epsilon: try own("epsilon"))
        case "adadelta": algorithm = .adadelta(rho: try own("rho"), epsilon: try own("epsilon"))
        case "adamax": algorithm = .adamax(beta1: try own("beta_1"), beta2: try own("beta_2"), epsilon: try own("epsilon"))
        case "nadam": algorithm = .nadam(beta1: try own("beta_1"), beta2: try own("beta_2"), epsilon: try own("epsilon"))
        default: algorithm = .lion(beta1: try own("beta_1"), beta2: try own("beta_2"))
        }
        // AdamW's weight_decay defaults to 0.004 (an explicit null too: Keras's AdamW refuses None).
        let decay = try optionalNumber("weight_decay") ?? (cls == "adamw" ? 0.004 : nil)
        var spec = OptimizerSpec(algorithm, learningRate: try number("learning_rate", defaultRate),
                                 weightDecay: decay, className: cls == "adamw" ? "AdamW" : nil)
        // Keras treats a clipping value of 0 as unset.
        spec.clipNorm = try optionalNumber("clipnorm").flatMap { $0 == 0 ? nil : $0 }
        spec.globalClipNorm = try optionalNumber("global_clipnorm").flatMap { $0 == 0 ? nil : $0 }
        spec.clipValue = try optionalNumber("clipvalue").flatMap { $0 == 0 ? nil : $0 }
        return spec
    }

    /// Keras 3's compile config for these settings.
    public static func compileJSON(_ c: CompileSpec) -> JSON {
        let o = c.optimizer
        func n(_ v: Double?) -> JSON { v.map(JSON.number) ?? .null }
        var cfg: [(String, JSON)] = [("name", .string(o.className.lowercased())), ("learning_rate", .real(o.learningRate)),
                                     ("weight_decay", n(o.weightDecay)), ("clipnorm", n(o.clipNorm)),
                                     ("global_clipnorm", n(o.globalClipNorm)), ("clipvalue", n(o.clipValue))]
        cfg += optimizerNeutral()
        switch o.algorithm {
        case let .sgd(momentum, nesterov): cfg += [("momentum", .number(momentum)), ("nesterov", .bool(nesterov))]
        case let .adam(b1, b2, eps, amsgrad):
            cfg += [("beta_1", .number(b1)), ("beta_2", .number(b2)), ("epsilon", .number(eps)), ("amsgrad", .bool(amsgrad))]
        case let .rmsprop(rho, momentum, eps, centered):
            cfg += [("rho", .number(rho)), ("momentum", .number(momentum)), ("epsilon", .number(eps)), ("centered", .bool(centered))]
        case let .adagrad(initial, eps): cfg += [("initial_accumulator_value", .number(initial)), ("epsilon", .number(eps))]
        case let .adadelta(rho, eps): cfg += [("rho", .number(rho)), ("epsilon", .number(eps))]
        case let .adamax(b1, b2, eps), let .nadam(b1, b2, eps):
            cfg += [("beta_1", .number(b1)), ("beta_2", .number(b2)), ("epsilon", .number(eps))]
        case let .lion(b1, b2): cfg += [("beta_1", .number(b1)), ("beta_2", .number(b2))]
        }
        let loss: String = c.loss == .meanSquaredError ? "mse" : "mae"
        return .object([
            ("optimizer", .object([("module", .string("keras.optimizers")), ("class_name", .string(o.className)),
                                   ("config", .object(cfg)), ("registered_name", .null)])),
            ("loss", .string(loss)), ("loss_weights", .null), ("metrics", .null), ("weighted_metrics", .null),
            ("run_eagerly", .bool(false)), ("steps_per_execution", .number(1)), ("jit_compile", .bool(false)),
        ])
    }

    private static func optimizerNeutral() -> [(String, JSON)] {
        [("use_ema", .bool(false)), ("ema_momentum", .number(0.99)), ("ema_overwrite_frequency", .null),
         ("loss_scale_factor", .null), ("gradient_accumulation_steps", .null)]
    }
}
