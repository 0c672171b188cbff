/// The two operations Keras 3 writes into a functional model's graph to compute masks
/// explicitly (keras.ops.not_equal and keras.ops.any, as Embedding(mask_zero) and Masking
/// compute theirs): their outputs are booleans, here 1 and 0. They have no weights and no
/// gradient (a mask is not trained).

/// x != value, elementwise.
public struct NotEqualSpec: LayerSpec, Equatable {
    public var name: String
    public var value: Double
    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
    public var kind: String { "NotEqual" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        return BooleanOperation(config: self, input: input, output: input) { x, _ in
            x.map { $0 != Float(value) ? 1 : 0 }
        }
    }
}

/// Any nonzero along the last axis (Keras's any(axis=-1, keepdims=False)).
public struct AnySpec: LayerSpec, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
    public var kind: String { "Any" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        let width = try LayerChecks.features(input, self)
        return BooleanOperation(config: self, input: input, output: Array(input.dropLast())) { x, _ in
            stride(from: 0, to: x.count, by: width).map { k in x[k..<(k + width)].contains { $0 != 0 } ? 1 : 0 }
        }
    }
}

/// A weightless operation computing a boolean tensor (as 1 and 0) from its input.
struct BooleanOperation: WholeSequence, Weightless {
    let config: any LayerSpec
    let input: SampleShape
    let output: SampleShape
    /// The values (as Float, whatever the scalar: 0 and 1 are exact) and the input's shape.
    let compute: @Sendable ([Float], [Int]) -> [Float]

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [input] }
    var outputShapes: [SampleShape] { [output] }

    func outputShapes(for inputs: [[Int]]) -> [[Int]] { [Array(inputs[0].prefix(output.count + 1))] }
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { [nil] }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        return [Tensor(shape: outputShapes(for: [x.shape])[0], values: compute(x.values.map { Float($0) }, x.shape).map { T($0) })]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        [nil]
    }

    var streamRefusal: String {
        "'\(config.name)' (\(config.kind)) computes a mask: a masked model cannot be run one timestep at a time yet"
    }
}
