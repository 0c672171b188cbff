import CZlib
import LSTMCore

/// The zip container of .keras files: read stored and deflated members (inflate by zlib) in
/// memory, write stored members. Every offset and size read from a file is bounds-checked.
enum Zip {
    struct Entry {
        var name: String
        var data: [UInt8]
    }

    private static func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> Int {
        Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24
    }

    /// Whether `bytes` start like a zip archive (a local file header).
    static func isArchive(_ bytes: [UInt8]) -> Bool { bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        data.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    /// A member of an archive, located and checked but not yet inflated.
    struct Member {
        let name: String
        let method: Int
        let crc: UInt32
        let compressedSize: Int
        let size: Int
        /// Where its stored bytes start; they end at `start + compressedSize`.
        let start: Int
        /// Where its local header starts.
        let header: Int
    }

    /// The most bytes the members read from one archive may inflate to in all.
    static let maxTotalSize = 1 << 32

    /// The members of a zip archive held in `bytes`, checked before anything is inflated: each
    /// inside the archive, no two sharing bytes or a name, sizes within what deflate can
    /// produce and within `maxTotalSize` together. `file` names the archive in messages.
    static func members(_ bytes: [UInt8], file: String) throws -> [Member] {
        func bad(_ why: String) -> LSTMError { LSTMError.format("'\(file)' is not a valid .keras (zip) file: \(why)") }
        let n = bytes.count
        guard n >= 22 else { throw bad("too short (\(n) bytes)") }
        var eocd = -1
        var i = n - 22
        while i >= max(0, n - 22 - 65535) {
            if u32(bytes, i) == 0x0605_4b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw bad("no end-of-archive record (truncated?)") }
        let count = u16(bytes, eocd + 10)
        let dirSize = u32(bytes, eocd + 12), dirOffset = u32(bytes, eocd + 16)
        guard count != 0xFFFF, dirOffset != 0xFFFF_FFFF else { throw bad("it is a ZIP64 archive (larger than 4 GiB), which is not read") }
        guard dirOffset + dirSize <= eocd else { throw bad("central directory out of bounds") }
        var members: [Member] = []
        var names = Set<String>()
        var total = 0
        var p = dirOffset
        for _ in 0..<count {
            guard p + 46 <= eocd, u32(bytes, p) == 0x0201_4b50 else { throw bad("damaged central directory") }
            let flags = u16(bytes, p + 8), method = u16(bytes, p + 10), crc = UInt32(u32(bytes, p + 16))
            let csize = u32(bytes, p + 20), usize = u32(bytes, p + 24)
            let nameLen = u16(bytes, p + 28), extraLen = u16(bytes, p + 30), commentLen = u16(bytes, p + 32)
            let local = u32(bytes, p + 42)
            guard p + 46 + nameLen <= eocd else { throw bad("damaged central directory") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            p += 46 + nameLen + extraLen + commentLen
            guard names.insert(name).inserted else { throw bad("two members are named '\(name)'") }
            guard flags & 0x01 == 0 else { throw bad("member '\(name)' is encrypted") }
            guard local + 30 <= n, u32(bytes, local) == 0x0403_4b50 else { throw bad("damaged entry '\(name)'") }
            let start = local + 30 + u16(bytes, local + 26) + u16(bytes, local + 28)
            guard start + csize <= n else { throw bad("entry '\(name)' runs past the end (truncated?)") }
            // Deflate expands at most ~1032:1; a larger claimed size is a damaged or hostile
            // header, refused before allocating for it.
            guard usize <= max(csize * 1100, 1 << 16) else {
                throw bad("entry '\(name)' claims \(usize) bytes from \(csize) compressed (damaged)")
            }
            total += usize
            guard total <= maxTotalSize else { throw bad("its members claim more than \(maxTotalSize) bytes in all") }
            members.append(Member(name: name, method: method, crc: crc, compressedSize: csize, size: usize, start: start,
                                  header: local))
        }
        // Members that share bytes (one stream listed many times) are how zip bombs multiply.
        let ordered = members.sorted { $0.header < $1.header }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.start + a.compressedSize > b.header {
            throw bad("members '\(a.name)' and '\(b.name)' overlap")
        }
        return members
    }

    /// The bytes of member `name`, inflated and CRC-checked; nil if the archive has no such member.
    static func data(_ name: String, in bytes: [UInt8], file: String) throws -> [UInt8]? {
        guard let m = try members(bytes, file: file).first(where: { $0.name == name }) else { return nil }
        return try data(m, in: bytes, file: file)
    }

    static func data(_ m: Member, in bytes: [UInt8], file: String) throws -> [UInt8] {
        func bad(_ why: String) -> LSTMError { LSTMError.format("'\(file)' is not a valid .keras (zip) file: \(why)") }
        let raw = Array(bytes[m.start..<(m.start + m.compressedSize)])
        let data: [UInt8]
        switch m.method {
        case 0: data = raw
        case 8:
            guard let inflated = try Inflate.exactly(raw, size: m.size, .raw) else {
                throw LSTMError.format("'\(file)': entry '\(m.name)' cannot be inflated (damaged)")
            }
            data = inflated
        default: throw bad("entry '\(m.name)' uses compression method \(m.method) (only stored and deflated are read)")
        }
        guard data.count == m.size, crc32(data) == m.crc else { throw bad("entry '\(m.name)' fails its CRC check (damaged)") }
        return data
    }

    /// A zip archive of stored (uncompressed) members, as Keras writes .keras files.
    static func write(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func put16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        func put32(_ v: Int, _ b: inout [UInt8]) { put16(v & 0xffff, &b); put16(v >> 16 & 0xffff, &b) }
        // 1980-01-01 00:00, the zip epoch: the archive is the same for the same model.
        let dosTime = 0, dosDate = (0 << 9) | (1 << 5) | 1
        for e in entries {
            let name = Array(e.name.utf8)
            let crc = Int(crc32(e.data))
            let offset = out.count
            put32(0x0403_4b50, &out); put16(20, &out); put16(0, &out); put16(0, &out)
            put16(dosTime, &out); put16(dosDate, &out); put32(crc, &out)
            put32(e.data.count, &out); put32(e.data.count, &out); put16(name.count, &out); put16(0, &out)
            out += name
            out += e.data
            put32(0x0201_4b50, &central); put16(20, &central); put16(20, &central); put16(0, &central); put16(0, &central)
            put16(dosTime, &central); put16(dosDate, &central); put32(crc, &central)
            put32(e.data.count, &central); put32(e.data.count, &central); put16(name.count, &central)
            put16(0, &central); put16(0, &central); put16(0, &central); put16(0, &central); put32(0, &central)
            put32(offset, &central)
            central += name
        }
        let dirOffset = out.count
        out += central
        put32(0x0605_4b50, &out); put16(0, &out); put16(0, &out); put16(entries.count, &out); put16(entries.count, &out)
        put32(central.count, &out); put32(dirOffset, &out); put16(0, &out)
        return out
    }
}
