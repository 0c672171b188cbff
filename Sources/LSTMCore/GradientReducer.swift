/// Data-parallel training, as Horovod and PyTorch's DDP do it, without any communication code
/// in the core: every worker runs `fit` on its own shard of the data with the same model and
/// options, and hands this reducer what must be summed over all workers. The reducer (MPI's
/// all-reduce in `liblstm_mpi`, mpi4py in Python, threads in the tests) replaces the values by
/// their sums, in place.
///
/// Every worker calls `sum` the same number of times, with the same counts, in the same order:
/// twice at the start of fit (batch counts, and a checksum of the starting weights), twice per batch (the loss normalizers before the
/// backward pass, then the gradients with the loss and metric sums after it), and at each
/// epoch's end (validation sums, the stop decision, and a checksum of the weights that must
/// agree). So each update sees the gradient of the global batch: what one process computes on
/// the union of the workers' batches, up to float32 summation order.
public protocol GradientReducer: AnyObject, Sendable {
    /// This worker's number, 0 ..< workers.
    var rank: Int { get }
    var workers: Int { get }
    /// Replaces `values` and `stats` by their element-wise sums over all workers.
    /// - Throws: `LSTMError.io` when the other workers cannot be reached.
    func sum<T: Scalar>(_ values: UnsafeMutableBufferPointer<T>, _ stats: UnsafeMutableBufferPointer<Double>) throws
}

extension GradientReducer {
    /// Sums doubles only.
    func sum(_ stats: inout [Double]) throws {
        let none = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
        try stats.withUnsafeMutableBufferPointer { try sum(none, $0) }
    }
}
