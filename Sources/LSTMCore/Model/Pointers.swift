/// Base pointers of several arrays at once, for layers with a variable number of inputs or
/// outputs (a fixed number of nested borrows would not do). Empty arrays give a pointer that
/// must not be read.
func withPointers<T: Scalar, R>(_ arrays: [[T]], _ body: ([UnsafePointer<T>]) -> R) -> R {
    func nest(_ k: Int, _ acc: [UnsafePointer<T>]) -> R {
        if k == arrays.count { return body(acc) }
        return arrays[k].withUnsafeBufferPointer { b in
            nest(k + 1, acc + [b.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<T>.alignment)!])
        }
    }
    return nest(0, [])
}

/// The same for arrays written through the pointers: they are copied into buffers of their own
/// for the call and back after it (Swift gives no simultaneous mutable access to the elements of
/// an array of arrays; the copies cost far less than the products that fill them).
func withMutablePointers<T: Scalar, R>(_ arrays: inout [[T]], _ body: ([UnsafeMutablePointer<T>]) -> R) -> R {
    let buffers = Parameters(arrays)
    let result = body(buffers.arrays.map { $0.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<T>.alignment)! })
    arrays = buffers.values
    return result
}

extension Optional {
    /// The base pointer of an optional array for the call (nil for nil).
    func withOptionalPointer<E, R>(_ body: (UnsafePointer<E>?) -> R) -> R where Wrapped == [E] {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
