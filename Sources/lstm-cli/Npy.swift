#if canImport(Glibc)
import Glibc
#endif
import LSTMCore

/// numpy's .npy files: float32 or float64 arrays in C order, read as float32; written as
/// float32 (format version 1.0).
enum Npy {
    static func read(_ path: String) throws -> (shape: [Int], values: [Float]) {
        guard let f = fopen(path, "rb") else { throw LSTMError.io("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        func bad(_ why: String) -> LSTMError { LSTMError.format("'\(path)' is not a .npy file this tool reads: \(why)") }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { throw bad("no NUMPY magic") }
        let major = bytes[6]
        var headerLen = 0, start = 0
        if major == 1 {
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else if major == 2 || major == 3, bytes.count >= 12 {
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        } else { throw bad("format version \(major)") }
        guard start + headerLen <= bytes.count else { throw bad("truncated header") }
        let header = String(decoding: bytes[start..<(start + headerLen)], as: UTF8.self)
        func value(_ key: String) -> Substring? {
            let needle = Array("'\(key)':")
            let chars = Array(header)
            guard chars.count >= needle.count else { return nil }
            for i in 0...(chars.count - needle.count) where Array(chars[i..<(i + needle.count)]) == needle {
                return Substring(String(chars[(i + needle.count)...])).drop { $0 == " " }
            }
            return nil
        }
        guard let descr = value("descr") else { throw bad("no descr") }
        let size: Int
        if descr.hasPrefix("'<f4'") || descr.hasPrefix("'=f4'") { size = 4 }
        else if descr.hasPrefix("'<f8'") || descr.hasPrefix("'=f8'") { size = 8 }
        else { throw bad("dtype \(descr.prefix(6)) (only little-endian float32 and float64)") }
        guard let fortran = value("fortran_order"), fortran.hasPrefix("False") else { throw bad("Fortran order") }
        guard let shapeText = value("shape"), shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else {
            throw bad("no shape")
        }
        let shape = try shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",").map {
            guard let d = Int($0.trimmingCharacters(in: " ")), d >= 0 else { throw bad("shape \(shapeText[..<close]))") }
            return d
        }
        let count = try checkedProduct(shape, "'\(path)'")
        let data = start + headerLen
        guard bytes.count - data >= count * size else { throw bad("data shorter than its shape (truncated)") }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for k in 0..<count {
                values[k] = size == 4 ? Float(bitPattern: raw.loadUnaligned(fromByteOffset: data + 4 * k, as: UInt32.self))
                                      : Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: data + 8 * k, as: UInt64.self)))
            }
        }
        return (shape, values)
    }

    static func write(_ path: String, shape: [Int], values: [Float]) throws {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for v in values {
            let b = v.bitPattern
            bytes += [UInt8(b & 0xff), UInt8(b >> 8 & 0xff), UInt8(b >> 16 & 0xff), UInt8(b >> 24)]
        }
        guard let f = fopen(path, "wb") else { throw LSTMError.io("cannot write '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { throw LSTMError.io("cannot write '\(path)'") }
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
