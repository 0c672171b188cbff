/// A caller's tensor, borrowed for the length of one call: row-major, `shape[0]` is the batch.
public struct TensorView<T: Scalar> {
    public var shape: [Int]
    public var data: UnsafeBufferPointer<T>

    public init(shape: [Int], data: UnsafeBufferPointer<T>) {
        self.shape = shape
        self.data = data
    }

    var batch: Int { shape[0] }
    var perSample: Int { shape.dropFirst().reduce(1, *) }

    /// Samples `order[start..<end]`, copied into a tensor of their own.
    func gather(_ order: ArraySlice<Int>) -> Tensor<T> {
        let per = perSample
        var out = Tensor<T>(zeros: [order.count] + shape.dropFirst())
        out.values.withUnsafeMutableBufferPointer { o in
            for (k, s) in order.enumerated() {
                (o.baseAddress! + k * per).update(from: data.baseAddress! + s * per, count: per)
            }
        }
        return out
    }

    /// Samples start..<end, copied into a tensor of their own.
    func slice(_ start: Int, _ end: Int) -> Tensor<T> {
        let per = perSample
        return Tensor(shape: [end - start] + shape.dropFirst(),
                      values: Array(UnsafeBufferPointer(start: data.baseAddress! + start * per, count: (end - start) * per)))
    }

    /// Samples start..<end, borrowed.
    func view(_ start: Int, _ end: Int) -> TensorView<T> {
        let per = perSample
        return TensorView(shape: [end - start] + shape.dropFirst(),
                          data: UnsafeBufferPointer(rebasing: data[(start * per)..<(end * per)]))
    }
}

extension Model {
    /// The longest sequence (or other open dimension) a call may pass.
    static var maxOpenDimension: Int { 1 << 24 }

    // MARK: - Inputs, outputs and targets of a call

    /// Checks the inputs of a call against the model's inputs (count, rank, dimensions, value
    /// count, finiteness, token ids) and returns the batch size.
    @discardableResult
    func checkInputs(_ xs: [TensorView<T>], names: String = "x") throws -> Int {
        let batch = try checkShapes(xs, names: names)
        for (i, x) in xs.enumerated() {
            try requireFinite(x.data, inputName(i, names, xs.count), sampleShape: Array(x.shape.dropFirst()))
        }
        try checkTokenIds(xs, names: names)
        return batch
    }

    func inputName(_ i: Int, _ names: String, _ count: Int) -> String {
        count == 1 ? names : "\(names)[\(i)] ('\(spec.inputs[i].name)')"
    }

    /// The shape checks of `checkInputs` alone (the values are not read): count, ranks,
    /// dimensions, one batch size. Returns the batch size.
    @discardableResult
    public func checkShapes(_ xs: [TensorView<T>], names: String = "x") throws -> Int {
        guard xs.count == spec.inputs.count else {
            throw LSTMError.invalidArgument("model '\(spec.name)' has \(spec.inputs.count) input\(spec.inputs.count == 1 ? "" : "s"), got \(xs.count)")
        }
        var batch = 0
        for (i, (x, input)) in zip(xs, spec.inputs).enumerated() {
            let what = inputName(i, names, xs.count)
            try checkShape(x, against: input.shape, what)
            if i == 0 { batch = x.batch }
            guard x.batch == batch else {
                throw LSTMError.shapeMismatch("\(what) holds \(x.batch) samples, but the first input holds \(batch): every input needs the same number")
            }
        }
        return batch
    }

    /// Inputs read by a layer of token ids (Embedding) must hold whole numbers below its limit.
    func checkTokenIds(_ xs: [TensorView<T>], names: String) throws {
        for (ni, node) in spec.nodes.enumerated() {
            guard let limit = nodeLayers[ni].tokenIdLimit else { continue }
            for case .input(let i) in node.inputs {
                let x = xs[i]
                guard let bad = x.data.firstIndex(where: { !isTokenId($0, below: limit) }) else { continue }
                let what = xs.count == 1 ? names : "\(names)[\(i)] ('\(spec.inputs[i].name)')"
                let per = x.perSample, steps = x.shape.count > 1 ? x.shape[1] : 1
                let position = per > 0 ? " (sample \(bad / per), timestep \(bad % per / Swift.max(1, per / steps)))" : ""
                throw LSTMError.invalidArgument("\(what)[\(bad)]\(position) is \(x.data[bad]): layer '\(nodeLayers[ni].name)' (\(nodeLayers[ni].kind)) takes token ids, whole numbers from 0 to \(limit - 1)")
            }
        }
    }

    /// One tensor against a per-sample shape: rank, fixed dimensions, open ones within limits.
    func checkShape(_ x: TensorView<T>, against shape: SampleShape, _ what: String) throws {
        guard x.shape.count == shape.count + 1 else {
            throw LSTMError.shapeMismatch("\(what) has rank \(x.shape.count), expected \(shape.count + 1): shape \(LayerChecks.describe(shape))")
        }
        guard x.shape[0] >= 1, x.shape[0] <= Self.maxOpenDimension else {
            throw LSTMError.invalidArgument("\(what): batch must be between 1 and \(Self.maxOpenDimension), got \(x.shape[0])")
        }
        for (axis, (got, want)) in zip(x.shape.dropFirst(), shape).enumerated() {
            if let want {
                guard got == want else {
                    throw LSTMError.shapeMismatch("\(what) has shape \(x.shape), expected \(LayerChecks.describe(shape)): axis \(axis + 1) is \(got), not \(want)")
                }
            } else {
                guard got >= 1, got <= Self.maxOpenDimension else {
                    throw LSTMError.invalidArgument("\(what): axis \(axis + 1) must be between 1 and \(Self.maxOpenDimension), got \(got)")
                }
            }
        }
        let count = try checkedProduct(x.shape, what)
        guard x.data.count == count else {
            throw LSTMError.shapeMismatch("\(what) holds \(x.data.count) values, its shape \(x.shape) needs \(count)")
        }
    }

    /// The shapes of node `ni`'s inputs: model inputs, or outputs of earlier nodes in `shapes`.
    func inputShapes(of ni: Int, _ inputs: [[Int]], _ shapes: [[[Int]]]) -> [[Int]] {
        spec.nodes[ni].inputs.map { ref in
            switch ref {
            case .input(let i): return inputs[i]
            case .node(let j, let k): return shapes[j][k]
            }
        }
    }

    /// The shapes (batch first) of every node's outputs for inputs of these shapes.
    func resolveShapes(_ inputs: [[Int]]) throws -> [[[Int]]] {
        var shapes: [[[Int]]] = []
        shapes.reserveCapacity(spec.nodes.count)
        for ni in spec.nodes.indices {
            shapes.append(try nodeLayers[ni].outputShapes(for: inputShapes(of: ni, inputs, shapes)))
        }
        return shapes
    }

    /// Checks that a pass over `batch` samples shaped like `inputs` asks for no tensor beyond the
    /// element limit: every layer's outputs and scratch tensors (Conv1D's windows).
    /// Layers that grow their input (UpSampling1D, ZeroPadding1D, RepeatVector, Conv1D's
    /// windows) would otherwise fail to allocate inside the pass, even when a later layer
    /// shrinks the result again. Called with the batch a pass really runs (run's chunks of
    /// 256, evaluate's and fit's batches), not the whole data.
    func checkPassMemory(_ inputs: [[Int]], batch: Int) throws {
        let passInputs = inputs.map { [batch] + $0.dropFirst() }
        let shapes = try resolveShapes(passInputs)
        for ni in spec.nodes.indices {
            let layer = nodeLayers[ni]
            for o in shapes[ni] { _ = try checkedProduct(o, "layer '\(layer.name)' (\(layer.kind)): its output for \(batch) samples") }
            for t in layer.scratchShapes(for: inputShapes(of: ni, passInputs, shapes)) {
                _ = try checkedProduct(t, "layer '\(layer.name)' (\(layer.kind)): its working memory for \(batch) samples")
            }
        }
    }

    /// The shapes (batch first) of the model's outputs for inputs of these shapes.
    public func outputShapes(forInputs inputs: [[Int]]) throws -> [[Int]] {
        let nodes = try resolveShapes(inputs)
        return spec.outputs.map { ref in
            switch ref {
            case .input(let i): return inputs[i]
            case .node(let j, let k): return nodes[j][k]
            }
        }
    }

    /// Checks the targets of a call: one per output, each of the shape the loss compares with its
    /// output's (the output's own; for class ids, without its last axis or with a last axis of 1),
    /// finite, and for class ids whole numbers in 0..<classes (or the ignored class).
    func checkTargets(_ ys: [TensorView<T>], inputs xs: [TensorView<T>], losses: OutputLosses, names: String = "y") throws {
        guard ys.count == spec.outputs.count else {
            throw LSTMError.invalidArgument("model '\(spec.name)' has \(spec.outputs.count) output\(spec.outputs.count == 1 ? "" : "s"), got \(ys.count) target\(ys.count == 1 ? "" : "s")")
        }
        let shapes = try outputShapes(forInputs: xs.map(\.shape))
        for (k, (y, shape)) in zip(ys, shapes).enumerated() {
            let what = ys.count == 1 ? names : "\(names)[\(k)]"
            // An output without a loss still takes a target of its shape (unread).
            let loss = losses.kinds[k] ?? .meanSquaredError
            let want = loss.targetShape(forOutput: shape)
            guard y.shape == want || (loss.takesClassIds && y.shape == want + [1]) else {
                if loss.takesClassIds {
                    throw LSTMError.shapeMismatch("\(what) has shape \(y.shape); \(loss.name) takes one class id per output position: shape \(want) (or \(want + [1])) for the output's shape \(shape)")
                }
                throw LSTMError.shapeMismatch("\(what) has shape \(y.shape), expected the output's shape \(shape)")
            }
            guard y.data.count == want.reduce(1, *) else {
                throw LSTMError.shapeMismatch("\(what) holds \(y.data.count) values, its shape \(want) needs \(want.reduce(1, *))")
            }
            try requireFinite(y.data, what)
            if case .sparseCategoricalCrossentropy(_, let ignored) = loss {
                try requireClassIds(y.data, classes: shape.last ?? 1, ignored: ignored, what)
            }
        }
    }

    /// Class ids: whole numbers in 0..<classes, or the ignored class.
    private func requireClassIds(_ v: UnsafeBufferPointer<T>, classes: Int, ignored: Int?, _ what: String) throws {
        for (i, e) in v.enumerated() {
            let d = Double(e)
            if let ignored, d == Double(ignored) { continue }
            guard d == d.rounded(), d >= 0, d < Double(classes) else {
                throw LSTMError.invalidArgument("\(what)[\(i)] is \(e): a class id must be a whole number in [0, \(classes)) for an output of \(classes) classes\(ignored.map { " (or the ignored class \($0))" } ?? "")")
            }
        }
    }

    // MARK: - The single-input, single-output functions

    /// The model's one input as a sequence: timesteps (nil: any length) and features per
    /// timestep (1 for an input of token ids, one per timestep).
    public var sequenceInput: (timesteps: Int?, features: Int) {
        let s = spec.inputShape
        if s.count == 1 { return (s[0], 1) }
        return (s.first ?? nil, s.last.flatMap { $0 } ?? 0)
    }

    /// Refuses models with several inputs or outputs in the functions that take one of each.
    func requireSingleInputOutput() throws {
        guard spec.inputs.count == 1, spec.outputs.count == 1 else {
            throw LSTMError.invalidArgument("model '\(spec.name)' has \(spec.inputs.count) input\(spec.inputs.count == 1 ? "" : "s") and \(spec.outputs.count) output\(spec.outputs.count == 1 ? "" : "s"): pass them as tensors (lstm_model_run, lstm_model_fit_tensors)")
        }
    }

    /// Checks a caller's timestep count against the model and returns it.
    func resolveTimesteps(_ timesteps: Int) throws -> Int {
        if let fixed = sequenceInput.timesteps {
            if timesteps == 0 { return fixed }
            guard timesteps == fixed else {
                throw LSTMError.shapeMismatch("model '\(spec.name)' expects \(fixed) timesteps per sequence, got \(timesteps)")
            }
            return fixed
        }
        guard timesteps >= 1 else {
            throw LSTMError.invalidArgument("model '\(spec.name)' accepts sequences of any length: timesteps must be given (>= 1), got \(timesteps)")
        }
        guard timesteps <= Self.maxOpenDimension else {
            throw LSTMError.invalidArgument("timesteps \(timesteps) is absurd (limit \(Self.maxOpenDimension))")
        }
        return timesteps
    }

    /// The one input's shape (batch first) for `batch` sequences of `timesteps` steps (0: the
    /// model's own length).
    func singleInputShape(batch: Int, timesteps: Int) throws -> [Int] {
        try requireSingleInputOutput()
        let n = try resolveTimesteps(timesteps)
        return [batch] + spec.inputShape.map { $0 ?? n }
    }

    /// Values the target of `batch` samples of `timesteps` steps holds (for the flat fit and
    /// evaluate, whose target comes without a size): what the compiled loss compares with the
    /// output (one class id per position for a sparse crossentropy).
    public func targetCount(batch: Int, timesteps: Int) throws -> Int {
        let output = try outputShapes(forInputs: [try singleInputShape(batch: batch, timesteps: timesteps)])[0]
        return try checkedProduct(targetShape(forOutput: output, loss: nil), "y")
    }

    /// Values the output of `batch` samples of `timesteps` steps holds (what predict writes).
    public func outputCount(batch: Int, timesteps: Int) throws -> Int {
        try checkedProduct([batch, try outputSize(timesteps: timesteps)], "the output")
    }

    /// The target's shape for an output of this shape under `loss` (nil: the compiled loss).
    func targetShape(forOutput shape: [Int], loss: LossKind?) -> [Int] {
        (loss ?? compileSpec?.loss)?.targetShape(forOutput: shape) ?? shape
    }

    /// Values x holds for `batch` sequences of `timesteps` steps (for the flat functions).
    public func inputCount(batch: Int, timesteps: Int) throws -> Int {
        try checkedProduct(try singleInputShape(batch: batch, timesteps: timesteps), "x (batch x timesteps x features)")
    }

    /// Scalars one sample's output holds for an input of `timesteps` steps (0: the model's own).
    public func outputSize(timesteps: Int) throws -> Int {
        let input = try singleInputShape(batch: 1, timesteps: timesteps)
        return try checkedProduct(try outputShapes(forInputs: [input])[0], "output size")
    }

    /// `singleTensors` for callers outside the core (the C face's flat fit).
    public func singleTensorViews(x: UnsafeBufferPointer<T>, batch: Int, timesteps: Int,
                                  y: UnsafeBufferPointer<T>) throws -> (x: TensorView<T>, y: TensorView<T>) {
        let (xv, yv) = try singleTensors(x: x, batch: batch, timesteps: timesteps, y: y)
        guard let yv else { throw LSTMError.internal("no target view for a given target") }
        return (xv, yv)
    }

    /// The flat single-input arguments as tensors, with the sizes checked: x holds
    /// batch × timesteps × features values, y (when given) batch × outputSize.
    /// - Parameters:
    ///   - yIsOutput: y receives the output (predict), rather than holding a target.
    ///   - loss: the loss a target is for (nil: the compiled one), which decides its shape.
    func singleTensors(x: UnsafeBufferPointer<T>, batch: Int, timesteps: Int, y: UnsafeBufferPointer<T>?,
                       yName: String = "y", yIsOutput: Bool = false, loss: LossKind? = nil) throws
        -> (x: TensorView<T>, y: TensorView<T>?) {
        guard batch >= 1 else { throw LSTMError.invalidArgument("batch must be >= 1, got \(batch)") }
        let shape = try singleInputShape(batch: batch, timesteps: timesteps)
        let (n, f) = (shape.count > 1 ? shape[1] : 1, sequenceInput.features)
        let want = try checkedProduct(shape, "x")
        guard x.count == want else {
            throw LSTMError.shapeMismatch("x holds \(x.count) values, expected batch \(batch) x timesteps \(n) x features \(f) = \(want)")
        }
        let xv = TensorView(shape: shape, data: x)
        guard let y else { return (xv, nil) }
        let outShape = try outputShapes(forInputs: [shape])[0]
        let yShape = yIsOutput ? outShape : targetShape(forOutput: outShape, loss: loss)
        let per = yShape.dropFirst().reduce(1, *)
        let wantY = try checkedProduct([batch, per], yName)
        guard y.count == wantY else {
            let size = yShape.count == outShape.count ? "output size" : "class ids per sample"
            throw LSTMError.shapeMismatch("\(yName) holds \(y.count) values, expected batch \(batch) x \(size) \(per) = \(wantY)")
        }
        return (xv, TensorView(shape: yShape, data: y))
    }
}

/// Rejects NaN and Inf, naming the first offending index (and, given the per-sample shape of a
/// sequence, its sample and position).
func requireFinite<T: Scalar>(_ v: UnsafeBufferPointer<T>, _ name: String, sampleShape: [Int] = []) throws {
    var ok = true
    for e in v where !e.isFinite { ok = false; break }
    if ok { return }
    let i = v.firstIndex { !$0.isFinite }!
    var position = ""
    if sampleShape.count == 2, sampleShape[0] > 0, sampleShape[1] > 0 {
        let per = sampleShape[0] * sampleShape[1]
        position = " (sample \(i / per), timestep \(i % per / sampleShape[1]), feature \(i % sampleShape[1]))"
    }
    throw LSTMError.numeric("\(name)[\(i)]\(position) is \(v[i]): the data must be finite")
}

/// Keras's sample and class weights, checked against the data.
extension Model {
    /// Sample weights are one finite value per sample, or one per timestep when every output
    /// has that many positions per sample (Keras's temporal sample weights).
    func checkSampleWeights(_ w: TensorView<T>?, inputs xs: [TensorView<T>], count: Int) throws {
        guard let w else { return }
        let shapes = try outputShapes(forInputs: xs.map(\.shape))
        let positions = shapes.map { $0.dropFirst().dropLast().reduce(1, *) }
        let perTimestep = w.shape.count == 2 && w.shape[0] == count && positions.allSatisfy { $0 == w.shape[1] }
        guard w.shape == [count] || perTimestep, w.data.count == w.shape.reduce(1, *) else {
            throw LSTMError.shapeMismatch("sample_weight has shape \(w.shape); expected [\(count)] (one weight per sample)\(positions.allSatisfy { $0 == positions[0] } && positions[0] > 1 ? " or [\(count), \(positions[0])] (one per timestep)" : "")")
        }
        try requireFinite(w.data, "sample_weight")
    }

    /// Keras's class_weight_to_sample_weights: each sample's class is its target's arg max
    /// (one-hot targets), or its single target rounded (class ids, 0/1 labels).
    func sampleWeights(of ys: [TensorView<T>], classWeights: [Int: Double]) throws -> [T] {
        guard ys.count == 1 else {
            throw LSTMError.invalidArgument("class_weight is only supported for models with a single output (as in Keras)")
        }
        let y = ys[0], n = y.shape.first ?? 0
        guard y.shape.count <= 2 else {
            throw LSTMError.invalidArgument("class_weight needs one target per sample (a class id or a one-hot row), got targets of shape \(y.shape)")
        }
        for (c, w) in classWeights where !w.isFinite {
            throw LSTMError.numeric("class_weight for class \(c) is \(w)")
        }
        let width = y.shape.count == 2 ? y.shape[1] : 1
        return (0..<n).map { i in
            let row = y.data.baseAddress! + i * width
            var cls = 0
            if width > 1 {
                for j in 1..<width where row[j] > row[cls] { cls = j }
            } else {
                // numpy's round half to even; a value no class id could be weighs 1.
                let r = Double(row[0]).rounded(.toNearestOrEven)
                cls = abs(r) < 2_147_483_648 ? Int(r) : Int.min
            }
            return T(classWeights[cls] ?? 1)
        }
    }
}

extension Model {
    /// The per-sample shapes of node `j`'s inputs and outputs, as the node was built (what an
    /// exporter needs besides the spec and the weights).
    public func nodeShapes(_ j: Int) -> (inputs: [SampleShape], outputs: [SampleShape]) {
        (nodeLayers[j].inputShapes, nodeOutputShapes[j])
    }
}
