/// Keras's SimpleRNN: h' = act(x·W + h·U + b); with recurrent dropout (in fit) h·U reads h
/// through one mask per sequence, and x·W the input through another.
public struct SimpleRNNSpec: LayerSpec, Equatable {
    public var name: String
    public var recurrent: RecurrentOptions
    public var activation: Activation = .tanh
    public var useBias = true

    public init(name: String = "simple_rnn", units: Int) {
        self.name = name
        self.recurrent = RecurrentOptions(units: units)
    }

    public var units: Int { recurrent.units }
    public var kind: String { "SimpleRNN" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        try LayerChecks.size(units, "layer '\(name)': units")
        let (timesteps, features) = try RecurrentRunner<SimpleRNNCell>.checkInputs(inputs, units: units, name: name, kind: kind)
        try LayerChecks.cellActivations([activation], self)
        _ = try checkedProduct([features, units], "layer '\(name)': kernel")
        return try RecurrentInputDropout.wrap(RecurrentLayer(timesteps: timesteps, hasInitialState: inputs.count > 1,
                              runner: RecurrentRunner(cell: SimpleRNNCell(config: self, features: features),
                                                      options: recurrent, name: name, kind: kind)), options: recurrent)
    }
}

struct SimpleRNNCell: RecurrentCell {
    let config: SimpleRNNSpec
    let features: Int
    var units: Int { config.units }
    var projectionWidth: Int { units }
    /// The output is all backward needs, and the runner keeps it: nothing more.
    var tapeWidth: Int { 0 }
    var workWidth: Int { 0 }

    var weights: [WeightSpec] {
        [WeightSpec("kernel", [features, units]), WeightSpec("recurrent_kernel", [units, units])]
            + (config.useBias ? [WeightSpec("bias", [units])] : [])
    }

    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        var w: [[T]] = [Initializers.glorotUniform(fanIn: features, fanOut: units, rng: &rng),
                        Initializers.orthogonal(rows: units, cols: units, rng: &rng)]
        if config.useBias { w.append([T](repeating: 0, count: units)) }
        return w
    }

    func inputBias<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>]) -> UnsafePointer<T>? {
        config.useBias ? UnsafePointer(w[2].baseAddress!) : nil
    }

    func step<T: Scalar>(rows: Int, xw: UnsafePointer<T>, hPrev: UnsafePointer<T>, h: UnsafeMutablePointer<T>,
                         tape: UnsafeMutablePointer<T>, work: UnsafeMutablePointer<T>, weights w: [UnsafeMutableBufferPointer<T>],
                         operands: RecurrentOperands<T>?, masks: RecurrentMaskRows<T>?) {
        let u = units
        h.update(from: xw, count: rows * u)
        if let masks {
            masks.forEachGate(of: hPrev) { _, hm in gemmNN(rows, u, u, hm, u, UnsafePointer(w[1].baseAddress!), u, h, u) }
        } else if let operands {
            operands.multiply(0, m: rows, hPrev, lda: u, h, ldc: u)
        } else {
            gemmNN(rows, u, u, hPrev, u, UnsafePointer(w[1].baseAddress!), u, h, u)
        }
        config.activation.apply(h, rows * u)
    }

    func forwardOperands<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>], rows: Int) -> RecurrentOperands<T> {
        let ops = RecurrentOperands<T>(rows: rows)
        ops.add(UnsafePointer(w[1].baseAddress!), ldb: units, k: units, n: units)
        return ops
    }

    func backwardOperands<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>], rows: Int) -> RecurrentOperands<T> {
        let ops = RecurrentOperands<T>(rows: rows)
        ops.add(ops.transposed(UnsafePointer(w[1].baseAddress!), rows: units, cols: units, ld: units), ldb: units, k: units, n: units)
        return ops
    }

    var backwardWorkWidth: Int { 0 }
    /// The weight gradient needs dxw alone, which the runner keeps.
    var recordWidth: Int { 0 }

    func stepBackward<T: Scalar>(rows: Int, hPrev: UnsafePointer<T>, h: UnsafePointer<T>, tape: UnsafePointer<T>,
                                 dh: UnsafePointer<T>, dxw: UnsafeMutablePointer<T>, dhPrev: UnsafeMutablePointer<T>,
                                 record: UnsafeMutablePointer<T>, work: UnsafeMutablePointer<T>,
                                 weights w: [UnsafeMutableBufferPointer<T>], operands: RecurrentOperands<T>,
                                 masks: RecurrentMaskRows<T>?) {
        let u = units, act = config.activation
        for k in 0..<(rows * u) { dxw[k] = dh[k] * act.derivative(fromOutput: h[k]) }
        dhPrev.initialize(repeating: 0, count: rows * u)
        if let masks {
            masks.addThroughMasks(UnsafePointer(dxw), ldd: u, uT: operands.matrix(0), into: dhPrev)
        } else {
            operands.multiply(0, m: rows, UnsafePointer(dxw), lda: u, dhPrev, ldc: u)
        }
    }

    func addRecurrentGradients<T: Scalar>(count: Int, hPrev: UnsafePointer<T>, records: UnsafePointer<T>,
                                          dxw: UnsafePointer<T>, gradients g: [UnsafeMutableBufferPointer<T>],
                                          masks: RecurrentGateMasks<T>?) {
        if let masks {
            masks.forEachGate(of: hPrev, steps: count / masks.rows, input: false) { _, hm in
                gemmTN(units, units, count, hm, units, dxw, units, g[1].baseAddress!, units)
            }
        } else {
            gemmTN(units, units, count, hPrev, units, dxw, units, g[1].baseAddress!, units)
        }
    }

    func addInputBiasGradient<T: Scalar>(rows: Int, dxw: UnsafePointer<T>, _ g: [UnsafeMutableBufferPointer<T>]) {
        if config.useBias { addColumnSums(rows, units, dxw, units, g[2].baseAddress!) }
    }
}
