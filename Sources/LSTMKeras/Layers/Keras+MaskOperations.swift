import LSTMCore

/// keras.ops.not_equal as Keras 3 writes it into a graph (mask_zero's mask): the compared value
/// is the call's second positional argument.
enum NotEqualCodec: KerasLayerCodec {
    static let className = "NotEqual"
    static var isOperation: Bool { true }
    static var outputDType: String { "bool" }
    static var module: String { "keras.src.ops.numpy" }
    static var registeredName: JSON { .string(className) }

    static func parse(_ r: inout KerasLayerReader) throws -> NotEqualSpec { NotEqualSpec(name: r.layer, value: 0) }
    static func config(_ s: NotEqualSpec) throws -> [(String, JSON)] { [] }

    static func withCallConstants(_ s: NotEqualSpec, _ constants: [JSON]) throws -> NotEqualSpec {
        guard constants.count == 1, let v = constants[0].numberValue else {
            throw LSTMError.unsupported("'\(s.name)' (NotEqual): only a comparison of a tensor with a number is supported, got \(constants.map { $0.serialized() })")
        }
        return NotEqualSpec(name: s.name, value: v)
    }

    static func callArguments(_ s: NotEqualSpec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) {
        (inputs + [.number(s.value)], [])
    }
}

/// keras.ops.any(axis=-1) as Keras 3 writes it into a graph (Masking's mask).
enum AnyCodec: KerasLayerCodec {
    static let className = "Any"
    static var isOperation: Bool { true }
    static var outputDType: String { "bool" }
    static var module: String { "keras.src.ops.numpy" }
    static var registeredName: JSON { .string(className) }

    static func parse(_ r: inout KerasLayerReader) throws -> AnySpec {
        let axis = try r.int("axis", default: -1)
        guard axis == -1 else {
            throw LSTMError.unsupported("'\(r.layer)' (Any): only axis=-1 is supported, got \(axis)")
        }
        try r.requireDefault("keepdims", .bool(false))
        return AnySpec(name: r.layer)
    }

    static func config(_ s: AnySpec) throws -> [(String, JSON)] { [("axis", .number(-1)), ("keepdims", .bool(false))] }
}
