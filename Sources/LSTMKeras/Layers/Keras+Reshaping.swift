import LSTMCore

/// Keras's layers that only move values (one core spec, `ReshapingSpec`): Flatten, Reshape,
/// Permute, RepeatVector, ZeroPadding1D, Cropping1D, UpSampling1D.
enum FlattenCodec: KerasLayerCodec {
    static let className = "Flatten"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        try r.channelsLast()
        return ReshapingSpec(name: r.layer, operation: .flatten)
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] { [KerasValues.channelsLast] }
}

enum ReshapeCodec: KerasLayerCodec {
    static let className = "Reshape"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        guard let target = try r.ints("target_shape") else {
            throw LSTMError.format("layer '\(r.layer)' (Reshape): 'target_shape' is missing")
        }
        return ReshapingSpec(name: r.layer, operation: .reshape(target))
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] {
        guard case .reshape(let target) = s.operation else { throw mismatch(s, s.operation) }
        return [("target_shape", KerasValues.numbers(target))]
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum PermuteCodec: KerasLayerCodec {
    static let className = "Permute"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        guard let dims = try r.ints("dims") else { throw LSTMError.format("layer '\(r.layer)' (Permute): 'dims' is missing") }
        return ReshapingSpec(name: r.layer, operation: .permute(dims))
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] {
        guard case .permute(let dims) = s.operation else { throw mismatch(s, s.operation) }
        return [("dims", KerasValues.numbers(dims))]
    }
}

enum RepeatVectorCodec: KerasLayerCodec {
    static let className = "RepeatVector"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        ReshapingSpec(name: r.layer, operation: .repeatVector(try r.positiveInt("n")))
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] {
        guard case .repeatVector(let n) = s.operation else { throw mismatch(s, s.operation) }
        return [("n", KerasValues.number(n))]
    }
}

enum ZeroPadding1DCodec: KerasLayerCodec {
    static let className = "ZeroPadding1D"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        try r.channelsLast()
        let (left, right) = try r.pair("padding", default: 1)
        return ReshapingSpec(name: r.layer, operation: .zeroPadding1D(left: left, right: right))
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] {
        guard case let .zeroPadding1D(left, right) = s.operation else { throw mismatch(s, s.operation) }
        return [("padding", KerasValues.numbers([left, right])), KerasValues.channelsLast]
    }
}

enum Cropping1DCodec: KerasLayerCodec {
    static let className = "Cropping1D"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        let (left, right) = try r.pair("cropping", default: 1)
        return ReshapingSpec(name: r.layer, operation: .cropping1D(left: left, right: right))
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] {
        guard case let .cropping1D(left, right) = s.operation else { throw mismatch(s, s.operation) }
        return [("cropping", KerasValues.numbers([left, right]))]
    }
}

enum UpSampling1DCodec: KerasLayerCodec {
    static let className = "UpSampling1D"

    static func parse(_ r: inout KerasLayerReader) throws -> ReshapingSpec {
        ReshapingSpec(name: r.layer, operation: .upSampling1D(try r.size1D("size", default: 2)))
    }

    static func config(_ s: ReshapingSpec) throws -> [(String, JSON)] {
        guard case .upSampling1D(let size) = s.operation else { throw mismatch(s, s.operation) }
        return [("size", KerasValues.number(size))]
    }
}
