import CZlib
import LSTMCore

/// zlib's inflate into a buffer of the size the container declared, for the two containers
/// that deflate: zip members (raw deflate streams) and HDF5 chunks (zlib streams).
enum Inflate {
    enum Stream { case raw, zlib }

    /// `input` inflated, if it is one whole stream of exactly `size` bytes; nil if it is
    /// damaged, shorter or longer. Allocates `size` + 1 bytes (the spare one shows an overlong
    /// stream), so callers bound `size` by what the stored bytes can produce first.
    static func exactly(_ input: [UInt8], size: Int, _ kind: Stream) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: size + 1)
        var stream = z_stream()
        let initialized = kind == .raw ? lstm_inflate_init_raw(&stream) : lstm_inflate_init_zlib(&stream)
        guard initialized == Z_OK else { throw LSTMError.internal("zlib: inflateInit failed") }
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
        guard result == Z_STREAM_END, Int(stream.total_out) == size else { return nil }
        out.removeLast()
        return out
    }
}
