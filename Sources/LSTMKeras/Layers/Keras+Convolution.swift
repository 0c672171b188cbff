import LSTMCore

/// Keras's Conv1D and the 1-D poolings.
enum Conv1DCodec: KerasLayerCodec {
    static let className = "Conv1D"

    static func parse(_ r: inout KerasLayerReader) throws -> Conv1DSpec {
        var s = Conv1DSpec(name: r.layer, filters: try r.positiveInt("filters"), kernelSize: try r.size1D("kernel_size", default: nil))
        s.strides = try r.size1D("strides", default: 1)
        s.dilationRate = try r.size1D("dilation_rate", default: 1)
        s.padding = r.get("padding")?.stringValue ?? "valid"
        s.activation = try r.activation("activation", default: .linear)
        s.useBias = try r.bool("use_bias", default: true)
        try r.channelsLast()
        try r.requireDefault("groups", .number(1))
        try r.regularizers(["kernel_regularizer", "bias_regularizer", "activity_regularizer"])
        try r.requireNull(["kernel_constraint", "bias_constraint", "lora_rank"])
        try r.accept(["kernel_initializer", "bias_initializer", "lora_alpha"])
        return s
    }

    static func config(_ s: Conv1DSpec) throws -> [(String, JSON)] {
        [("filters", KerasValues.number(s.filters)), ("kernel_size", KerasValues.numbers([s.kernelSize])),
         ("strides", KerasValues.numbers([s.strides])), ("padding", .string(s.padding)), KerasValues.channelsLast,
         ("dilation_rate", KerasValues.numbers([s.dilationRate])), ("groups", .number(1)),
         ("activation", try KerasValues.activation(s.activation, layer: s.name)), ("use_bias", .bool(s.useBias)),
         ("kernel_initializer", KerasValues.glorotUniform), ("bias_initializer", KerasValues.zeros),
         ("kernel_regularizer", .null), ("bias_regularizer", .null), ("activity_regularizer", .null),
         ("kernel_constraint", .null), ("bias_constraint", .null)]
    }
}

/// MaxPooling1D and AveragePooling1D: the same config.
enum KerasPooling {
    static func parse(_ r: inout KerasLayerReader, _ reduction: Pooling1DSpec.Reduction) throws -> Pooling1DSpec {
        let size = try r.size1D("pool_size", default: 2)
        let strides = try r.size1D("strides", default: size)
        try r.channelsLast()
        return Pooling1DSpec(name: r.layer, reduction: reduction, poolSize: size, strides: strides,
                             padding: r.get("padding")?.stringValue ?? "valid")
    }

    static func config(_ s: Pooling1DSpec) -> [(String, JSON)] {
        [("pool_size", KerasValues.numbers([s.poolSize])), ("padding", .string(s.padding)),
         ("strides", KerasValues.numbers([s.strides])), KerasValues.channelsLast]
    }

    static func parseGlobal(_ r: inout KerasLayerReader, _ reduction: Pooling1DSpec.Reduction) throws -> GlobalPooling1DSpec {
        try r.channelsLast()
        return GlobalPooling1DSpec(name: r.layer, reduction: reduction, keepDims: try r.bool("keepdims", default: false))
    }

    static func config(_ s: GlobalPooling1DSpec) -> [(String, JSON)] {
        [KerasValues.channelsLast, ("keepdims", .bool(s.keepDims))]
    }
}

enum MaxPooling1DCodec: KerasLayerCodec {
    static let className = "MaxPooling1D"
    static func parse(_ r: inout KerasLayerReader) throws -> Pooling1DSpec { try KerasPooling.parse(&r, .max) }
    static func config(_ s: Pooling1DSpec) throws -> [(String, JSON)] { KerasPooling.config(s) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum AveragePooling1DCodec: KerasLayerCodec {
    static let className = "AveragePooling1D"
    static func parse(_ r: inout KerasLayerReader) throws -> Pooling1DSpec { try KerasPooling.parse(&r, .average) }
    static func config(_ s: Pooling1DSpec) throws -> [(String, JSON)] { KerasPooling.config(s) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum GlobalMaxPooling1DCodec: KerasLayerCodec {
    static let className = "GlobalMaxPooling1D"
    static func parse(_ r: inout KerasLayerReader) throws -> GlobalPooling1DSpec { try KerasPooling.parseGlobal(&r, .max) }
    static func config(_ s: GlobalPooling1DSpec) throws -> [(String, JSON)] { KerasPooling.config(s) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}

enum GlobalAveragePooling1DCodec: KerasLayerCodec {
    static let className = "GlobalAveragePooling1D"
    static func parse(_ r: inout KerasLayerReader) throws -> GlobalPooling1DSpec { try KerasPooling.parseGlobal(&r, .average) }
    static func config(_ s: GlobalPooling1DSpec) throws -> [(String, JSON)] { KerasPooling.config(s) }
    static func buildConfig(_ inputShapes: [JSON]) -> JSON { .null }
}
