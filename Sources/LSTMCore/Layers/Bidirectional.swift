/// Keras's Bidirectional wrapper: a forward and a backward recurrent layer over the same input,
/// their outputs merged (concat, sum, mul, ave) or both returned (merge_mode None). With
/// return_sequences the backward layer's output is flipped back into input order, as Keras does.
/// Weights: the forward layer's, then the backward layer's.
public struct BidirectionalSpec: LayerSpec {
    public enum MergeMode: String, CaseIterable, Sendable {
        case concat, sum, mul, ave
    }

    public var name: String
    public var forward: any LayerSpec
    public var backward: any LayerSpec
    /// nil: Keras's merge_mode=None, the two outputs returned separately.
    public var mergeMode: MergeMode?

    public init(name: String, forward: any LayerSpec, backward: any LayerSpec, mergeMode: MergeMode? = .concat) {
        self.name = name
        self.forward = forward
        self.backward = backward
        self.mergeMode = mergeMode
    }

    public var kind: String { "Bidirectional" }

    public func isSame(as other: any LayerSpec) -> Bool {
        guard let o = other as? BidirectionalSpec else { return false }
        return o.name == name && o.mergeMode == mergeMode && o.forward.isSame(as: forward) && o.backward.isSame(as: backward)
    }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        // Its halves' state is not carried from one call to the next here: refused rather than
        // run as if stateful=False.
        for half in [forward, backward] where (half as? any RecurrentLayerSpec)?.recurrent.stateful == true {
            throw LSTMError.unsupported("layer '\(name)' (Bidirectional): stateful=True in its halves is not supported (their state would not be carried from one call to the next)")
        }
        // [sequence] + the forward half's initial state + the backward half's, as Keras splits them.
        guard let sequence = inputs.first, (inputs.count - 1) % 2 == 0 else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Bidirectional) takes a sequence and an initial state for each half (an even count), got \(inputs.count) inputs")
        }
        let half = (inputs.count - 1) / 2
        let f = try forward.build(inputs: [sequence] + inputs[1..<(1 + half)])
        let b = try backward.build(inputs: [sequence] + inputs[(1 + half)...])
        guard f.outputShapes.count == b.outputShapes.count else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Bidirectional): its halves return \(f.outputShapes.count) and \(b.outputShapes.count) tensors; both must have the same return_state")
        }
        let fs = f.outputShapes[0], bs = b.outputShapes[0]
        guard fs.count == bs.count, fs.dropLast() == bs.dropLast() else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Bidirectional): the forward layer returns \(LayerChecks.describe(fs)) and the backward layer \(LayerChecks.describe(bs)); both must return sequences or neither")
        }
        if mergeMode != .concat && mergeMode != nil && fs != bs {
            throw LSTMError.shapeMismatch("layer '\(name)' (Bidirectional): merge_mode '\(mergeMode!.rawValue)' needs both layers to return the same shape, got \(LayerChecks.describe(fs)) and \(LayerChecks.describe(bs))")
        }
        guard let fr = forward as? any RecurrentLayerSpec, let br = backward as? any RecurrentLayerSpec else {
            throw LSTMError.unsupported("layer '\(name)' (Bidirectional) wraps \(forward.kind) and \(backward.kind); it wraps LSTM, GRU and SimpleRNN")
        }
        guard fr.recurrent.goBackwards != br.recurrent.goBackwards else {
            throw LSTMError.invalidArgument("layer '\(name)' (Bidirectional): its forward and backward layers both have go_backwards=\(fr.recurrent.goBackwards)")
        }
        return BidirectionalLayer(config: self, forward: f, backward: b, stateInputs: half)
    }
}

/// What the two halves kept for backward, and their outputs (the backward one in input order).
final class BidirectionalTape<T: Scalar> {
    let forward: AnyObject?, backward: AnyObject?
    let forwardOutput: Tensor<T>, backwardOutput: Tensor<T>
    init(forward: AnyObject?, backward: AnyObject?, forwardOutput: Tensor<T>, backwardOutput: Tensor<T>) {
        self.forward = forward
        self.backward = backward
        self.forwardOutput = forwardOutput
        self.backwardOutput = backwardOutput
    }
}

struct BidirectionalLayer: WholeSequence {
    let config: BidirectionalSpec
    let forward: any Layer
    let backward: any Layer
    /// Initial-state inputs per half (after the sequence: the forward half's, then the backward's).
    let stateInputs: Int

    /// States each half returns (return_state), after its output.
    var stateOutputs: Int { forward.outputShapes.count - 1 }
    /// The merged outputs: two with merge_mode None, else one.
    var mergedOutputs: Int { config.mergeMode == nil ? 2 : 1 }

    func forwardInputs<X>(_ inputs: [X]) -> [X] { [inputs[0]] + inputs[1..<(1 + stateInputs)] }
    func backwardInputs<X>(_ inputs: [X]) -> [X] { [inputs[0]] + inputs[(1 + stateInputs)...] }

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { forward.inputShapes + backward.inputShapes.dropFirst() }
    var returnsSequences: Bool { forward.outputShapes[0].count == 2 }

    /// The merged output(s), then the forward half's states, then the backward half's.
    var outputShapes: [SampleShape] {
        let f = forward.outputShapes[0], b = backward.outputShapes[0]
        let states = Array(forward.outputShapes.dropFirst() + backward.outputShapes.dropFirst())
        switch config.mergeMode {
        case .concat?: return [f.dropLast() + [f.last!.map { $0 + (b.last! ?? 0) }]] + states
        case nil: return [f, b] + states
        default: return [f] + states
        }
    }

    var weights: [WeightSpec] {
        forward.weights.map { WeightSpec("\(forward.name)/\($0.name)", $0.shape) }
            + backward.weights.map { WeightSpec("\(backward.name)/\($0.name)", $0.shape) }
    }

    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        forward.initialWeights(&rng) + backward.initialWeights(&rng)
    }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        let fo = try forward.outputShapes(for: forwardInputs(inputs)), bo = try backward.outputShapes(for: backwardInputs(inputs))
        let f = fo[0], b = bo[0], states = Array(fo.dropFirst() + bo.dropFirst())
        switch config.mergeMode {
        case .concat?: return [f.dropLast() + [f.last! + b.last!]] + states
        case nil: return [f, b] + states
        default: return [f] + states
        }
    }

    /// Sequences keep the input's mask (both outputs with merge_mode None); states have none.
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] {
        let m: Mask? = returnsSequences ? (masks.first ?? nil) : nil
        return (0..<mergedOutputs).map { _ in m } + (0..<(2 * stateOutputs)).map { _ in nil }
    }

    /// The backward half's output with its time axis reversed (into input order).
    func flipped<T: Scalar>(_ t: Tensor<T>) -> Tensor<T> {
        guard returnsSequences else { return t }
        let b = t.shape[0], n = t.shape[1], u = t.shape[2]
        var out = t
        for r in 0..<b {
            for s in 0..<n {
                for j in 0..<u { out.values[(r * n + s) * u + j] = t.values[(r * n + (n - 1 - s)) * u + j] }
            }
        }
        return out
    }

    var forwardWeightCount: Int { forward.weights.count }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let old = context.tape as? BidirectionalTape<T>
        var fc = LayerContext(training: context.training, tape: old?.forward, masks: context.masks)
        var bc = LayerContext(training: context.training, tape: old?.backward, masks: context.masks)
        // Each half draws its dropout masks from its own stream of this call's numbers (before,
        // both started from seed 0: every batch, and both halves, had the same masks).
        fc.random = SeededRandom(seed: context.random.next())
        bc.random = SeededRandom(seed: context.random.next())
        fc.layerTrainable = context.layerTrainable
        bc.layerTrainable = context.layerTrainable
        var fo: [Tensor<T>] = [], bo: [Tensor<T>] = []
        let fw = Array(w[..<forwardWeightCount]), bw = Array(w[forwardWeightCount...])
        bothHalves(inputs[0]) {
            fo = forward.forward(forwardInputs(inputs), weights: fw, context: &fc)
        } _: {
            bo = backward.forward(backwardInputs(inputs), weights: bw, context: &bc)
        }
        let f = fo[0], b = flipped(bo[0])
        if context.training {
            context.tape = BidirectionalTape(forward: fc.tape, backward: bc.tape, forwardOutput: f, backwardOutput: b)
        }
        return merged(f, b) + fo.dropFirst() + bo.dropFirst()
    }

    func merged<T: Scalar>(_ f: Tensor<T>, _ b: Tensor<T>) -> [Tensor<T>] {
        switch config.mergeMode {
        case nil:
            return [f, b]
        case .concat?:
            let uf = f.shape.last!, ub = b.shape.last!, rows = f.values.count / uf
            var out = Tensor<T>(zeros: f.shape.dropLast() + [uf + ub])
            for r in 0..<rows {
                for j in 0..<uf { out.values[r * (uf + ub) + j] = f.values[r * uf + j] }
                for j in 0..<ub { out.values[r * (uf + ub) + uf + j] = b.values[r * ub + j] }
            }
            return [out]
        case .sum?: return [Tensor(shape: f.shape, values: zip(f.values, b.values).map { $0 + $1 })]
        case .mul?: return [Tensor(shape: f.shape, values: zip(f.values, b.values).map { $0 * $1 })]
        case .ave?: return [Tensor(shape: f.shape, values: zip(f.values, b.values).map { ($0 + $1) / 2 })]
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard let tape = tape as? BidirectionalTape<T> else { return [nil] }
        let f = tape.forwardOutput, b = tape.backwardOutput
        let d = outputGradients
        var df: Tensor<T>, db: Tensor<T>
        switch config.mergeMode {
        case nil:
            df = d[0]; db = d[1]
        case .concat?:
            let uf = f.shape.last!, ub = b.shape.last!, rows = f.values.count / uf
            df = Tensor(zeros: f.shape); db = Tensor(zeros: b.shape)
            for r in 0..<rows {
                for j in 0..<uf { df.values[r * uf + j] = d[0].values[r * (uf + ub) + j] }
                for j in 0..<ub { db.values[r * ub + j] = d[0].values[r * (uf + ub) + uf + j] }
            }
        case .sum?:
            df = d[0]; db = d[0]
        case .mul?:
            df = Tensor(shape: f.shape, values: zip(d[0].values, b.values).map { $0 * $1 })
            db = Tensor(shape: b.shape, values: zip(d[0].values, f.values).map { $0 * $1 })
        case .ave?:
            df = Tensor(shape: f.shape, values: d[0].values.map { $0 / 2 }); db = df
        }
        let fw = Array(w[..<forwardWeightCount]), bw = Array(w[forwardWeightCount...])
        let fg = Array(g[..<forwardWeightCount]), bg = Array(g[forwardWeightCount...])
        let k = stateOutputs, m = mergedOutputs
        let fStates = Array(d[m..<(m + k)]), bStates = Array(d[(m + k)...])
        var fd: [Tensor<T>?] = [], bd: [Tensor<T>?] = []
        let bOut = flipped(b), dbOut = flipped(db)
        bothHalves(inputs[0]) {
            fd = forward.backward(forwardInputs(inputs), outputs: [f], outputGradients: [df] + fStates, weights: fw,
                                  gradients: fg, tape: tape.forward, needInput: forwardInputs(needInput))
        } _: {
            bd = backward.backward(backwardInputs(inputs), outputs: [bOut], outputGradients: [dbOut] + bStates,
                                   weights: bw, gradients: bg, tape: tape.backward, needInput: backwardInputs(needInput))
        }
        var dx = fd[0]
        if var sum = dx, let other = bd[0] {
            for i in sum.values.indices { sum.values[i] += other.values[i] }
            dx = sum
        }
        return [dx] + fd.dropFirst() + bd.dropFirst()
    }

    /// Runs the two halves (independent: own weights, gradients and tapes) at once, one per
    /// thread, when the pool has two threads and the sequence is worth it; each half's own
    /// products then run on its thread alone (a busy pool runs nested regions on the caller).
    /// With one full batch per half, its products keep whole-batch tiles, and the serial work
    /// of each half (packing, transposes, column sums) overlaps the other's. With more than two
    /// threads each half keeps splitting its rows over all of them instead.
    func bothHalves<T: Scalar>(_ sequence: Tensor<T>, _ first: @escaping () -> Void, _ second: @escaping () -> Void) {
        // About one half's multiply-adds: its input projection alone is values × 4·units.
        let units = forward.outputShapes[0].last.flatMap { $0 } ?? 0
        guard Parallel.maxThreads == 2, sequence.values.count * units * 4 >= Parallel.minWork else {
            first(); second(); return
        }
        Parallel.forRows(2, work: 2 * Parallel.minWork, grain: 1) { h0, h1 in
            for h in h0..<h1 { if h == 0 { first() } else { second() } }
        }
    }

    var streamRefusal: String {
        "layer '\(config.name)' (Bidirectional) reads the sequence from its end too: it cannot be run one timestep at a time"
    }
}
