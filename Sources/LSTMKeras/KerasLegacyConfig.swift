import LSTMCore

/// Keras 1's layer configs in Keras 2's names, as Keras 2's own legacy interfaces renamed them
/// (keras/legacy/interfaces.py): `output_dim` is `units`, `init` `kernel_initializer`,
/// `inner_activation` `recurrent_activation`, `W_regularizer` `kernel_regularizer`, `dropout_W`
/// `dropout`, `consume_less` `implementation`, `input_dim`/`input_length` the input shape, ...
/// Keras 1 computed hard_sigmoid as Keras 2 did (0.2x + 0.5): a config with these names is read
/// in Keras 2's flavor (KerasConfig.parseModel).
enum KerasLegacyConfig {
    /// Keys only Keras 1 wrote, which tell its configs apart (not output_dim: Keras 2 and 3's
    /// Embedding has one too).
    static let keras1Keys: Set<String> = ["init", "inner_activation", "inner_init", "consume_less", "dropout_W",
                                          "dropout_U", "W_regularizer", "forget_bias_init"]

    static func isKeras1(_ config: JSON) -> Bool {
        guard case .object(let members) = config else { return false }
        return members.contains { keras1Keys.contains($0.0) }
    }

    /// The Keras 2 config of a Keras 1 layer config (others unchanged). Refuses by name what
    /// changes the math and has no Keras 2 form (an Embedding's dropout).
    static func keras2Config(_ cls: String, _ config: JSON, layer: String) throws -> JSON {
        guard case .object(var members) = config, isKeras1(config) || (cls == "Dropout" && config["p"] != nil && config["rate"] == nil) else {
            return config
        }
        func rename(_ pairs: [(String, String)]) {
            for (old, new) in pairs {
                guard let k = members.firstIndex(where: { $0.0 == old }), !members.contains(where: { $0.0 == new }) else { continue }
                members[k].0 = new
            }
        }
        func take(_ key: String) -> JSON? {
            guard let k = members.firstIndex(where: { $0.0 == key }) else { return nil }
            return members.remove(at: k).1
        }
        func setInputShape(_ dims: [JSON]) {
            if !members.contains(where: { ["batch_input_shape", "batch_shape", "input_shape"].contains($0.0) }) {
                members.append(("batch_input_shape", .array([.null] + dims)))
            }
        }
        switch cls {
        case "LSTM", "GRU", "SimpleRNN":
            rename([("output_dim", "units"), ("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
                    ("inner_activation", "recurrent_activation"), ("W_regularizer", "kernel_regularizer"),
                    ("b_regularizer", "bias_regularizer"), ("U_regularizer", "recurrent_regularizer"),
                    ("dropout_W", "dropout"), ("dropout_U", "recurrent_dropout"), ("consume_less", "implementation")])
            // forget_bias_init "one" is unit_forget_bias (an initializer either way: no effect on a loaded model).
            if let f = take("forget_bias_init") { members.append(("unit_forget_bias", .bool(f.stringValue == "one"))) }
            let length = take("input_length"), dim = take("input_dim")
            if let dim, !dim.isNull { setInputShape([length ?? .null, dim]) }
        case "Dense":
            rename([("output_dim", "units"), ("init", "kernel_initializer"), ("W_regularizer", "kernel_regularizer"),
                    ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"),
                    ("b_constraint", "bias_constraint"), ("bias", "use_bias")])
            if let dim = take("input_dim"), !dim.isNull { setInputShape([dim]) }
        case "Embedding":
            rename([("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
                    ("W_constraint", "embeddings_constraint")])
            if let d = take("dropout"), let rate = d.numberValue, rate != 0 {
                throw LSTMError.unsupported("layer '\(layer)' (Embedding): Keras 1's dropout=\(rate) of whole embeddings in training is not supported (Keras 2 dropped it too: a SpatialDropout1D after the Embedding does the same)")
            }
            if let length = take("input_length"), !length.isNull { setInputShape([length]) }
            // Token ids as integers: the library takes them as floats, the same ids.
            if let t = members.first(where: { $0.0 == "input_dtype" })?.1.stringValue, t.hasPrefix("int") { _ = take("input_dtype") }
        case "Dropout":
            rename([("p", "rate")])
        default:
            break
        }
        return .object(members)
    }
}
