/// A model: a graph of layer calls (a chain for Sequential), the weights in Keras's order and
/// shapes, and (once compiled) a loss and optimizer state.
///
/// Thread safety: `predict`, `run`, `evaluate` and `step` (with separate states) only read the
/// model and may run concurrently; `compile`, `fit` and `setWeights` need exclusive access.
public final class Model<T: Scalar> {
    /// Its architecture (only `frozenLayers` changes after init: `setTrainable`).
    public private(set) var spec: ModelSpec
    /// One built layer per node (a layer called twice is built for each call's shapes; the
    /// calls share the layer's weights).
    let nodeLayers: [any Layer]
    /// Per layer of `spec.layers`: the index of its first array in the weight list, and its count.
    let weightRanges: [Range<Int>]
    let params: Parameters<T>
    /// Per layer of `spec.layers`: its arrays in `params`.
    let layerWeights: [[UnsafeMutableBufferPointer<T>]]
    /// Keras's shape of each weight array, e.g. [49, 200] for an LSTM(50) kernel on 49 features.
    public let weightShapes: [[Int]]
    /// "layer/kernel", "layer/recurrent_kernel", "layer/bias" for each weight array.
    public let weightNames: [String]
    /// The indices of the weight arrays the optimizer updates, in Keras's order of
    /// `model.trainable_weights`: not those of frozen layers, nor BatchNormalization's moving
    /// statistics.
    public private(set) var trainableArrays: [Int]
    /// Per weight array: whether its layer declares it trainable (not a moving statistic).
    let weightIsTrainable: [Bool]
    /// Per node: the per-sample shapes of its outputs.
    let nodeOutputShapes: [[SampleShape]]
    public internal(set) var compileSpec: CompileSpec?
    var optimizer: OptimizerState<T>?
    /// The output nodes a compiled crossentropy reads the logits of, run without their final
    /// activation in the loss passes (see Model+Logits.swift).
    var logitLayers: [Int: LogitOutput] = [:]
    /// The losses `logitLayers` were found for.
    var logitLayersLoss: OutputLosses?
    /// The compiled loss of each output and its weight.
    var compiledLosses: OutputLosses?
    /// The compile's metrics, one per output they are reported for (see Model+Metrics.swift).
    var compiledMetrics: [OutputMetric] = []
    /// Where the training-time noise (dropout) of the next training pass comes from: the fit's
    /// seed and the number of batches trained since (see `noiseSeed`).
    var noise = (seed: UInt64(0), batch: UInt64(0))
    /// What the last fit kept for the next (see FitMemory); nil before the first fit and after
    /// releaseTrainingMemory.
    var fitMemory: FitMemory<T>?

    /// Builds the model and initialises its weights as Keras does, from `seed`.
    /// - Throws: `.invalidArgument` for absurd sizes or a malformed graph, `.shapeMismatch` for
    ///   layers that do not fit together, `.unsupported` for options a layer cannot honour.
    public init(spec: ModelSpec, seed: UInt64) throws {
        let built = try spec.buildNodes()
        var firstBuild: [(any Layer)?] = Array(repeating: nil, count: spec.layers.count)
        for (node, layer) in zip(spec.nodes, built) where firstBuild[node.layer] == nil { firstBuild[node.layer] = layer }
        var ranges: [Range<Int>] = [], wShapes: [[Int]] = [], names: [String] = [], declared: [Bool] = []
        for layer in firstBuild.compactMap({ $0 }) {
            let start = wShapes.count
            for w in layer.weights {
                _ = try checkedProduct(w.shape, "layer '\(layer.name)': \(w.name)")
                declared.append(w.trainable)
                wShapes.append(w.shape)
                names.append("\(layer.name)/\(w.name)")
            }
            ranges.append(start..<wShapes.count)
        }
        _ = try checkedProduct([wShapes.reduce(0) { $0 + $1.reduce(1, *) }], "model parameters")
        try Self.checkRegularization(spec, layers: firstBuild)
        var rng = SeededRandom(seed: seed)
        var initial: [[T]] = []
        for layer in firstBuild.compactMap({ $0 }) { initial += layer.initialWeights(&rng) }
        let params = Parameters(initial)
        self.spec = spec
        self.nodeLayers = built
        self.nodeOutputShapes = built.map(\.outputShapes)
        self.weightRanges = ranges
        self.weightShapes = wShapes
        self.weightNames = names
        self.weightIsTrainable = declared
        self.trainableArrays = Self.trainable(declared: declared, ranges: ranges, frozen: spec.frozenLayers)
        self.params = params
        self.layerWeights = ranges.map { Array(params.arrays[$0]) }
    }

    /// Each regularizer's values, and that the weight it names exists (a bias regularizer on a
    /// layer without bias is kept, unused, as Keras keeps it).
    static func checkRegularization(_ spec: ModelSpec, layers: [(any Layer)?]) throws {
        for (l, r) in spec.regularization {
            guard spec.layers.indices.contains(l), let layer = layers[l] else {
                throw LSTMError.invalidArgument("regularization given for layer \(l), which the model does not have")
            }
            try r.activity?.validate("layer '\(layer.name)': activity_regularizer")
            let names = Set(layer.weights.map(\.name))
            for (w, reg) in r.weights {
                try reg.validate("layer '\(layer.name)': the regularizer of '\(w)'")
                guard names.contains(w) || w == "bias" else {
                    throw LSTMError.invalidArgument("layer '\(layer.name)' (\(layer.kind)) has no weight '\(w)' to regularize (its weights: \(layer.weights.map(\.name).joined(separator: ", ")))")
                }
            }
        }
    }

    /// The seed of one node's noise in the next training pass: a different stream per fit seed,
    /// batch and layer call.
    func noiseSeed(node: Int) -> UInt64 {
        var mix = SeededRandom(seed: noise.seed ^ 0x5DEE_CE66_D1CE_4E5B)
        let base = mix.next()
        var perBatch = SeededRandom(seed: base &+ noise.batch &* 0x9E37_79B9_7F4A_7C15)
        let batchSeed = perBatch.next()
        var perNode = SeededRandom(seed: batchSeed &+ UInt64(node) &* 0xC2B2_AE3D_27D4_EB4F)
        return perNode.next()
    }

    /// The arrays fit trains: declared trainable and not in a frozen layer.
    static func trainable(declared: [Bool], ranges: [Range<Int>], frozen: Set<Int>) -> [Int] {
        ranges.enumerated().flatMap { l, r in frozen.contains(l) ? [] : r.filter { declared[$0] } }
    }

    /// Freezes or unfreezes a layer (Keras's `layer.trainable = ...`). As in Keras, where a change
    /// takes effect at the next compile, a compiled model's optimizer state starts over (it
    /// holds slots for the trainable weights only). Needs exclusive access.
    /// - Throws: `.invalidArgument` when the model has no layer of that name.
    public func setTrainable(_ trainable: Bool, layer name: String) throws {
        guard let l = spec.layers.firstIndex(where: { $0.name == name }) else {
            throw LSTMError.invalidArgument("model '\(spec.name)' has no layer '\(name)' (layers: \(spec.layers.map(\.name).joined(separator: ", ")))")
        }
        guard trainable == spec.frozenLayers.contains(l) else { return }
        if trainable { spec.frozenLayers.remove(l) } else { spec.frozenLayers.insert(l) }
        trainableArrays = Self.trainable(declared: weightIsTrainable, ranges: weightRanges, frozen: spec.frozenLayers)
        if let c = compileSpec { try compile(c) }
    }

    /// For each layer of `spec.layers`, the indices of its arrays in `weights`.
    public var layerWeightRanges: [Range<Int>] { weightRanges }

    /// The weights, as Keras's `model.get_weights()` lists them.
    public var weights: [[T]] { params.values }

    /// Number of scalars in every weight array (what `copyWeights` writes).
    public var parameterCount: Int { weightShapes.reduce(0) { $0 + $1.reduce(1, *) } }

    /// Number of scalars the optimizer trains (Keras's trainable params).
    public var trainableParameterCount: Int { trainableArrays.reduce(0) { $0 + weightShapes[$1].reduce(1, *) } }

    /// The per-sample shape of each model output (nil where it depends on the input's length).
    public var outputShapes: [SampleShape] { spec.outputs.map(sampleShape) }

    func sampleShape(_ ref: ModelSpec.TensorRef) -> SampleShape {
        switch ref {
        case .input(let i): return spec.inputs[i].shape
        case .node(let j, let k): return nodeOutputShapes[j][k]
        }
    }

    // MARK: - Weights

    /// Replaces every weight array at once, after checking counts and values.
    public func setWeights(_ new: [[T]]) throws {
        guard new.count == weightShapes.count else {
            throw LSTMError.shapeMismatch("model '\(spec.name)' has \(weightShapes.count) weight arrays, got \(new.count)")
        }
        for (k, w) in new.enumerated() {
            guard w.count == params.arrays[k].count else {
                throw LSTMError.shapeMismatch("weight '\(weightNames[k])' has shape \(weightShapes[k]) (\(params.arrays[k].count) values), got \(w.count) values")
            }
            if let bad = w.firstIndex(where: { !$0.isFinite }) {
                throw LSTMError.numeric("weight '\(weightNames[k])' holds a non-finite value (\(w[bad])) at index \(bad)")
            }
        }
        params.assign(new)
    }

    /// All weights concatenated in Keras's order, into a buffer of exactly `parameterCount` values.
    public func copyWeights(into buffer: UnsafeMutableBufferPointer<T>) throws {
        try checkFlatCount(buffer.count)
        var offset = 0
        for arr in params.arrays {
            (buffer.baseAddress! + offset).update(from: arr.baseAddress!, count: arr.count)
            offset += arr.count
        }
    }

    /// Replaces every weight from one concatenated buffer (as `copyWeights` writes it).
    public func setWeights(flat buffer: UnsafeBufferPointer<T>) throws {
        try checkFlatCount(buffer.count)
        var offset = 0
        var arrays: [[T]] = []
        for arr in params.arrays {
            arrays.append(Array(UnsafeBufferPointer(start: buffer.baseAddress! + offset, count: arr.count)))
            offset += arr.count
        }
        try setWeights(arrays)
    }

    private func checkFlatCount(_ count: Int) throws {
        guard count == parameterCount else {
            throw LSTMError.shapeMismatch("the weights hold \(count) values, but the model has \(parameterCount) parameters")
        }
    }

    // MARK: - Compile

    /// Sets the loss, optimizer and metrics; resets the optimizer state.
    public func compile(_ c: CompileSpec) throws {
        try c.optimizer.validate()
        let losses = try c.outputLosses(for: spec)
        let metrics = try assignMetrics(c.metrics, weighted: c.weightedMetrics, losses: losses)
        try findLogitLayers(for: losses)
        compileSpec = c
        compiledLosses = losses
        compiledMetrics = metrics
        optimizer = OptimizerState(spec: c.optimizer, shapes: trainableArrays.map { params.arrays[$0].count })
    }

    /// Number of optimizer updates applied since compile.
    public var optimizerIterations: Int { optimizer?.iterations ?? 0 }
}
