/// Numbers as the file formats the library writes store them (HDF5 here, ONNX's raw_data):
/// little-endian bytes.
public func littleEndianBytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}

/// float32 values as IEEE little-endian bytes, copied whole where the CPU stores them so.
public func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    #if _endian(little)
    return values.withUnsafeBytes { Array($0) }
    #else
    return values.flatMap { littleEndianBytes($0.bitPattern) }
    #endif
}
