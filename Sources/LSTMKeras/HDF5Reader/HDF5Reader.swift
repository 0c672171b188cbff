import LSTMCore

/// Reads HDF5 files (what Keras, tf-keras and h5py write) from bytes in memory, in the
/// caller's process and without libhdf5: every offset, size and count in the file is checked
/// before use, nothing outside the file is followed (external storage, external links and
/// virtual datasets are refused by name), and nothing is allocated in proportion to a number
/// that has not been checked against the bytes that must back it. A damaged or hostile file
/// gives an `LSTMError`, never a crash, a hang or a huge allocation.
///
/// One reader serves one load on one thread (it caches what it has parsed); loads on other
/// threads use their own and never wait for each other.
final class HDF5Reader {
    let file: HDF5Bytes
    private var rootAddress = 0
    private var headerCache: [Int: [HDF5Message]] = [:]
    private var membersCache: [Int: [String: HDF5Link]] = [:]
    private var collections: [Int: [Int: (offset: Int, size: Int)]] = [:]

    /// Members one group may have: far more than any Keras file, few enough to bound the work.
    static let maxMembers = 1 << 20

    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Whether `bytes` hold an HDF5 superblock where the format allows one (at 0, 512, 1024, ...).
    static func isHDF5(_ bytes: [UInt8]) -> Bool { superblockOffset(bytes) != nil }

    private static func superblockOffset(_ bytes: [UInt8]) -> Int? {
        var at = 0
        while at + 8 <= bytes.count {
            if bytes[at..<(at + 8)].elementsEqual(signature) { return at }
            at = at == 0 ? 512 : at * 2
        }
        return nil
    }

    /// The root group of the file held in `bytes`; `name` names the file in messages.
    static func open(_ bytes: [UInt8], name: String) throws -> H5ReadGroup {
        let reader = try HDF5Reader(bytes, name: name)
        return try H5ReadGroup(reader, address: reader.rootAddress, location: name + ":")
    }

    private init(_ bytes: [UInt8], name: String) throws {
        var f = HDF5Bytes(bytes: bytes, name: name)
        guard let at = HDF5Reader.superblockOffset(bytes) else {
            throw LSTMError.format("'\(name)' is not an HDF5 file (no HDF5 signature)")
        }
        var c = HDF5Cursor(f, at: at + 8)
        let version = try c.u8("the superblock's version")
        switch version {
        case 0, 1:
            try c.skip(4)  // free-space, root symbol table and shared header versions, reserved
            f.offsetSize = try c.u8()
            f.lengthSize = try c.u8()
            try c.skip(1 + 4 + 4 + (version == 1 ? 4 : 0))  // reserved, B-tree K values, flags
        case 2, 3:
            f.offsetSize = try c.u8()
            f.lengthSize = try c.u8()
            try c.skip(1)  // consistency flags
        default:
            throw f.unsupported("superblock version \(version)")
        }
        guard [2, 4, 8].contains(f.offsetSize), [2, 4, 8].contains(f.lengthSize) else {
            throw f.damaged("the superblock declares \(f.offsetSize)-byte addresses and \(f.lengthSize)-byte lengths")
        }
        let base = try c.uint(f.offsetSize, "the base address")
        guard base <= UInt64(at) else { throw f.damaged("the base address \(base) lies after the superblock") }
        f.base = Int(base)
        c = HDF5Cursor(f, at: c.position)
        var root: Int?
        var endOfFile: UInt64
        if version <= 1 {
            _ = try c.uint(f.offsetSize)  // free-space info
            endOfFile = try c.uint(f.offsetSize, "the end-of-file address")
            _ = try c.uint(f.offsetSize)  // driver info
            try c.skip(f.offsetSize)      // root entry: link name offset
            root = try c.address("the root group's address")
        } else {
            _ = try c.uint(f.offsetSize)  // superblock extension
            endOfFile = try c.uint(f.offsetSize, "the end-of-file address")
            root = try c.address("the root group's address")
            try f.verifyChecksum(at, c.position, "the superblock")
        }
        // (Files with a user block store the end counting it or not, depending on the writer.)
        guard endOfFile <= UInt64(bytes.count) else {
            throw f.damaged("it is truncated: the superblock says \(endOfFile) bytes, the file has \(bytes.count)")
        }
        guard let root else { throw f.damaged("the superblock has no root group") }
        file = f
        rootAddress = root
    }

    // MARK: Objects

    func messages(_ address: Int) throws -> [HDF5Message] {
        if let m = headerCache[address] { return m }
        let m = try HDF5ObjectHeader.messages(file, at: address)
        headerCache[address] = m
        return m
    }

    func first(_ kind: HDF5Message.Kind, _ messages: [HDF5Message], of location: String) throws -> HDF5Message? {
        guard let m = messages.first(where: { $0.type == kind.rawValue }) else { return nil }
        guard !m.isShared else { throw file.unsupported("\(location): a shared (committed) header message of type \(m.type)") }
        return m
    }

    enum Kind { case group, dataset, other }

    func kind(_ address: Int) throws -> Kind {
        let types = Set(try messages(address).map(\.type))
        if types.contains(HDF5Message.Kind.layout.rawValue) { return .dataset }
        let groupTypes: [HDF5Message.Kind] = [.symbolTable, .linkInfo, .link]
        if groupTypes.contains(where: { types.contains($0.rawValue) }) { return .group }
        return .other
    }

    // MARK: Groups

    /// The members of the group at `address`, by name.
    func members(_ address: Int, location: String) throws -> [String: HDF5Link] {
        if let m = membersCache[address] { return m }
        let msgs = try messages(address)
        var links: [HDF5Link] = []
        if let table = try first(.symbolTable, msgs, of: location) {
            links = try symbolTableLinks(table)
        } else {
            for m in msgs where m.type == HDF5Message.Kind.link.rawValue {
                links.append(try HDF5Link(body: m.offset, size: m.size, file))
            }
            if let info = try first(.linkInfo, msgs, of: location) {
                let dense = try HDF5DenseStorage(info, file, creationIndexSize: 8)
                if let heap = dense.heap, let index = dense.nameIndex {
                    // Name index records (type 5): a 4-byte name hash, then the link's heap ID.
                    links += try denseObjects(heap: heap, index: index, heapID: { $0.dropFirst(4) }).map { at, size in
                        try HDF5Link(body: at, size: size, file)
                    }
                }
            }
        }
        guard links.count <= HDF5Reader.maxMembers else { throw file.damaged("\(location) has more than \(HDF5Reader.maxMembers) members") }
        var byName: [String: HDF5Link] = [:]
        for link in links {
            guard byName.updateValue(link, forKey: link.name) == nil else {
                throw file.damaged("\(location) has two members named '\(link.name)'")
            }
        }
        membersCache[address] = byName
        return byName
    }

    /// An old-style group's members: a version-1 B-tree of symbol table nodes, names in a local heap.
    private func symbolTableLinks(_ table: HDF5Message) throws -> [HDF5Link] {
        var c = table.cursor(file)
        guard let tree = try c.address("a group's B-tree"), let heapAt = try c.address("a group's local heap") else {
            throw file.damaged("a group's symbol table at byte \(table.offset) is incomplete")
        }
        let heap = try HDF5Heaps.localHeap(file, at: heapAt)
        var links: [HDF5Link] = []
        for leaf in try HDF5BTree.v1Leaves(file, root: tree, nodeType: 0, keySize: file.lengthSize) {
            var n = HDF5Cursor(file, at: leaf.child)
            try n.expectSignature("SNOD", "a symbol table node")
            try n.skip(2)
            let count = try n.u16()
            for _ in 0..<count {
                let nameOffset = try n.count(file.offsetSize, "a member's name offset")
                let target = try n.address("a member's address")
                try n.skip(24)  // cache type, reserved, scratch pad
                let name = try HDF5Heaps.localHeapString(file, heap, offset: nameOffset)
                links.append(HDF5Link(name: name, target: target.map { .object($0) } ?? .undefined))
                guard links.count <= HDF5Reader.maxMembers else { throw file.damaged("a group has too many members") }
            }
        }
        return links
    }

    /// The messages a dense store holds (links or attributes): every record of its name index,
    /// looked up in its fractal heap. Returns each message body's file position and size.
    private func denseObjects(heap: Int, index: Int, heapID: (ArraySlice<UInt8>) -> ArraySlice<UInt8>) throws
        -> [(Int, Int)] {
        let fractal = try HDF5Heaps.FractalHeap(file, at: heap)
        return try HDF5BTree.v2Records(file, header: index).map { record in
            let object = try fractal.object(heapID(record))
            guard object.inline == nil else { throw file.unsupported("a link or attribute stored inside its heap ID") }
            return (object.offset, object.size)
        }
    }

    // MARK: Attributes

    func attributes(_ address: Int, location: String) throws -> [HDF5Attribute] {
        let msgs = try messages(address)
        var out: [HDF5Attribute] = []
        for m in msgs where m.type == HDF5Message.Kind.attribute.rawValue {
            guard !m.isShared else { throw file.unsupported("\(location): a shared attribute") }
            out.append(try HDF5Attribute(body: m.offset, size: m.size, file))
        }
        if let info = try first(.attributeInfo, msgs, of: location) {
            let dense = try HDF5DenseStorage(info, file, creationIndexSize: 2)
            if let heap = dense.heap, let index = dense.nameIndex {
                // Name index records (type 8): the 8-byte heap ID, message flags, order, hash.
                for (at, size) in try denseObjects(heap: heap, index: index, heapID: { $0.prefix(8) }) {
                    out.append(try HDF5Attribute(body: at, size: size, file))
                }
            }
        }
        return out
    }

    /// The bytes of global heap object `index` in the collection at `collection`.
    func globalObject(collection: Int, index: Int) throws -> ArraySlice<UInt8> {
        if collections[collection] == nil {
            guard collections.count < 1 << 16 else { throw file.damaged("too many global heap collections") }
            collections[collection] = try HDF5Heaps.globalCollection(file, at: collection)
        }
        guard let object = collections[collection]?[index] else {
            throw file.damaged("a string refers to global heap object \(index) at byte \(collection), which does not exist")
        }
        return file.bytes[object.offset..<(object.offset + object.size)]
    }
}
