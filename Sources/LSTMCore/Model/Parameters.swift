/// Weight arrays (or their gradients) in memory that stays put: layers get pointers into it that
/// the model computes once, so a forward pass or a streaming step looks nothing up.
final class Parameters<T: Scalar>: @unchecked Sendable {
    let arrays: [UnsafeMutableBufferPointer<T>]

    init(_ values: [[T]]) {
        arrays = values.map { v in
            let p = UnsafeMutableBufferPointer<T>.allocate(capacity: v.count)
            _ = p.initialize(from: v)
            return p
        }
    }

    /// Zeros, in the shape of `other`.
    init(zerosLike other: Parameters<T>) {
        arrays = other.arrays.map { a in
            let p = UnsafeMutableBufferPointer<T>.allocate(capacity: a.count)
            p.initialize(repeating: 0)
            return p
        }
    }

    deinit { for a in arrays { a.deallocate() } }

    var values: [[T]] { arrays.map { Array($0) } }

    /// Overwrites every array; the counts must already match.
    func assign(_ new: [[T]]) {
        for (a, v) in zip(arrays, new) { _ = a.update(fromContentsOf: v) }
    }

    /// Copies every array of `other` (of the same shapes) over these.
    func assign(from other: Parameters<T>) {
        for (a, b) in zip(arrays, other.arrays) { _ = a.update(fromContentsOf: b) }
    }

    func zero() { for a in arrays { a.update(repeating: 0) } }

    var allFinite: Bool { arrays.allSatisfy { $0.allSatisfy { $0.isFinite } } }
}
