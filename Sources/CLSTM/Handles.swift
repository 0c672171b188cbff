import CLSTMABI
import LSTMCore
import LSTMKeras

/// What an `lstm_model *` points to.
final class ModelHandle {
    let model: Model<Float>
    init(model: Model<Float>) { self.model = model }

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer?) throws -> ModelHandle {
        let p = try Arg.nonNull(p, "model")
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}

/// What an `lstm_state *` points to.
final class StateHandle {
    let state: StreamState<Float>
    init(state: StreamState<Float>) { self.state = state }

    static func from(_ p: OpaquePointer?) throws -> StateHandle {
        let p = try Arg.nonNull(p, "state")
        return Unmanaged<StateHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}
