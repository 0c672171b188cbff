import LSTMCore

/// Which Keras file a path names, by its suffix (case-insensitive): the one rule every save and
/// load follows. A load then checks that the bytes are what the suffix says.
enum KerasFileKind {
    /// `.keras`: a zip archive of config.json, metadata.json and model.weights.h5.
    case archive
    /// `.weights.h5` (or `.weights.hdf5`): weights in Keras 3's layout.
    case weights
    /// `.h5` (or `.hdf5`): a legacy full model (save) or Keras 2-layout weights (save_weights).
    case legacy

    static let suffixes = ".keras, .weights.h5, .h5 (.hdf5 for either of the last two), in any case"

    init(_ path: String) throws {
        let name = FileIO.split(path).name.lowercased()
        if name.hasSuffix(".keras") {
            self = .archive
        } else if name.hasSuffix(".weights.h5") || name.hasSuffix(".weights.hdf5") {
            self = .weights
        } else if name.hasSuffix(".h5") || name.hasSuffix(".hdf5") {
            self = .legacy
        } else {
            throw LSTMError.invalidArgument("cannot tell the format of '\(path)' from its name: use \(KerasFileKind.suffixes)")
        }
    }

    /// What `bytes` look like, for a message about a file that is not what its name says.
    static func describe(_ bytes: [UInt8]) -> String {
        if Zip.isArchive(bytes) { return "a zip archive" }
        if HDF5Reader.isHDF5(bytes) { return "an HDF5 file" }
        let head = bytes.prefix(64)
        let firstText = head.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        let printable = head.allSatisfy { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) || $0 >= 0x80 }
        if printable, firstText == UInt8(ascii: "{") || firstText == UInt8(ascii: "[") {
            return "JSON text (a model config? lstm_model_from_json reads those)"
        }
        if printable {
            let start = String(decoding: head.prefix(24), as: UTF8.self).replacingNewlines()
            return "text starting with \"\(start)\""
        }
        return "binary data starting with " + head.prefix(8).map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    /// Checks that a file named for this kind holds a Keras file. One of the other Keras
    /// format under this name is read by its content, as tf.keras read them (older tf.keras
    /// wrote HDF5 files under a .keras name): the note returned says so.
    func check(_ bytes: [UInt8], path: String) throws -> String? {
        switch self {
        case .archive where !Zip.isArchive(bytes):
            guard HDF5Reader.isHDF5(bytes) else {
                throw LSTMError.format("'\(path)' is not a .keras file: a .keras file is a zip archive; this one is \(KerasFileKind.describe(bytes))")
            }
            return "'\(path)' is an HDF5 file (as older tf.keras saved under a .keras name), not a zip archive: read by its content"
        case .weights where !HDF5Reader.isHDF5(bytes), .legacy where !HDF5Reader.isHDF5(bytes):
            guard Zip.isArchive(bytes) else {
                throw LSTMError.format("'\(path)' is not an HDF5 file: it is \(KerasFileKind.describe(bytes))")
            }
            return "'\(path)' is a .keras zip archive under an HDF5 name: read by its content"
        default:
            return nil
        }
    }
}

private extension String {
    func replacingNewlines() -> String { String(map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }) }
}
