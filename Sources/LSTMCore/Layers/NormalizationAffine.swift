/// What BatchNormalization and LayerNormalization share: they normalize the last axis (Keras's
/// axis -1, or that axis's index as tf-keras writes it) with an epsilon, then scale by gamma
/// and offset by beta when `scale` and `center` are on — Keras's first weights, in that order.
struct NormalizationAffine: Equatable, Sendable {
    let scale: Bool, center: Bool, features: Int

    /// The per-sample input of a normalization layer and its features, checked: one input of
    /// rank >= 2 with known features, normalized on its last axis, epsilon > 0.
    static func checkedInput(_ inputs: [SampleShape], axis: Int, epsilon: Double, _ spec: any LayerSpec) throws
        -> (input: SampleShape, features: Int) {
        let input = try LayerChecks.single(inputs, spec)
        guard !input.isEmpty else {
            throw LSTMError.shapeMismatch("layer '\(spec.name)' (\(spec.kind)) needs at least 2-D input, got \(LayerChecks.describe(input))")
        }
        guard axis == -1 || axis == input.count else {
            throw LSTMError.unsupported("layer '\(spec.name)' (\(spec.kind)): axis \(axis) is not supported for input \(LayerChecks.describe(input)) (only the last axis, -1 or \(input.count))")
        }
        guard epsilon.isFinite, epsilon > 0 else {
            throw LSTMError.invalidArgument("layer '\(spec.name)' (\(spec.kind)): epsilon must be > 0, got \(epsilon)")
        }
        return (input, try LayerChecks.features(input, spec))
    }

    var weights: [WeightSpec] {
        (scale ? [WeightSpec("gamma", [features])] : []) + (center ? [WeightSpec("beta", [features])] : [])
    }

    /// Keras's initial gamma (ones) and beta (zeros).
    func initialWeights<T: Scalar>() -> [[T]] {
        (scale ? [[T](repeating: 1, count: features)] : []) + (center ? [[T](repeating: 0, count: features)] : [])
    }

    /// How many of the layer's first weight arrays are gamma and beta.
    var count: Int { (scale ? 1 : 0) + (center ? 1 : 0) }

    /// gamma and beta among the layer's weights (or their gradients), nil where switched off.
    func gamma<T>(_ w: [UnsafeMutableBufferPointer<T>]) -> UnsafeMutableBufferPointer<T>? { scale ? w[0] : nil }
    func beta<T>(_ w: [UnsafeMutableBufferPointer<T>]) -> UnsafeMutableBufferPointer<T>? { center ? w[scale ? 1 : 0] : nil }
}
