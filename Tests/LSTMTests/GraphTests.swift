import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Functional (graph) models: several inputs and outputs, a shared layer, every merge, against
/// what real Keras 3 and tf-keras computed and wrote (Tests/Fixtures/make_graph_fixtures.py);
/// gradients against finite differences; streaming against predict.
final class GraphTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Fixture {
        let name: String
        let modelJSON: String
        let weightNames: [String]
        let weights: [[Float]]
        let x: [Tensor<Float>], y: [Tensor<Float>]
    }

    static func tensor(_ o: Any?) -> Tensor<Float> {
        let d = o as! [String: Any]
        return Tensor(shape: d["shape"] as! [Int], values: (d["values"] as! [Double]).map(Float.init))
    }

    static func load(_ file: String, folder: String = "graphs") throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("\(folder)/\(file)"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func loadFixtures() throws -> [Fixture] {
        let dir = Self.fixtures.appendingPathComponent("graphs").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".json") && !$0.contains("training") && !$0.contains("stateful") }.sorted()
        XCTAssertEqual(files.count, 20, "10 graphs x (Keras 3, tf-keras)")
        return try files.map { file in
            let d = try Self.load(file)
            return Fixture(name: file, modelJSON: d["model_json"] as! String, weightNames: d["weight_names"] as! [String],
                           weights: (d["weights"] as! [Any]).map { Self.tensor($0).values },
                           x: (d["x"] as! [Any]).map(Self.tensor), y: (d["y"] as! [Any]).map(Self.tensor))
        }
    }

    /// Keras's layer (and so weight) order, its outputs within 1e-5 (float32, other summation order).
    func testKerasGraphsGiveKerasOutputs() throws {
        for f in try loadFixtures() {
            let config = try KerasConfig.parseModel(f.modelJSON)
            XCTAssertFalse(config.spec.isSequential, f.name)
            let model = try Model<Float>(spec: config.spec, seed: 0)
            // Keras 3 names weights layer/cell/kernel, tf-keras layer/cell/kernel:0: the layer and
            // the weight's own name are what must agree, in Keras's order.
            // (and inside a Bidirectional, which half): the cell's own level is left out.
            let kerasNames = f.weightNames.map { n -> String in
                n.split(separator: ":")[0].split(separator: "/").filter { !$0.hasSuffix("_cell") }.joined(separator: "/")
            }
            XCTAssertEqual(model.weightNames, kerasNames, f.name)
            try model.setWeights(f.weights)
            let ys = try run(model, f.x)
            XCTAssertEqual(ys.count, f.y.count, f.name)
            for (k, (y, want)) in zip(ys, f.y).enumerated() {
                XCTAssertEqual(y.shape, want.shape, "\(f.name) output \(k)")
                assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "\(f.name) output \(k)")
            }
        }
    }

    /// The functional JSON we write reads back to the same graph and lists the layers, their
    /// calls and the model's ends as Keras does.
    func testWrittenGraphJSONMatchesKeras() throws {
        for f in try loadFixtures() where f.name.hasPrefix("keras3") {
            let config = try KerasConfig.parseModel(f.modelJSON)
            let written = try KerasConfig.modelJSON(config.spec, compile: nil)
            let again = try KerasConfig.parseModel(written.serialized())
            XCTAssertTrue(again.spec.isSame(as: config.spec), f.name)
            let keras = try JSON.parse(f.modelJSON)
            for key in ["module", "class_name", "registered_name", "build_config"] {
                XCTAssertEqual(written[key], keras[key], "\(f.name) \(key)")
            }
            let ours = written["config"]!, theirs = keras["config"]!
            XCTAssertEqual(ours["input_layers"], theirs["input_layers"], f.name)
            XCTAssertEqual(ours["output_layers"], theirs["output_layers"], f.name)
            let a = ours["layers"]!.arrayValue!, b = theirs["layers"]!.arrayValue!
            XCTAssertEqual(a.map { $0["name"]! }, b.map { $0["name"]! }, "\(f.name): layer order")
            for (l, k) in zip(a, b) {
                let name = l["name"]!.stringValue!
                XCTAssertEqual(l["class_name"], k["class_name"], "\(f.name) \(name)")
                XCTAssertEqual(l["build_config"], k["build_config"], "\(f.name) \(name) build_config")
                // Each call's tensors: the same histories and shapes (kwargs Keras fills with its
                // defaults, training=False and mask=None, are left out by us).
                func calls(_ j: JSON) -> [JSON] {
                    j["inbound_nodes"]!.arrayValue!.map { $0["args"]! }
                }
                XCTAssertEqual(calls(l), calls(k), "\(f.name) \(name) inbound_nodes")
                // Every config key Keras writes, we write with the same value.
                if case .object(let members) = k["config"]! {
                    for (key, value) in members {
                        XCTAssertEqual(l["config"]![key], value, "\(f.name) \(name) config \(key)")
                    }
                }
            }
        }
    }

    /// Gradients through merges, a shared layer, two outputs and a time-axis concatenation,
    /// against central differences in Double (1e-6 relative, as for the Sequential models).
    func testGraphGradientsMatchFiniteDifferences() throws {
        for f in try loadFixtures() where f.name.hasPrefix("keras3") {
            let spec = try KerasConfig.parseModel(f.modelJSON).spec
            let model = try Model<Double>(spec: spec, seed: 3)
            var rng = TestRandom(11)
            try model.randomize(&rng)
            // Keras's first two samples (token ids stay ids).
            let xs = f.x.map { x -> Tensor<Double> in
                let shape = [2] + x.shape.dropFirst()
                return Tensor(shape: shape, values: x.values.prefix(shape.reduce(1, *)).map(Double.init))
            }
            try checkGradients(model, xs, f.name, &rng)
        }
    }

    /// Keras's fit of the two-input, two-output model (shuffle off): every epoch's loss and the
    /// final weights. Float32 on both sides over 4 Adam steps: 1e-5 on the losses, 1e-4 on weights.
    func testGraphFitMatchesKeras() throws {
        let d = try Self.load("keras3_training.json")
        let config = try KerasConfig.parseModel(d["model_json"] as! String)
        let model = try Model<Float>(spec: config.spec, seed: 0)
        try model.setWeights((d["initial_weights"] as! [Any]).map { Self.tensor($0).values })
        try model.compile(CompileSpec(loss: .meanSquaredError,
                                      optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        let xs = (d["x"] as! [Any]).map(Self.tensor), ys = (d["y"] as! [Any]).map(Self.tensor)
        try assertFitMatchesKeras(model, xs, ys, batch: 4, losses: d["epoch_losses"], weights: d["final_weights"])
    }

    /// A graph of any length with a skip connection streams like predict over the prefix.
    func testStreamingAGraphEqualsPredictOfThePrefix() throws {
        let f = try loadFixtures().first { $0.name == "keras3_any_length.json" }!
        let model = try Model<Float>(spec: try KerasConfig.parseModel(f.modelJSON).spec, seed: 0)
        try model.setWeights(f.weights)
        let x = f.x[0], steps = x.shape[1], feat = x.shape[2], width = model.stepOutputSize
        XCTAssertEqual(width, 3)
        let state = try model.makeState()
        for t in 0..<steps {
            var y = [Float](repeating: 0, count: width)
            try Array(x.values[(t * feat)..<((t + 1) * feat)]).withUnsafeBufferPointer { xb in
                try y.withUnsafeMutableBufferPointer { try model.step(state, x: xb, into: $0) }
            }
            // Keras's output for sample 0 at step t.
            let want = Array(f.y[0].values[(t * width)..<((t + 1) * width)])
            assertClose(y, want, absolute: 1e-5, relative: 1e-5, "step \(t)")
        }
        let twoInputs = try KerasConfig.parseModel(try loadFixtures().first { $0.name == "keras3_two_inputs_two_outputs.json" }!.modelJSON).spec
        XCTAssertThrowsError(try Model<Float>(spec: twoInputs, seed: 0).makeState()) { e in
            XCTAssertTrue("\(e)".contains("one input and one output"), "\(e)")
        }
    }

    /// Every Keras file of the two-input model loads and gives Keras's outputs; what we save
    /// (.keras, .h5, .weights.h5, legacy .h5) loads back to the same outputs.
    func testGraphFilesLoadAndRoundTrip() throws {
        for flavor in ["keras3", "keras2"] {
            let f = try loadFixtures().first { $0.name == "\(flavor)_two_inputs_two_outputs.json" }!
            let spec = try KerasConfig.parseModel(f.modelJSON).spec
            func check(_ model: Model<Float>, _ what: String) throws {
                for (k, (y, want)) in zip(try run(model, f.x), f.y).enumerated() {
                    assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "\(what) output \(k)")
                }
            }
            let base = Self.fixtures.appendingPathComponent("files/\(flavor)_graph_two_inputs_two_outputs").path
            for suffix in flavor == "keras3" ? [".keras", ".h5"] : [".h5"] {
                try check(try KerasFiles.loadModel(base + suffix), "\(flavor) load_model \(suffix)")
            }
            for suffix in flavor == "keras3" ? [".weights.h5", ".keras", ".h5"] : [".weights.h5", "_legacy.h5", ".h5"] {
                let model = try Model<Float>(spec: spec, seed: 1)
                try KerasFiles.loadWeights(base + suffix, into: model)
                try check(model, "\(flavor) load_weights \(suffix)")
            }
        }
        // GRU (both bias layouts) and SimpleRNN, from each Keras's whole-model file.
        // Embedding and Bidirectional likewise.
        for (flavor, suffix) in [("keras3", ".keras"), ("keras2", ".h5")] {
            for graph in ["recurrent_layers", "text_classifier"] {
                let f = try loadFixtures().first { $0.name == "\(flavor)_\(graph).json" }!
                let model = try KerasFiles.loadModel(Self.fixtures.appendingPathComponent("files/\(flavor)_graph_\(graph)\(suffix)").path)
                assertClose(try run(model, f.x)[0].values, f.y[0].values, absolute: 1e-5, relative: 1e-5, "\(flavor) \(graph) file")
            }
        }
        for name in ["keras3_shared_and_merges.json", "keras3_seq2seq.json", "keras3_recurrent_layers.json",
                     "keras3_text_classifier.json", "keras3_bidirectional_modes.json"] {
            try roundTrip(try loadFixtures().first { $0.name == name }!)
        }
    }

    /// What we save (.keras, .h5, .weights.h5, legacy .h5) loads back to the same model.
    func roundTrip(_ f: Fixture) throws {
        let model = try Model<Float>(spec: try KerasConfig.parseModel(f.modelJSON).spec, seed: 0)
        try model.setWeights(f.weights)
        let dir = NSTemporaryDirectory() + "graph-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["m.keras", "m.h5"] {
            try KerasFiles.saveModel(model, to: "\(dir)/\(name)")
            let back = try KerasFiles.loadModel("\(dir)/\(name)")
            XCTAssertTrue(back.spec.isSame(as: model.spec), "\(f.name) \(name)")
            XCTAssertEqual(back.weights, model.weights, "\(f.name) \(name)")
        }
        for name in ["w.weights.h5", "w.h5"] {
            try KerasFiles.saveWeights(model, to: "\(dir)/\(name)")
            let other = try Model<Float>(spec: model.spec, seed: 9)
            try KerasFiles.loadWeights("\(dir)/\(name)", into: other)
            XCTAssertEqual(other.weights, model.weights, "\(f.name) \(name)")
        }
    }

    /// GRU (both bias layouts) and SimpleRNN, with return_state, stream like predict over the
    /// prefix (float32 both ways, other summation order: 1e-5).
    func testRecurrentLayersStreamLikePredict() throws {
        var gru = GRUSpec(name: "gru", units: 4)
        gru.recurrent.returnSequences = true
        var gru2 = GRUSpec(name: "gru_1", units: 3)
        gru2.resetAfter = false
        gru2.recurrent.returnSequences = true
        var rnn = SimpleRNNSpec(name: "rnn", units: 3)
        rnn.recurrent.returnState = true
        let spec = ModelSpec(name: "m", inputs: [.init(name: "x", shape: [nil, 2])],
                             // The SimpleRNN's output and its returned state, added: both must stream.
                             layers: [gru, gru2, rnn, MergeSpec(name: "add", operation: .add)],
                             nodes: [.init(layer: 0, inputs: [.input(0)]), .init(layer: 1, inputs: [.node(0, output: 0)]),
                                     .init(layer: 2, inputs: [.node(1, output: 0)]),
                                     .init(layer: 3, inputs: [.node(2, output: 0), .node(2, output: 1)])],
                             outputs: [.node(3, output: 0)])
        let model = try Model<Float>(spec: spec, seed: 2)
        var rng = TestRandom(4)
        try model.randomize(&rng)
        let steps = 6
        let x = rng.uniform(steps * 2, -1.5, 1.5).map(Float.init)
        let state = try model.makeState()
        XCTAssertEqual(model.stepOutputSize, 3)
        for t in 1...steps {
            var y = [Float](repeating: 0, count: model.stepOutputSize)
            try Array(x[((t - 1) * 2)..<(t * 2)]).withUnsafeBufferPointer { xb in
                try y.withUnsafeMutableBufferPointer { try model.step(state, x: xb, into: $0) }
            }
            let full = try Array(x[..<(t * 2)]).withUnsafeBufferPointer { try model.run([TensorView(shape: [1, t, 2], data: $0)]) }
            assertClose(y, full[0].values, absolute: 1e-5, relative: 1e-5, "step \(t)")
        }
    }

    /// A padded batch gives each sequence's own result: every sample with its padding cut off
    /// and run alone (the inputs' lengths opened) matches its row of the padded batch (1e-6:
    /// the same float32 math on fewer steps). Covers mask_zero and Masking through
    /// Bidirectional LSTM, a backwards GRU, LSTM and SimpleRNN.
    func testPaddedBatchEqualsEachSequenceAlone() throws {
        let f = try loadFixtures().first { $0.name == "keras3_masked_classifier.json" }!
        let open = f.modelJSON.replacingOccurrences(of: "\"batch_shape\": [null, 7]", with: "\"batch_shape\": [null, null]")
            .replacingOccurrences(of: "\"batch_shape\": [null, 6, 2]", with: "\"batch_shape\": [null, null, 2]")
        XCTAssertNotEqual(open, f.modelJSON)
        let model = try Model<Float>(spec: try KerasConfig.parseModel(open).spec, seed: 0)
        try model.setWeights(f.weights)
        let padded = try run(model, f.x)
        let tokens = f.x[0], series = f.x[1]
        for b in 0..<tokens.shape[0] {
            let ids = Array(tokens.values[(b * 7)..<((b + 1) * 7)])
            let real = ids.filter { $0 != 0 }
            var steps: [Float] = []
            for t in 0..<6 {
                let step = Array(series.values[((b * 6 + t) * 2)..<((b * 6 + t + 1) * 2)])
                if step.contains(where: { $0 != 0 }) { steps += step }
            }
            let alone = try run(model, [Tensor(shape: [1, real.count], values: real), Tensor(shape: [1, steps.count / 2, 2], values: steps)])
            for k in 0..<2 {
                let per = padded[k].perSample
                assertClose(alone[k].values, Array(padded[k].values[(b * per)..<((b + 1) * per)]), absolute: 1e-6, relative: 1e-6,
                            "sample \(b) output \(k) (\(7 - real.count) ids of padding)")
            }
        }
    }

    /// A loss on outputs that carry a mask leaves the padded steps out as Keras does (the mean
    /// over the real steps): Keras's evaluate, and its fit (shuffle off, 2 epochs of batches of 2):
    /// the epoch losses (1e-5) and the final weights (1e-4, float32 over 4 Adam steps).
    func testMaskedLossAndTrainingMatchKeras() throws {
        let d = try Self.load("keras3_masked_training.json")
        let model = try Model<Float>(spec: try KerasConfig.parseModel(d["model_json"] as! String).spec, seed: 0)
        try model.setWeights((d["initial_weights"] as! [Any]).map { Self.tensor($0).values })
        try model.compile(CompileSpec(loss: .meanSquaredError,
                                      optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        let xs = (d["x"] as! [Any]).map(Self.tensor), ys = (d["y"] as! [Any]).map(Self.tensor)
        let evaluated = try withViews(xs) { xv in try withViews(ys) { yv in try model.evaluate(xv, targets: yv, batchSize: 4) } }
        assertClose([evaluated], [d["evaluate"] as! Double], absolute: 1e-6, relative: 1e-5, "evaluate")
        try assertFitMatchesKeras(model, xs, ys, batch: 2, losses: d["epoch_losses"], weights: d["final_weights"])
        XCTAssertThrowsError(try model.makeState())
    }

    /// An explicit mask input (GRU(x, mask=m), m a model input): whatever the masked steps hold
    /// changes nothing, and a step masked out gives what the sequence without it gives.
    func testAnExplicitMaskInputHidesItsSteps() throws {
        let json = #"{"class_name": "Functional", "config": {"name": "g", "layers": ["#
            + #"{"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, null, 2], "name": "x"}, "inbound_nodes": []}, "#
            + #"{"class_name": "InputLayer", "name": "m", "config": {"batch_shape": [null, null], "name": "m", "dtype": "bool"}, "inbound_nodes": []}, "#
            + #"{"class_name": "GRU", "name": "gru", "config": {"name": "gru", "units": 3}, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}], "#
            + #""kwargs": {"mask": {"class_name": "__keras_tensor__", "config": {"keras_history": ["m", 0, 0]}}}}]}], "#
            + #""input_layers": [["x", 0, 0], ["m", 0, 0]], "output_layers": ["gru", 0, 0]}}"#
        let model = try Model<Float>(spec: try KerasConfig.parseModel(json).spec, seed: 3)
        var rng = TestRandom(9)
        try model.randomize(&rng)
        var x = rng.uniform(10, -1, 1).map(Float.init)  // one sample of 5 steps
        let mask: [Float] = [1, 0, 1, 1, 0]
        let y = try run(model, [Tensor(shape: [1, 5, 2], values: x), Tensor(shape: [1, 5], values: mask)])[0]
        x[2] = 99; x[3] = -42; x[8] = 7  // garbage in the masked steps 1 and 4
        let again = try run(model, [Tensor(shape: [1, 5, 2], values: x), Tensor(shape: [1, 5], values: mask)])[0]
        XCTAssertEqual(y.values, again.values)
        let real = [0, 2, 3].flatMap { t in [x[2 * t], x[2 * t + 1]] }
        let alone = try run(model, [Tensor(shape: [1, 3, 2], values: real), Tensor(shape: [1, 3], values: [1, 1, 1])])[0]
        assertClose(y.values, alone.values, absolute: 1e-6, relative: 1e-6, "masked steps left out")
    }

    /// Token ids that are not whole numbers in range are refused with their position; the
    /// streaming step refuses them too.
    func testEmbeddingRefusesBadTokenIds() throws {
        let f = try loadFixtures().first { $0.name == "keras3_text_classifier.json" }!
        let model = try Model<Float>(spec: try KerasConfig.parseModel(f.modelJSON).spec, seed: 0)
        for (bad, value) in [(3.5, "3.5"), (12, "12.0"), (-1, "-1.0")] {
            var x = f.x[0]
            x.values[7] = Float(bad)
            XCTAssertThrowsError(try run(model, [x])) { e in
                guard case .invalidArgument(let m) = e as! LSTMError else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains("x[7] (sample 1, timestep 1) is \(value)") && m.contains("0 to 11"), m)
            }
        }
        let free = try Model<Float>(spec: try KerasConfig.parseModel(f.modelJSON.replacingOccurrences(of: "[null, 6]", with: "[null, null]")).spec, seed: 0)
        XCTAssertThrowsError(try free.makeState(), "Bidirectional does not stream")
    }

    /// Stateful LSTM, GRU and SimpleRNN carry their state from one call to the next as Keras's
    /// do (1e-5), reset to zeros; and running A then B equals one run over A and B joined in
    /// time by the same layers without state (an independent check of the carry).
    func testStatefulLayersCarryStateLikeKeras() throws {
        let d = try Self.load("keras3_stateful.json")
        let json = d["model_json"] as! String
        let model = try Model<Float>(spec: try KerasConfig.parseModel(json).spec, seed: 0)
        let weights = (d["weights"] as! [Any]).map { Self.tensor($0).values }
        try model.setWeights(weights)
        let xa = Self.tensor(d["x_a"]), xb = Self.tensor(d["x_b"])
        func expect(_ key: String) -> [Tensor<Float>] { (d[key] as! [Any]).map(Self.tensor) }
        let state = try model.makeBatchState(batch: 2)
        func step(_ x: Tensor<Float>) throws -> [Tensor<Float>] {
            try x.values.withUnsafeBufferPointer { try model.run([TensorView(shape: x.shape, data: $0)], state: state) }
        }
        for (name, x, key) in [("A", xa, "y_a"), ("B after A", xb, "y_b_after_a")] {
            for (k, (y, want)) in zip(try step(x), expect(key)).enumerated() {
                assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "\(name) output \(k)")
            }
        }
        state.reset()
        for (k, (y, want)) in zip(try step(xb), expect("y_b_fresh")).enumerated() {
            assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "B after reset, output \(k)")
        }
        // The same layers without state, on A and B joined along time.
        let stateless = try Model<Float>(spec: try KerasConfig.parseModel(json.replacingOccurrences(of: "\"stateful\": true", with: "\"stateful\": false")
            .replacingOccurrences(of: "\"batch_shape\": [2, 3, 2]", with: "\"batch_shape\": [null, null, 2]")).spec, seed: 0)
        try stateless.setWeights(weights)
        var joined = [Float]()
        for r in 0..<2 {
            let a: ArraySlice<Float> = xa.values[(r * 6)..<((r + 1) * 6)]
            let b: ArraySlice<Float> = xb.values[(r * 6)..<((r + 1) * 6)]
            joined.append(contentsOf: a)
            joined.append(contentsOf: b)
        }
        let whole = try run(stateless, [Tensor(shape: [2, 6, 2], values: joined)])
        for (k, (y, want)) in zip(whole, expect("y_b_after_a")).enumerated() {
            assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "A and B joined, output \(k)")
        }
        // Calls whose answer would depend on how the data is split are refused by name.
        XCTAssertThrowsError(try run(model, [xa])) { e in XCTAssertTrue("\(e)".contains("stateful"), "\(e)") }
        XCTAssertThrowsError(try model.makeBatchState(batch: 3)) { e in XCTAssertTrue("\(e)".contains("batch size 2"), "\(e)") }
        XCTAssertThrowsError(try model.makeState())
        XCTAssertThrowsError(try stateless.makeBatchState(batch: 2))
        // Keras's fit of it: the states carried from batch to batch and epoch to epoch.
        try model.setWeights((d["fit_initial_weights"] as! [Any]).map { Self.tensor($0).values })
        try model.compile(CompileSpec(loss: .meanSquaredError,
                                      optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        let fitState = try model.makeBatchState(batch: 2)
        let fx = [Self.tensor(d["fit_x"])], fy = (d["fit_y"] as! [Any]).map(Self.tensor)
        try assertFitMatchesKeras(model, fx, fy, batch: 2, losses: d["fit_epoch_losses"], weights: d["fit_final_weights"],
                                  stateful: .init(state: fitState))
        var options = FitOptions()
        options.batchSize = 4
        XCTAssertThrowsError(try withViews(fx) { xv in try withViews(fy) { yv in
            try model.fit(xv, targets: yv, options: options, stateful: .init(state: fitState)) { _ in false } } })
        XCTAssertThrowsError(try withViews(fx) { xv in try withViews(fy) { yv in
            try model.fit(xv, targets: yv, options: options) { _ in false } } })
        // The batch size and the stateful flags survive a round trip through Keras JSON.
        let again = try KerasConfig.parseModel(try KerasConfig.modelJSON(model.spec, compile: nil).serialized())
        XCTAssertTrue(again.spec.isSame(as: model.spec))
        XCTAssertEqual(again.spec.inputs[0].batchSize, 2)
    }

    /// Broken graphs fail with the thing that is wrong named.
    func testBrokenGraphsAreRefusedByName() throws {
        func error(_ text: String) -> LSTMError? {
            do {
                _ = try Model<Float>(spec: try KerasConfig.parseModel(text).spec, seed: 0)
                return nil
            } catch { return error as? LSTMError }
        }
        func graph(_ layers: String, inputs: String = #"["x", 0, 0]"#, outputs: String = #"["d", 0, 0]"#) -> String {
            #"{"class_name": "Functional", "config": {"name": "g", "layers": [{"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 4, 2], "name": "x"}, "inbound_nodes": []}, "#
                + layers + #"], "input_layers": "# + inputs + #", "output_layers": "# + outputs + "}}"
        }
        func call(_ name: String, _ cls: String, _ config: String, _ args: String, kwargs: String = "{}") -> String {
            #"{"class_name": ""# + cls + #"", "name": ""# + name + #"", "config": {"name": ""# + name + #"""# + config
                + #"}, "inbound_nodes": [{"args": ["# + args + #"], "kwargs": "# + kwargs + "}]}"
        }
        func t(_ layer: String, _ node: Int = 0) -> String {
            #"{"class_name": "__keras_tensor__", "config": {"keras_history": [""# + layer + #"", \#(node), 0]}}"#
        }
        XCTAssertNil(error(graph(call("d", "Dense", #", "units": 3"#, t("x")))))
        guard case .format(let m1)? = error(graph(call("d", "Dense", #", "units": 3"#, t("nowhere")))), m1.contains("nowhere") else {
            return XCTFail("unknown inbound layer")
        }
        guard case .format(let m2)? = error(graph(call("d", "Dense", #", "units": 3"#, t("x", 1)))), m2.contains("x[1][0]") else {
            return XCTFail("unknown call of the input")
        }
        guard case .shapeMismatch(let m3)? = error(graph(call("d", "LSTM", #", "units": 3"#, t("x"),
                                                               kwargs: #"{"mask": "# + t("x") + "}"))), m3.contains("mask") else {
            return XCTFail("a mask of the wrong shape")
        }
        guard case .unsupported(let m9)? = error(graph(call("d", "LSTM", #", "units": 3"#, t("x"),
                                                               kwargs: #"{"constants": [1]}"#))), m9.contains("constants") else {
            return XCTFail("call argument")
        }
        guard case .shapeMismatch(let m8)? = error(graph(call("d", "GRU", #", "units": 3"#, t("x"),
                                                               kwargs: #"{"initial_state": "# + t("x") + "}"))), m8.contains("initial state") else {
            return XCTFail("initial state of the wrong shape")
        }
        let add = call("d", "Add", "", "[" + t("x") + ", " + t("e") + "]")
        let e = call("e", "Dense", #", "units": 3"#, t("x"))
        guard case .shapeMismatch(let m4)? = error(graph(e + ", " + add)), m4.contains("same shape") else {
            return XCTFail("merge of different shapes")
        }
        guard case .unsupported? = error(graph(e + ", " + add.replacingOccurrences(of: "\"Add\"", with: "\"Dot\""))) else {
            return XCTFail("Dot is not implemented")
        }
        guard case .format? = error(graph(call("d", "Dense", #", "units": 3"#, t("d")))) else { return XCTFail("cycle") }
        guard case .format? = error(graph(call("d", "Dense", #", "units": 3"#, t("x")), outputs: #"["zzz", 0, 0]"#)) else {
            return XCTFail("unknown output")
        }
    }
}

/// Runs body with borrowed views of every tensor.
func withViews<T: Scalar, R>(_ tensors: [Tensor<T>], _ body: ([TensorView<T>]) throws -> R) throws -> R {
    func nest(_ k: Int, _ views: [TensorView<T>]) throws -> R {
        if k == tensors.count { return try body(views) }
        return try tensors[k].values.withUnsafeBufferPointer { try nest(k + 1, views + [TensorView(shape: tensors[k].shape, data: $0)]) }
    }
    return try nest(0, [])
}
