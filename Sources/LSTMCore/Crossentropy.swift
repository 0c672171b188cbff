#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an output reaches a crossentropy: as the probabilities the model outputs, or as logits.
/// Keras's TensorFlow backend works from the logits whenever it has them — an output made by a
/// sigmoid or softmax activation keeps its input (`_keras_logits`), and from_logits says the
/// output itself is one — so its loss stays finite and its gradient is p − y where the
/// probabilities saturate; from the probabilities it clips them to [ε, 1 − ε] instead.
public enum PredictionForm: Equatable, Sendable {
    case probabilities
    /// The prediction holds logits; `activation` (.sigmoid or .softmax) gives the probabilities
    /// the loss reads besides them (the focal factor).
    case logits(Activation)
}

/// Per-position working memory of the crossentropies: the probabilities and the two parts of
/// the gradient (through the probabilities, and directly to the logits), `width` each.
struct CrossentropyScratch {
    let p: UnsafeMutablePointer<Double>
    let dp: UnsafeMutablePointer<Double>
    let dz: UnsafeMutablePointer<Double>

    init(width: Int) {
        p = .allocate(capacity: Swift.max(width, 1) * 3)
        dp = p + Swift.max(width, 1)
        dz = dp + Swift.max(width, 1)
    }

    func release() { p.deallocate() }
}

extension LossKind {
    var isCrossentropy: Bool {
        switch self {
        case .binaryCrossentropy, .binaryFocalCrossentropy, .categoricalCrossentropy, .categoricalFocalCrossentropy,
             .sparseCategoricalCrossentropy:
            return true
        default: return false
        }
    }

    /// One position's crossentropy, as keras/src/losses/losses.py and TensorFlow's kernels
    /// compute it; `grad` (if any) receives scale · dLoss/dPrediction (with respect to the
    /// logits when the prediction holds them). From logits, the gradients are TensorFlow's:
    /// softmax(z) − y for the categorical ones (as its kernel returns it, whatever the targets
    /// sum to) and sigmoid(z) − y for the binary ones.
    func crossentropy<T: Scalar>(_ v: UnsafePointer<T>, _ t: UnsafePointer<T>, width w: Int, form: PredictionForm,
                                 grad: UnsafeMutablePointer<T>?, scale: Double, scratch s: CrossentropyScratch) -> Double {
        let eps = Self.epsilon
        // The probabilities: the prediction itself, or the activation of its logits.
        for j in 0..<w { s.p[j] = Double(v[j]) }
        var logits = false
        if case .logits(let activation) = form {
            logits = true
            if activation == .softmax { Self.softmax(s.p, w) } else { for j in 0..<w { s.p[j] = Self.sigmoid(s.p[j]) } }
        }
        for j in 0..<w { s.dp[j] = 0; s.dz[j] = 0 }
        @inline(__always) func z(_ j: Int) -> Double { Double(v[j]) }
        /// The probability clipped as Keras clips it, and whether the clip passes its gradient.
        @inline(__always) func clipped(_ q: Double) -> (Double, Bool) {
            q < eps ? (eps, false) : (q > 1 - eps ? (1 - eps, false) : (q, true))
        }
        var value = 0.0
        switch self {
        case .binaryCrossentropy(let c), .binaryFocalCrossentropy(let c, _):
            let focal: Focal? = { if case .binaryFocalCrossentropy(_, let f) = self { return f } else { return nil } }()
            let mean = 1 / Double(w)
            for j in 0..<w {
                let y = Double(t[j]) * (1 - c.labelSmoothing) + 0.5 * c.labelSmoothing
                // The crossentropy and its gradient, from the logits or the clipped probability.
                var bce: Double, dBCE: Double
                if logits {
                    let x = z(j)
                    bce = Swift.max(x, 0) - x * y + log1p(exp(-abs(x)))
                    dBCE = Self.sigmoid(x) - y
                } else {
                    let (q, passes) = clipped(s.p[j])
                    bce = -(y * log(q) + (1 - y) * log(1 - q))
                    dBCE = passes ? -y / q + (1 - y) / (1 - q) : 0
                }
                var weight = 1.0, dWeight = 0.0  // the focal factor and its derivative in p
                if let f = focal {
                    let p = s.p[j], pt = y * p + (1 - y) * (1 - p)
                    let balance = f.applyClassBalancing ? y * f.alpha + (1 - y) * (1 - f.alpha) : 1
                    weight = balance * pow(1 - pt, f.gamma)
                    let slope = f.gamma == 0 ? 0 : f.gamma * pow(1 - pt, f.gamma - 1)
                    dWeight = balance * slope * -(2 * y - 1)
                }
                value += weight * bce
                s.dp[j] += dWeight * bce * mean
                if logits { s.dz[j] += weight * dBCE * mean } else { s.dp[j] += weight * dBCE * mean }
            }
            value *= mean
        case .categoricalCrossentropy(let c):
            let smooth = c.labelSmoothing / Double(w)
            @inline(__always) func y(_ j: Int) -> Double { Double(t[j]) * (1 - c.labelSmoothing) + smooth }
            if logits {
                let lse = Self.logSumExp(v, w)
                for j in 0..<w { value += y(j) * (lse - z(j)) }
                for j in 0..<w { s.dz[j] = exp(z(j) - lse) - y(j) }
            } else {
                // Keras first rescales the probabilities to sum to 1, then clips them.
                var sum = 0.0
                for j in 0..<w { sum += s.p[j] }
                var weighted = 0.0  // Σ g_j·p_j, for the rescaling's gradient
                for j in 0..<w {
                    let (q, passes) = clipped(s.p[j] / sum)
                    value -= y(j) * log(q)
                    let g = passes ? -y(j) / q : 0
                    s.dp[j] = g / sum
                    weighted += g * s.p[j]
                }
                for j in 0..<w { s.dp[j] -= weighted / (sum * sum) }
            }
        case .categoricalFocalCrossentropy(let c, let f):
            // From the probabilities (the softmax of logits with from_logits), rescaled to sum 1
            // and clipped as categorical_crossentropy's; the gradient goes back the same way.
            let smooth = c.labelSmoothing / Double(w)
            var sum = 0.0
            for j in 0..<w { sum += s.p[j] }
            var weighted = 0.0
            for j in 0..<w {
                let y = Double(t[j]) * (1 - c.labelSmoothing) + smooth
                let (q, passes) = clipped(s.p[j] / sum)
                let factor = pow(1 - q, f.gamma)
                value += f.alpha * factor * -y * log(q)
                let slope = f.gamma == 0 ? 0 : f.gamma * pow(1 - q, f.gamma - 1)
                let g = passes ? f.alpha * y * (slope * log(q) - factor / q) : 0
                s.dp[j] = g / sum
                weighted += g * s.p[j]
            }
            for j in 0..<w { s.dp[j] -= weighted / (sum * sum) }
        case .sparseCategoricalCrossentropy:
            let label = Int(Double(t[0]))  // checked to be a class id (or the ignored class) before
            guard label >= 0, label < w else { value = 0; break }
            if logits {
                let lse = Self.logSumExp(v, w)
                value = lse - z(label)
                for j in 0..<w { s.dz[j] = exp(z(j) - lse) - (j == label ? 1 : 0) }
            } else {
                // TensorFlow's sparse softmax crossentropy of log(clip(p)).
                var sum = 0.0
                for j in 0..<w { sum += clipped(s.p[j]).0 }
                let (own, _) = clipped(s.p[label])
                value = log(sum) - log(own)
                for j in 0..<w {
                    let passes = clipped(s.p[j]).1
                    s.dp[j] = passes ? 1 / sum - (j == label ? 1 / own : 0) : 0
                }
            }
        default:
            return 0
        }
        guard let grad else { return value }
        if case .logits(let activation) = form {
            // What reaches the probabilities goes back through the activation that made them.
            if activation == .softmax {
                var dot = 0.0
                for j in 0..<w { dot += s.dp[j] * s.p[j] }
                for j in 0..<w { s.dz[j] += s.p[j] * (s.dp[j] - dot) }
            } else {
                for j in 0..<w { s.dz[j] += s.dp[j] * s.p[j] * (1 - s.p[j]) }
            }
            for j in 0..<w { grad[j] = T(scale * s.dz[j]) }
        } else {
            for j in 0..<w { grad[j] = T(scale * s.dp[j]) }
        }
        return value
    }

    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// Softmax in place over `n` values.
    static func softmax(_ p: UnsafeMutablePointer<Double>, _ n: Int) {
        var top = -Double.infinity
        for j in 0..<n { top = Swift.max(top, p[j]) }
        var sum = 0.0
        for j in 0..<n { p[j] = exp(p[j] - top); sum += p[j] }
        for j in 0..<n { p[j] /= sum }
    }

    static func logSumExp<T: Scalar>(_ z: UnsafePointer<T>, _ n: Int) -> Double {
        var top = -Double.infinity
        for j in 0..<n { top = Swift.max(top, Double(z[j])) }
        var sum = 0.0
        for j in 0..<n { sum += exp(Double(z[j]) - top) }
        return top + log(sum)
    }
}
