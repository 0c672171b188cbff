/// Keras 3's compiled metrics (keras/src/metrics): values that fit and evaluate report beside
/// the loss, never trained on. Each is a mean: a value per output position (the last axis
/// reduced), then — over an epoch's batches or all of evaluate's — the sum of those values
/// over the sum of their weights (1 per position, the mask's 0/1 when the output carries one),
/// as Keras's `Mean.update_state` accumulates them.
public enum MetricKind: Equatable, Sendable {
    /// Keras's "accuracy" / "acc": binary, sparse or categorical accuracy by the output's width
    /// and the targets the loss takes (see `resolved(width:classIdTargets:)`).
    case accuracy
    /// Whether `prediction > threshold` equals the target, per value.
    case binaryAccuracy(threshold: Double)
    /// Whether the prediction's arg max is the target's.
    case categoricalAccuracy
    /// Whether the prediction's arg max is the target class id.
    case sparseCategoricalAccuracy
    /// Whether the target's class (its arg max, or its id when sparse) is among the `k` largest
    /// predictions (ties at the boundary count as in, as TensorFlow's in_top_k).
    case topKCategoricalAccuracy(k: Int, sparse: Bool)
    /// The square root of the mean squared error over all positions. Keras's RootMeanSquaredError
    /// does not read the output's mask, so padded steps count too.
    case rootMeanSquaredError
    /// Keras's CosineSimilarity metric: the cosine of target and prediction (the loss's value
    /// with its sign reversed).
    case cosineSimilarity
    /// The mean of a loss function's values (Keras's MeanMetricWrapper around mse, mae,
    /// the crossentropies, ...), from the output's probabilities (or logits, see `Model+Metrics`).
    case mean(LossKind)

    /// The kind Keras's compile picks for "accuracy" (compile_utils.get_metric): binary for an
    /// output of width 1, sparse when the targets are class ids, categorical otherwise.
    func resolved(width: Int, classIdTargets: Bool) -> MetricKind {
        guard self == .accuracy else { return self }
        if width == 1 { return .binaryAccuracy(threshold: 0.5) }
        return classIdTargets ? .sparseCategoricalAccuracy : .categoricalAccuracy
    }

    /// Whether the metric reads class ids (one per position) as its targets.
    var takesClassIds: Bool {
        switch self {
        case .sparseCategoricalAccuracy: return true
        case .topKCategoricalAccuracy(_, let sparse): return sparse
        case .mean(let loss): return loss.takesClassIds
        default: return false
        }
    }

    /// Whether the metric reads the output's mask (all of Keras's MeanMetricWrapper metrics do).
    var readsMask: Bool { self != .rootMeanSquaredError }

    /// The reported value from the accumulated sum and weight.
    func result(sum: Double, weight: Double) -> Double {
        let mean = weight > 0 ? sum / weight : 0  // Keras's divide_no_nan
        return self == .rootMeanSquaredError ? mean.squareRoot() : mean
    }
}

/// One metric of a compile: what it computes, and the name Keras gives it (the string it was
/// given as, or the metric object's `name`).
public struct MetricSpec: Equatable, Sendable {
    public var kind: MetricKind
    public var name: String
    /// Given as a string (written back as that string) rather than as a class config.
    public var byName: Bool
    public init(kind: MetricKind, name: String, byName: Bool) {
        self.kind = kind
        self.name = name
        self.byName = byName
    }
}

/// A compile's `metrics` as given, before the model assigns them to its outputs: a list (each
/// entry one metric or a list of them) or a dict by output name.
public enum CompileMetrics: Equatable, Sendable {
    case list([[MetricSpec]])
    case byOutput([OutputMetrics])

    public struct OutputMetrics: Equatable, Sendable {
        public var output: String
        public var metrics: [MetricSpec]
        public init(output: String, metrics: [MetricSpec]) {
            self.output = output
            self.metrics = metrics
        }
    }

    public static let none = CompileMetrics.list([])

    public var isEmpty: Bool {
        switch self {
        case .list(let entries): return entries.allSatisfy(\.isEmpty)
        case .byOutput(let outputs): return outputs.allSatisfy(\.metrics.isEmpty)
        }
    }
}

/// The running sums of a set of metrics: one (sum, weight) pair each.
struct MetricTotals {
    var sums: [Double]
    var weights: [Double]

    init(count: Int) {
        sums = [Double](repeating: 0, count: count)
        weights = sums
    }
}

extension MetricKind {
    /// The sum and weight of one batch's positions: `positions` of `width` predictions each,
    /// `targetWidth` targets each (1 for class ids); `real` flags the positions a mask keeps.
    /// `form` says how the crossentropy metrics read the prediction (see Model+Metrics).
    /// `weights`: one per position for a weighted metric (Keras's weighted_metrics): the sum
    /// and the weight are Σ w·value and Σ w over the kept positions.
    func accumulate<T: Scalar>(prediction p: UnsafePointer<T>, target t: UnsafePointer<T>, positions: Int,
                               width: Int, targetWidth: Int, real: [Bool]?, form: PredictionForm,
                               weights: UnsafePointer<Double>? = nil) -> (sum: Double, weight: Double) {
        let real = readsMask ? real : nil
        if self == .cosineSimilarity {
            let loss = MetricKind.mean(.cosineSimilarity).accumulate(prediction: p, target: t, positions: positions, width: width,
                                                                    targetWidth: targetWidth, real: real, form: form,
                                                                    weights: weights)
            return (-loss.sum, loss.weight)
        }
        var weight = 0.0
        for k in 0..<positions where real?[k] ?? true { weight += weights?[k] ?? 1 }
        if case .mean(let loss) = self {
            // The loss's own reduction: Σ w·value over the kept positions, divided by their number.
            let kept = real?.reduce(0) { $0 + ($1 ? 1 : 0) } ?? positions
            let mean = real.map { loss.evaluate(prediction: p, target: t, width: width, real: $0, form: form, weights: weights, grad: nil) }
                ?? loss.evaluate(prediction: p, target: t, count: positions * width, width: width, form: form,
                                 weights: weights, grad: nil)
            return (mean * Double(kept), weight)
        }
        var sum = 0.0
        for k in 0..<positions where real?[k] ?? true {
            sum += (weights?[k] ?? 1) * value(p + k * width, t + k * targetWidth, width: width)
        }
        return (sum, weight)
    }

    /// One position's value.
    private func value<T: Scalar>(_ p: UnsafePointer<T>, _ t: UnsafePointer<T>, width w: Int) -> Double {
        switch self {
        case .binaryAccuracy(let threshold):
            var hits = 0
            for j in 0..<w where (Double(p[j]) > threshold ? 1.0 : 0.0) == Double(t[j]) { hits += 1 }
            return Double(hits) / Double(w)
        case .categoricalAccuracy:
            return argMax(p, w) == argMax(t, w) ? 1 : 0
        case .sparseCategoricalAccuracy:
            return Double(argMax(p, w)) == Double(t[0]) ? 1 : 0
        case .topKCategoricalAccuracy(let k, let sparse):
            let target = sparse ? Double(t[0]) : Double(argMax(t, w))
            guard target >= 0, target < Double(w), target == target.rounded() else { return 0 }
            let v = Double(p[Int(target)])
            guard v.isFinite else { return 0 }
            var above = 0
            for j in 0..<w where Double(p[j]) > v { above += 1 }
            return above < k ? 1 : 0
        case .rootMeanSquaredError:
            var s = 0.0
            for j in 0..<w { let d = Double(p[j]) - Double(t[j]); s += d * d }
            return s / Double(w)
        case .accuracy, .mean, .cosineSimilarity:
            preconditionFailure("resolved before use")
        }
    }

    /// The first index of the largest value (TensorFlow's arg max on CPU).
    private func argMax<T: Scalar>(_ x: UnsafePointer<T>, _ w: Int) -> Int {
        var best = 0
        for j in 1..<Swift.max(w, 1) where x[j] > x[best] { best = j }
        return best
    }
}
