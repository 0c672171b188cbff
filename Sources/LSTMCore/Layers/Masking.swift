/// Keras's Masking(mask_value): a timestep whose features all equal mask_value is masked for the
/// layers after, and its features are set to zero (x · mask, as Keras computes it).
public struct MaskingSpec: LayerSpec, Equatable {
    public var name: String
    public var maskValue: Double

    public init(name: String = "masking", maskValue: Double = 0) {
        self.name = name
        self.maskValue = maskValue
    }

    public var kind: String { "Masking" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard input.count == 2 else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Masking) needs 3-D input (batch, timesteps, features), got \(LayerChecks.describe(input))")
        }
        _ = try LayerChecks.features(input, self)
        return MaskingLayer(config: self, input: input)
    }
}

struct MaskingLayer: StatelessStep, Weightless, ShapePreserving {
    let config: MaskingSpec
    let input: SampleShape

    var spec: any LayerSpec { config }
    var producesMask: Bool { true }

    /// Per (sample, step): real unless every feature equals mask_value.
    func mask<T: Scalar>(_ x: Tensor<T>) -> Mask {
        let b = x.shape[0], n = x.shape[1], f = x.shape[2], value = T(config.maskValue)
        var real = [Bool](repeating: false, count: b * n)
        for k in 0..<(b * n) {
            for j in 0..<f where x.values[k * f + j] != value { real[k] = true; break }
        }
        return Mask(batch: b, steps: n, values: real)
    }

    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { [mask(inputs[0])] }

    /// x (or its gradient) with the masked steps zeroed.
    func applied<T: Scalar>(_ t: Tensor<T>, _ m: Mask) -> Tensor<T> {
        var out = t
        let f = t.shape[2]
        for k in 0..<m.values.count where !m.values[k] {
            for j in 0..<f { out.values[k * f + j] = 0 }
        }
        return out
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        [applied(inputs[0], mask(inputs[0]))]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        [needInput[0] ? applied(outputGradients[0], mask(inputs[0])) : nil]
    }

    func checkStreamable() throws {}
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {}
}
