import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Weights files of Keras before 2.0: Keras 1's layout (layer_names, weight_names) and Keras
/// 0.x's (nb_layers, layer_k/param_m), both keeping a recurrent layer's weights one array per
/// gate in Keras 1's gate order. The files are made here from a model's own weights, split per
/// gate by hand in the old order, so the load must give back exactly those weights. (Real files
/// of both generations are checked against their references by make test-wild.)
final class OldKerasLayoutsTests: XCTestCase {
    /// LSTM (4 gates) -> GRU (3 gates, reset_after false as Keras 1 had it) -> Dropout -> Dense.
    func model() throws -> Model<Float> {
        var gru = GRUSpec(name: "gru", units: 2)
        gru.resetAfter = false
        let spec = ModelSpec(name: "old", timesteps: nil, features: 3, layers: [
            Specs.lstm("lstm", 4) { $0.returnSequences = true }, gru,
            NoiseSpec(name: "dropout", noise: .dropout(rate: 0.5, noiseShape: nil)), Specs.dense("dense", 2)])
        let model = try Model<Float>(spec: spec, seed: 11)
        var rng = TestRandom(12)
        try model.setWeights(model.weights.map { w in rng.uniform(w.count).map(Float.init) })
        return model
    }

    /// Columns [gate·units, (gate+1)·units) of a (rows, gates·units) array (or of a vector).
    func gate(_ w: [Float], shape: [Int], _ g: Int, units: Int) -> (shape: [Int], values: [Float]) {
        let width = shape.last!, rows = w.count / width
        var values: [Float] = []
        for r in 0..<rows {
            let start: Int = r * width + g * units
            values.append(contentsOf: w[start..<(start + units)])
        }
        return (Array(shape.dropLast()) + [units], values)
    }

    /// The arrays Keras 0.x and 1.x stored, per layer with weights: W, U, b per gate, the LSTM's
    /// gates as i, c, f, o (today's kernel holds i, f, c, o), the GRU's as z, r, h.
    func oldArrays(_ m: Model<Float>) -> [[(name: String, shape: [Int], values: [Float])]] {
        func perGate(_ first: Int, gates: [(String, Int)], units: Int) -> [(String, [Int], [Float])] {
            gates.flatMap { name, g in
                ["W", "U", "b"].enumerated().map { k, w in
                    let a = gate(m.weights[first + k], shape: m.weightShapes[first + k], g, units: units)
                    return ("\(w)_\(name)", a.shape, a.values)
                }
            }
        }
        return [perGate(0, gates: [("i", 0), ("c", 2), ("f", 1), ("o", 3)], units: 4),
                perGate(3, gates: [("z", 0), ("r", 1), ("h", 2)], units: 2),
                [("W", m.weightShapes[6], m.weights[6]), ("b", m.weightShapes[7], m.weights[7])]]
    }

    func testKeras1PerGateWeightsLoadIntoTodaysLayers() throws {
        let m = try model()
        let file = H5WriteGroup(file: "keras1.h5")
        let names = ["lstm_1", "gru_1", "dropout_1", "dense_1"]
        try file.writeStringsAttribute("layer_names", names)
        let arrays = oldArrays(m)
        for (k, name) in names.enumerated() {
            let g = try file.createGroup(name)
            let layer = k < 2 ? arrays[k] : k == 3 ? arrays[2] : []
            try g.writeStringsAttribute("weight_names", layer.map { "\(name)_\($0.name):0" })
            for a in layer { try g.writeFloats("\(name)_\(a.name):0", shape: a.shape, values: a.values) }
        }
        let fresh = try model()
        try fresh.setWeights(fresh.weights.map { [Float](repeating: 0, count: $0.count) })
        try KerasFiles.loadWeights(bytes: try file.encodedFile(), name: "keras1.h5", into: fresh)
        XCTAssertEqual(fresh.weights, m.weights)
    }

    func testKeras0LayoutLoadsByLayerAndParamNumber() throws {
        let m = try model()
        let file = H5WriteGroup(file: "keras03.hdf5")
        try file.writeStringAttribute("nb_layers", "4")  // an int32 in real files; only its presence counts
        let arrays = oldArrays(m)
        for (k, layer) in [arrays[0], arrays[1], [], arrays[2]].enumerated() {
            let g = try file.createGroup("layer_\(k)")
            for (p, a) in layer.enumerated() { try g.writeFloats("param_\(p)", shape: a.shape, values: a.values) }
        }
        let bytes = try file.encodedFile()
        let fresh = try model()
        try KerasFiles.loadWeights(bytes: bytes, name: "keras03.hdf5", into: fresh)
        XCTAssertEqual(fresh.weights, m.weights)

        // A gate array of the wrong size is named, and the model keeps its weights.
        let bad = H5WriteGroup(file: "bad.hdf5")
        try bad.writeStringAttribute("nb_layers", "4")
        for (k, layer) in [arrays[0], arrays[1], [], arrays[2]].enumerated() {
            let g = try bad.createGroup("layer_\(k)")
            for (p, a) in layer.enumerated() {
                let shape = k == 0 && p == 4 ? [a.shape[0], a.shape[1] + 1] : a.shape
                try g.writeFloats("param_\(p)", shape: shape, values: k == 0 && p == 4 ? a.values + [Float](repeating: 0, count: a.shape[0]) : a.values)
            }
        }
        let before = fresh.weights
        XCTAssertThrowsError(try KerasFiles.loadWeights(bytes: try bad.encodedFile(), name: "bad.hdf5", into: fresh)) { e in
            XCTAssertTrue("\(e)".contains("layer 'lstm' (file layer 'layer_0'): the gates' U join to shape [4, 17], the model expects [4, 16]"), "\(e)")
        }
        XCTAssertEqual(fresh.weights, before)
        XCTAssertEqual(try KerasFiles.describe(try tempFile(bytes)).format.prefix(17), "Keras 0.x weights")
    }

    /// Keras 2's CuDNNLSTM and CuDNNGRU in a tf-keras full-model file: configs read as the LSTM
    /// and GRU (reset_after=True) they compute, and weights stored as Keras 2 kept them for cuDNN
    /// (each gate's input block in cuDNN's memory order, each recurrent block transposed, an
    /// input and a recurrent bias), made here from known weights by the inverse of Keras 2's
    /// conversion: the load must give those weights back.
    func testCuDNNLayersLoadAsTheLayersTheyCompute() throws {
        let config = """
        {"class_name": "Sequential", "keras_version": "2.1.5", "backend": "tensorflow", "config": [
          {"class_name": "CuDNNLSTM", "config": {"name": "rnn_1", "units": 3, "return_sequences": true, "batch_input_shape": [null, null, 2],
           "kernel_initializer": {"class_name": "VarianceScaling", "config": {}}, "unit_forget_bias": true, "stateful": false}},
          {"class_name": "CuDNNGRU", "config": {"name": "rnn_2", "units": 2, "return_sequences": false}},
          {"class_name": "Dense", "config": {"name": "out", "units": 1, "activation": "linear"}}]}
        """
        let parsed = try KerasConfig.parseModel(config)
        let lstm = try XCTUnwrap(parsed.spec.layers[0] as? LSTMSpec)
        let gru = try XCTUnwrap(parsed.spec.layers[1] as? GRUSpec)
        XCTAssertEqual(lstm.activation, .tanh)
        XCTAssertEqual(lstm.recurrentActivation, .sigmoid)
        XCTAssertTrue(gru.resetAfter && gru.recurrentActivation == .sigmoid)
        let m = try Model<Float>(spec: parsed.spec, seed: 3)
        var rng = TestRandom(9)
        try m.setWeights(m.weights.map { w in rng.uniform(w.count).map(Float.init) })

        /// Keras's (rows, gates·units) array with each gate's (rows, units) block changed by `block`.
        func perGate(_ w: [Float], rows: Int, gates: Int, units: Int, _ block: ([Float]) -> [Float]) -> [Float] {
            var out = w
            for g in 0..<gates {
                var b: [Float] = []
                for r in 0..<rows {
                    let start: Int = r * gates * units + g * units
                    b += w[start..<(start + units)]
                }
                let changed = block(b)
                for r in 0..<rows {
                    for u in 0..<units { out[r * gates * units + g * units + u] = changed[r * units + u] }
                }
            }
            return out
        }
        func transposed(_ b: [Float], rows: Int, cols: Int) -> [Float] {
            (0..<(rows * cols)).map { k in b[(k % rows) * cols + k / rows] }
        }
        func cudnn(_ first: Int, features: Int, units: Int, gates: Int, lstmBias: Bool) -> [(name: String, shape: [Int], values: [Float])] {
            // Today's input block K (features, units) is stored so that read row by row it is K's
            // transpose; the recurrent block is stored transposed.
            let kernel = perGate(m.weights[first], rows: features, gates: gates, units: units) { transposed($0, rows: features, cols: units) }
            let recurrent = perGate(m.weights[first + 1], rows: units, gates: gates, units: units) { transposed($0, rows: units, cols: units) }
            let bias = m.weights[first + 2]
            return [("kernel:0", [features, gates * units], kernel), ("recurrent_kernel:0", [units, gates * units], recurrent),
                    ("bias:0", [2 * gates * units], lstmBias ? bias.map { $0 * 0.5 } + bias.map { $0 * 0.5 } : bias)]
        }
        let layers: [(String, [(name: String, shape: [Int], values: [Float])])] = [
            ("rnn_1", cudnn(0, features: 2, units: 3, gates: 4, lstmBias: true)),
            ("rnn_2", cudnn(3, features: 3, units: 2, gates: 3, lstmBias: false)),
            ("out", [("kernel:0", m.weightShapes[6], m.weights[6]), ("bias:0", m.weightShapes[7], m.weights[7])]),
        ]
        let root = H5WriteGroup(file: "cudnn.h5")
        try root.writeStringAttribute("keras_version", "2.1.5")
        try root.writeStringAttribute("model_config", config)
        let weights = try root.createGroup("model_weights")
        try weights.writeStringsAttribute("layer_names", layers.map(\.0))
        for (name, arrays) in layers {
            let g = try weights.createGroup(name)
            try g.writeStringsAttribute("weight_names", arrays.map { "\(name)/\($0.name)" })
            let sub = try g.createGroup(name)
            for a in arrays { try sub.writeFloats(a.name, shape: a.shape, values: a.values) }
        }
        let back = try KerasFiles.loadModel(bytes: try root.encodedFile(), name: "cudnn.h5")
        XCTAssertEqual(back.weights, m.weights)
        XCTAssertEqual(try KerasConfig.modelJSON(back.spec, compile: nil).serialized().contains("CuDNN"), false, "written back as LSTM and GRU")
        // A CuDNN config asking for another formula is not one cuDNN ran.
        XCTAssertThrowsError(try KerasConfig.parseModel(config.replacingOccurrences(of: #""units": 2,"#, with: #""units": 2, "reset_after": false,"#))) { e in
            XCTAssertTrue("\(e)".contains("layer 'rnn_2' (CuDNNGRU): cuDNN computes tanh"), "\(e)")
        }
    }

    /// A Keras 1 model config, with the keys Keras 1.2.2's get_config writes (output_dim, init,
    /// inner_activation, consume_less, dropout_W, input_dim, W_regularizer, bias, p, ...), reads
    /// as the Keras 2 model Keras 2's legacy interfaces made of it, hard_sigmoid being Keras 2's;
    /// with Keras 1's per-gate weights it runs as that model.
    func testKeras1ConfigsReadAsKeras2ReadThem() throws {
        let keras1 = """
        {"class_name": "Sequential", "keras_version": "1.2.2", "config": [
          {"class_name": "Embedding", "config": {"name": "embedding_1", "input_dim": 20, "output_dim": 4, "init": "uniform",
           "input_length": 6, "W_regularizer": null, "activity_regularizer": null, "W_constraint": null, "mask_zero": false,
           "dropout": 0.0, "trainable": true, "batch_input_shape": [null, 6], "input_dtype": "int32"}},
          {"class_name": "LSTM", "config": {"name": "lstm_1", "output_dim": 3, "init": "glorot_uniform", "inner_init": "orthogonal",
           "forget_bias_init": "one", "activation": "tanh", "inner_activation": "hard_sigmoid", "W_regularizer": null,
           "U_regularizer": null, "b_regularizer": null, "dropout_W": 0.0, "dropout_U": 0.0, "return_sequences": true,
           "go_backwards": false, "stateful": false, "unroll": false, "consume_less": "cpu", "input_dim": 4, "input_length": null,
           "trainable": true}},
          {"class_name": "GRU", "config": {"name": "gru_1", "output_dim": 2, "init": "glorot_uniform", "inner_init": "orthogonal",
           "activation": "tanh", "inner_activation": "hard_sigmoid", "W_regularizer": null, "U_regularizer": null,
           "b_regularizer": null, "dropout_W": 0.0, "dropout_U": 0.0, "return_sequences": false, "go_backwards": false,
           "stateful": false, "unroll": false, "consume_less": "gpu", "input_dim": 3, "input_length": null, "trainable": true}},
          {"class_name": "Dropout", "config": {"name": "dropout_1", "p": 0.5, "trainable": true}},
          {"class_name": "Dense", "config": {"name": "dense_1", "output_dim": 1, "init": "glorot_uniform", "activation": "sigmoid",
           "W_regularizer": null, "b_regularizer": null, "activity_regularizer": null, "W_constraint": null, "b_constraint": null,
           "bias": true, "input_dim": 2, "trainable": true}}]}
        """
        let keras2 = """
        {"class_name": "Sequential", "keras_version": "2.0.2", "config": [
          {"class_name": "Embedding", "config": {"name": "embedding_1", "input_dim": 20, "output_dim": 4, "input_length": 6,
           "batch_input_shape": [null, 6]}},
          {"class_name": "LSTM", "config": {"name": "lstm_1", "units": 3, "recurrent_activation": "hard_sigmoid", "return_sequences": true}},
          {"class_name": "GRU", "config": {"name": "gru_1", "units": 2, "recurrent_activation": "hard_sigmoid", "reset_after": false}},
          {"class_name": "Dropout", "config": {"name": "dropout_1", "rate": 0.5}},
          {"class_name": "Dense", "config": {"name": "dense_1", "units": 1, "activation": "sigmoid"}}]}
        """
        let old = try KerasConfig.parseModel(keras1).spec, new = try KerasConfig.parseModel(keras2).spec
        XCTAssertTrue(old.isSame(as: new), "\(old.layers)\n\(new.layers)")
        XCTAssertEqual((old.layers[1] as? LSTMSpec)?.recurrentActivation, .hardSigmoidKeras2)
        // An Embedding's dropout trained differently: refused by name.
        XCTAssertThrowsError(try KerasConfig.parseModel(keras1.replacingOccurrences(of: #""dropout": 0.0"#, with: #""dropout": 0.2"#))) { e in
            XCTAssertTrue("\(e)".contains("layer 'embedding_1' (Embedding): Keras 1's dropout=0.2"), "\(e)")
        }
    }

    func tempFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "keras03-\(getpid()).hdf5"
        try FileIO.write(bytes, to: path)
        addTeardownBlock { unlink(path) }
        return path
    }
}
