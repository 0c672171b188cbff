/// Keras's training-time noise layers: Dropout (with noise_shape), SpatialDropout1D,
/// GaussianNoise and GaussianDropout. In training each draws its noise from the context's
/// random stream (the fit's seed, the batch and the call: a seeded fit repeats exactly); in
/// predict, evaluate and streaming each is the identity. They pass the mask on.
public struct NoiseSpec: LayerSpec, Equatable {
    public enum Noise: Equatable, Sendable {
        /// Keeps a value with probability 1 - rate and scales it by 1 / (1 - rate); the noise
        /// is shared along the axes where `noiseShape` (batch first, as Keras writes it) is 1.
        case dropout(rate: Double, noiseShape: [Int?]?)
        /// Dropout of whole channels: one draw per (sample, feature), shared over the steps.
        case spatialDropout1D(rate: Double)
        /// x + N(0, stddev²).
        case gaussianNoise(stddev: Double)
        /// x · N(1, rate / (1 - rate)).
        case gaussianDropout(rate: Double)

        var kind: String {
            switch self {
            case .dropout: return "Dropout"
            case .spatialDropout1D: return "SpatialDropout1D"
            case .gaussianNoise: return "GaussianNoise"
            case .gaussianDropout: return "GaussianDropout"
            }
        }
    }

    public var name: String
    public var noise: Noise
    /// Keras's seed option, kept for the config: the noise comes from the fit's seed.
    public var seed: Int?

    public init(name: String, noise: Noise, seed: Int? = nil) {
        self.name = name
        self.noise = noise
        self.seed = seed
    }

    public var kind: String { noise.kind }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        switch noise {
        case .dropout(let rate, let shape):
            try Self.checkRate(rate, self)
            if let shape {
                guard shape.count == input.count + 1 else {
                    throw LSTMError.shapeMismatch("layer '\(name)' (Dropout): noise_shape \(shape.map { $0.map(String.init) ?? "None" }) has \(shape.count) axes, its input \(LayerChecks.describe(input)) has \(input.count + 1)")
                }
                for (k, d) in shape.enumerated() {
                    guard let d else { continue }
                    let dim = k == 0 ? nil : input[k - 1]
                    guard d == 1 || (dim != nil && d == dim!) else {
                        throw LSTMError.shapeMismatch("layer '\(name)' (Dropout): noise_shape axis \(k) is \(d); it must be 1, None or the input's size there (input \(LayerChecks.describe(input)))")
                    }
                }
            }
        case .spatialDropout1D(let rate):
            try Self.checkRate(rate, self)
            guard input.count == 2 else {
                throw LSTMError.shapeMismatch("layer '\(name)' (SpatialDropout1D) needs 3-D input (batch, steps, features), got \(LayerChecks.describe(input))")
            }
        case .gaussianDropout(let rate):
            try Self.checkRate(rate, self)
        case .gaussianNoise(let stddev):
            guard stddev.isFinite, stddev >= 0 else {
                throw LSTMError.invalidArgument("layer '\(name)' (GaussianNoise): stddev must be a finite number >= 0, got \(stddev)")
            }
        }
        return NoiseLayer(config: self, input: input)
    }

    static func checkRate(_ rate: Double, _ spec: NoiseSpec) throws {
        guard rate.isFinite, rate >= 0, rate < 1 else {
            throw LSTMError.invalidArgument("layer '\(spec.name)' (\(spec.kind)): rate must be in [0, 1), got \(rate)")
        }
    }
}

/// What backward needs of a training pass: the factor each value was multiplied by (nil for
/// additive noise, whose gradient passes unchanged).
final class NoiseTape<T: Scalar> {
    var factors: [T]?
    init(factors: [T]?) { self.factors = factors }
}

struct NoiseLayer: StatelessStep, Weightless, ShapePreserving {
    let config: NoiseSpec
    let input: SampleShape

    var spec: any LayerSpec { config }

    /// Keep-and-scale factors for a tensor of `shape`, one draw per position of the noise shape
    /// (axes of size 1 in it share their draw).
    static func dropoutFactors<T: Scalar>(_ shape: [Int], rate: Double, noiseShape: [Int?], _ rng: inout SeededRandom) -> [T] {
        let noise = zip(noiseShape, shape).map { n, d in n == 1 ? 1 : d }
        let draws: [T] = rng.dropoutMask(noise.reduce(1, *), rate: rate)
        return StridedOffsets.offsets(shape, strides: StridedOffsets.broadcast(noise)).map { draws[$0] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        var y = inputs[0]
        guard context.training else { return [y] }
        var factors: [T]? = nil
        switch config.noise {
        case .dropout(let rate, let shape) where rate > 0:
            factors = Self.dropoutFactors(y.shape, rate: rate, noiseShape: shape ?? y.shape.map { $0 }, &context.random)
        case .spatialDropout1D(let rate) where rate > 0:
            factors = Self.dropoutFactors(y.shape, rate: rate, noiseShape: [y.shape[0], 1, y.shape[2]], &context.random)
        case .gaussianDropout(let rate) where rate > 0:
            let sd = (rate / (1 - rate)).squareRoot()
            factors = y.values.map { _ in T(1 + sd * context.random.normal()) }
        case .gaussianNoise(let stddev) where stddev > 0:
            for k in y.values.indices { y.values[k] += T(stddev * context.random.normal()) }
        default:
            break
        }
        if let factors { for k in y.values.indices { y.values[k] *= factors[k] } }
        context.tape = NoiseTape(factors: factors)
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard needInput[0] else { return [nil] }
        var dx = outputGradients[0]
        if let factors = (tape as? NoiseTape<T>)?.factors {
            for k in dx.values.indices { dx.values[k] *= factors[k] }
        }
        return [dx]
    }

    func checkStreamable() throws {
        guard input.last.flatMap({ $0 }) != nil else {
            throw LSTMError.unsupported("layer '\(config.name)' (\(config.kind)): its input \(LayerChecks.describe(input)) has no known last axis to stream")
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        outputs[0].update(from: inputs[0], count: input.last!!)
    }
}
