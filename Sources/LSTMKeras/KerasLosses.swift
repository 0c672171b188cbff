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
    ]

    /// The losses not built yet, refused by name rather than as unknown.
    static let notYet = ["binary_crossentropy", "BinaryCrossentropy", "categorical_crossentropy", "CategoricalCrossentropy",
                         "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", "binary_focal_crossentropy",
                         "BinaryFocalCrossentropy", "categorical_focal_crossentropy", "CategoricalFocalCrossentropy",
                         "ctc", "CTC", "dice", "Dice", "tversky", "Tversky", "circle", "Circle"]

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
            for (key, v) in members {
                switch key {
                case "name", "dtype": continue
                case "reduction":
                    guard v.isNull || v.stringValue == "sum_over_batch_size" || v.stringValue == "auto" else {
                        throw LSTMError.unsupported("compile: loss reduction \(v.serialized()) is not supported (only sum_over_batch_size)")
                    }
                case "delta" where loss == .huber(delta: 1):
                    guard let d = v.numberValue, d.isFinite, d > 0 else {
                        throw LSTMError.invalidArgument("compile: Huber delta must be a number > 0, got \(v.serialized())")
                    }
                    loss = .huber(delta: d)
                case "axis" where loss == .cosineSimilarity:
                    guard v.numberValue == -1 else {
                        throw LSTMError.unsupported("compile: CosineSimilarity axis \(v.serialized()) is not supported (the last axis, -1, is)")
                    }
                default:
                    throw LSTMError.unsupported("compile: loss \(n) option '\(key)' is not supported")
                }
            }
        }
        return loss
    }

    /// Keras 3's compile config value: the short name, or the class with its delta for a Huber
    /// loss whose delta is not Keras's default.
    static func json(_ loss: LossKind) -> JSON {
        switch loss {
        case .meanSquaredError: return .string("mse")
        case .meanAbsoluteError: return .string("mae")
        case .huber(let delta) where delta != 1:
            return .object([("module", .string("keras.losses")), ("class_name", .string("Huber")),
                            ("config", .object([("name", .string("huber_loss")), ("reduction", .string("sum_over_batch_size")),
                                                ("delta", .real(delta))])),
                            ("registered_name", .null)])
        default: return .string(loss.name)
        }
    }
}
