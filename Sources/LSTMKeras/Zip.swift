import CZlib
import LSTMCore

/// The zip container of .keras files: read stored and deflated members (inflate by zlib),
/// write stored members. Every offset and size read from a file is bounds-checked.
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

    /// The members of a zip archive held in `bytes`. `file` names it in messages.
    static func read(_ bytes: [UInt8], file: String) throws -> [Entry] {
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
        guard dirOffset + dirSize <= eocd else { throw bad("central directory out of bounds") }
        var entries: [Entry] = []
        var p = dirOffset
        for _ in 0..<count {
            guard p + 46 <= eocd, u32(bytes, p) == 0x0201_4b50 else { throw bad("damaged central directory") }
            let method = u16(bytes, p + 10), crc = UInt32(u32(bytes, p + 16))
            let csize = u32(bytes, p + 20), usize = u32(bytes, p + 24)
            let nameLen = u16(bytes, p + 28), extraLen = u16(bytes, p + 30), commentLen = u16(bytes, p + 32)
            let local = u32(bytes, p + 42)
            guard p + 46 + nameLen <= eocd else { throw bad("damaged central directory") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            p += 46 + nameLen + extraLen + commentLen
            guard local + 30 <= n, u32(bytes, local) == 0x0403_4b50 else { throw bad("damaged entry '\(name)'") }
            let start = local + 30 + u16(bytes, local + 26) + u16(bytes, local + 28)
            guard csize >= 0, start + csize <= n else { throw bad("entry '\(name)' runs past the end (truncated?)") }
            // Deflate expands at most ~1032:1; a larger claimed size is a damaged or hostile
            // header, refused before allocating for it.
            guard usize < 1 << 31, usize <= max(csize * 1100, 1 << 16) else {
                throw bad("entry '\(name)' claims \(usize) bytes from \(csize) compressed (damaged)")
            }
            let raw = Array(bytes[start..<(start + csize)])
            let data: [UInt8]
            switch method {
            case 0: data = raw
            case 8: data = try inflate(raw, size: usize, name: name, file: file)
            default: throw bad("entry '\(name)' uses compression method \(method) (only stored and deflated are read)")
            }
            guard data.count == usize, crc32(data) == crc else { throw bad("entry '\(name)' fails its CRC check (damaged)") }
            entries.append(Entry(name: name, data: data))
        }
        return entries
    }

    private static func inflate(_ input: [UInt8], size: Int, name: String, file: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var stream = z_stream()
        guard lstm_inflate_init_raw(&stream) == Z_OK else { throw LSTMError.internal("zlib: inflateInit failed") }
        defer { inflateEnd(&stream) }
        var input = input
        let result: Int32 = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = o.baseAddress
                stream.avail_out = uInt(o.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END, Int(stream.total_out) == size else {
            throw LSTMError.format("'\(file)': entry '\(name)' cannot be inflated (damaged)")
        }
        return out
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
