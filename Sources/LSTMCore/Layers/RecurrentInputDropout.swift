/// A recurrent layer's `dropout` (Keras's LSTM/GRU/SimpleRNN option) without recurrent_dropout: in fit, the sequence is
/// multiplied by one keep-and-scale mask per (sample, feature), the same at every step, as
/// Keras 3's cells do with recurrent_dropout 0 (one mask, drawn at the first step and kept for
/// the sequence). In inference the wrapped layer runs alone. The initial-state inputs are left as
/// they are.
struct RecurrentInputDropout: Layer {
    let inner: any Layer
    let rate: Double

    /// The layer, wrapped when it has dropout alone. With recurrent_dropout as well, the layer
    /// draws its own per-gate masks for both (Keras's implementation 1) and is returned as it is.
    static func wrap(_ layer: any Layer, options: RecurrentOptions) throws -> any Layer {
        for (what, rate) in [("dropout", options.dropout), ("recurrent_dropout", options.recurrentDropout)] {
            guard rate.isFinite, rate >= 0, rate < 1 else {
                throw LSTMError.invalidArgument("layer '\(layer.name)' (\(layer.kind)): \(what) must be in [0, 1), got \(rate)")
            }
        }
        guard options.dropout > 0, options.recurrentDropout == 0 else { return layer }
        return RecurrentInputDropout(inner: layer, rate: options.dropout)
    }

    final class Tape<T: Scalar> {
        let factors: [T]
        let inner: AnyObject?
        init(factors: [T], inner: AnyObject?) {
            self.factors = factors
            self.inner = inner
        }
    }

    var spec: any LayerSpec { inner.spec }
    var inputShapes: [SampleShape] { inner.inputShapes }
    var outputShapes: [SampleShape] { inner.outputShapes }
    var weights: [WeightSpec] { inner.weights }
    var carriedState: [Int] { inner.carriedState }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] { inner.initialWeights(&rng) }
    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] { try inner.outputShapes(for: inputs) }
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { inner.outputMasks(inputs, masks: masks) }

    /// The sequence (batch, steps, features) times its mask, one draw per (sample, feature).
    func dropped<T: Scalar>(_ x: Tensor<T>, _ factors: [T]) -> Tensor<T> {
        var out = x
        let n = x.shape[1], f = x.shape[2]
        for b in 0..<x.batch {
            for t in 0..<n {
                for j in 0..<f { out.values[(b * n + t) * f + j] *= factors[b * f + j] }
            }
        }
        return out
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        guard context.training, rate > 0 else { return inner.forward(inputs, weights: weights, context: &context) }
        let x = inputs[0]
        let factors: [T] = context.random.dropoutMask(x.batch * x.shape[2], rate: rate)
        context.tape = (context.tape as? Tape<T>)?.inner
        let out = inner.forward([dropped(x, factors)] + inputs.dropFirst(), weights: weights, context: &context)
        context.tape = Tape(factors: factors, inner: context.tape)
        return out
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard let t = tape as? Tape<T> else {
            return inner.backward(inputs, outputs: outputs, outputGradients: outputGradients, weights: weights,
                                  gradients: gradients, tape: tape, needInput: needInput)
        }
        var d = inner.backward([dropped(inputs[0], t.factors)] + inputs.dropFirst(), outputs: outputs,
                               outputGradients: outputGradients, weights: weights, gradients: gradients,
                               tape: t.inner, needInput: needInput)
        if let dx = d[0] { d[0] = dropped(dx, t.factors) }
        return d
    }

    func checkStreamable() throws { try inner.checkStreamable() }
    var streamStateSize: Int { inner.streamStateSize }
    var stepScratchSize: Int { inner.stepScratchSize }
    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>) { inner.resetStreamState(state) }
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        inner.step(inputs, outputs: outputs, weights: weights, state: state, scratch: scratch)
    }
}
