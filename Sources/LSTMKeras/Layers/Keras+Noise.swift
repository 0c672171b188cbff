import LSTMCore

/// Keras's noise layers (one core spec, `NoiseSpec`): Dropout, SpatialDropout1D, GaussianNoise,
/// GaussianDropout. Keras builds none of them: no build_config.
enum KerasNoise {
    static func seed(_ r: inout KerasLayerReader) throws -> Int? {
        guard let v = r.get("seed"), !v.isNull else { return nil }
        guard let d = v.numberValue, d == d.rounded(), abs(d) <= Double(Int32.max) * 2 else {
            throw LSTMError.invalidArgument("layer '\(r.layer)' (\(r.cls)): seed must be an integer or null, got \(v.serialized())")
        }
        return Int(d)
    }

    static func seedJSON(_ s: NoiseSpec) -> (String, JSON) { ("seed", s.seed.map { .number(Double($0)) } ?? .null) }
}

enum DropoutCodec: KerasLayerCodec {
    static let className = "Dropout"

    static func parse(_ r: inout KerasLayerReader) throws -> NoiseSpec {
        let rate = try r.number("rate", default: .nan)
        guard !rate.isNaN else { throw LSTMError.format("layer '\(r.layer)' (Dropout): 'rate' is missing") }
        var shape: [Int?]? = nil
        if let v = r.get("noise_shape"), !v.isNull {
            guard let items = v.arrayValue else {
                throw LSTMError.invalidArgument("layer '\(r.layer)' (Dropout): noise_shape must be a list, got \(v.serialized())")
            }
            shape = try items.map { item in
                if item.isNull { return nil }
                guard let d = item.numberValue, d == d.rounded(), d >= 1, d <= Double(1 << 30) else {
                    throw LSTMError.invalidArgument("layer '\(r.layer)' (Dropout): noise_shape entries must be positive integers or null, got \(v.serialized())")
                }
                return Int(d)
            }
        }
        return NoiseSpec(name: r.layer, noise: .dropout(rate: rate, noiseShape: shape), seed: try KerasNoise.seed(&r))
    }

    static func config(_ s: NoiseSpec) throws -> [(String, JSON)] {
        guard case let .dropout(rate, shape) = s.noise else { throw mismatch(s, s.noise) }
        return [("rate", .number(rate)), KerasNoise.seedJSON(s),
                ("noise_shape", shape.map { .array($0.map { $0.map { .number(Double($0)) } ?? .null }) } ?? .null)]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum SpatialDropout1DCodec: KerasLayerCodec {
    static let className = "SpatialDropout1D"

    static func parse(_ r: inout KerasLayerReader) throws -> NoiseSpec {
        try r.accept(["noise_shape"])  // tf-keras writes null; the layer decides it
        return NoiseSpec(name: r.layer, noise: .spatialDropout1D(rate: try r.number("rate", default: 0)), seed: try KerasNoise.seed(&r))
    }

    static func config(_ s: NoiseSpec) throws -> [(String, JSON)] {
        guard case .spatialDropout1D(let rate) = s.noise else { throw mismatch(s, s.noise) }
        return [("rate", .number(rate)), KerasNoise.seedJSON(s)]
    }

    /// Keras 3's SpatialDropout1D takes no trainable argument, and its dtype as a name.
    static func commonConfig(name: String, trainable: Bool) -> [(String, JSON)] {
        [("name", .string(name)), ("dtype", .string("float32"))]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum GaussianNoiseCodec: KerasLayerCodec {
    static let className = "GaussianNoise"

    static func parse(_ r: inout KerasLayerReader) throws -> NoiseSpec {
        NoiseSpec(name: r.layer, noise: .gaussianNoise(stddev: try r.number("stddev", default: 0)), seed: try KerasNoise.seed(&r))
    }

    static func config(_ s: NoiseSpec) throws -> [(String, JSON)] {
        guard case .gaussianNoise(let stddev) = s.noise else { throw mismatch(s, s.noise) }
        return [("stddev", .number(stddev)), KerasNoise.seedJSON(s)]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum GaussianDropoutCodec: KerasLayerCodec {
    static let className = "GaussianDropout"

    static func parse(_ r: inout KerasLayerReader) throws -> NoiseSpec {
        NoiseSpec(name: r.layer, noise: .gaussianDropout(rate: try r.number("rate", default: 0)), seed: try KerasNoise.seed(&r))
    }

    static func config(_ s: NoiseSpec) throws -> [(String, JSON)] {
        guard case .gaussianDropout(let rate) = s.noise else { throw mismatch(s, s.noise) }
        return [("rate", .number(rate)), KerasNoise.seedJSON(s)]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}
