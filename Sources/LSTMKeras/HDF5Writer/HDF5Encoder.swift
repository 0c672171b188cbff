import LSTMCore

/// Lays out an `H5WriteGroup` tree as an HDF5 file, in the most widely read forms of the format
/// (HDF5 File Format Specification, version 2): a version 0 superblock, version 1 object
/// headers, groups that hold their links in their own header (link info, group info and link
/// messages: libhdf5 1.8 and later, h5py and every Keras read them), contiguous float32 and int64
/// datasets, and variable-length UTF-8 string attributes whose text lives in global heap
/// collections. Addresses and lengths are 8 bytes, little-endian.
///
/// The file is written front to back in one buffer: the superblock (patched at the end with the
/// root group's address and the file's size), the global heap collections with every attribute
/// string, then each object after its members, so that a group's header knows every address it
/// links to.
enum HDF5Encoder {
    static func encode(_ root: H5WriteGroup) throws -> [UInt8] {
        var out = HDF5ByteBuffer()
        out.append(HDF5Reader.signature)
        out.u8(0)   // superblock version
        out.u8(0)   // free-space storage version
        out.u8(0)   // root group symbol table entry version
        out.u8(0)
        out.u8(0)   // shared header message format version
        out.u8(8)   // size of addresses
        out.u8(8)   // size of lengths
        out.u8(0)
        out.u16(4)  // group leaf node K (for symbol-table groups; none is written)
        out.u16(16) // group internal node K
        out.u32(0)  // file consistency flags
        out.u64(0)  // base address
        out.u64(undefinedAddress)  // free-space info
        let endOfFileField = out.count
        out.u64(0)
        out.u64(undefinedAddress)  // driver information block
        // The root group's symbol table entry: no link name, its header, nothing cached.
        out.u64(0)
        let rootField = out.count
        out.u64(0)
        out.u32(0)
        out.u32(0)
        out.zeros(16)

        var strings = GlobalHeap()
        collectStrings(root, into: &strings)
        let heapIDs = strings.write(into: &out)
        var nextString = 0
        let rootAddress = try writeGroup(root, heapIDs: heapIDs, nextString: &nextString, into: &out)
        out.patchU64(rootField, rootAddress)
        out.patchU64(endOfFileField, UInt64(out.count))
        return out.bytes
    }

    static let undefinedAddress = UInt64.max

    // MARK: Objects

    /// The same walk as `writeGroup`'s, so that the n-th string met here is the n-th written.
    private static func collectStrings(_ g: H5WriteGroup, into heap: inout GlobalHeap) {
        for case (_, .group(let child)) in g.members { collectStrings(child, into: &heap) }
        for a in g.attributes { a.values.forEach { heap.add($0) } }
    }

    private static func writeGroup(_ g: H5WriteGroup, heapIDs: [HeapID], nextString: inout Int,
                                   into out: inout HDF5ByteBuffer) throws -> UInt64 {
        var links: [(name: String, address: UInt64)] = []
        for (name, member) in g.members {
            switch member {
            case .group(let child):
                links.append((name, try writeGroup(child, heapIDs: heapIDs, nextString: &nextString, into: &out)))
            case .float32(let shape, let values):
                links.append((name, try writeDataset(shape: shape, type: float32Type, data: littleEndianBytes(values),
                                                     location: g.path(name), into: &out)))
            case .int64(let value):
                links.append((name, try writeDataset(shape: [], type: int64Type, data: littleEndianBytes(UInt64(bitPattern: value)),
                                                     location: g.path(name), into: &out)))
            }
        }
        var messages: [Message] = [
            // Link info: no creation order kept, links stored in this header (no fractal heap,
            // no name index).
            Message(type: 0x02, data: [0, 0] + littleEndianBytes(undefinedAddress) + littleEndianBytes(undefinedAddress)),
            Message(type: 0x0A, data: [0, 0]),  // group info: the defaults
        ]
        for (name, address) in links {
            messages.append(Message(type: 0x06, data: linkMessage(name, to: address)))
        }
        for a in g.attributes {
            let ids = heapIDs[nextString..<(nextString + a.values.count)]
            nextString += a.values.count
            messages.append(Message(type: 0x0C, data: attributeMessage(a, ids: ids)))
        }
        return try writeObjectHeader(messages, location: g.location, into: &out)
    }

    /// The values (contiguous, before the header), then the dataset's object header.
    private static func writeDataset(shape: [Int], type: [UInt8], data: [UInt8], location: String,
                                     into out: inout HDF5ByteBuffer) throws -> UInt64 {
        var layout: [UInt8] = [3, 1]  // version 3, contiguous
        if data.isEmpty {
            layout += littleEndianBytes(undefinedAddress) + littleEndianBytes(UInt64(0))  // nothing stored
        } else {
            out.align8()
            layout += littleEndianBytes(UInt64(out.count)) + littleEndianBytes(UInt64(data.count))
            out.append(data)
        }
        let messages = [
            Message(type: 0x01, data: dataspace(shape)),
            Message(type: 0x03, data: type, flags: 1),  // constant, as libhdf5 marks it
            // Fill value, version 2: space allocated late, fill value written if set, none set.
            Message(type: 0x05, data: [2, 2, 2, 0], flags: 1),
            Message(type: 0x08, data: layout),
        ]
        return try writeObjectHeader(messages, location: location, into: &out)
    }

    private struct Message {
        let type: UInt16
        let data: [UInt8]
        var flags: UInt8 = 0
    }

    /// A version 1 object header holding `messages`, each padded to 8 bytes; its address.
    private static func writeObjectHeader(_ messages: [Message], location: String, into out: inout HDF5ByteBuffer) throws -> UInt64 {
        out.align8()
        let address = UInt64(out.count)
        var body = 0
        for m in messages {
            let padded = paddedTo8(m.data.count)
            // A message's size is a 16-bit field; links and attributes keep strings elsewhere,
            // so only a group with a huge number of names in one attribute can get here.
            guard padded < 1 << 16 else {
                throw LSTMError.invalidArgument("\(location): an HDF5 header message of \(padded) bytes (at most 65,535): too many values in one attribute")
            }
            body += 8 + padded
        }
        guard messages.count < 1 << 16, body < 1 << 32 else {
            throw LSTMError.invalidArgument("\(location): \(messages.count) members and attributes are more than one HDF5 header holds")
        }
        out.u8(1)  // version
        out.u8(0)
        out.u16(UInt16(messages.count))
        out.u32(1)  // reference count
        out.u32(UInt32(body))
        out.u32(0)  // padding to the 8-byte boundary where the messages start
        for m in messages {
            let padded = paddedTo8(m.data.count)
            out.u16(m.type)
            out.u16(UInt16(padded))
            out.u8(m.flags)
            out.zeros(3)
            out.append(m.data)
            out.zeros(padded - m.data.count)
        }
        return address
    }

    // MARK: Messages

    /// Dataspace, version 1: a rank and the dimensions (rank 0 is a scalar); no maximum sizes.
    private static func dataspace(_ shape: [Int]) -> [UInt8] {
        var d: [UInt8] = [1, UInt8(shape.count), 0, 0, 0, 0, 0, 0]
        for n in shape { d += littleEndianBytes(UInt64(n)) }
        return d
    }

    /// Datatype, version 1, IEEE float32 little-endian: sign at bit 31, exponent bits 23-30
    /// (bias 127), mantissa bits 0-22 with an implied leading one.
    static let float32Type: [UInt8] = [0x11, 0x20, 31, 0] + littleEndianBytes(UInt32(4))
        + littleEndianBytes(UInt16(0)) + littleEndianBytes(UInt16(32)) + [23, 8, 0, 23] + littleEndianBytes(UInt32(127))

    /// Datatype, version 1, signed 64-bit integer, little-endian.
    static let int64Type: [UInt8] = [0x10, 0x08, 0, 0] + littleEndianBytes(UInt32(8))
        + littleEndianBytes(UInt16(0)) + littleEndianBytes(UInt16(64))

    /// Datatype, version 1, variable-length string, null-terminated padding, UTF-8; a value is
    /// its length and global heap ID (16 bytes). Its base type is an unsigned byte.
    static let variableStringType: [UInt8] = [0x19, 0x01, 0x01, 0] + littleEndianBytes(UInt32(16))
        + [0x10, 0, 0, 0] + littleEndianBytes(UInt32(1)) + littleEndianBytes(UInt16(0)) + littleEndianBytes(UInt16(8))

    /// Link, version 1: a hard link named `name` (UTF-8 marked as such) to `address`.
    private static func linkMessage(_ name: String, to address: UInt64) -> [UInt8] {
        let bytes = Array(name.utf8)
        let utf8 = bytes.contains { $0 >= 0x80 }
        let wideLength = bytes.count > 255
        var d: [UInt8] = [1, (wideLength ? 0x01 : 0) | (utf8 ? 0x10 : 0)]
        if utf8 { d.append(1) }
        d += wideLength ? littleEndianBytes(UInt16(bytes.count)) : [UInt8(bytes.count)]
        return d + bytes + littleEndianBytes(address)
    }

    /// Attribute, version 1: name (NUL-terminated), datatype and dataspace, each padded to 8
    /// bytes, then one length and global heap ID per string.
    private static func attributeMessage(_ a: H5WriteGroup.StringsAttribute, ids: ArraySlice<HeapID>) -> [UInt8] {
        let name = Array(a.name.utf8) + [0]
        let space = a.scalar ? dataspace([]) : dataspace([a.values.count])
        var d: [UInt8] = [1, 0] + littleEndianBytes(UInt16(name.count)) + littleEndianBytes(UInt16(variableStringType.count))
            + littleEndianBytes(UInt16(space.count))
        for part in [name, variableStringType, space] {
            d += part + [UInt8](repeating: 0, count: paddedTo8(part.count) - part.count)
        }
        for id in ids {
            d += littleEndianBytes(id.length) + littleEndianBytes(id.collection) + littleEndianBytes(id.index)
        }
        return d
    }

    // MARK: Strings

    /// Where a string's bytes are: its global heap collection and object (both 0 for "").
    struct HeapID {
        let length: UInt32
        let collection: UInt64
        let index: UInt32
    }

    /// The strings of every attribute, packed into global heap collections of at least 4 KiB
    /// (libhdf5 reads a collection's first 4 KiB before it knows its size).
    private struct GlobalHeap {
        static let minimumCollection = 4096
        static let objectHeader = 16
        private var strings: [[UInt8]] = []

        mutating func add(_ s: String) { strings.append(Array(s.utf8)) }

        /// Writes the collections; the ID of each string, in the order they were added.
        func write(into out: inout HDF5ByteBuffer) -> [HeapID] {
            var ids: [HeapID] = []
            var pending: [(string: Int, bytes: [UInt8])] = []
            var used = Self.objectHeader  // the collection's own header
            func flush(_ out: inout HDF5ByteBuffer) {
                guard !pending.isEmpty else { return }
                out.align8()
                let start = out.count
                // Room for the free-space object at the end, whatever is left.
                let size = max(Self.minimumCollection, used + Self.objectHeader)
                out.append(Array("GCOL".utf8))
                out.u8(1)
                out.zeros(3)
                out.u64(UInt64(size))
                for (k, p) in pending.enumerated() {
                    out.u16(UInt16(k + 1))
                    out.u16(0)  // reference count
                    out.u32(0)
                    out.u64(UInt64(p.bytes.count))
                    out.append(p.bytes)
                    out.zeros(paddedTo8(p.bytes.count) - p.bytes.count)
                    ids[p.string] = HeapID(length: UInt32(p.bytes.count), collection: UInt64(start), index: UInt32(k + 1))
                }
                // The free space: object 0, its size counting its own header.
                let free = size - (out.count - start)
                out.u16(0)
                out.u16(0)
                out.u32(0)
                out.u64(UInt64(free))
                out.zeros(free - Self.objectHeader)
                pending = []
                used = Self.objectHeader
            }
            for (k, s) in strings.enumerated() {
                ids.append(HeapID(length: 0, collection: 0, index: 0))
                if s.isEmpty { continue }
                let need = Self.objectHeader + paddedTo8(s.count)
                if !pending.isEmpty && (used + need > Self.minimumCollection - Self.objectHeader || pending.count == 65_535) {
                    flush(&out)
                }
                pending.append((k, s))
                used += need
            }
            flush(&out)
            return ids
        }
    }
}

private func paddedTo8(_ n: Int) -> Int { (n + 7) & ~7 }

/// A growing byte buffer with little-endian writers.
struct HDF5ByteBuffer {
    private(set) var bytes: [UInt8] = []
    var count: Int { bytes.count }

    mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { append(littleEndianBytes(v)) }
    mutating func u32(_ v: UInt32) { append(littleEndianBytes(v)) }
    mutating func u64(_ v: UInt64) { append(littleEndianBytes(v)) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
    mutating func align8() { zeros(paddedTo8(count) - count) }
    mutating func patchU64(_ at: Int, _ v: UInt64) {
        bytes.replaceSubrange(at..<(at + 8), with: littleEndianBytes(v))
    }
}
