import LSTMCore

/// Keras's regularizers in layer configs: "l1", "l2", "l1_l2" or {"class_name": "L1" | "L2" |
/// "L1L2", "config": {"l1": ..., "l2": ...}}, under the option that names the weight
/// (kernel_regularizer -> kernel, recurrent_regularizer -> recurrent_kernel, ...).
enum KerasRegularizers {
    /// The weight an option regularizes.
    static func weightName(_ key: String) -> String {
        let base = String(key.dropLast("_regularizer".count))
        return base == "recurrent" ? "recurrent_kernel" : base
    }

    static func parse(_ v: JSON, what: String) throws -> Regularizer {
        var cls: String
        var cfg: JSON = .object([])
        if let s = v.stringValue {
            cls = s
        } else if let c = v["class_name"]?.stringValue {
            cls = c
            cfg = v["config"] ?? .object([])
        } else {
            throw LSTMError.invalidArgument("\(what): a regularizer must be a name or {\"class_name\": ..., \"config\": {...}}, got \(v.serialized())")
        }
        func factor(_ key: String, _ d: Double) throws -> Double {
            guard let x = cfg[key], !x.isNull else { return d }
            guard let n = x.numberValue else { throw LSTMError.invalidArgument("\(what): \(key) must be a number, got \(x.serialized())") }
            return n
        }
        guard ["l1", "l2", "l1l2", "l1_l2"].contains(cls.lowercased()) else {
            throw LSTMError.unsupported("\(what): regularizer '\(cls)' is not supported (supported: L1, L2, L1L2)")
        }
        if case .object(let members) = cfg {
            for (k, _) in members where k != "l1" && k != "l2" {
                throw LSTMError.unsupported("\(what): regularizer option '\(k)' is not supported")
            }
        }
        let reg: Regularizer
        // Keras's defaults: L1 and L2 0.01 (also by name); L1L2 zeros (so is "l1_l2").
        switch cls.lowercased() {
        case "l1": reg = Regularizer(l1: try factor("l1", 0.01))
        case "l2": reg = Regularizer(l2: try factor("l2", 0.01))
        default: reg = Regularizer(l1: try factor("l1", 0), l2: try factor("l2", 0))
        }
        try reg.validate(what)
        return reg
    }

    /// Keras 3's serialized regularizer: L1 or L2 when one factor is set, else L1L2.
    static func json(_ r: Regularizer) -> JSON {
        let (cls, cfg): (String, [(String, JSON)]) =
            r.l2 == 0 && r.l1 > 0 ? ("L1", [("l1", .number(r.l1))])
            : r.l1 == 0 && r.l2 > 0 ? ("L2", [("l2", .number(r.l2))])
            : ("L1L2", [("l1", .number(r.l1)), ("l2", .number(r.l2))])
        return .object([("module", .string("keras.regularizers")), ("class_name", .string(cls)), ("config", .object(cfg)),
                        ("registered_name", .null)])
    }

    /// A layer's config with its regularizers written under their options (the codec writes
    /// them null; activity_regularizer is added when set, as Keras adds it).
    static func apply(_ r: LayerRegularization?, to config: [(String, JSON)]) -> [(String, JSON)] {
        guard let r, !r.isEmpty else { return config }
        var out = config.map { key, value -> (String, JSON) in
            guard key.hasSuffix("_regularizer") else { return (key, value) }
            let reg = key == "activity_regularizer" ? r.activity : r.weights[weightName(key)]
            return (key, reg.map(json) ?? value)
        }
        if let a = r.activity, !out.contains(where: { $0.0 == "activity_regularizer" }) {
            out.append(("activity_regularizer", json(a)))
        }
        return out
    }
}
