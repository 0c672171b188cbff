/// Keras's LayerNormalization over the last axis: y = (x - mean) / sqrt(var + epsilon) · gamma
/// + beta, the moments of each row of features. Passes the mask on; streams.
public struct LayerNormalizationSpec: LayerSpec, Equatable {
    public var name: String
    /// Keras's axis: -1 or the index of the last axis (batch = 0); no other is supported.
    public var axis = -1
    public var epsilon = 1e-3
    public var center = true
    public var scale = true

    public init(name: String = "layer_normalization") { self.name = name }

    public var kind: String { "LayerNormalization" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let (input, features) = try NormalizationAffine.checkedInput(inputs, axis: axis, epsilon: epsilon, self)
        return LayerNormalizationLayer(config: self, input: input,
                                       affine: NormalizationAffine(scale: scale, center: center, features: features))
    }
}

struct LayerNormalizationLayer: StatelessStep, ShapePreserving {
    let config: LayerNormalizationSpec
    let input: SampleShape
    let affine: NormalizationAffine

    var features: Int { affine.features }
    var spec: any LayerSpec { config }
    var weights: [WeightSpec] { affine.weights }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] { affine.initialWeights() }

    /// The mean and 1 / sqrt(var + epsilon) of one row (the variance accumulated in Double).
    func moments<T: Scalar>(_ x: UnsafePointer<T>) -> (mean: T, rstd: T) {
        let f = features
        var sum = 0.0
        for j in 0..<f { sum += Double(x[j]) }
        let mean = sum / Double(f)
        var sq = 0.0
        for j in 0..<f { let d = Double(x[j]) - mean; sq += d * d }
        return (T(mean), T(1 / (sq / Double(f) + config.epsilon).squareRoot()))
    }

    func normalize<T: Scalar>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ w: [UnsafeMutableBufferPointer<T>]) {
        let (mean, rstd) = moments(x)
        let g = affine.gamma(w), b = affine.beta(w)
        for j in 0..<features {
            y[j] = (x[j] - mean) * rstd * (g?[j] ?? 1) + (b?[j] ?? 0)
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        var y = inputs[0]
        let f = features
        inputs[0].values.withUnsafeBufferPointer { xp in
            y.values.withUnsafeMutableBufferPointer { yp in
                for r in 0..<(xp.count / f) { normalize(xp.baseAddress! + r * f, yp.baseAddress! + r * f, w) }
            }
        }
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let f = features, x = inputs[0].values, dy = outputGradients[0].values
        let gm = affine.gamma(w), dGamma = affine.gamma(g), dBeta = affine.beta(g)
        var dx = needInput[0] ? Tensor<T>(zeros: inputs[0].shape) : nil
        var xhat = [T](repeating: 0, count: f), dxhat = [T](repeating: 0, count: f)
        for r in 0..<(x.count / f) {
            let (mean, rstd) = x.withUnsafeBufferPointer { moments($0.baseAddress! + r * f) }
            var meanD: T = 0, meanDX: T = 0
            for j in 0..<f {
                let k = r * f + j
                xhat[j] = (x[k] - mean) * rstd
                dBeta?[j] += dy[k]
                dGamma?[j] += dy[k] * xhat[j]
                dxhat[j] = dy[k] * (gm?[j] ?? 1)
                meanD += dxhat[j]
                meanDX += dxhat[j] * xhat[j]
            }
            meanD /= T(f)
            meanDX /= T(f)
            if dx != nil {
                for j in 0..<f { dx!.values[r * f + j] = rstd * (dxhat[j] - meanD - xhat[j] * meanDX) }
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
        normalize(inputs[0], outputs[0], w)
    }
}
