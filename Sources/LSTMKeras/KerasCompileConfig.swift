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
