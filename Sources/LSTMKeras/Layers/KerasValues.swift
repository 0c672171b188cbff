import LSTMCore

/// JSON values that many layer configs write the same way: the dtype policy, initializers,
/// activations, shapes.
enum KerasValues {
    static let float32Policy: JSON = .object([
        ("module", .string("keras")), ("class_name", .string("DTypePolicy")),
        ("config", .object([("name", .string("float32"))])), ("registered_name", .null),
    ])

    static func initializer(_ cls: String, _ config: [(String, JSON)]) -> JSON {
        .object([("module", .string("keras.initializers")), ("class_name", .string(cls)),
                 ("config", .object(config)), ("registered_name", .null)])
    }

    static let glorotUniform = initializer("GlorotUniform", [("seed", .null), ("input_axes", .null), ("output_axes", .null)])
    static let orthogonal = initializer("Orthogonal", [("seed", .null), ("gain", .number(1.0))])
    static let zeros = initializer("Zeros", [])
    static let ones = initializer("Ones", [])

    static func number(_ v: Int) -> JSON { .number(Double(v)) }
    static func numbers(_ v: [Int]) -> JSON { .array(v.map { .number(Double($0)) }) }
    static let channelsLast: (String, JSON) = ("data_format", .string("channels_last"))

    static func activation(_ a: Activation, layer: String) throws -> JSON {
        if a == .hardSigmoidKeras2 { return .string(Activation.keras2HardSigmoidName) }
        guard Activation.named(a.kerasName) == a else {
            throw LSTMError.unsupported("layer '\(layer)': its activation \(a) has parameters that Keras's activation strings cannot express")
        }
        return .string(a.kerasName)
    }

    /// A batch shape: [null, 12, 1] (the batch given when fixed).
    static func batchShape(_ dims: SampleShape, batch: Int? = nil) -> JSON {
        .array([batch.map { .number(Double($0)) } ?? .null] + dims.map { $0.map { .number(Double($0)) } ?? .null })
    }
}
