/// Options of `fit`, with Keras's defaults.
public struct FitOptions: Sendable {
    public var epochs = 1
    public var batchSize = 32
    public var shuffle = true
    public var validationSplit = 0.0
    public var seed: UInt64 = 0
    public init() {}
}

/// What `fit` reports after each epoch.
public struct EpochLog: Sendable {
    public var epoch: Int
    public var loss: Double
    public var valLoss: Double?
}

/// What `fit` reports after each batch: the running (size-weighted) mean of the epoch's batch
/// losses so far, as Keras's progress bar shows it.
public struct BatchLog: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var loss: Double
}

/// A layer placed in a model: its math, where its weights are, and the shapes it sees.
struct BuiltLayer {
    enum Kind {
        case lstm(LSTMLayer)
        case dense(DenseLayer)
    }
    let kind: Kind
    let name: String
    /// Whether the input and output have a time axis.
    let inTime: Bool, outTime: Bool
    let inFeatures: Int, outFeatures: Int
    /// Index of the layer's first weight array in the model's weight list.
    let firstWeight: Int
    let weightCount: Int
    let useBias: Bool
}

/// A Sequential model: layers, weights in Keras's order and shapes, and (once compiled) a loss
/// and optimizer state.
///
/// Thread safety: `predict`, `evaluate` and `step` (with separate states) only read the model
/// and may run concurrently; `compile`, `fit` and `setWeights` need exclusive access.
public final class Sequential<T: Scalar> {
    public let spec: ModelSpec
    let layers: [BuiltLayer]
    /// The weights, as Keras's `model.get_weights()` lists them.
    public private(set) var weights: [[T]]
    /// Keras's shape of each weight array, e.g. [49, 200] for an LSTM(50) kernel on 49 features.
    public let weightShapes: [[Int]]
    /// "layer/kernel", "layer/recurrent_kernel", "layer/bias" for each weight array.
    public let weightNames: [String]
    public private(set) var compileSpec: CompileSpec?
    var optimizer: OptimizerState<T>?

    /// Builds the model and initialises its weights as Keras does, from `seed`.
    /// - Throws: `.invalidArgument` for absurd sizes, `.shapeMismatch` for layers that do not
    ///   fit together, `.unsupported` for activations a layer cannot use.
    public init(spec: ModelSpec, seed: UInt64) throws {
        guard !spec.layers.isEmpty else {
            throw LSTMError.invalidArgument("model '\(spec.name)' has no layers")
        }
        try Sequential.checkSize(spec.features, "input features")
        if let t = spec.timesteps { try Sequential.checkSize(t, "input timesteps", limit: 1 << 24) }
        var built: [BuiltLayer] = []
        var shapes: [[Int]] = [], names: [String] = []
        var time = true, width = spec.features
        for layer in spec.layers {
            switch layer {
            case .lstm(let s):
                try Sequential.checkSize(s.units, "layer '\(s.name)': units")
                guard time else {
                    throw LSTMError.shapeMismatch("layer '\(s.name)' (LSTM) needs 3-D input (batch, timesteps, features), but the layer before it returns (batch, \(width)); set return_sequences=true on the LSTM before it")
                }
                guard s.recurrentActivation != .softmax, s.activation != .softmax else {
                    throw LSTMError.unsupported("layer '\(s.name)': softmax is not supported as an LSTM activation")
                }
                let w = s.useBias ? 3 : 2
                built.append(BuiltLayer(kind: .lstm(LSTMLayer(spec: s, features: width)), name: s.name,
                                        inTime: true, outTime: s.returnSequences, inFeatures: width,
                                        outFeatures: s.units, firstWeight: shapes.count, weightCount: w,
                                        useBias: s.useBias))
                _ = try checkedProduct([width, 4, s.units], "layer '\(s.name)': kernel")
                _ = try checkedProduct([s.units, 4, s.units], "layer '\(s.name)': recurrent_kernel")
                shapes += [[width, 4 * s.units], [s.units, 4 * s.units]]
                names += ["\(s.name)/kernel", "\(s.name)/recurrent_kernel"]
                if s.useBias { shapes.append([4 * s.units]); names.append("\(s.name)/bias") }
                time = s.returnSequences
                width = s.units
            case .dense(let s):
                try Sequential.checkSize(s.units, "layer '\(s.name)': units")
                _ = try checkedProduct([width, s.units], "layer '\(s.name)': kernel")
                built.append(BuiltLayer(kind: .dense(DenseLayer(spec: s, features: width)), name: s.name,
                                        inTime: time, outTime: time, inFeatures: width, outFeatures: s.units,
                                        firstWeight: shapes.count, weightCount: s.useBias ? 2 : 1,
                                        useBias: s.useBias))
                shapes.append([width, s.units]); names.append("\(s.name)/kernel")
                if s.useBias { shapes.append([s.units]); names.append("\(s.name)/bias") }
                width = s.units
            }
        }
        _ = try checkedProduct([shapes.reduce(0) { $0 + $1.reduce(1, *) }], "model parameters")
        self.spec = spec
        self.layers = built
        self.weightShapes = shapes
        self.weightNames = names
        var rng = SeededRandom(seed: seed)
        var w: [[T]] = []
        for layer in built {
            switch layer.kind {
            case .lstm(let l):
                let u = l.units
                w.append(Initializers.glorotUniform(fanIn: l.features, fanOut: 4 * u, rng: &rng))
                w.append(Initializers.orthogonal(rows: u, cols: 4 * u, rng: &rng))
                if l.spec.useBias {
                    var b = [T](repeating: 0, count: 4 * u)
                    if l.spec.unitForgetBias { for j in u..<(2 * u) { b[j] = 1 } }
                    w.append(b)
                }
            case .dense(let d):
                w.append(Initializers.glorotUniform(fanIn: d.features, fanOut: d.units, rng: &rng))
                if d.spec.useBias { w.append([T](repeating: 0, count: d.units)) }
            }
        }
        self.weights = w
    }

    private static func checkSize(_ v: Int, _ what: String, limit: Int = 1 << 20) throws {
        guard v >= 1, v <= limit else {
            throw LSTMError.invalidArgument("\(what) must be between 1 and \(limit), got \(v)")
        }
    }

    /// For each layer of `spec.layers`, the indices of its arrays in `weights`.
    public var layerWeightRanges: [Range<Int>] {
        layers.map { $0.firstWeight..<($0.firstWeight + $0.weightCount) }
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { weights.reduce(0) { $0 + $1.count } }

    /// Whether the model's output has a time axis (its last layer returns sequences).
    public var outputHasTime: Bool { layers.last?.outTime ?? false }

    /// Width of the last layer's output per timestep.
    public var outputFeatures: Int { layers.last?.outFeatures ?? 0 }

    // MARK: - Shapes

    /// Checks a caller's timestep count against the model and returns it.
    func resolveTimesteps(_ timesteps: Int) throws -> Int {
        if let fixed = spec.timesteps {
            if timesteps == 0 { return fixed }
            guard timesteps == fixed else {
                throw LSTMError.shapeMismatch("model '\(spec.name)' expects \(fixed) timesteps per sequence, got \(timesteps)")
            }
            return fixed
        }
        guard timesteps >= 1 else {
            throw LSTMError.invalidArgument("model '\(spec.name)' accepts sequences of any length: timesteps must be given (>= 1), got \(timesteps)")
        }
        guard timesteps <= 1 << 24 else {
            throw LSTMError.invalidArgument("timesteps \(timesteps) is absurd (limit \(1 << 24))")
        }
        return timesteps
    }

    /// Scalars one sample's output holds for an input of `timesteps` steps (0: the model's own).
    public func outputSize(timesteps: Int) throws -> Int {
        let n = try resolveTimesteps(timesteps)
        return try checkedProduct(outputHasTime ? [n, outputFeatures] : [outputFeatures], "output size")
    }

    /// Checks the sizes of a batch of inputs (and, when given, targets); returns the timesteps.
    @discardableResult
    func checkBatch(xCount: Int, batch: Int, timesteps: Int, yCount: Int?, yName: String = "y") throws -> Int {
        guard batch >= 1 else { throw LSTMError.invalidArgument("batch must be >= 1, got \(batch)") }
        let n = try resolveTimesteps(timesteps)
        let want = try checkedProduct([batch, n, spec.features], "x")
        guard xCount == want else {
            throw LSTMError.shapeMismatch("x holds \(xCount) values, expected batch \(batch) x timesteps \(n) x features \(spec.features) = \(want)")
        }
        if let yCount {
            let per = try outputSize(timesteps: n)
            let wantY = try checkedProduct([batch, per], yName)
            guard yCount == wantY else {
                throw LSTMError.shapeMismatch("\(yName) holds \(yCount) values, expected batch \(batch) x output size \(per) = \(wantY)")
            }
        }
        return n
    }

    // MARK: - Forward and backward

    /// Per-layer outputs of one forward pass, and the LSTM tapes when training.
    struct Pass {
        var outputs: [[T]]
        var tapes: [LSTMTape<T>?]
    }

    func rows(_ batch: Int, _ n: Int, time: Bool) -> Int { time ? batch * n : batch }

    /// - Parameter reuse: tapes of an earlier pass of the same size, overwritten instead of
    ///   allocating new ones (fit's batches: large allocations cost page faults every batch).
    func forward(x: UnsafePointer<T>, batch: Int, steps n: Int, training: Bool, reuse: [LSTMTape<T>?] = []) -> Pass {
        var pass = Pass(outputs: [], tapes: [])
        pass.outputs.reserveCapacity(layers.count)
        for (li, layer) in layers.enumerated() {
            let outRows = rows(batch, n, time: layer.outTime)
            var out = [T](repeating: 0, count: outRows * layer.outFeatures)
            var tape: LSTMTape<T>? = nil
            withLayerInput(li, x: x, pass: pass) { input in
                out.withUnsafeMutableBufferPointer { o in
                    let w = layer.firstWeight
                    switch layer.kind {
                    case .lstm(let l):
                        if training {
                            if li < reuse.count, let old = reuse[li], old.batch == batch, old.steps == n {
                                tape = old
                            } else {
                                tape = LSTMTape(layer: l, batch: batch, steps: n, keepHistory: true)
                            }
                        }
                        weights[w].withUnsafeBufferPointer { wk in
                            weights[w + 1].withUnsafeBufferPointer { wu in
                                withOptionalBias(layer, index: w + 2) { b in
                                    l.forward(batch: batch, steps: n, x: input, w: wk.baseAddress!, u: wu.baseAddress!,
                                              b: b, out: o.baseAddress!, tape: tape)
                                }
                            }
                        }
                    case .dense(let d):
                        weights[w].withUnsafeBufferPointer { wk in
                            withOptionalBias(layer, index: w + 1) { b in
                                d.forward(rows: rows(batch, n, time: layer.inTime), x: input, w: wk.baseAddress!,
                                          b: b, out: o.baseAddress!)
                            }
                        }
                    }
                }
            }
            pass.outputs.append(out)
            pass.tapes.append(tape)
        }
        return pass
    }

    @inline(__always)
    private func withLayerInput<R>(_ li: Int, x: UnsafePointer<T>, pass: Pass, _ body: (UnsafePointer<T>) -> R) -> R {
        if li == 0 { return body(x) }
        return pass.outputs[li - 1].withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    @inline(__always)
    private func withOptionalBias<R>(_ layer: BuiltLayer, index: Int, _ body: (UnsafePointer<T>?) -> R) -> R {
        guard layer.useBias else { return body(nil) }
        return weights[index].withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Backward pass from dLoss/dOutput; gradients are added into `grads`.
    func backward(x: UnsafePointer<T>, batch: Int, steps n: Int, pass: Pass, dOutput: [T], grads: inout [[T]]) {
        var dOut = dOutput
        for li in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[li]
            let w = layer.firstWeight
            let inRows = rows(batch, n, time: layer.inTime)
            var dIn = li > 0 ? [T](repeating: 0, count: inRows * layer.inFeatures) : []
            withLayerInput(li, x: x, pass: pass) { input in
                dOut.withUnsafeBufferPointer { dO in
                    dIn.withUnsafeMutableBufferPointer { dI in
                        let dX = li > 0 ? dI.baseAddress : nil
                        switch layer.kind {
                        case .lstm(let l):
                            let gb = layer.useBias ? w + 2 : nil
                            weights[w].withUnsafeBufferPointer { wk in
                                weights[w + 1].withUnsafeBufferPointer { wu in
                                    withGrads(&grads, w, w + 1, gb) { gW, gU, gB in
                                        l.backward(tape: pass.tapes[li]!, dOut: dO.baseAddress!, dX: dX,
                                                   w: wk.baseAddress!, u: wu.baseAddress!, gW: gW, gU: gU!, gb: gB)
                                    }
                                }
                            }
                        case .dense(let d):
                            let gb = layer.useBias ? w + 1 : nil
                            weights[w].withUnsafeBufferPointer { wk in
                                pass.outputs[li].withUnsafeBufferPointer { y in
                                    withGrads(&grads, w, nil, gb) { gW, _, gB in
                                        d.backward(rows: inRows, x: input, y: y.baseAddress!, dY: dO.baseAddress!,
                                                   dX: dX, w: wk.baseAddress!, gW: gW, gb: gB)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            dOut = dIn
        }
    }

    private func withGrads(_ grads: inout [[T]], _ a: Int, _ b: Int?, _ c: Int?,
                           _ body: (UnsafeMutablePointer<T>, UnsafeMutablePointer<T>?, UnsafeMutablePointer<T>?) -> Void) {
        grads.withUnsafeMutableBufferPointer { g in
            g[a].withUnsafeMutableBufferPointer { ga in
                func withOpt(_ i: Int?, _ f: (UnsafeMutablePointer<T>?) -> Void) {
                    if let i { g[i].withUnsafeMutableBufferPointer { f($0.baseAddress!) } } else { f(nil) }
                }
                withOpt(b) { gb in withOpt(c) { gc in body(ga.baseAddress!, gb, gc) } }
            }
        }
    }

    /// The loss over one batch and its gradient with respect to every weight (Keras's order).
    /// Used by `fit`, and public so that tests can compare it with finite differences.
    public func lossAndGradients(loss: LossKind, x: UnsafeBufferPointer<T>, y: UnsafeBufferPointer<T>,
                                 batch: Int, timesteps: Int) throws -> (loss: Double, gradients: [[T]]) {
        let n = try checkBatch(xCount: x.count, batch: batch, timesteps: timesteps, yCount: y.count)
        var grads = weights.map { [T](repeating: 0, count: $0.count) }
        let l = lossAndGradients(loss: loss, x: x.baseAddress!, y: y.baseAddress!, batch: batch, steps: n, grads: &grads)
        return (l, grads)
    }

    func lossAndGradients(loss: LossKind, x: UnsafePointer<T>, y: UnsafePointer<T>, batch: Int, steps n: Int,
                          grads: inout [[T]]) -> Double {
        var tapes: [LSTMTape<T>?] = []
        return lossAndGradients(loss: loss, x: x, y: y, batch: batch, steps: n, grads: &grads, tapes: &tapes)
    }

    /// The same, reusing (and handing back) the LSTM tapes of the previous call.
    func lossAndGradients(loss: LossKind, x: UnsafePointer<T>, y: UnsafePointer<T>, batch: Int, steps n: Int,
                          grads: inout [[T]], tapes: inout [LSTMTape<T>?]) -> Double {
        let pass = forward(x: x, batch: batch, steps: n, training: true, reuse: tapes)
        tapes = pass.tapes
        let out = pass.outputs[pass.outputs.count - 1]
        var dOut = [T](repeating: 0, count: out.count)
        let value = out.withUnsafeBufferPointer { o in
            dOut.withUnsafeMutableBufferPointer { d in
                loss.evaluate(prediction: o.baseAddress!, target: y, count: o.count, grad: d.baseAddress!)
            }
        }
        backward(x: x, batch: batch, steps: n, pass: pass, dOutput: dOut, grads: &grads)
        return value
    }

    // MARK: - Inference

    /// Runs the model on `batch` sequences of `timesteps` steps (0: the model's own length).
    /// - Parameters:
    ///   - x: batch × timesteps × features values.
    ///   - y: receives batch × outputSize(timesteps) values.
    /// - Throws: `.shapeMismatch` for wrong sizes, `.numeric` for NaN/Inf in x.
    @_specialize(exported: true, where T == Float)
    public func predict(x: UnsafeBufferPointer<T>, batch: Int, timesteps: Int, into y: UnsafeMutableBufferPointer<T>) throws {
        let n = try checkBatch(xCount: x.count, batch: batch, timesteps: timesteps, yCount: y.count)
        try requireFinite(x, "x", sampleShape: [n, spec.features])
        let xPer = n * spec.features, yPer = y.count / batch
        let chunk = Swift.min(batch, 256)
        var start = 0
        while start < batch {
            let b = Swift.min(chunk, batch - start)
            let pass = forward(x: x.baseAddress! + start * xPer, batch: b, steps: n, training: false)
            pass.outputs[pass.outputs.count - 1].withUnsafeBufferPointer { o in
                (y.baseAddress! + start * yPer).update(from: o.baseAddress!, count: b * yPer)
            }
            start += b
        }
    }

    /// The loss over `count` samples, in batches of `batchSize` weighted by their size.
    @_specialize(exported: true, where T == Float)
    public func evaluate(x: UnsafeBufferPointer<T>, y: UnsafeBufferPointer<T>, count: Int, timesteps: Int,
                         batchSize: Int = 32) throws -> Double {
        guard let compileSpec else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: call compile before evaluate")
        }
        guard batchSize >= 1 else { throw LSTMError.invalidArgument("batch_size must be >= 1, got \(batchSize)") }
        let n = try checkBatch(xCount: x.count, batch: count, timesteps: timesteps, yCount: y.count)
        try requireFinite(x, "x", sampleShape: [n, spec.features])
        try requireFinite(y, "y")
        return lossOver(loss: compileSpec.loss, x: x.baseAddress!, y: y.baseAddress!, count: count, steps: n,
                        batchSize: batchSize)
    }

    func lossOver(loss: LossKind, x: UnsafePointer<T>, y: UnsafePointer<T>, count: Int, steps n: Int,
                  batchSize: Int) -> Double {
        let xPer = n * spec.features
        let yPer = outputHasTime ? n * outputFeatures : outputFeatures
        var total = 0.0, start = 0
        while start < count {
            let b = Swift.min(batchSize, count - start)
            let pass = forward(x: x + start * xPer, batch: b, steps: n, training: false)
            let l = pass.outputs[pass.outputs.count - 1].withUnsafeBufferPointer { o in
                loss.evaluate(prediction: o.baseAddress!, target: y + start * yPer, count: o.count, grad: nil)
            }
            total += l * Double(b)
            start += b
        }
        return total / Double(count)
    }

    // MARK: - Training

    /// Sets the loss and optimizer; resets the optimizer state.
    public func compile(_ c: CompileSpec) throws {
        try c.optimizer.validate()
        compileSpec = c
        optimizer = OptimizerState(spec: c.optimizer, shapes: weights.map(\.count))
    }

    /// Number of optimizer updates applied since compile.
    public var optimizerIterations: Int { optimizer?.iterations ?? 0 }

    /// Trains as Keras's `fit` does (see `FitOptions`).
    /// - Parameter onEpoch: called after each epoch; return true to stop.
    /// - Returns: the number of epochs run.
    /// - Throws: `.invalidState` before compile, `.invalidArgument`/`.shapeMismatch` for bad
    ///   options or sizes, `.numeric` for NaN/Inf data or a loss or gradient that stopped being
    ///   finite (the weights then stay those of the last finite update).
    @_specialize(exported: true, where T == Float)
    public func fit(x: UnsafeBufferPointer<T>, y: UnsafeBufferPointer<T>, count: Int, timesteps: Int,
                    options: FitOptions, onBatch: ((BatchLog) -> Bool)? = nil,
                    onEpoch: (EpochLog) -> Bool) throws -> Int {
        guard let compileSpec, optimizer != nil else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: call compile before fit")
        }
        guard options.epochs >= 1, options.epochs <= 1 << 30 else {
            throw LSTMError.invalidArgument("epochs must be between 1 and \(1 << 30), got \(options.epochs)")
        }
        guard options.batchSize >= 1, options.batchSize <= 1 << 24 else {
            throw LSTMError.invalidArgument("batch_size must be between 1 and \(1 << 24), got \(options.batchSize)")
        }
        guard options.validationSplit.isFinite, options.validationSplit >= 0, options.validationSplit < 1 else {
            throw LSTMError.invalidArgument("validation_split must be in [0, 1), got \(options.validationSplit)")
        }
        let n = try checkBatch(xCount: x.count, batch: count, timesteps: timesteps, yCount: y.count)
        try requireFinite(x, "x", sampleShape: [n, spec.features])
        try requireFinite(y, "y")
        let loss = compileSpec.loss
        let xPer = n * spec.features
        let yPer = y.count / count
        var trainCount = count
        if options.validationSplit > 0 {
            // Keras: the validation samples are the last ones, cut before shuffling.
            trainCount = Int((Double(count) * (1 - options.validationSplit)).rounded(.down))
            guard trainCount >= 1, trainCount < count else {
                throw LSTMError.invalidArgument("validation_split \(options.validationSplit) of \(count) samples leaves \(trainCount) for training and \(count - trainCount) for validation; both must be >= 1")
            }
        }
        let bs = Swift.min(options.batchSize, trainCount)
        let batches = (trainCount + bs - 1) / bs
        var rng = SeededRandom(seed: options.seed)
        var order = Array(0..<trainCount)
        var xb = [T](repeating: 0, count: bs * xPer)
        var yb = [T](repeating: 0, count: bs * yPer)
        var grads = weights.map { [T](repeating: 0, count: $0.count) }
        var tapes: [LSTMTape<T>?] = []
        for epoch in 0..<options.epochs {
            if options.shuffle {
                for i in 0..<trainCount { order[i] = i }
                for i in stride(from: trainCount - 1, to: 0, by: -1) {
                    let j = Int(rng.next() % UInt64(i + 1))
                    order.swapAt(i, j)
                }
            }
            var total = 0.0
            var start = 0, batchIndex = 0
            while start < trainCount {
                let b = Swift.min(bs, trainCount - start)
                xb.withUnsafeMutableBufferPointer { xd in
                    yb.withUnsafeMutableBufferPointer { yd in
                        for k in 0..<b {
                            let s = order[start + k]
                            (xd.baseAddress! + k * xPer).update(from: x.baseAddress! + s * xPer, count: xPer)
                            (yd.baseAddress! + k * yPer).update(from: y.baseAddress! + s * yPer, count: yPer)
                        }
                    }
                }
                for k in grads.indices { grads[k].withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
                let l = xb.withUnsafeBufferPointer { xd in
                    yb.withUnsafeBufferPointer { yd in
                        lossAndGradients(loss: loss, x: xd.baseAddress!, y: yd.baseAddress!, batch: b, steps: n,
                                         grads: &grads, tapes: &tapes)
                    }
                }
                guard l.isFinite, grads.allSatisfy({ $0.allSatisfy { $0.isFinite } }) else {
                    throw LSTMError.numeric("training diverged at epoch \(epoch + 1), batch \(batchIndex + 1): the \(l.isFinite ? "gradient" : "loss (\(l))") is not finite; stopped before that update, so the weights are those of the last finite step")
                }
                optimizer!.apply(params: &weights, grads: grads)
                total += l * Double(b)
                start += b
                batchIndex += 1
                if let onBatch, onBatch(BatchLog(epoch: epoch, batch: batchIndex - 1, batches: batches,
                                                 loss: total / Double(start))) {
                    throw LSTMError.cancelled("fit was stopped by the batch callback after batch \(batchIndex) of \(batches) in epoch \(epoch + 1); the weights are those after that batch")
                }
            }
            var log = EpochLog(epoch: epoch, loss: total / Double(trainCount), valLoss: nil)
            if trainCount < count {
                log.valLoss = lossOver(loss: loss, x: x.baseAddress! + trainCount * xPer,
                                       y: y.baseAddress! + trainCount * yPer, count: count - trainCount,
                                       steps: n, batchSize: options.batchSize)
            }
            if onEpoch(log) { return epoch + 1 }
        }
        return options.epochs
    }

    // MARK: - Weights

    /// Replaces every weight array at once, after checking counts and values.
    public func setWeights(_ new: [[T]]) throws {
        guard new.count == weights.count else {
            throw LSTMError.shapeMismatch("model '\(spec.name)' has \(weights.count) weight arrays, got \(new.count)")
        }
        for (k, w) in new.enumerated() {
            guard w.count == weights[k].count else {
                throw LSTMError.shapeMismatch("weight '\(weightNames[k])' has shape \(weightShapes[k]) (\(weights[k].count) values), got \(w.count) values")
            }
            if let bad = w.firstIndex(where: { !$0.isFinite }) {
                throw LSTMError.numeric("weight '\(weightNames[k])' holds a non-finite value (\(w[bad])) at index \(bad)")
            }
        }
        weights = new
    }

    /// All weights concatenated in Keras's order, into a buffer of exactly `parameterCount` values.
    public func copyWeights(into buffer: UnsafeMutableBufferPointer<T>) throws {
        try checkFlatCount(buffer.count)
        var offset = 0
        for arr in weights {
            arr.withUnsafeBufferPointer { (buffer.baseAddress! + offset).update(from: $0.baseAddress!, count: $0.count) }
            offset += arr.count
        }
    }

    /// Replaces every weight from one concatenated buffer (as `copyWeights` writes it).
    public func setWeights(flat buffer: UnsafeBufferPointer<T>) throws {
        try checkFlatCount(buffer.count)
        var offset = 0
        var arrays: [[T]] = []
        for arr in weights {
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

    // MARK: - Streaming

    /// Whether the model can be run one timestep at a time.
    func checkStreamable() throws {
        for layer in layers {
            if case .lstm(let l) = layer.kind, l.spec.goBackwards {
                throw LSTMError.unsupported("layer '\(layer.name)' has go_backwards=true: it reads the sequence from its end, so it cannot be run one timestep at a time")
            }
        }
    }

    /// A zero state for streaming through this model.
    public func makeState() throws -> StreamState<T> {
        try checkStreamable()
        return StreamState(model: self)
    }

    /// Feeds one timestep and writes the model's output for it.
    @_specialize(exported: true, where T == Float)
    public func step(_ state: StreamState<T>, x: UnsafeBufferPointer<T>, into y: UnsafeMutableBufferPointer<T>) throws {
        guard state.owner == ObjectIdentifier(self) else {
            throw LSTMError.invalidState("the state was made for another model")
        }
        guard x.count == spec.features else {
            throw LSTMError.shapeMismatch("x_t holds \(x.count) values, expected features \(spec.features)")
        }
        guard y.count == outputFeatures else {
            throw LSTMError.shapeMismatch("y holds \(y.count) values, expected the output size for one step, \(outputFeatures)")
        }
        try requireFinite(x, "x_t")
        var cur = x.baseAddress!
        for (li, layer) in layers.enumerated() {
            let out = li % 2 == 0 ? state.ping : state.pong
            let w = layer.firstWeight
            weights[w].withUnsafeBufferPointer { wk in
                switch layer.kind {
                case .lstm(let l):
                    weights[w + 1].withUnsafeBufferPointer { wu in
                        withOptionalBias(layer, index: w + 2) { b in
                            l.step(x: cur, w: wk.baseAddress!, u: wu.baseAddress!, b: b, h: state.h[li]!,
                                   c: state.c[li]!, scratch: state.scratch)
                        }
                    }
                    out.update(from: state.h[li]!, count: l.units)
                case .dense(let d):
                    withOptionalBias(layer, index: w + 1) { b in
                        d.forward(rows: 1, x: cur, w: wk.baseAddress!, b: b, out: out)
                    }
                }
            }
            cur = UnsafePointer(out)
        }
        y.baseAddress!.update(from: cur, count: outputFeatures)
    }
}

/// Rejects NaN and Inf, naming the first offending index (and, given the per-sample shape,
/// its sample and position).
func requireFinite<T: Scalar>(_ v: UnsafeBufferPointer<T>, _ name: String, sampleShape: [Int] = []) throws {
    var ok = true
    for e in v where !e.isFinite { ok = false; break }
    if ok { return }
    let i = v.firstIndex { !$0.isFinite }!
    var position = ""
    if sampleShape.count == 2, sampleShape[0] > 0, sampleShape[1] > 0 {
        let per = sampleShape[0] * sampleShape[1]
        position = " (sample \(i / per), timestep \(i % per / sampleShape[1]), feature \(i % sampleShape[1]))"
    }
    throw LSTMError.numeric("\(name)[\(i)]\(position) is \(v[i]): the data must be finite")
}

/// h and c of every LSTM layer for one stream, and the scratch memory one step needs, all
/// allocated once so that a step allocates nothing.
public final class StreamState<T: Scalar> {
    let owner: ObjectIdentifier
    var h: [UnsafeMutablePointer<T>?]
    var c: [UnsafeMutablePointer<T>?]
    let scratch: UnsafeMutablePointer<T>
    let ping: UnsafeMutablePointer<T>, pong: UnsafeMutablePointer<T>
    private let sizes: [Int]

    init(model: Sequential<T>) {
        owner = ObjectIdentifier(model)
        var maxUnits = 1, maxWidth = 1
        h = []; c = []; var sz: [Int] = []
        for layer in model.layers {
            maxWidth = max(maxWidth, layer.outFeatures)
            if case .lstm(let l) = layer.kind {
                maxUnits = max(maxUnits, l.units)
                h.append(.allocate(capacity: l.units)); c.append(.allocate(capacity: l.units))
                sz.append(l.units)
            } else {
                h.append(nil); c.append(nil); sz.append(0)
            }
        }
        sizes = sz
        scratch = .allocate(capacity: 5 * maxUnits)
        ping = .allocate(capacity: maxWidth)
        pong = .allocate(capacity: maxWidth)
        reset()
    }

    /// Back to the zero state.
    public func reset() {
        for (k, n) in sizes.enumerated() where n > 0 {
            h[k]!.initialize(repeating: 0, count: n)
            c[k]!.initialize(repeating: 0, count: n)
        }
    }

    deinit {
        for p in h { p?.deallocate() }
        for p in c { p?.deallocate() }
        scratch.deallocate(); ping.deallocate(); pong.deallocate()
    }
}
