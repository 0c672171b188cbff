import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// The library's own HDF5 writer (Sources/LSTMKeras/HDF5Writer) against libhdf5, the format's
/// reference implementation: what it writes, libhdf5 opens and reads back member for member,
/// value for value (bit-identical floats), and so does the library's reader. Keras itself
/// reading the files the library saves is `make test-keras` (h5py over HDF5 1.14).
final class HDF5WriterTests: XCTestCase {
    /// libhdf5's and our reader's walk of `bytes`, which must agree; returns libhdf5's.
    func walkBoth(_ bytes: [UInt8], _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let temp = NSTemporaryDirectory() + "hdf5-writer-\(getpid()).h5"
        defer { unlink(temp) }
        try FileIO.write(bytes, to: temp)
        var theirs: [String] = [], ours: [String] = []
        try HDF5.locked { try HDF5ReaderTests.dump(try H5Group.openFile(temp), into: &theirs) }
        try HDF5ReaderTests.dump(try HDF5Reader.open(bytes, name: name), into: &ours)
        XCTAssertEqual(ours, theirs, "\(name): our reader and libhdf5 disagree", file: file, line: line)
        return theirs
    }

    /// Every form the Keras layouts write, at the sizes that change how the format stores it.
    func testLibhdf5ReadsEveryFormTheWriterWrites() throws {
        let root = H5WriteGroup(file: "forms.h5")
        let longText = String(repeating: "{\"layer\": \"ü\"} ", count: 7_000)  // 112 KB, past a header message
        try root.writeStringAttribute("model_config", longText)
        try root.writeStringAttribute("keras_version", "3.15.0")
        try root.writeStringsAttribute("layer_names", ["lstm", "dense", "ünïcode", ""])
        try root.writeStringsAttribute("empty_list", [])
        try root.writeStringsAttribute("replaced", ["first"])
        try root.writeStringsAttribute("replaced", ["second", "value"])
        let layers = try root.createGroup("layers")
        let lstm = try layers.createGroup("lstm").createGroup("cell").createGroup("vars")
        let kernel = (0..<(3 * 16)).map { Float($0) * 0.37 - 5 }
        try lstm.writeFloats("0", shape: [3, 16], values: kernel)
        try lstm.writeFloats("1", shape: [2, 0], values: [])
        try lstm.writeFloats("2", shape: [0], values: [])
        try lstm.writeFloats("3", shape: [2, 1, 2, 1], values: [.pi, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude])
        try lstm.writeStringAttribute("name", "lstm_cell")
        let optimizer = try root.createGroup("optimizer").createGroup("vars")
        try optimizer.writeInt("0", 12_345_678_901)
        try optimizer.writeInt("1", -7)
        try optimizer.writeFloats("2", shape: [], values: [0.001])
        XCTAssertTrue(try root.group("layers").group("lstm").isGroup("cell"))
        _ = try root.createGroup("empty")
        let many = try root.createGroup("many")
        for k in 0..<400 {
            let g = try many.createGroup(String(format: "member_%03d", k))
            // 4,000 strings in all: several global heap collections.
            try g.writeStringsAttribute("weight_names", (0..<10).map { "layer_\(k)/weight_\($0):0" })
        }
        try root.createGroup(String(repeating: "ñ", count: 150)).writeStringAttribute("name", "x")
        let bytes = try root.encodedFile()

        let lines = try walkBoth(bytes, "forms.h5")
        func has(_ line: String) { XCTAssertTrue(lines.contains(line), "libhdf5 did not read \(line.prefix(200))") }
        has("A @model_config = \([longText])")
        has("A @layer_names = [\"lstm\", \"dense\", \"ünïcode\", \"\"]")
        has("A @empty_list = []")
        has("A @replaced = [\"second\", \"value\"]")
        has("F /layers/lstm/cell/vars/0 [3, 16] \(kernel.map(\.bitPattern))")
        has("F /layers/lstm/cell/vars/1 [2, 0] []")
        has("F /layers/lstm/cell/vars/2 [0] []")
        has("F /layers/lstm/cell/vars/3 [2, 1, 2, 1] \([Float.pi, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude].map(\.bitPattern))")
        has("A /layers/lstm/cell/vars@name = [\"lstm_cell\"]")
        has("I /optimizer/vars/0 12345678901")
        has("I /optimizer/vars/1 -7")
        has("F /optimizer/vars/2 [] [\(Float(0.001).bitPattern)]")
        has("G /empty")
        has("A /many/member_399@weight_names = \((0..<10).map { "layer_399/weight_\($0):0" })")
        XCTAssertEqual(lines.filter { $0.hasPrefix("G /many/") }.count, 400)
        has("A /\(String(repeating: "ñ", count: 150))@name = [\"x\"]")
        // 5 root attributes; layers/lstm/cell/vars with its attribute and 4 arrays; optimizer/vars
        // with 3 values; empty; many with 400 groups of one attribute; the long UTF-8 name and its attribute.
        XCTAssertEqual(lines.count, 5 + 9 + 5 + 1 + 1 + 800 + 2, "\(lines.count) items")
        // The end-of-file address in the superblock is the file's size.
        XCTAssertEqual(bytes[40..<48].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }, bytes.count)
    }

    /// Every HDF5 fixture (written by h5py, tf-keras and Keras, in every layout they use) read,
    /// written again through the writer, and read by libhdf5: the same members, strings and
    /// values as libhdf5 reads in the original. (Float64 arrays come back as float32 and
    /// fixed-length strings as variable-length ones: the walk reads both as the same values.)
    func testFixturesRewrittenReadTheSameInLibhdf5() throws {
        var files = 0, items = 0
        for (name, bytes) in try HDF5ReaderTests.hdf5Fixtures() {
            let original = try walkBoth(bytes, name)
            // Only what the writer has forms for: no non-string attributes, soft or external
            // links, or dataset types other than floats and int64 scalars.
            guard !original.contains(where: { $0.hasPrefix("?") || $0.hasSuffix("unreadable") || $0.hasSuffix("not strings") }) else { continue }
            let copy = H5WriteGroup(file: name)
            try Self.copy(try HDF5Reader.open(bytes, name: name), to: copy)
            XCTAssertEqual(try walkBoth(try copy.encodedFile(), name + " (rewritten)"), original, name)
            files += 1
            items += original.count
        }
        XCTAssertGreaterThanOrEqual(files, 30)
        print("HDF5 writer: \(files) fixture files rewritten, \(items) items as libhdf5 reads the originals")
    }

    private static func copy(_ from: H5ReadGroup, to: H5WriteGroup, depth: Int = 0) throws {
        for a in try from.attributeNames() {
            if let values = try from.stringsAttribute(a) { try to.writeStringsAttribute(a, values) }
        }
        guard depth < 8 else { return }  // as the walk: links.h5 links the root into itself
        for name in from.memberNames() {
            if from.isGroup(name) {
                try copy(try from.group(name), to: try to.createGroup(name), depth: depth + 1)
            } else if let (shape, values) = try? from.readFloats(name) {
                try to.writeFloats(name, shape: shape, values: values)
            } else {
                try to.writeInt(name, try from.readInt(name))
            }
        }
    }

    /// A scalar string (Keras reads `keras_version` as a str) stays a scalar, a list of one a list.
    func testScalarAndArrayStringsKeepTheirShape() throws {
        let root = H5WriteGroup(file: "shapes.h5")
        try root.writeStringAttribute("scalar", "one")
        try root.writeStringsAttribute("array", ["one"])
        let temp = NSTemporaryDirectory() + "hdf5-shapes-\(getpid()).h5"
        defer { unlink(temp) }
        try FileIO.write(try root.encodedFile(), to: temp)
        try HDF5.locked {
            let file = try H5Group.openFile(temp)
            XCTAssertEqual(file.attributeRank("scalar"), 0)
            XCTAssertEqual(file.attributeRank("array"), 1)
        }
    }

    /// What the format cannot say is refused by name before anything is written.
    func testRefusesNamesAndValuesTheFormatCannotHold() throws {
        let root = H5WriteGroup(file: "bad.h5")
        for name in ["", ".", "a/b", "nul\u{0}"] {
            XCTAssertThrowsError(try root.createGroup(name), name) { XCTAssertTrue("\($0)".contains("cannot name an HDF5 member"), "\($0)") }
        }
        _ = try root.createGroup("g")
        XCTAssertThrowsError(try root.writeInt("g", 1)) { XCTAssertTrue("\($0)".contains("written twice"), "\($0)") }
        XCTAssertThrowsError(try root.writeFloats("w", shape: [2, 3], values: [1, 2])) { XCTAssertTrue("\($0)".contains("2 values for shape [2, 3]"), "\($0)") }
        XCTAssertThrowsError(try root.writeFloats("w", shape: [Int.max, 3], values: [])) { XCTAssertTrue("\($0)".contains("w"), "\($0)") }
        XCTAssertThrowsError(try root.writeStringAttribute("ñ", "x")) { XCTAssertTrue("\($0)".contains("ASCII"), "\($0)") }
        XCTAssertThrowsError(try root.writeStringAttribute("a", "x\u{0}y")) { XCTAssertTrue("\($0)".contains("NUL"), "\($0)") }
        // 5,000 strings in one attribute need 80 KB of heap IDs: more than one header message.
        try root.writeStringsAttribute("names", (0..<5_000).map(String.init))
        XCTAssertThrowsError(try root.encodedFile()) { XCTAssertTrue("\($0)".contains("too many values in one attribute"), "\($0)") }
    }
}
