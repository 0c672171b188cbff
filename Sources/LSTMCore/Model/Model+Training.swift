/// Options of `fit`, with Keras's defaults.
public struct FitOptions: Sendable {
    public var epochs = 1
    public var batchSize = 32
    public var shuffle = true
    public var validationSplit = 0.0
    public var seed: UInt64 = 0
    /// Keras's class_weight: each sample weighs its class's weight (1 for a class not listed);
    /// the class is the target's arg max, or the target itself (rounded) for one value per sample.
    public var classWeights: [Int: Double]?
    /// Keras's steps_per_epoch (nil: a whole pass over the data per epoch): each epoch runs this
    /// many batches, carrying on through the data where the last epoch stopped; the epoch that
    /// reaches the end of the data stops there (Keras's "ran out of data") and the next starts
    /// a new pass (reshuffled).
    public var stepsPerEpoch: Int?
    /// Data-parallel training (see GradientReducer): this worker's data is its shard, batches
    /// are per worker (batchSize each), and every update applies the global batch's gradient.
    public var reducer: (any GradientReducer)?
    public init() {}
}

extension FitOptions {
    /// The fit of a model with stateful layers carries their state from batch to batch (and
    /// epoch to epoch, as Keras does, until reset) in a batch state; every batch then has its size.
    public struct Stateful<T: Scalar> {
        public var state: BatchState<T>
        public init(state: BatchState<T>) { self.state = state }
    }
}

/// What `fit` reports after each epoch: the loss and the compiled metrics (in the order of
/// `Model.metricNames`), and the same over the validation samples when there are some.
public struct EpochLog: Sendable {
    public var epoch: Int
    public var loss: Double
    public var valLoss: Double?
    public var metrics: [Double] = []
    public var valMetrics: [Double] = []
    /// The batches the epoch ran.
    public var batches = 0
}

/// What `fit` reports after each batch: the running (size-weighted) mean of the epoch's batch
/// losses so far, and the metrics over the epoch's batches so far, as Keras's progress bar
/// shows them.
public struct BatchLog: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var loss: Double
    public var metrics: [Double] = []
}

/// predict, evaluate and fit, over tensors (every model) and over one flat input and target
/// (single-input, single-output models: the C API's first functions).
extension Model {
    // MARK: - Inference

    /// Runs the model on a batch of inputs (one tensor per model input) and returns its outputs,
    /// computed in chunks of at most 256 samples.
    /// - Throws: `.shapeMismatch`/`.invalidArgument` for wrong counts or shapes, `.numeric` for NaN/Inf.
    @_specialize(exported: true, where T == Float)
    public func run(_ xs: [TensorView<T>]) throws -> [Tensor<T>] {
        try requireStateless("a run without a batch state")
        let batch = try checkInputs(xs)
        let shapes = try outputShapes(forInputs: xs.map(\.shape))
        for s in shapes { _ = try checkedProduct(s, "the outputs for \(batch) samples") }
        try checkPassMemory(xs.map(\.shape), batch: Swift.min(batch, 256))
        var results = shapes.map { Tensor<T>(zeros: $0) }
        var start = 0
        while start < batch {
            let end = Swift.min(batch, start + 256)
            let pass = forward(xs.map { $0.slice(start, end) }, training: false)
            for (k, out) in outputs(of: pass).enumerated() {
                let per = out.perSample
                results[k].values.withUnsafeMutableBufferPointer { r in
                    out.values.withUnsafeBufferPointer { o in
                        (r.baseAddress! + start * per).update(from: o.baseAddress!, count: o.count)
                    }
                }
            }
            start = end
        }
        return results
    }

    /// Runs the model on `batch` sequences of `timesteps` steps (0: the model's own length).
    /// - Parameters:
    ///   - x: batch × timesteps × features values.
    ///   - y: receives batch × outputSize(timesteps) values.
    /// - Throws: `.shapeMismatch` for wrong sizes, `.numeric` for NaN/Inf in x.
    @_specialize(exported: true, where T == Float)
    public func predict(x: UnsafeBufferPointer<T>, batch: Int, timesteps: Int, into y: UnsafeMutableBufferPointer<T>) throws {
        let (xv, _) = try singleTensors(x: x, batch: batch, timesteps: timesteps,
                                        y: UnsafeBufferPointer(y), yName: "y", yIsOutput: true)
        let out = try run([xv])[0]
        out.values.withUnsafeBufferPointer { y.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
    }

    /// The loss over every sample, in batches of `batchSize` weighted by their size.
    @_specialize(exported: true, where T == Float)
    public func evaluate(_ xs: [TensorView<T>], targets ys: [TensorView<T>], batchSize: Int = 32) throws -> Double {
        try evaluateLogs(xs, targets: ys, batchSize: batchSize)[0]
    }

    /// The loss (as `evaluate`) followed by the compiled metrics over every sample, in the
    /// order of `metricNames`.
    /// - Parameter sampleWeights: Keras's sample_weight, one per sample or one per timestep: it
    ///   weighs the loss and the weighted metrics (Keras's `metrics` are not weighted).
    /// - Parameter onBatch: called after each batch with its index and the running logs so far
    ///   (loss, then the metrics), as Keras's on_test_batch_end sees them; return true to stop
    ///   (`.cancelled`).
    @_specialize(exported: true, where T == Float)
    public func evaluateLogs(_ xs: [TensorView<T>], targets ys: [TensorView<T>], sampleWeights: TensorView<T>? = nil,
                             batchSize: Int = 32, onBatch: ((Int, [Double]) -> Bool)? = nil) throws -> [Double] {
        let losses = try compiledLoss("evaluate")
        try requireStateless("evaluate")
        guard batchSize >= 1 else { throw LSTMError.invalidArgument("batch_size must be >= 1, got \(batchSize)") }
        let count = try checkInputs(xs)
        try checkTargets(ys, inputs: xs, losses: losses)
        try checkSampleWeights(sampleWeights, inputs: xs, count: count)
        try checkPassMemory(xs.map(\.shape), batch: Swift.min(count, batchSize))
        var stopped: Int?
        let logs = logsOver(losses, xs, ys, weights: sampleWeights, count: count, batchSize: batchSize) { batch, logs in
            guard let onBatch, onBatch(batch, logs) else { return false }
            stopped = batch
            return true
        }
        if let stopped {
            throw LSTMError.cancelled("evaluate was stopped by the batch callback after batch \(stopped + 1)")
        }
        return logs
    }

    /// `evaluate` for one flat input and target.
    @_specialize(exported: true, where T == Float)
    public func evaluate(x: UnsafeBufferPointer<T>, y: UnsafeBufferPointer<T>, count: Int, timesteps: Int,
                         batchSize: Int = 32) throws -> Double {
        _ = try compiledLoss("evaluate")
        let (xv, yv) = try singleTensors(x: x, batch: count, timesteps: timesteps, y: y)
        return try evaluate([xv], targets: [yv!], batchSize: batchSize)
    }

    /// Sample weights spread over an output's positions: a sample's weight on each of its
    /// positions, or one weight per position as given (checked by checkSampleWeights).
    static func perPosition(_ weights: Tensor<T>, positions: Int) -> [Double] {
        let batch = Swift.max(weights.shape.first ?? 1, 1)
        if weights.values.count == positions { return weights.values.map { Double($0) } }
        let each = positions / batch
        return (0..<positions).map { Double(weights.values[$0 / Swift.max(each, 1)]) }
    }

    func compiledLoss(_ call: String) throws -> OutputLosses {
        guard let compiledLosses, optimizer != nil else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: call compile before \(call)")
        }
        return compiledLosses
    }

    /// The loss of a batch's outputs against its targets, one (unweighted) value per output: 0
    /// for an output without a loss. Keras's total is their sum weighted by `losses.weights`;
    /// the gradients carry those weights. An output that carries a mask counts its real steps
    /// only (see LossKind.evaluate). With `gradients`, dLoss/dOutput for each.
    /// - Parameter weights: the batch's sample weights (one per sample, or one per timestep),
    ///   applied to every output as Keras applies one set to all.
    func loss(_ losses: OutputLosses, of pass: Pass, targets: [Tensor<T>], weights: Tensor<T>? = nil,
              gradients: inout [Tensor<T>]?) -> [Double] {
        var total: [Double] = []
        var grads: [Tensor<T>] = []
        let masks = spec.outputs.map(pass.mask), forms = predictionForms(pass, losses: losses)
        for (k, (out, target)) in zip(outputs(of: pass), targets).enumerated() {
            var g = Tensor<T>(zeros: gradients == nil ? [0] : out.shape)
            guard let loss = losses.kinds[k] else {
                total.append(0)
                grads.append(g)
                continue
            }
            let real = Self.realPositions(masks[k], width: out.shape.last ?? 1, values: out.values.count)
            let form = forms[k], width = out.shape.last ?? 1
            let positionWeights = weights.map { Self.perPosition($0, positions: out.values.count / Swift.max(width, 1)) }
            total.append(out.values.withUnsafeBufferPointer { o in
                target.values.withUnsafeBufferPointer { t in
                    g.values.withUnsafeMutableBufferPointer { gp in
                        positionWeights.withOptionalPointer { w in
                            let grad = gradients == nil ? nil : gp.baseAddress!
                            if let real {
                                return loss.evaluate(prediction: o.baseAddress!, target: t.baseAddress!, width: width,
                                                     real: real, form: form, weights: w, grad: grad)
                            }
                            return loss.evaluate(prediction: o.baseAddress!, target: t.baseAddress!, count: o.count,
                                                 width: width, form: form, weights: w, grad: grad)
                        }
                    }
                }
            })
            if gradients != nil, losses.weights[k] != 1 {
                let w = T(losses.weights[k])
                for i in g.values.indices { g.values[i] *= w }
            }
            grads.append(g)
        }
        if gradients != nil { gradients = grads }
        return total
    }

    /// An output's mask as the loss reads it: one flag per position of `width` values, nil when
    /// the output has none (or one that does not cover its positions).
    static func realPositions(_ mask: Mask?, width: Int, values: Int) -> [Bool]? {
        guard let mask, mask.values.count * width == values else { return nil }
        return mask.values
    }

    /// Keras's total loss of the outputs: their losses weighted by loss_weights.
    func weightedTotal(_ perOutput: [Double], _ losses: OutputLosses) -> Double {
        zip(perOutput, losses.weights).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// The loss over `count` samples and the compiled metrics after it.
    /// - Parameter onBatch: the running logs after each batch; true stops there.
    func logsOver(_ losses: OutputLosses, _ xs: [TensorView<T>], _ ys: [TensorView<T>], weights: TensorView<T>?,
                  count: Int, batchSize: Int, onBatch: ((Int, [Double]) -> Bool)? = nil) -> [Double] {
        let (total, rows, metrics) = logTotals(losses, xs, ys, weights: weights, count: count, batchSize: batchSize,
                                               onBatch: onBatch)
        return [total / Double(Swift.max(rows, 1))] + metricResults(metrics)
    }

    /// What `logsOver` reports, as sums: the batch losses weighed by their rows, the rows run,
    /// and the metric sums.
    func logTotals(_ losses: OutputLosses, _ xs: [TensorView<T>], _ ys: [TensorView<T>], weights: TensorView<T>?,
                   count: Int, batchSize: Int, onBatch: ((Int, [Double]) -> Bool)? = nil)
        -> (total: Double, rows: Int, metrics: MetricTotals) {
        var total = 0.0, start = 0
        var noGradients: [Tensor<T>]? = nil
        var metrics = MetricTotals(count: metricCount)
        while start < count {
            let end = Swift.min(count, start + batchSize)
            let pass = forward(xs.map { $0.slice(start, end) }, training: false, logits: losses.readsLayerLogits)
            let targets = ys.map { $0.slice(start, end) }
            let perOutput = loss(losses, of: pass, targets: targets, weights: weights?.slice(start, end),
                                 gradients: &noGradients)
            let l = weightedTotal(perOutput, losses) + regularizationLoss(pass)
            accumulateMetrics(of: pass, targets: targets, outputLosses: perOutput, sampleWeights: weights?.slice(start, end),
                              into: &metrics)
            total += l * Double(end - start)
            start = end
            if let onBatch, onBatch((start - 1) / batchSize, [total / Double(start)] + metricResults(metrics)) { break }
        }
        return (total, start, metrics)
    }

    // MARK: - Gradients

    /// The loss over one batch and its gradient with respect to every weight (Keras's order).
    /// Used by `fit`, and public so that tests can compare it with finite differences.
    public func lossAndGradients(loss: LossKind, _ xs: [TensorView<T>], targets ys: [TensorView<T>]) throws
        -> (loss: Double, gradients: [[T]]) {
        try lossAndGradients(losses: OutputLosses(same: loss, outputs: spec.outputs.count), xs, targets: ys)
    }

    /// The same with a loss (and weight) per output.
    public func lossAndGradients(losses: OutputLosses, _ xs: [TensorView<T>], targets ys: [TensorView<T>]) throws
        -> (loss: Double, gradients: [[T]]) {
        guard losses.kinds.count == spec.outputs.count, losses.weights.count == spec.outputs.count else {
            throw LSTMError.invalidArgument("\(losses.kinds.count) losses and \(losses.weights.count) weights for a model of \(spec.outputs.count) outputs")
        }
        let batch = try checkInputs(xs)
        try checkTargets(ys, inputs: xs, losses: losses)
        try checkPassMemory(xs.map(\.shape), batch: batch)
        try findLogitLayers(for: losses)
        let grads = Parameters(zerosLike: params)
        var tapes: [AnyObject?] = []
        var noMetrics = MetricTotals(count: 0)
        let l = lossAndGradients(losses, xs.map { $0.slice(0, batch) }, ys.map { $0.slice(0, batch) },
                                 into: grads, tapes: &tapes, metrics: &noMetrics)
        return (l, grads.values)
    }

    /// `lossAndGradients` for one flat input and target.
    public func lossAndGradients(loss: LossKind, x: UnsafeBufferPointer<T>, y: UnsafeBufferPointer<T>,
                                 batch: Int, timesteps: Int) throws -> (loss: Double, gradients: [[T]]) {
        let (xv, yv) = try singleTensors(x: x, batch: batch, timesteps: timesteps, y: y, loss: loss)
        return try lossAndGradients(loss: loss, [xv], targets: [yv!])
    }

    /// The loss of one batch, its gradients added into `gradients` and its metrics into
    /// `metrics` (when it holds one pair per compiled metric); reuses (and hands back) the
    /// layers' tapes of the previous call.
    func lossAndGradients(_ losses: OutputLosses, _ xs: [Tensor<T>], _ ys: [Tensor<T>], weights: Tensor<T>? = nil,
                          into gradients: Parameters<T>, slices: SliceSums<T>? = nil, carries: [StateCarry<T>?] = [],
                          tapes: inout [AnyObject?], metrics: inout MetricTotals) -> Double {
        let pass = forward(xs, training: true, reuse: tapes, carries: carries, logits: losses.readsLayerLogits)
        tapes = pass.tapes
        var dOut: [Tensor<T>]? = []
        let perOutput = loss(losses, of: pass, targets: ys, weights: weights, gradients: &dOut)
        let value = weightedTotal(perOutput, losses)
        accumulateMetrics(of: pass, targets: ys, outputLosses: perOutput, sampleWeights: weights, into: &metrics)
        let regularized = regularizedArrays
        backward(pass, outputGradients: dOut ?? [], gradients: gradients, slices: slices, extra: activityGradients(pass))
        addRegularizationGradients(regularized, into: gradients)
        return value + regularizationLoss(pass, weights: regularized)
    }

    // MARK: - Training

    /// Trains as Keras's `fit` does (see `FitOptions`): one input tensor per model input, one
    /// target per output.
    /// - Parameter onEpoch: called after each epoch; return true to stop.
    /// - Returns: the number of epochs run.
    /// - Throws: `.invalidState` before compile, `.invalidArgument`/`.shapeMismatch` for bad
    ///   options or sizes, `.numeric` for NaN/Inf data or a loss or gradient that stopped being
    ///   finite (the weights then stay those of the last finite update).
    @_specialize(exported: true, where T == Float)
    public func fit(_ xs: [TensorView<T>], targets ys: [TensorView<T>], sampleWeights given: TensorView<T>? = nil,
                    options: FitOptions, stateful: FitOptions.Stateful<T>? = nil,
                    onBatch: ((BatchLog) -> Bool)? = nil, onEpoch: (EpochLog) -> Bool) throws -> Int {
        let losses = try compiledLoss("fit")
        if let stateful {
            guard stateful.state.owner == ObjectIdentifier(self) else {
                throw LSTMError.invalidState("the state was made for another model")
            }
        } else {
            try requireStateless("fit without a batch state")
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
        if let steps = options.stepsPerEpoch, steps < 1 {
            throw LSTMError.invalidArgument("steps_per_epoch must be >= 1, got \(steps)")
        }
        if let reducer = options.reducer { try checkDataParallel(reducer, options, stateful: stateful != nil) }
        let count = try checkInputs(xs)
        try checkTargets(ys, inputs: xs, losses: losses)
        try checkSampleWeights(given, inputs: xs, count: count)
        // The sample weights: given, or made from the class weights and held for the whole fit.
        // As in Keras, the validation split keeps given sample weights but not class weights
        // (Keras turns those into weights after the split, for the training samples only).
        let owned = UnsafeMutableBufferPointer<T>.allocate(capacity: options.classWeights == nil ? 0 : count)
        defer { owned.deallocate() }
        var weights = given
        if let classWeights = options.classWeights {
            guard given == nil else {
                throw LSTMError.invalidArgument("fit: class_weight and sample_weight cannot be given together (as in Keras)")
            }
            _ = owned.initialize(from: try sampleWeights(of: ys, classWeights: classWeights))
            weights = TensorView(shape: [count], data: UnsafeBufferPointer(owned))
        }
        // Training batches and the validation's are at most batch_size samples.
        try checkPassMemory(xs.map(\.shape), batch: Swift.min(count, options.batchSize))
        var trainCount = count
        if options.validationSplit > 0 {
            // Keras: the validation samples are the last ones, cut before shuffling.
            trainCount = Int((Double(count) * (1 - options.validationSplit)).rounded(.down))
            guard trainCount >= 1, trainCount < count else {
                throw LSTMError.invalidArgument("validation_split \(options.validationSplit) of \(count) samples leaves \(trainCount) for training and \(count - trainCount) for validation; both must be >= 1")
            }
        }
        if let stateful {
            let b = stateful.state.batch
            guard options.batchSize == b, trainCount % b == 0, (count - trainCount) % b == 0 else {
                throw LSTMError.shapeMismatch("a stateful fit runs batches of the state's size, \(b): batch_size is \(options.batchSize) and \(trainCount) training and \(count - trainCount) validation samples must be multiples of it")
            }
            guard options.validationSplit == 0 else {
                throw LSTMError.unsupported("validation_split on a stateful model is not supported (the validation batches would move the carried state)")
            }
        }
        var bs = Swift.min(options.batchSize, trainCount)
        var batches = (trainCount + bs - 1) / bs
        if let reducer = options.reducer {
            // Every worker runs the same number of batches of batch_size rows of its own shard.
            bs = options.batchSize
            batches = try dataParallelBatches(reducer, trainCount: trainCount, batchSize: bs)
            try checkWorkersAgree(reducer, epoch: nil)
        }
        var rng = SeededRandom(seed: options.seed)
        var order = Array(0..<trainCount)
        // Kept from the last fit when there was one (the shapes of the arrays never change).
        let memory = fitMemory ?? FitMemory(like: params)
        fitMemory = memory
        let grads = memory.grads
        // Per weight: whether Keras's optimizer sees its gradient as slices (see sparseGradientWeights).
        var sparse = [Bool](repeating: false, count: params.arrays.count)
        for (ni, node) in spec.nodes.enumerated() {
            for w in nodeLayers[ni].sparseGradientWeights { sparse[weightRanges[node.layer].lowerBound + w] = true }
        }
        // A regularizer's gradient is dense: TensorFlow adds it to the slices, and the sum is a
        // dense tensor again.
        for (k, _) in regularizedArrays { sparse[k] = false }
        let slices = sparse.contains(true) ? compileSpec.flatMap { SliceSums.needed(by: $0.optimizer, like: params) } : nil
        // What the optimizer updates: the trainable arrays only (not frozen layers' or moving
        // statistics), picked once for the whole fit.
        let trainedParams = trainableArrays.map { params.arrays[$0] }, trainedGrads = trainableArrays.map { grads.arrays[$0] }
        let trainedSlices = slices.map { s in trainableArrays.map { sparse[$0] ? s.weight($0) : nil } }
        var tapes = memory.tapes
        defer { memory.tapes = tapes }
        // Each worker draws its own dropout masks (rank 0 those of a one-process fit).
        noise = (options.seed ^ (UInt64(options.reducer?.rank ?? 0) &* 0x9E37_79B9_7F4A_7C15), 0)
        let exchange = options.reducer.map { reducer in
            GradientExchange(reducer: reducer, arrays: trainedGrads + (trainedSlices ?? []).compactMap { $0 }.flatMap {
                [$0.squares, $0.absolutes, $0.clipped].compactMap { $0 }
            })
        }
        var cursor = 0  // the batch of the current pass through the data that the next epoch starts at
        for epoch in 0..<options.epochs {
            let epochBatches = Swift.min(options.stepsPerEpoch ?? batches, batches - cursor)
            if options.shuffle, cursor == 0 {
                for i in 0..<trainCount { order[i] = i }
                for i in stride(from: trainCount - 1, to: 0, by: -1) {
                    let j = Int(rng.next() % UInt64(i + 1))
                    order.swapAt(i, j)
                }
            }
            var total = 0.0, seen = 0  // the batch losses weighed by their rows (all workers'), the rows
            let first = cursor * bs
            var batchIndex = 0
            var stopAsked = false  // a data-parallel batch callback's stop, agreed at the next batch
            var metrics = MetricTotals(count: metricCount)
            while batchIndex < epochBatches {
                let start = Swift.min(first + batchIndex * bs, trainCount), end = Swift.min(start + bs, trainCount)
                let picked = order[start..<end]
                grads.zero()
                slices?.zero()
                let l: Double, rows: Int
                if let exchange {
                    let empty = picked.isEmpty
                    let step = try dataParallelLossAndGradients(
                        losses, empty ? [] : xs.map { $0.gather(picked) }, empty ? [] : ys.map { $0.gather(picked) },
                        weights: empty ? nil : weights?.gather(picked), rows: picked.count, into: grads, slices: slices,
                        tapes: &tapes, metrics: &metrics, exchange: exchange, stop: stopAsked)
                    if step.stopped {
                        throw LSTMError.cancelled("fit was stopped by a worker's batch callback after batch \(batchIndex) of \(epochBatches) in epoch \(epoch + 1); the weights are those after that batch")
                    }
                    (l, rows) = (step.loss, step.rows)
                } else {
                    l = lossAndGradients(losses, xs.map { $0.gather(picked) }, ys.map { $0.gather(picked) },
                                         weights: weights?.gather(picked), into: grads, slices: slices, carries: stateful?.state.carries ?? [],
                                         tapes: &tapes, metrics: &metrics)
                    rows = picked.count
                }
                noise.batch &+= 1
                guard l.isFinite, grads.allFinite else {
                    throw LSTMError.numeric("training diverged at epoch \(epoch + 1), batch \(batchIndex + 1): the \(l.isFinite ? "gradient" : "loss (\(l))") is not finite; stopped before that update, so the weights are those of the last finite step")
                }
                guard optimizer!.apply(params: trainedParams, grads: trainedGrads, slices: trainedSlices) else {
                    throw LSTMError.numeric("training diverged at epoch \(epoch + 1), batch \(batchIndex + 1): the update would make weights non-finite (is the learning rate too large?); it was not applied, so the weights and the optimizer's state are those of the last finite step")
                }
                total += l * Double(rows)
                seen += rows
                batchIndex += 1
                if let onBatch, onBatch(BatchLog(epoch: epoch, batch: batchIndex - 1, batches: epochBatches,
                                                 loss: total / Double(Swift.max(seen, 1)), metrics: metricResults(metrics))) {
                    if exchange == nil {
                        throw LSTMError.cancelled("fit was stopped by the batch callback after batch \(batchIndex) of \(epochBatches) in epoch \(epoch + 1); the weights are those after that batch")
                    }
                    stopAsked = true
                }
            }
            cursor = cursor + epochBatches >= batches ? 0 : cursor + epochBatches
            var log = EpochLog(epoch: epoch, loss: total / Double(Swift.max(seen, 1)), valLoss: nil, metrics: metricResults(metrics),
                               batches: epochBatches)
            if trainCount < count {
                let valXs = xs.map { $0.view(trainCount, count) }, valYs = ys.map { $0.view(trainCount, count) }
                let val = try options.reducer.map {
                    try dataParallelValidation(losses, valXs, valYs, weights: given?.view(trainCount, count),
                                               count: count - trainCount, batchSize: options.batchSize, reducer: $0)
                } ?? logsOver(losses, valXs, valYs, weights: given?.view(trainCount, count), count: count - trainCount,
                              batchSize: options.batchSize)
                log.valLoss = val[0]
                log.valMetrics = Array(val.dropFirst())
            }
            var stopping = onEpoch(log)
            if let reducer = options.reducer {
                // The workers stop together: when any one's callbacks asked to.
                let agreed = try anyWorker(reducer, [stopAsked, stopping])
                try checkWorkersAgree(reducer, epoch: epoch)
                if agreed[0] {
                    throw LSTMError.cancelled("fit was stopped by a worker's batch callback in the last batch of epoch \(epoch + 1); the weights are those after that batch")
                }
                stopping = agreed[1]
            }
            if stopping {
                optimizer!.finalize(trainedParams)
                return epoch + 1
            }
        }
        optimizer!.finalize(trainedParams)
        return options.epochs
    }

    /// `fit` for one flat input and target.
    @_specialize(exported: true, where T == Float)
    public func fit(x: UnsafeBufferPointer<T>, y: UnsafeBufferPointer<T>, count: Int, timesteps: Int,
                    options: FitOptions, onBatch: ((BatchLog) -> Bool)? = nil,
                    onEpoch: (EpochLog) -> Bool) throws -> Int {
        _ = try compiledLoss("fit")
        let (xv, yv) = try singleTensors(x: x, batch: count, timesteps: timesteps, y: y)
        return try fit([xv], targets: [yv!], options: options, onBatch: onBatch, onEpoch: onEpoch)
    }
}
