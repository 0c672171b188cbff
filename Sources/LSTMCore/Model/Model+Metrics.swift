/// A compiled metric, assigned to one model output and resolved for it.
struct OutputMetric: Equatable {
    var output: Int
    var kind: MetricKind
    /// Its key in the logs: the metric's name, after the output's name when the model has
    /// several outputs, with _1, _2 ... for a name already taken (Keras's CompileMetrics.result).
    var name: String
    /// One of compile's weighted_metrics: weighted by the sample weights.
    var weighted = false
}

/// The compiled metrics: assigned to the outputs at compile, accumulated from the loss passes.
extension Model {
    /// The log key of each value reported after "loss", in Keras's order: the compiled
    /// metrics, then (for several outputs) each output's own loss as "<output>_loss", which
    /// Keras's CompileLoss tracks whenever it has more than one loss to sum.
    public var metricNames: [String] {
        guard compileSpec != nil else { return [] }
        return compiledMetrics.map(\.name) + outputLossNames
    }

    private var outputLossNames: [String] {
        (compiledLosses?.tracked ?? []).map { "\(spec.outputName($0))_loss" }
    }

    /// How many values `metricNames` names (without building the names, for the batch loops).
    public var metricCount: Int {
        compileSpec == nil ? 0 : compiledMetrics.count + (compiledLosses?.tracked.count ?? 0)
    }

    /// Assigns a compile's metrics to the outputs as Keras's CompileMetrics.build does: with one
    /// output every metric is its; with several, a list needs one entry per output and a dict
    /// names outputs. Checks each metric against the targets the loss takes.
    func assignMetrics(_ metrics: CompileMetrics, weighted: CompileMetrics = .none, losses: OutputLosses) throws -> [OutputMetric] {
        var taken: [String: Int] = [:]
        let plain = try assign(metrics, losses: losses, weighted: false, taken: &taken)
        return plain + (try assign(weighted, losses: losses, weighted: true, taken: &taken))
    }

    private func assign(_ metrics: CompileMetrics, losses: OutputLosses, weighted: Bool,
                        taken: inout [String: Int]) throws -> [OutputMetric] {
        let outputs = spec.outputs.count
        var perOutput: [[MetricSpec]]
        switch metrics {
        case .list(let entries) where outputs == 1:
            perOutput = [entries.flatMap { $0 }]
        case .list(let entries):
            guard entries.allSatisfy(\.isEmpty) || entries.count == outputs else {
                throw LSTMError.invalidArgument("compile: metrics for a model with \(outputs) outputs must be a list with one entry per output (each a metric or a list of them) or a dict by output name; got a list of \(entries.count)")
            }
            perOutput = entries.allSatisfy(\.isEmpty) ? [] : entries
        case .byOutput(let named):
            let names = (0..<outputs).map(spec.outputName)
            perOutput = Array(repeating: [], count: outputs)
            for entry in named {
                guard let k = names.firstIndex(of: entry.output) else {
                    throw LSTMError.invalidArgument("compile: metrics name output '\(entry.output)', but the model's outputs are \(names.joined(separator: ", "))")
                }
                perOutput[k] += entry.metrics
            }
            if outputs == 1 { perOutput = [perOutput.flatMap { $0 }] }
        }
        var assigned: [OutputMetric] = []
        for (k, specs) in perOutput.enumerated() {
            let width = outputShapes[k].last.flatMap { $0 } ?? 0
            for m in specs {
                let loss = losses.kinds[k] ?? .meanSquaredError
                let kind = m.kind.resolved(width: width, classIdTargets: loss.takesClassIds)
                try check(kind, named: m.name, width: width, loss: loss)
                let prefix = outputs > 1 ? "\(spec.outputName(k))_" : ""
                var name = prefix + m.name
                // A weighted metric whose name is taken becomes weighted_<name> (Keras's
                // CompileMetrics.result); a name taken again gets _1, _2 ...
                if weighted, taken[name] != nil { name = prefix + "weighted_" + m.name }
                if let n = taken[name] {
                    taken[name] = n + 1
                    name += "_\(n)"
                } else {
                    taken[name] = 1
                }
                assigned.append(OutputMetric(output: k, kind: kind, name: name, weighted: weighted))
            }
        }
        return assigned
    }

    /// A metric reads the targets the loss takes: class ids for a sparse loss, values of the
    /// output's shape otherwise.
    private func check(_ kind: MetricKind, named name: String, width: Int, loss: LossKind) throws {
        let binaryOnIds = loss.takesClassIds && width == 1 && kind == .binaryAccuracy(threshold: 0.5)
        guard kind.takesClassIds == loss.takesClassIds || binaryOnIds else {
            throw LSTMError.invalidArgument(kind.takesClassIds
                ? "compile: metric '\(name)' reads class ids, but the loss \(loss.name) takes targets of the output's shape; use its categorical form"
                : "compile: metric '\(name)' reads targets of the output's shape, but the loss \(loss.name) takes class ids; use its sparse form")
        }
        if case .topKCategoricalAccuracy(let topK, _) = kind, topK < 1 {
            throw LSTMError.invalidArgument("compile: metric '\(name)' needs k >= 1, got \(topK)")
        }
        if case .mean(.sparseCategoricalCrossentropy(_, _?)) = kind {
            throw LSTMError.unsupported("compile: metric '\(name)': ignore_class is a loss option, not a metric's")
        }
    }

    /// Adds a batch's loss of each output to the per-output loss trackers. Keras's trackers count
    /// each batch once, whatever its size (their batch-size weight is a symbolic None inside
    /// TensorFlow's compiled step: a short last batch weighs as much as a full one), unlike the
    /// total loss.
    func addOutputLosses(_ outputLosses: [Double], into totals: inout MetricTotals) {
        guard totals.sums.count == metricCount else { return }
        for (slot, k) in (compiledLosses?.tracked ?? []).enumerated() {
            totals.sums[compiledMetrics.count + slot] += outputLosses[k]
            totals.weights[compiledMetrics.count + slot] += 1
        }
    }

    /// Adds one pass's metric values to `totals` (one pair per compiled metric). Keras's metrics
    /// read the output itself: an output node the loss pass ran without its sigmoid or softmax
    /// gets it back here, except for the crossentropy metrics, which read its logits as Keras's
    /// TensorFlow backend does.
    /// `outputLosses`: the batch's loss of each output (nil: leave the per-output loss trackers
    /// to `addOutputLosses`).
    /// `sampleWeights`: the batch's, for the weighted metrics (none: every position weighs 1).
    func accumulateMetrics(of pass: Pass, targets: [Tensor<T>], outputLosses: [Double]?, sampleWeights: Tensor<T>? = nil,
                           into totals: inout MetricTotals) {
        guard totals.sums.count == metricCount else { return }
        if let outputLosses { addOutputLosses(outputLosses, into: &totals) }
        let outs = outputs(of: pass)
        var restored: [Int: Tensor<T>] = [:]
        for (m, metric) in compiledMetrics.enumerated() {
            let k = metric.output, out = outs[k], width = out.shape.last ?? 1
            let targetWide = !(compiledLosses?.takesClassIds(k) ?? false)
            var swapped: Activation?
            if pass.logits, case .node(let j, _) = spec.outputs[k] { swapped = logitLayers[j]?.activation }
            var form = PredictionForm.probabilities
            var prediction = out
            if case .mean(let loss) = metric.kind, loss.isCrossentropy {
                if let swapped { form = .logits(swapped) } else if loss.fromLogits { form = .logits(loss.logitActivation) }
            } else if let swapped {
                if restored[k] == nil {
                    var p = out
                    p.values.withUnsafeMutableBufferPointer { v in
                        if swapped == .softmax {
                            applySoftmaxRows(v.count / Swift.max(width, 1), width, v.baseAddress!)
                        } else {
                            swapped.apply(v.baseAddress!, v.count)
                        }
                    }
                    restored[k] = p
                }
                prediction = restored[k]!
            }
            let positions = prediction.values.count / Swift.max(width, 1)
            var real: [Bool]?
            if let mask = pass.mask(spec.outputs[k]), mask.values.count == positions { real = mask.values }
            let weights = metric.weighted ? sampleWeights.map { Self.perPosition($0, positions: positions) } : nil
            let (sum, weight) = prediction.values.withUnsafeBufferPointer { p in
                targets[k].values.withUnsafeBufferPointer { t in
                    weights.withOptionalPointer { w in
                        metric.kind.accumulate(prediction: p.baseAddress!, target: t.baseAddress!, positions: positions,
                                               width: width, targetWidth: targetWide ? width : 1, real: real, form: form,
                                               weights: w)
                    }
                }
            }
            totals.sums[m] += sum
            totals.weights[m] += weight
        }
    }

    /// The values of `metricNames` from their totals.
    func metricResults(_ totals: MetricTotals) -> [Double] {
        totals.sums.indices.map { m in
            m < compiledMetrics.count ? compiledMetrics[m].kind.result(sum: totals.sums[m], weight: totals.weights[m])
                : (totals.weights[m] > 0 ? totals.sums[m] / totals.weights[m] : 0)
        }
    }
}
