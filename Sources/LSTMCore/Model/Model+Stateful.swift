/// Keras's stateful layers (stateful=True): their final state of one call starts the next, for a
/// batch of fixed size. The states live in a `BatchState` the caller holds, so the model itself
/// stays read-only and shareable.
extension Model {
    /// Whether any layer is stateful.
    public var isStateful: Bool { nodeLayers.contains { !$0.carriedState.isEmpty } }

    /// Zero states for `batch` samples (Keras's batch size of a stateful model).
    /// - Throws: `.invalidArgument` for a batch out of range or a model without stateful layers,
    ///   `.shapeMismatch` when the model's input fixes another batch size.
    public func makeBatchState(batch: Int) throws -> BatchState<T> {
        guard isStateful else {
            throw LSTMError.invalidArgument("model '\(spec.name)' has no stateful layer (stateful=True): there is no state to carry between calls")
        }
        guard batch >= 1, batch <= Self.maxOpenDimension else {
            throw LSTMError.invalidArgument("batch must be between 1 and \(Self.maxOpenDimension), got \(batch)")
        }
        for input in spec.inputs {
            if let fixed = input.batchSize, fixed != batch {
                throw LSTMError.shapeMismatch("model '\(spec.name)': input '\(input.name)' has batch size \(fixed) (its batch_shape), got a state for \(batch)")
            }
        }
        return BatchState(model: self, batch: batch)
    }

    /// Runs the model on one batch, starting its stateful layers from `state` and leaving their
    /// final states there for the next call (as Keras's predict on a stateful model).
    @_specialize(exported: true, where T == Float)
    public func run(_ xs: [TensorView<T>], state: BatchState<T>) throws -> [Tensor<T>] {
        guard state.owner == ObjectIdentifier(self) else {
            throw LSTMError.invalidState("the state was made for another model")
        }
        let batch = try checkInputs(xs)
        guard batch == state.batch else {
            throw LSTMError.shapeMismatch("the inputs hold \(batch) samples, but the state was made for a batch of \(state.batch): a stateful model runs batches of one size")
        }
        try checkPassMemory(xs.map(\.shape), batch: batch)
        let pass = forward(xs.map { $0.slice(0, batch) }, training: false, carries: state.carries)
        return outputs(of: pass)
    }

    /// Refuses training and the stateless calls on a model whose layers carry state between
    /// calls (their semantics would depend on the call's split into batches).
    func requireStateless(_ call: String) throws {
        if isStateful {
            throw LSTMError.unsupported("model '\(spec.name)' has stateful layers (stateful=True): \(call) with carried state is not supported yet; run it batch by batch with lstm_model_run_stateful")
        }
    }
}

/// The carried states of every stateful layer call of a model, for one batch size.
public final class BatchState<T: Scalar> {
    let owner: ObjectIdentifier
    public let batch: Int
    /// Per node: its carry (nil for nodes whose layer is not stateful).
    let carries: [StateCarry<T>?]

    init(model: Model<T>, batch: Int) {
        owner = ObjectIdentifier(model)
        self.batch = batch
        carries = model.nodeLayers.map { $0.carriedState.isEmpty ? nil : StateCarry(batch: batch, sizes: $0.carriedState) }
        nodeLayerNames = model.nodeLayers.map(\.name)
    }

    /// Layer name per node, for resetting one layer.
    let nodeLayerNames: [String]

    /// Back to zero states (Keras's reset_states).
    public func reset() { for c in carries { c?.reset() } }

    /// Back to zero states for one layer's calls only (Keras's layer.reset_states()).
    /// - Throws: `.invalidArgument` when the model has no stateful layer of that name.
    public func reset(layer name: String) throws {
        let mine = zip(nodeLayerNames, carries).filter { $0.0 == name && $0.1 != nil }
        guard !mine.isEmpty else {
            throw LSTMError.invalidArgument("the model has no stateful layer named '\(name)' (stateful ones: \(Set(zip(nodeLayerNames, carries).filter { $0.1 != nil }.map(\.0)).sorted().joined(separator: ", ")))")
        }
        for (_, carry) in mine { carry?.reset() }
    }
}
