import LSTMCore

/// Keras's `Embedding`.
enum EmbeddingCodec: KerasLayerCodec {
    static let className = "Embedding"

    static func parse(_ r: inout KerasLayerReader) throws -> EmbeddingSpec {
        let s = EmbeddingSpec(name: r.layer, inputDim: try r.positiveInt("input_dim", limit: 1 << 24),
                              outputDim: try r.positiveInt("output_dim"), maskZero: try r.bool("mask_zero", default: false))
        try r.requireDefault("sparse", .bool(false))
        try r.regularizers(["embeddings_regularizer", "activity_regularizer"])
        for k in ["embeddings_constraint", "lora_rank", "quantization_config"] {
            try r.requireDefault(k, .null)
        }
        // input_length (Keras 2) only restated the input's shape.
        try r.accept(["embeddings_initializer", "input_length", "lora_alpha"])
        return s
    }

    static func config(_ s: EmbeddingSpec) throws -> [(String, JSON)] {
        [("input_dim", .number(Double(s.inputDim))), ("output_dim", .number(Double(s.outputDim))),
         ("embeddings_initializer", KerasValues.initializer("RandomUniform", [("seed", .null), ("minval", .number(-0.05)),
                                                                             ("maxval", .number(0.05))])),
         ("embeddings_regularizer", .null), ("activity_regularizer", .null), ("embeddings_constraint", .null),
         ("mask_zero", .bool(s.maskZero)), ("quantization_config", .null)]
    }
}
