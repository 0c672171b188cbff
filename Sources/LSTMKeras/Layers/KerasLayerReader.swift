import LSTMCore

/// Reads one layer config, tracking which keys were understood so that the rest is refused by name.
struct KerasLayerReader {
    let config: JSON
    let layer: String
    let cls: String
    /// Which Keras wrote the config (hard_sigmoid differs).
    let flavor: KerasFlavor
    var seen: Set<String> = []
    /// What `regularizers` read.
    var regularization = LayerRegularization()

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

    /// A finite number option.
    mutating func number(_ key: String, default d: Double) throws -> Double {
        guard let v = get(key), !v.isNull else { return d }
        guard let x = v.numberValue, x.isFinite else {
            throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be a finite number, got \(v.serialized())")
        }
        return x
    }

    /// A list of integers (or one integer, which Keras also accepts where it expects a tuple).
    mutating func ints(_ key: String) throws -> [Int]? {
        guard let v = get(key), !v.isNull else { return nil }
        let items = v.arrayValue ?? [v]
        return try items.map { item in
            guard let x = item.numberValue, x == x.rounded(), abs(x) <= Double(1 << 30) else {
                throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be an integer or a list of integers, got \(v.serialized())")
            }
            return Int(x)
        }
    }

    /// A 1-D layer's size option: an integer or a list of one ("kernel_size": [3]).
    mutating func size1D(_ key: String, default d: Int?) throws -> Int {
        guard let values = try ints(key) else {
            guard let d else { throw LSTMError.format("layer '\(layer)' (\(cls)): '\(key)' is missing") }
            return d
        }
        guard values.count == 1, values[0] >= 1 else {
            throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be one positive integer, got \(values)")
        }
        return values[0]
    }

    /// A (left, right) pair: one integer for both sides, or a list of two.
    mutating func pair(_ key: String, default d: Int) throws -> (Int, Int) {
        guard let values = try ints(key) else { return (d, d) }
        guard values.count == 1 || values.count == 2, values.allSatisfy({ $0 >= 0 }) else {
            throw LSTMError.invalidArgument("layer '\(layer)' (\(cls)): '\(key)' must be an integer >= 0 or a pair of them, got \(values)")
        }
        return (values[0], values.count == 2 ? values[1] : values[0])
    }

    /// Keras's data_format: only channels_last, the layout of these layers.
    mutating func channelsLast() throws { try requireDefault("data_format", .string("channels_last")) }

    /// Keras's regularizer options of this layer ("kernel_regularizer", ..., "activity_regularizer"),
    /// read into `regularization`.
    mutating func regularizers(_ keys: [String]) throws {
        for key in keys {
            guard let v = get(key), !v.isNull else { continue }
            let reg = try KerasRegularizers.parse(v, what: "layer '\(layer)' (\(cls)): \(key)")
            if key == "activity_regularizer" {
                regularization.activity = reg
            } else {
                regularization.weights[KerasRegularizers.weightName(key)] = reg
            }
        }
    }

    /// The keys of options this library leaves to the training issue (constraints): accepted
    /// when null, refused by name otherwise.
    mutating func requireNull(_ keys: [String]) throws { for k in keys { try requireDefault(k, .null) } }

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
        if n == "None" { return .linear }
        if n == "hard_sigmoid", flavor == .keras2 { return .hardSigmoidKeras2 }
        guard let activation = Activation.named(n) else {
            throw LSTMError.unsupported("layer '\(layer)' (\(cls)): \(key) '\(n)' is not supported (supported: \(Activation.names.joined(separator: ", ")))")
        }
        return activation
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
