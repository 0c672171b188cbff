/// A Dense layer's configuration, applied on the last axis.
public struct DenseSpec: LayerSpec, Equatable {
    public var name: String
    public var units: Int
    public var activation: Activation = .linear
    public var useBias = true

    public init(name: String = "dense", units: Int) {
        self.name = name
        self.units = units
    }

    public var kind: String { "Dense" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        try LayerChecks.size(units, "layer '\(name)': units")
        let features = try LayerChecks.features(input, self)
        _ = try checkedProduct([features, units], "layer '\(name)': kernel")
        return DenseLayer(config: self, features: features, leadingShape: Array(input.dropLast()))
    }
}

/// Dense on the last axis: y = act(x·W + b), for [rows × features] where rows is batch or
/// batch × timesteps.
struct DenseLayer {
    let config: DenseSpec
    let features: Int
    /// The per-sample axes before the features (e.g. the timesteps of a 3-D input), kept as they are.
    let leadingShape: SampleShape

    var units: Int { config.units }

    func forward<T: Scalar>(rows: Int, x: UnsafePointer<T>, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                            out: UnsafeMutablePointer<T>) {
        let n = units
        setRows(rows, n, b, out)
        gemmNN(rows, n, features, x, features, w, n, out, n)
        activate(rows: rows, out)
    }

    @inline(__always)
    func activate<T: Scalar>(rows: Int, _ y: UnsafeMutablePointer<T>) {
        if config.activation == .softmax {
            applySoftmaxRows(rows, units, y)
        } else {
            config.activation.apply(y, rows * units)
        }
    }

    /// Gradients added into gW and gb; dX (if given) receives the input gradient.
    func backward<T: Scalar>(rows: Int, x: UnsafePointer<T>, y: UnsafePointer<T>, dY: UnsafePointer<T>,
                             dX: UnsafeMutablePointer<T>?, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                             gW: UnsafeMutablePointer<T>, gb: UnsafeMutablePointer<T>?) {
        let n = units, f = features
        let dPre = UnsafeMutablePointer<T>.allocate(capacity: rows * n)
        defer { dPre.deallocate() }
        activationBackward(config.activation, rows: rows, n: n, y: y, dy: dY, into: dPre) { z in
            setRows(rows, n, b, z)
            gemmNN(rows, n, f, x, f, w, n, z, n)
        }
        gemmTN(f, n, rows, x, f, dPre, n, gW, n)
        if let gb { addColumnSums(rows, n, dPre, n, gb) }
        guard let dX else { return }
        let wT = UnsafeMutablePointer<T>.allocate(capacity: n * f)
        defer { wT.deallocate() }
        transpose(f, n, w, wT)
        dX.initialize(repeating: 0, count: rows * f)
        gemmNN(rows, f, n, dPre, n, wT, f, dX, f)
    }
}

extension DenseLayer: StatelessStep {
    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [leadingShape + [features]] }
    var outputShapes: [SampleShape] { [leadingShape + [units]] }

    var weights: [WeightSpec] {
        [WeightSpec("kernel", [features, units])] + (config.useBias ? [WeightSpec("bias", [units])] : [])
    }

    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        var w: [[T]] = [Initializers.glorotUniform(fanIn: features, fanOut: units, rng: &rng)]
        if config.useBias { w.append([T](repeating: 0, count: units)) }
        return w
    }

    func outputShapes(for inputs: [[Int]]) -> [[Int]] { [inputs[0].dropLast() + [units]] }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        let rows = x.values.count / features
        var out = Tensor<T>(zeros: outputShapes(for: [x.shape])[0])
        x.values.withUnsafeBufferPointer { xv in
            out.values.withUnsafeMutableBufferPointer { o in
                forward(rows: rows, x: xv.baseAddress!, w: UnsafePointer(w[0].baseAddress!),
                        b: config.useBias ? UnsafePointer(w[1].baseAddress!) : nil, out: o.baseAddress!)
            }
        }
        return [out]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let x = inputs[0]
        let rows = x.values.count / features
        var dX: Tensor<T>? = needInput[0] ? Tensor(zeros: x.shape) : nil
        x.values.withUnsafeBufferPointer { xv in
            outputs[0].values.withUnsafeBufferPointer { y in
                outputGradients[0].values.withUnsafeBufferPointer { dY in
                    func run(_ dx: UnsafeMutablePointer<T>?) {
                        backward(rows: rows, x: xv.baseAddress!, y: y.baseAddress!, dY: dY.baseAddress!, dX: dx,
                                 w: UnsafePointer(w[0].baseAddress!),
                                 b: config.useBias ? UnsafePointer(w[1].baseAddress!) : nil, gW: g[0].baseAddress!,
                                 gb: config.useBias ? g[1].baseAddress! : nil)
                    }
                    if dX != nil {
                        dX!.values.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
                    } else {
                        run(nil)
                    }
                }
            }
        }
        return [dX]
    }

    func checkStreamable() throws {}

    @_specialize(where T == Float)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        forward(rows: 1, x: inputs[0], w: UnsafePointer(w[0].baseAddress!),
                b: config.useBias ? UnsafePointer(w[1].baseAddress!) : nil, out: outputs[0])
    }
}
