/// The index arithmetic of the layers that move or broadcast values (Permute, PReLU's shared
/// alphas, dropout's noise_shape): for each position of a row-major shape, the offset it reads
/// in another array, given that array's stride along each axis (0 where it is broadcast).
enum StridedOffsets {
    /// The row-major strides of `shape`.
    static func rowMajor(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for k in stride(from: shape.count - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * shape[k + 1] }
        return strides
    }

    /// The strides of an array of shape `source` read as broadcast along its size-1 axes.
    static func broadcast(_ source: [Int]) -> [Int] {
        zip(rowMajor(source), source).map { stride, size in size == 1 ? 0 : stride }
    }

    /// For every position of `shape`, in row-major order: Σ coordinate_k · strides[k].
    static func offsets(_ shape: [Int], strides: [Int]) -> [Int] {
        let count = shape.reduce(1, *)
        var offsets = [Int](repeating: 0, count: count)
        var coords = [Int](repeating: 0, count: shape.count)
        for i in 0..<count {
            var o = 0
            for k in coords.indices { o += coords[k] * strides[k] }
            offsets[i] = o
            var k = shape.count - 1
            while k >= 0 { coords[k] += 1; if coords[k] < shape[k] { break }; coords[k] = 0; k -= 1 }
        }
        return offsets
    }
}
