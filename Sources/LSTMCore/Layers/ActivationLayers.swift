/// Keras's activation layers: `Activation(name)`, `LeakyReLU`, `ReLU`, `ELU` and `Softmax` — one
/// function applied to every value (softmax: to every row of the last axis). They pass the mask on.
public struct ActivationSpec: LayerSpec, Equatable {
    public var name: String
    /// Keras's class: "Activation", "LeakyReLU", "ReLU", "ELU" or "Softmax".
    public var kind: String
    public var activation: Activation

    public init(name: String = "activation", kind: String = "Activation", activation: Activation) {
        self.name = name
        self.kind = kind
        self.activation = activation
    }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard !input.isEmpty else {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs at least 2-D input, got \(LayerChecks.describe(input))")
        }
        let features = try LayerChecks.features(input, self)
        return ActivationLayer(config: self, input: input, features: features)
    }
}

struct ActivationLayer: StatelessStep, Weightless, ShapePreserving {
    let config: ActivationSpec
    let input: SampleShape
    let features: Int

    var spec: any LayerSpec { config }

    func apply<T: Scalar>(_ p: UnsafeMutablePointer<T>, count: Int) {
        if config.activation == .softmax {
            applySoftmaxRows(count / features, features, p)
        } else {
            config.activation.apply(p, count)
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        var out = inputs[0]
        let n = out.values.count
        out.values.withUnsafeMutableBufferPointer { apply($0.baseAddress!, count: n) }
        return [out]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard needInput[0] else { return [nil] }
        let x = inputs[0].values, y = outputs[0].values, dy = outputGradients[0].values
        var dx = Tensor<T>(zeros: inputs[0].shape)
        let act = config.activation
        if act == .softmax {
            y.withUnsafeBufferPointer { yp in
                dy.withUnsafeBufferPointer { gp in
                    dx.values.withUnsafeMutableBufferPointer { dp in
                        softmaxRowsBackward(x.count / features, features, y: yp.baseAddress!, dy: gp.baseAddress!, dx: dp.baseAddress!)
                    }
                }
            }
        } else {
            for k in x.indices { dx.values[k] = dy[k] * act.derivative(input: x[k], output: y[k]) }
        }
        return [dx]
    }

    func checkStreamable() throws {}

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        outputs[0].update(from: inputs[0], count: features)
        apply(outputs[0], count: features)
    }
}
