#if canImport(Glibc)
import Glibc
#endif
import LSTMCore
import CLSTMABI
import LSTMKeras
import LSTMONNX

// lstm: inspect, convert and run Keras LSTM models from the command line.

let usage = """
usage: lstm info FILE                      the model in a Keras file: layers, shapes, parameters, who wrote it
       lstm convert IN OUT                 convert between .keras, .h5 (full model) and .weights.h5, by suffix
       lstm export IN OUT.onnx             the model's inference graph as an ONNX file (opset 17)
       lstm predict FILE IN.npy... OUT.npy run a model on numpy arrays (batch, timesteps, features), one per input
options: --outputs NAME[,NAME...]          the part of the graph computing these layers' outputs ("name:k" for
                                           output k), for a file whose graph holds a layer that cannot run here
"""

func fail(_ message: String, code: Int32 = 1) -> Never {
    fputs("lstm: \(message)\n", stderr)
    exit(code)
}

/// What a load noted although it succeeded (a file read by its content), on stderr.
func printNote(_ note: String) { fputs("lstm: note: \(note)\n", stderr) }

func shapeText(_ dims: [Int?]) -> String {
    "(" + dims.map { $0.map(String.init) ?? "None" }.joined(separator: ", ") + ")"
}

func info(_ path: String) throws {
    let file = try KerasFiles.describe(path)
    print("file:    \(path)")
    print("format:  \(file.format)")
    print("written: \(file.writer)")
    guard file.isModel else {
        print("weights: \(file.weightCount) arrays (a weights-only file: load it into a model with load_weights)")
        return
    }
    let model = try KerasFiles.loadModel(path, outputs: wantedOutputs, note: printNote)
    let spec = model.spec
    let inputs = spec.inputs.map { "\($0.name) \(shapeText([nil] + $0.shape))" }.joined(separator: ", ")
    print("model:   \(spec.name) (\(spec.isSequential ? "Sequential" : "functional")), input\(spec.inputs.count == 1 ? "" : "s") \(inputs)")
    print("")
    let rows = try KerasDescription.layerRows(model)
    let w0 = max(14, rows.map(\.layer.count).max() ?? 0), w1 = max(14, rows.map(\.shape.count).max() ?? 0)
    let w3 = spec.isSequential ? 0 : max(14, rows.map(\.connectedTo.count).max() ?? 0)
    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
    let connected = spec.isSequential ? "" : "\(pad("Connected to", w3))  "
    print("\(pad("Layer (type)", w0))  \(pad("Output Shape", w1))  \(pad("Param #", 9))  \(connected)Options")
    for r in rows {
        let c = spec.isSequential ? "" : "\(pad(r.connectedTo, w3))  "
        print("\(pad(r.layer, w0))  \(pad(r.shape, w1))  \(pad(String(r.parameters), 9))  \(c)\(r.options)")
    }
    if !spec.isSequential {
        print("outputs: " + spec.outputs.map { KerasDescription.tensorName($0, in: spec) }.joined(separator: ", "))
    }
    print("")
    print("total params: \(model.parameterCount) (trainable: \(model.trainableParameterCount), non-trainable: \(model.parameterCount - model.trainableParameterCount))")
    if let c = model.compileSpec {
        let opt = KerasDescription.optimizer(c.optimizer)
        print("compiled: loss=\(c.loss.name) optimizer=\(opt), \(model.optimizerIterations) updates so far")
    } else {
        print("compiled: no")
    }
}

func convert(_ input: String, _ output: String) throws {
    let model = try KerasFiles.loadModel(input, outputs: wantedOutputs, note: printNote)
    if output.lowercased().hasSuffix(".weights.h5") {
        try KerasFiles.saveWeights(model, to: output)
    } else {
        try KerasFiles.saveModel(model, to: output)
    }
    print("wrote \(output)")
}

func export(_ input: String, _ output: String) throws {
    let model = try KerasFiles.loadModel(input, outputs: wantedOutputs, note: printNote)
    try ONNXExport.save(model, to: output, producerVersion: "\(LSTM_VERSION_MAJOR).\(LSTM_VERSION_MINOR).\(LSTM_VERSION_PATCH)")
    print("wrote \(output)")
}

/// Runs the model on one .npy per input (a 2-D array for a sequence input of one feature gets
/// its feature axis added) and writes one .npy per output (OUT.npy, or OUT_0.npy, OUT_1.npy, ...).
func predict(_ path: String, _ inputPaths: [String], _ output: String) throws {
    let model = try KerasFiles.loadModel(path, outputs: wantedOutputs, note: printNote)
    let spec = model.spec
    guard inputPaths.count == spec.inputs.count else {
        throw LSTMError.invalidArgument("model '\(spec.name)' has \(spec.inputs.count) inputs (\(spec.inputs.map(\.name).joined(separator: ", "))): give one .npy for each, got \(inputPaths.count)")
    }
    var arrays: [(shape: [Int], values: [Float])] = []
    for (input, file) in zip(spec.inputs, inputPaths) {
        var (shape, x) = try Npy.read(file)
        if shape.count == input.shape.count, input.shape.last == 1 { shape.append(1) }
        arrays.append((shape, x))
    }
    func run(_ k: Int, _ views: [TensorView<Float>]) throws -> [Tensor<Float>] {
        if k == arrays.count { return try model.run(views) }
        return try arrays[k].values.withUnsafeBufferPointer { try run(k + 1, views + [TensorView(shape: arrays[k].shape, data: $0)]) }
    }
    let outputs = try run(0, [])
    let stem = output.hasSuffix(".npy") ? String(output.dropLast(4)) : output
    for (k, y) in outputs.enumerated() {
        let file = outputs.count == 1 ? output : "\(stem)_\(k).npy"
        try Npy.write(file, shape: y.shape, values: y.values)
        print("wrote \(file): shape \(shapeText(y.shape))")
    }
}

var args = Array(CommandLine.arguments.dropFirst())
/// --outputs a,b: the layers whose outputs the loaded model computes (see KerasFiles.loadModel).
var wantedOutputs: [String]? = nil
if let k = args.firstIndex(of: "--outputs") {
    guard k + 1 < args.count else { fail("--outputs needs a comma-separated list of layer names\n" + usage, code: 2) }
    wantedOutputs = args[k + 1].split(separator: ",").map(String.init)
    args.removeSubrange(k...(k + 1))
}
do {
    switch (args.first, args.count) {
    case ("info", 2): try info(args[1])
    case ("convert", 3): try convert(args[1], args[2])
    case ("export", 3): try export(args[1], args[2])
    case ("predict", 4...): try predict(args[1], Array(args[2..<(args.count - 1)]), args[args.count - 1])
    case ("-h", _), ("--help", _), ("help", _): print(usage)
    default: fail("bad arguments\n" + usage, code: 2)
    }
} catch let e as LSTMError {
    fail(e.message)
} catch {
    fail("\(error)")
}
