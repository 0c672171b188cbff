#if canImport(Glibc)
import Glibc
#endif
import CLSTM
import CLSTMABI
import LSTMCore
@testable import LSTMKeras

// libFuzzer targets (`make fuzz`): built with -sanitize=fuzzer,address, which supplies main().
// LSTM_FUZZ_TARGET picks what the input is fed to:
//   hdf5  the HDF5 reader, walked over every group, attribute and dataset
//   zip   the .keras zip reader, every member inflated
//   json  the JSON parser and the Keras model and compile config readers
//   load  a whole-model load (and a weights load into a fixed model) from the bytes
//   capi  a sequence of C-API calls the bytes choose: build, predict, step, fit, save, load
// Every input must give a result or an error: a crash, a leak, a hang or a huge allocation
// is a finding.

private let target: String = {
    guard let t = getenv("LSTM_FUZZ_TARGET") else { return "hdf5" }
    return String(cString: t)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch target {
    case "hdf5": fuzzHDF5(bytes)
    case "zip": fuzzZip(bytes)
    case "json": fuzzJSON(bytes)
    case "load": fuzzLoad(bytes)
    case "capi": fuzzCAPI(bytes)
    default:
        fputs("LSTM_FUZZ_TARGET must be hdf5, zip, json, load or capi\n", stderr)
        exit(2)
    }
    return 0
}

private func walk(_ g: H5ReadGroup, seen: inout Set<Int>) {
    guard seen.insert(g.address).inserted else { return }
    for a in (try? g.attributeNames()) ?? [] { _ = try? g.stringsAttribute(a) }
    for name in g.memberNames() {
        if g.isDataset(name) {
            if (try? g.readFloats(name)) == nil { _ = try? g.readInt(name) }
        } else if let sub = try? g.group(name) {
            walk(sub, seen: &seen)
        }
    }
}

private func fuzzHDF5(_ bytes: [UInt8]) {
    guard let root = try? HDF5Reader.open(bytes, name: "fuzz.h5") else { return }
    var seen = Set<Int>()
    walk(root, seen: &seen)
}

private func fuzzZip(_ bytes: [UInt8]) {
    guard let members = try? Zip.members(bytes, file: "fuzz.keras") else { return }
    for m in members { _ = try? Zip.data(m, in: bytes, file: "fuzz.keras") }
}

private func fuzzJSON(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let json = try? JSON.parse(text) else { return }
    _ = json.serialized()
    if let parsed = try? KerasConfig.parseModel(text, lenientCompile: true), parsed.spec.layers.count < 64 {
        _ = try? KerasConfig.modelJSON(parsed.spec, compile: parsed.compile)
    }
    // Graphs with layers that cannot run: the part that can, and the part before each layer.
    if let parsed = try? KerasConfig.parseModel(text, lenientCompile: true, keepUnrunnable: true), parsed.spec.layers.count < 64 {
        _ = try? KerasFiles.runnablePart(parsed.spec, outputs: nil, path: "fuzz", note: { _ in })
        for layer in parsed.spec.layers.prefix(4) {
            _ = try? KerasFiles.runnablePart(parsed.spec, outputs: [layer.name, layer.name + ":1"], path: "fuzz", note: { _ in })
        }
    }
    _ = try? KerasConfig.parseCompile(json)
}

private let sineJSON = """
{"class_name": "Sequential", "config": {"name": "s", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 2], "name": "in"}},
 {"class_name": "LSTM", "config": {"name": "lstm", "units": 3}},
 {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}}
"""

private func fuzzLoad(_ bytes: [UInt8]) {
    _ = try? KerasFiles.loadModel(bytes: bytes, name: "fuzz.keras")
    if let spec = try? KerasConfig.parseModel(sineJSON).spec, let model = try? Model<Float>(spec: spec, seed: 1) {
        _ = try? KerasFiles.loadWeights(bytes: bytes, name: "fuzz.weights.h5", into: model)
    }
}

/// Reads the input as a stream of small numbers and floats that choose the calls.
private struct Script {
    let bytes: [UInt8]
    var at = 0
    mutating func byte() -> Int {
        defer { at += 1 }
        return at < bytes.count ? Int(bytes[at]) : 0
    }
    mutating func small(_ n: Int) -> Int { byte() % n }
    var done: Bool { at >= bytes.count }
    /// A float from four input bytes: any bit pattern, NaN and infinities included.
    mutating func float() -> Float {
        var bits: UInt32 = 0
        for _ in 0..<4 { bits = bits << 8 | UInt32(byte()) }
        return Float(bitPattern: bits)
    }
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in small(4) == 0 ? float() : Float(small(200) - 100) / 50 } }
}

private let capiModels = [sineJSON, """
{"class_name": "Sequential", "config": {"name": "g", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, null, 3], "name": "in"}},
 {"class_name": "GRU", "config": {"name": "gru", "units": 2, "return_sequences": true}},
 {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "tanh"}}]}}
""", """
{"class_name": "Sequential", "config": {"name": "b", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 5], "name": "in"}},
 {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 7, "output_dim": 2, "mask_zero": true}},
 {"class_name": "Bidirectional", "config": {"name": "bi", "layer": {"class_name": "LSTM", "config": {"name": "l", "units": 2}}}},
 {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}}
"""]

private let scratch: String = {
    var template = Array("/tmp/lstm-fuzz-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return made.map { String(cString: $0) } ?? "/tmp"
}()

private func fuzzCAPI(_ bytes: [UInt8]) {
    var s = Script(bytes: bytes)
    var model: OpaquePointer?
    guard lstm_model_from_json(capiModels[s.small(capiModels.count)], UInt64(s.byte()), &model) == LSTM_OK, let m = model else { return }
    defer { lstm_model_free(m) }
    var state: OpaquePointer?
    defer { if let state { lstm_state_free(state) } }
    _ = lstm_model_compile(m, s.small(2) == 0 ? "{\"optimizer\": \"adam\", \"loss\": \"mse\"}" : "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 1e30}}, \"loss\": \"mae\"}")
    var steps = 0, features = 0
    _ = lstm_model_input_shape(m, &steps, &features)
    while !s.done {
        let batch = 1 + s.small(4), timesteps = steps > 0 && s.small(4) != 0 ? steps : 1 + s.small(6)
        let x = s.floats(batch * timesteps * max(features, 1))
        var outSize = 0
        _ = lstm_model_output_size(m, timesteps, &outSize)
        switch s.small(7) {
        case 0:
            var y = [Float](repeating: 0, count: max(batch * outSize, 1))
            _ = lstm_model_predict(m, x, batch, timesteps, &y, s.small(8) == 0 ? y.count + 1 : batch * outSize)
        case 1:
            if state == nil { _ = lstm_state_new(m, &state) }
            var inSize = 0, stepOut = 0
            _ = lstm_step_sizes(m, &inSize, &stepOut)
            var y = [Float](repeating: 0, count: max(stepOut, 1))
            let xt = s.floats(max(inSize, 1))
            _ = lstm_step(m, state, xt, &y, stepOut)
        case 2:
            let y = s.floats(max(batch * outSize, 1))
            var options = lstm_fit_options()
            lstm_fit_options_init(&options)
            options.epochs = 1 + s.small(2)
            options.batch_size = 1 + s.small(3)
            options.validation_split = Float(s.small(3)) / 4
            var history = [Double](repeating: 0, count: 4)
            var ran = 0
            _ = lstm_model_fit(m, x, y, batch, timesteps, &options, &history, 4, &ran)
        case 3:
            let path = scratch + "/m" + [".keras", ".h5", ".weights.h5"][s.small(3)]
            if lstm_model_save(m, path) == LSTM_OK || lstm_model_save_weights(m, path) == LSTM_OK {
                var other: OpaquePointer?
                if lstm_model_load(path, &other) == LSTM_OK, let other { lstm_model_free(other) }
                _ = lstm_model_load_weights(m, path)
            }
            _ = lstm_model_export_onnx(m, scratch + (s.small(2) == 0 ? "/m.onnx" : "/m.txt"))
        case 4:
            var count = 0
            _ = lstm_model_param_count(m, &count)
            var w = [Float](repeating: 0, count: count + 1)
            _ = lstm_model_get_weights(m, &w, count)
            if s.small(2) == 0 { w[s.small(max(count, 1))] = s.float() }
            _ = lstm_model_set_weights(m, w, s.small(4) == 0 ? count + 1 : count)
        case 5:
            let y = s.floats(max(batch * outSize, 1))
            var loss = 0.0
            _ = lstm_model_evaluate(m, x, y, batch, timesteps, &loss)
        default:
            if let state { _ = lstm_state_reset(state) }
            var len = 0
            var buf = [CChar](repeating: 0, count: 64)
            _ = lstm_model_to_json(m, &buf, buf.count, &len)
        }
    }
}

#if LSTM_FUZZ
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM links an executable's entry point under this name (main is then an alias of it), so
/// the entry point hands over to libFuzzer's driver.
@_cdecl("lstm_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzOne($0, $1) }
}
#else
/// Without libFuzzer (a normal build): runs the files named on the command line through the
/// target once each, so that the committed crash inputs replay as regression tests.
@main
struct Replay {
    static func main() {
        let files = CommandLine.arguments.dropFirst()
        guard !files.isEmpty else {
            fputs("usage: LSTM_FUZZ_TARGET=hdf5|zip|json|load|capi lstm-fuzz FILE...\n", stderr)
            exit(2)
        }
        for path in files {
            guard let bytes = try? FileIO.read(path) else { fputs("cannot read \(path)\n", stderr); exit(1) }
            _ = bytes.withUnsafeBufferPointer { fuzzOne($0.baseAddress, $0.count) }
        }
        print("\(target): \(files.count) inputs ran")
    }
}
#endif
