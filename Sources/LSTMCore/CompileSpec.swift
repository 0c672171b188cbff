/// Keras's losses that compare each output value (or each position's values) with its target
/// and need no class ids: each is the mean (or, for the last three, a sum) over the last axis
/// per position, then the mean over positions (Keras's sum_over_batch_size; see Loss.swift).
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
        }
    }
}

/// What `compile` sets: the loss and the optimizer.
public struct CompileSpec: Equatable, Sendable {
    public var loss: LossKind
    public var optimizer: OptimizerSpec
    public init(loss: LossKind, optimizer: OptimizerSpec) {
        self.loss = loss
        self.optimizer = optimizer
    }
}
