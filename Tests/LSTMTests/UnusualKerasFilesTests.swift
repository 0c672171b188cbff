import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Keras files as some users have them: archives written on Windows (weight groups named with
/// backslashes in one flat name), HDF5 files under a .keras name (older tf.keras). Each is made
/// here from a model of known weights (the real files are checked by make test-wild).
final class UnusualKerasFilesTests: XCTestCase {
    func model() throws -> Model<Float> {
        let spec = ModelSpec(name: "m", timesteps: nil, features: 2, layers: [
            Specs.lstm("lstm", 3) { $0.returnSequences = true }, GRUSpec(name: "gru", units: 2), Specs.dense("dense", 1)])
        let model = try Model<Float>(spec: spec, seed: 5)
        var rng = TestRandom(6)
        try model.setWeights(model.weights.map { w in rng.uniform(w.count).map(Float.init) })
        return model
    }

    /// The model's Keras 3 weights file with every group below the root named as Windows
    /// tf.keras named them: "layers\lstm\cell" holding "vars" (`rename` may alter a name).
    func windowsWeights(_ m: Model<Float>, rename: (String) -> String = { $0 }) throws -> [UInt8] {
        let tree = H5WriteGroup(file: "model.weights.h5")
        try KerasFiles.writeKeras3Layout(tree, model: m)
        let flat = H5WriteGroup(file: "windows.weights.h5")
        func flatten(_ g: H5WriteGroup, _ path: [String]) throws {
            for (name, member) in g.members {
                guard case .group(let child) = member else { continue }
                let hasVars = child.members.contains { if case .float32 = $0.member { return true }; if case .int64 = $0.member { return true }; return false }
                if hasVars || (name == "vars" && path.count > 0) {
                    // A group of arrays: under its parent's flat name, as "vars".
                    let parent = path.joined(separator: "\\")
                    let target = parent.isEmpty ? flat : (flat.isGroup(rename(parent)) ? try flat.group(rename(parent)) : try flat.createGroup(rename(parent)))
                    let vars = try target.createGroup(name)
                    for (n, v) in child.members {
                        switch v {
                        case .float32(let shape, let values): try vars.writeFloats(n, shape: shape, values: values)
                        case .int64(let value): try vars.writeInt(n, value)
                        case .group: break
                        }
                    }
                } else {
                    try flatten(child, path + [name])
                }
            }
        }
        try flatten(tree, [])
        return try flat.encodedFile()
    }

    func archive(_ m: Model<Float>, weights: [UInt8]) throws -> [UInt8] {
        let config = try KerasConfig.modelJSON(m.spec, compile: nil).serialized()
        return Zip.write([Zip.Entry(name: "metadata.json", data: Array(#"{"keras_version": "2.15.0"}"#.utf8)),
                          Zip.Entry(name: "config.json", data: Array(config.utf8)),
                          Zip.Entry(name: "model.weights.h5", data: weights)])
    }

    func testArchivesWrittenOnWindowsLoad() throws {
        let m = try model()
        let weights = try windowsWeights(m)
        let root = try HDF5Reader.open(weights, name: "w.h5")
        XCTAssertTrue(root.memberNames().contains("layers"), "\(root.memberNames())")
        XCTAssertTrue(root.isGroup("layers/lstm/cell/vars") && root.isDataset("layers/lstm/cell/vars/0"))
        let back = try KerasFiles.loadModel(bytes: try archive(m, weights: weights), name: "windows.keras")
        XCTAssertEqual(back.weights, m.weights)
    }

    func testBackslashNamesCannotClimbOutOfTheirGroup() throws {
        let m = try model()
        for bad in ["..\\..\\x", "layers\\.\\lstm", "layers\\\\lstm"] {
            let weights = try windowsWeights(m) { $0 == "layers\\lstm\\cell" ? bad : $0 }
            XCTAssertThrowsError(try KerasFiles.loadModel(bytes: try archive(m, weights: weights), name: "bad.keras"), bad) { e in
                XCTAssertTrue("\(e)".contains("Windows-style path has an empty, '.' or '..' part"), "\(e)")
            }
        }
    }

    func testAnHDF5FileNamedKerasIsReadByItsContentWithANote() throws {
        let m = try model()
        let dir = NSTemporaryDirectory() + "lstm-unusual-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try KerasFiles.saveModel(m, to: dir + "/m.h5")
        XCTAssertEqual(rename(dir + "/m.h5", dir + "/m.keras"), 0)
        var notes: [String] = []
        let back = try KerasFiles.loadModel(dir + "/m.keras") { notes.append($0) }
        XCTAssertEqual(back.weights, m.weights)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.contains("is an HDF5 file (as older tf.keras saved under a .keras name), not a zip archive: read by its content") ?? false, "\(notes)")
        // And the other way round: a .keras archive under an .h5 name.
        try KerasFiles.saveModel(m, to: dir + "/z.keras")
        XCTAssertEqual(rename(dir + "/z.keras", dir + "/z.h5"), 0)
        notes = []
        XCTAssertEqual(try KerasFiles.loadModel(dir + "/z.h5") { notes.append($0) }.weights, m.weights)
        XCTAssertTrue(notes.first?.contains("a .keras zip archive under an HDF5 name") ?? false, "\(notes)")
        // A well-named file gives no note.
        try KerasFiles.saveModel(m, to: dir + "/ok.keras")
        notes = []
        _ = try KerasFiles.loadModel(dir + "/ok.keras") { notes.append($0) }
        XCTAssertEqual(notes, [])
    }
}

/// A graph with a layer that cannot run (a Lambda, a user's class) on a branch: the rest loads
/// and runs, as Keras users take `Model(inputs, model.get_layer(name).output)`.
final class PartialGraphTests: XCTestCase {
    /// tf-keras JSON: x -> lstm -> head, and lstm -> a Lambda "loss" (its code a huge blob
    /// that is never read), and a custom "MyAttention" layer on the head's output.
    static func config(function: String = "4wEAAAAAAAAA") -> String {
        """
        {"class_name": "Model", "keras_version": "2.4.0", "backend": "tensorflow", "config": {"name": "m", "layers": [
          {"class_name": "InputLayer", "name": "x", "config": {"batch_input_shape": [null, 5, 3], "dtype": "float32", "name": "x"}, "inbound_nodes": []},
          {"class_name": "LSTM", "name": "lstm", "config": {"name": "lstm", "units": 4, "return_sequences": true}, "inbound_nodes": [[["x", 0, 0, {}]]]},
          {"class_name": "Dense", "name": "head", "config": {"name": "head", "units": 2}, "inbound_nodes": [[["lstm", 0, 0, {}]]]},
          {"class_name": "Lambda", "name": "loss", "config": {"name": "loss", "function": ["\(function)", null, null], "function_type": "lambda"}, "inbound_nodes": [[["lstm", 0, 0, {}]]]},
          {"class_name": "MyAttention", "name": "att", "config": {"name": "att", "units": 7}, "inbound_nodes": [[["head", 0, 0, {}]]]}],
         "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0], ["loss", 0, 0], ["att", 0, 0]]}}
        """
    }

    /// A legacy full-model file of `config` whose runnable layers have the weights of `part`.
    static func file(_ config: String, weightsOf part: Model<Float>) throws -> [UInt8] {
        let root = H5WriteGroup(file: "partial.h5")
        try root.writeStringAttribute("keras_version", "2.4.0")
        try root.writeStringAttribute("model_config", config)
        try KerasFiles.writeLegacyLayout(try root.createGroup("model_weights"), model: part)
        return try root.encodedFile()
    }

    func part() throws -> Model<Float> {
        let spec = try KerasConfig.parseModel(Self.config(), keepUnrunnable: true).spec
        let head = try KerasFiles.tensor(named: "head", in: spec, path: "")
        let m = try Model<Float>(spec: spec.subgraph(computing: [head]).spec, seed: 1)
        var rng = TestRandom(2)
        try m.setWeights(m.weights.map { w in rng.uniform(w.count).map(Float.init) })
        return m
    }

    func testTheOutputsThatNeedNoUnrunnableLayerLoadAndRun() throws {
        let part = try part()
        let bytes = try Self.file(Self.config(), weightsOf: part)
        var notes: [String] = []
        let m = try KerasFiles.loadModel(bytes: bytes, name: "partial.h5") { notes.append($0) }
        XCTAssertEqual(m.spec.outputs.count, 1)
        XCTAssertEqual(m.spec.outputName(0), "head")
        XCTAssertEqual(m.weights, part.weights)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].hasSuffix("output 'loss' needs layer 'loss' (Lambda), output 'att' needs layer 'att' (MyAttention), which cannot run here: left out; the model computes 'head'"), "\(notes)")
        var rng = TestRandom(3)
        let x = rng.uniform(2 * 5 * 3).map(Float.init)
        func run(_ model: Model<Float>) throws -> [Float] {
            try x.withUnsafeBufferPointer { try model.run([TensorView(shape: [2, 5, 3], data: $0)])[0].values }
        }
        XCTAssertEqual(try run(m), try run(part))
        XCTAssertNil(m.compileSpec)
    }

    func testNamedOutputsLoadTheirPartAndThoseNeedingAnUnrunnableLayerAreRefusedByName() throws {
        let part = try part()
        let bytes = try Self.file(Self.config(), weightsOf: part)
        let lstmOnly = try KerasFiles.loadModel(bytes: bytes, name: "partial.h5", outputs: ["lstm"])
        XCTAssertEqual(lstmOnly.spec.layers.map(\.name), ["lstm"])
        XCTAssertEqual(lstmOnly.weights, Array(part.weights.prefix(3)))
        func refused(_ outputs: [String], _ words: String, line: UInt = #line) {
            XCTAssertThrowsError(try KerasFiles.loadModel(bytes: bytes, name: "partial.h5", outputs: outputs), line: line) { e in
                XCTAssertTrue("\(e)".contains(words), "\(e)", line: line)
            }
        }
        refused(["loss"], "output 'loss' needs layer 'loss' (Lambda), which cannot run here: layer 'loss' (Lambda) holds Python code, which is never run from a file")
        refused(["att"], "output 'att' needs layer 'att' (MyAttention)")
        refused(["nope"], "no layer named 'nope' (the layers: lstm, head, loss, att)")
        refused(["head:1"], "has no such output")
        refused([], "no outputs named")
    }

    func testAGraphWhoseEveryOutputNeedsAnUnrunnableLayerIsRefusedByName() throws {
        let config = Self.config().replacingOccurrences(of: #""output_layers": [["head", 0, 0], ["loss", 0, 0], ["att", 0, 0]]"#,
                                                        with: #""output_layers": [["loss", 0, 0]]"#)
        let bytes = try Self.file(config, weightsOf: try part())
        XCTAssertThrowsError(try KerasFiles.loadModel(bytes: bytes, name: "partial.h5")) { e in
            XCTAssertTrue("\(e)".contains("layer 'loss' (Lambda) holds Python code") && "\(e)".contains("every output of the model needs it"), "\(e)")
        }
    }

    /// A model nested as a layer (not run here yet) that names itself inside: never followed.
    func testANestedModelThatNamesItselfIsKeptOutNotFollowed() throws {
        let nested = #"{"class_name": "Functional", "name": "inner", "config": {"name": "inner", "layers": [{"class_name": "Functional", "config": {"name": "inner"}, "inbound_nodes": [[["inner", 0, 0, {}]]]}]}, "inbound_nodes": [[["lstm", 0, 0, {}]]]}"#
        let config = Self.config().replacingOccurrences(of: #"{"class_name": "MyAttention""#, with: nested + #", {"class_name": "MyAttention""#)
            .replacingOccurrences(of: #"["att", 0, 0]]"#, with: #"["att", 0, 0], ["inner", 0, 0]]"#)
        var notes: [String] = []
        let m = try KerasFiles.loadModel(bytes: try Self.file(config, weightsOf: try part()), name: "nested.h5") { notes.append($0) }
        XCTAssertEqual(m.spec.outputs.count, 1)
        XCTAssertTrue(notes.first?.contains("output 'inner' needs layer 'inner' (Functional)") ?? false, "\(notes)")
    }

    /// A Lambda's function field is never read: megabytes of it, or garbage, change nothing.
    func testALambdasCodeIsNeverRead() throws {
        let part = try part()
        for function in [String(repeating: "A", count: 4 << 20), "\\u0000\\\\\\\"}{]["] {
            let bytes = try Self.file(Self.config(function: function), weightsOf: part)
            XCTAssertEqual(try KerasFiles.loadModel(bytes: bytes, name: "p.h5").weights, part.weights)
        }
    }
}
