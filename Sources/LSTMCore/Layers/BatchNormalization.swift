/// Keras's BatchNormalization over the last axis. In fit (unless the layer is frozen) it
/// normalizes with the moments of the batch — over every sample and step, the masked steps left
/// out as Keras 3 leaves them — and moves its moving statistics towards them
/// (moving = moving · momentum + batch · (1 - momentum)); in inference it uses the moving
/// statistics. Weights in Keras's order: gamma, beta (trainable), moving_mean, moving_variance
/// (non-trainable: the layer updates them, the optimizer never sees them). Passes the mask on.
public struct BatchNormalizationSpec: LayerSpec, Equatable {
    public var name: String
    public var momentum = 0.99
    /// Keras's axis: -1 or the index of the last axis (batch = 0); no other is supported.
    public var axis = -1
    public var epsilon = 1e-3
    public var center = true
    public var scale = true

    public init(name: String = "batch_normalization") { self.name = name }

    public var kind: String { "BatchNormalization" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let (input, features) = try NormalizationAffine.checkedInput(inputs, axis: axis, epsilon: epsilon, self)
        guard momentum.isFinite, momentum >= 0, momentum <= 1 else {
            throw LSTMError.invalidArgument("layer '\(name)' (BatchNormalization): momentum must be in [0, 1], got \(momentum)")
        }
        return BatchNormalizationLayer(config: self, input: input,
                                       affine: NormalizationAffine(scale: scale, center: center, features: features))
    }
}

/// The statistics a training pass normalized with (per feature), for its backward.
final class BatchNormalizationTape<T: Scalar> {
    let mean: [T], rstd: [T]
    /// Per row (sample · step): 1 where it counted in the moments (real), else 0; nil: all.
    let weights: [T]?
    let count: T
    init(mean: [T], rstd: [T], weights: [T]?, count: T) {
        self.mean = mean
        self.rstd = rstd
        self.weights = weights
        self.count = count
    }
}

struct BatchNormalizationLayer: StatelessStep, ShapePreserving {
    let config: BatchNormalizationSpec
    let input: SampleShape
    let affine: NormalizationAffine

    var features: Int { affine.features }
    var spec: any LayerSpec { config }
    var weights: [WeightSpec] {
        affine.weights
            + [WeightSpec("moving_mean", [features], trainable: false), WeightSpec("moving_variance", [features], trainable: false)]
    }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        affine.initialWeights() + [[T](repeating: 0, count: features), [T](repeating: 1, count: features)]
    }

    /// The moving mean and variance, after gamma and beta.
    func moving<T>(_ w: [UnsafeMutableBufferPointer<T>]) -> (mean: UnsafeMutableBufferPointer<T>, variance: UnsafeMutableBufferPointer<T>) {
        (w[affine.count], w[affine.count + 1])
    }

    /// 1 / sqrt(moving variance + epsilon): inference's scale per feature.
    func movingRstd<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>]) -> [T] {
        let mv = moving(w).variance
        return (0..<features).map { T(1 / (Double(mv[$0]) + config.epsilon).squareRoot()) }
    }

    /// y = (x - mean) · rstd · gamma + beta on every row.
    func normalize<T: Scalar>(_ x: [T], mean: [T], rstd: [T], _ w: [UnsafeMutableBufferPointer<T>]) -> [T] {
        let f = features, g = affine.gamma(w), b = affine.beta(w)
        var y = x
        for k in y.indices {
            let j = k % f
            y[k] = (x[k] - mean[j]) * rstd[j] * (g?[j] ?? 1) + (b?[j] ?? 0)
        }
        return y
    }

    /// Per row of a (batch, steps, features) input: whether its step is real.
    func rowWeights<T: Scalar>(_ x: Tensor<T>, _ mask: Mask?) -> [T]? {
        guard let mask, x.shape.count == 3, mask.values.count == x.values.count / features else { return nil }
        return mask.values.map { $0 ? 1 : 0 }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0], f = features, rows = x.values.count / f
        let (mm, mv) = moving(w)
        guard context.training, context.layerTrainable else {
            return [Tensor(shape: x.shape, values: normalize(x.values, mean: Array(mm), rstd: movingRstd(w), w))]
        }
        // The batch's moments, in Double; masked rows weigh 0 and the count gains Keras's 1e-7.
        let rw: [T]? = rowWeights(x, context.mask)
        let count = rw.map { $0.reduce(0.0) { $0 + Double($1) } + 1e-7 } ?? Double(rows)
        var mean = [Double](repeating: 0, count: f), variance = [Double](repeating: 0, count: f)
        for r in 0..<rows {
            let wr = rw.map { Double($0[r]) } ?? 1
            guard wr != 0 else { continue }
            for j in 0..<f { mean[j] += Double(x.values[r * f + j]) }
        }
        for j in 0..<f { mean[j] /= count }
        for r in 0..<rows {
            if let rw, rw[r] == 0 { continue }
            for j in 0..<f { let d = Double(x.values[r * f + j]) - mean[j]; variance[j] += d * d }
        }
        for j in 0..<f { variance[j] /= count }
        let m = T(config.momentum)
        for j in 0..<f {
            mm[j] = mm[j] * m + T(mean[j]) * (1 - m)
            mv[j] = mv[j] * m + T(variance[j]) * (1 - m)
        }
        let meanT = mean.map { T($0) }, rstd = variance.map { T(1 / ($0 + config.epsilon).squareRoot()) }
        context.tape = BatchNormalizationTape(mean: meanT, rstd: rstd, weights: rw, count: T(count))
        return [Tensor(shape: x.shape, values: normalize(x.values, mean: meanT, rstd: rstd, w))]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let x = inputs[0].values, dy = outputGradients[0].values, f = features, rows = x.count / f
        let stats = tape as? BatchNormalizationTape<T>
        let mean = stats?.mean ?? Array(moving(w).mean)
        let rstd = stats?.rstd ?? movingRstd(w)
        let gamma = affine.gamma(w).map(Array.init) ?? [T](repeating: 1, count: f)
        // Sums over every row (masked ones too: their outputs also use the batch's moments).
        var sumDy = [T](repeating: 0, count: f), sumDyXc = [T](repeating: 0, count: f)
        for k in x.indices {
            let j = k % f
            sumDy[j] += dy[k]
            sumDyXc[j] += dy[k] * (x[k] - mean[j])
        }
        for j in 0..<f {
            affine.beta(g)?[j] += sumDy[j]
            affine.gamma(g)?[j] += sumDyXc[j] * rstd[j]
        }
        guard needInput[0] else { return [nil] }
        var dx = Tensor<T>(zeros: inputs[0].shape)
        for k in x.indices { dx.values[k] = dy[k] * gamma[k % f] * rstd[k % f] }
        guard let stats else { return [dx] }
        // Through the batch moments: d mean and d var, spread over the rows that made them.
        var dMean = [T](repeating: 0, count: f), dVar = [T](repeating: 0, count: f), centred = [T](repeating: 0, count: f)
        for j in 0..<f {
            dVar[j] = -sumDyXc[j] * gamma[j] * rstd[j] * rstd[j] * rstd[j] / 2
            dMean[j] = -sumDy[j] * gamma[j] * rstd[j]
        }
        for r in 0..<rows where (stats.weights?[r] ?? 1) != 0 {
            for j in 0..<f { centred[j] += x[r * f + j] - mean[j] }
        }
        // d var / d mean = -2 Σ w (x - mean) / count: ~0, but exact for the gradient check.
        for j in 0..<f { dMean[j] -= 2 * dVar[j] * centred[j] / stats.count }
        for r in 0..<rows {
            let wr = stats.weights?[r] ?? 1
            guard wr != 0 else { continue }
            for j in 0..<f {
                let k = r * f + j
                dx.values[k] += (dMean[j] + 2 * dVar[j] * (x[k] - mean[j])) / stats.count
            }
        }
        return [dx]
    }

    func checkStreamable() throws {}

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        // The moving statistics' normalization, computed in place (a step allocates nothing).
        let (mm, mv) = moving(w), g = affine.gamma(w), b = affine.beta(w)
        for j in 0..<features {
            let r = T(1 / (Double(mv[j]) + config.epsilon).squareRoot())
            outputs[0][j] = (inputs[0][j] - mm[j]) * r * (g?[j] ?? 1) + (b?[j] ?? 0)
        }
    }
}
