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
}
