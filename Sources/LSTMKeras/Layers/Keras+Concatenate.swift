import LSTMCore

/// Keras's `Concatenate(axis)`.
enum ConcatenateCodec: KerasLayerCodec {
    static let className = "Concatenate"

    static func parse(_ r: inout KerasLayerReader) throws -> ConcatenateSpec {
        ConcatenateSpec(name: r.layer, axis: try r.int("axis", default: -1))
    }

    static func config(_ s: ConcatenateSpec) throws -> [(String, JSON)] { [("axis", .number(Double(s.axis)))] }
}
