/// What Keras's TensorFlow backend computes from a gradient it hands the optimizer as slices
/// (tf.IndexedSlices: an Embedding's table gets one row per token occurrence). Its elementwise
/// operations act on each slice before the slices are summed into the dense variable, so where
/// an optimizer squares the gradient, takes its magnitude, or clips it by value, a token that
/// occurs several times in a batch contributes Σ s², Σ |s|, Σ clip(s) rather than (Σ s)²,
/// |Σ s|, clip(Σ s). These sums, per weight array, for the weights whose layers report
/// `sparseGradientWeights` (the other arrays stay unused); each kind only when the optimizer
/// reads it, since they are added for every token of every batch.
public final class SliceSums<T: Scalar> {
    /// Σ s², for the optimizers that square the gradient and for the norm clippings.
    let squares: Parameters<T>?
    /// Σ |s|, for Adamax.
    let absolutes: Parameters<T>?
    /// Σ clip(s) with the optimizer's clipvalue (the squares and magnitudes are then those of
    /// the clipped slices); nil without clipvalue.
    let clipped: Parameters<T>?
    let clipValue: T?

    /// The sums `optimizer` reads, nil when it reads none.
    static func needed(by optimizer: OptimizerSpec, like params: Parameters<T>) -> SliceSums? {
        let squares: Bool
        switch optimizer.algorithm {
        case .adam, .rmsprop, .adagrad, .adadelta, .nadam: squares = true
        case .sgd, .adamax, .lion: squares = optimizer.clipNorm != nil || optimizer.globalClipNorm != nil
        }
        var absolutes = false
        if case .adamax = optimizer.algorithm { absolutes = true }
        guard squares || absolutes || optimizer.clipValue != nil else { return nil }
        return SliceSums(like: params, squares: squares, absolutes: absolutes, clipValue: optimizer.clipValue)
    }

    private init(like params: Parameters<T>, squares: Bool, absolutes: Bool, clipValue: Double?) {
        self.squares = squares ? Parameters(zerosLike: params) : nil
        self.absolutes = absolutes ? Parameters(zerosLike: params) : nil
        clipped = clipValue.map { _ in Parameters(zerosLike: params) }
        self.clipValue = clipValue.map { T($0) }
    }

    func zero() {
        squares?.zero()
        absolutes?.zero()
        clipped?.zero()
    }

    /// The buffers of arrays `range` (one layer's weights).
    func buffers(_ range: Range<Int>) -> Buffers {
        Buffers(squares: squares.map { Array($0.arrays[range]) }, absolutes: absolutes.map { Array($0.arrays[range]) },
                clipped: clipped.map { Array($0.arrays[range]) }, clipValue: clipValue)
    }

    /// Array k's sums, for the optimizer.
    func weight(_ k: Int) -> Weight {
        Weight(squares: squares?.arrays[k], absolutes: absolutes?.arrays[k], clipped: clipped?.arrays[k])
    }

    /// A layer's share, where its backward adds each slice.
    public struct Buffers {
        let squares: [UnsafeMutableBufferPointer<T>]?
        let absolutes: [UnsafeMutableBufferPointer<T>]?
        let clipped: [UnsafeMutableBufferPointer<T>]?
        let clipValue: T?

        /// Adds slice s (count values) at offset `at` of weight w. One loop per sum kept, each
        /// over plain pointers (an Embedding adds 200 × batch slices per step: the per-value
        /// optional checks had cost more than the sums).
        @inline(__always)
        func add(_ s: UnsafePointer<T>, count: Int, weight w: Int, at offset: Int) {
            if let c = clipValue {
                for j in 0..<count {
                    let v = Swift.min(Swift.max(s[j], -c), c)
                    clipped![w][offset + j] += v
                    squares?[w][offset + j] += v * v
                    absolutes?[w][offset + j] += abs(v)
                }
                return
            }
            if let sq = squares?[w].baseAddress.map({ $0 + offset }) {
                for j in 0..<count { sq[j] += s[j] * s[j] }
            }
            if let ab = absolutes?[w].baseAddress.map({ $0 + offset }) {
                for j in 0..<count { ab[j] += abs(s[j]) }
            }
        }
    }

    /// One weight's sums, as the optimizer reads them.
    struct Weight {
        let squares: UnsafeMutableBufferPointer<T>?
        let absolutes: UnsafeMutableBufferPointer<T>?
        let clipped: UnsafeMutableBufferPointer<T>?
    }
}
