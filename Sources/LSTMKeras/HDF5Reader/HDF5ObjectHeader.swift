import LSTMCore

/// One header message of an HDF5 object: its type and where its body lies in the file.
struct HDF5Message {
    let type: Int
    let flags: Int
    /// The body: `size` bytes from `offset` (checked to lie inside its header chunk).
    let offset: Int
    let size: Int

    /// Header message types the reader knows (the format specification's numbering).
    enum Kind: Int {
        case dataspace = 0x01, linkInfo = 0x02, datatype = 0x03, fillValueOld = 0x04, fillValue = 0x05
        case link = 0x06, externalFiles = 0x07, layout = 0x08, filterPipeline = 0x0B, attribute = 0x0C
        case continuation = 0x10, symbolTable = 0x11, attributeInfo = 0x15
    }

    /// Whether the body is stored elsewhere and only referred to here (a "shared" message).
    var isShared: Bool { flags & 0x02 != 0 }

    func cursor(_ file: HDF5Bytes) -> HDF5Cursor { HDF5Cursor(file, at: offset, limit: offset + size) }
}

/// Object headers, versions 1 and 2, with their continuation blocks.
enum HDF5ObjectHeader {
    /// Continuation blocks one object may have, and messages in all: far more than any file
    /// h5py writes, few enough that a hostile header cannot make the reader work for long.
    static let maxContinuations = 1024
    static let maxMessages = 1 << 16

    /// The messages of the object whose header is at file position `at`.
    static func messages(_ file: HDF5Bytes, at: Int) throws -> [HDF5Message] {
        try file.require(at, 4, "an object header")
        if file.bytes[at..<(at + 4)].elementsEqual("OHDR".utf8) { return try version2(file, at: at) }
        return try version1(file, at: at)
    }

    private static func version1(_ file: HDF5Bytes, at: Int) throws -> [HDF5Message] {
        var c = HDF5Cursor(file, at: at)
        let version = try c.u8("the object header's version")
        guard version == 1 else { throw file.damaged("the object header at byte \(at) has version \(version)") }
        try c.skip(1)
        let declared = try c.u16("the object header's message count")
        try c.skip(4)  // reference count
        let size = try c.u32("the object header's size")
        var chunks = [(at + 16, size)]
        var seen: Set<Int> = [at + 16]
        var out: [HDF5Message] = []
        while let (start, length) = chunks.popLast() {
            try file.require(start, length, "an object header chunk")
            var m = HDF5Cursor(file, at: start, limit: start + length)
            while m.remaining >= 8 {
                let type = try m.u16(), bodySize = try m.u16(), flags = try m.u8()
                try m.skip(3)
                guard bodySize <= m.remaining else {
                    throw file.damaged("a header message at byte \(m.position - 8) runs past its object header")
                }
                let message = HDF5Message(type: type, flags: flags, offset: m.position, size: bodySize)
                try m.skip(bodySize)
                try collect(message, file, &out, &chunks, &seen)
            }
        }
        // Version 1 headers count their messages (NIL padding included); fewer found is damage.
        guard out.count <= declared else {
            throw file.damaged("the object header at byte \(at) holds \(out.count) messages, more than the \(declared) it declares")
        }
        return out.filter { $0.type != 0 }
    }

    private static func version2(_ file: HDF5Bytes, at: Int) throws -> [HDF5Message] {
        var c = HDF5Cursor(file, at: at + 4)
        let version = try c.u8("the object header's version")
        guard version == 2 else { throw file.damaged("the object header at byte \(at) has version \(version)") }
        let flags = try c.u8("the object header's flags")
        if flags & 0x20 != 0 { try c.skip(16) }  // access, modification, change, birth times
        if flags & 0x10 != 0 { try c.skip(4) }   // attribute storage phase change values
        let size = try c.count(1 << (flags & 3), "the object header's first chunk size")
        let tracksOrder = flags & 0x04 != 0
        try file.require(c.position, size + 4, "an object header chunk")
        try file.verifyChecksum(at, c.position + size, "the object header")
        var chunks = [(c.position, size)]
        var seen: Set<Int> = [at]
        var out: [HDF5Message] = []
        while let (start, length) = chunks.popLast() {
            var m = HDF5Cursor(file, at: start, limit: start + length)
            let headerSize = tracksOrder ? 6 : 4
            // Fewer bytes than a message header at the end of a chunk are a gap, not a message.
            while m.remaining >= headerSize {
                let type = try m.u8(), bodySize = try m.u16(), messageFlags = try m.u8()
                if tracksOrder { try m.skip(2) }
                guard bodySize <= m.remaining else {
                    throw file.damaged("a header message at byte \(m.position - headerSize) runs past its object header")
                }
                let message = HDF5Message(type: type, flags: messageFlags, offset: m.position, size: bodySize)
                try m.skip(bodySize)
                try collect(message, file, &out, &chunks, &seen, version2: true)
            }
        }
        return out.filter { $0.type != 0 }
    }

    /// Adds a message, or for a continuation the block it points to (checked, each block once).
    private static func collect(_ message: HDF5Message, _ file: HDF5Bytes, _ out: inout [HDF5Message],
                                _ chunks: inout [(Int, Int)], _ seen: inout Set<Int>, version2: Bool = false) throws {
        guard out.count < maxMessages else { throw file.damaged("an object header holds more than \(maxMessages) messages") }
        out.append(message)
        guard message.type == HDF5Message.Kind.continuation.rawValue else { return }
        var c = message.cursor(file)
        guard let block = try c.address("a continuation block's address") else {
            throw file.damaged("a continuation message at byte \(message.offset) has no block")
        }
        let length = try c.length("a continuation block's length")
        try file.require(block, length, "a continuation block")
        guard seen.insert(block).inserted else {
            throw file.damaged("the continuation blocks of an object header form a cycle (byte \(block) again)")
        }
        guard seen.count <= maxContinuations else {
            throw file.damaged("an object header has more than \(maxContinuations) continuation blocks")
        }
        if version2 {
            guard length >= 8 else { throw file.damaged("a continuation block at byte \(block) is \(length) bytes long") }
            try file.expectSignature("OCHK", at: block, "a continuation block")
            try file.verifyChecksum(block, block + length - 4, "a continuation block")
            chunks.append((block + 4, length - 8))
        } else {
            chunks.append((block, length))
        }
    }
}
