import LSTMCore

/// Keras's losses in a compile config: a name ("mse", "mean_squared_error", ...) or a class
/// ({"class_name": "Huber", "config": {"delta": 2.0, "reduction": ..., "name": ...}}).
enum KerasLosses {
    /// Every name and class Keras accepts for each loss (keras/src/losses/__init__.py).
    static let names: [(names: [String], loss: LossKind)] = [
        (["mse", "mean_squared_error", "MeanSquaredError", "MSE"], .meanSquaredError),
        (["mae", "mean_absolute_error", "MeanAbsoluteError", "MAE"], .meanAbsoluteError),
        (["mape", "mean_absolute_percentage_error", "MeanAbsolutePercentageError", "MAPE"], .meanAbsolutePercentageError),
        (["msle", "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", "MSLE"], .meanSquaredLogarithmicError),
        (["huber", "huber_loss", "Huber"], .huber(delta: 1)),
        (["log_cosh", "logcosh", "LogCosh"], .logCosh),
        (["poisson", "Poisson"], .poisson),
        (["hinge", "Hinge"], .hinge),
        (["squared_hinge", "SquaredHinge"], .squaredHinge),
        (["categorical_hinge", "CategoricalHinge"], .categoricalHinge),
        (["kl_divergence", "kld", "KLD", "kullback_leibler_divergence", "KLDivergence"], .klDivergence),
        (["cosine_similarity", "CosineSimilarity"], .cosineSimilarity),
        (["binary_crossentropy", "bce", "BCE", "BinaryCrossentropy"], .binaryCrossentropy(.init())),
        (["binary_focal_crossentropy", "BinaryFocalCrossentropy"], .binaryFocalCrossentropy(.init(), .init())),
        (["categorical_crossentropy", "CategoricalCrossentropy"], .categoricalCrossentropy(.init())),
        (["categorical_focal_crossentropy", "CategoricalFocalCrossentropy"], .categoricalFocalCrossentropy(.init(), .init())),
        (["sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"],
         .sparseCategoricalCrossentropy(fromLogits: false, ignoreClass: nil)),
    ]

    /// The losses not built yet, refused by name rather than as unknown.
    static let notYet = ["ctc", "CTC", "dice", "Dice",
                         "tversky", "Tversky", "circle", "Circle", "categorical_generalized_cross_entropy",
                         "CategoricalGeneralizedCrossEntropy"]

    /// compile's `loss`: one loss for every output, or a list (one per output, null for none)
    /// or a dict by output name. Returns the loss given once (or the first of several) and the
    /// per-output ones.
    static func parseGiven(_ j: JSON) throws -> (LossKind, PerOutput<LossKind?>?) {
        func optional(_ v: JSON) throws -> LossKind? { v.isNull ? nil : try parse(v) }
        switch j {
        case .array(let entries):
            let losses = try entries.map(optional)
            guard let first = losses.compactMap({ $0 }).first else {
                throw LSTMError.invalidArgument("compile: the loss list \(j.serialized()) gives no loss")
            }
            return (first, .list(losses))
        case .object(let members) where !members.contains(where: { $0.0 == "class_name" }):
            let named = try members.map { PerOutput<LossKind?>.Named(output: $0.0, value: try optional($0.1)) }
            guard let first = named.compactMap(\.value).first else {
                throw LSTMError.invalidArgument("compile: the loss dict \(j.serialized()) gives no loss")
            }
            return (first, .byName(named))
        default:
            return (try parse(j), nil)
        }
    }

    /// compile's `loss_weights`: null, a list (one per output) or a dict by output name.
    static func parseWeights(_ j: JSON) throws -> PerOutput<Double>? {
        func number(_ v: JSON) throws -> Double {
            guard let d = v.numberValue, d.isFinite else {
                throw LSTMError.invalidArgument("compile: loss_weights must be finite numbers, got \(v.serialized())")
            }
            return d
        }
        switch j {
        case .null: return nil
        case .array(let entries): return .list(try entries.map(number))
        case .object(let members): return .byName(try members.map { .init(output: $0.0, value: try number($0.1)) })
        default: throw LSTMError.invalidArgument("compile: loss_weights must be a list or a dict, got \(j.serialized())")
        }
    }

    /// compile's `loss` as given: once, per output in a list, or by output name.
    /// - Parameter legacy: a legacy .h5 training_config, whose loader needs Keras's full names.
    static func json(given c: CompileSpec, legacy: Bool = false) -> JSON {
        func one(_ loss: LossKind?) -> JSON {
            guard let loss else { return .null }
            let j = json(loss)
            return legacy && j.stringValue != nil ? .string(loss.name) : j
        }
        switch c.perOutputLosses {
        case nil: return one(c.loss)
        case .list(let losses)?: return .array(losses.map(one))
        case .byName(let named)?: return .object(named.map { ($0.output, one($0.value)) })
        }
    }

    static func json(weights: PerOutput<Double>?) -> JSON {
        switch weights {
        case nil: return .null
        case .list(let w)?: return .array(w.map(JSON.real))
        case .byName(let named)?: return .object(named.map { ($0.output, .real($0.value)) })
        }
    }

    static func parse(_ j: JSON) throws -> LossKind {
        var name = j.stringValue
        var cfg: JSON = .object([])
        if name == nil, let cn = j["class_name"]?.stringValue {
            name = cn
            cfg = j["config"] ?? .object([])
        }
        guard let n = name else { throw LSTMError.invalidArgument("compile: loss must be a name or a class config, got \(j.serialized())") }
        guard var loss = names.first(where: { $0.names.contains(n) })?.loss else {
            if notYet.contains(n) {
                throw LSTMError.unsupported("compile: loss '\(n)' is not supported yet (supported: \(names.map { $0.names[0] }.joined(separator: ", ")))")
            }
            throw LSTMError.unsupported("compile: loss '\(n)' is not supported (supported: \(names.map { $0.names[0] }.joined(separator: ", ")))")
        }
        if case .object(let members) = cfg {
            for (key, v) in members { try apply(key, v, to: &loss, n) }
        }
        return loss
    }

    /// One option of a loss class's config.
    private static func apply(_ key: String, _ v: JSON, to loss: inout LossKind, _ n: String) throws {
        func number(_ what: String, _ ok: (Double) -> Bool, _ rule: String) throws -> Double {
            guard let d = v.numberValue, d.isFinite, ok(d) else {
                throw LSTMError.invalidArgument("compile: \(n) \(what) must be \(rule), got \(v.serialized())")
            }
            return d
        }
        func flag() throws -> Bool {
            guard case .bool(let b) = v else { throw LSTMError.invalidArgument("compile: \(n) \(key) must be true or false, got \(v.serialized())") }
            return b
        }
        switch (key, loss) {
        case ("name", _), ("dtype", _): return
        case ("reduction", _):
            guard v.isNull || v.stringValue == "sum_over_batch_size" || v.stringValue == "auto" else {
                throw LSTMError.unsupported("compile: loss reduction \(v.serialized()) is not supported (only sum_over_batch_size)")
            }
        case ("delta", .huber):
            loss = .huber(delta: try number("delta", { $0 > 0 }, "a number > 0"))
        case ("axis", .cosineSimilarity), ("axis", .binaryCrossentropy), ("axis", .binaryFocalCrossentropy),
             ("axis", .categoricalFocalCrossentropy),
             ("axis", .categoricalCrossentropy), ("axis", .sparseCategoricalCrossentropy):
            guard v.numberValue == -1 else {
                throw LSTMError.unsupported("compile: \(n) axis \(v.serialized()) is not supported (the last axis, -1, is)")
            }
        case ("from_logits", .binaryCrossentropy), ("from_logits", .binaryFocalCrossentropy),
             ("from_logits", .categoricalFocalCrossentropy),
             ("from_logits", .categoricalCrossentropy):
            let fromLogits = try flag()
            loss = loss.changingCrossentropy { $0.fromLogits = fromLogits }
        case ("from_logits", .sparseCategoricalCrossentropy(_, let ignored)):
            loss = .sparseCategoricalCrossentropy(fromLogits: try flag(), ignoreClass: ignored)
        case ("label_smoothing", .binaryCrossentropy), ("label_smoothing", .categoricalCrossentropy),
             ("label_smoothing", .binaryFocalCrossentropy), ("label_smoothing", .categoricalFocalCrossentropy):
            let smoothing = try number("label_smoothing", { $0 >= 0 && $0 <= 1 }, "in [0, 1]")
            loss = loss.changingCrossentropy { $0.labelSmoothing = smoothing }
        case ("gamma", .binaryFocalCrossentropy(let c, var f)):
            f.gamma = try number("gamma", { $0 >= 0 }, "a number >= 0"); loss = .binaryFocalCrossentropy(c, f)
        case ("alpha", .binaryFocalCrossentropy(let c, var f)):
            f.alpha = try number("alpha", { $0 >= 0 && $0 <= 1 }, "in [0, 1]"); loss = .binaryFocalCrossentropy(c, f)
        case ("gamma", .categoricalFocalCrossentropy(let c, var f)):
            f.gamma = try number("gamma", { $0 >= 0 }, "a number >= 0"); loss = .categoricalFocalCrossentropy(c, f)
        case ("alpha", .categoricalFocalCrossentropy(let c, var f)):
            // Keras also takes a list (one alpha per class) here; only one number is supported.
            f.alpha = try number("alpha", { $0 >= 0 }, "a number >= 0 (one alpha per class is not supported)")
            loss = .categoricalFocalCrossentropy(c, f)
        case ("apply_class_balancing", .binaryFocalCrossentropy(let c, var f)):
            f.applyClassBalancing = try flag(); loss = .binaryFocalCrossentropy(c, f)
        case ("ignore_class", .sparseCategoricalCrossentropy(let fromLogits, _)):
            if v.isNull { loss = .sparseCategoricalCrossentropy(fromLogits: fromLogits, ignoreClass: nil); return }
            let d = try number("ignore_class", { (x: Double) in x == x.rounded() && abs(x) < 2_147_483_648.0 }, "a whole number or null")
            loss = .sparseCategoricalCrossentropy(fromLogits: fromLogits, ignoreClass: Int(d))
        default:
            throw LSTMError.unsupported("compile: loss \(n) option '\(key)' is not supported")
        }
    }

    /// Keras 3's compile config value: the short name when every option is Keras's default, else
    /// the class with its config as Keras's get_config writes it.
    static func json(_ loss: LossKind) -> JSON {
        func object(_ className: String, _ name: String, _ options: [(String, JSON)]) -> JSON {
            .object([("module", .string("keras.losses")), ("class_name", .string(className)),
                     ("config", .object([("name", .string(name)), ("reduction", .string("sum_over_batch_size"))] + options)),
                     ("registered_name", .null)])
        }
        func crossentropy(_ c: LossKind.Crossentropy) -> [(String, JSON)] {
            [("from_logits", .bool(c.fromLogits)), ("label_smoothing", .real(c.labelSmoothing)), ("axis", .number(-1))]
        }
        switch loss {
        case .meanSquaredError: return .string("mse")
        case .meanAbsoluteError: return .string("mae")
        case .huber(let delta) where delta != 1:
            return object("Huber", "huber_loss", [("delta", .real(delta))])
        case .binaryCrossentropy(let c) where c != .init():
            return object("BinaryCrossentropy", loss.name, crossentropy(c))
        case .categoricalCrossentropy(let c) where c != .init():
            return object("CategoricalCrossentropy", loss.name, crossentropy(c))
        case .binaryFocalCrossentropy(let c, let f) where c != .init() || f != .init():
            return object("BinaryFocalCrossentropy", loss.name, crossentropy(c) + [
                ("apply_class_balancing", .bool(f.applyClassBalancing)), ("alpha", .real(f.alpha)), ("gamma", .real(f.gamma))])
        case .categoricalFocalCrossentropy(let c, let f) where c != .init() || f != .init():
            return object("CategoricalFocalCrossentropy", loss.name, crossentropy(c) + [("alpha", .real(f.alpha)), ("gamma", .real(f.gamma))])
        case .sparseCategoricalCrossentropy(let fromLogits, let ignored) where fromLogits || ignored != nil:
            return object("SparseCategoricalCrossentropy", loss.name, [
                ("from_logits", .bool(fromLogits)), ("ignore_class", ignored.map { .number(Double($0)) } ?? .null), ("axis", .number(-1))])
        default: return .string(loss.name)
        }
    }
}

private extension LossKind {
    /// The same loss with its shared crossentropy options changed (unchanged for the losses
    /// without them).
    func changingCrossentropy(_ change: (inout Crossentropy) -> Void) -> LossKind {
        switch self {
        case .binaryCrossentropy(var c): change(&c); return .binaryCrossentropy(c)
        case .binaryFocalCrossentropy(var c, let f): change(&c); return .binaryFocalCrossentropy(c, f)
        case .categoricalFocalCrossentropy(var c, let f): change(&c); return .categoricalFocalCrossentropy(c, f)
        case .categoricalCrossentropy(var c): change(&c); return .categoricalCrossentropy(c)
        default: return self
        }
    }
}
