#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Losses as Keras 3 defines them (keras/src/losses/losses.py): a value per position (the last
/// axis reduced), then the mean over the batch's positions — over the real ones when the output
/// carries a mask, so padded steps count for nothing. Computed in Double; the gradient with
/// respect to the prediction follows TensorFlow's at the corners (clip passes at its bounds,
/// max to the first argument on ties, |0| has gradient 0). The crossentropies are in
/// Crossentropy.swift.
extension LossKind {
    /// Keras's epsilon (backend.epsilon()).
    static let epsilon = 1e-7
    static let log2: Double = log(2.0)

    /// Writes dLoss/dPrediction into `grad` and returns the loss: the mean over `count / width`
    /// positions of `width` values each.
    /// - Parameter form: whether `prediction` holds the output or the logits behind it (the
    ///   crossentropies only; see PredictionForm).
    /// - Parameter weights: one weight per position (Keras's sample weights, spread over the
    ///   positions): each position's loss and gradient is multiplied by it, the divisor stays
    ///   the number of positions (Keras's sum_over_batch_size).
    func evaluate<T: Scalar>(prediction p: UnsafePointer<T>, target t: UnsafePointer<T>, count: Int, width: Int,
                             form: PredictionForm = .probabilities, weights: UnsafePointer<Double>? = nil,
                             grad: UnsafeMutablePointer<T>?) -> Double {
        reduce(p, t, width: width, positions: count / Swift.max(width, 1), real: nil, form: form, weights: weights, grad: grad)
    }

    /// The loss of an output that carries a mask, as Keras 3 reduces it: the mean over the real
    /// (sample, timestep) positions of each position's loss; 0, with no gradient, when no step is real.
    /// - Parameters:
    ///   - width: values per position (the last axis).
    ///   - real: one flag per position, row-major (batch, timesteps).
    func evaluate<T: Scalar>(prediction p: UnsafePointer<T>, target t: UnsafePointer<T>, width: Int, real: [Bool],
                             form: PredictionForm = .probabilities, weights: UnsafePointer<Double>? = nil,
                             grad: UnsafeMutablePointer<T>?) -> Double {
        reduce(p, t, width: width, positions: real.count, real: real, form: form, weights: weights, grad: grad)
    }

    /// The positions the loss is a mean over, as flags (nil: all of them): the real ones under a
    /// mask, without those of a sparse crossentropy's ignored class.
    private func counted<T: Scalar>(_ t: UnsafePointer<T>, positions: Int, real given: [Bool]?) -> [Bool]? {
        guard case .sparseCategoricalCrossentropy(_, let ignored?) = self else { return given }
        let kept = (0..<positions).map { Double(t[$0]) != Double(ignored) }
        return given.map { zip($0, kept).map { $0 && $1 } } ?? kept
    }

    /// How many positions the loss of these targets divides by (see `counted`): a data-parallel
    /// fit sums these over the workers to weigh each worker's mean by its share of the global batch.
    func countedPositions<T: Scalar>(target t: UnsafePointer<T>, positions: Int, real: [Bool]?) -> Int {
        Self.count(counted(t, positions: positions, real: real), of: positions)
    }

    /// The true flags, or all `positions` without flags.
    private static func count(_ flags: [Bool]?, of positions: Int) -> Int {
        flags?.reduce(0) { $0 + ($1 ? 1 : 0) } ?? positions
    }

    /// The mean over the real positions (all, without a mask) of each position's loss. A sparse
    /// crossentropy's ignored class masks its positions as well, as Keras's loss mask does.
    private func reduce<T: Scalar>(_ p: UnsafePointer<T>, _ t: UnsafePointer<T>, width: Int, positions: Int,
                                   real given: [Bool]?, form: PredictionForm, weights: UnsafePointer<Double>?,
                                   grad: UnsafeMutablePointer<T>?) -> Double {
        let real = counted(t, positions: positions, real: given)
        let targetWidth = takesClassIds ? 1 : width
        if real != nil { grad?.initialize(repeating: 0, count: positions * width) }
        let valid = Self.count(real, of: positions)
        guard valid > 0 else { return 0 }
        let scale = 1 / Double(valid), binary = hingeTargetsAreBinary(t, count: positions * targetWidth)
        let scratch = CrossentropyScratch(width: isCrossentropy ? width : 0)
        defer { scratch.release() }
        var sum = 0.0
        for k in 0..<positions where real?[k] ?? true {
            let w = weights?[k] ?? 1
            sum += w * position(p + k * width, t + k * targetWidth, width: width, grad: grad.map { $0 + k * width },
                                scale: scale * w, binaryTargets: binary, form: form, scratch: scratch)
        }
        return sum * scale
    }

    /// One position's loss; `grad` (if any) receives scale · dLoss/dp.
    /// - Parameter binaryTargets: the hinge losses' targets are all 0 or 1 (in the whole batch,
    ///   as Keras checks), so they are read as −1/1.
    private func position<T: Scalar>(_ pT: UnsafePointer<T>, _ tT: UnsafePointer<T>, width w: Int,
                                     grad: UnsafeMutablePointer<T>?, scale: Double, binaryTargets: Bool,
                                     form: PredictionForm, scratch: CrossentropyScratch) -> Double {
        let eps = Self.epsilon
        let mean = 1 / Double(w)
        @inline(__always) func p(_ j: Int) -> Double { Double(pT[j]) }
        @inline(__always) func t(_ j: Int) -> Double { Double(tT[j]) }
        @inline(__always) func put(_ j: Int, _ d: Double) { grad?[j] = T(scale * d) }
        @inline(__always) func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }
        var value = 0.0
        switch self {
        case .meanSquaredError:
            for j in 0..<w { let d = p(j) - t(j); value += d * d; put(j, 2 * d * mean) }
            value *= mean
        case .meanAbsoluteError:
            for j in 0..<w { let d = p(j) - t(j); value += abs(d); put(j, sign(d) * mean) }
            value *= mean
        case .meanAbsolutePercentageError:
            // 100 · |y − p| / max(|y|, ε)
            for j in 0..<w {
                let d = p(j) - t(j), denominator = Swift.max(abs(t(j)), eps)
                value += abs(d) / denominator
                put(j, 100 * sign(d) / denominator * mean)
            }
            value *= 100 * mean
        case .meanSquaredLogarithmicError:
            // (log(max(p, ε) + 1) − log(max(y, ε) + 1))²
            for j in 0..<w {
                let clipped = Swift.max(p(j), eps)
                let d = log(clipped + 1) - log(Swift.max(t(j), eps) + 1)
                value += d * d
                put(j, p(j) >= eps ? 2 * d / (clipped + 1) * mean : 0)
            }
            value *= mean
        case .huber(let delta):
            for j in 0..<w {
                let d = p(j) - t(j)
                if abs(d) <= delta {
                    value += 0.5 * d * d
                    put(j, d * mean)
                } else {
                    value += delta * abs(d) - 0.5 * delta * delta
                    put(j, delta * sign(d) * mean)
                }
            }
            value *= mean
        case .logCosh:
            // x + softplus(−2x) − log 2, x = p − y
            for j in 0..<w {
                let x = p(j) - t(j), z = -2 * x
                let tail: Double = exp(-abs(z))
                let softplus: Double = Swift.max(z, 0) + log1p(tail)
                value += x + softplus - Self.log2
                put(j, tanh(x) * mean)
            }
            value *= mean
        case .poisson:
            // p − y·log(p + ε)
            for j in 0..<w {
                value += p(j) - t(j) * log(p(j) + eps)
                put(j, (1 - t(j) / (p(j) + eps)) * mean)
            }
            value *= mean
        case .hinge, .squaredHinge:
            for j in 0..<w {
                let y = binaryTargets ? 2 * t(j) - 1 : t(j)
                let margin = 1 - y * p(j)
                if margin > 0 {
                    if self == .hinge {
                        value += margin
                        put(j, -y * mean)
                    } else {
                        value += margin * margin
                        put(j, -2 * margin * y * mean)
                    }
                } else {
                    put(j, 0)
                }
            }
            value *= mean
        case .categoricalHinge:
            // max(max((1 − y)·p) − Σ y·p + 1, 0)
            var positive = 0.0, negative = -Double.infinity, at = 0
            for j in 0..<w {
                positive += t(j) * p(j)
                let v = (1 - t(j)) * p(j)
                if v > negative { negative = v; at = j }
            }
            let margin = negative - positive + 1
            for j in 0..<w { put(j, 0) }
            if margin > 0 {
                value = margin
                for j in 0..<w { grad?[j] = T(scale * (-t(j) + (j == at ? 1 - t(j) : 0))) }
            }
        case .klDivergence:
            for j in 0..<w {
                let y = Swift.min(Swift.max(t(j), eps), 1), q = Swift.min(Swift.max(p(j), eps), 1)
                value += y * log(y / q)
                put(j, p(j) >= eps && p(j) <= 1 ? -y / q : 0)
            }
        case .binaryCrossentropy, .binaryFocalCrossentropy, .categoricalCrossentropy, .categoricalFocalCrossentropy,
             .sparseCategoricalCrossentropy:
            return crossentropy(pT, tT, width: w, form: form, grad: grad, scale: scale, scratch: scratch)
        case .cosineSimilarity:
            // −Σ ŷ·p̂ with x̂ = x / sqrt(max(Σx², 1e-12))
            var yy = 0.0, pp = 0.0, yp = 0.0
            for j in 0..<w { yy += t(j) * t(j); pp += p(j) * p(j); yp += t(j) * p(j) }
            let ny = Swift.max(yy, 1e-12).squareRoot(), np = Swift.max(pp, 1e-12).squareRoot()
            value = -yp / (ny * np)
            for j in 0..<w {
                // d/dp of −(y·p)/(|y||p|) where |p| = sqrt(max(Σp², 1e-12)).
                let dNorm = pp > 1e-12 ? p(j) / np : 0
                put(j, -(t(j) / (ny * np) - yp / (ny * np * np) * dNorm))
            }
        }
        return value
    }

    /// Keras's hinge losses read 0/1 targets as −1/1 when every target of the batch is 0 or 1.
    private func hingeTargetsAreBinary<T: Scalar>(_ t: UnsafePointer<T>, count: Int) -> Bool {
        guard self == .hinge || self == .squaredHinge else { return false }
        return (0..<count).allSatisfy { t[$0] == 0 || t[$0] == 1 }
    }
}
