/// Running a model one timestep at a time: every tensor of the graph becomes its per-step vector
/// (its last axis), each layer call steps with its own state.
extension Model {
    /// Throws `.unsupported` naming the reason when the model cannot be run one timestep at a time.
    public func checkStreamable() throws {
        guard spec.inputs.count == 1, spec.outputs.count == 1 else {
            throw LSTMError.unsupported("model '\(spec.name)' has \(spec.inputs.count) inputs and \(spec.outputs.count) outputs: streaming takes models of one input and one output")
        }
        guard spec.inputShape.count <= 2, stepInputSize > 0 else {
            throw LSTMError.unsupported("model '\(spec.name)': its input \(LayerChecks.describe(spec.inputShape)) has no fixed per-timestep size, so it cannot be run one timestep at a time")
        }
        for (ni, layer) in nodeLayers.enumerated() {
            try layer.checkStreamable()
            if !layer.carriedState.isEmpty {
                throw LSTMError.unsupported("layer '\(layer.name)' is stateful (stateful=True): run it batch by batch with a batch state (lstm_state_new_batch, lstm_model_run_stateful)")
            }
            if layer.producesMask || spec.nodes[ni].mask != nil {
                throw LSTMError.unsupported("layer '\(layer.name)' (\(layer.kind)) masks padded steps: a masked model cannot be run one timestep at a time yet")
            }
            for shape in nodeOutputShapes[ni] where stepWidth(shape) == nil {
                throw LSTMError.unsupported("layer '\(layer.name)' returns shape \(LayerChecks.describe(shape)), which has no fixed per-timestep size: it cannot be run one timestep at a time")
            }
        }
    }

    /// Values a layer's output of this per-sample shape holds per timestep: its last axis; nil
    /// when that is open or the tensor has more than one axis besides the time axis.
    func stepWidth(_ shape: SampleShape) -> Int? {
        guard shape.count <= 2, let last = shape.last else { return nil }
        return last
    }

    /// A zero state for streaming through this model.
    public func makeState() throws -> StreamState<T> {
        try checkStreamable()
        return StreamState(model: self)
    }

    /// Values `step` takes per timestep.
    public var stepInputSize: Int { spec.inputShape.count == 1 ? 1 : stepWidth(spec.inputShape) ?? 0 }

    /// Values `step` writes per timestep.
    public var stepOutputSize: Int {
        if case .input = spec.outputs[0] { return stepInputSize }
        return stepWidth(outputShapes[0]) ?? 0
    }

    /// Feeds one timestep and writes the model's output for it: what a predict over the sequence
    /// so far would give at its last step.
    @_specialize(exported: true, where T == Float)
    public func step(_ state: StreamState<T>, x: UnsafeBufferPointer<T>, into y: UnsafeMutableBufferPointer<T>) throws {
        guard state.owner == ObjectIdentifier(self) else {
            throw LSTMError.invalidState("the state was made for another model")
        }
        // The sizes and the token-id range come from the state, worked out once: looking them
        // up through the graph cost retains and an allocation, a third of a small model's step.
        guard x.count == state.inputSize else {
            throw LSTMError.shapeMismatch("x_t holds \(x.count) values, expected features \(state.inputSize)")
        }
        guard y.count == state.outputSize else {
            throw LSTMError.shapeMismatch("y holds \(y.count) values, expected the output size for one step, \(state.outputSize)")
        }
        try requireFinite(x, "x_t")
        if let limit = state.tokenIdLimit, x.contains(where: { !isTokenId($0, below: limit) }) {
            try checkTokenIds([TensorView(shape: [1, x.count], data: x)], names: "x_t")  // throws, naming the value
        }
        state.input.update(from: x.baseAddress!, count: x.count)
        for call in state.calls { call.run() }
        y.baseAddress!.update(from: state.output, count: y.count)
    }
}

/// One layer call of a stream, with everything its step reads and writes resolved once (a step
/// then looks nothing up: each lookup through the model's arrays cost retains, ~100 ns a call).
final class StepCall<T: Scalar> {
    let layer: any Layer
    let inputs: [UnsafePointer<T>]
    let outputs: [UnsafeMutablePointer<T>]
    let weights: [UnsafeMutableBufferPointer<T>]
    let state: UnsafeMutablePointer<T>
    let scratch: UnsafeMutablePointer<T>

    init(layer: any Layer, inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.state = state
        self.scratch = scratch
    }

    @inline(__always)
    func run() { layer.step(inputs, outputs: outputs, weights: weights, state: state, scratch: scratch) }

    func reset() { layer.resetStreamState(state) }
}

/// Every layer call's state for one stream, and the per-step vectors between the calls, all
/// allocated once so that a step allocates nothing.
public final class StreamState<T: Scalar> {
    let owner: ObjectIdentifier
    /// The model's stepInputSize and stepOutputSize.
    public let inputSize: Int, outputSize: Int
    /// The smallest token-id range of the layers reading the input (nil: none reads ids).
    let tokenIdLimit: Int?
    let input: UnsafeMutablePointer<T>
    let calls: [StepCall<T>]
    let output: UnsafePointer<T>
    private let memory: [UnsafeMutablePointer<T>]

    /// The model must have passed `checkStreamable`.
    init(model: Model<T>) {
        owner = ObjectIdentifier(model)
        inputSize = model.stepInputSize
        outputSize = model.stepOutputSize
        tokenIdLimit = model.spec.nodes.indices.filter { ni in
            model.spec.nodes[ni].inputs.contains { if case .input = $0 { return true } else { return false } }
        }.compactMap { model.nodeLayers[$0].tokenIdLimit }.min()
        var memory: [UnsafeMutablePointer<T>] = []
        func allocate(_ n: Int) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(n, 1))
            p.initialize(repeating: 0, count: Swift.max(n, 1))
            memory.append(p)
            return p
        }
        let input = allocate(model.stepInputSize)
        var outs: [[UnsafeMutablePointer<T>]] = []
        var ins: [[UnsafePointer<T>]] = []
        func pointer(_ ref: ModelSpec.TensorRef) -> UnsafePointer<T> {
            switch ref {
            case .input: return UnsafePointer(input)
            case .node(let j, let k): return UnsafePointer(outs[j][k])
            }
        }
        var scratchSize = 1
        for (ni, node) in model.spec.nodes.enumerated() {
            ins.append(node.inputs.map(pointer))
            outs.append(model.nodeOutputShapes[ni].map { allocate(model.stepWidth($0) ?? 0) })
            scratchSize = Swift.max(scratchSize, model.nodeLayers[ni].stepScratchSize)
        }
        let scratch = allocate(scratchSize)
        var calls: [StepCall<T>] = []
        for (ni, node) in model.spec.nodes.enumerated() {
            let layer = model.nodeLayers[ni]
            calls.append(StepCall(layer: layer, inputs: ins[ni], outputs: outs[ni], weights: model.layerWeights[node.layer],
                                  state: allocate(layer.streamStateSize), scratch: scratch))
        }
        self.input = input
        self.calls = calls
        self.output = pointer(model.spec.outputs[0])
        self.memory = memory
        reset()
    }

    /// Back to the zero state.
    public func reset() {
        for call in calls { call.reset() }
    }

    deinit { for p in memory { p.deallocate() } }
}
