public enum LossKind: String, Sendable {
    case meanSquaredError = "mean_squared_error"
    case meanAbsoluteError = "mean_absolute_error"
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
