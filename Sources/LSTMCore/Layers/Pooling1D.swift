/// Keras's MaxPooling1D and AveragePooling1D over the steps of a (batch, steps, features)
/// tensor: windows of pool_size every `strides` steps, "valid" (whole windows only) or "same"
/// (ceil(steps / strides) windows, padded evenly with the extra step on the right; padding is
/// never the maximum and is left out of the average, as TensorFlow computes it).
public struct Pooling1DSpec: LayerSpec, Equatable {
    public enum Reduction: String, Sendable { case max, average }

    public var name: String
    public var reduction: Reduction
    public var poolSize: Int
    public var strides: Int
    /// "valid" or "same".
    public var padding: String

    public init(name: String, reduction: Reduction, poolSize: Int = 2, strides: Int? = nil, padding: String = "valid") {
        self.name = name
        self.reduction = reduction
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
    }

    public var kind: String { reduction == .max ? "MaxPooling1D" : "AveragePooling1D" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard input.count == 2, let f = input[1] else {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs 3-D input (batch, steps, features) with known features, got \(LayerChecks.describe(input))")
        }
        try LayerChecks.size(poolSize, "layer '\(name)': pool_size")
        try LayerChecks.size(strides, "layer '\(name)': strides")
        guard padding == "valid" || padding == "same" else {
            throw LSTMError.unsupported("layer '\(name)' (\(kind)): padding '\(padding)' is not supported (valid, same)")
        }
        let window = SlidingWindow(size: poolSize, stride: strides, dilation: 1, padding: padding)
        if let n = input[0] { _ = try window.outputLength(n, self) }
        return Pooling1DLayer(config: self, window: window, steps: input[0], features: f)
    }
}

struct Pooling1DLayer: WholeSequence, Weightless {
    let config: Pooling1DSpec
    let window: SlidingWindow
    let steps: Int?
    let features: Int

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [[steps, features]] }
    var outputShapes: [SampleShape] { [[steps.map { window.outputSteps($0) }, features]] }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        [[inputs[0][0], try window.outputLength(inputs[0][1], config), features]]
    }

    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { [nil] }

    /// Calls `body(output step, input step range)` for each window, the range clipped to the input.
    func windows(_ n: Int, _ body: (Int, Range<Int>) -> Void) {
        let out = window.outputSteps(n)
        let first = window.start(n, out: out)
        for o in 0..<out {
            let lo = first + o * window.stride
            body(o, max(lo, 0)..<min(lo + window.size, n))
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0], n = x.shape[1], f = features
        var y = Tensor<T>(zeros: [x.batch, window.outputSteps(n), f])
        let out = y.shape[1]
        for b in 0..<x.batch {
            windows(n) { o, r in
                for j in 0..<f {
                    var acc: T = config.reduction == .max ? -T.infinity : 0
                    for t in r {
                        let v = x.values[(b * n + t) * f + j]
                        acc = config.reduction == .max ? max(acc, v) : acc + v
                    }
                    y.values[(b * out + o) * f + j] = config.reduction == .max ? acc : acc / T(r.count)
                }
            }
        }
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard needInput[0] else { return [nil] }
        let x = inputs[0], n = x.shape[1], f = features, out = outputs[0].shape[1]
        var dx = Tensor<T>(zeros: x.shape)
        for b in 0..<x.batch {
            windows(n) { o, r in
                for j in 0..<f {
                    let g = outputGradients[0].values[(b * out + o) * f + j]
                    if config.reduction == .max {
                        // The first maximum takes the gradient, as TensorFlow routes it.
                        let y = outputs[0].values[(b * out + o) * f + j]
                        if let t = r.first(where: { x.values[(b * n + $0) * f + j] == y }) { dx.values[(b * n + t) * f + j] += g }
                    } else {
                        for t in r { dx.values[(b * n + t) * f + j] += g / T(r.count) }
                    }
                }
            }
        }
        return [dx]
    }

    var streamRefusal: String {
        "layer '\(config.name)' (\(config.kind)) changes the number of steps and cannot run one timestep at a time"
    }
}
