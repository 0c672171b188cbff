/// Keras's GlobalMaxPooling1D and GlobalAveragePooling1D: the maximum or mean over the steps of
/// (batch, steps, features), (batch, 1, features) with keepdims. The average leaves masked steps
/// out (Keras 3: Σ mask·x / Σ mask); the maximum ignores the mask, as Keras 3's does. Neither
/// passes a mask on.
public struct GlobalPooling1DSpec: LayerSpec, Equatable {
    public var name: String
    public var reduction: Pooling1DSpec.Reduction
    public var keepDims = false

    public init(name: String, reduction: Pooling1DSpec.Reduction, keepDims: Bool = false) {
        self.name = name
        self.reduction = reduction
        self.keepDims = keepDims
    }

    public var kind: String { reduction == .max ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard input.count == 2, let f = input[1] else {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs 3-D input (batch, steps, features) with known features, got \(LayerChecks.describe(input))")
        }
        return GlobalPooling1DLayer(config: self, steps: input[0], features: f)
    }
}

struct GlobalPooling1DLayer: WholeSequence, Weightless {
    let config: GlobalPooling1DSpec
    let steps: Int?
    let features: Int

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [[steps, features]] }
    var outputShapes: [SampleShape] { [config.keepDims ? [1, features] : [features]] }
    func outputShapes(for inputs: [[Int]]) -> [[Int]] {
        [config.keepDims ? [inputs[0][0], 1, features] : [inputs[0][0], features]]
    }
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { [nil] }

    /// The weight of each (sample, step) in the average: 1 / the sample's real steps (0 for masked ones).
    func averageWeights<T: Scalar>(batch: Int, steps n: Int, mask: Mask?) -> [T] {
        var w = [T](repeating: 1 / T(n), count: batch * n)
        guard let mask else { return w }
        for b in 0..<batch {
            let real = (0..<n).filter { mask.isReal(b, $0) }.count
            for t in 0..<n { w[b * n + t] = mask.isReal(b, t) ? 1 / T(real) : 0 }
        }
        return w
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0], n = x.shape[1], f = features
        var y = Tensor<T>(zeros: outputShapes(for: [x.shape])[0])
        if config.reduction == .max {
            for b in 0..<x.batch {
                for j in 0..<f {
                    var m = -T.infinity
                    for t in 0..<n { m = max(m, x.values[(b * n + t) * f + j]) }
                    y.values[b * f + j] = m
                }
            }
        } else {
            let w: [T] = averageWeights(batch: x.batch, steps: n, mask: context.mask)
            for b in 0..<x.batch {
                for t in 0..<n where w[b * n + t] != 0 {
                    for j in 0..<f { y.values[b * f + j] += x.values[(b * n + t) * f + j] * w[b * n + t] }
                }
            }
            if let mask = context.mask {
                // A sample with every step masked: Keras divides 0 by 0.
                for b in 0..<x.batch where !(0..<n).contains(where: { mask.isReal(b, $0) }) {
                    for j in 0..<f { y.values[b * f + j] = .nan }
                }
            }
        }
        context.tape = context.mask.map { MaskTape(mask: $0) }
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard needInput[0] else { return [nil] }
        let x = inputs[0], n = x.shape[1], f = features, dy = outputGradients[0].values
        var dx = Tensor<T>(zeros: x.shape)
        if config.reduction == .max {
            for b in 0..<x.batch {
                for j in 0..<f {
                    let m = outputs[0].values[b * f + j]
                    if let t = (0..<n).first(where: { x.values[(b * n + $0) * f + j] == m }) { dx.values[(b * n + t) * f + j] = dy[b * f + j] }
                }
            }
        } else {
            let w: [T] = averageWeights(batch: x.batch, steps: n, mask: (tape as? MaskTape)?.mask)
            for b in 0..<x.batch {
                for t in 0..<n {
                    for j in 0..<f { dx.values[(b * n + t) * f + j] = dy[b * f + j] * w[b * n + t] }
                }
            }
        }
        return [dx]
    }

    var streamRefusal: String {
        "layer '\(config.name)' (\(config.kind)) reduces a whole sequence and cannot run one timestep at a time"
    }
}

/// The mask a layer saw in its training pass, for its backward.
final class MaskTape {
    let mask: Mask
    init(mask: Mask) { self.mask = mask }
}
