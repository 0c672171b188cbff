import CLSTMABI
import LSTMCore
import LSTMKeras

/// What an `lstm_model *` points to.
final class ModelHandle {
    let model: Model<Float>
    /// Set by lstm_model_free. A handle outlives it while states made from it exist (they keep
    /// it), so that a model freed before its states is still detected, not used after free.
    var freed = false
    init(model: Model<Float>) { self.model = model }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer?) throws -> ModelHandle {
        let p = try Arg.nonNull(p, "model")
        let handle = Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
        guard !handle.freed else {
            throw LSTMError.invalidArgument("model: this model was freed (lstm_model_free); its states may only be freed now")
        }
        return handle
    }
}

/// What an `lstm_state *` points to: a stream's state (lstm_state_new, for lstm_step) or a
/// batch's carried states (lstm_state_new_batch, for lstm_model_run_stateful).
final class StateHandle {
    enum Kind {
        case stream(StreamState<Float>)
        case batch(BatchState<Float>)
    }
    let kind: Kind
    /// The model the state was made for: kept alive (its weights, which the state's steps
    /// point into) for as long as the state exists, even past lstm_model_free.
    let model: ModelHandle
    init(_ kind: Kind, of model: ModelHandle) {
        self.kind = kind
        self.model = model
    }

    static func from(_ p: OpaquePointer?) throws -> StateHandle {
        let p = try Arg.nonNull(p, "state")
        return Unmanaged<StateHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    func reset() {
        switch kind {
        case .stream(let s): s.reset()
        case .batch(let b): b.reset()
        }
    }

    var stream: StreamState<Float> {
        get throws {
            guard case .stream(let s) = kind else {
                throw LSTMError.invalidState("the state was made with lstm_state_new_batch for lstm_model_run_stateful; lstm_step takes one from lstm_state_new")
            }
            return s
        }
    }

    var batch: BatchState<Float> {
        get throws {
            guard case .batch(let b) = kind else {
                throw LSTMError.invalidState("the state was made with lstm_state_new for lstm_step; lstm_model_run_stateful takes one from lstm_state_new_batch")
            }
            return b
        }
    }
}
