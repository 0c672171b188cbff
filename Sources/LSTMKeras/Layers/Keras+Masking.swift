import LSTMCore

/// Keras's `Masking(mask_value)`.
enum MaskingCodec: KerasLayerCodec {
    static let className = "Masking"

    static func parse(_ r: inout KerasLayerReader) throws -> MaskingSpec {
        var value = 0.0
        if let v = r.get("mask_value"), !v.isNull {
            guard let d = v.numberValue, d.isFinite else {
                throw LSTMError.invalidArgument("layer '\(r.layer)' (Masking): mask_value must be a finite number, got \(v.serialized())")
            }
            value = d
        }
        return MaskingSpec(name: r.layer, maskValue: value)
    }

    static func config(_ s: MaskingSpec) throws -> [(String, JSON)] { [("mask_value", .number(s.maskValue))] }

    /// Keras never builds a Masking layer: no build_config.
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}
