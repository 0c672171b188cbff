/// An optimizer as Keras 3 configures it: the algorithm with its own hyperparameters, and the
/// options every Keras optimizer has (learning rate, weight decay, one kind of gradient clipping).
public struct OptimizerSpec: Equatable, Sendable {
    public enum Algorithm: Equatable, Sendable {
        case sgd(momentum: Double, nesterov: Bool)
        /// Adam, and AdamW (the same update; Keras's AdamW only defaults weight_decay to 0.004).
        case adam(beta1: Double, beta2: Double, epsilon: Double, amsgrad: Bool)
        case rmsprop(rho: Double, momentum: Double, epsilon: Double, centered: Bool)
        case adagrad(initialAccumulator: Double, epsilon: Double)
        case adadelta(rho: Double, epsilon: Double)
        case adamax(beta1: Double, beta2: Double, epsilon: Double)
        case nadam(beta1: Double, beta2: Double, epsilon: Double)
        case lion(beta1: Double, beta2: Double)
    }

    public var algorithm: Algorithm
    /// The constant rate, or (with a schedule) the schedule's rate at step 0.
    public var learningRate: Double
    /// Keras's learning_rate given as a schedule: the rate of each update follows it.
    public var schedule: LearningRateSchedule?
    /// Keras's weight_decay: before each update, every trained weight w -= w · weight_decay · lr.
    public var weightDecay: Double?
    /// Keras's clipnorm (each weight's gradient to this L2 norm), global_clipnorm (all of them
    /// together) and clipvalue (each value to ±this); Keras allows one of the three.
    public var clipNorm: Double?
    public var globalClipNorm: Double?
    public var clipValue: Double?
    /// Keras's class name: "AdamW" for Adam with decoupled weight decay, else the algorithm's.
    public var className: String
    /// Keras's use_ema: a moving average of every trained weight, kept beside the optimizer's
    /// slots, copied into the weights every `overwriteFrequency` updates and at the end of fit.
    public var ema: EMA?

    public struct EMA: Equatable, Sendable {
        /// Keras's ema_momentum: average = m · average + (1 − m) · weight after each update
        /// (the first update copies the weight).
        public var momentum: Double
        /// Keras's ema_overwrite_frequency (nil: only at the end of fit).
        public var overwriteFrequency: Int?
        public init(momentum: Double = 0.99, overwriteFrequency: Int? = nil) {
            self.momentum = momentum
            self.overwriteFrequency = overwriteFrequency
        }
    }

    public init(_ algorithm: Algorithm, learningRate: Double, weightDecay: Double? = nil, className: String? = nil) {
        self.algorithm = algorithm
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.className = className ?? algorithm.className
    }

    /// The learning rate of the update after `iterations` updates.
    public func learningRate(at iterations: Int) -> Double { schedule?.rate(at: iterations) ?? learningRate }

    public static func adam(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double) -> OptimizerSpec {
        OptimizerSpec(.adam(beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: false), learningRate: learningRate)
    }

    public static func sgd(learningRate: Double, momentum: Double, nesterov: Bool) -> OptimizerSpec {
        OptimizerSpec(.sgd(momentum: momentum, nesterov: nesterov), learningRate: learningRate)
    }

    public static let defaultAdam = OptimizerSpec.adam(learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
    public static let defaultSGD = OptimizerSpec.sgd(learningRate: 0.01, momentum: 0, nesterov: false)

    /// Checks the hyperparameters' ranges, as Keras's constructors do, and that they are finite.
    public func validate() throws {
        let cls = className
        func check(_ v: Double, _ name: String, _ ok: (Double) -> Bool, _ range: String) throws {
            guard v.isFinite, ok(v) else { throw LSTMError.invalidArgument("\(cls): \(name) must be \(range), got \(v)") }
        }
        func unit(_ v: Double, _ name: String) throws { try check(v, name, { (0..<1).contains($0) }, "in [0, 1)") }
        func nonNegative(_ v: Double, _ name: String) throws { try check(v, name, { $0 >= 0 }, ">= 0") }
        if let schedule { try schedule.validate() } else { try check(learningRate, "learning_rate", { $0 > 0 }, "> 0") }
        if let weightDecay { try nonNegative(weightDecay, "weight_decay") }
        let clips = [("clipnorm", clipNorm), ("global_clipnorm", globalClipNorm), ("clipvalue", clipValue)]
        for case let (name, v?) in clips { try check(v, name, { $0 > 0 }, "> 0") }
        if let ema {
            try check(ema.momentum, "ema_momentum", { (0...1).contains($0) }, "in [0, 1]")
            if let n = ema.overwriteFrequency, n < 1 {
                throw LSTMError.invalidArgument("\(cls): ema_overwrite_frequency must be an integer >= 1 or None, got \(n)")
            }
        }
        let set = clips.filter { $0.1 != nil }.map(\.0)
        guard set.count <= 1 else {
            throw LSTMError.invalidArgument("\(cls): only one of clipnorm, clipvalue and global_clipnorm can be set, got \(set.joined(separator: " and "))")
        }
        switch algorithm {
        case let .sgd(momentum, _):
            try check(momentum, "momentum", { (0...1).contains($0) }, "in [0, 1]")
        case let .adam(b1, b2, eps, _), let .adamax(b1, b2, eps), let .nadam(b1, b2, eps):
            try unit(b1, "beta_1"); try unit(b2, "beta_2"); try nonNegative(eps, "epsilon")
        case let .rmsprop(rho, momentum, eps, _):
            try unit(rho, "rho"); try check(momentum, "momentum", { (0..<1).contains($0) }, "in [0, 1)"); try nonNegative(eps, "epsilon")
        case let .adagrad(initial, eps):
            try nonNegative(initial, "initial_accumulator_value"); try nonNegative(eps, "epsilon")
        case let .adadelta(rho, eps):
            try unit(rho, "rho"); try nonNegative(eps, "epsilon")
        case let .lion(b1, b2):
            try check(b1, "beta_1", { $0 > 0 && $0 <= 1 }, "in (0, 1]"); try unit(b2, "beta_2")
        }
    }
}

extension OptimizerSpec.Algorithm {
    public var className: String {
        switch self {
        case .sgd: return "SGD"
        case .adam: return "Adam"
        case .rmsprop: return "RMSprop"
        case .adagrad: return "Adagrad"
        case .adadelta: return "Adadelta"
        case .adamax: return "Adamax"
        case .nadam: return "Nadam"
        case .lion: return "Lion"
        }
    }
}
