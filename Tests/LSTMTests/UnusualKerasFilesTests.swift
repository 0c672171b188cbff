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
