import LSTMCore

/// A group of an HDF5 file opened by `HDF5Reader`: its members, datasets and string
/// attributes, as the Keras file layouts need them.
///
/// Archives that tf.keras wrote on Windows name nested groups with backslashes in one flat name
/// ("layers\\lstm\\cell" at the root): paths are looked up through those as through nested
/// groups, so "layers/lstm/cell/vars" finds them and the listing shows "layers" (a name's parts
/// may not be empty, "." or "..").
struct H5ReadGroup {
    let reader: HDF5Reader
    /// The group's object header, which identifies it (a group reachable by two paths is one);
    /// -1 for a group that only backslash names make.
    let address: Int
    /// Where it is, for messages: "file.h5:/layers/lstm".
    let location: String
    private let members: [String: HDF5Link]
    /// Below each first part of the backslash names here: the rest of those names, and their links.
    private let backslashed: [String: [String: HDF5Link]]

    /// The group at `address` (nil: one only backslash names make), with `extra` members: the
    /// rest of the backslash names of the group above that start with this group's name.
    init(_ reader: HDF5Reader, address: Int?, location: String, extra: [String: HDF5Link] = [:]) throws {
        self.reader = reader
        self.address = address ?? -1
        self.location = location
        var all = try address.map { try reader.members($0, location: location) } ?? [:]
        for (name, link) in extra where all[name] == nil { all[name] = link }
        var nested: [String: [String: HDF5Link]] = [:]
        for (name, link) in all where name.contains("\\") {
            let parts = name.split(separator: "\\", omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
                throw reader.file.unsupported("\(location)/\(name): a member whose Windows-style path has an empty, '.' or '..' part")
            }
            nested[String(parts[0]), default: [:]][parts.dropFirst().joined(separator: "\\")] = link
        }
        members = all
        backslashed = nested
    }

    private var file: HDF5Bytes { reader.file }

    func path(_ name: String) -> String { location + "/" + name }

    // MARK: Members

    /// The object `name` (one level, or a/b/c) refers to, nil if there is none (or only
    /// backslash names make it).
    private func resolve(_ name: String) throws -> Int? {
        try resolveMember(name)?.address
    }

    /// What `name` refers to: the object's address, nil for a group only backslash names make
    /// (with the rest of those names below it); nil if nothing is there.
    private func resolveMember(_ name: String) throws -> (address: Int?, extra: [String: HDF5Link])? {
        var group = self
        let parts = name.split(separator: "/").map(String.init)
        for (k, part) in parts.enumerated() {
            let extra = group.backslashed[part] ?? [:]
            guard let link = group.members[part] else {
                guard !extra.isEmpty else { return nil }
                if k == parts.count - 1 { return (nil, extra) }
                group = try H5ReadGroup(reader, address: nil, location: group.path(part), extra: extra)
                continue
            }
            switch link.target {
            case .object(let at):
                if k == parts.count - 1 { return (at, extra) }
                guard try reader.kind(at) == .group else { return nil }
                group = try H5ReadGroup(reader, address: at, location: group.path(part), extra: extra)
            case .soft(let target):
                throw file.unsupported("\(group.path(part)): a soft link (to '\(target)')")
            case .external:
                throw file.unsupported("\(group.path(part)): an external link (to another file)")
            case .undefined:
                throw file.damaged("\(group.path(part)) is a link to nothing")
            }
        }
        return nil
    }

    /// Whether `name` (one level, or a/b/c) exists here.
    func has(_ name: String) -> Bool { ((try? resolveMember(name)) ?? nil) != nil }

    func isGroup(_ name: String) -> Bool { kind(name) == .group }
    func isDataset(_ name: String) -> Bool { kind(name) == .dataset }

    private func kind(_ name: String) -> HDF5Reader.Kind? {
        guard let member = (try? resolveMember(name)) ?? nil else { return nil }
        guard let at = member.address else { return .group }
        return try? reader.kind(at)
    }

    func group(_ name: String) throws -> H5ReadGroup {
        guard let member = try resolveMember(name), try member.address.map({ try reader.kind($0) }) ?? .group == .group else {
            throw LSTMError.format("\(path(name)): group not found")
        }
        return try H5ReadGroup(reader, address: member.address, location: path(name), extra: member.extra)
    }

    /// Names of the members in HDF5's name order (byte-wise ascending), as libhdf5 lists them;
    /// backslash names are listed as the nested groups they stand for (their first parts).
    func memberNames() -> [String] {
        Set(members.keys.filter { !$0.contains("\\") }).union(backslashed.keys)
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    // MARK: Datasets

    /// A float dataset (float32 or float64, converted to float32), with its shape.
    func readFloats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let (dims, type, raw) = try readDataset(name)
        guard case .float(let size, let bigEndian) = type else {
            throw LSTMError.format("\(path(name)): expected float32 or float64 values, found \(type.description)")
        }
        let count = raw.count / size
        var values = [Float](repeating: 0, count: count)
        raw.withUnsafeBytes { p in
            for i in 0..<count {
                if size == 4 {
                    let bits = p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    values[i] = Float(bitPattern: bigEndian ? bits.byteSwapped : bits)
                } else {
                    let bits = p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    values[i] = Float(Double(bitPattern: bigEndian ? bits.byteSwapped : bits))
                }
            }
        }
        return (dims, values)
    }

    /// A scalar integer dataset (Keras's optimizer `iterations`).
    func readInt(_ name: String) throws -> Int64 {
        let (dims, type, raw) = try readDataset(name)
        guard dims.reduce(1, *) == 1 else { throw LSTMError.format("\(path(name)): expected one value") }
        guard case .integer(let size, let signed, let bigEndian) = type else {
            throw LSTMError.format("\(path(name)): expected an integer, found \(type.description)")
        }
        let bytes = bigEndian ? Array(raw.reversed()) : raw
        var v: UInt64 = 0
        for k in stride(from: size - 1, through: 0, by: -1) { v = v << 8 | UInt64(bytes[k]) }
        if signed, size < 8, v >> (size * 8 - 1) & 1 == 1 { v |= ~0 << UInt64(size * 8) }  // sign-extend
        guard signed || v <= UInt64(Int64.max) else { throw LSTMError.format("\(path(name)): the value \(v) is out of range") }
        return Int64(bitPattern: v)
    }

    /// The shape of dataset `name`, read from its header alone (no values are touched).
    func datasetShape(_ name: String) throws -> [Int] {
        let (msgs, where_) = try datasetMessages(name)
        guard let spaceMessage = try reader.first(.dataspace, msgs, of: where_) else {
            throw file.damaged("\(where_) lacks its dataspace")
        }
        return try HDF5Dataspace(spaceMessage, file).dims ?? [0]
    }

    private func datasetMessages(_ name: String) throws -> ([HDF5Message], String) {
        let where_ = path(name)
        guard let at = try resolve(name), try reader.kind(at) == .dataset else {
            throw LSTMError.format("\(where_): dataset not found")
        }
        return (try reader.messages(at), where_)
    }

    private func readDataset(_ name: String) throws -> (dims: [Int], type: HDF5Datatype, raw: [UInt8]) {
        let (msgs, where_) = try datasetMessages(name)
        if try reader.first(.externalFiles, msgs, of: where_) != nil {
            throw file.unsupported("\(where_): external storage (values kept in other files)")
        }
        guard let spaceMessage = try reader.first(.dataspace, msgs, of: where_),
              let typeMessage = try reader.first(.datatype, msgs, of: where_),
              let layoutMessage = try reader.first(.layout, msgs, of: where_) else {
            throw file.damaged("\(where_) lacks its dataspace, datatype or layout")
        }
        let space = try HDF5Dataspace(spaceMessage, file)
        let type = try HDF5Datatype(typeMessage, file)
        let size = type.storageSize(file)
        guard size > 0 else { throw LSTMError.format("\(where_): expected numbers, found \(type.description) values") }
        let filters = try reader.first(.filterPipeline, msgs, of: where_).map { try HDF5Filter.pipeline($0, file) } ?? []
        let layout = try HDF5Layout(layoutMessage, file)
        let storage = HDF5DatasetStorage(file: file, dims: space.dims ?? [0], elementSize: size, layout: layout,
                                         filters: filters, location: where_)
        return (space.dims ?? [0], type, try storage.read())
    }

    // MARK: String attributes

    /// Names of the attributes, in HDF5's name order (byte-wise ascending).
    func attributeNames() throws -> [String] {
        address < 0 ? [] : try reader.attributes(address, location: location).map(\.name)
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// A string attribute, scalar or array, stored variable-length (UTF-8 or ASCII) or
    /// fixed-length (as older Keras wrote them); an empty array of any type reads as [] (h5py
    /// writes an empty list as an empty float array). nil if absent.
    func stringsAttribute(_ name: String) throws -> [String]? {
        guard address >= 0, let a = try reader.attributes(address, location: location).first(where: { $0.name == name }) else { return nil }
        let where_ = "\(location) attribute '\(name)'"
        let count = a.space.elementCount
        guard count < 1 << 20 else { throw LSTMError.format("\(where_): absurd size \(count)") }
        if count == 0 { return [] }
        switch a.type {
        case .fixedString(let size, _):
            return (0..<count).map { k in
                let start = a.valueOffset + k * size
                let bytes = file.bytes[start..<(start + size)]
                var s = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                while s.hasSuffix(" ") { s.removeLast() }
                return s
            }
        case .variableString:
            let step = a.type.storageSize(file)
            return try (0..<count).map { k in
                var c = HDF5Cursor(file, at: a.valueOffset + k * step, limit: a.valueOffset + (k + 1) * step)
                let length = try c.u32()
                let collection = try c.address("a string's global heap")
                let index = try c.u32()
                if length == 0 { return "" }
                guard let collection else { throw file.damaged("\(where_): a string without its global heap") }
                let object = try reader.globalObject(collection: collection, index: index)
                guard length <= object.count else {
                    throw file.damaged("\(where_): a string of \(length) bytes in a heap object of \(object.count)")
                }
                // libhdf5 hands strings over NUL-terminated: a NUL ends one here too.
                return String(decoding: object.prefix(length).prefix { $0 != 0 }, as: UTF8.self)
            }
        case .integer, .float, .other:
            throw LSTMError.format("\(where_): not a string")
        }
    }
}
