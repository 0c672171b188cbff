import LSTMCore

/// How one Keras layer class moves between Keras's JSON and weight files and the core's spec:
/// its config read and written, where its weights sit in a Keras 3 file and what the legacy
/// layout calls them. One codec per class, registered in `KerasLayers.codecs`.
protocol KerasLayerCodec {
    associatedtype Spec: LayerSpec
    /// Keras's class name ("LSTM"); the core spec's `kind` is the same.
    static var className: String { get }
    /// Reads the layer's config. `name`, `trainable`, `dtype` and the input-shape keys are read by
    /// the model reader; every other key the codec does not read is refused by name.
    static func parse(_ r: inout KerasLayerReader) throws -> Spec
    /// The Keras 3 config members after `name`, `trainable` and `dtype`.
    static func config(_ spec: Spec) throws -> [(String, JSON)]
    /// The same, for a layer first called on inputs of these shapes (a wrapper writes its inner
    /// layers' build_config from them).
    static func config(_ spec: Spec, inputShapes: [SampleShape]) throws -> [(String, JSON)]
    /// The groups below the layer's key in a Keras 3 weights file that hold its weights, in order.
    static func keras3Groups(_ spec: Spec, weightCount: Int) -> [Keras3VarGroup]
    /// Where the legacy (Keras 2) layout puts the weights below the layer's name ("lstm_cell"), if anywhere.
    static func legacyCell(_ spec: Spec) -> String?
    /// The legacy layout's name of each weight ("lstm/lstm_cell/kernel"), from the layer's own
    /// names of its weights ("kernel").
    static func legacyWeightPaths(_ spec: Spec, weights: [String]) throws -> [String]
    /// The layer's weights from arrays a file holds in an older layout of its class (Keras 0.x
    /// and 1.x's one array per gate, Keras 2's CuDNN layers), told apart by their count and
    /// shapes; nil when they are in none. `expected` are today's shapes.
    static func weightsFromOlderLayout(_ spec: Spec, _ arrays: [KerasOlderRecurrentLayouts.Array2], expected: [[Int]],
                                       _ where_: String) throws -> [[Float]]?
    /// How a call's input tensors are written in Keras 3's inbound_nodes: positional arguments
    /// and keywords (a recurrent layer's initial state is the `initial_state` keyword).
    static func callArguments(_ spec: Spec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)])
    /// Takes the call's positional arguments that are not tensors (NotEqual's value); a codec
    /// without any refuses them.
    static func withCallConstants(_ spec: Spec, _ constants: [JSON]) throws -> Spec
    /// An operation of keras.ops rather than a layer (Keras 3 writes them into a graph to compute
    /// masks): its config is only its name, and Keras's model.layers and weight files leave it out.
    static var isOperation: Bool { get }
    /// The dtype of the tensors its calls make ("bool" for the mask operations).
    static var outputDType: String { get }
    /// The `module` and `registered_name` of its entry.
    static var module: String { get }
    static var registeredName: JSON { get }
    /// The `build_config` Keras writes for a layer first called on inputs of these shapes (null:
    /// none, for layers that are never built).
    static func buildConfig(_ inputShapes: [JSON]) -> JSON
    /// The config members before the codec's own: name, trainable and the dtype policy (a few
    /// Keras classes take fewer arguments and must be written with fewer).
    static func commonConfig(name: String, trainable: Bool) -> [(String, JSON)]
}

/// One `vars` group of a Keras 3 weights file: its path below the layer's key, how many of the
/// layer's weights it holds (in order), and the `name` attribute Keras writes on it.
struct Keras3VarGroup {
    var path: String
    var count: Int
    var nameAttribute: String
}

extension KerasLayerCodec {
    static func keras3Groups(_ spec: Spec, weightCount: Int) -> [Keras3VarGroup] {
        [Keras3VarGroup(path: "vars", count: weightCount, nameAttribute: spec.name)]
    }

    static func legacyCell(_ spec: Spec) -> String? { nil }

    static func weightsFromOlderLayout(_ spec: Spec, _ arrays: [KerasOlderRecurrentLayouts.Array2], expected: [[Int]],
                                       _ where_: String) throws -> [[Float]]? { nil }

    static func weightsFromOlderLayoutAny(_ spec: any LayerSpec, _ arrays: [KerasOlderRecurrentLayouts.Array2], expected: [[Int]],
                                          _ where_: String) throws -> [[Float]]? {
        try weightsFromOlderLayout(try typed(spec), arrays, expected: expected, where_)
    }

    static func config(_ spec: Spec, inputShapes: [SampleShape]) throws -> [(String, JSON)] { try config(spec) }

    static func legacyWeightPaths(_ spec: Spec, weights: [String]) throws -> [String] {
        let cell = legacyCell(spec).map { "/" + $0 } ?? ""
        return weights.map { "\(spec.name)\(cell)/\($0)" }
    }

    static func buildConfig(_ inputShapes: [JSON]) -> JSON {
        guard let first = inputShapes.first else { return .null }
        return .object([("input_shape", inputShapes.count == 1 ? first : .array(inputShapes))])
    }

    /// One tensor positional; several (a merge) as one list.
    static func callArguments(_ spec: Spec, _ inputs: [JSON]) -> (args: [JSON], kwargs: [(String, JSON)]) {
        (inputs.count == 1 ? inputs : [.array(inputs)], [])
    }

    static func withCallConstants(_ spec: Spec, _ constants: [JSON]) throws -> Spec {
        guard constants.isEmpty else {
            throw LSTMError.unsupported("layer '\(spec.name)' (\(className)): a call with arguments other than tensors (\(constants.map { $0.serialized() }.joined(separator: ", "))) is not supported")
        }
        return spec
    }

    static func commonConfig(name: String, trainable: Bool) -> [(String, JSON)] {
        [("name", .string(name)), ("trainable", .bool(trainable)), ("dtype", KerasValues.float32Policy)]
    }

    /// For codecs whose classes share one core spec (the activation, reshaping and noise
    /// layers): a spec of another of those classes reached this one's writer.
    static func mismatch(_ spec: Spec, _ variant: Any) -> LSTMError {
        .internal("layer '\(spec.name)' (\(spec.kind)): \(variant) does not belong to class \(className)")
    }

    static var isOperation: Bool { false }
    static var outputDType: String { "float32" }
    static var module: String { "keras.layers" }
    static var registeredName: JSON { .null }

    static func callArgumentsAny(_ spec: any LayerSpec, _ inputs: [JSON]) throws -> (args: [JSON], kwargs: [(String, JSON)]) {
        callArguments(try typed(spec), inputs)
    }

    static func withCallConstantsAny(_ spec: any LayerSpec, _ constants: [JSON]) throws -> any LayerSpec {
        try withCallConstants(try typed(spec), constants)
    }

    // The same, for a spec known only as `any LayerSpec` (the registry's lookups).
    static func parseAny(_ r: inout KerasLayerReader) throws -> any LayerSpec { try parse(&r) }

    static func configAny(_ spec: any LayerSpec, inputShapes: [SampleShape] = []) throws -> [(String, JSON)] {
        try config(try typed(spec), inputShapes: inputShapes)
    }

    static func keras3GroupsAny(_ spec: any LayerSpec, weightCount: Int) throws -> [Keras3VarGroup] {
        keras3Groups(try typed(spec), weightCount: weightCount)
    }

    static func legacyWeightPathsAny(_ spec: any LayerSpec, weights: [String]) throws -> [String] {
        try legacyWeightPaths(try typed(spec), weights: weights)
    }

    static func typed(_ spec: any LayerSpec) throws -> Spec {
        guard let s = spec as? Spec else {
            throw LSTMError.internal("layer '\(spec.name)': its spec (\(type(of: spec))) is not the \(className) codec's")
        }
        return s
    }
}

/// The registry: every layer class the Keras readers and writers know.
enum KerasLayers {
    static let codecs: [any KerasLayerCodec.Type] = [
        LSTMCodec.self, GRUCodec.self, SimpleRNNCodec.self, CuDNNLSTMCodec.self, CuDNNGRUCodec.self,
        BidirectionalCodec.self, EmbeddingCodec.self, MaskingCodec.self,
        NotEqualCodec.self, AnyCodec.self,
        DenseCodec.self, ConcatenateCodec.self, TimeDistributedCodec.self,
        ActivationCodec.self, LeakyReLUCodec.self, ReLUCodec.self, ELUCodec.self, SoftmaxCodec.self, PReLUCodec.self,
        FlattenCodec.self, ReshapeCodec.self, PermuteCodec.self, RepeatVectorCodec.self,
        ZeroPadding1DCodec.self, Cropping1DCodec.self, UpSampling1DCodec.self,
        DropoutCodec.self, SpatialDropout1DCodec.self, GaussianNoiseCodec.self, GaussianDropoutCodec.self,
        Conv1DCodec.self, MaxPooling1DCodec.self, AveragePooling1DCodec.self,
        GlobalMaxPooling1DCodec.self, GlobalAveragePooling1DCodec.self,
        BatchNormalizationCodec.self, LayerNormalizationCodec.self,
        AddCodec.self, SubtractCodec.self, MultiplyCodec.self, AverageCodec.self, MaximumCodec.self, MinimumCodec.self,
    ]

    private static let byClass: [String: any KerasLayerCodec.Type] =
        Dictionary(uniqueKeysWithValues: codecs.map { ($0.className, $0) })

    /// The codec of a Keras class; `.unsupported` naming the layer and class when there is none.
    static func codec(className: String, layer: String) throws -> any KerasLayerCodec.Type {
        guard let c = byClass[className] else {
            if className == "Lambda" {
                throw LSTMError.unsupported("layer '\(layer)' (Lambda) holds Python code, which is never run from a file")
            }
            let known = (["InputLayer"] + codecs.map { $0.className }).joined(separator: ", ")
            throw LSTMError.unsupported("layer '\(layer)': layer class '\(className)' is not supported (supported: \(known))")
        }
        return c
    }

    /// Whether a spec is a keras.ops operation (see KerasLayerCodec.isOperation).
    static func isOperation(_ spec: any LayerSpec) -> Bool {
        (try? codec(for: spec))?.isOperation ?? false
    }

    /// The codec that writes a core spec.
    static func codec(for spec: any LayerSpec) throws -> any KerasLayerCodec.Type {
        try codec(className: spec.kind, layer: spec.name)
    }
}
