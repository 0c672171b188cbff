/// The few pieces of the protocol buffers wire format an ONNX file needs: varints, and
/// length-delimited fields (strings, bytes, nested messages, packed numbers). Fields are written
/// in the order they are added; a reader does not mind the order.
struct ProtobufMessage {
    private(set) var bytes: [UInt8] = []

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// An integer field (int32, int64 and enums are varints; negative values take 10 bytes).
    mutating func int(_ field: Int, _ value: Int64) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, wireType: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ value: ProtobufMessage) { bytes(field, value.bytes) }

    /// A repeated integer field, one entry per value (onnx.proto is proto2, whose repeated
    /// numbers are not packed unless declared so).
    mutating func repeatedInts(_ field: Int, _ values: [Int64]) {
        for v in values { int(field, v) }
    }

    mutating func repeatedFloats(_ field: Int, _ values: [Float]) {
        for v in values { float(field, v) }
    }
}
