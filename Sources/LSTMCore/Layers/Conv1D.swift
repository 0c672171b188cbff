/// Keras's Conv1D on (batch, steps, channels): each output step is a Dense over the window of
/// input steps it sees, so the layer gathers the windows (im2col) and runs them through the
/// Dense product kernels with the kernel as Keras stores it, (kernel_size, channels, filters) =
/// a (kernel_size · channels) × filters matrix. Padding "valid", "same" (TensorFlow's split,
/// the extra step on the right) or "causal" (all on the left); causal with stride 1 streams.
public struct Conv1DSpec: LayerSpec, Equatable {
    public var name: String
    public var filters: Int
    public var kernelSize: Int
    public var strides = 1
    public var padding = "valid"
    public var dilationRate = 1
    public var activation: Activation = .linear
    public var useBias = true

    public init(name: String = "conv1d", filters: Int, kernelSize: Int) {
        self.name = name
        self.filters = filters
        self.kernelSize = kernelSize
    }

    public var kind: String { "Conv1D" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        let input = try LayerChecks.single(inputs, self)
        guard input.count == 2, let channels = input[1] else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Conv1D) needs 3-D input (batch, steps, channels) with known channels, got \(LayerChecks.describe(input))")
        }
        try LayerChecks.size(filters, "layer '\(name)': filters")
        try LayerChecks.size(kernelSize, "layer '\(name)': kernel_size", limit: 1 << 16)
        try LayerChecks.size(strides, "layer '\(name)': strides", limit: 1 << 16)
        try LayerChecks.size(dilationRate, "layer '\(name)': dilation_rate", limit: 1 << 16)
        guard ["valid", "same", "causal"].contains(padding) else {
            throw LSTMError.unsupported("layer '\(name)' (Conv1D): padding '\(padding)' is not supported (valid, same, causal)")
        }
        guard strides == 1 || dilationRate == 1 else {
            throw LSTMError.unsupported("layer '\(name)' (Conv1D): strides \(strides) with dilation_rate \(dilationRate) is not supported (Keras's TensorFlow backend refuses both > 1 too)")
        }
        let window = SlidingWindow(size: kernelSize, stride: strides, dilation: dilationRate, padding: padding)
        if let n = input[0] { _ = try window.outputLength(n, self) }
        let taps = try checkedProduct([kernelSize, channels], "layer '\(name)': window")
        _ = try checkedProduct([taps, filters], "layer '\(name)': kernel")
        var dense = DenseSpec(name: name, units: filters)
        dense.activation = activation
        dense.useBias = useBias
        return Conv1DLayer(config: self, window: window, steps: input[0], channels: channels,
                           product: DenseLayer(config: dense, features: taps, leadingShape: []))
    }
}

struct Conv1DLayer: Layer {
    let config: Conv1DSpec
    let window: SlidingWindow
    let steps: Int?
    let channels: Int
    /// The product of each window with the kernel, bias and activation.
    let product: DenseLayer

    var spec: any LayerSpec { config }
    var filters: Int { config.filters }
    var inputShapes: [SampleShape] { [[steps, channels]] }
    var outputShapes: [SampleShape] { [[steps.map { window.outputSteps($0) }, filters]] }
    var weights: [WeightSpec] {
        [WeightSpec("kernel", [config.kernelSize, channels, filters])] + (config.useBias ? [WeightSpec("bias", [filters])] : [])
    }

    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        let k = config.kernelSize
        var w: [[T]] = [Initializers.glorotUniform(fanIn: k * channels, fanOut: k * filters, count: k * channels * filters, rng: &rng)]
        if config.useBias { w.append([T](repeating: 0, count: filters)) }
        return w
    }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        [[inputs[0][0], try window.outputLength(inputs[0][1], config), filters]]
    }

    /// The windows a pass gathers (im2col): kernel_size times the input's values.
    func scratchShapes(for inputs: [[Int]]) -> [[Int]] {
        [[inputs[0][0], window.outputSteps(inputs[0][1]), config.kernelSize, channels]]
    }

    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { [nil] }

    /// Calls `body(column offset, input offset)` for every tap of every window that falls on
    /// the input (not on padding), over a batch of `batch` sequences of n steps: the column
    /// offset is into the windows' rows (kernel_size · channels values each), the input offset
    /// into (batch, steps, channels); `channels` values follow each.
    @inline(__always)
    func forEachTap(batch: Int, steps n: Int, _ body: (Int, Int) -> Void) {
        let c = channels, k = config.kernelSize, d = window.dilation
        let out = window.outputSteps(n), first = window.start(n, out: out)
        for b in 0..<batch {
            for o in 0..<out {
                let row = (b * out + o) * k * c
                for tap in 0..<k {
                    let t = first + o * window.stride + tap * d
                    if t >= 0, t < n { body(row + tap * c, (b * n + t) * c) }
                }
            }
        }
    }

    /// The windows of every output step, one row of kernel_size · channels values each (zeros
    /// where a tap falls on padding).
    func columns<T: Scalar>(_ x: Tensor<T>) -> (rows: Int, values: [T]) {
        let n = x.shape[1], c = channels
        var col = [T](repeating: 0, count: x.batch * window.outputSteps(n) * config.kernelSize * c)
        forEachTap(batch: x.batch, steps: n) { to, from in
            for j in 0..<c { col[to + j] = x.values[from + j] }
        }
        return (x.batch * window.outputSteps(n), col)
    }

    /// Adds the gradients of the windows' rows back onto the input steps they came from.
    func addColumns<T: Scalar>(_ dcol: [T], into dx: inout Tensor<T>) {
        let c = channels
        forEachTap(batch: dx.batch, steps: dx.shape[1]) { from, to in
            for j in 0..<c { dx.values[to + j] += dcol[from + j] }
        }
    }

    func bias<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>]) -> UnsafePointer<T>? {
        config.useBias ? UnsafePointer(w[1].baseAddress!) : nil
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        let (rows, col) = columns(x)
        var y = Tensor<T>(zeros: [x.batch, rows / max(x.batch, 1), filters])
        guard rows > 0 else { return [y] }
        col.withUnsafeBufferPointer { cp in
            y.values.withUnsafeMutableBufferPointer { yp in
                product.forward(rows: rows, x: cp.baseAddress!, w: UnsafePointer(w[0].baseAddress!), b: bias(w), out: yp.baseAddress!)
            }
        }
        return [y]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let x = inputs[0]
        let (rows, col) = columns(x)  // gathered again: cheaper than keeping them
        var dcol = [T](repeating: 0, count: needInput[0] ? col.count : 0)
        guard rows > 0 else { return [needInput[0] ? Tensor(zeros: x.shape) : nil] }
        col.withUnsafeBufferPointer { cp in
            outputs[0].values.withUnsafeBufferPointer { yp in
                outputGradients[0].values.withUnsafeBufferPointer { gp in
                    dcol.withUnsafeMutableBufferPointer { dp in
                        product.backward(rows: rows, x: cp.baseAddress!, y: yp.baseAddress!, dY: gp.baseAddress!,
                                         dX: needInput[0] ? dp.baseAddress! : nil, w: UnsafePointer(w[0].baseAddress!),
                                         b: bias(w), gW: g[0].baseAddress!, gb: config.useBias ? g[1].baseAddress! : nil)
                    }
                }
            }
        }
        guard needInput[0] else { return [nil] }
        var dx = Tensor<T>(zeros: x.shape)
        addColumns(dcol, into: &dx)
        return [dx]
    }

    // MARK: Streaming (causal, stride 1): the state is the last span - 1 input steps.

    var history: Int { window.span - 1 }

    func checkStreamable() throws {
        guard config.padding == "causal", config.strides == 1 else {
            throw LSTMError.unsupported("layer '\(config.name)' (Conv1D) streams only with padding='causal' and strides=1 (it has padding '\(config.padding)', strides \(config.strides)): other paddings look ahead")
        }
    }

    var streamStateSize: Int { history * channels }
    var stepScratchSize: Int { config.kernelSize * channels }

    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>) {
        state.update(repeating: 0, count: streamStateSize)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        let c = channels, k = config.kernelSize, d = window.dilation, h = history
        // state: steps t-h ..< t, oldest first; tap i reads step t - (k-1-i)·d.
        for tap in 0..<k {
            let back = (k - 1 - tap) * d
            if back == 0 {
                (scratch + tap * c).update(from: inputs[0], count: c)
            } else {
                (scratch + tap * c).update(from: state + (h - back) * c, count: c)
            }
        }
        if h > 0 {
            if h > 1 { state.update(from: state + c, count: (h - 1) * c) }
            (state + (h - 1) * c).update(from: inputs[0], count: c)
        }
        product.forward(rows: 1, x: UnsafePointer(scratch), w: UnsafePointer(w[0].baseAddress!), b: bias(w), out: outputs[0])
    }
}
