import LSTMCore

/// Keras's metrics in a compile config: names ("accuracy", "mae", ...) and classes
/// ({"class_name": "BinaryAccuracy", "config": {"name": ..., "threshold": 0.5}}), in a list (one
/// entry per output when there are several) or a dict by output name.
enum KerasMetrics {
    /// A metric Keras knows under these strings (keras/src/metrics/__init__.py: each class's
    /// name, its snake_case, and the short aliases) and writes as `className`.
    struct Known {
        var strings: [String]
        var className: String
        var kind: MetricKind
        /// The name a metric object of the class has by default (its snake_case name, but
        /// LogCoshError's is "logcosh").
        var defaultName: String { className == "LogCoshError" ? "logcosh" : strings[0] }
    }

    static let known: [Known] = [
        Known(strings: ["binary_accuracy"], className: "BinaryAccuracy", kind: .binaryAccuracy(threshold: 0.5)),
        Known(strings: ["categorical_accuracy"], className: "CategoricalAccuracy", kind: .categoricalAccuracy),
        Known(strings: ["sparse_categorical_accuracy"], className: "SparseCategoricalAccuracy", kind: .sparseCategoricalAccuracy),
        Known(strings: ["top_k_categorical_accuracy"], className: "TopKCategoricalAccuracy",
              kind: .topKCategoricalAccuracy(k: 5, sparse: false)),
        Known(strings: ["sparse_top_k_categorical_accuracy"], className: "SparseTopKCategoricalAccuracy",
              kind: .topKCategoricalAccuracy(k: 5, sparse: true)),
        Known(strings: ["mean_squared_error", "mse", "MSE"], className: "MeanSquaredError", kind: .mean(.meanSquaredError)),
        Known(strings: ["mean_absolute_error", "mae", "MAE"], className: "MeanAbsoluteError", kind: .mean(.meanAbsoluteError)),
        Known(strings: ["mean_absolute_percentage_error", "mape", "MAPE"], className: "MeanAbsolutePercentageError",
              kind: .mean(.meanAbsolutePercentageError)),
        Known(strings: ["mean_squared_logarithmic_error", "msle", "MSLE"], className: "MeanSquaredLogarithmicError",
              kind: .mean(.meanSquaredLogarithmicError)),
        Known(strings: ["root_mean_squared_error"], className: "RootMeanSquaredError", kind: .rootMeanSquaredError),
        Known(strings: ["log_cosh_error"], className: "LogCoshError", kind: .mean(.logCosh)),
        Known(strings: ["cosine_similarity"], className: "CosineSimilarity", kind: .cosineSimilarity),
        Known(strings: ["kl_divergence"], className: "KLDivergence", kind: .mean(.klDivergence)),
        Known(strings: ["poisson"], className: "Poisson", kind: .mean(.poisson)),
        Known(strings: ["hinge"], className: "Hinge", kind: .mean(.hinge)),
        Known(strings: ["squared_hinge"], className: "SquaredHinge", kind: .mean(.squaredHinge)),
        Known(strings: ["categorical_hinge"], className: "CategoricalHinge", kind: .mean(.categoricalHinge)),
        Known(strings: ["binary_crossentropy", "bce", "BCE"], className: "BinaryCrossentropy",
              kind: .mean(.binaryCrossentropy(.init()))),
        Known(strings: ["categorical_crossentropy"], className: "CategoricalCrossentropy",
              kind: .mean(.categoricalCrossentropy(.init()))),
        Known(strings: ["sparse_categorical_crossentropy"], className: "SparseCategoricalCrossentropy",
              kind: .mean(.sparseCategoricalCrossentropy(fromLogits: false, ignoreClass: nil))),
    ]

    /// Keras's metrics this library does not compute yet, refused by name rather than as unknown.
    static let notYet = ["AUC", "auc", "Precision", "precision", "Recall", "recall", "F1Score", "f1_score",
                         "FBetaScore", "f_beta_score", "R2Score", "r2_score", "Accuracy", "TruePositives",
                         "true_positives", "TrueNegatives", "true_negatives", "FalsePositives", "false_positives",
                         "FalseNegatives", "false_negatives", "PrecisionAtRecall", "RecallAtPrecision",
                         "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PearsonCorrelation",
                         "ConcordanceCorrelation", "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
                         "Mean", "Sum", "MeanMetricWrapper"]

    /// The compile's `metrics` value: null, a list or a dict by output name.
    /// - Parameter skippingUnsupported: leave out the metrics this library lacks instead of
    ///   refusing them (a saved model's compile config).
    static func parse(_ j: JSON, skippingUnsupported: Bool = false) throws -> CompileMetrics {
        func entry(_ j: JSON) throws -> [MetricSpec] {
            let list: [JSON]
            if case .array(let l) = j { list = l } else { list = j.isNull ? [] : [j] }
            return try list.compactMap { m in
                do { return try parseOne(m) } catch LSTMError.unsupported(_) where skippingUnsupported { return nil }
            }
        }
        switch j {
        case .null: return .none
        case .array(let entries): return .list(try entries.map(entry))
        case .object(let members) where members.contains(where: { $0.0 == "class_name" }):
            return .list([try entry(j)])
        case .object(let members):
            return .byOutput(try members.map { .init(output: $0.0, metrics: try entry($0.1)) })
        case .string: return .list([try entry(j)])
        default:
            throw LSTMError.invalidArgument("compile: metrics must be a list or a dict, got \(j.serialized())")
        }
    }

    private static func parseOne(_ j: JSON) throws -> MetricSpec {
        if let s = j.stringValue {
            // compile_utils.get_metric: any casing of "accuracy" or "acc" is resolved per output.
            if ["accuracy", "acc"].contains(s.lowercased()) { return MetricSpec(kind: .accuracy, name: s, byName: true) }
            guard let k = known.first(where: { $0.strings.contains(s) || $0.className == s }) else { throw refusal(s) }
            return MetricSpec(kind: k.kind, name: s, byName: true)
        }
        guard let cn = j["class_name"]?.stringValue else {
            throw LSTMError.invalidArgument("compile: a metric must be a name or a class config, got \(j.serialized())")
        }
        guard let k = known.first(where: { $0.className == cn }) else { throw refusal(cn) }
        let cfg = j["config"] ?? .object([])
        var kind = k.kind
        // The metric object's own name, or its class's default.
        var name = k.defaultName
        guard case .object(let members) = cfg else {
            throw LSTMError.invalidArgument("compile: metric \(cn) config must be an object, got \(cfg.serialized())")
        }
        var lossOptions: [(String, JSON)] = []
        for (key, v) in members {
            switch (key, kind) {
            case ("name", _):
                guard let s = v.stringValue, !s.isEmpty else {
                    throw LSTMError.invalidArgument("compile: metric \(cn) name must be a non-empty string, got \(v.serialized())")
                }
                name = s
            case ("dtype", _):
                guard v.isNull || v.stringValue == "float32" else {
                    throw LSTMError.unsupported("compile: metric \(cn) dtype \(v.serialized()) is not supported (float32 is)")
                }
            case ("threshold", .binaryAccuracy):
                guard let t = v.numberValue, t.isFinite else {
                    throw LSTMError.invalidArgument("compile: metric \(cn) threshold must be a number, got \(v.serialized())")
                }
                kind = .binaryAccuracy(threshold: t)
            case ("k", .topKCategoricalAccuracy(_, let sparse)):
                guard let d = v.numberValue, d == d.rounded(), d >= 1, d < 1e9 else {
                    throw LSTMError.invalidArgument("compile: metric \(cn) k must be a whole number >= 1, got \(v.serialized())")
                }
                kind = .topKCategoricalAccuracy(k: Int(d), sparse: sparse)
            case ("from_sorted_ids", .topKCategoricalAccuracy(_, true)):
                guard v == .bool(false) else {
                    throw LSTMError.unsupported("compile: metric \(cn) from_sorted_ids=true is not supported")
                }
            case ("axis", .cosineSimilarity):
                guard v.numberValue == -1 else {
                    throw LSTMError.unsupported("compile: metric \(cn) axis \(v.serialized()) is not supported (the last axis, -1, is)")
                }
            case (_, .mean(let loss)) where loss.isCrossentropyMetric:
                lossOptions.append((key, v))
            default:
                throw LSTMError.unsupported("compile: metric \(cn) option '\(key)' is not supported")
            }
        }
        if !lossOptions.isEmpty {
            // The crossentropy metrics take their loss's options (from_logits, label_smoothing, axis).
            kind = .mean(try KerasLosses.parse(.object([("class_name", .string(cn)), ("config", .object(lossOptions))])))
        }
        return MetricSpec(kind: kind, name: name, byName: false)
    }

    private static func refusal(_ n: String) -> LSTMError {
        let supported = (["accuracy"] + known.map { $0.strings[0] }).joined(separator: ", ")
        if notYet.contains(n) {
            return .unsupported("compile: metric '\(n)' is not supported yet (supported: \(supported))")
        }
        return .unsupported("compile: metric '\(n)' is not supported (supported: \(supported))")
    }

    /// The compile config's value, as Keras's get_compile_config writes the metrics it was given.
    static func json(_ metrics: CompileMetrics) -> JSON {
        switch metrics {
        case .list(let entries) where entries.allSatisfy(\.isEmpty): return .null
        case .list(let entries):
            return .array(entries.map { $0.count == 1 ? json($0[0]) : .array($0.map(json)) })
        case .byOutput(let outputs):
            return .object(outputs.map { ($0.output, $0.metrics.count == 1 ? json($0.metrics[0]) : .array($0.metrics.map(json))) })
        }
    }

    /// The metrics as a legacy .h5 training_config holds them: Keras's legacy loader turns a
    /// name such as "mae" into its class (logged as "mean_absolute_error"), so every metric but
    /// accuracy is written as its class config carrying the name it is logged under.
    static func legacyJSON(_ metrics: CompileMetrics) -> JSON {
        func named(_ list: [MetricSpec]) -> [MetricSpec] {
            list.map { m in
                var m = m
                if m.kind != .accuracy { m.byName = false }
                return m
            }
        }
        switch metrics {
        case .list(let entries): return json(.list(entries.map(named)))
        case .byOutput(let outputs): return json(.byOutput(outputs.map { .init(output: $0.output, metrics: named($0.metrics)) }))
        }
    }

    static func json(_ m: MetricSpec) -> JSON {
        if m.byName { return .string(m.name) }
        guard let k = known.first(where: { $0.kind.sameClass(as: m.kind) }) else { return .string(m.name) }
        var cfg: [(String, JSON)] = [("name", .string(m.name)), ("dtype", .string("float32"))]
        switch m.kind {
        case .binaryAccuracy(let threshold): cfg.append(("threshold", .real(threshold)))
        case .topKCategoricalAccuracy(let topK, _): cfg.append(("k", .number(Double(topK))))
        case .cosineSimilarity: cfg.append(("axis", .number(-1)))
        case .mean(.binaryCrossentropy(let c)):
            cfg += [("from_logits", .bool(c.fromLogits)), ("label_smoothing", .real(c.labelSmoothing))]
        case .mean(.categoricalCrossentropy(let c)):
            cfg += [("from_logits", .bool(c.fromLogits)), ("label_smoothing", .real(c.labelSmoothing)), ("axis", .number(-1))]
        case .mean(.sparseCategoricalCrossentropy(let fromLogits, _)):
            cfg += [("from_logits", .bool(fromLogits)), ("ignore_class", .null), ("axis", .number(-1))]
        default: break
        }
        return .object([("module", .string("keras.metrics")), ("class_name", .string(k.className)),
                        ("config", .object(cfg)), ("registered_name", .null)])
    }
}

private extension MetricKind {
    /// The same Keras class, whatever its options.
    func sameClass(as other: MetricKind) -> Bool {
        switch (self, other) {
        case (.binaryAccuracy, .binaryAccuracy): return true
        case (.topKCategoricalAccuracy(_, let a), .topKCategoricalAccuracy(_, let b)): return a == b
        case (.mean(let a), .mean(let b)): return a.name == b.name
        default: return self == other
        }
    }
}

private extension LossKind {
    /// The crossentropy metric classes, whose configs hold loss options.
    var isCrossentropyMetric: Bool {
        switch self {
        case .binaryCrossentropy, .categoricalCrossentropy, .sparseCategoricalCrossentropy: return true
        default: return false
        }
    }
}
