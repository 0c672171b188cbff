import LSTMCore

/// The bytes of an HDF5 file held in memory, with the only reads the reader makes of them:
/// every one checked against the end of the file, so that no number found in a damaged or
/// hostile file can make the reader look outside it.
struct HDF5Bytes {
    let bytes: [UInt8]
    /// The file, for messages.
    let name: String
    /// Bytes per address and per length (the superblock says; 8 in every file h5py writes).
    var offsetSize = 8
    var lengthSize = 8
    /// Where address 0 is (the superblock's base address; 0 unless a user block precedes it).
    var base = 0

    var count: Int { bytes.count }

    func damaged(_ what: String) -> LSTMError {
        .format("'\(name)' is damaged: \(what)")
    }

    func unsupported(_ what: String) -> LSTMError {
        .unsupported("'\(name)': \(what) is not supported by the HDF5 reader")
    }

    /// Checks that `length` bytes from `offset` lie inside the file.
    func require(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else {
            throw damaged("\(what()) (\(length) bytes at byte \(offset)) lies outside the file of \(bytes.count) bytes")
        }
    }

    /// An unsigned little-endian integer of `size` bytes (at most 8) at `offset`.
    func uint(_ offset: Int, _ size: Int) throws -> UInt64 {
        try require(offset, size, "a \(size)-byte field")
        var v: UInt64 = 0
        for k in stride(from: size - 1, through: 0, by: -1) { v = v << 8 | UInt64(bytes[offset + k]) }
        return v
    }

    /// The file position of an address field's value, or nil when it is HDF5's "undefined
    /// address" (all bits set). An address outside the file is damage.
    func address(_ raw: UInt64, _ what: @autoclosure () -> String) throws -> Int? {
        if raw == (offsetSize == 8 ? UInt64.max : (UInt64(1) << UInt64(offsetSize * 8)) - 1) { return nil }
        guard raw < UInt64(bytes.count), base + Int(raw) < bytes.count else {
            throw damaged("\(what()) points to byte \(raw), past the end of the file (\(bytes.count) bytes)")
        }
        return base + Int(raw)
    }

    /// Bytes `offset ..< offset + length`, checked.
    func slice(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        try require(offset, length, what())
        return bytes[offset..<(offset + length)]
    }

    /// Checks the 4-byte signature at `offset`.
    func expectSignature(_ signature: String, at offset: Int, _ what: @autoclosure () -> String) throws {
        let s = Array(signature.utf8)
        try require(offset, s.count, what())
        guard bytes[offset..<(offset + s.count)].elementsEqual(s) else {
            throw damaged("\(what()) at byte \(offset) lacks its '\(signature)' signature")
        }
    }

    /// Verifies the Jenkins lookup3 checksum that version-2 structures end with: over
    /// `offset ..< end`, stored in the 4 bytes at `end`.
    func verifyChecksum(_ offset: Int, _ end: Int, _ what: @autoclosure () -> String) throws {
        try require(offset, end - offset + 4, what())
        let stored = UInt32(try uint(end, 4))
        guard Lookup3.hash(bytes, offset, end - offset) == stored else {
            throw damaged("\(what()) at byte \(offset) fails its checksum")
        }
    }
}

/// A read position in an `HDF5Bytes`; each read checks the file's bounds and advances.
struct HDF5Cursor {
    let file: HDF5Bytes
    var position: Int
    /// Reads may not pass this (the end of the structure being parsed).
    let limit: Int

    init(_ file: HDF5Bytes, at position: Int, limit: Int? = nil) {
        self.file = file
        self.position = position
        self.limit = min(limit ?? file.count, file.count)
    }

    var remaining: Int { limit - position }

    mutating func skip(_ n: Int, _ what: @autoclosure () -> String = "a field") throws {
        guard n >= 0, n <= remaining else {
            throw file.damaged("\(what()) runs past the end of its structure at byte \(position)")
        }
        position += n
    }

    mutating func uint(_ size: Int, _ what: @autoclosure () -> String = "a field") throws -> UInt64 {
        guard size <= remaining else { throw file.damaged("\(what()) runs past the end of its structure at byte \(position)") }
        let v = try file.uint(position, size)
        position += size
        return v
    }

    mutating func u8(_ what: @autoclosure () -> String = "a field") throws -> Int { Int(try uint(1, what())) }
    mutating func u16(_ what: @autoclosure () -> String = "a field") throws -> Int { Int(try uint(2, what())) }
    mutating func u32(_ what: @autoclosure () -> String = "a field") throws -> Int { Int(try uint(4, what())) }

    /// A count or size of `size` bytes, refused above 2^48 (no file we read is that large).
    mutating func count(_ size: Int, _ what: @autoclosure () -> String = "a count") throws -> Int {
        let v = try uint(size, what())
        guard v < 1 << 48 else { throw file.damaged("\(what()) is \(v)") }
        return Int(v)
    }

    /// A length field (the file's length size), refused when it cannot be a size in this file's
    /// world (more than 2^48: no file we read is that large).
    mutating func length(_ what: @autoclosure () -> String = "a length") throws -> Int {
        let v = try uint(file.lengthSize, what())
        guard v < 1 << 48 else { throw file.damaged("\(what()) is \(v)") }
        return Int(v)
    }

    /// An address field, as a file position (nil when undefined).
    mutating func address(_ what: @autoclosure () -> String = "an address") throws -> Int? {
        let raw = try uint(file.offsetSize, what())
        return try file.address(raw, what())
    }

    mutating func bytes(_ n: Int, _ what: @autoclosure () -> String = "a field") throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw file.damaged("\(what()) runs past the end of its structure at byte \(position)") }
        let s = try file.slice(position, n, what())
        position += n
        return s
    }

    mutating func expectSignature(_ signature: String, _ what: @autoclosure () -> String) throws {
        try file.expectSignature(signature, at: position, what())
        position += signature.utf8.count
    }
}

/// Bob Jenkins' lookup3 hash ("hashlittle", byte-wise), HDF5's metadata checksum.
enum Lookup3 {
    static func hash(_ data: [UInt8], _ start: Int, _ length: Int, initial: UInt32 = 0) -> UInt32 {
        @inline(__always) func rot(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }
        var a = 0xdead_beef &+ UInt32(truncatingIfNeeded: length) &+ initial
        var b = a, c = a
        var k = start, n = length
        @inline(__always) func word(_ at: Int, _ count: Int) -> UInt32 {
            var v: UInt32 = 0
            for i in 0..<count { v |= UInt32(data[at + i]) << UInt32(8 * i) }
            return v
        }
        while n > 12 {
            a &+= word(k, 4); b &+= word(k + 4, 4); c &+= word(k + 8, 4)
            a &-= c; a ^= rot(c, 4); c &+= b
            b &-= a; b ^= rot(a, 6); a &+= c
            c &-= b; c ^= rot(b, 8); b &+= a
            a &-= c; a ^= rot(c, 16); c &+= b
            b &-= a; b ^= rot(a, 19); a &+= c
            c &-= b; c ^= rot(b, 4); b &+= a
            n -= 12; k += 12
        }
        if n == 0 { return c }
        a &+= word(k, min(n, 4))
        if n > 4 { b &+= word(k + 4, min(n - 4, 4)) }
        if n > 8 { c &+= word(k + 8, n - 8) }
        c ^= b; c &-= rot(b, 14)
        a ^= c; a &-= rot(c, 11)
        b ^= a; b &-= rot(a, 25)
        c ^= b; c &-= rot(b, 16)
        a ^= c; a &-= rot(c, 4)
        b ^= a; b &-= rot(a, 14)
        c ^= b; c &-= rot(b, 24)
        return c
    }
}
