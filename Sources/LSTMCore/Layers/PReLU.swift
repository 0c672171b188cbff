/// Keras's PReLU: max(x, 0) + alpha · min(x, 0) with a learned alpha per value of a sample,
/// shared (size 1) along `sharedAxes` (1-based, as Keras counts them). Passes the mask on.
public struct PReLUSpec: LayerSpec, Equatable {
    public var name: String
    public var sharedAxes: [Int] = []

    public init(name: String = "p_re_lu", sharedAxes: [Int] = []) {
        self.name = name
        self.sharedAxes = sharedAxes
    }

    public var kind: String { "PReLU" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard !input.isEmpty else {
            throw LSTMError.shapeMismatch("layer '\(name)' (PReLU) needs at least 2-D input, got \(LayerChecks.describe(input))")
        }
        _ = try LayerChecks.features(input, self)
        var alpha: [Int] = []
        for (k, d) in input.enumerated() {
            if sharedAxes.contains(k + 1) { alpha.append(1); continue }
            guard let d else {
                throw LSTMError.shapeMismatch("layer '\(name)' (PReLU): axis \(k + 1) of its input \(LayerChecks.describe(input)) has no fixed size; share it (shared_axes) or fix it")
            }
            alpha.append(d)
        }
        for a in sharedAxes where a < 1 || a > input.count {
            throw LSTMError.invalidArgument("layer '\(name)' (PReLU): shared axis \(a) is not an axis of its input \(LayerChecks.describe(input)) (1 to \(input.count))")
        }
        _ = try checkedProduct(alpha, "layer '\(name)': alpha")
        return PReLULayer(config: self, input: input, alphaShape: alpha)
    }
}

struct PReLULayer: StatelessStep, ShapePreserving {
    let config: PReLUSpec
    let input: SampleShape
    let alphaShape: [Int]

    var spec: any LayerSpec { config }
    var weights: [WeightSpec] { [WeightSpec("alpha", alphaShape)] }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        [[T](repeating: 0, count: alphaShape.reduce(1, *))]
    }

    /// For each value of a sample (row-major over `shape`), the index of its alpha.
    func alphaIndex(_ shape: [Int]) -> [Int] {
        StridedOffsets.offsets(shape, strides: StridedOffsets.broadcast(alphaShape))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        var out = inputs[0]
        let per = out.perSample, index = alphaIndex(Array(out.shape.dropFirst()))
        for k in out.values.indices where out.values[k] < 0 { out.values[k] *= w[0][index[k % per]] }
        return [out]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let x = inputs[0].values, dy = outputGradients[0].values
        let per = inputs[0].perSample, index = alphaIndex(Array(inputs[0].shape.dropFirst()))
        var dx = needInput[0] ? Tensor<T>(zeros: inputs[0].shape) : nil
        for k in x.indices {
            let a = index[k % per]
            if x[k] < 0 {
                g[0][a] += dy[k] * x[k]
                dx?.values[k] = dy[k] * w[0][a]
            } else {
                dx?.values[k] = dy[k]
            }
        }
        return [dx]
    }

    func checkStreamable() throws {
        guard alphaShape.dropLast().allSatisfy({ $0 == 1 }) else {
            throw LSTMError.unsupported("layer '\(config.name)' (PReLU) has an alpha per timestep (shape \(alphaShape)); it streams only with shared_axes covering every axis but the last")
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        let f = input.last!!
        for j in 0..<f { let v = inputs[0][j]; outputs[0][j] = v < 0 ? v * w[0][alphaShape.last == 1 ? 0 : j] : v }
    }
}
