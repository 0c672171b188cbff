import LSTMCore

/// Reads one layer config, tracking which keys were understood so that the rest is refused by name.
struct KerasLayerReader {
    let config: JSON
    let layer: String
    let cls: String
    /// Which Keras wrote the config (hard_sigmoid differs).
    let flavor: KerasFlavor
    var seen: Set<String> = []

    init(config: JSON, layer: String, cls: String, flavor: KerasFlavor) {
        self.config = config
        self.layer = layer
        self.cls = cls
        self.flavor = flavor
    }

    mutating func get(_ key: String) -> JSON? {
        seen.insert(key)
        return config[key]
    }

    mutating func accept(_ keys: [String]) throws { for k in keys { seen.insert(k) } }

    /// The batch size a batch_shape fixes (stateful models), if any.
    mutating func batchSize() -> Int? {
        for key in ["batch_shape", "batch_input_shape"] {
            if let d = config[key]?.arrayValue?.first?.numberValue, d >= 1, d <= Double(1 << 24), d == d.rounded() {
                return Int(d)
            }
        }
        return nil
    }

    /// The per-sample input shape a config gives (InputLayer's, or a first layer's in Sequential).
    mutating func batchShape(required: Bool) throws -> SampleShape? {
        for key in ["batch_shape", "batch_input_shape"] {
            if let v = get(key), !v.isNull { return try KerasConfig.parseBatchShape(v, layer: layer) }
        }
        if let v = get("input_shape"), let a = v.arrayValue {
            return try KerasConfig.parseBatchShape(.array([.null] + a), layer: layer)
        }
        if let v = get("shape"), let a = v.arrayValue {
            return try KerasConfig.parseBatchShape(.array([.null] + a), layer: layer)
        }
        if required { throw LSTMError.format("layer '\(layer)': InputLayer has no batch_shape or batch_input_shape") }
        return nil
    }

    mutating func positiveInt(_ key: String, limit: Int = 1 << 20) throws -> Int {
        guard let v = get(key) else { throw LSTMError.format("layer '\(layer)' (\(cls)): '\(key)' is missing") }
        guard let d = v.numberValue, d == d.rounded(), d >= 1, d <= Double(limit) else {
            throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be a positive integer (at most \(limit)), got \(v.serialized())")
        }
        return Int(d)
    }

    /// An integer option (negative allowed: axes count from the end).
    mutating func int(_ key: String, default d: Int) throws -> Int {
        guard let v = get(key), !v.isNull else { return d }
        guard let x = v.numberValue, x == x.rounded(), abs(x) <= Double(1 << 20) else {
            throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be an integer, got \(v.serialized())")
        }
        return Int(x)
    }

    mutating func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = get(key), !v.isNull else { return d }
        guard let b = v.boolValue else {
            throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be true or false, got \(v.serialized())")
        }
        return b
    }

    mutating func activation(_ key: String, default d: Activation) throws -> Activation {
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
