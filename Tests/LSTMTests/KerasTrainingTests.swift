import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Keras 3's optimizers, schedules and regularizers against real Keras
/// (Tests/Fixtures/make_training_fixtures.py): the same fit and evaluate, the same optimizer
/// variables in Keras's order, and training that resumes exactly from a saved file.
final class KerasTrainingTests: XCTestCase {
    struct Entry {
        let name: String
        let model: Model<Float>
        let fixture: [String: Any]
        var x: Tensor<Float> { GraphTests.tensor(fixture["x"]) }
        var y: Tensor<Float> { GraphTests.tensor(fixture["y"]) }
    }

    /// Each fixture's model, with its initial weights, compiled from Keras's own compile config.
    func entries() throws -> [Entry] {
        let d = try GraphTests.load("keras3_optimizers.json", folder: "training")
        return try (d["entries"] as! [[String: Any]]).map { e in
            let config = try KerasConfig.parseModel(e["model_json"] as! String)
            let model = try Model<Float>(spec: config.spec, seed: 0)
            try model.setWeights((e["initial_weights"] as! [Any]).map { GraphTests.tensor($0).values })
            let compile = try JSONSerialization.data(withJSONObject: e["compile_config"]!)
            var spec = try KerasConfig.parseCompile(String(decoding: compile, as: UTF8.self))
            // Keras 3's Huber.get_config leaves its delta out; the fixture states it apart.
            if let delta = e["huber_delta"] as? Double { spec.loss = .huber(delta: delta) }
            try model.compile(spec)
            return Entry(name: e["name"] as! String, model: model, fixture: e)
        }
    }

    /// Every epoch's loss (1e-5), the final weights (1e-4) and every optimizer variable in
    /// Keras's order (1e-4 of its magnitude: a few float32 steps apart).
    func testEveryOptimizerTrainsAsKeras() throws {
        for e in try entries() {
            try assertFitMatchesKeras(e.model, [e.x], [e.y], batch: 4, losses: e.fixture["epoch_losses"],
                                      weights: e.fixture["final_weights"])
            let evaluated = try withViews([e.x]) { xv in try withViews([e.y]) { try e.model.evaluate(xv, targets: $0, batchSize: 4) } }
            assertClose([evaluated], [e.fixture["evaluate_loss"] as! Double], absolute: 1e-6, relative: 1e-5, "\(e.name): evaluate")
            let state = try XCTUnwrap(e.model.optimizerSlots)
            XCTAssertEqual(state.iterations, e.fixture["iterations"] as! Int, e.name)
            let want = (e.fixture["optimizer_variables"] as! [Any]).map(GraphTests.tensor)
            let paths = e.fixture["optimizer_variable_paths"] as! [String]
            XCTAssertEqual(state.slots.count, want.count, "\(e.name): optimizer variables \(paths)")
            XCTAssertEqual(e.model.optimizerSlotShapes, want.map(\.shape), "\(e.name): shapes in Keras's order \(paths)")
            var slotDiff = 0.0
            for (k, (got, w)) in zip(state.slots, want).enumerated() {
                let scale = Double(w.values.map { abs($0) }.max() ?? 0)
                assertClose(got, w.values, absolute: 1e-4 * max(scale, 1e-3), relative: 1e-3, "\(e.name): \(paths[k])")
                for (a, b) in zip(got, w.values) { slotDiff = max(slotDiff, Double(abs(a - b)) / max(scale, 1e-3)) }
            }
            let finalWeights = (e.fixture["final_weights"] as! [Any]).map { GraphTests.tensor($0).values }
            let weightDiff = zip(e.model.weights, finalWeights).map { zip($0, $1).map { Double(abs($0 - $1)) }.max() ?? 0 }.max() ?? 0
            print(String(format: "keras parity %@: evaluate |diff| %.1e, final weights max |diff| %.1e, optimizer variables max |diff|/scale %.1e",
                         e.name, abs(evaluated - (e.fixture["evaluate_loss"] as! Double)), weightDiff, slotDiff))
        }
    }

    /// One epoch, a save to .keras, a load and a second epoch give the two-epoch run's weights
    /// and optimizer state: the state (Nadam's u_product included) round-trips in Keras's layout,
    /// through .keras and .weights.h5 alike.
    func testTrainingResumesExactlyFromASavedFile() throws {
        let dir = NSTemporaryDirectory() + "optimizers-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = FitOptions()
        options.batchSize = 4
        options.shuffle = false
        func fit(_ m: Model<Float>, _ e: Entry, epochs: Int) throws {
            var o = options
            o.epochs = epochs
            _ = try withViews([e.x]) { xv in try withViews([e.y]) { try m.fit(xv, targets: $0, options: o) { _ in false } } }
        }
        // With use_ema, every fit ends by copying the averages into the weights (Keras's
        // finalize_variable_values), so one fit of two epochs differs from two of one, in Keras too.
        for e in try entries() where e.model.compileSpec?.optimizer.ema == nil {
            let uninterrupted = try Model<Float>(spec: e.model.spec, seed: 0)
            try uninterrupted.setWeights(e.model.weights)
            try uninterrupted.compile(e.model.compileSpec!)
            try fit(uninterrupted, e, epochs: 2)
            try fit(e.model, e, epochs: 1)
            let path = dir + "/\(e.name).keras"
            try KerasFiles.saveModel(e.model, to: path)
            let resumed = try KerasFiles.loadModel(path)
            XCTAssertEqual(resumed.compileSpec, e.model.compileSpec, e.name)
            try fit(resumed, e, epochs: 1)
            XCTAssertEqual(resumed.weights, uninterrupted.weights, "\(e.name): weights after resuming")
            XCTAssertEqual(resumed.optimizerSlots?.slots, uninterrupted.optimizerSlots?.slots, "\(e.name): optimizer state")
            XCTAssertEqual(resumed.optimizerSlots?.iterations, 4)
            // .weights.h5 carries the optimizer state too (as Keras 3's save_weights does): a
            // compiled model that loads it resumes alike.
            let weightsPath = dir + "/\(e.name).weights.h5"
            try KerasFiles.saveWeights(resumed, to: weightsPath)
            let fresh = try Model<Float>(spec: e.model.spec, seed: 9)
            try fresh.compile(e.model.compileSpec!)
            try KerasFiles.loadWeights(weightsPath, into: fresh)
            try fit(fresh, e, epochs: 1)
            try fit(resumed, e, epochs: 1)
            XCTAssertEqual(fresh.weights, resumed.weights, "\(e.name): weights after resuming from .weights.h5")
        }
    }

    /// A restored state is checked before it is kept: a negative accumulator of squares, a
    /// wrong count and a wrong size are refused by name and leave the state as it was.
    func testBadOptimizerStateIsRefused() throws {
        let e = try entries().first { $0.name == "rmsprop_momentum_centered_clipnorm" }!
        let before = try XCTUnwrap(e.model.optimizerSlots)
        var negative = before.slots
        negative[0][0] = -1  // a velocity: a running mean of squares
        XCTAssertThrowsError(try e.model.setOptimizerSlots(iterations: 3, slots: negative)) { error in
            guard case .numeric(let m)? = error as? LSTMError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("squares"), m)
        }
        var momentum = before.slots
        momentum[5][0] = -1  // a momentum (the second group): may be negative
        XCTAssertNoThrow(try e.model.setOptimizerSlots(iterations: 3, slots: momentum))
        try e.model.setOptimizerSlots(iterations: before.iterations, slots: before.slots)
        XCTAssertThrowsError(try e.model.setOptimizerSlots(iterations: 3, slots: Array(before.slots.dropLast())))
        var short = before.slots
        short[2].removeLast()
        XCTAssertThrowsError(try e.model.setOptimizerSlots(iterations: 3, slots: short))
        XCTAssertEqual(e.model.optimizerSlots?.slots, before.slots)
    }

    /// Regularizers read from Keras's config and written back as Keras writes them; the bad
    /// ones refused by name.
    func testRegularizersReadAndWriteAsKeras() throws {
        let d = try GraphTests.load("keras3_optimizers.json", folder: "training")
        let e = (d["entries"] as! [[String: Any]]).first { $0["name"] as! String == "regularized_forecaster" }!
        let theirs = try JSON.parse(e["model_json"] as! String)
        let spec = try KerasConfig.parseModel(e["model_json"] as! String).spec
        XCTAssertEqual(spec.regularization[1], LayerRegularization(
            weights: ["kernel": Regularizer(l2: 0.01), "recurrent_kernel": Regularizer(l1: Double(Float(0.005))),  // Keras saves float32
                      "bias": Regularizer(l1: 0.01, l2: 0.01)], activity: Regularizer(l2: 0.01)))
        XCTAssertEqual(spec.regularization[2]?.weights["kernel"], Regularizer(l2: 0.01), "\"l2\" is L2(0.01)")
        let ours = try KerasConfig.modelJSON(spec, compile: nil)
        for (t, o) in zip(theirs["config"]!["layers"]!.arrayValue!.dropFirst(), ours["config"]!["layers"]!.arrayValue!.dropFirst()) {
            guard case .object(let members) = t["config"]! else { return XCTFail() }
            for (key, value) in members where key.hasSuffix("_regularizer") {
                let mine = o["config"]![key]
                XCTAssertEqual(mine?["class_name"], value["class_name"], "\(key)")
                XCTAssertEqual(mine?["config"], value["config"], "\(key)")
            }
        }
        func refusal(_ layer: String) -> LSTMError? {
            let text = #"{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 2]}}, "# + layer + "]}}"
            do { _ = try Model<Float>(spec: try KerasConfig.parseModel(text).spec, seed: 0); return nil } catch { return error as? LSTMError }
        }
        guard case .unsupported(let m1)? = refusal(#"{"class_name": "Dense", "config": {"units": 2, "kernel_regularizer": {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.01}}}}"#),
              m1.contains("OrthogonalRegularizer") else { return XCTFail("orthogonal") }
        guard case .invalidArgument(let m2)? = refusal(#"{"class_name": "Dense", "config": {"units": 2, "kernel_regularizer": {"class_name": "L2", "config": {"l2": -1}}}}"#),
              m2.contains("l2") else { return XCTFail("negative") }
        guard case .unsupported(let m3)? = refusal(#"{"class_name": "Bidirectional", "config": {"name": "bi", "layer": {"class_name": "LSTM", "config": {"name": "l", "units": 2, "kernel_regularizer": "l2"}}}}"#),
              m3.contains("regularizers") else { return XCTFail("inside Bidirectional") }
        XCTAssertNil(refusal(#"{"class_name": "Dense", "config": {"units": 2, "use_bias": false, "bias_regularizer": "l2"}}"#),
                     "a bias regularizer without a bias is kept unused, as Keras keeps it")
    }

    /// The penalties' gradients (weights, and outputs through the activity regularizers)
    /// against finite differences in Double.
    func testRegularizationGradientsMatchFiniteDifferences() throws {
        var spec = ModelSpec(name: "m", input: .init(name: "x", shape: [4, 2]), layers: [
            { var l = LSTMSpec(name: "lstm", units: 3); l.recurrent.returnSequences = true; return l }(),
            GRUSpec(name: "gru", units: 2), DenseSpec(name: "out", units: 1)])
        spec.regularization = [
            0: LayerRegularization(weights: ["kernel": Regularizer(l1: 0.03, l2: 0.02), "recurrent_kernel": Regularizer(l2: 0.05),
                                             "bias": Regularizer(l1: 0.02)], activity: Regularizer(l1: 0.01, l2: 0.03)),
            2: LayerRegularization(weights: ["kernel": Regularizer(l2: 0.1)], activity: Regularizer(l2: 0.2)),
        ]
        let model = try Model<Double>(spec: spec, seed: 3)
        var rng = TestRandom(12)
        try model.randomize(&rng)
        try checkGradients(model, [Tensor(shape: [3, 4, 2], values: rng.uniform(24, -1, 1))], "regularized stack", &rng)
    }

    /// Every loss's gradient against finite differences in Double, through a model whose
    /// output suits it (softplus where the loss needs positive predictions), 3-D outputs reduced
    /// per position.
    func testLossGradientsMatchFiniteDifferences() throws {
        let cases: [(LossKind, Activation, ClosedRange<Double>)] = [
            (.meanAbsolutePercentageError, .linear, 0.2...1), (.meanSquaredLogarithmicError, .softplus, 0.1...2),
            (.huber(delta: 0.4), .linear, -2...2), (.logCosh, .linear, -2...2), (.poisson, .softplus, 0...3),
            (.hinge, .tanh, -1...1), (.squaredHinge, .tanh, -1...1), (.categoricalHinge, .linear, 0...1),
            (.klDivergence, .softmax, 0.05...1), (.cosineSimilarity, .linear, -1...1), (.meanAbsoluteError, .linear, -1...1),
        ]
        for (loss, activation, targets) in cases {
            var lstm = LSTMSpec(name: "lstm", units: 3)
            lstm.recurrent.returnSequences = true
            var head = DenseSpec(name: "out", units: 3)
            head.activation = activation
            let model = try Model<Double>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [4, 2]), layers: [lstm, head]), seed: 4)
            var rng = TestRandom(31)
            try model.randomize(&rng)
            try checkGradients(model, [Tensor(shape: [3, 4, 2], values: rng.uniform(24, -1, 1))], "loss \(loss.name)", &rng,
                               loss: loss, targets: targets)
        }
    }

    /// Every crossentropy's gradient against finite differences in Double: from the logits of a
    /// sigmoid/softmax Dense (the loss then reads its logits), from the probabilities through
    /// TimeDistributed (which hides them, as in Keras), and from_logits on a linear Dense; the
    /// categorical targets sum to 1 per position, where TensorFlow's softmax − y is the gradient.
    func testCrossentropyGradientsMatchFiniteDifferences() throws {
        let smoothed = LossKind.Crossentropy(labelSmoothing: 0.1), logits = LossKind.Crossentropy(fromLogits: true)
        let focal = LossKind.Focal(gamma: 1.5, alpha: 0.3, applyClassBalancing: true)
        enum Head { case dense, timeDistributed }
        enum Targets { case probabilities, distributions, classIds }
        let cases: [(LossKind, Activation, Head, Targets)] = [
            (.binaryCrossentropy(smoothed), .sigmoid, .dense, .probabilities),
            (.binaryCrossentropy(smoothed), .sigmoid, .timeDistributed, .probabilities),
            (.binaryCrossentropy(logits), .linear, .dense, .probabilities),
            (.binaryFocalCrossentropy(.init(labelSmoothing: 0.05), focal), .sigmoid, .dense, .probabilities),
            (.binaryFocalCrossentropy(.init(), focal), .sigmoid, .timeDistributed, .probabilities),
            (.binaryFocalCrossentropy(logits, .init()), .linear, .dense, .probabilities),
            (.binaryFocalCrossentropy(.init(), focal), .softmax, .dense, .distributions),
            (.categoricalCrossentropy(smoothed), .softmax, .dense, .distributions),
            (.categoricalCrossentropy(.init()), .softmax, .timeDistributed, .probabilities),
            (.categoricalCrossentropy(logits), .linear, .dense, .distributions),
            (.categoricalFocalCrossentropy(smoothed, .init(gamma: 1.5, alpha: 0.4)), .softmax, .dense, .probabilities),
            (.categoricalFocalCrossentropy(logits, .init()), .linear, .dense, .distributions),
            (.categoricalFocalCrossentropy(.init(), .init(gamma: 0, alpha: 1)), .softmax, .timeDistributed, .distributions),
            (.sparseCategoricalCrossentropy(fromLogits: false, ignoreClass: nil), .softmax, .dense, .classIds),
            (.sparseCategoricalCrossentropy(fromLogits: false, ignoreClass: nil), .softmax, .timeDistributed, .classIds),
            (.sparseCategoricalCrossentropy(fromLogits: true, ignoreClass: 1), .linear, .dense, .classIds),
        ]
        for (loss, activation, head, targets) in cases {
            var lstm = LSTMSpec(name: "lstm", units: 3)
            lstm.recurrent.returnSequences = true
            var dense = DenseSpec(name: "out", units: 3)
            dense.activation = activation
            let top: any LayerSpec = head == .dense ? dense : TimeDistributedSpec(name: "steps", layer: dense)
            let model = try Model<Double>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [4, 2]), layers: [lstm, top]), seed: 4)
            var rng = TestRandom(37)
            try model.randomize(&rng)
            let x = Tensor<Double>(shape: [3, 4, 2], values: rng.uniform(24, -1, 1))
            var y: Tensor<Double>
            switch targets {
            case .probabilities: y = Tensor(shape: [3, 4, 3], values: rng.uniform(36, 0, 1))
            case .distributions:
                y = Tensor(shape: [3, 4, 3], values: rng.uniform(36, 0.05, 1))
                for k in 0..<12 {
                    let sum = y.values[(3 * k)..<(3 * k + 3)].reduce(0, +)
                    for j in 0..<3 { y.values[3 * k + j] /= sum }
                }
            case .classIds: y = Tensor(shape: [3, 4], values: rng.uniform(12, 0, 2.999).map { $0.rounded(.down) })
            }
            let name = "\(loss.name) \(activation.kerasName) \(head == .dense ? "Dense" : "TimeDistributed")"
            if head == .dense, activation != .linear, loss.readsLayerLogits {
                try model.findLogitLayers(for: OutputLosses(same: loss, outputs: 1))
                XCTAssertEqual(model.logitLayers.count, 1, "\(name): the loss reads the Dense's logits")
            }
            try checkGradients(model, [x], name, &rng, loss: loss, ys: [y])
        }
    }
}
