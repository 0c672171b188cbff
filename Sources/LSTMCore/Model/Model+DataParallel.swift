/// `fit` with a `GradientReducer` (FitOptions.reducer): each worker trains on its shard, and
/// every update applies the gradient of the global batch, the union of the workers' batches.
///
/// A loss is a mean over the positions it counts, so a worker's mean is weighed by its share of
/// the global count before anything is summed: after the forward pass the workers sum their
/// counts, each scales its output gradients (and losses) by count / global count, and the
/// backward pass then yields this worker's part of the global gradient, which the reducer sums.
/// What depends only on the weights (the regularizers' penalties and gradients) is added once,
/// after the sum, since every worker holds the same weights.
extension Model {
    /// Refuses what cannot be split over workers and give the global batch's update.
    func checkDataParallel(_ reducer: any GradientReducer, _ options: FitOptions, stateful: Bool) throws {
        // At most 2^20 workers: fit keeps a few values per worker (batch counts, weight sums).
        guard reducer.workers >= 1, reducer.workers <= 1 << 20, reducer.rank >= 0, reducer.rank < reducer.workers else {
            throw LSTMError.invalidArgument("fit: the gradient reducer says rank \(UInt(bitPattern: reducer.rank)) of \(UInt(bitPattern: reducer.workers)) workers; rank must be below workers, and workers between 1 and 2^20")
        }
        if stateful {
            throw LSTMError.unsupported("fit: a stateful model cannot train data-parallel (each worker's carried states would belong to other samples)")
        }
        if let steps = options.stepsPerEpoch {
            throw LSTMError.unsupported("fit: steps_per_epoch (\(steps)) is not supported with a gradient reducer (every worker must run the same batches of one pass)")
        }
        for (l, layer) in spec.layers.enumerated() where layer is BatchNormalizationSpec && !spec.frozenLayers.contains(l) {
            throw LSTMError.unsupported("fit: layer '\(layer.name)' (BatchNormalization) normalizes with its batch's statistics, which differ from worker to worker (synchronized batch normalization is not implemented); freeze it (trainable=False) to train data-parallel")
        }
    }

    /// The batches each epoch runs on every worker: as many as the worker with the most
    /// training samples needs (a worker whose shard runs out sooner takes part with empty batches).
    func dataParallelBatches(_ reducer: any GradientReducer, trainCount: Int, batchSize: Int) throws -> Int {
        var counts = [Double](repeating: 0, count: reducer.workers)
        counts[reducer.rank] = Double((trainCount + batchSize - 1) / batchSize)
        try reducer.sum(&counts)
        return Int(counts.max() ?? 0)
    }

    /// Per output, the positions its loss counts in this pass (0 for an output without a loss).
    func countedPositions(_ losses: OutputLosses, of pass: Pass, targets: [Tensor<T>]) -> [Double] {
        let masks = spec.outputs.map(pass.mask)
        return zip(outputs(of: pass), targets).enumerated().map { k, pair -> Double in
            guard let loss = losses.kinds[k] else { return 0 }
            let (out, target) = pair, width = Swift.max(out.shape.last ?? 1, 1), positions = out.values.count / width
            let real = Self.realPositions(masks[k], width: out.shape.last ?? 1, values: out.values.count)
            return Double(target.values.withUnsafeBufferPointer {
                loss.countedPositions(target: $0.baseAddress!, positions: real?.count ?? positions, real: real)
            })
        }
    }

    /// One data-parallel batch: this worker's `rows` rows (possibly none), the global gradient
    /// into `gradients` (and `slices`), the global batch's metrics added to `metrics`.
    /// `stop`: this worker's batch callback asked to stop after the previous batch; if any
    /// worker did, every worker returns `stopped` before this update.
    /// - Returns: the global batch's loss (regularization included) and its rows.
    func dataParallelLossAndGradients(_ losses: OutputLosses, _ xs: [Tensor<T>], _ ys: [Tensor<T>], weights: Tensor<T>?,
                                      rows: Int, into gradients: Parameters<T>, slices: SliceSums<T>?,
                                      tapes: inout [AnyObject?], metrics: inout MetricTotals,
                                      exchange: GradientExchange<T>, stop: Bool) throws
        -> (loss: Double, rows: Int, stopped: Bool) {
        let outs = spec.outputs.count
        var pass: Pass?
        var perOutput = [Double](repeating: 0, count: outs), counts = perOutput
        var dOut: [Tensor<T>]? = []
        if rows > 0 {
            let p = forward(xs, training: true, reuse: tapes, logits: losses.readsLayerLogits)
            tapes = p.tapes
            perOutput = loss(losses, of: p, targets: ys, weights: weights, gradients: &dOut)
            counts = countedPositions(losses, of: p, targets: ys)
            pass = p
        }
        // The global counts, the global rows, and whether any worker asked to stop.
        var head = counts + [Double(rows), stop ? 1 : 0]
        try exchange.reducer.sum(&head)
        let globalRows = Int(head[outs])
        if head[outs + 1] > 0 { return (0, globalRows, true) }
        var batchMetrics = MetricTotals(count: metricCount)
        var activity = 0.0
        if let pass {
            for k in 0..<outs where counts[k] > 0 {
                let share = counts[k] / head[k]
                perOutput[k] *= share
                let s = T(share)
                dOut![k].values.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= s } }
            }
            accumulateMetrics(of: pass, targets: ys, outputLosses: nil, sampleWeights: weights, into: &batchMetrics)
            // Activity penalties are divided by the batch size: the global batch's here.
            let rowShare = Double(rows) / Double(Swift.max(globalRows, 1))
            var extra = activityGradients(pass)
            for e in extra.indices {
                let s = T(rowShare)
                extra[e].gradient.values.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= s } }
            }
            activity = activityPenalty(pass) * rowShare
            backward(pass, outputGradients: dOut ?? [], gradients: gradients, slices: slices, extra: extra)
        }
        // The gradients, and with them each output's loss, the activity penalty and the metric sums.
        var stats = perOutput + [activity] + batchMetrics.sums + batchMetrics.weights
        try exchange.sum(stats: &stats)
        let globalOutputs = Array(stats[0..<outs])
        for m in 0..<metricCount {
            metrics.sums[m] += stats[outs + 1 + m]
            metrics.weights[m] += stats[outs + 1 + metricCount + m]
        }
        addOutputLosses(globalOutputs, into: &metrics)
        let regularized = regularizedArrays
        addRegularizationGradients(regularized, into: gradients)
        return (weightedTotal(globalOutputs, losses) + stats[outs] + weightPenalty(regularized), globalRows, false)
    }

    /// The loss and metric sums of a worker's validation samples, summed over the workers:
    /// the global validation loss and metrics (each batch's mean weighed by its rows, as
    /// `logsOver` weighs them).
    func dataParallelValidation(_ losses: OutputLosses, _ xs: [TensorView<T>], _ ys: [TensorView<T>],
                                weights: TensorView<T>?, count: Int, batchSize: Int,
                                reducer: any GradientReducer) throws -> [Double] {
        let local = count > 0 ? logTotals(losses, xs, ys, weights: weights, count: count, batchSize: batchSize)
            : (total: 0, rows: 0, metrics: MetricTotals(count: metricCount))
        var stats = [local.total, Double(local.rows)] + local.metrics.sums + local.metrics.weights
        try reducer.sum(&stats)
        var totals = MetricTotals(count: metricCount)
        totals.sums = Array(stats[2..<(2 + metricCount)])
        totals.weights = Array(stats[(2 + metricCount)...])
        return [stats[0] / Swift.max(stats[1], 1)] + metricResults(totals)
    }

    /// Every worker must hold the same weights at the start of fit (`epoch` nil) and after each
    /// epoch: each puts the sum of its weights in its own slot, and all must agree bit for bit.
    func checkWorkersAgree(_ reducer: any GradientReducer, epoch: Int?) throws {
        var sums = [Double](repeating: 0, count: reducer.workers)
        sums[reducer.rank] = params.arrays.reduce(0.0) { total, a in a.reduce(total) { $0 + Double($1) } }
        try reducer.sum(&sums)
        guard sums.allSatisfy({ $0 == sums[reducer.rank] }) else {
            let when = epoch.map { "after epoch \($0 + 1)" } ?? "at the start of fit (broadcast rank 0's weights first)"
            throw LSTMError.internal("fit: \(when) the workers' weights differ (sums \(sums)); every worker must run the same model, compile config, options and library")
        }
    }

    /// Whether any worker's callbacks asked to stop (`flags` this worker's, summed over all).
    func anyWorker(_ reducer: any GradientReducer, _ flags: [Bool]) throws -> [Bool] {
        var values = flags.map { $0 ? 1.0 : 0.0 }
        try reducer.sum(&values)
        return values.map { $0 > 0 }
    }
}

/// The buffer a data-parallel fit's gradients travel in: the trained arrays' gradients (and the
/// slice sums the optimizer reads) packed into one, summed over the workers, unpacked again.
/// Allocated once per fit.
final class GradientExchange<T: Scalar> {
    let reducer: any GradientReducer
    private let arrays: [UnsafeMutableBufferPointer<T>]
    private let packed: UnsafeMutableBufferPointer<T>

    init(reducer: any GradientReducer, arrays: [UnsafeMutableBufferPointer<T>]) {
        self.reducer = reducer
        self.arrays = arrays
        packed = .allocate(capacity: arrays.reduce(0) { $0 + $1.count })
    }

    deinit { packed.deallocate() }

    /// Sums the arrays and `stats` over the workers, in place.
    func sum(stats: inout [Double]) throws {
        var offset = 0
        for a in arrays {
            _ = UnsafeMutableBufferPointer(rebasing: packed[offset..<(offset + a.count)]).update(fromContentsOf: a)
            offset += a.count
        }
        try stats.withUnsafeMutableBufferPointer { try reducer.sum(packed, $0) }
        offset = 0
        for a in arrays {
            _ = a.update(fromContentsOf: packed[offset..<(offset + a.count)])
            offset += a.count
        }
    }
}
