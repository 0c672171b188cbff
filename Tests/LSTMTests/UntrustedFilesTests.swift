import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// Paths and files that are not what a model file should be: special files, links, zip bombs,
/// optimizer state out of range; and saves that keep the file's mode and replace link targets.
final class UntrustedFilesTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "lstm-untrusted-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func refusal(_ body: () throws -> Void) -> LSTMError? {
        do { try body(); return nil } catch let e as LSTMError { return e } catch { return .internal("\(error)") }
    }

    func assertRefused(_ path: String, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        let started = Date()
        let e = refusal { _ = try KerasFiles.loadModel(path) }
        XCTAssertNotNil(e, "\(path) accepted", file: file, line: line)
        if let e { XCTAssertTrue(e.message.contains(words), "\(e)", file: file, line: line) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "a load of \(path) must not block", file: file, line: line)
    }

    /// A FIFO, a directory, a device, an empty file and link chains are refused without being
    /// opened for reading (a FIFO would block the caller forever); one link to a file is followed.
    func testOnlyRegularFilesAreRead() throws {
        let fifo = dir + "/model.keras"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        assertRefused(fifo, "a FIFO")
        assertRefused(dir, "a directory")
        assertRefused("/dev/zero", "a device")
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/empty.keras", contents: Data()))
        assertRefused(dir + "/empty.keras", "is empty (0 bytes)")
        assertRefused(dir + "/missing.keras", "No such file")

        let real = KerasFilesTests.file("keras3_sine.keras")
        XCTAssertEqual(symlink(real, dir + "/link.keras"), 0)
        XCTAssertNoThrow(try KerasFiles.loadModel(dir + "/link.keras"))
        XCTAssertEqual(symlink(dir + "/link.keras", dir + "/link2.keras"), 0)
        assertRefused(dir + "/link2.keras", "another symbolic link")
        XCTAssertEqual(symlink(dir + "/loop-b", dir + "/loop-a"), 0)
        XCTAssertEqual(symlink(dir + "/loop-a", dir + "/loop-b"), 0)
        assertRefused(dir + "/loop-a", "symbolic link")
        XCTAssertEqual(symlink(fifo, dir + "/to-fifo.keras"), 0)
        assertRefused(dir + "/to-fifo.keras", "a FIFO")
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        return st.st_mode & 0o777
    }

    /// New files get 0666 less the umask; a replaced file keeps its mode; a save to a symbolic
    /// link replaces the file it points to and leaves the link a link.
    func testSavesKeepModesAndReplaceWhatALinkPointsTo() throws {
        let model = try KerasFiles.loadModel(KerasFilesTests.file("keras3_sine.keras"))
        let old = umask(0o022)
        defer { umask(old) }
        for suffix in [".keras", ".h5", ".weights.h5"] {
            let path = dir + "/new" + suffix
            umask(0o022)
            try KerasFiles.saveModelOrWeights(model, to: path)
            XCTAssertEqual(mode(path), 0o644, suffix)
            umask(0o077)
            let other = dir + "/private" + suffix
            try KerasFiles.saveModelOrWeights(model, to: other)
            XCTAssertEqual(mode(other), 0o600, suffix)
            // Replaced under umask 077, the 0644 file stays 0644.
            try KerasFiles.saveModelOrWeights(model, to: path)
            XCTAssertEqual(mode(path), 0o644, suffix)
            XCTAssertEqual(chmod(path, 0o640), 0)
            try KerasFiles.saveModelOrWeights(model, to: path)
            XCTAssertEqual(mode(path), 0o640, suffix)
        }
        let target = dir + "/target.keras", link = dir + "/current.keras"
        XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: Data("old".utf8)))
        XCTAssertEqual(symlink(target, link), 0)
        try KerasFiles.saveModel(model, to: link)
        var st = stat()
        XCTAssertEqual(lstat(link, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link is still a link")
        XCTAssertGreaterThan(try FileIO.read(target).count, 1000, "the file it points to holds the model")
        XCTAssertNoThrow(try KerasFiles.loadModel(link))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    /// Members that share bytes (a zip bomb's trick) or names are refused before inflating.
    func testZipMembersMayNotOverlapOrRepeat() throws {
        let config = Array(try JSON.parse("{}").serialized().utf8)
        let twice = Zip.write([Zip.Entry(name: "config.json", data: config), Zip.Entry(name: "config.json", data: config)])
        XCTAssertTrue(refusal { _ = try Zip.members(twice, file: "twice.keras") }?.message.contains("two members") ?? false)

        // One stream listed 12 times under different names: rewrite the central directory so
        // that every entry points at the first local header.
        let entries = (0..<12).map { Zip.Entry(name: "m\($0).bin", data: [UInt8](repeating: 7, count: 64)) }
        var bomb = Zip.write(entries)
        let eocd = bomb.count - 22
        let dirOffset = Int(bomb[eocd + 16]) | Int(bomb[eocd + 17]) << 8 | Int(bomb[eocd + 18]) << 16 | Int(bomb[eocd + 19]) << 24
        var p = dirOffset
        for _ in 0..<12 {
            for k in 0..<4 { bomb[p + 42 + k] = 0 }  // local header offset 0
            let nameLength = Int(bomb[p + 28]) | Int(bomb[p + 29]) << 8
            p += 46 + nameLength
        }
        let e = refusal { _ = try Zip.members(bomb, file: "bomb.keras") }
        XCTAssertTrue(e?.message.contains("overlap") ?? false, "\(String(describing: e))")
        XCTAssertEqual(try Zip.members(Zip.write(entries), file: "fine.keras").count, 12)
    }

    /// Optimizer state from a file is checked before it is kept; the weights stay as they were.
    func testOptimizerStateOutOfRangeIsRefused() throws {
        let model = try KerasFiles.loadModel(KerasFilesTests.file("keras3_sine.keras"))
        let before = model.weights, optimizerBefore = model.optimizerSlots
        for (name, words) in [("sine_iterations_max.weights.h5", "out of range"), ("sine_negative_velocity.weights.h5", "mean of squares")] {
            let path = KerasFilesTests.fixtures.appendingPathComponent("hostile/\(name)").path
            let e = refusal { try KerasFiles.loadWeights(path, into: model) }
            XCTAssertTrue(e?.message.contains(words) ?? false, "\(name): \(String(describing: e))")
            XCTAssertEqual(model.weights, before, name)
            XCTAssertEqual(model.optimizerSlots?.iterations, optimizerBefore?.iterations, name)
            XCTAssertEqual(model.optimizerSlots?.slots, optimizerBefore?.slots, name)
        }
    }

    /// A weight whose deflated chunk would inflate to 64 MiB is refused by its shape before a
    /// byte of it is inflated (its stream is broken on purpose: inflating it would fail first).
    func testWeightsOfTheWrongShapeAreNotInflated() throws {
        let model = try KerasFiles.loadModel(KerasFilesTests.file("keras3_sine.keras"))
        let before = model.weights
        let path = KerasFilesTests.fixtures.appendingPathComponent("hostile/sine_inflating_kernel.weights.h5").path
        let e = refusal { try KerasFiles.loadWeights(path, into: model) }
        guard case .shapeMismatch(let m)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(m.contains("(4096, 4096)"), m)
        XCTAssertEqual(model.weights, before)
    }

    /// Every Keras fixture, truncated and with bytes flipped, through both load functions in
    /// process: each load gives a model or an error, and a failed weights load leaves the model
    /// as it was.
    func testDamagedKerasFilesThroughEveryLoadFunction() throws {
        var rng = SeededRandom(seed: 7)
        var outcomes = (loaded: 0, refused: 0)
        let dir = KerasFilesTests.fixtures.appendingPathComponent("files").path
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
            let bytes = try FileIO.read(dir + "/" + name)
            guard let model = try? KerasFiles.loadModel(bytes: bytes, name: name) else { continue }  // weights-only files
            let before = model.weights
            var variants: [[UInt8]] = (1...8).map { Array(bytes.prefix(bytes.count * $0 / 9)) }
            for _ in 0..<16 {
                var b = bytes
                for _ in 0..<(1 + Int(rng.next() % 4)) { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8)) }
                variants.append(b)
            }
            for v in variants {
                if (try? KerasFiles.loadModel(bytes: v, name: name)) != nil { outcomes.loaded += 1 } else { outcomes.refused += 1 }
                do {
                    try KerasFiles.loadWeights(bytes: v, name: name, into: model)
                    try model.setWeights(before)
                } catch {
                    XCTAssertEqual(model.weights, before, "\(name): a failed load changed the weights")
                }
            }
        }
        print("damaged Keras files: \(outcomes.loaded) loaded, \(outcomes.refused) refused")
        XCTAssertGreaterThan(outcomes.refused, 100)
    }

    /// A learning rate so large (finite in Double, not in float32) that the first update
    /// overflows: fit fails and the weights are those from before that update, never non-finite.
    func testAnOverflowingUpdateIsUndone() throws {
        let model = try KerasFiles.loadModel(KerasFilesTests.file("keras3_sine.keras"))
        try model.compile(CompileSpec(loss: .meanSquaredError, optimizer: .sgd(learningRate: 1e300, momentum: 0, nesterov: false)))
        let before = model.weights
        let x = (0..<48).map { Float(sin(Double($0) * 0.3)) }, y: [Float] = [0.5, -0.5, 1, -1]
        var options = FitOptions()
        options.epochs = 1
        options.batchSize = 4
        let e = x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                refusal { _ = try model.fit(x: xb, y: yb, count: 4, timesteps: 12, options: options, onEpoch: { _ in false }) }
            }
        }
        XCTAssertTrue(e?.message.contains("not applied") ?? false, "\(String(describing: e))")
        XCTAssertEqual(model.weights, before)
        XCTAssertTrue(model.weights.allSatisfy { $0.allSatisfy(\.isFinite) })
        // Adam (weight decay on): one finite update, then one that overflows; the failed one
        // leaves the weights, the moments and the update count as the finite one left them.
        try model.compile(CompileSpec(loss: .meanSquaredError, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        model.optimizer!.spec.weightDecay = 0.004
        let fit = { (epochs: Int) in
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeBufferPointer { yb in
                    var o = options
                    o.epochs = epochs
                    return self.refusal { _ = try model.fit(x: xb, y: yb, count: 4, timesteps: 12, options: o, onEpoch: { _ in false }) }
                }
            }
        }
        XCTAssertNil(fit(1))
        let (weights, slots) = (model.weights, model.optimizer!.slots)
        XCTAssertEqual(model.optimizerIterations, 1)
        model.optimizer!.spec.learningRate = 1e300
        XCTAssertTrue(fit(1)?.message.contains("not applied") ?? false)
        XCTAssertEqual(model.weights, weights)
        XCTAssertEqual(model.optimizer!.slots, slots)
        XCTAssertEqual(model.optimizerIterations, 1)
    }
}

extension KerasFiles {
    /// A whole model for .keras and .h5, weights for .weights.h5.
    static func saveModelOrWeights(_ model: Model<Float>, to path: String) throws {
        if path.hasSuffix(".weights.h5") { try saveWeights(model, to: path) } else { try saveModel(model, to: path) }
    }
}
