import LSTMCore

/// A group of an HDF5 file being written: its members (groups, float32 arrays, int64 scalars)
/// and string attributes, held in memory until `HDF5Encoder` lays the whole file out. This is
/// everything the Keras layouts write, and what the library writes instead of going through
/// libhdf5 (which the tests use as the oracle that reads these files back).
///
/// A class, because the layouts build a tree by walking it: a group fetched again with
/// `group(_:)` is the one already there, and what is added to it shows in the file.
final class H5WriteGroup {
    enum Member {
        case group(H5WriteGroup)
        case float32(shape: [Int], values: [Float])
        case int64(Int64)
    }

    /// A variable-length UTF-8 string attribute, as h5py writes a Python str (`scalar`) or a
    /// list of them (a 1-D array).
    struct StringsAttribute {
        let name: String
        let values: [String]
        let scalar: Bool
    }

    /// Where it is, for messages: "file.h5:/layers/lstm".
    let location: String
    /// In the order they were added (HDF5 readers list members by name whatever the order).
    private(set) var members: [(name: String, member: Member)] = []
    private(set) var attributes: [StringsAttribute] = []

    /// The root group of a new file; `name` names the file in messages.
    init(file name: String) { location = name + ":" }

    private init(location: String) { self.location = location }

    func path(_ name: String) -> String { location + "/" + name }

    private func member(_ name: String) -> Member? { members.first { $0.name == name }?.member }

    func isGroup(_ name: String) -> Bool {
        if case .group = member(name) { return true }
        return false
    }

    func group(_ name: String) throws -> H5WriteGroup {
        guard case .group(let g) = member(name) else { throw LSTMError.internal("\(path(name)): no such group") }
        return g
    }

    func createGroup(_ name: String) throws -> H5WriteGroup {
        let g = H5WriteGroup(location: path(name))
        try add(name, .group(g))
        return g
    }

    /// A float32 array of `shape` (`[]`: a scalar) holding `values` in row-major order.
    func writeFloats(_ name: String, shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), try checkedProduct(shape, path(name)) == values.count else {
            throw LSTMError.internal("\(path(name)): \(values.count) values for shape \(shape)")
        }
        try add(name, .float32(shape: shape, values: values))
    }

    /// An int64 scalar (Keras's optimizer `iterations`).
    func writeInt(_ name: String, _ value: Int64) throws {
        try add(name, .int64(value))
    }

    /// Writes a string attribute (replacing one of the same name): variable-length UTF-8, scalar
    /// (one value) or a 1-D array, as h5py writes a str or a list of them.
    func writeStringsAttribute(_ name: String, _ values: [String], scalar: Bool = false) throws {
        let where_ = "\(location) attribute '\(name)'"
        // The attribute message of the format's first version stores its name as plain ASCII.
        guard !name.isEmpty, name.utf8.count < 1 << 15, name.utf8.allSatisfy({ $0 > 0 && $0 < 0x80 }) else {
            throw LSTMError.invalidArgument("\(where_): an attribute name must be ASCII without NUL")
        }
        guard !scalar || values.count == 1 else { throw LSTMError.internal("\(where_): a scalar holds one value") }
        // Readers hand strings over NUL-terminated: one inside would cut the value short.
        if let bad = values.first(where: { $0.utf8.contains(0) }) {
            throw LSTMError.invalidArgument("\(where_): the value '\(bad.prefix(60))' holds a NUL character")
        }
        attributes.removeAll { $0.name == name }
        attributes.append(StringsAttribute(name: name, values: values, scalar: scalar))
    }

    func writeStringAttribute(_ name: String, _ value: String) throws {
        try writeStringsAttribute(name, [value], scalar: true)
    }

    /// The whole file whose root this group is, laid out as HDF5 bytes.
    func encodedFile() throws -> [UInt8] { try HDF5Encoder.encode(self) }

    private func add(_ name: String, _ m: Member) throws {
        // HDF5 reads "/" as a path separator and "." as the group itself.
        guard !name.isEmpty, name != ".", !name.utf8.contains(UInt8(ascii: "/")), !name.utf8.contains(0),
              name.utf8.count < 1 << 16 else {
            throw LSTMError.invalidArgument("\(path(name)): '\(name.prefix(60))' cannot name an HDF5 member (empty, '.', or holding '/' or NUL)")
        }
        guard member(name) == nil else { throw LSTMError.invalidArgument("\(path(name)): written twice") }
        members.append((name, m))
    }
}
