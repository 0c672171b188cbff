/// Keras's Embedding: each token id (a whole number in 0..<inputDim, passed as a float) becomes
/// its row of the `embeddings` matrix (inputDim × outputDim).
public struct EmbeddingSpec: LayerSpec, Equatable {
    public var name: String
    public var inputDim: Int
    public var outputDim: Int
    /// Keras's mask_zero: id 0 is padding, masked for the layers after.
    public var maskZero = false

    public init(name: String = "embedding", inputDim: Int, outputDim: Int, maskZero: Bool = false) {
        self.name = name
        self.inputDim = inputDim
        self.outputDim = outputDim
        self.maskZero = maskZero
    }

    public var kind: String { "Embedding" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        try LayerChecks.size(inputDim, "layer '\(name)': input_dim", limit: 1 << 24)
        try LayerChecks.size(outputDim, "layer '\(name)': output_dim")
        if maskZero, input.count != 1 {
            throw LSTMError.unsupported("layer '\(name)' (Embedding): mask_zero on ids of shape \(LayerChecks.describe(input)) is supported only for (batch, timesteps)")
        }
        _ = try checkedProduct([inputDim, outputDim], "layer '\(name)': embeddings")
        return EmbeddingLayer(config: self, input: input)
    }
}

/// Whether v is a token id of a vocabulary of `limit`: a whole number in 0..<limit (NaN and the
/// infinities are not). The one rule the layer, predict's input check and streaming share.
@inline(__always)
func isTokenId<T: Scalar>(_ v: T, below limit: Int) -> Bool {
    v >= 0 && v < T(limit) && v == v.rounded(.towardZero)
}

struct EmbeddingLayer: StatelessStep {
    let config: EmbeddingSpec
    let input: SampleShape

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [input] }
    var outputShapes: [SampleShape] { [input + [config.outputDim]] }
    var weights: [WeightSpec] { [WeightSpec("embeddings", [config.inputDim, config.outputDim])] }
    var tokenIdLimit: Int? { config.inputDim }

    /// Keras's RandomUniform(-0.05, 0.05).
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        [(0..<(config.inputDim * config.outputDim)).map { _ in T(rng.uniform() * 0.1 - 0.05) }]
    }

    func outputShapes(for inputs: [[Int]]) -> [[Int]] { [inputs[0] + [config.outputDim]] }

    var producesMask: Bool { config.maskZero }

    /// With mask_zero, the steps whose id is 0 are masked (ids of shape (batch, timesteps)).
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] {
        let x = inputs[0]
        guard config.maskZero, x.shape.count == 2 else { return [nil] }
        return [Mask(batch: x.shape[0], steps: x.shape[1], values: x.values.map { $0 != 0 })]
    }

    /// The row of an id, or nil for a value that is not one (the model refuses such inputs
    /// before running; a layer in the middle of a graph gives zeros for them).
    @inline(__always)
    func row<T: Scalar>(_ id: T) -> Int? {
        guard isTokenId(id, below: config.inputDim) else { return nil }
        return Int(id)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let ids = inputs[0].values, d = config.outputDim, table = w[0]
        var out = Tensor<T>(zeros: inputs[0].shape + [d])
        out.values.withUnsafeMutableBufferPointer { o in
            for (k, id) in ids.enumerated() {
                guard let r = row(id) else { continue }
                (o.baseAddress! + k * d).update(from: table.baseAddress! + r * d, count: d)
            }
        }
        return [out]
    }

    /// Each id's row receives the gradient of its output; ids have none.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let d = config.outputDim, table = g[0].baseAddress!
        outputGradients[0].values.withUnsafeBufferPointer { dO in
            for (k, id) in inputs[0].values.enumerated() {
                guard let r = row(id) else { continue }
                let dst = table + r * d, src = dO.baseAddress! + k * d
                for j in 0..<d { dst[j] += src[j] }
            }
        }
        return [nil]
    }

    var sparseGradientWeights: [Int] { [0] }

    /// Each occurrence of an id is one slice of its row: its output's gradient.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func addSliceSums<T: Scalar>(_ inputs: [Tensor<T>], outputGradients: [Tensor<T>], into sums: SliceSums<T>.Buffers) {
        let d = config.outputDim
        outputGradients[0].values.withUnsafeBufferPointer { dO in
            for (k, id) in inputs[0].values.enumerated() {
                guard let r = row(id) else { continue }
                sums.add(dO.baseAddress! + k * d, count: d, weight: 0, at: r * d)
            }
        }
    }

    func checkStreamable() throws {}

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        let d = config.outputDim
        if let r = row(inputs[0][0]) {
            outputs[0].update(from: w[0].baseAddress! + r * d, count: d)
        } else {
            outputs[0].update(repeating: 0, count: d)
        }
    }
}
