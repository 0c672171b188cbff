import LSTMCore

/// Keras's compile config (optimizer, loss and Keras's other keys) <-> the core's CompileSpec.
extension KerasConfig {

    /// Reads Keras's compile config: {"optimizer": ..., "loss": ...} plus Keras's other keys.
    /// Every key is honoured or refused: `metrics` and `weighted_metrics` are Keras's (see
    /// KerasMetrics); run_eagerly,
    /// steps_per_execution, jit_compile and auto_scale_loss only steer TensorFlow's execution
    /// and are accepted.
    public static func parseCompile(_ text: String) throws -> CompileSpec {
        try parseCompile(try JSON.parse(text))
    }

    /// - Parameter fromFile: the compile config of a saved model: metrics this library does not
    ///   have are dropped (the model trains the same without them) rather
    ///   than leaving it uncompiled.
    static func parseCompile(_ j: JSON, fromFile: Bool = false) throws -> CompileSpec {
        guard case .object(let members) = j else {
            throw LSTMError.format("compile JSON must be an object, got \(kind(j))")
        }
        let known: Set<String> = ["optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                                  "steps_per_execution", "jit_compile", "auto_scale_loss", "sample_weight_mode"]
        for (k, _) in members where !known.contains(k) {
            throw LSTMError.unsupported("compile: option '\(k)' is not supported")
        }
        if let mode = j["sample_weight_mode"], !mode.isNull {
            throw LSTMError.unsupported("compile: sample_weight_mode \(mode.serialized()) is not supported")
        }
        let metrics = try j["metrics"].map { try KerasMetrics.parse($0, skippingUnsupported: fromFile) } ?? .none
        guard let lossJ = j["loss"], !lossJ.isNull else { throw LSTMError.invalidArgument("compile: 'loss' is missing") }
        let (loss, perOutput) = try KerasLosses.parseGiven(lossJ)
        let lossWeights = try KerasLosses.parseWeights(j["loss_weights"] ?? .null)
        let optimizer = try parseOptimizer(j["optimizer"] ?? .string("rmsprop"))
        try optimizer.validate()
        var spec = CompileSpec(loss: loss, optimizer: optimizer, metrics: metrics, perOutputLosses: perOutput,
                               lossWeights: lossWeights)
        spec.weightedMetrics = try j["weighted_metrics"].map { try KerasMetrics.parse($0, skippingUnsupported: fromFile) } ?? .none
        return spec
    }

    /// Each Keras optimizer class (lowercased) with Keras 3's defaults: its learning rate and
    /// its own options (whose keys and order `options(of:)` gives, for reading and writing).
    static func optimizerDefaults(_ cls: String) -> (learningRate: Double, algorithm: OptimizerSpec.Algorithm)? {
        switch cls {
        case "sgd": return (0.01, .sgd(momentum: 0, nesterov: false))
        case "adam", "adamw": return (0.001, .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false))
        case "rmsprop": return (0.001, .rmsprop(rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false))
        case "adagrad": return (0.001, .adagrad(initialAccumulator: 0.1, epsilon: 1e-7))
        case "adadelta": return (0.001, .adadelta(rho: 0.95, epsilon: 1e-7))
        case "adamax": return (0.001, .adamax(beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        case "nadam": return (0.001, .nadam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        case "lion": return (0.001, .lion(beta1: 0.9, beta2: 0.99))
        default: return nil
        }
    }

    /// An algorithm's own options as Keras 3's config writes them, in its order.
    /// Written as floats (0.0, not 0): Keras's SGD refuses a momentum that is not a float.
    static func options(of a: OptimizerSpec.Algorithm) -> [(String, JSON)] {
        switch a {
        case let .sgd(momentum, nesterov): return [("momentum", .real(momentum)), ("nesterov", .bool(nesterov))]
        case let .adam(b1, b2, eps, amsgrad):
            return [("beta_1", .real(b1)), ("beta_2", .real(b2)), ("epsilon", .real(eps)), ("amsgrad", .bool(amsgrad))]
        case let .rmsprop(rho, momentum, eps, centered):
            return [("rho", .real(rho)), ("momentum", .real(momentum)), ("epsilon", .real(eps)), ("centered", .bool(centered))]
        case let .adagrad(initial, eps): return [("initial_accumulator_value", .real(initial)), ("epsilon", .real(eps))]
        case let .adadelta(rho, eps): return [("rho", .real(rho)), ("epsilon", .real(eps))]
        case let .adamax(b1, b2, eps), let .nadam(b1, b2, eps):
            return [("beta_1", .real(b1)), ("beta_2", .real(b2)), ("epsilon", .real(eps))]
        case let .lion(b1, b2): return [("beta_1", .real(b1)), ("beta_2", .real(b2))]
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
        guard let (defaultRate, defaults) = optimizerDefaults(cls) else {
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
        let ownKeys = options(of: defaults)
        func own(_ key: String) throws -> Double {
            guard let d = ownKeys.first(where: { $0.0 == key })?.1.numberValue else { return 0 }
            return try number(key, d)
        }
        var schedule: LearningRateSchedule?
        if let lr = value("learning_rate"), lr.numberValue == nil {
            schedule = try parseSchedule(lr, optimizer: shown)
        }
        // Options that change the update and are not implemented must keep their neutral value.
        let neutral: [(String, JSON)] = [("loss_scale_factor", .null), ("gradient_accumulation_steps", .null),
                                         ("decay", .number(0))]
        for (k, v) in neutral {
            if let got = cfg[k], got != v, !got.isNull {
                throw LSTMError.unsupported("compile: \(shown) option \(k)=\(got.serialized()) is not supported")
            }
        }
        let inert: Set<String> = ["name", "jit_compile", "is_legacy_optimizer"]
        let common: Set<String> = ["learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema",
                                   "ema_momentum", "ema_overwrite_frequency"]
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
        var spec = OptimizerSpec(algorithm, learningRate: try schedule?.rate(at: 0) ?? number("learning_rate", defaultRate),
                                 weightDecay: decay, className: cls == "adamw" ? "AdamW" : nil)
        spec.schedule = schedule
        // Keras treats a clipping value of 0 as unset.
        spec.clipNorm = try optionalNumber("clipnorm").flatMap { $0 == 0 ? nil : $0 }
        spec.globalClipNorm = try optionalNumber("global_clipnorm").flatMap { $0 == 0 ? nil : $0 }
        spec.clipValue = try optionalNumber("clipvalue").flatMap { $0 == 0 ? nil : $0 }
        // Without use_ema, ema_momentum and ema_overwrite_frequency configure what is off.
        if try flag("use_ema") {
            var frequency: Int?
            if let f = try optionalNumber("ema_overwrite_frequency") {
                guard f == f.rounded(), f >= 1, f < 1e15 else {
                    throw LSTMError.invalidArgument("compile: \(shown) ema_overwrite_frequency must be an integer >= 1 or None, got \(f)")
                }
                frequency = Int(f)
            }
            spec.ema = .init(momentum: try optionalNumber("ema_momentum") ?? 0.99, overwriteFrequency: frequency)
        }
        return spec
    }

    /// Keras's serialized schedule, {"class_name": "ExponentialDecay", "config": {...}} (Keras 3
    /// adds "module" and "registered_name"), with Keras's defaults for what it leaves out.
    static func parseSchedule(_ j: JSON, optimizer: String) throws -> LearningRateSchedule {
        guard let cls = j["class_name"]?.stringValue else {
            throw LSTMError.unsupported("compile: \(optimizer) learning_rate \(j.serialized()) is not supported (a number or a serialized schedule is)")
        }
        let cfg = j["config"] ?? .object([])
        let what = "compile: \(optimizer) learning_rate \(cls)"
        let keys: [String: Set<String>] = [
            "ExponentialDecay": ["initial_learning_rate", "decay_steps", "decay_rate", "staircase"],
            "InverseTimeDecay": ["initial_learning_rate", "decay_steps", "decay_rate", "staircase"],
            "PiecewiseConstantDecay": ["boundaries", "values"],
            "PolynomialDecay": ["initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle"],
            "CosineDecay": ["initial_learning_rate", "decay_steps", "alpha", "warmup_target", "warmup_steps"],
            "CosineDecayRestarts": ["initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha"],
        ]
        guard let known = keys[cls] else {
            throw LSTMError.unsupported("\(what) is not supported (supported: \(keys.keys.sorted().joined(separator: ", ")))")
        }
        if case .object(let members) = cfg {
            for (k, _) in members where k != "name" && !known.contains(k) {
                throw LSTMError.unsupported("\(what): option '\(k)' is not supported")
            }
        }
        func number(_ key: String, _ d: Double? = nil) throws -> Double {
            guard let v = cfg[key], !v.isNull else {
                guard let d else { throw LSTMError.invalidArgument("\(what): '\(key)' is missing") }
                return d
            }
            guard let x = v.numberValue else { throw LSTMError.invalidArgument("\(what): \(key) must be a number, got \(v.serialized())") }
            return x
        }
        func flag(_ key: String) throws -> Bool {
            guard let v = cfg[key], !v.isNull else { return false }
            guard let b = v.boolValue else { throw LSTMError.invalidArgument("\(what): \(key) must be true or false, got \(v.serialized())") }
            return b
        }
        func numbers(_ key: String) throws -> [Double] {
            guard let a = cfg[key]?.arrayValue else { throw LSTMError.invalidArgument("\(what): '\(key)' must be a list of numbers") }
            return try a.map { v in
                guard let x = v.numberValue else { throw LSTMError.invalidArgument("\(what): \(key) must hold numbers, got \(v.serialized())") }
                return x
            }
        }
        let kind: LearningRateSchedule.Kind
        switch cls {
        case "ExponentialDecay":
            kind = .exponentialDecay(initial: try number("initial_learning_rate"), decaySteps: try number("decay_steps"),
                                     decayRate: try number("decay_rate"), staircase: try flag("staircase"))
        case "InverseTimeDecay":
            kind = .inverseTimeDecay(initial: try number("initial_learning_rate"), decaySteps: try number("decay_steps"),
                                     decayRate: try number("decay_rate"), staircase: try flag("staircase"))
        case "PiecewiseConstantDecay":
            kind = .piecewiseConstantDecay(boundaries: try numbers("boundaries"), values: try numbers("values"))
        case "PolynomialDecay":
            kind = .polynomialDecay(initial: try number("initial_learning_rate"), decaySteps: try number("decay_steps"),
                                    end: try number("end_learning_rate", 0.0001), power: try number("power", 1),
                                    cycle: try flag("cycle"))
        case "CosineDecayRestarts":
            kind = .cosineDecayRestarts(initial: try number("initial_learning_rate"), firstDecaySteps: try number("first_decay_steps"),
                                        tMul: try number("t_mul", 2), mMul: try number("m_mul", 1), alpha: try number("alpha", 0))
        default:
            let target = cfg["warmup_target"].flatMap { $0.isNull ? nil : $0 }
            kind = .cosineDecay(initial: try number("initial_learning_rate"), decaySteps: try number("decay_steps"),
                                alpha: try number("alpha", 0), warmupTarget: target == nil ? nil : try number("warmup_target"),
                                warmupSteps: try number("warmup_steps", 0))
        }
        let schedule = LearningRateSchedule(kind, name: cfg["name"]?.stringValue)
        try schedule.validate()
        return schedule
    }

    /// Keras 3's serialized schedule.
    static func scheduleJSON(_ s: LearningRateSchedule) -> JSON {
        var cfg: [(String, JSON)]
        switch s.kind {
        case let .exponentialDecay(initial, steps, rate, staircase), let .inverseTimeDecay(initial, steps, rate, staircase):
            cfg = [("initial_learning_rate", .real(initial)), ("decay_steps", .number(steps)), ("decay_rate", .number(rate)),
                   ("staircase", .bool(staircase)), ("name", .string(s.name))]
        case let .piecewiseConstantDecay(boundaries, values):
            cfg = [("boundaries", .array(boundaries.map(JSON.number))), ("values", .array(values.map(JSON.real))),
                   ("name", .string(s.name))]
        case let .polynomialDecay(initial, steps, end, power, cycle):
            cfg = [("initial_learning_rate", .real(initial)), ("decay_steps", .number(steps)), ("end_learning_rate", .number(end)),
                   ("power", .number(power)), ("cycle", .bool(cycle)), ("name", .string(s.name))]
        case let .cosineDecay(initial, steps, alpha, target, warmup):
            cfg = [("initial_learning_rate", .real(initial)), ("decay_steps", .number(steps)), ("alpha", .number(alpha)),
                   ("name", .string(s.name)), ("warmup_target", target.map(JSON.real) ?? .null), ("warmup_steps", .number(warmup))]
        case let .cosineDecayRestarts(initial, first, tMul, mMul, alpha):
            cfg = [("initial_learning_rate", .real(initial)), ("first_decay_steps", .number(first)), ("t_mul", .real(tMul)),
                   ("m_mul", .real(mMul)), ("alpha", .real(alpha)), ("name", .string(s.name))]
        }
        return .object([("module", .string("keras.optimizers.schedules")), ("class_name", .string(s.kind.className)),
                        ("config", .object(cfg)), ("registered_name", .null)])
    }

    /// Keras 3's compile config for these settings.
    public static func compileJSON(_ c: CompileSpec) -> JSON {
        let o = c.optimizer
        func n(_ v: Double?) -> JSON { v.map(JSON.number) ?? .null }
        var cfg: [(String, JSON)] = [("name", .string(o.className.lowercased())), ("learning_rate", o.schedule.map(scheduleJSON) ?? .real(o.learningRate)),
                                     ("weight_decay", n(o.weightDecay)), ("clipnorm", n(o.clipNorm)),
                                     ("global_clipnorm", n(o.globalClipNorm)), ("clipvalue", n(o.clipValue))]
        cfg += optimizerNeutral(o.ema)
        cfg += options(of: o.algorithm)
        return .object([
            ("optimizer", .object([("module", .string("keras.optimizers")), ("class_name", .string(o.className)),
                                   ("config", .object(cfg)), ("registered_name", .null)])),
            ("loss", KerasLosses.json(given: c)), ("loss_weights", KerasLosses.json(weights: c.lossWeights)),
            ("metrics", KerasMetrics.json(c.metrics)),
            ("weighted_metrics", KerasMetrics.json(c.weightedMetrics)),
            ("run_eagerly", .bool(false)), ("steps_per_execution", .number(1)), ("jit_compile", .bool(false)),
        ])
    }

    private static func optimizerNeutral(_ ema: OptimizerSpec.EMA?) -> [(String, JSON)] {
        [("use_ema", .bool(ema != nil)), ("ema_momentum", .real(ema?.momentum ?? 0.99)),
         ("ema_overwrite_frequency", ema?.overwriteFrequency.map { .number(Double($0)) } ?? .null),
         ("loss_scale_factor", .null), ("gradient_accumulation_steps", .null)]
    }
}
