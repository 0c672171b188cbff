/// Keras's losses: each reduces a position's values over the last axis (a mean, or a sum for
/// the categorical ones), then takes the mean over positions (Keras's sum_over_batch_size; see
/// Loss.swift and Crossentropy.swift).
public enum LossKind: Equatable, Sendable {
    case meanSquaredError
    case meanAbsoluteError
    case meanAbsolutePercentageError
    case meanSquaredLogarithmicError
    /// Quadratic up to |error| = delta, linear beyond.
    case huber(delta: Double)
    case logCosh
    case poisson
    /// Hinge losses take targets of −1/1, or 0/1 which Keras maps to −1/1.
    case hinge
    case squaredHinge
    case categoricalHinge
    /// Σ y·log(y/p) over the last axis, both clipped to [1e-7, 1].
    case klDivergence
    /// −(y/|y|)·(p/|p|) over the last axis.
    case cosineSimilarity
    /// The mean over the last axis of −(y·log p + (1−y)·log(1−p)), from the logits when it can
    /// (see `readsLayerLogits`).
    case binaryCrossentropy(Crossentropy)
    /// Binary crossentropy weighted by (1 − p_t)^gamma (and, balanced, alpha for class 1 and
    /// 1 − alpha for class 0).
    case binaryFocalCrossentropy(Crossentropy, Focal)
    /// −Σ y·log p over the last axis (one-hot or soft targets).
    case categoricalCrossentropy(Crossentropy)
    /// Σ alpha·(1 − p)^gamma · (−y·log p) over the last axis, from the rescaled, clipped
    /// probabilities (Keras computes it with plain ops, so never from a layer's logits).
    case categoricalFocalCrossentropy(Crossentropy, Focal)
    /// Categorical crossentropy with one class id per position as the target; positions whose
    /// target is `ignoreClass` count for nothing (as if masked).
    case sparseCategoricalCrossentropy(fromLogits: Bool, ignoreClass: Int?)

    /// What the crossentropies share: whether the output holds logits (Keras's from_logits),
    /// and how far the targets are pulled towards uniform (label_smoothing, in [0, 1]).
    public struct Crossentropy: Equatable, Sendable {
        public var fromLogits: Bool
        public var labelSmoothing: Double
        public init(fromLogits: Bool = false, labelSmoothing: Double = 0) {
            self.fromLogits = fromLogits
            self.labelSmoothing = labelSmoothing
        }
    }

    /// Binary focal crossentropy's weights (Keras's defaults).
    public struct Focal: Equatable, Sendable {
        public var gamma: Double
        public var alpha: Double
        public var applyClassBalancing: Bool
        public init(gamma: Double = 2, alpha: Double = 0.25, applyClassBalancing: Bool = false) {
            self.gamma = gamma
            self.alpha = alpha
            self.applyClassBalancing = applyClassBalancing
        }
    }

    /// Keras's function name ("mean_squared_error", "huber", ...), as a legacy training_config names it.
    public var name: String {
        switch self {
        case .meanSquaredError: return "mean_squared_error"
        case .meanAbsoluteError: return "mean_absolute_error"
        case .meanAbsolutePercentageError: return "mean_absolute_percentage_error"
        case .meanSquaredLogarithmicError: return "mean_squared_logarithmic_error"
        case .huber: return "huber"
        case .logCosh: return "log_cosh"
        case .poisson: return "poisson"
        case .hinge: return "hinge"
        case .squaredHinge: return "squared_hinge"
        case .categoricalHinge: return "categorical_hinge"
        case .klDivergence: return "kl_divergence"
        case .cosineSimilarity: return "cosine_similarity"
        case .binaryCrossentropy: return "binary_crossentropy"
        case .binaryFocalCrossentropy: return "binary_focal_crossentropy"
        case .categoricalCrossentropy: return "categorical_crossentropy"
        case .categoricalFocalCrossentropy: return "categorical_focal_crossentropy"
        case .sparseCategoricalCrossentropy: return "sparse_categorical_crossentropy"
        }
    }

    /// Whether the targets are class ids, one per output position (a target of the output's
    /// shape without its last axis, or with a last axis of 1).
    public var takesClassIds: Bool {
        if case .sparseCategoricalCrossentropy = self { return true }
        return false
    }

    /// The target's shape for an output of this shape (batch first).
    public func targetShape(forOutput shape: [Int]) -> [Int] {
        takesClassIds ? Array(shape.dropLast()) : shape
    }

    /// Keras's from_logits: the output itself holds logits.
    public var fromLogits: Bool {
        switch self {
        case .binaryCrossentropy(let c), .binaryFocalCrossentropy(let c, _), .categoricalCrossentropy(let c),
             .categoricalFocalCrossentropy(let c, _): return c.fromLogits
        case .sparseCategoricalCrossentropy(let fromLogits, _): return fromLogits
        default: return false
        }
    }

    /// Whether the loss works from the logits behind an output that a sigmoid or softmax made,
    /// as Keras's TensorFlow backend does (the `_keras_logits` such an activation leaves on its
    /// output): every crossentropy, except a sparse one with an ignored class (Keras then
    /// replaces the output by a new tensor, which carries no logits).
    public var readsLayerLogits: Bool {
        switch self {
        case .binaryCrossentropy, .binaryFocalCrossentropy, .categoricalCrossentropy: return true
        case .sparseCategoricalCrossentropy(_, let ignored): return ignored == nil
        default: return false
        }
    }

    /// How probabilities follow from logits for this loss (sigmoid for the binary ones, softmax
    /// for the categorical ones): what an output of logits (from_logits) goes through.
    var logitActivation: Activation {
        switch self {
        case .binaryCrossentropy, .binaryFocalCrossentropy: return .sigmoid
        default: return .softmax
        }
    }
}

/// What `compile` sets: the loss, the optimizer and the metrics reported beside the loss.
public struct CompileSpec: Equatable, Sendable {
    /// The loss given once for every output; with a loss per output, the first one given (what
    /// the single-output calls use).
    public var loss: LossKind
    public var optimizer: OptimizerSpec
    public var metrics: CompileMetrics
    /// Keras's weighted_metrics: the same metrics, weighted by the sample weights.
    public var weightedMetrics: CompileMetrics = .none
    /// A loss per output (nil: `loss` for every output), as given; see OutputLosses.
    public var perOutputLosses: PerOutput<LossKind?>?
    /// Keras's loss_weights, as given (nil: every loss weighs 1).
    public var lossWeights: PerOutput<Double>?
    public init(loss: LossKind, optimizer: OptimizerSpec, metrics: CompileMetrics = .none,
                perOutputLosses: PerOutput<LossKind?>? = nil, lossWeights: PerOutput<Double>? = nil) {
        self.loss = loss
        self.optimizer = optimizer
        self.metrics = metrics
        self.perOutputLosses = perOutputLosses
        self.lossWeights = lossWeights
    }
}
