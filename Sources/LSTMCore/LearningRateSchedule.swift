#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keras 3's learning-rate schedules (keras/src/optimizers/schedules): the learning rate of
/// each update, from the optimizer's update count before it (0 for the first).
public struct LearningRateSchedule: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// initial · rate^(step / steps), the exponent floored with staircase.
        case exponentialDecay(initial: Double, decaySteps: Double, decayRate: Double, staircase: Bool)
        /// initial / (1 + rate · step / steps), the quotient floored with staircase.
        case inverseTimeDecay(initial: Double, decaySteps: Double, decayRate: Double, staircase: Bool)
        /// values[0] up to and including boundaries[0], values[i] in (boundaries[i-1], boundaries[i]],
        /// the last value after the last boundary.
        case piecewiseConstantDecay(boundaries: [Double], values: [Double])
        /// (initial − end) · (1 − step / steps)^power + end; with cycle, steps grows by whole
        /// multiples of itself instead of the step stopping at it.
        case polynomialDecay(initial: Double, decaySteps: Double, end: Double, power: Double, cycle: Bool)
        /// A linear warmup from initial to warmupTarget over warmupSteps (when a target is set),
        /// then a half cosine from there down to alpha times it over decaySteps.
        case cosineDecay(initial: Double, decaySteps: Double, alpha: Double, warmupTarget: Double?, warmupSteps: Double)
        /// SGDR: half cosines from initial down to alpha times it, restarting after
        /// firstDecaySteps, then periods tMul times longer each, peaks mMul times lower each.
        case cosineDecayRestarts(initial: Double, firstDecaySteps: Double, tMul: Double, mMul: Double, alpha: Double)
    }

    public var kind: Kind
    /// Keras's `name` (its config keeps it).
    public var name: String

    public init(_ kind: Kind, name: String? = nil) {
        self.kind = kind
        self.name = name ?? kind.defaultName
    }

    /// The rate at update count `step`.
    public func rate(at step: Int) -> Double {
        let s = Double(step)
        switch kind {
        case let .exponentialDecay(initial, steps, rate, staircase):
            let p = staircase ? (s / steps).rounded(.down) : s / steps
            return initial * pow(rate, p)
        case let .inverseTimeDecay(initial, steps, rate, staircase):
            let p = staircase ? (s / steps).rounded(.down) : s / steps
            return initial / (1 + rate * p)
        case let .piecewiseConstantDecay(boundaries, values):
            for (b, v) in zip(boundaries, values) where s <= b { return v }
            return values[values.count - 1]
        case let .polynomialDecay(initial, steps, end, power, cycle):
            var horizon = steps, at = s
            if cycle {
                horizon *= s == 0 ? 1 : (s / steps).rounded(.up)
            } else {
                at = Swift.min(s, steps)
            }
            return (initial - end) * pow(1 - at / horizon, power) + end
        case let .cosineDecay(initial, steps, alpha, target, warmup):
            func decayed(_ at: Double, from lr: Double) -> Double {
                lr * ((1 - alpha) * 0.5 * (1 + cos(Double.pi * at / steps)) + alpha)
            }
            guard let target else { return decayed(Swift.min(s, steps), from: initial) }
            let at = Swift.min(s, steps + warmup)
            return at < warmup ? (target - initial) * (at / warmup) + initial : decayed(at - warmup, from: target)
        case let .cosineDecayRestarts(initial, first, tMul, mMul, alpha):
            return Double(Self.restarts(step: Float(s), initial: Float(initial), first: Float(first), tMul: Float(tMul),
                                        mMul: Float(mMul), alpha: Float(alpha)))
        }
    }

    /// CosineDecayRestarts in float32, as Keras computes it: which period a step falls in is a
    /// floor of float32 logarithms, and the same rounding puts a step at a restart's boundary in
    /// the same period Keras does.
    static func restarts(step: Float, initial: Float, first: Float, tMul: Float, mMul: Float, alpha: Float) -> Float {
        var fraction = step / first
        let restart: Float
        if tMul == 1 {
            restart = fraction.rounded(.down)
            fraction -= restart
        } else {
            restart = (logf(1 - fraction * (1 - tMul)) / logf(tMul)).rounded(.down)
            let done = (1 - powf(tMul, restart)) / (1 - tMul)
            fraction = (fraction - done) / powf(tMul, restart)
        }
        let cosine = 0.5 * powf(mMul, restart) * (1 + cosf(Float.pi * fraction))
        return initial * ((1 - alpha) * cosine + alpha)
    }

    /// Checks what Keras's constructors check, and that every number is finite.
    public func validate() throws {
        let cls = kind.className
        func finite(_ values: [Double]) throws {
            guard values.allSatisfy(\.isFinite) else { throw LSTMError.invalidArgument("\(cls): its values must be finite") }
        }
        func positive(_ steps: Double) throws {
            guard steps > 0 else { throw LSTMError.invalidArgument("\(cls): decay_steps must be > 0, got \(steps)") }
        }
        switch kind {
        case let .exponentialDecay(initial, steps, rate, _), let .inverseTimeDecay(initial, steps, rate, _):
            try finite([initial, steps, rate]); try positive(steps)
        case let .piecewiseConstantDecay(boundaries, values):
            try finite(boundaries + values)
            guard !values.isEmpty, boundaries.count == values.count - 1 else {
                throw LSTMError.invalidArgument("\(cls): boundaries must be one fewer than values, got \(boundaries.count) and \(values.count)")
            }
            guard zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw LSTMError.invalidArgument("\(cls): boundaries must increase, got \(boundaries)")
            }
        case let .polynomialDecay(initial, steps, end, power, _):
            try finite([initial, steps, end, power]); try positive(steps)
        case let .cosineDecay(initial, steps, alpha, target, warmup):
            try finite([initial, steps, alpha, warmup] + (target.map { [$0] } ?? [])); try positive(steps)
            guard warmup >= 0 else { throw LSTMError.invalidArgument("\(cls): warmup_steps must be >= 0, got \(warmup)") }
        case let .cosineDecayRestarts(initial, first, tMul, mMul, alpha):
            try finite([initial, first, tMul, mMul, alpha])
            guard first > 0 else { throw LSTMError.invalidArgument("\(cls): first_decay_steps must be > 0, got \(first)") }
            // log(t_mul) finds the period: Keras would compute NaN rates for t_mul <= 0.
            guard tMul > 0 else { throw LSTMError.invalidArgument("\(cls): t_mul must be > 0, got \(tMul)") }
        }
    }
}

extension LearningRateSchedule.Kind {
    /// Keras's default `name` (PiecewiseConstantDecay's is "PiecewiseConstant").
    public var defaultName: String {
        if case .piecewiseConstantDecay = self { return "PiecewiseConstant" }
        if case .cosineDecayRestarts = self { return "SGDRDecay" }
        return className
    }

    public var className: String {
        switch self {
        case .exponentialDecay: return "ExponentialDecay"
        case .inverseTimeDecay: return "InverseTimeDecay"
        case .piecewiseConstantDecay: return "PiecewiseConstantDecay"
        case .polynomialDecay: return "PolynomialDecay"
        case .cosineDecay: return "CosineDecay"
        case .cosineDecayRestarts: return "CosineDecayRestarts"
        }
    }
}
