#if canImport(Glibc)
import Glibc
#endif
import LSTMCore

/// Whole-file reads and atomic writes, without Foundation.
enum FileIO {
    static func errorText() -> String { String(cString: strerror(errno)) }

    /// The largest file read (a model file is far smaller).
    static let maxFileSize = 1 << 32

    private static func isKind(_ st: stat, _ kind: mode_t) -> Bool { st.st_mode & S_IFMT == kind }

    /// What a path that is not a regular file is, for messages.
    private static func kindName(_ st: stat) -> String {
        if isKind(st, S_IFDIR) { return "a directory" }
        if isKind(st, S_IFIFO) { return "a FIFO (named pipe)" }
        if isKind(st, S_IFSOCK) { return "a socket" }
        if isKind(st, S_IFCHR) || isKind(st, S_IFBLK) { return "a device" }
        if isKind(st, S_IFLNK) { return "a symbolic link to another symbolic link" }
        return "not a regular file"
    }

    /// The path a symbolic link names, relative to the link's folder when it is relative.
    private static func linkTarget(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, Int(PATH_MAX))
        guard n > 0 else { return nil }
        let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.hasPrefix("/") ? target : split(path).directory + "/" + target
    }

    /// The bytes of the regular file at `path` (at most 4 GiB). A symbolic link is followed
    /// once, to a regular file. Directories, FIFOs, sockets and devices are refused before they
    /// are opened (opening a FIFO would block), and so is an empty file.
    static func read(_ path: String) throws -> [UInt8] {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw LSTMError.io("cannot open '\(path)': \(errorText())") }
        var target = path
        if isKind(st, S_IFLNK) {
            guard let t = linkTarget(path), lstat(t, &st) == 0 else {
                throw LSTMError.io("cannot open '\(path)': a symbolic link to nothing readable (\(errorText()))")
            }
            target = t
        }
        guard isKind(st, S_IFREG) else { throw LSTMError.io("cannot read '\(path)': it is \(kindName(st)), not a file") }
        // O_NOFOLLOW and O_NONBLOCK: if the path was swapped for a link or a FIFO since it was
        // checked, the open fails or returns at once instead of following it or blocking.
        let fd = open(target, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw LSTMError.io("cannot open '\(path)': \(errorText())") }
        defer { close(fd) }
        guard fstat(fd, &st) == 0, isKind(st, S_IFREG) else {
            throw LSTMError.io("cannot read '\(path)': it is \(kindName(st)), not a file")
        }
        let size = Int(st.st_size)
        guard size > 0 else { throw LSTMError.format("'\(path)' is empty (0 bytes)") }
        guard size <= maxFileSize else { throw LSTMError.io("cannot read '\(path)': \(size) bytes is more than a model file can be") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw LSTMError.io("cannot read '\(path)': \(n == 0 ? "it shrank while being read" : errorText())") }
            done += n
        }
        return bytes
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LSTMError.io("cannot write '\(path)': \(errorText())") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0, errno == EINTR { continue }
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

    /// The process's umask, read without changing it (umask(2) can only set it, and setting it
    /// even for a moment would race with files other threads create).
    static func currentUmask() -> mode_t {
        guard let f = fopen("/proc/self/status", "r") else { return 0o022 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, f) != nil {
            let text = String(cString: line)
            if text.hasPrefix("Umask:"), let v = mode_t(text.dropFirst(6).trimmingSpaces(), radix: 8) { return v }
        }
        return 0o022
    }

    /// Writes through a temporary file next to `path`, then renames it over `path`: a reader
    /// sees the old file or the whole new one, and a failed save leaves the old file untouched
    /// and no temporary behind. A new file gets the mode 0666 less the umask, as a file created
    /// with open(2) would; a replaced file keeps its mode (and owner, where that is allowed).
    /// A symbolic link is not replaced: the file it points to is, in that file's folder.
    static func atomicWrite(_ path: String, _ body: (String) throws -> Void) throws {
        var destination = path
        var st = stat()
        if lstat(path, &st) == 0, isKind(st, S_IFLNK) {
            guard let resolved = realpath(path, nil) else {
                throw LSTMError.io("cannot save to '\(path)': it is a symbolic link to nothing (\(errorText()))")
            }
            destination = String(cString: resolved)
            free(resolved)
        }
        let (dir, name) = split(destination)
        guard !name.isEmpty else { throw LSTMError.invalidArgument("'\(path)' is not a file path") }
        let existing: stat? = stat(destination, &st) == 0 ? st : nil
        if let existing, !isKind(existing, S_IFREG) {
            throw LSTMError.io("cannot save to '\(path)': it is \(kindName(existing))")
        }
        let temp = try temporaryPath(in: dir, base: name)
        do {
            try body(temp)
            let fd = open(temp, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw LSTMError.io("cannot reopen '\(temp)': \(errorText())") }
            defer { close(fd) }
            if let existing {
                _ = fchown(fd, existing.st_uid, existing.st_gid)  // allowed only to root or the same owner
                fchmod(fd, existing.st_mode & 0o7777)
            } else {
                fchmod(fd, 0o666 & ~currentUmask())
            }
            fsync(fd)
            guard rename(temp, destination) == 0 else { throw LSTMError.io("cannot replace '\(path)': \(errorText())") }
        } catch {
            unlink(temp)
            throw error
        }
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.prefix { $0 != "\n" && $0 != " " })
    }
}

/// Writes `bytes` to `path` as every save here does (`FileIO.atomicWrite`: through a temporary
/// file renamed over the target), for the library's file formats kept outside this module.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try FileIO.atomicWrite(path) { try FileIO.write(bytes, to: $0) }
}
