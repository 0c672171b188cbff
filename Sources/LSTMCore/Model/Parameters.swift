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

    /// Whether no value is NaN or infinite. x - x is 0 for a finite x and NaN otherwise, so one
    /// sum per lane, with no branch per value, tells (fit checks the gradients every step: 10 MB
    /// for an Embedding(20000, 128), where the per-value test had cost 4%).
    var allFinite: Bool {
        arrays.allSatisfy { a in
            let n = a.count, p = a.baseAddress
            var lanes = (T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0))
            var i = 0
            while i + 8 <= n, let p {
                lanes.0 += p[i] - p[i]; lanes.1 += p[i + 1] - p[i + 1]; lanes.2 += p[i + 2] - p[i + 2]
                lanes.3 += p[i + 3] - p[i + 3]; lanes.4 += p[i + 4] - p[i + 4]; lanes.5 += p[i + 5] - p[i + 5]
                lanes.6 += p[i + 6] - p[i + 6]; lanes.7 += p[i + 7] - p[i + 7]
                i += 8
            }
            let sum = lanes.0 + lanes.1 + lanes.2 + lanes.3 + lanes.4 + lanes.5 + lanes.6 + lanes.7
            return sum == 0 && a[i...].allSatisfy { $0.isFinite }
        }
    }
}
