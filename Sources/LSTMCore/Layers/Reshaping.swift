/// The layers that only move values: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D,
/// Cropping1D and UpSampling1D. Each output value is a copy of one input value (or a zero of
/// padding), so one gather does forward and its scatter-add backward; an operation only says
/// what its output shape is and where each output value comes from. Keras drops the mask here.
public struct ReshapingSpec: LayerSpec, Equatable {
    public enum Operation: Equatable, Sendable {
        case flatten
        /// Keras's target_shape; one entry may be -1 (inferred).
        case reshape([Int])
        /// Keras's dims: a permutation of 1...rank.
        case permute([Int])
        case repeatVector(Int)
        case zeroPadding1D(left: Int, right: Int)
        case cropping1D(left: Int, right: Int)
        case upSampling1D(Int)

        var kind: String {
            switch self {
            case .flatten: return "Flatten"
            case .reshape: return "Reshape"
            case .permute: return "Permute"
            case .repeatVector: return "RepeatVector"
            case .zeroPadding1D: return "ZeroPadding1D"
            case .cropping1D: return "Cropping1D"
            case .upSampling1D: return "UpSampling1D"
            }
        }
    }

    public var name: String
    public var operation: Operation

    public init(name: String, operation: Operation) {
        self.name = name
        self.operation = operation
    }

    public var kind: String { operation.kind }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        let output = try outputShape(input)
        for d in output.compactMap({ $0 }) { try LayerChecks.size(d, "layer '\(name)' (\(kind)): an output axis", limit: 1 << 30) }
        return ReshapingLayer(config: self, input: input, output: output)
    }

    func describe(_ s: SampleShape) -> String { LayerChecks.describe(s) }

    /// The per-sample output shape, checked against the input's.
    func outputShape(_ input: SampleShape) throws -> SampleShape {
        func known(_ what: String) throws -> [Int] {
            guard input.allSatisfy({ $0 != nil }) else {
                throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs every axis of its input to have a known size to \(what), got \(describe(input))")
            }
            return input.map { $0! }
        }
        func sequence() throws -> (Int?, Int) {
            guard input.count == 2, let f = input[1] else {
                throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs 3-D input (batch, steps, features) with known features, got \(describe(input))")
            }
            return (input[0], f)
        }
        switch operation {
        case .flatten:
            let dims = try known("flatten it")
            return [try checkedProduct(dims, "layer '\(name)': flattened size")]
        case .reshape(let target):
            let total = try checkedProduct(try known("reshape it"), "layer '\(name)': input size")
            let unknown = target.filter { $0 == -1 }.count
            guard unknown <= 1, target.allSatisfy({ $0 == -1 || $0 >= 1 }), !target.isEmpty else {
                throw LSTMError.invalidArgument("layer '\(name)' (Reshape): target_shape \(target) must hold positive sizes and at most one -1")
            }
            let fixed = try checkedProduct(target.filter { $0 != -1 }, "layer '\(name)': target size")
            if unknown == 1 {
                guard total % fixed == 0 else {
                    throw LSTMError.shapeMismatch("layer '\(name)' (Reshape): \(total) values per sample \(describe(input)) do not divide into target_shape \(target)")
                }
                return target.map { $0 == -1 ? total / fixed : $0 }
            }
            guard fixed == total else {
                throw LSTMError.shapeMismatch("layer '\(name)' (Reshape): input \(describe(input)) holds \(total) values per sample, target_shape \(target) holds \(fixed)")
            }
            return target
        case .permute(let dims):
            guard dims.sorted() == Array(1...max(input.count, 1)), dims.count == input.count else {
                throw LSTMError.shapeMismatch("layer '\(name)' (Permute): dims \(dims) must be a permutation of 1...\(input.count) for input \(describe(input))")
            }
            return dims.map { input[$0 - 1] }
        case .repeatVector(let n):
            guard input.count == 1, let f = input[0] else {
                throw LSTMError.shapeMismatch("layer '\(name)' (RepeatVector) needs 2-D input (batch, features), got \(describe(input))")
            }
            return [n, f]
        case let .zeroPadding1D(left, right):
            let (t, f) = try sequence()
            return [t.map { $0 + left + right }, f]
        case let .cropping1D(left, right):
            let (t, f) = try sequence()
            if let t, t - left - right < 1 {
                throw LSTMError.shapeMismatch("layer '\(name)' (Cropping1D): cropping (\(left), \(right)) leaves nothing of \(t) steps")
            }
            return [t.map { $0 - left - right }, f]
        case .upSampling1D(let size):
            let (t, f) = try sequence()
            return [t.map { $0 * size }, f]
        }
    }
}

struct ReshapingLayer: WholeSequence, Weightless {
    let config: ReshapingSpec
    let input: SampleShape
    let output: SampleShape

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [input] }
    var outputShapes: [SampleShape] { [output] }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        let shape = try config.outputShape(inputs[0].dropFirst().map { $0 })
        return [[inputs[0][0]] + shape.map { $0! }]
    }

    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { [nil] }

    /// For one sample of this concrete input shape (batch left out): where each output value
    /// comes from in the sample's input, -1 for padding.
    func sources(_ shape: [Int], _ out: [Int]) -> [Int] {
        let count = out.reduce(1, *)
        switch config.operation {
        case .flatten, .reshape:
            return Array(0..<count)
        case .permute(let dims):
            let inStrides = StridedOffsets.rowMajor(shape)
            return StridedOffsets.offsets(out, strides: dims.map { inStrides[$0 - 1] })
        case .repeatVector:
            let f = out[1]
            return (0..<count).map { $0 % f }
        case .zeroPadding1D(let left, _):
            let f = out[1], t = shape[0]
            return (0..<count).map { i in
                let step = i / f - left
                return step >= 0 && step < t ? step * f + i % f : -1
            }
        case .cropping1D(let left, _):
            let f = out[1]
            return (0..<count).map { i in (i / f + left) * f + i % f }
        case .upSampling1D(let size):
            let f = out[1]
            return (0..<count).map { i in (i / f / size) * f + i % f }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        let outShape = (try? outputShapes(for: [x.shape]))?[0] ?? x.shape
        let src = sources(Array(x.shape.dropFirst()), Array(outShape.dropFirst()))
        var y = Tensor<T>(zeros: outShape)
        let inPer = x.perSample, outPer = src.count
        for b in 0..<x.batch {
            for (i, s) in src.enumerated() where s >= 0 { y.values[b * outPer + i] = x.values[b * inPer + s] }
        }
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard needInput[0] else { return [nil] }
        let x = inputs[0], dy = outputGradients[0]
        let src = sources(Array(x.shape.dropFirst()), Array(dy.shape.dropFirst()))
        var dx = Tensor<T>(zeros: x.shape)
        let inPer = x.perSample, outPer = src.count
        for b in 0..<x.batch {
            for (i, s) in src.enumerated() where s >= 0 { dx.values[b * inPer + s] += dy.values[b * outPer + i] }
        }
        return [dx]
    }

    var streamRefusal: String {
        "layer '\(config.name)' (\(config.kind)) works on whole sequences and cannot run one timestep at a time"
    }
}
