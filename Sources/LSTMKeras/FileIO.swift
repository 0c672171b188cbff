#if canImport(Glibc)
import Glibc
#endif
import LSTMCore

/// Whole-file reads and atomic writes, without Foundation.
enum FileIO {
    static func errorText() -> String { String(cString: strerror(errno)) }

    /// The file's bytes (at most 4 GiB).
    static func read(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw LSTMError.io("cannot open '\(path)': \(errorText())") }
        defer { fclose(f) }
        guard fseeko(f, 0, SEEK_END) == 0 else { throw LSTMError.io("cannot read '\(path)': \(errorText())") }
        let size = ftello(f)
        guard size >= 0, size < 1 << 32 else { throw LSTMError.io("cannot read '\(path)': size \(size)") }
        rewind(f)
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let got = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, Int(size), f) }
        guard got == Int(size) else { throw LSTMError.io("cannot read '\(path)': \(errorText())") }
        return bytes
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw LSTMError.io("cannot write '\(path)': \(errorText())") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw LSTMError.io("cannot write '\(path)': \(errorText())") }
            done += n
        }
        guard fsync(fd) == 0 else { throw LSTMError.io("cannot write '\(path)': \(errorText())") }
    }

    /// A fresh, unused path in `directory` (the file is created empty, so the name is ours).
    static func temporaryPath(in directory: String, base: String) throws -> String {
        var template = Array("\(directory)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw LSTMError.io("cannot create a temporary file in '\(directory)': \(errorText())") }
        close(fd)
        return String(cString: template)
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// Writes through a temporary file next to `path`, then renames it over `path`: a reader
    /// sees the old file or the whole new one, and a failed save leaves the old file untouched
    /// and no temporary behind.
    static func atomicWrite(_ path: String, _ body: (String) throws -> Void) throws {
        let (dir, name) = split(path)
        guard !name.isEmpty else { throw LSTMError.invalidArgument("'\(path)' is not a file path") }
        let temp = try temporaryPath(in: dir, base: name)
        do {
            try body(temp)
            let fd = open(temp, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            guard rename(temp, path) == 0 else { throw LSTMError.io("cannot replace '\(path)': \(errorText())") }
        } catch {
            unlink(temp)
            throw error
        }
    }
}
