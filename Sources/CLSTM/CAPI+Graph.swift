import CLSTMABI
import LSTMCore
import LSTMKeras

// The tensor functions of include/lstm.h ("Graph models"): several inputs and outputs.

/// The first `rank` values of a C shape array (imported as a tuple).
private func dims(_ shape: (Int, Int, Int, Int), rank: Int) -> [Int] {
    Array([shape.0, shape.1, shape.2, shape.3].prefix(rank))
}

private func setDims(_ shape: inout (Int, Int, Int, Int), _ d: [Int]) {
    var a = [0, 0, 0, 0]
    for (k, v) in d.prefix(4).enumerated() { a[k] = v }
    shape = (a[0], a[1], a[2], a[3])
}

/// The caller's input tensors as views, with pointers, ranks and sizes checked.
func views(_ x: UnsafePointer<lstm_tensor>?, _ nx: Int, _ name: String) throws -> [TensorView<Float>] {
    let nx = try Arg.size(nx, "n\(name)")
    let x = try Arg.nonNull(x, name)
    return try (0..<nx).map { i in
        let t = x[i]
        let what = "\(name)[\(i)]"
        guard t.rank >= 1, t.rank <= Int(LSTM_MAX_RANK) else {
            throw LSTMError.invalidArgument("\(what).rank must be between 1 and \(LSTM_MAX_RANK), got \(UInt(bitPattern: t.rank))")
        }
        let shape = dims(t.shape, rank: t.rank)
        for (axis, d) in shape.enumerated() { _ = try Arg.size(d, "\(what).shape[\(axis)]") }
        let count = try checkedProduct(shape, what)
        let data = try Arg.nonNull(t.data, "\(what).data")
        return TensorView(shape: shape, data: UnsafeBufferPointer(start: data, count: count))
    }
}

private func outputs(_ y: UnsafeMutablePointer<lstm_tensor_out>?, _ ny: Int) throws -> UnsafeMutablePointer<lstm_tensor_out> {
    _ = try Arg.size(ny, "ny")
    return try Arg.nonNull(y, "y")
}

/// Checks ny and writes the output shapes these inputs give; returns them.
private func writeShapes(_ model: Model<Float>, _ xs: [TensorView<Float>], _ y: UnsafeMutablePointer<lstm_tensor_out>,
                         _ ny: Int) throws -> [[Int]] {
    guard ny == model.spec.outputs.count else {
        throw LSTMError.invalidArgument("ny is \(ny), but model '\(model.spec.name)' has \(model.spec.outputs.count) output\(model.spec.outputs.count == 1 ? "" : "s")")
    }
    try model.checkShapes(xs)
    let shapes = try model.outputShapes(forInputs: xs.map(\.shape))
    for (k, s) in shapes.enumerated() {
        y[k].rank = s.count
        setDims(&y[k].shape, s)
    }
    return shapes
}

@_cdecl("lstm_model_input_count")
public func lstm_model_input_count(_ m: OpaquePointer?, _ n: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded { try Arg.nonNull(n, "n").pointee = try ModelHandle.from(m).model.spec.inputs.count }
}

@_cdecl("lstm_model_output_count")
public func lstm_model_output_count(_ m: OpaquePointer?, _ n: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded { try Arg.nonNull(n, "n").pointee = try ModelHandle.from(m).model.spec.outputs.count }
}

/// Name and shape (0 for open dimensions, the batch first) into the caller's buffers.
private func describe(_ name: String, _ shape: SampleShape, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
                      _ rank: UnsafeMutablePointer<Int>?, _ out: UnsafeMutablePointer<Int>?) throws {
    let rank = try Arg.nonNull(rank, "rank"), out = try Arg.nonNull(out, "shape")
    try Arg.copyText(name, to: buf, cap: cap, "name")
    let full = [0] + shape.map { $0 ?? 0 }
    rank.pointee = full.count
    for (k, d) in full.enumerated() { out[k] = d }
}

private func index(_ i: Int, _ count: Int, _ what: String) throws -> Int {
    guard i >= 0, i < count else {
        throw LSTMError.invalidArgument("\(what) index \(UInt(bitPattern: i)) is out of range: the model has \(count)")
    }
    return i
}

@_cdecl("lstm_model_input_info")
public func lstm_model_input_info(_ m: OpaquePointer?, _ i: Int, _ name: UnsafeMutablePointer<CChar>?, _ cap: Int,
                                  _ rank: UnsafeMutablePointer<Int>?, _ shape: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let spec = try ModelHandle.from(m).model.spec
        let input = spec.inputs[try index(i, spec.inputs.count, "input")]
        try describe(input.name, input.shape, name, cap, rank, shape)
    }
}

@_cdecl("lstm_model_output_info")
public func lstm_model_output_info(_ m: OpaquePointer?, _ i: Int, _ name: UnsafeMutablePointer<CChar>?, _ cap: Int,
                                   _ rank: UnsafeMutablePointer<Int>?, _ shape: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let k = try index(i, model.spec.outputs.count, "output")
        try describe(KerasDescription.outputName(k, in: model.spec), model.outputShapes[k], name, cap, rank, shape)
    }
}

@_cdecl("lstm_model_output_shapes")
public func lstm_model_output_shapes(_ m: OpaquePointer?, _ x: UnsafePointer<lstm_tensor>?, _ nx: Int,
                                     _ y: UnsafeMutablePointer<lstm_tensor_out>?, _ ny: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let xs = try views(x, nx, "x")
        _ = try writeShapes(model, xs, try outputs(y, ny), ny)
    }
}

@_cdecl("lstm_model_run")
public func lstm_model_run(_ m: OpaquePointer?, _ x: UnsafePointer<lstm_tensor>?, _ nx: Int,
                           _ y: UnsafeMutablePointer<lstm_tensor_out>?, _ ny: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let xs = try views(x, nx, "x")
        let y = try outputs(y, ny)
        try checkCapacities(model, xs, y, ny)
        try write(try model.run(xs), to: y)
    }
}

/// Shapes and capacities first: nothing is written to a caller's data before all fit.
private func checkCapacities(_ model: Model<Float>, _ xs: [TensorView<Float>], _ y: UnsafeMutablePointer<lstm_tensor_out>,
                             _ ny: Int) throws {
    guard ny == model.spec.outputs.count else {
        throw LSTMError.invalidArgument("ny is \(ny), but model '\(model.spec.name)' has \(model.spec.outputs.count) output\(model.spec.outputs.count == 1 ? "" : "s")")
    }
    try model.checkShapes(xs)
    let shapes = try model.outputShapes(forInputs: xs.map(\.shape))
    for (k, s) in shapes.enumerated() {
        let need = s.reduce(1, *)
        _ = try Arg.nonNull(y[k].data, "y[\(k)].data")
        guard y[k].cap >= need else {
            throw LSTMError.shapeMismatch("y[\(k)] ('\(KerasDescription.outputName(k, in: model.spec))') has cap \(UInt(bitPattern: y[k].cap)), its output of shape \(s) needs \(need) floats")
        }
    }
}

private func write(_ results: [Tensor<Float>], to y: UnsafeMutablePointer<lstm_tensor_out>) throws {
    for (k, r) in results.enumerated() {
        let data = try Arg.nonNull(y[k].data, "y[\(k)].data")
        r.values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: $0.count) }
        y[k].rank = r.shape.count
        setDims(&y[k].shape, r.shape)
    }
}

@_cdecl("lstm_model_fit_tensors")
public func lstm_model_fit_tensors(_ m: OpaquePointer?, _ x: UnsafePointer<lstm_tensor>?, _ nx: Int,
                                   _ y: UnsafePointer<lstm_tensor>?, _ ny: Int, _ opts: UnsafePointer<lstm_fit_options>?,
                                   _ history: UnsafeMutablePointer<Double>?, _ historyCap: Int,
                                   _ epochsRun: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let xs = try views(x, nx, "x"), ys = try views(y, ny, "y")
        let cap = try Arg.size(historyCap, "history_cap", allowZero: true)
        let fit = try FitCallbacks(opts, metricNames: model.metricNames)
        var finished = 0
        defer { epochsRun?.pointee = finished }
        _ = try model.fit(xs, targets: ys, sampleWeights: fit.sampleWeights, options: fit.options, stateful: fit.stateful,
                          onBatch: fit.onBatch) { log in
            if let history, log.epoch < cap { history[log.epoch] = log.loss }
            finished = log.epoch + 1
            return fit.onEpoch(log)
        }
    }
}

@_cdecl("lstm_model_evaluate_tensors")
public func lstm_model_evaluate_tensors(_ m: OpaquePointer?, _ x: UnsafePointer<lstm_tensor>?, _ nx: Int,
                                        _ y: UnsafePointer<lstm_tensor>?, _ ny: Int,
                                        _ loss: UnsafeMutablePointer<Double>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let loss = try Arg.nonNull(loss, "loss")
        loss.pointee = try model.evaluate(try views(x, nx, "x"), targets: try views(y, ny, "y"))
    }
}

@_cdecl("lstm_model_metric_count")
public func lstm_model_metric_count(_ m: OpaquePointer?, _ n: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try Arg.nonNull(n, "n").pointee = model.metricCount
    }
}

@_cdecl("lstm_model_metric_name")
public func lstm_model_metric_name(_ m: OpaquePointer?, _ i: Int, _ name: UnsafeMutablePointer<CChar>?, _ cap: Int) -> lstm_status {
    guarded {
        let names = try ModelHandle.from(m).model.metricNames
        try Arg.copyText(names[try index(i, names.count, "metric")], to: name, cap: cap, "name")
    }
}

@_cdecl("lstm_model_evaluate_metrics")
public func lstm_model_evaluate_metrics(_ m: OpaquePointer?, _ x: UnsafePointer<lstm_tensor>?, _ nx: Int,
                                        _ y: UnsafePointer<lstm_tensor>?, _ ny: Int,
                                        _ sampleWeight: UnsafePointer<lstm_tensor>?, _ batchSize: Int,
                                        _ loss: UnsafeMutablePointer<Double>?,
                                        _ metrics: UnsafeMutablePointer<Double>?, _ metricsCap: Int,
                                        _ onBatch: lstm_logs_callback?, _ user: UnsafeMutableRawPointer?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let loss = try Arg.nonNull(loss, "loss")
        let names = ["loss"] + model.metricNames, count = names.count - 1
        let cap = try Arg.size(metricsCap, "metrics_cap", allowZero: true)
        guard cap >= count else {
            throw LSTMError.invalidArgument("metrics_cap is \(cap), but the model has \(count) metrics")
        }
        let out = count > 0 ? try Arg.nonNull(metrics, "metrics") : nil
        let batch = try Arg.size(batchSize, "batch_size", allowZero: true)
        let weights = try sampleWeight.map { try views($0, 1, "sample_weight")[0] }
        let logs = try model.evaluateLogs(try views(x, nx, "x"), targets: try views(y, ny, "y"), sampleWeights: weights,
                                          batchSize: batch == 0 ? 32 : batch,
                                          onBatch: onBatch.map { cb in { b, logs in FitCallbacks.call(cb, user, 0, b, names: names, logs) } })
        loss.pointee = logs[0]
        for k in 0..<count { out![k] = logs[k + 1] }
    }
}

@_cdecl("lstm_model_layer_count")
public func lstm_model_layer_count(_ m: OpaquePointer?, _ n: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try Arg.nonNull(n, "n").pointee = try KerasDescription.layerRows(model).count
    }
}

/// Copies text into a fixed char array of a C struct, cut and NUL-terminated.
private func copy<T>(_ text: String, into field: inout T) {
    withUnsafeMutableBytes(of: &field) { raw in
        let bytes = Array(text.utf8.prefix(raw.count - 1))
        for (k, b) in bytes.enumerated() { raw[k] = b }
        raw[bytes.count] = 0
    }
}

@_cdecl("lstm_model_layer_info")
public func lstm_model_layer_info(_ m: OpaquePointer?, _ i: Int, _ info: UnsafeMutablePointer<lstm_layer_info>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let info = try Arg.nonNull(info, "info")
        guard info.pointee.struct_size >= MemoryLayout<lstm_layer_info>.size else {
            throw LSTMError.invalidArgument("info->struct_size is \(UInt(bitPattern: info.pointee.struct_size)); set it to sizeof(lstm_layer_info) (\(MemoryLayout<lstm_layer_info>.size))")
        }
        let rows = try KerasDescription.layerRows(model)
        let row = rows[try index(i, rows.count, "layer")]
        var out = lstm_layer_info()
        out.struct_size = MemoryLayout<lstm_layer_info>.size
        copy(row.className, into: &out.class_name)
        copy(row.name, into: &out.name)
        copy(row.connectedTo, into: &out.connected_to)
        out.param_count = row.parameters
        out.call_count = row.callCount
        out.output_count = row.outputShapes.count
        withUnsafeMutableBytes(of: &out.output_rank) { ranks in
            withUnsafeMutableBytes(of: &out.output_shape) { shapes in
                let r = ranks.bindMemory(to: Int.self), s = shapes.bindMemory(to: Int.self)
                for (k, shape) in row.outputShapes.prefix(Int(LSTM_MAX_LAYER_OUTPUTS)).enumerated() {
                    let full = [0] + shape.map { $0 ?? 0 }
                    r[k] = full.count
                    for (a, d) in full.prefix(Int(LSTM_MAX_RANK)).enumerated() { s[k * Int(LSTM_MAX_RANK) + a] = d }
                }
            }
        }
        info.pointee = out
    }
}

@_cdecl("lstm_step_sizes")
public func lstm_step_sizes(_ m: OpaquePointer?, _ input: UnsafeMutablePointer<Int>?, _ output: UnsafeMutablePointer<Int>?) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        try model.checkStreamable()
        input?.pointee = model.stepInputSize
        output?.pointee = model.stepOutputSize
    }
}

@_cdecl("lstm_state_new_batch")
public func lstm_state_new_batch(_ m: OpaquePointer?, _ batch: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> lstm_status {
    guarded {
        let handle = try ModelHandle.from(m)
        let out = try Arg.nonNull(out, "out")
        let state = try handle.model.makeBatchState(batch: try Arg.size(batch, "batch"))
        out.pointee = OpaquePointer(Unmanaged.passRetained(StateHandle(.batch(state), of: handle)).toOpaque())
    }
}

@_cdecl("lstm_model_run_stateful")
public func lstm_model_run_stateful(_ m: OpaquePointer?, _ s: OpaquePointer?, _ x: UnsafePointer<lstm_tensor>?, _ nx: Int,
                                    _ y: UnsafeMutablePointer<lstm_tensor_out>?, _ ny: Int) -> lstm_status {
    guarded {
        let model = try ModelHandle.from(m).model
        let state = try StateHandle.from(s).batch
        let xs = try views(x, nx, "x")
        let y = try outputs(y, ny)
        try checkCapacities(model, xs, y, ny)
        try write(try model.run(xs, state: state), to: y)
    }
}

@_cdecl("lstm_state_reset_layer")
public func lstm_state_reset_layer(_ s: OpaquePointer?, _ layer: UnsafePointer<CChar>?) -> lstm_status {
    guarded {
        let state = try StateHandle.from(s).batch
        try state.reset(layer: try Arg.string(layer, "layer"))
    }
}
