import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Keras 3's compiled metrics against real Keras (Tests/Fixtures/make_metric_fixtures.py): the
/// same log names, every History value of a two-epoch fit with validation data, and evaluate's.
final class KerasMetricsTests: XCTestCase {
    /// A fixture entry's model with its initial weights, compiled from Keras's own compile config.
    static func model(of e: [String: Any]) throws -> Model<Float> { try model(of: e, as: Float.self) }

    /// The same in another scalar type, its spec changed by `adjust` first (e.g. regularizers).
    static func model<T: Scalar>(of e: [String: Any], as _: T.Type,
                                 adjusting adjust: (inout ModelSpec) -> Void = { _ in }) throws -> Model<T> {
        var spec = try KerasConfig.parseModel(e["model_json"] as! String).spec
        adjust(&spec)
        let model = try Model<T>(spec: spec, seed: 0)
        try model.setWeights((e["initial_weights"] as! [Any]).map { GraphTests.tensor($0).values.map { T($0) } })
        let compile = try JSONSerialization.data(withJSONObject: e["compile_config"]!)
        try model.compile(try KerasConfig.parseCompile(String(decoding: compile, as: UTF8.self)))
        return model
    }

    func testMetricsMatchKerasHistoryAndEvaluate() throws {
        let d = try GraphTests.load("keras3_metrics.json", folder: "training")
        for e in d["entries"] as! [[String: Any]] {
            let name = e["name"] as! String
            let model = try Self.model(of: e)
            let keys = e["history_keys"] as! [String]
            XCTAssertEqual(Set(["loss"] + model.metricNames + ["val_loss"] + model.metricNames.map { "val_" + $0 }), Set(keys),
                           "\(name): log names")
            let x = GraphTests.tensor(e["x"]), ys = (e["y"] as! [Any]).map(GraphTests.tensor)
            let xv = GraphTests.tensor(e["x_val"]), yvs = (e["y_val"] as! [Any]).map(GraphTests.tensor)
            func validation() throws -> [Double] {
                try withViews([xv]) { v in try withViews(yvs) { try model.evaluateLogs(v, targets: $0, batchSize: 4) } }
            }
            var options = FitOptions()
            options.epochs = 2
            options.batchSize = 4
            options.shuffle = false
            var logs: [String: [Double]] = [:]
            var failure: Error?
            _ = try withViews([x]) { xs in
                try withViews(ys) { t in
                    try model.fit(xs, targets: t, options: options) { log in
                        let names = ["loss"] + model.metricNames
                        do {
                            let val = try validation()
                            for (k, v) in zip(names, [log.loss] + log.metrics) { logs[k, default: []].append(v) }
                            for (k, v) in zip(names, val) { logs["val_" + k, default: []].append(v) }
                        } catch { failure = error }
                        return false
                    }
                }
            }
            if let failure { throw failure }
            let history = e["history"] as! [String: [Double]]
            var worst = 0.0
            for key in keys {
                let want = history[key]!, got = logs[key] ?? []
                assertClose(got, want, absolute: 2e-5, relative: 1e-4, "\(name): \(key)")
                for (a, b) in zip(got, want) { worst = max(worst, abs(a - b) / max(abs(b), 1)) }
            }
            let finalWeights = (e["final_weights"] as! [Any]).map { GraphTests.tensor($0).values }
            for (k, (got, want)) in zip(model.weights, finalWeights).enumerated() {
                assertClose(got, want, absolute: 1e-4, relative: 1e-3, "\(name): weight \(model.weightNames[k])")
            }
            let evaluated = try validation()
            let want = e["evaluate"] as! [String: Double]
            for (k, v) in zip(["loss"] + model.metricNames, evaluated) {
                assertClose([v], [want[k] ?? .nan], absolute: 2e-5, relative: 1e-4, "\(name): evaluate \(k)")
            }
            print(String(format: "keras metrics parity %@: %d log values, max |diff|/max(|value|,1) %.1e", name,
                         keys.count * 2, worst))
        }
    }

    /// The compile config round-trips the metrics as Keras writes them (names as given, objects
    /// as their class configs), and the refusals name what they refuse.
    func testMetricsConfigRoundTripsAndRefusals() throws {
        let text = """
        {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["acc", {"module": "keras.metrics", \
        "class_name": "BinaryAccuracy", "config": {"name": "ba", "dtype": "float32", "threshold": 0.25}, \
        "registered_name": null}, {"class_name": "TopKCategoricalAccuracy", "config": {"k": 3}}, ["mae", "mse"]]}
        """
        let spec = try KerasConfig.parseCompile(text)
        guard case .list(let entries) = spec.metrics else { return XCTFail("a list") }
        XCTAssertEqual(entries.map { $0.map(\.name) }, [["acc"], ["ba"], ["top_k_categorical_accuracy"], ["mae", "mse"]])
        XCTAssertEqual(entries[1][0].kind, .binaryAccuracy(threshold: 0.25))
        XCTAssertEqual(entries[2][0].kind, .topKCategoricalAccuracy(k: 3, sparse: false))
        let written = KerasConfig.compileJSON(spec)
        XCTAssertEqual(try KerasConfig.parseCompile(written.serialized()).metrics, spec.metrics)
        XCTAssertEqual(written["metrics"]?.arrayValue?.first, .string("acc"))
        for (metrics, fragment) in [("[\"AUC\"]", "'AUC' is not supported yet"), ("[\"nonsense\"]", "'nonsense' is not supported"),
                                    ("[{\"class_name\": \"BinaryAccuracy\", \"config\": {\"bogus\": 1}}]", "option 'bogus'"),
                                    ("[{\"class_name\": \"TopKCategoricalAccuracy\", \"config\": {\"k\": 0}}]", "k must be"),
                                    ("3", "must be a list or a dict")] {
            XCTAssertThrowsError(try KerasConfig.parseCompile("{\"loss\": \"mse\", \"metrics\": \(metrics)}"), metrics) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(metrics): \(error)")
            }
        }
        // A saved model's config keeps the metrics it can and drops the others.
        let saved = try KerasConfig.parseCompile(try JSON.parse("{\"optimizer\": \"adam\", \"loss\": \"mse\", \"metrics\": [\"mae\", \"AUC\"]}"),
                                                 fromFile: true)
        XCTAssertEqual(saved.metrics, .list([[MetricSpec(kind: .mean(.meanAbsoluteError), name: "mae", byName: true)], []]))
    }

    /// A metric reads the targets the loss takes, and a several-output model needs its metrics
    /// per output; each refusal says why.
    func testMetricsThatDoNotFitTheModelAreRefused() throws {
        let chain = try KerasConfig.parseModel("""
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 2], "name": "i"}},
          {"class_name": "LSTM", "config": {"name": "l", "units": 3}},
          {"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "softmax"}}]}}
        """)
        let model = try Model<Float>(spec: chain.spec, seed: 1)
        for (compile, fragment) in [("{\"loss\": \"sparse_categorical_crossentropy\", \"metrics\": [\"categorical_accuracy\"]}", "takes class ids"),
                                    ("{\"loss\": \"categorical_crossentropy\", \"metrics\": [\"sparse_categorical_accuracy\"]}", "reads class ids"),
                                    ("{\"loss\": \"mse\", \"metrics\": {\"nope\": [\"mae\"]}}", "name output 'nope'")] {
            XCTAssertThrowsError(try model.compile(try KerasConfig.parseCompile(compile)), compile) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(compile): \(error)")
            }
        }
        XCTAssertNil(model.compileSpec, "a refused compile leaves the model uncompiled")
        try model.compile(try KerasConfig.parseCompile("{\"loss\": \"sparse_categorical_crossentropy\", \"metrics\": [\"accuracy\", \"acc\", \"accuracy\"]}"))
        XCTAssertEqual(model.metricNames, ["accuracy", "acc", "accuracy_1"])
        XCTAssertEqual(model.compiledMetrics.map(\.kind), Array(repeating: .sparseCategoricalAccuracy, count: 3))
    }

    /// A model saved with metrics comes back with them from .keras and from legacy .h5 (where
    /// they are written as classes carrying their log names, for Keras's legacy loader).
    func testSavedFilesKeepTheMetrics() throws {
        let chain = try KerasConfig.parseModel("""
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 2], "name": "i"}},
          {"class_name": "LSTM", "config": {"name": "l", "units": 3}},
          {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "sigmoid"}}]}}
        """)
        let model = try Model<Float>(spec: chain.spec, seed: 1)
        try model.compile(try KerasConfig.parseCompile("""
        {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["acc", "mae", {"class_name": "BinaryAccuracy",         "config": {"name": "ba", "threshold": 0.7}}]}
        """))
        let dir = NSTemporaryDirectory() + "metrics-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for suffix in [".keras", ".h5"] {
            let path = dir + "/m" + suffix
            try KerasFiles.saveModel(model, to: path)
            let loaded = try KerasFiles.loadModel(path)
            XCTAssertEqual(loaded.metricNames, ["acc", "mae", "ba"], suffix)
            XCTAssertEqual(loaded.compiledMetrics.map(\.kind), model.compiledMetrics.map(\.kind), suffix)
        }
    }

    /// Keras 3's fits with sample_weight (per sample; per timestep under a mask) and
    /// class_weight (class ids, one-hot rows, 0/1 labels), with weighted validation from a split
    /// or a 3-tuple, weighted_metrics, and steps_per_epoch: every History value (1e-5), the
    /// final weights (1e-4) and evaluate with sample_weight.
    func testSampleAndClassWeightsTrainAsKeras() throws {
        let d = try GraphTests.load("keras3_sample_weights.json", folder: "training")
        for e in d["entries"] as! [[String: Any]] {
            let name = e["name"] as! String
            let model = try Self.model(of: e)
            let x = GraphTests.tensor(e["x"]), y = GraphTests.tensor(e["y"])
            let weights = (e["sample_weight"] as? [String: Any]).map(GraphTests.tensor)
            var options = FitOptions()
            options.epochs = e["epochs"] as! Int
            options.batchSize = e["batch_size"] as! Int
            options.shuffle = false
            options.validationSplit = e["validation_split"] as! Double
            options.stepsPerEpoch = e["steps_per_epoch"] as? Int
            if let cw = e["class_weight"] as? [String: Double] {
                options.classWeights = Dictionary(uniqueKeysWithValues: cw.map { (Int($0.key)!, $0.value) })
            }
            let validation = (e["validation"] as? [Any]).map { v in (v.prefix(2).map(GraphTests.tensor), (v[2] as? [String: Any]).map(GraphTests.tensor)) }
            var logs: [String: [Double]] = [:]
            var failure: Error?
            func evaluate(_ xs: [Tensor<Float>], _ ys: [Tensor<Float>], _ w: Tensor<Float>?) throws -> [Double] {
                try withViews(xs) { xv in
                    try withViews(ys) { yv in
                        try withViews(w.map { [$0] } ?? []) { wv in
                            try model.evaluateLogs(xv, targets: yv, sampleWeights: wv.first, batchSize: 4)
                        }
                    }
                }
            }
            _ = try withViews([x]) { xs in
                try withViews([y]) { ys in
                    try withViews(weights.map { [$0] } ?? []) { ws in
                        try model.fit(xs, targets: ys, sampleWeights: ws.first, options: options) { log in
                            let names = ["loss"] + model.metricNames
                            for (k, v) in zip(names, [log.loss] + log.metrics) { logs[k, default: []].append(v) }
                            if let v = log.valLoss {
                                for (k, value) in zip(names, [v] + log.valMetrics) { logs["val_" + k, default: []].append(value) }
                            }
                            if let validation {
                                do {
                                    let val = try evaluate([validation.0[0]], [validation.0[1]], validation.1)
                                    for (k, value) in zip(names, val) { logs["val_" + k, default: []].append(value) }
                                } catch { failure = error }
                            }
                            return false
                        }
                    }
                }
            }
            if let failure { throw failure }
            let history = e["history"] as! [String: [Double]]
            XCTAssertEqual(Set(logs.keys), Set(history.keys), name)
            for (key, want) in history {
                assertClose(logs[key] ?? [], want, absolute: 1e-6, relative: 1e-5, "\(name): \(key)")
            }
            let finalWeights = (e["final_weights"] as! [Any]).map { GraphTests.tensor($0).values }
            for (k, (got, want)) in zip(model.weights, finalWeights).enumerated() {
                assertClose(got, want, absolute: 1e-4, relative: 1e-3, "\(name): weight \(model.weightNames[k])")
            }
            let evaluated = try evaluate([x], [y], (e["evaluate_weight"] as? [String: Any]).map(GraphTests.tensor))
            let want = e["evaluate"] as! [String: Double]
            for (k, v) in zip(["loss"] + model.metricNames, evaluated) {
                assertClose([v], [want[k] ?? .nan], absolute: 1e-6, relative: 1e-5, "\(name): evaluate \(k)")
            }
        }
    }

    /// Weights that do not fit the data are refused by name before anything trains.
    func testBadSampleAndClassWeightsAreRefused() throws {
        let chain = try KerasConfig.parseModel("""
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 2], "name": "i"}},
          {"class_name": "LSTM", "config": {"name": "l", "units": 3}},
          {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}
        """)
        let model = try Model<Float>(spec: chain.spec, seed: 1)
        try model.compile(try KerasConfig.parseCompile("{\"optimizer\": \"sgd\", \"loss\": \"mse\"}"))
        let x = Tensor<Float>(shape: [4, 5, 2], values: (0..<40).map { Float($0) / 40 })
        let y = Tensor<Float>(shape: [4, 2], values: [0, 1, 1, 0, 0, 1, 1, 0])
        let before = model.weights
        for (w, fragment) in [(Tensor<Float>(shape: [3], values: [1, 1, 1]), "expected [4]"),
                              (Tensor<Float>(shape: [4, 5], values: Array(repeating: 1, count: 20)), "expected [4]"),
                              (Tensor<Float>(shape: [4], values: [1, .nan, 1, 1]), "sample_weight")] {
            XCTAssertThrowsError(try withViews([x, y, w]) { v in
                try model.fit([v[0]], targets: [v[1]], sampleWeights: v[2], options: FitOptions()) { _ in false }
            }) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
        }
        var options = FitOptions()
        options.classWeights = [0: 2]
        XCTAssertThrowsError(try withViews([x, y, y]) { v in
            try model.fit([v[0]], targets: [v[1]], sampleWeights: TensorView(shape: [4], data: UnsafeBufferPointer(rebasing: v[2].data[0..<4])),
                          options: options) { _ in false }
        }) { XCTAssertTrue("\($0)".contains("cannot be given together"), "\($0)") }
        XCTAssertEqual(model.weights, before, "refused fits train nothing")
    }
}
