/// Keras's TimeDistributed(layer): the wrapped layer applied to every step of (batch, steps,
/// ...) on its own, with one set of weights — run as one call on (batch · steps, ...). It wraps
/// any one-input layer (Dense, Conv1D, a recurrent layer over a 4-D input, ...). Its weights are
/// the wrapped layer's; the step mask is passed on.
public struct TimeDistributedSpec: LayerSpec {
    public var name: String
    public var layer: any LayerSpec

    public init(name: String = "time_distributed", layer: any LayerSpec) {
        self.name = name
        self.layer = layer
    }

    public var kind: String { "TimeDistributed" }

    public func isSame(as other: any LayerSpec) -> Bool {
        guard let o = other as? TimeDistributedSpec else { return false }
        return o.name == name && o.layer.isSame(as: layer)
    }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard input.count >= 2 else {
            throw LSTMError.shapeMismatch("layer '\(name)' (TimeDistributed) needs at least 3-D input (batch, steps, ...), got \(LayerChecks.describe(input))")
        }
        let inner = try layer.build(inputs: [Array(input.dropFirst())])
        guard inner.outputShapes.count == 1 else {
            throw LSTMError.unsupported("layer '\(name)' (TimeDistributed): the wrapped layer '\(layer.name)' has \(inner.outputShapes.count) outputs; TimeDistributed takes one")
        }
        guard inner.carriedState.isEmpty else {
            throw LSTMError.unsupported("layer '\(name)' (TimeDistributed): a stateful wrapped layer is not supported")
        }
        return TimeDistributedLayer(config: self, steps: input[0], inner: inner)
    }
}

struct TimeDistributedLayer: Layer {
    let config: TimeDistributedSpec
    let steps: Int?
    let inner: any Layer

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [[steps] + inner.inputShapes[0]] }
    var outputShapes: [SampleShape] { [[steps] + inner.outputShapes[0]] }
    var weights: [WeightSpec] { inner.weights }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] { inner.initialWeights(&rng) }

    /// (batch, steps, rest...) as (batch · steps, rest...).
    func merged(_ shape: [Int]) -> [Int] { [shape[0] * shape[1]] + shape.dropFirst(2) }
    func split(_ shape: [Int], batch: Int) -> [Int] { [batch, shape[0] / max(batch, 1)] + shape.dropFirst() }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        let s = inputs[0]
        return [split(try inner.outputShapes(for: [merged(s)])[0], batch: s[0])]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        var innerContext = LayerContext(training: context.training, tape: context.tape)
        innerContext.random = context.random
        innerContext.layerTrainable = context.layerTrainable
        var y = inner.forward([Tensor(shape: merged(x.shape), values: x.values)], weights: weights, context: &innerContext)[0]
        context.tape = innerContext.tape
        y.shape = split(y.shape, batch: x.batch)
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let x = inputs[0], y = outputs[0], dy = outputGradients[0]
        let dx = inner.backward([Tensor(shape: merged(x.shape), values: x.values)],
                                outputs: [Tensor(shape: merged(y.shape), values: y.values)],
                                outputGradients: [Tensor(shape: merged(dy.shape), values: dy.values)],
                                weights: weights, gradients: gradients, tape: tape, needInput: needInput)[0]
        return [dx.map { Tensor(shape: x.shape, values: $0.values) }]
    }

    // Streaming: a wrapped layer that works on one feature vector per step streams as itself.
    func checkStreamable() throws {
        guard inner.inputShapes[0].count == 1, inner.streamStateSize == 0 else {
            throw LSTMError.unsupported("layer '\(config.name)' (TimeDistributed) wraps a layer over whole sub-sequences ('\(config.layer.name)'); it cannot run one timestep at a time")
        }
        try inner.checkStreamable()
    }
    var streamStateSize: Int { 0 }
    var stepScratchSize: Int { inner.stepScratchSize }
    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>) {}
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        inner.step(inputs, outputs: outputs, weights: weights, state: state, scratch: scratch)
    }
}
