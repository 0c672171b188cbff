/// Losses, reduced as Keras does by default: the mean over every output element of the batch.
extension LossKind {
    /// Writes dLoss/dPrediction into `grad` and returns the loss.
    func evaluate<T: Scalar>(prediction p: UnsafePointer<T>, target t: UnsafePointer<T>, count: Int,
                             grad: UnsafeMutablePointer<T>?) -> Double {
        var sum = 0.0
        let scale = 1 / Double(count)
        switch self {
        case .meanSquaredError:
            for k in 0..<count {
                let d = p[k] - t[k]
                sum += Double(d) * Double(d)
                grad?[k] = T(2 * scale) * d
            }
        case .meanAbsoluteError:
            for k in 0..<count {
                let d = p[k] - t[k]
                sum += abs(Double(d))
                grad?[k] = d > 0 ? T(scale) : (d < 0 ? T(-scale) : 0)
            }
        }
        return sum * scale
    }

    /// The loss of an output that carries a mask, as Keras 3 reduces it: the mean over the real
    /// (sample, timestep) positions of each position's loss (itself the mean over the last axis),
    /// so padded steps count for nothing; 0, with no gradient, when no step is real.
    /// - Parameters:
    ///   - width: values per position (the last axis).
    ///   - real: one flag per position, row-major (batch, timesteps).
    func evaluate<T: Scalar>(prediction p: UnsafePointer<T>, target t: UnsafePointer<T>, width: Int, real: [Bool],
                             grad: UnsafeMutablePointer<T>?) -> Double {
        let valid = real.reduce(0) { $0 + ($1 ? 1 : 0) }
        grad?.initialize(repeating: 0, count: real.count * width)
        guard valid > 0 else { return 0 }
        let scale = 1 / Double(valid * width)
        var sum = 0.0
        for (position, isReal) in real.enumerated() where isReal {
            for j in 0..<width {
                let k = position * width + j
                let d = p[k] - t[k]
                switch self {
                case .meanSquaredError:
                    sum += Double(d) * Double(d)
                    grad?[k] = T(2 * scale) * d
                case .meanAbsoluteError:
                    sum += abs(Double(d))
                    grad?[k] = d > 0 ? T(scale) : (d < 0 ? T(-scale) : 0)
                }
            }
        }
        return sum * scale
    }
}
