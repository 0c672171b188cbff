#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLSTMABI
import LSTMCore
import LSTMKeras
import LSTMONNX

// One thin exported function per C function of include/lstm.h: check the arguments, call
// Swift, map errors to statuses. See the header for each function's contract.

private let versionCString: UnsafeMutablePointer<CChar> =
    strdup("\(LSTM_VERSION_MAJOR).\(LSTM_VERSION_MINOR).\(LSTM_VERSION_PATCH)")!

private let statusNames: [UnsafeMutablePointer<CChar>] = ([
    "LSTM_OK", "LSTM_ERROR_ARGUMENT", "LSTM_ERROR_SHAPE", "LSTM_ERROR_STATE", "LSTM_ERROR_IO",
    "LSTM_ERROR_FORMAT", "LSTM_ERROR_UNSUPPORTED", "LSTM_ERROR_NUMERIC", "LSTM_ERROR_MEMORY",
    "LSTM_ERROR_CANCELLED", "LSTM_ERROR_INTERNAL", "LSTM_ERROR_UNKNOWN",
] as [String]).map { strdup($0)! }

@_cdecl("lstm_version_number")
public func lstm_version_number() -> UInt32 {
    UInt32(LSTM_VERSION_MAJOR * 10000 + LSTM_VERSION_MINOR * 100 + LSTM_VERSION_PATCH)
}

@_cdecl("lstm_version_string")
public func lstm_version_string() -> UnsafePointer<CChar> { UnsafePointer(versionCString) }

@_cdecl("lstm_status_name")
public func lstm_status_name(_ s: lstm_status) -> UnsafePointer<CChar> {
    let i = Int(s.rawValue)
    return UnsafePointer(statusNames[i < statusNames.count - 1 ? i : statusNames.count - 1])
}

@_cdecl("lstm_last_error")
public func lstm_last_error() -> UnsafePointer<CChar> { lastErrorPointer() }

@_cdecl("lstm_last_warning")
public func lstm_last_warning() -> UnsafePointer<CChar> { lastWarningPointer() }

// MARK: - Models

@_cdecl("lstm_model_from_json")
public func lstm_model_from_json(_ json: UnsafePointer<CChar>?, _ seed: UInt64,
                                 _ out: UnsafeMutablePointer<OpaquePointer?>?) -> lstm_status {
    guarded {
        let text = try Arg.string(json, "keras_json")
        let out = try Arg.nonNull(out, "out")
        let config = try KerasConfig.parseModel(text)
        let model = try Model<Float>(spec: config.spec, seed: seed)
        if let c = config.compile { try model.compile(c) }
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelHandle(model: model)).toOpaque())
    }
}

@_cdecl("lstm_model_load")
public func lstm_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> lstm_status {
    guarded {
        let p = try Arg.string(path, "path")
        let out = try Arg.nonNull(out, "out")
        let model = try KerasFiles.loadModel(p, note: addWarning)
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelHandle(model: model)).toOpaque())
    }
}

@_cdecl("lstm_model_load_outputs")
public func lstm_model_load_outputs(_ path: UnsafePointer<CChar>?, _ outputs: UnsafePointer<UnsafePointer<CChar>?>?,
                                    _ count: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> lstm_status {
    guarded {
        let p = try Arg.string(path, "path")
        let list = try Arg.nonNull(outputs, "outputs")
        let n = try Arg.size(count, "count")
        // Read no further than a model could have outputs: the array is the caller's.
        guard n <= 1 << 16 else { throw LSTMError.invalidArgument("count = \(n) is more outputs than a model has") }
        let names = try (0..<n).map { try Arg.string(list[$0], "outputs[\($0)]") }
        let out = try Arg.nonNull(out, "out")
        let model = try KerasFiles.loadModel(p, outputs: names, note: addWarning)
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelHandle(model: model)).toOpaque())
    }
}

@_cdecl("lstm_model_free")
public func lstm_model_free(_ m: OpaquePointer?) {
    guard let m else { return }
    let handle = Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(m))
    handle.takeUnretainedValue().freed = true  // seen by calls made through a state that keeps it
    handle.release()
}

@_cdecl("lstm_model_to_json")
public func lstm_model_to_json(_ m: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
                               _ len: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let len = try Arg.nonNull(len, "len")
        _ = try Arg.size(cap, "cap", allowZero: true)
        if cap > 0 { _ = try Arg.nonNull(buf, "buf (with cap > 0)") }
        let text = try KerasConfig.modelJSON(model.spec, compile: model.compileSpec).serialized()
        len.pointee = try Arg.copyText(text, to: buf, cap: cap, "buf")
    }
}

@_cdecl("lstm_model_input_shape")
public func lstm_model_input_shape(_ m: OpaquePointer?, _ timesteps: UnsafeMutablePointer<Int>?,
                                   _ features: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let input = try ModelHandle.from(m).model.sequenceInput
        timesteps?.pointee = input.timesteps ?? 0
        features?.pointee = input.features
    }
}

/// A per-sample count of a model for sequences of `timesteps` (0: the model's own length).
private func perSampleCount(_ m: OpaquePointer?, _ timesteps: Int, _ size: UnsafeMutablePointer<Int>?,
                            _ count: (Model<Float>, Int) throws -> Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let size = try Arg.nonNull(size, "size")
        let t = try Arg.size(timesteps, "timesteps", allowZero: true)
        size.pointee = try count(model, t)
    }
}

@_cdecl("lstm_model_output_size")
public func lstm_model_output_size(_ m: OpaquePointer?, _ timesteps: Int, _ size: UnsafeMutablePointer<Int>?) -> lstm_status {
    perSampleCount(m, timesteps, size) { model, t in try model.outputSize(timesteps: t) }
}

@_cdecl("lstm_model_target_size")
public func lstm_model_target_size(_ m: OpaquePointer?, _ timesteps: Int, _ size: UnsafeMutablePointer<Int>?) -> lstm_status {
    perSampleCount(m, timesteps, size) { model, t in try model.targetCount(batch: 1, timesteps: t) }
}

@_cdecl("lstm_model_load_weights")
public func lstm_model_load_weights(_ m: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try KerasFiles.loadWeights(try Arg.string(path, "path"), into: model, note: addWarning)
    }
}

@_cdecl("lstm_model_save_weights")
public func lstm_model_save_weights(_ m: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try KerasFiles.saveWeights(model, to: try Arg.string(path, "path"))
    }
}

@_cdecl("lstm_model_save")
public func lstm_model_save(_ m: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try KerasFiles.saveModel(model, to: try Arg.string(path, "path"))
    }
}

@_cdecl("lstm_model_export_onnx")
public func lstm_model_export_onnx(_ m: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try ONNXExport.save(model, to: try Arg.string(path, "path"), producerVersion: String(cString: versionCString))
    }
}

@_cdecl("lstm_model_param_count")
public func lstm_model_param_count(_ m: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try Arg.nonNull(count, "count").pointee = model.parameterCount
    }
}

@_cdecl("lstm_model_trainable_param_count")
public func lstm_model_trainable_param_count(_ m: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try Arg.nonNull(count, "count").pointee = model.trainableParameterCount
    }
}

@_cdecl("lstm_model_weight_count")
public func lstm_model_weight_count(_ m: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try Arg.nonNull(count, "count").pointee = model.weightShapes.count
    }
}

@_cdecl("lstm_model_weight_trainable")
public func lstm_model_weight_trainable(_ m: OpaquePointer?, _ index: Int, _ trainable: UnsafeMutablePointer<Int32>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let out = try Arg.nonNull(trainable, "trainable")
        out.pointee = model.trainableArrays.contains(try Arg.weightIndex(index, of: model)) ? 1 : 0
    }
}

@_cdecl("lstm_model_set_layer_trainable")
public func lstm_model_set_layer_trainable(_ m: OpaquePointer?, _ layer: UnsafePointer<CChar>?, _ trainable: Int32) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try model.setTrainable(trainable != 0, layer: try Arg.string(layer, "layer"))
    }
}

@_cdecl("lstm_model_weight_info")
public func lstm_model_weight_info(_ m: OpaquePointer?, _ index: Int, _ name: UnsafeMutablePointer<CChar>?, _ cap: Int,
                                   _ ndim: UnsafeMutablePointer<Int>?, _ shape: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let ndim = try Arg.nonNull(ndim, "ndim"), shape = try Arg.nonNull(shape, "shape")
        _ = try Arg.size(cap, "cap", allowZero: true)
        if cap > 0 { _ = try Arg.nonNull(name, "name (with cap > 0)") }
        let index = try Arg.weightIndex(index, of: model)
        try Arg.copyText(model.weightNames[index], to: name, cap: cap, "name")
        let dims = model.weightShapes[index]
        ndim.pointee = dims.count
        for (k, d) in dims.enumerated() { shape[k] = d }
    }
}

@_cdecl("lstm_model_get_weights")
public func lstm_model_get_weights(_ m: OpaquePointer?, _ w: UnsafeMutablePointer<Float>?, _ len: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let w = try Arg.nonNull(w, "w")
        try model.copyWeights(into: UnsafeMutableBufferPointer(start: w, count: try Arg.size(len, "len")))
    }
}

@_cdecl("lstm_model_set_weights")
public func lstm_model_set_weights(_ m: OpaquePointer?, _ w: UnsafePointer<Float>?, _ len: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let w = try Arg.nonNull(w, "w")
        try model.setWeights(flat: UnsafeBufferPointer(start: w, count: try Arg.size(len, "len")))
    }
}

// MARK: - Inference

@_cdecl("lstm_model_predict")
public func lstm_model_predict(_ m: OpaquePointer?, _ x: UnsafePointer<Float>?, _ batch: Int, _ timesteps: Int,
                               _ y: UnsafeMutablePointer<Float>?, _ yLen: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let x = try Arg.nonNull(x, "x"), y = try Arg.nonNull(y, "y")
        let batch = try Arg.size(batch, "batch"), t = try Arg.size(timesteps, "timesteps")
        let yLen = try Arg.size(yLen, "y_len")
        let per = try model.outputSize(timesteps: t)
        let want = try model.outputCount(batch: batch, timesteps: t)
        guard yLen == want else {
            throw LSTMError.shapeMismatch("y_len is \(yLen), expected batch \(batch) x output size \(per) = \(want)")
        }
        let xs = UnsafeBufferPointer(start: x, count: try model.inputCount(batch: batch, timesteps: t))
        try model.predict(x: xs, batch: batch, timesteps: t, into: UnsafeMutableBufferPointer(start: y, count: yLen))
    }
}

// MARK: - Streaming

@_cdecl("lstm_state_new")
public func lstm_state_new(_ m: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> lstm_status {
    guarded {
        let handle = try ModelHandle.from(m)
        let out = try Arg.nonNull(out, "out")
        let state = try handle.model.makeState()
        out.pointee = OpaquePointer(Unmanaged.passRetained(StateHandle(.stream(state), of: handle)).toOpaque())
    }
}

@_cdecl("lstm_state_reset")
public func lstm_state_reset(_ s: OpaquePointer?) -> lstm_status {
    guarded { try StateHandle.from(s).reset() }
}

@_cdecl("lstm_state_free")
public func lstm_state_free(_ s: OpaquePointer?) {
    guard let s else { return }
    Unmanaged<StateHandle>.fromOpaque(UnsafeRawPointer(s)).release()
}

@_cdecl("lstm_step")
public func lstm_step(_ m: OpaquePointer?, _ s: OpaquePointer?, _ x: UnsafePointer<Float>?,
                      _ y: UnsafeMutablePointer<Float>?, _ yLen: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let state = try StateHandle.from(s).stream
        let x = try Arg.nonNull(x, "x_t"), y = try Arg.nonNull(y, "y")
        let yLen = try Arg.size(yLen, "y_len")
        try model.step(state, x: UnsafeBufferPointer(start: x, count: state.inputSize),
                       into: UnsafeMutableBufferPointer(start: y, count: yLen))
    }
}

// MARK: - Training

@_cdecl("lstm_model_release_training_memory")
public func lstm_model_release_training_memory(_ m: OpaquePointer?) -> lstm_status {
    guarded { try ModelHandle.from(m).model.releaseTrainingMemory() }
}

@_cdecl("lstm_model_compile")
public func lstm_model_compile(_ m: OpaquePointer?, _ json: UnsafePointer<CChar>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let text = try Arg.string(json, "compile_json")
        try model.compile(try KerasConfig.parseCompile(text))
    }
}

@_cdecl("lstm_model_learning_rate")
public func lstm_model_learning_rate(_ m: OpaquePointer?, _ rate: UnsafeMutablePointer<Double>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let out = try Arg.nonNull(rate, "rate")
        guard let current = model.learningRate else {
            throw LSTMError.invalidState("model '\(model.spec.name)' is not compiled: it has no learning rate")
        }
        out.pointee = current
    }
}

@_cdecl("lstm_model_set_learning_rate")
public func lstm_model_set_learning_rate(_ m: OpaquePointer?, _ rate: Double) -> lstm_status {
    guarded { try ModelHandle.from(m).model.setLearningRate(rate) }
}

@_cdecl("lstm_fit_options_init")
public func lstm_fit_options_init(_ o: UnsafeMutablePointer<lstm_fit_options>?) {
    guard let o else { return }
    o.pointee = lstm_fit_options(struct_size: MemoryLayout<lstm_fit_options>.size, epochs: 1, batch_size: 32,
                                 shuffle: 1, validation_split: 0, seed: 0, on_epoch: nil, user: nil, on_batch: nil,
                                 state: nil, on_batch_logs: nil, on_epoch_logs: nil, sample_weight: nil,
                                 class_weight: nil, class_weight_count: 0, steps_per_epoch: 0, reducer: nil)
}

/// The caller's fit options and callbacks, read field by field only as far as its struct_size
/// reaches (an older caller's struct is shorter); missing fields keep Keras's defaults.
struct FitCallbacks {
    var options = FitOptions()
    var epochCallback: lstm_epoch_callback?
    var batchCallback: lstm_batch_callback?
    var batchLogsCallback: lstm_logs_callback?
    var epochLogsCallback: lstm_logs_callback?
    var user: UnsafeMutableRawPointer?
    /// The log names: "loss" and the metrics', then the same after "val_".
    var names: [String] = []
    /// Keras's sample_weight (opts->sample_weight), read where the caller's data lives.
    var sampleWeights: TensorView<Float>?
    /// The batch state a stateful model's fit carries (opts->state).
    var state: BatchState<Float>?

    init(_ p: UnsafePointer<lstm_fit_options>?, metricNames: [String]) throws {
        names = ["loss"] + metricNames
        names += names.map { "val_" + $0 }
        guard let p else { return }
        let raw = UnsafeRawPointer(p)
        let size = raw.load(as: Int.self)
        guard size >= MemoryLayout<Int>.size else {
            throw LSTMError.invalidArgument("opts->struct_size is \(UInt(bitPattern: size)); set it to sizeof(lstm_fit_options) (call lstm_fit_options_init)")
        }
        // A larger struct comes from a newer lstm.h whose options this library cannot honour:
        // refused rather than ignored.
        guard size <= MemoryLayout<lstm_fit_options>.size else {
            throw LSTMError.invalidArgument("opts->struct_size is \(UInt(bitPattern: size)), larger than this library's lstm_fit_options (\(MemoryLayout<lstm_fit_options>.size) bytes): the program was built against a newer lstm.h than the library it runs with")
        }
        func field<V>(_ key: KeyPath<lstm_fit_options, V>, _ type: V.Type) -> V? {
            guard let off = MemoryLayout<lstm_fit_options>.offset(of: key),
                  off + MemoryLayout<V>.size <= size else { return nil }
            return raw.load(fromByteOffset: off, as: V.self)
        }
        if let e = field(\.epochs, Int.self) { options.epochs = try Arg.size(e, "opts->epochs") }
        if let b = field(\.batch_size, Int.self) { options.batchSize = try Arg.size(b, "opts->batch_size") }
        if let s = field(\.shuffle, Int32.self) { options.shuffle = s != 0 }
        if let v = field(\.validation_split, Float.self) {
            guard v.isFinite, v >= 0, v < 1 else {
                throw LSTMError.invalidArgument("opts->validation_split must be in [0, 1), got \(v)")
            }
            // The float's shortest decimal, as the caller wrote it: 0.2f widened to a double is
            // 0.2000000030, which would hold out one sample more than Keras's 0.2 does.
            options.validationSplit = Double("\(v)") ?? Double(v)
        }
        if let s = field(\.seed, UInt64.self) { options.seed = s }
        epochCallback = field(\.on_epoch, lstm_epoch_callback?.self) ?? nil
        user = field(\.user, UnsafeMutableRawPointer?.self) ?? nil
        batchCallback = field(\.on_batch, lstm_batch_callback?.self) ?? nil
        batchLogsCallback = field(\.on_batch_logs, lstm_logs_callback?.self) ?? nil
        epochLogsCallback = field(\.on_epoch_logs, lstm_logs_callback?.self) ?? nil
        if let w = field(\.sample_weight, UnsafePointer<lstm_tensor>?.self) ?? nil {
            sampleWeights = try views(w, 1, "opts->sample_weight")[0]
        }
        if let weights = field(\.class_weight, UnsafePointer<Float>?.self) ?? nil {
            let n = try Arg.size(field(\.class_weight_count, Int.self) ?? 0, "opts->class_weight_count")
            guard n <= 1 << 24 else { throw LSTMError.invalidArgument("opts->class_weight_count is \(n), more than 2^24 classes") }
            options.classWeights = Dictionary(uniqueKeysWithValues: (0..<n).map { ($0, Double(weights[$0])) })
        }
        if let steps = field(\.steps_per_epoch, Int.self), steps != 0 {
            options.stepsPerEpoch = try Arg.size(steps, "opts->steps_per_epoch")
        }
        if let s = field(\.state, OpaquePointer?.self) ?? nil {
            state = try StateHandle.from(s).batch
        }
        if let r = field(\.reducer, UnsafePointer<lstm_gradient_reducer>?.self) ?? nil {
            options.reducer = try CGradientReducer(r)
        }
    }

    var stateful: FitOptions.Stateful<Float>? { state.map { FitOptions.Stateful(state: $0) } }

    /// The batch callbacks for the core's fit (nil without one); either may stop the fit.
    var onBatch: ((BatchLog) -> Bool)? {
        guard batchCallback != nil || batchLogsCallback != nil else { return nil }
        let cb = batchCallback, logsCallback = batchLogsCallback, user = self.user, names = self.names
        return { log in
            var stop = false
            if let logsCallback {
                stop = Self.call(logsCallback, user, log.epoch, log.batch, names: names, [log.loss] + log.metrics)
            }
            if let cb, cb(user, log.epoch, log.batch, log.batches, log.loss) != 0 { stop = true }
            return stop
        }
    }

    /// The epoch callbacks' answer: true to stop.
    func onEpoch(_ log: EpochLog) -> Bool {
        var stop = false
        if let epochLogsCallback {
            var values = [log.loss] + log.metrics
            if let v = log.valLoss { values += [v] + log.valMetrics }
            stop = Self.call(epochLogsCallback, user, log.epoch, log.batches, names: names, values)
        }
        if let epochCallback, epochCallback(user, log.epoch, log.loss, log.valLoss ?? .nan) != 0 { stop = true }
        return stop
    }

    /// Calls a logs callback with the first values.count names, as C strings valid for the call.
    static func call(_ cb: lstm_logs_callback, _ user: UnsafeMutableRawPointer?, _ epoch: Int, _ batch: Int,
                             names: [String], _ values: [Double]) -> Bool {
        let cNames = names.prefix(values.count).map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let pointers = cNames.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { n in
            values.withUnsafeBufferPointer { v in cb(user, epoch, batch, values.count, n.baseAddress, v.baseAddress) != 0 }
        }
    }
}

@_cdecl("lstm_model_fit")
public func lstm_model_fit(_ m: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?, _ n: Int,
                           _ timesteps: Int, _ opts: UnsafePointer<lstm_fit_options>?,
                           _ history: UnsafeMutablePointer<Double>?, _ historyCap: Int,
                           _ epochsRun: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let x = try Arg.nonNull(x, "x"), y = try Arg.nonNull(y, "y")
        let n = try Arg.size(n, "n"), t = try Arg.size(timesteps, "timesteps")
        let cap = try Arg.size(historyCap, "history_cap", allowZero: true)
        let fit = try FitCallbacks(opts, metricNames: model.metricNames)
        let xs = UnsafeBufferPointer(start: x, count: try model.inputCount(batch: n, timesteps: t))
        let ys = UnsafeBufferPointer(start: y, count: try model.targetCount(batch: n, timesteps: t))
        var finished = 0
        defer { epochsRun?.pointee = finished }
        let (xv, yv) = try model.singleTensorViews(x: xs, batch: n, timesteps: t, y: ys)
        _ = try model.fit([xv], targets: [yv], sampleWeights: fit.sampleWeights, options: fit.options, stateful: fit.stateful,
                          onBatch: fit.onBatch) { log in
            if let history, log.epoch < cap { history[log.epoch] = log.loss }
            finished = log.epoch + 1
            return fit.onEpoch(log)
        }
    }
}

@_cdecl("lstm_model_evaluate")
public func lstm_model_evaluate(_ m: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?, _ n: Int,
                                _ timesteps: Int, _ loss: UnsafeMutablePointer<Double>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let x = try Arg.nonNull(x, "x"), y = try Arg.nonNull(y, "y")
        let loss = try Arg.nonNull(loss, "loss")
        let n = try Arg.size(n, "n"), t = try Arg.size(timesteps, "timesteps")
        let xs = UnsafeBufferPointer(start: x, count: try model.inputCount(batch: n, timesteps: t))
        let ys = UnsafeBufferPointer(start: y, count: try model.targetCount(batch: n, timesteps: t))
        loss.pointee = try model.evaluate(x: xs, y: ys, count: n, timesteps: t)
    }
}
