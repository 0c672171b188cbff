import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Keras JSON in and out, checked against configs, weights and outputs that real Keras 3 and
/// tf-keras wrote (Tests/Fixtures/make_config_fixtures.py).
final class KerasConfigTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/configs")

    struct Fixture {
        let name: String
        let modelJSON: String
        let weights: [[Float]]
        let x: [Float], xShape: [Int]
        let y: [Float]
    }

    func loadFixtures() throws -> [Fixture] {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".json") && !$0.contains("training") }.sorted()
        XCTAssertEqual(files.count, 10, "5 models x (Keras 3, tf-keras)")
        return try files.map { file in
            let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(file))
            let d = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            func floats(_ o: Any?) -> [Float] { ((o as! [String: Any])["values"] as! [Double]).map(Float.init) }
            let x = d["x"] as! [String: Any]
            return Fixture(name: file, modelJSON: d["model_json"] as! String,
                           weights: (d["weights"] as! [Any]).map { floats($0) },
                           x: floats(x), xShape: x["shape"] as! [Int], y: floats(d["y"]))
        }
    }

    /// Keras's float32 outputs vs ours in float32: the same math in a different summation
    /// order, within 1e-5.
    func testKerasModelsGiveKerasOutputs() throws {
        for f in try loadFixtures() {
            let config = try KerasConfig.parseModel(f.modelJSON)
            XCTAssertEqual(config.flavor, f.name.hasPrefix("keras2") ? .keras2 : .keras3, f.name)
            let model = try Model<Float>(spec: config.spec, seed: 0)
            try model.setWeights(f.weights)
            var y = [Float](repeating: 0, count: f.y.count)
            try f.x.withUnsafeBufferPointer { xb in
                try y.withUnsafeMutableBufferPointer {
                    try model.predict(x: xb, batch: f.xShape[0], timesteps: f.xShape[1], into: $0)
                }
            }
            assertClose(y, f.y, absolute: 1e-5, relative: 1e-5, f.name)
        }
    }

    /// The JSON we write reads back to the same architecture, and says what Keras 3 says.
    func testWrittenJSONRoundTripsAndMatchesKeras3() throws {
        for f in try loadFixtures() where f.name.hasPrefix("keras3") {
            let config = try KerasConfig.parseModel(f.modelJSON)
            let written = try KerasConfig.modelJSON(config.spec, compile: nil)
            let again = try KerasConfig.parseModel(written.serialized())
            XCTAssertTrue(again.spec.isSame(as: config.spec), f.name)
            // Layer by layer, our config holds the same keys and values as Keras's own.
            let keras = try JSON.parse(f.modelJSON)
            let theirs = keras["config"]!["layers"]!.arrayValue!, ours = written["config"]!["layers"]!.arrayValue!
            XCTAssertEqual(theirs.count, ours.count)
            for (t, o) in zip(theirs, ours) {
                XCTAssertEqual(t["class_name"], o["class_name"])
                guard case .object(let members) = t["config"]! else { return XCTFail() }
                for (key, value) in members {
                    let mine = o["config"]![key]
                    if case .number(let a) = value, case .number(let b)? = mine {
                        XCTAssertEqual(a, b, "\(f.name): \(key)")
                    } else {
                        XCTAssertEqual(mine, value, "\(f.name): layer \(t["config"]!["name"]!.serialized()) key \(key)")
                    }
                }
            }
        }
    }

    func testHardSigmoidFollowsTheKerasThatWroteTheModel() throws {
        let k2 = try loadFixtures().first { $0.name == "keras2_relu_hardsigmoid_nobias.json" }!
        let config = try KerasConfig.parseModel(k2.modelJSON)
        guard let s = config.spec.layers[0] as? LSTMSpec else { return XCTFail() }
        XCTAssertEqual(s.recurrentActivation, .hardSigmoidKeras2)
        // The library's JSON names it by its own extension, which reads back in any flavor (a
        // Keras 3 config's "hard_sigmoid" is Keras 3's), and saves of Keras 3 files name it.
        let json = try KerasConfig.modelJSON(config.spec, compile: nil)
        XCTAssertEqual(KerasConfig.layerUsing("hard_sigmoid_keras2", in: json), s.name)
        let back = try KerasConfig.parseModel(json.serialized())
        XCTAssertTrue(back.spec.isSame(as: config.spec))
        XCTAssertEqual(try KerasConfig.parseModel(json.serialized().replacingOccurrences(of: "hard_sigmoid_keras2", with: "hard_sigmoid"))
            .spec.layers.compactMap { ($0 as? LSTMSpec)?.recurrentActivation }.first, .hardSigmoid)
    }

    func testCompileConfigs() throws {
        XCTAssertEqual(try KerasConfig.parseCompile(#"{"optimizer": "adam", "loss": "mse"}"#),
                       CompileSpec(loss: .meanSquaredError, optimizer: .defaultAdam))
        XCTAssertEqual(try KerasConfig.parseCompile(
            #"{"optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}}, "loss": "mean_absolute_error"}"#),
            CompileSpec(loss: .meanAbsoluteError, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        XCTAssertEqual(try KerasConfig.parseCompile(
            #"{"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": true}}, "loss": {"class_name": "MeanSquaredError", "config": {"reduction": "sum_over_batch_size"}}}"#),
            CompileSpec(loss: .meanSquaredError, optimizer: .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true)))
        // Keras 3's own compile_config (from model.get_compile_config()) reads and writes back.
        let spec = CompileSpec(loss: .meanAbsoluteError, optimizer: .sgd(learningRate: 0.1, momentum: 0.9, nesterov: true))
        XCTAssertEqual(try KerasConfig.parseCompile(KerasConfig.compileJSON(spec).serialized()), spec)
        func status(_ text: String) -> LSTMError? {
            do { _ = try KerasConfig.parseCompile(text); return nil } catch { return error as? LSTMError }
        }
        // Keras's default optimizer and the others by name take Keras 3's defaults; AdamW's
        // weight decay defaults to 0.004.
        XCTAssertEqual(try KerasConfig.parseCompile(#"{"loss": "mse"}"#).optimizer,
                       OptimizerSpec(.rmsprop(rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false), learningRate: 0.001))
        XCTAssertEqual(try KerasConfig.parseCompile(#"{"optimizer": "adamw", "loss": "mse"}"#).optimizer,
                       OptimizerSpec(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false), learningRate: 0.001,
                                     weightDecay: 0.004, className: "AdamW"))
        XCTAssertEqual(try KerasConfig.parseCompile(#"{"optimizer": "adagrad", "loss": "mse"}"#).optimizer,
                       OptimizerSpec(.adagrad(initialAccumulator: 0.1, epsilon: 1e-7), learningRate: 0.001))
        // Keras's optimizers take a float learning_rate only: a whole one is written as 1.0.
        let whole = KerasConfig.compileJSON(CompileSpec(loss: .meanSquaredError,
                                                        optimizer: OptimizerSpec(.adadelta(rho: 0.95, epsilon: 1e-7), learningRate: 1)))
        XCTAssertTrue(whole.serialized().contains(#""learning_rate": 1.0,"#), whole.serialized())
        // Every optimizer with its options set reads back from what we write.
        var clipped = OptimizerSpec(.rmsprop(rho: 0.8, momentum: 0.5, epsilon: 1e-6, centered: true), learningRate: 0.003, weightDecay: 0.01)
        clipped.globalClipNorm = 0.7
        var byValue = OptimizerSpec(.lion(beta1: 0.8, beta2: 0.95), learningRate: 0.0002)
        byValue.clipValue = 0.1
        var byNorm = OptimizerSpec(.adam(beta1: 0.8, beta2: 0.99, epsilon: 1e-6, amsgrad: true), learningRate: 0.002)
        byNorm.clipNorm = 1.5
        for optimizer in [clipped, byValue, byNorm, OptimizerSpec(.adadelta(rho: 0.9, epsilon: 1e-6), learningRate: 1),
                          OptimizerSpec(.adamax(beta1: 0.8, beta2: 0.9, epsilon: 1e-6), learningRate: 0.01),
                          OptimizerSpec(.nadam(beta1: 0.8, beta2: 0.9, epsilon: 1e-6), learningRate: 0.01),
                          OptimizerSpec(.adagrad(initialAccumulator: 0.2, epsilon: 1e-6), learningRate: 0.01),
                          OptimizerSpec(.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false), learningRate: 0.001,
                                        weightDecay: 0.05, className: "AdamW")] {
            let c = CompileSpec(loss: .meanSquaredError, optimizer: optimizer)
            XCTAssertEqual(try KerasConfig.parseCompile(KerasConfig.compileJSON(c).serialized()), c, optimizer.className)
        }
        // Every schedule reads back from what we write, and gives Keras's rates (computed here
        // from keras/src/optimizers/schedules' formulas).
        let schedules: [(LearningRateSchedule.Kind, [Double])] = [
            (.exponentialDecay(initial: 0.1, decaySteps: 2, decayRate: 0.5, staircase: true), [0.1, 0.1, 0.05, 0.05, 0.025]),
            (.inverseTimeDecay(initial: 0.1, decaySteps: 1, decayRate: 0.5, staircase: false), [0.1, 0.1 / 1.5, 0.05, 0.04, 0.1 / 3]),
            (.piecewiseConstantDecay(boundaries: [1, 3], values: [0.3, 0.2, 0.1]), [0.3, 0.3, 0.2, 0.2, 0.1]),
            (.polynomialDecay(initial: 0.1, decaySteps: 2, end: 0.01, power: 1, cycle: false), [0.1, 0.055, 0.01, 0.01, 0.01]),
            (.polynomialDecay(initial: 0.1, decaySteps: 2, end: 0.0, power: 2, cycle: true), [0.1, 0.025, 0, 0.1 * 0.0625, 0]),
            (.cosineDecay(initial: 0.1, decaySteps: 2, alpha: 0, warmupTarget: nil, warmupSteps: 0), [0.1, 0.05, 0, 0, 0]),
            (.cosineDecay(initial: 0.0, decaySteps: 2, alpha: 0.5, warmupTarget: 0.2, warmupSteps: 2), [0, 0.1, 0.2, 0.15, 0.1]),
        ]
        for (kind, rates) in schedules {
            var o = OptimizerSpec(.sgd(momentum: 0, nesterov: false), learningRate: 0)
            o.schedule = LearningRateSchedule(kind)
            o.learningRate = o.schedule!.rate(at: 0)
            let c = CompileSpec(loss: .meanSquaredError, optimizer: o)
            XCTAssertEqual(try KerasConfig.parseCompile(KerasConfig.compileJSON(c).serialized()), c, kind.className)
            for (step, want) in rates.enumerated() {
                XCTAssertEqual(o.learningRate(at: step), want, accuracy: 1e-12, "\(kind) at step \(step)")
            }
        }
        guard case .unsupported(let dice)? = status(#"{"optimizer": "adam", "loss": "dice"}"#),
              dice.contains("not supported yet") else { return XCTFail("dice") }
        // The crossentropies' options, written as Keras's classes and read back.
        for loss: LossKind in [.binaryCrossentropy(.init(fromLogits: true, labelSmoothing: 0.2)),
                               .categoricalCrossentropy(.init(labelSmoothing: 0.1)),
                               .binaryFocalCrossentropy(.init(), .init(gamma: 1, alpha: 0.4, applyClassBalancing: true)),
                               .categoricalFocalCrossentropy(.init(fromLogits: true, labelSmoothing: 0.1), .init(gamma: 3, alpha: 0.5)),
                               .sparseCategoricalCrossentropy(fromLogits: true, ignoreClass: nil),
                               .sparseCategoricalCrossentropy(fromLogits: false, ignoreClass: -1)] {
            let c = CompileSpec(loss: loss, optimizer: .defaultAdam)
            XCTAssertEqual(try KerasConfig.parseCompile(KerasConfig.compileJSON(c).serialized()), c, loss.name)
        }
        guard case .invalidArgument(let smoothing)? = status(#"{"optimizer": "adam", "loss": {"class_name": "BinaryCrossentropy", "config": {"label_smoothing": 1.5}}}"#),
              smoothing.contains("label_smoothing") else { return XCTFail("label_smoothing 1.5") }
        guard case .unsupported(let axis)? = status(#"{"optimizer": "adam", "loss": {"class_name": "CategoricalCrossentropy", "config": {"axis": 1}}}"#),
              axis.contains("axis") else { return XCTFail("axis 1") }
        guard case .invalidArgument(let ignored)? = status(#"{"optimizer": "adam", "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {"ignore_class": 0.5}}}"#),
              ignored.contains("ignore_class") else { return XCTFail("ignore_class 0.5") }
        guard case .unsupported(let reduction)? = status(#"{"optimizer": "adam", "loss": {"class_name": "LogCosh", "config": {"reduction": "sum"}}}"#),
              reduction.contains("reduction") else { return XCTFail("reduction") }
        // Every loss by its names and classes; Huber's delta read and written back.
        for (names, loss) in KerasLosses.names {
            for n in names {
                XCTAssertEqual(try KerasConfig.parseCompile(#"{"optimizer": "adam", "loss": "\#(n)"}"#).loss, loss, n)
            }
            let c = CompileSpec(loss: loss == .huber(delta: 1) ? .huber(delta: 0.25) : loss, optimizer: .defaultAdam)
            XCTAssertEqual(try KerasConfig.parseCompile(KerasConfig.compileJSON(c).serialized()), c, names[0])
        }
        guard case .unsupported(let ftrl)? = status(#"{"optimizer": "Ftrl", "loss": "mse"}"#), ftrl.contains("Ftrl") else { return XCTFail("ftrl") }
        guard case .invalidArgument(let ema)? = status(#"{"optimizer": {"class_name": "Adam", "config": {"use_ema": true, "ema_momentum": 1.5}}, "loss": "mse"}"#),
              ema.contains("ema_momentum") else { return XCTFail("ema_momentum out of range") }
        guard case .invalidArgument(let frequency)? = status(#"{"optimizer": {"class_name": "Adam", "config": {"use_ema": true, "ema_overwrite_frequency": 0.5}}, "loss": "mse"}"#),
              frequency.contains("ema_overwrite_frequency") else { return XCTFail("ema_overwrite_frequency 0.5") }
        var withEMA = CompileSpec(loss: .meanSquaredError, optimizer: .defaultAdam)
        withEMA.optimizer.ema = .init(momentum: 0.9, overwriteFrequency: 4)
        XCTAssertEqual(try KerasConfig.parseCompile(KerasConfig.compileJSON(withEMA).serialized()), withEMA, "use_ema round trip")
        guard case .invalidArgument(let restarts)? = status(#"{"optimizer": {"class_name": "Adam", "config": {"learning_rate": {"class_name": "CosineDecayRestarts", "config": {"initial_learning_rate": 0.1, "first_decay_steps": 2, "t_mul": 0}}}}, "loss": "mse"}"#),
              restarts.contains("t_mul") else { return XCTFail("CosineDecayRestarts t_mul 0") }
        guard case .invalidArgument(let missing)? = status(#"{"optimizer": {"class_name": "Adam", "config": {"learning_rate": {"class_name": "ExponentialDecay", "config": {"decay_steps": 2, "decay_rate": 0.5}}}}, "loss": "mse"}"#),
              missing.contains("initial_learning_rate") else { return XCTFail("schedule without its rate") }
        guard case .invalidArgument(let steps)? = status(#"{"optimizer": {"class_name": "SGD", "config": {"learning_rate": {"class_name": "PolynomialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 0}}}}, "loss": "mse"}"#),
              steps.contains("decay_steps") else { return XCTFail("decay_steps 0") }
        guard case .invalidArgument(let piecewise)? = status(#"{"optimizer": {"class_name": "SGD", "config": {"learning_rate": {"class_name": "PiecewiseConstantDecay", "config": {"boundaries": [1, 2], "values": [0.1, 0.01]}}}}, "loss": "mse"}"#),
              piecewise.contains("boundaries") else { return XCTFail("piecewise counts") }
        guard case .unsupported(let rhoForAdam)? = status(#"{"optimizer": {"class_name": "Adam", "config": {"rho": 0.9}}, "loss": "mse"}"#),
              rhoForAdam.contains("rho") else { return XCTFail("another optimizer's option") }
        guard case .invalidArgument(let clips)? = status(#"{"optimizer": {"class_name": "SGD", "config": {"clipnorm": 1.0, "clipvalue": 0.5}}, "loss": "mse"}"#),
              clips.contains("clipnorm") else { return XCTFail("two clippings") }
        guard case .invalidArgument? = status(#"{"optimizer": {"class_name": "RMSprop", "config": {"rho": 1.5}}, "loss": "mse"}"#) else { return XCTFail("rho") }
        guard case .invalidArgument? = status(#"{"optimizer": {"class_name": "Adam", "config": {"learning_rate": -1}}, "loss": "mse"}"#) else { return XCTFail("lr") }
        guard case .invalidArgument? = status(#"{"optimizer": "adam"}"#) else { return XCTFail("no loss") }
        guard case .format? = status(#"{"optimizer": "adam", "loss": "mse""#) else { return XCTFail("truncated") }
    }

    func testModelConfigErrorsNameTheProblem() {
        func error(_ text: String) -> LSTMError? {
            do { _ = try KerasConfig.parseModel(text); return nil } catch { return error as? LSTMError }
        }
        let input = #"{"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 2]}}"#
        func model(_ layer: String) -> String { #"{"class_name": "Sequential", "config": {"layers": ["# + input + ", " + layer + "]}}" }
        XCTAssertNil(error(model(#"{"class_name": "LSTM", "config": {"units": 3}}"#)))
        guard case .unsupported(let m1)? = error(model(#"{"class_name": "ConvLSTM1D", "config": {"filters": 3, "name": "conv"}}"#)),
              m1.contains("ConvLSTM1D"), m1.contains("'conv'") else { return XCTFail("unknown layer class") }
        guard case .unsupported(let m2)? = error(model(#"{"class_name": "Conv1D", "config": {"filters": 3, "kernel_size": 2, "groups": 3}}"#)),
              m2.contains("groups") else { return XCTFail("groups") }
        guard case .unsupported(let m3)? = error(model(#"{"class_name": "LSTM", "config": {"units": 3, "time_major": true}}"#)),
              m3.contains("time_major") else { return XCTFail("time_major") }
        guard case .unsupported(let m4)? = error(model(#"{"class_name": "LSTM", "config": {"units": 3, "activation": "mish"}}"#)),
              m4.contains("mish") else { return XCTFail("mish") }
        guard case .unsupported(let m5)? = error(model(#"{"class_name": "LSTM", "config": {"units": 3, "kernel_constraint": {"class_name": "MaxNorm"}}}"#)),
              m5.contains("kernel_constraint") else { return XCTFail("constraint") }
        guard case .unsupported(let m7)? = error(model(#"{"class_name": "LSTM", "config": {"units": 3, "kernel_regularizer": {"class_name": "OrthogonalRegularizer"}}}"#)),
              m7.contains("kernel_regularizer"), m7.contains("OrthogonalRegularizer") else { return XCTFail("regularizer") }
        guard case .unsupported(let m6)? = error(model(#"{"class_name": "LSTM", "config": {"units": 3, "frobnicate": 1}}"#)),
              m6.contains("frobnicate") else { return XCTFail("unknown option") }
        guard case .invalidArgument? = error(model(#"{"class_name": "LSTM", "config": {"units": -3}}"#)) else { return XCTFail("units") }
        guard case .invalidArgument? = error(model(#"{"class_name": "LSTM", "config": {"units": 2.5}}"#)) else { return XCTFail("units") }
        guard case .unsupported(let m7)? = error(#"{"class_name": "MyModel", "config": {}}"#), m7.contains("MyModel") else {
            return XCTFail("subclassed model")
        }
        guard case .format? = error(#"{"class_name": "Functional", "config": {}}"#) else { return XCTFail("Functional without layers") }
        guard case .format? = error(#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": {"units": 3}}]}}"#) else {
            return XCTFail("no input shape")
        }
        guard case .format? = error("[1, 2") else { return XCTFail("malformed") }
        guard case .format? = error(String(repeating: "[", count: 100_000)) else { return XCTFail("deep nesting") }
        guard case .invalidArgument? = error(model(#"{"class_name": "LSTM", "config": {"units": 3, "name": "input_layer"}}"#)) else {
            return XCTFail("duplicate names")
        }
    }

    func testDefaultLayerNamesFollowKeras() {
        XCTAssertEqual(KerasConfig.defaultName("LSTM", 0), "lstm")
        XCTAssertEqual(KerasConfig.defaultName("LSTM", 2), "lstm_2")
        XCTAssertEqual(KerasConfig.defaultName("InputLayer", 0), "input_layer")
        XCTAssertEqual(KerasConfig.defaultName("Dense", 1), "dense_1")
        XCTAssertEqual(KerasConfig.defaultName("SimpleRNN", 0), "simple_rnn")
    }

    func testJSONParserAndWriter() throws {
        let text = #"{"a": [1, -2.5e3, true, false, null], "s": "\u00e9\ud83d\ude00\n\"\\", "e": {}, "n": 0.1}"#
        let j = try JSON.parse(text)
        XCTAssertEqual(j["a"], .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]))
        XCTAssertEqual(j["s"]?.stringValue, "é😀\n\"\\")
        XCTAssertEqual(try JSON.parse(j.serialized()), j)
        XCTAssertEqual(JSON.number(0.0010000000474974513).serialized(), "0.0010000000474974513")
        XCTAssertEqual(JSON.number(50).serialized(), "50")
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"abc", "01x", "tru", "\"\\ud800\"", "1 2", "{\"a\":1,}"] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
    }
}
