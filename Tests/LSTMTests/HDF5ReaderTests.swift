import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// The HDF5 reader (Sources/LSTMKeras/HDF5Reader) against libhdf5, the format's reference
/// implementation, on every HDF5 fixture: the same members, attributes, strings and bit-identical
/// values. Then damaged and hostile files: each must give an error, never a crash or a hang.
final class HDF5ReaderTests: XCTestCase {
    static let fixtures = KerasFilesTests.fixtures

    /// Every HDF5 file among the fixtures, with its bytes (the weights inside each .keras too).
    static func hdf5Fixtures() throws -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for folder in ["hdf5", "files", "graphs"] {
            let dir = fixtures.appendingPathComponent(folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            for name in names.sorted() {
                let bytes = try FileIO.read(dir.appendingPathComponent(name).path)
                if name.hasSuffix(".keras") {
                    if let weights = try Zip.data("model.weights.h5", in: bytes, file: name) {
                        out.append(("\(folder)/\(name):model.weights.h5", weights))
                    }
                } else if name.hasSuffix(".h5") {
                    out.append(("\(folder)/\(name)", bytes))
                }
            }
        }
        return out
    }

    /// The contents of a file as lines of text, walked the same way through either reader.
    static func dump<G: HDF5Walkable>(_ g: G, _ path: String = "", depth: Int = 0, into out: inout [String]) throws {
        for a in try g.attributeNames() {
            let value: String
            do { value = try g.stringsAttribute(a).map { "\($0)" } ?? "absent" } catch { value = "not strings" }
            out.append("A \(path)@\(a) = \(value)")
        }
        guard depth < 8 else { return }  // links.h5 links the root into itself
        for name in try g.memberNames() {
            let p = path + "/" + name
            if g.isGroup(name) {
                out.append("G \(p)")
                try dump(try g.group(name), p, depth: depth + 1, into: &out)
            } else if g.isDataset(name) {
                if let (shape, values) = try? g.readFloats(name) {
                    out.append("F \(p) \(shape) \(values.map(\.bitPattern))")
                } else if let v = try? g.readInt(name) {
                    out.append("I \(p) \(v)")
                } else {
                    out.append("D \(p) unreadable")
                }
            } else {
                out.append("? \(p)")
            }
        }
    }

    func testReaderMatchesLibhdf5OnEveryFixture() throws {
        let files = try Self.hdf5Fixtures()
        XCTAssertGreaterThanOrEqual(files.count, 35)
        let temp = NSTemporaryDirectory() + "hdf5-oracle-\(getpid()).h5"
        defer { unlink(temp) }
        var lines = 0
        for (name, bytes) in files {
            var ours: [String] = [], theirs: [String] = []
            try Self.dump(try HDF5Reader.open(bytes, name: name), into: &ours)
            try FileIO.write(bytes, to: temp)
            try HDF5.locked { try Self.dump(try H5Group.openFile(temp), into: &theirs) }
            XCTAssertEqual(ours.count, theirs.count, name)
            for (a, b) in zip(ours, theirs) where a != b {
                XCTFail("\(name): ours \(a.prefix(300)) / libhdf5 \(b.prefix(300))")
                break
            }
            XCTAssertFalse(ours.contains { $0.hasSuffix("unreadable") || $0.hasPrefix("?") }, "\(name): \(ours.filter { $0.hasSuffix("unreadable") || $0.hasPrefix("?") })")
            lines += ours.count
        }
        print("HDF5 reader = libhdf5 on \(files.count) files, \(lines) items")
    }

    /// What the h5py fixtures hold, checked directly (not only through libhdf5).
    func testReaderReadsEveryLayoutH5pyWrites() throws {
        func open(_ name: String) throws -> H5ReadGroup {
            let path = Self.fixtures.appendingPathComponent("hdf5/\(name)").path
            return try HDF5Reader.open(try FileIO.read(path), name: path)
        }
        for name in ["earliest.h5", "latest.h5", "dense.h5", "user_block.h5"] {
            let f = try open(name)
            XCTAssertEqual(try f.stringsAttribute("layer_names"), ["lstm", "dense", "ünïcode"], name)
            XCTAssertEqual(try f.stringsAttribute("fixed_names"), ["lstm", "dense_1", ""], name)
            XCTAssertEqual(try f.stringsAttribute("fixed_scalar"), ["tf-keras"], name)
            XCTAssertEqual(try f.stringsAttribute("empty_list"), [], name)
            XCTAssertNil(try f.stringsAttribute("absent"), name)
            XCTAssertEqual(try f.group("optimizer/vars").readInt("0"), 12_345_678_901, name)
            XCTAssertEqual(try f.readFloats("layers/lstm/cell/vars/0").shape, [3, 16], name)
            XCTAssertEqual(try f.readFloats("layers/dense/vars/1").shape, [0], name)
            XCTAssertEqual(try f.readFloats("optimizer/vars/1").shape, [], name)
            XCTAssertTrue(f.isGroup("empty") && f.isDataset("layers/dense/vars/0") && !f.has("layers/nope"), name)
        }
        XCTAssertEqual(try open("earliest.h5").readFloats("compact").values, [1.5, -2.25, 3.0])
        let dense = try open("dense.h5")
        XCTAssertEqual(dense.memberNames(), ["empty", "layers", "many", "many_links", "optimizer"])
        XCTAssertEqual(try dense.group("many_links").memberNames().count, 400)
        XCTAssertEqual(try dense.group("many").memberNames().count, 40)
        XCTAssertEqual(try dense.group("layers").attributeNames().count, 31)
        XCTAssertEqual(try dense.group("layers").stringsAttribute("attr_29"), [String(repeating: "value 29 ", count: 30)])
        XCTAssertEqual(try dense.group("layers").stringsAttribute("names")?.last, "n49")
        XCTAssertEqual(try open("many_members.h5").group("links").memberNames().count, 300)
        let big = try open("big_endian.h5")
        XCTAssertEqual(try big.readInt("i4"), -123_456)
        XCTAssertEqual(try big.readInt("u1"), 250)
        XCTAssertEqual(try big.readInt("i2"), -2)
        XCTAssertEqual(try big.readInt("i8_big"), (1 << 40) + 7)
        let chunked = try open("chunked_latest.h5")
        XCTAssertEqual(try chunked.readFloats("paged").values.count, 1100)
        XCTAssertEqual(try chunked.readFloats("fixed_array").shape, [37, 29])
    }

    /// Files that point outside themselves, or declare what they do not hold, are refused by name.
    func testReaderRefusesWhatPointsOutsideTheFile() throws {
        func open(_ name: String) throws -> H5ReadGroup {
            let path = Self.fixtures.appendingPathComponent("hostile/\(name)").path
            return try HDF5Reader.open(try FileIO.read(path), name: path)
        }
        func refuses(_ body: @autoclosure () throws -> Any, _ words: String, _ kind: (LSTMError) -> Bool,
                     file: StaticString = #filePath, line: UInt = #line) {
            do {
                _ = try body()
                XCTFail("accepted; expected a refusal naming \(words)", file: file, line: line)
            } catch let e as LSTMError {
                XCTAssertTrue(e.message.contains(words) && kind(e), "\(e)", file: file, line: line)
            } catch {
                XCTFail("\(error)", file: file, line: line)
            }
        }
        func unsupported(_ e: LSTMError) -> Bool { if case .unsupported = e { return true }; return false }
        func format(_ e: LSTMError) -> Bool { if case .format = e { return true }; return false }
        refuses(try open("external_storage.h5").readFloats("w"), "external storage", unsupported)
        refuses(try open("virtual_missing_source.h5").readFloats("w"), "virtual dataset", unsupported)
        for name in ["w", "a", "b"] { refuses(try open("virtual_cycles.h5").readFloats(name), "virtual dataset", unsupported) }
        let links = try open("links.h5")
        XCTAssertEqual(try links.readFloats("real").values, [1, 1, 1])
        refuses(try links.readFloats("soft"), "soft link", unsupported)
        refuses(try links.readFloats("external"), "external link", unsupported)
        XCTAssertEqual(try links.group("self").group("self").readFloats("real").values, [1, 1, 1])
        refuses(try open("huge_unwritten.h5").readFloats("w"), "declares 2147483647 values", format)
    }

    /// Every fixture truncated at many points and with bytes flipped, in its headers and
    /// anywhere: each read either succeeds or throws; none crashes, traps or hangs.
    func testDamagedFilesGiveErrorsInProcess() throws {
        var rng = SeededRandom(seed: 20261202)
        var outcomes = (ok: 0, refused: 0)
        for (name, bytes) in try Self.hdf5Fixtures() {
            var variants: [[UInt8]] = [[], Array(bytes.prefix(8))]
            for k in 1...24 { variants.append(Array(bytes.prefix(bytes.count * k / 25))) }
            for _ in 0..<40 {
                var b = bytes
                // Most structures sit in the first few KB; half the flips go there.
                let span = rng.next() % 2 == 0 ? min(4096, b.count) : b.count
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    b[Int(rng.next() % UInt64(span))] ^= UInt8(1 << (rng.next() % 8))
                }
                variants.append(b)
            }
            for v in variants {
                do {
                    var lines: [String] = []
                    try Self.dump(try HDF5Reader.open(v, name: name), into: &lines)
                    outcomes.ok += 1
                } catch is LSTMError {
                    outcomes.refused += 1
                }
            }
        }
        print("damaged HDF5 files: \(outcomes.ok) read, \(outcomes.refused) refused")
        XCTAssertGreaterThan(outcomes.refused, 800)
    }
}

/// What the contents walk needs, served alike by the reader and by libhdf5.
protocol HDF5Walkable {
    func attributeNames() throws -> [String]
    func stringsAttribute(_ name: String) throws -> [String]?
    func memberNames() throws -> [String]
    func isGroup(_ name: String) -> Bool
    func isDataset(_ name: String) -> Bool
    func group(_ name: String) throws -> Self
    func readFloats(_ name: String) throws -> (shape: [Int], values: [Float])
    func readInt(_ name: String) throws -> Int64
}

extension H5ReadGroup: HDF5Walkable {}
extension H5Group: HDF5Walkable {}
