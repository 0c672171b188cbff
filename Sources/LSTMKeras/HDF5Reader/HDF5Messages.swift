import LSTMCore

/// The header messages the reader decodes, each from its body in the file. Only what Keras,
/// tf-keras and h5py files use is accepted; anything else is refused by name.

/// How many elements an object holds (dataspace message).
struct HDF5Dataspace {
    /// Empty for a scalar; nil for a null dataspace (no elements at all).
    var dims: [Int]?

    static let maxRank = 32

    var elementCount: Int {
        guard let dims else { return 0 }
        return dims.reduce(1, *)  // checked not to overflow when parsed
    }

    init(_ message: HDF5Message, _ file: HDF5Bytes) throws {
        var c = message.cursor(file)
        let version = try c.u8("a dataspace's version")
        let rank = try c.u8("a dataspace's rank")
        let flags = try c.u8("a dataspace's flags")
        var isNull = false
        switch version {
        case 1: try c.skip(5)
        case 2:
            let type = try c.u8("a dataspace's type")
            guard type <= 2 else { throw file.damaged("a dataspace at byte \(message.offset) has type \(type)") }
            isNull = type == 2
        default: throw file.damaged("a dataspace at byte \(message.offset) has version \(version)")
        }
        guard rank <= HDF5Dataspace.maxRank else { throw file.damaged("a dataspace at byte \(message.offset) has rank \(rank)") }
        var dims: [Int] = []
        var total = 1
        for _ in 0..<rank {
            let d = try c.length("a dimension")
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= 1 << 40 else {
                throw file.damaged("a dataspace at byte \(message.offset) declares more than 2^40 elements")
            }
            total = product
            dims.append(d)
        }
        _ = flags  // maximum dimensions and permutations follow; a reader has no use for them
        self.dims = isNull ? nil : dims
    }
}

/// An element type (datatype message), as far as the reader can convert it.
indirect enum HDF5Datatype {
    case integer(size: Int, signed: Bool, bigEndian: Bool)
    /// IEEE binary32 or binary64.
    case float(size: Int, bigEndian: Bool)
    /// Fixed-length strings; `spacePadded` for Fortran-style padding.
    case fixedString(size: Int, spacePadded: Bool)
    /// Variable-length strings, each a reference into a global heap.
    case variableString
    /// Something the reader does not convert: its HDF5 class name, for messages.
    case other(String)

    /// Bytes one element takes in the data (a variable-length element is a 4-byte length and
    /// a global heap reference).
    func storageSize(_ file: HDF5Bytes) -> Int {
        switch self {
        case .integer(let s, _, _), .float(let s, _), .fixedString(let s, _): return s
        case .variableString: return 4 + file.offsetSize + 4
        case .other: return 0
        }
    }

    var description: String {
        switch self {
        case .integer(let s, let signed, _): return "\(signed ? "" : "u")int\(s * 8)"
        case .float(let s, _): return "float\(s * 8)"
        case .fixedString(let s, _): return "fixed-length string of \(s) bytes"
        case .variableString: return "variable-length string"
        case .other(let name): return name
        }
    }

    init(_ message: HDF5Message, _ file: HDF5Bytes) throws {
        var c = message.cursor(file)
        self = try HDF5Datatype.parse(&c, file, depth: 0)
    }

    private static let classNames = ["integer", "float", "time", "string", "bitfield", "opaque", "compound",
                                     "reference", "enum", "variable-length sequence", "array"]

    static func parse(_ c: inout HDF5Cursor, _ file: HDF5Bytes, depth: Int) throws -> HDF5Datatype {
        let at = c.position
        let classAndVersion = try c.u8("a datatype")
        let bits0 = try c.u8(), bits1 = try c.u8()
        try c.skip(1)
        let size = try c.u32("a datatype's size")
        let cls = classAndVersion & 0x0F
        switch cls {
        case 0:
            try c.skip(4)  // bit offset, precision
            guard [1, 2, 4, 8].contains(size) else { return .other("integer of \(size) bytes") }
            return .integer(size: size, signed: bits0 & 0x08 != 0, bigEndian: bits0 & 0x01 != 0)
        case 1:
            let offset = try c.u16(), precision = try c.u16()
            let expLocation = try c.u8(), expSize = try c.u8(), mantLocation = try c.u8(), mantSize = try c.u8()
            let bias = try c.u32()
            let ieee: [Int: (Int, Int, Int, Int, Int)] = [4: (23, 8, 0, 23, 127), 8: (52, 11, 0, 52, 1023)]
            guard let want = ieee[size], offset == 0, precision == size * 8, bits0 & 0x40 == 0,
                  (expLocation, expSize, mantLocation, mantSize, bias) == want, bits1 == size * 8 - 1 else {
                return .other("non-IEEE float of \(size) bytes")
            }
            return .float(size: size, bigEndian: bits0 & 0x01 != 0)
        case 3:
            guard size > 0, size <= 1 << 20 else { throw file.damaged("a string datatype at byte \(at) has size \(size)") }
            return .fixedString(size: size, spacePadded: bits0 & 0x0F == 2)
        case 9:
            guard depth < 4 else { throw file.damaged("datatypes nested too deep at byte \(at)") }
            let base = try parse(&c, file, depth: depth + 1)
            guard bits0 & 0x0F == 1 else { return .other("variable-length sequence of \(base.description)") }
            return .variableString
        default:
            return .other(cls < classNames.count ? classNames[cls] : "datatype class \(cls)")
        }
    }
}

/// Where a dataset's values are (data layout message).
enum HDF5Layout {
    /// Stored inside the header: the bytes' range.
    case compact(offset: Int, size: Int)
    /// One block; nil address when never written.
    case contiguous(address: Int?, size: Int)
    case chunked(HDF5ChunkLayout)

    init(_ message: HDF5Message, _ file: HDF5Bytes) throws {
        var c = message.cursor(file)
        let version = try c.u8("a data layout's version")
        guard version == 3 || version == 4 else {
            throw file.unsupported("a data layout message of version \(version) (HDF5 1.6 and older files)")
        }
        let cls = try c.u8("a data layout's class")
        switch cls {
        case 0:
            let size = try c.u16("a compact dataset's size")
            guard size <= c.remaining else { throw file.damaged("a compact dataset at byte \(message.offset) runs past its header") }
            self = .compact(offset: c.position, size: size)
        case 1:
            let address = try c.address("a dataset's address")
            self = .contiguous(address: address, size: try c.length("a dataset's size"))
        case 2:
            self = .chunked(try HDF5ChunkLayout(&c, version: version, file))
        case 3:
            throw file.unsupported("a virtual dataset (its values live in other datasets or files)")
        default:
            throw file.damaged("a data layout at byte \(message.offset) has class \(cls)")
        }
    }
}

/// A chunked dataset's chunk shape and chunk index.
struct HDF5ChunkLayout {
    enum Index {
        /// Layout version 3: a version-1 B-tree of chunks.
        case btreeV1
        /// One chunk the size of the dataset; filtered chunks record their stored size and mask.
        case singleChunk(filteredSize: Int?, filterMask: Int)
        /// Chunks laid out in order from the address, unfiltered.
        case implicit
        case fixedArray
    }

    /// The chunk's dimensions (the dataset's rank; the element size is not among them).
    var chunkDims: [Int]
    var index: Index
    /// Where the index (or for single-chunk and implicit indexes, the data) is; nil if unwritten.
    var address: Int?

    init(_ c: inout HDF5Cursor, version: Int, _ file: HDF5Bytes) throws {
        var dims: [Int] = []
        if version == 3 {
            let rank = try c.u8("a chunk layout's rank")
            guard rank >= 2, rank <= HDF5Dataspace.maxRank + 1 else { throw file.damaged("a chunk layout has rank \(rank)") }
            address = try c.address("a chunk index address")
            for _ in 0..<rank { dims.append(try c.u32("a chunk dimension")) }
            index = .btreeV1
        } else {
            let flags = try c.u8("a chunk layout's flags")
            let rank = try c.u8("a chunk layout's rank")
            let width = try c.u8("a chunk dimension's size")
            guard rank >= 2, rank <= HDF5Dataspace.maxRank + 1, (1...8).contains(width) else {
                throw file.damaged("a chunk layout has rank \(rank) and \(width)-byte dimensions")
            }
            for _ in 0..<rank {
                let d = try c.uint(width, "a chunk dimension")
                guard d < 1 << 32 else { throw file.damaged("a chunk dimension is \(d)") }
                dims.append(Int(d))
            }
            guard flags & 0x01 == 0 else {
                throw file.unsupported("a chunked dataset that leaves its partial edge chunks unfiltered")
            }
            let type = try c.u8("a chunk index type")
            switch type {
            case 1:
                if flags & 0x02 != 0 {
                    let size = try c.length("a filtered chunk's size")
                    index = .singleChunk(filteredSize: size, filterMask: try c.u32())
                } else {
                    index = .singleChunk(filteredSize: nil, filterMask: 0)
                }
            case 2: index = .implicit
            case 3:
                try c.skip(1)  // page bits: read again from the fixed array's header
                index = .fixedArray
            case 4: throw file.unsupported("a chunked dataset indexed by an extensible array (one with an unlimited dimension)")
            case 5: throw file.unsupported("a chunked dataset indexed by a version-2 B-tree (more than one unlimited dimension)")
            default: throw file.damaged("a chunked dataset has chunk index type \(type)")
            }
            address = try c.address("a chunk index address")
        }
        // The last "dimension" is the element size.
        dims.removeLast()
        guard dims.allSatisfy({ $0 > 0 }) else { throw file.damaged("a chunk has a zero dimension") }
        chunkDims = dims
    }
}

/// A filter of a dataset's pipeline (filter pipeline message).
struct HDF5Filter {
    static let deflate = 1, shuffle = 2, fletcher32 = 3
    static let names = [1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
                        307: "bzip2", 32000: "lzf", 32001: "blosc", 32004: "lz4", 32015: "zstd"]

    let id: Int
    let name: String
    let optional: Bool
    let parameters: [Int]

    static func pipeline(_ message: HDF5Message, _ file: HDF5Bytes) throws -> [HDF5Filter] {
        var c = message.cursor(file)
        let version = try c.u8("a filter pipeline's version")
        let count = try c.u8("a filter pipeline's length")
        guard version == 1 || version == 2, count <= 32 else {
            throw file.damaged("a filter pipeline at byte \(message.offset) has version \(version) and \(count) filters")
        }
        if version == 1 { try c.skip(6) }
        var filters: [HDF5Filter] = []
        for _ in 0..<count {
            let id = try c.u16("a filter's id")
            let nameLength = version == 1 || id >= 256 ? try c.u16() : 0
            let flags = try c.u16(), valueCount = try c.u16()
            var name = ""
            if nameLength > 0 {
                let raw = try c.bytes(version == 1 ? (nameLength + 7) / 8 * 8 : nameLength, "a filter's name")
                name = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            var values: [Int] = []
            for _ in 0..<valueCount { values.append(try c.u32("a filter parameter")) }
            if version == 1, valueCount % 2 == 1 { try c.skip(4) }
            filters.append(HDF5Filter(id: id, name: names[id] ?? (name.isEmpty ? "filter \(id)" : name),
                                      optional: flags & 1 != 0, parameters: values))
        }
        return filters
    }
}

/// One attribute (attribute message), its value still in the file.
struct HDF5Attribute {
    let name: String
    let type: HDF5Datatype
    let space: HDF5Dataspace
    /// The value's bytes, checked to be inside the message and as long as the elements need.
    let valueOffset: Int
    let valueSize: Int

    init(body offset: Int, size: Int, _ file: HDF5Bytes) throws {
        let message = HDF5Message(type: HDF5Message.Kind.attribute.rawValue, flags: 0, offset: offset, size: size)
        var c = message.cursor(file)
        let version = try c.u8("an attribute's version")
        guard (1...3).contains(version) else { throw file.damaged("an attribute at byte \(offset) has version \(version)") }
        let flags = try c.u8()
        guard flags & 0x03 == 0 else { throw file.unsupported("an attribute with a shared datatype or dataspace") }
        let nameSize = try c.u16(), typeSize = try c.u16(), spaceSize = try c.u16()
        if version == 3 { try c.skip(1) }  // name encoding: ASCII and UTF-8 read alike
        func padded(_ n: Int) -> Int { version == 1 ? (n + 7) / 8 * 8 : n }
        let rawName = try c.bytes(padded(nameSize), "an attribute's name")
        name = String(decoding: rawName.prefix(nameSize).prefix { $0 != 0 }, as: UTF8.self)
        let typeAt = c.position
        try c.skip(padded(typeSize), "an attribute's datatype")
        let spaceAt = c.position
        try c.skip(padded(spaceSize), "an attribute's dataspace")
        type = try HDF5Datatype(HDF5Message(type: 3, flags: 0, offset: typeAt, size: typeSize), file)
        space = try HDF5Dataspace(HDF5Message(type: 1, flags: 0, offset: spaceAt, size: spaceSize), file)
        valueOffset = c.position
        valueSize = c.remaining
        let (need, overflow) = space.elementCount.multipliedReportingOverflow(by: type.storageSize(file))
        guard !overflow, need <= valueSize else {
            throw file.damaged("attribute '\(name)' declares \(space.elementCount) values but its message holds \(valueSize) bytes")
        }
    }
}

/// A named member of a group (link message, or a symbol table entry of an old-style group).
struct HDF5Link {
    enum Target {
        case object(Int)
        case soft(String)
        case external
        case undefined
    }

    let name: String
    let target: Target

    init(name: String, target: Target) {
        self.name = name
        self.target = target
    }

    init(body offset: Int, size: Int, _ file: HDF5Bytes) throws {
        var c = HDF5Cursor(file, at: offset, limit: offset + size)
        let version = try c.u8("a link's version")
        guard version == 1 else { throw file.damaged("a link at byte \(offset) has version \(version)") }
        let flags = try c.u8()
        let type = flags & 0x08 != 0 ? try c.u8() : 0
        if flags & 0x04 != 0 { try c.skip(8) }  // creation order
        if flags & 0x10 != 0 { try c.skip(1) }  // name encoding
        let nameLength = try c.count(1 << (flags & 3), "a link's name length")
        guard nameLength > 0 else { throw file.damaged("a link at byte \(offset) has an empty name") }
        name = String(decoding: try c.bytes(nameLength, "a link's name"), as: UTF8.self)
        switch type {
        case 0:
            if let address = try c.address("a link's target") { target = .object(address) } else { target = .undefined }
        case 1:
            let n = try c.u16()
            target = .soft(String(decoding: try c.bytes(n, "a soft link's path"), as: UTF8.self))
        case 64: target = .external
        default: throw file.damaged("link '\(name)' has type \(type)")
        }
    }
}

/// Where a new-style group keeps links, or an object attributes, once there are many ("dense"
/// storage: a fractal heap of messages indexed by name in a version-2 B-tree).
struct HDF5DenseStorage {
    let heap: Int?
    let nameIndex: Int?

    /// Link info (0x02, a 64-bit creation index) and attribute info (0x15, a 16-bit one) differ
    /// only in that field's size.
    init(_ message: HDF5Message, _ file: HDF5Bytes, creationIndexSize: Int) throws {
        var c = message.cursor(file)
        let version = try c.u8("a link or attribute info message's version")
        guard version == 0 else { throw file.damaged("a link or attribute info message at byte \(message.offset) has version \(version)") }
        let flags = try c.u8()
        if flags & 0x01 != 0 { try c.skip(creationIndexSize) }
        heap = try c.address("a fractal heap address")
        nameIndex = try c.address("a name index address")
    }
}
