#if canImport(Glibc)
import Glibc
#endif
import LSTMCore
import LSTMKeras

// lstm: inspect, convert and run Keras LSTM models from the command line.

let usage = """
usage: lstm info FILE                      the model in a Keras file: layers, shapes, parameters, who wrote it
       lstm convert IN OUT                 convert between .keras, .h5 (full model) and .weights.h5, by suffix
       lstm predict FILE INPUT.npy OUT.npy run a model on a numpy array (batch, timesteps, features)
"""

func fail(_ message: String, code: Int32 = 1) -> Never {
    fputs("lstm: \(message)\n", stderr)
    exit(code)
}

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
    let model = try KerasFiles.loadModel(path)
    let spec = model.spec
    print("model:   \(spec.name), input \(shapeText([nil, spec.timesteps, spec.features]))")
    print("")
    let ranges = model.layerWeightRanges
    var rows: [(String, String, String, String)] = []
    var time = true, width = spec.features
    for (li, layer) in spec.layers.enumerated() {
        var details: String
        switch layer {
        case .lstm(let s):
            time = s.returnSequences
            details = "units=\(s.units) activation=\(s.activation.kerasName) recurrent_activation=\(s.recurrentActivation.kerasName)"
                + (s.recurrentActivation == .hardSigmoidKeras2 ? " (Keras 2: 0.2x+0.5)" : "")
                + (s.returnSequences ? " return_sequences" : "") + (s.goBackwards ? " go_backwards" : "")
                + (s.useBias ? "" : " use_bias=False")
            width = s.units
        case .dense(let s):
            details = "units=\(s.units) activation=\(s.activation.kerasName)" + (s.useBias ? "" : " use_bias=False")
            width = s.units
        }
        let params = ranges[li].reduce(0) { $0 + model.weights[$1].count }
        let cls = { if case .lstm = layer { return "LSTM" } else { return "Dense" } }()
        rows.append(("\(layer.name) (\(cls))", shapeText(time ? [nil, spec.timesteps, width] : [nil, width]), String(params), details))
    }
    let w0 = max(14, rows.map(\.0.count).max() ?? 0), w1 = max(14, rows.map(\.1.count).max() ?? 0)
    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
    print("\(pad("Layer (type)", w0))  \(pad("Output Shape", w1))  \(pad("Param #", 9))  Options")
    for r in rows { print("\(pad(r.0, w0))  \(pad(r.1, w1))  \(pad(r.2, 9))  \(r.3)") }
    print("")
    print("total params: \(model.parameterCount)")
    if let c = model.compileSpec {
        let opt: String
        switch c.optimizer {
        case let .adam(lr, b1, b2, eps): opt = "Adam(learning_rate=\(lr), beta_1=\(b1), beta_2=\(b2), epsilon=\(eps))"
        case let .sgd(lr, m, n): opt = "SGD(learning_rate=\(lr), momentum=\(m), nesterov=\(n))"
        }
        print("compiled: loss=\(c.loss.rawValue) optimizer=\(opt), \(model.optimizerIterations) updates so far")
    } else {
        print("compiled: no")
    }
}

func convert(_ input: String, _ output: String) throws {
    let model = try KerasFiles.loadModel(input)
    if output.hasSuffix(".weights.h5") {
        try KerasFiles.saveWeights(model, to: output)
    } else {
        try KerasFiles.saveModel(model, to: output)
    }
    print("wrote \(output)")
}

func predict(_ path: String, _ input: String, _ output: String) throws {
    let model = try KerasFiles.loadModel(path)
    var (shape, x) = try Npy.read(input)
    if shape.count == 2, model.spec.features == 1 { shape.append(1) }
    guard shape.count == 3 else {
        throw LSTMError.shapeMismatch("'\(input)' has shape \(shapeText(shape)); expected (batch, timesteps, features)")
    }
    let per = try model.outputSize(timesteps: shape[1])
    var y = [Float](repeating: 0, count: shape[0] * per)
    try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: shape[0], timesteps: shape[1], into: $0) }
    }
    let outShape = model.outputHasTime ? [shape[0], shape[1], model.outputFeatures] : [shape[0], model.outputFeatures]
    try Npy.write(output, shape: outShape, values: y)
    print("wrote \(output): shape \(shapeText(outShape))")
}

let args = Array(CommandLine.arguments.dropFirst())
do {
    switch (args.first, args.count) {
    case ("info", 2): try info(args[1])
    case ("convert", 3): try convert(args[1], args[2])
    case ("predict", 4): try predict(args[1], args[2], args[3])
    case ("-h", _), ("--help", _), ("help", _): print(usage)
    default: fail("bad arguments\n" + usage, code: 2)
    }
} catch let e as LSTMError {
    fail(e.message)
} catch {
    fail("\(error)")
}
