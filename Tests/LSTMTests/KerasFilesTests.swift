import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Keras files written by real Keras 3 and tf-keras (Tests/Fixtures/make_keras_fixtures.py) load
/// through every route and give Keras's outputs; our files round-trip exactly; bad files fail
/// cleanly.
final class KerasFilesTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static func file(_ name: String) -> String { fixtures.appendingPathComponent("files/\(name)").path }

    struct Expected {
        let modelJSON: String
        let x: [Float], batch: Int, steps: Int
        let y: [Float]
    }

    func expected(_ flavor: String, _ model: String) throws -> Expected {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("configs/\(flavor)_\(model).json"))
        let d = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func values(_ k: String) -> [Float] { ((d[k] as! [String: Any])["values"] as! [Double]).map(Float.init) }
        let shape = (d["x"] as! [String: Any])["shape"] as! [Int]
        return Expected(modelJSON: d["model_json"] as! String, x: values("x"), batch: shape[0], steps: shape[1], y: values("y"))
    }

    func predict(_ model: Model<Float>, _ e: Expected) throws -> [Float] {
        var y = [Float](repeating: 0, count: e.y.count)
        try e.x.withUnsafeBufferPointer { xb in
            try y.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: e.batch, timesteps: e.steps, into: $0) }
        }
        return y
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    static let models = ["sine", "stacked_softmax", "relu_hardsigmoid_nobias"]

    /// A model_config as Keras 2.0-2.2 wrote it (a Sequential's config as a bare list, the input
    /// shape on the first layer with input_dtype, a layer without a name, fixed-length strings)
    /// loads and gives Keras's outputs.
    func testKeras20EraModelConfigLoads() throws {
        let e = try expected("keras2", "sine")
        let model = try KerasFiles.loadModel(Self.file("keras2_sine_keras20_config.h5"))
        XCTAssertEqual(model.spec.layers.map(\.name), ["lstm", "dense"])
        XCTAssertLessThanOrEqual(maxDiff(try predict(model, e), e.y), 1e-5)
        XCTAssertThrowsError(try KerasConfig.parseModel(#"{"class_name": "Functional", "config": []}"#)) { err in
            XCTAssertTrue("\(err)".contains("no 'config' object"), "\(err)")
        }
    }

    /// Every fixture, every route, Keras's outputs within 1e-5.
    func testEveryKerasFileGivesKerasOutputs() throws {
        var report: [String] = []
        for flavor in ["keras3", "keras2"] {
            for name in Self.models {
                let e = try expected(flavor, name)
                let config = try KerasConfig.parseModel(e.modelJSON)
                let whole = flavor == "keras3" ? [".keras", ".h5"] : [".h5"]
                for suffix in whole {
                    let model = try KerasFiles.loadModel(Self.file("\(flavor)_\(name)\(suffix)"))
                    let d = maxDiff(try predict(model, e), e.y)
                    report.append("\(flavor) \(name)\(suffix) load_model: \(d)")
                    XCTAssertLessThanOrEqual(d, 1e-5, "\(flavor)_\(name)\(suffix)")
                    XCTAssertNotNil(model.compileSpec, "compile config restored from \(flavor)_\(name)\(suffix)")
                }
                let weightFiles = flavor == "keras3" ? [".weights.h5", ".keras", ".h5"] : [".weights.h5", "_legacy.h5", ".h5"]
                for suffix in weightFiles {
                    let model = try Model<Float>(spec: config.spec, seed: 1)
                    try KerasFiles.loadWeights(Self.file("\(flavor)_\(name)\(suffix)"), into: model)
                    let d = maxDiff(try predict(model, e), e.y)
                    report.append("\(flavor) \(name)\(suffix) load_weights: \(d)")
                    XCTAssertLessThanOrEqual(d, 1e-5, "\(flavor)_\(name)\(suffix) weights")
                }
            }
        }
        print("max |ours - Keras| per file and route:\n" + report.joined(separator: "\n"))
    }

    /// Keras 2.0-2.4 wrote fixed-length string attributes (model_config, layer_names,
    /// weight_names): they read like the variable-length ones.
    func testFixedLengthStringAttributesAreRead() throws {
        let e = try expected("keras2", "sine")
        let path = Self.file("keras2_sine_fixed_strings.h5")
        XCTAssertLessThanOrEqual(maxDiff(try predict(try KerasFiles.loadModel(path), e), e.y), 1e-5)
        let model = try Model<Float>(spec: try KerasConfig.parseModel(e.modelJSON).spec, seed: 2)
        try KerasFiles.loadWeights(path, into: model)
        XCTAssertLessThanOrEqual(maxDiff(try predict(model, e), e.y), 1e-5)
    }

    /// A .keras file carries Adam's state: iterations and moments come back.
    func testOptimizerStateIsRestoredFromKeras() throws {
        let model = try KerasFiles.loadModel(Self.file("keras3_sine.keras"))
        guard let state = model.optimizerSlots else { return XCTFail("not compiled") }
        XCTAssertEqual(state.iterations, 1, "one train_on_batch step in the fixture")
        XCTAssertEqual(state.slots.count, 2 * model.weights.count)
        XCTAssertTrue(state.slots[0].contains { $0 != 0 }, "first moments were saved non-zero")
    }

    func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "lstm-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func trainedModel() throws -> Model<Float> {
        let spec = ModelSpec(name: "roundtrip", timesteps: nil, features: 2, layers: [
            Specs.lstm("lstm", 4) { $0.returnSequences = true }, Specs.lstm("lstm_1", 3), Specs.dense("dense", 2, .softmax)])
        let model = try Model<Float>(spec: spec, seed: 3)
        try model.compile(CompileSpec(loss: .meanSquaredError, optimizer: .defaultAdam))
        var rng = TestRandom(4)
        let x = rng.uniform(6 * 5 * 2).map(Float.init), y = rng.uniform(6 * 2).map(Float.init)
        _ = try x.withUnsafeBufferPointer { xb in
            try y.withUnsafeBufferPointer { yb in
                try model.fit(x: xb, y: yb, count: 6, timesteps: 5, options: FitOptions()) { _ in false }
            }
        }
        return model
    }

    func testSaveLoadRoundTripsAreExact() throws {
        let dir = try tempDir()
        let model = try trainedModel()
        for name in ["m.keras", "m.h5"] {
            try KerasFiles.saveModel(model, to: "\(dir)/\(name)")
            let back = try KerasFiles.loadModel("\(dir)/\(name)")
            XCTAssertTrue(back.spec.isSame(as: model.spec), name)
            XCTAssertEqual(back.weights, model.weights, name)
            XCTAssertEqual(back.compileSpec, model.compileSpec, name)
            if name.hasSuffix(".keras") {
                XCTAssertEqual(back.optimizerSlots?.iterations, model.optimizerSlots?.iterations)
                XCTAssertEqual(back.optimizerSlots?.slots, model.optimizerSlots?.slots)
            }
        }
        for name in ["w.weights.h5", "w.h5"] {
            try KerasFiles.saveWeights(model, to: "\(dir)/\(name)")
            let other = try Model<Float>(spec: model.spec, seed: 99)
            try other.compile(model.compileSpec!)
            XCTAssertNotEqual(other.weights, model.weights)
            try KerasFiles.loadWeights("\(dir)/\(name)", into: other)
            XCTAssertEqual(other.weights, model.weights, name)
            if name == "w.weights.h5" { XCTAssertEqual(other.optimizerSlots?.slots, model.optimizerSlots?.slots) }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")
    }

    func testMismatchedWeightsLeaveTheModelUnchanged() throws {
        let e = try expected("keras3", "sine")
        let config = try KerasConfig.parseModel(e.modelJSON)
        // Same architecture, other width: every shape differs.
        var spec = config.spec
        if var s = spec.layers[0] as? LSTMSpec { s.units = 9; spec.layers[0] = s }
        let model = try Model<Float>(spec: spec, seed: 5)
        let before = model.weights
        XCTAssertThrowsError(try KerasFiles.loadWeights(Self.file("keras3_sine.weights.h5"), into: model)) { err in
            guard case .shapeMismatch(let m) = err as! LSTMError else { return XCTFail("\(err)") }
            XCTAssertTrue(m.contains("layer 'lstm'") && m.contains("kernel") && m.contains("(1, 32)") && m.contains("(1, 36)"), m)
        }
        XCTAssertThrowsError(try KerasFiles.loadWeights(Self.file("keras2_stacked_softmax_legacy.h5"), into: model)) { err in
            guard case .shapeMismatch = err as! LSTMError else { return XCTFail("\(err)") }
        }
        XCTAssertThrowsError(try KerasFiles.loadWeights(Self.file("keras3_stacked_softmax.keras"), into: model))
        XCTAssertEqual(model.weights, before)
    }

    func testDamagedFilesFailCleanly() throws {
        let dir = try tempDir()
        for name in ["keras3_sine.keras", "keras3_sine.weights.h5", "keras2_sine.h5", "keras2_sine_legacy.h5"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.file(name)))
            let e = try expected(name.hasPrefix("keras3") ? "keras3" : "keras2", "sine")
            let spec = try KerasConfig.parseModel(e.modelJSON).spec
            // Truncated: always an error.
            for keep in [0, 8, 100, bytes.count / 3, bytes.count / 2, bytes.count - 100] {
                let path = "\(dir)/cut-\(keep)-\(name)"
                try bytes.prefix(keep).write(to: URL(fileURLWithPath: path))
                let model = try Model<Float>(spec: spec, seed: 1)
                let before = model.weights
                XCTAssertThrowsError(try KerasFiles.loadWeights(path, into: model), "\(name) cut to \(keep) bytes")
                XCTAssertThrowsError(try KerasFiles.loadModel(path), "\(name) cut to \(keep) bytes")
                XCTAssertEqual(model.weights, before)
            }
            // Bit flips: an error, or (a flip inside float data) a load; never a crash.
            var rng = SeededRandom(seed: 7)
            for k in 0..<40 {
                var flipped = bytes
                let at = Int(rng.next() % UInt64(bytes.count))
                flipped[at] ^= UInt8(1 << (k % 8))
                let path = "\(dir)/flip-\(k)-\(name)"
                try flipped.write(to: URL(fileURLWithPath: path))
                _ = try? KerasFiles.loadModel(path)
                _ = try? KerasFiles.loadWeights(path, into: try Model<Float>(spec: spec, seed: 1))
            }
        }
        // A zip entry claiming an impossible size is refused before anything is allocated.
        var archive = Zip.write([Zip.Entry(name: "config.json", data: Array("{}".utf8))])
        let central = archive.count - 22 - (46 + "config.json".utf8.count)
        for k in 0..<4 { archive[central + 24 + k] = 0x7f }  // uncompressed size ~2 GiB
        try Data(archive).write(to: URL(fileURLWithPath: "\(dir)/huge.keras"))
        XCTAssertThrowsError(try KerasFiles.loadModel("\(dir)/huge.keras")) { err in
            guard case .format(let m) = err as! LSTMError else { return XCTFail("\(err)") }
            XCTAssertTrue(m.contains("claims"), m)
        }
        XCTAssertThrowsError(try KerasFiles.loadModel("\(dir)/missing.keras")) { err in
            guard case .io = err as! LSTMError else { return XCTFail("\(err)") }
        }
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: "\(dir)/text.h5"))
        XCTAssertThrowsError(try KerasFiles.loadModel("\(dir)/text.h5")) { err in
            guard case .format = err as! LSTMError else { return XCTFail("\(err)") }
        }
        XCTAssertThrowsError(try KerasFiles.loadModel(Self.file("keras3_sine.weights.h5"))) { err in
            guard case .format(let m) = err as! LSTMError else { return XCTFail("\(err)") }
            XCTAssertTrue(m.contains("weights-only"), m)
        }
    }

    func testFailedSavesLeaveTheOldFileAndNoTemporary() throws {
        let dir = try tempDir()
        let path = "\(dir)/model.keras"
        try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FileIO.atomicWrite(path) { temp in
            try FileIO.write(Array("half a fi".utf8), to: temp)
            throw LSTMError.io("disk full (simulated)")
        })
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old contents")
        // A model Keras 3 cannot express fails before anything is written.
        let k2 = try KerasFiles.loadModel(Self.file("keras2_relu_hardsigmoid_nobias.h5"))
        XCTAssertThrowsError(try KerasFiles.saveModel(k2, to: path)) { err in
            guard case .unsupported = err as! LSTMError else { return XCTFail("\(err)") }
        }
        XCTAssertThrowsError(try KerasFiles.saveModel(k2, to: "\(dir)/no-such-dir/m.h5"))
        XCTAssertThrowsError(try KerasFiles.saveModel(try trainedModel(), to: "\(dir)/m.txt"))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old contents")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.keras"])
    }

    /// From Keras's initial weights and data, fit with shuffling off gives Keras's epoch losses
    /// and final weights (float32 on both sides, summed in other orders: 1e-4 relative).
    func testTrainingMatchesKeras() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("configs/keras3_training.json"))
        let d = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func arrays(_ k: String) -> [[Float]] { (d[k] as! [[String: Any]]).map { ($0["values"] as! [Double]).map(Float.init) } }
        func values(_ k: String) -> [Float] { ((d[k] as! [String: Any])["values"] as! [Double]).map(Float.init) }
        let config = try KerasConfig.parseModel(d["model_json"] as! String)
        let model = try Model<Float>(spec: config.spec, seed: 0)
        try model.compile(XCTUnwrap(config.compile))
        try model.setWeights(arrays("initial_weights"))
        var o = FitOptions()
        o.epochs = 3; o.batchSize = 4; o.shuffle = false
        var losses: [Double] = []
        let x = values("x"), y = values("y")
        _ = try x.withUnsafeBufferPointer { xb in
            try y.withUnsafeBufferPointer { yb in
                try model.fit(x: xb, y: yb, count: 10, timesteps: 6, options: o) { losses.append($0.loss); return false }
            }
        }
        assertClose(losses, d["epoch_losses"] as! [Double], absolute: 0, relative: 1e-4, "epoch losses")
        for (k, w) in arrays("final_weights").enumerated() {
            assertClose(model.weights[k], w, absolute: 1e-6, relative: 1e-4, "final \(model.weightNames[k])")
        }
    }
}
