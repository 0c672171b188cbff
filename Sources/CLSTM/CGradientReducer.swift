import CLSTMABI
import LSTMCore

/// The caller's lstm_gradient_reducer as the core's GradientReducer: its sum callback, copied
/// out of the struct once (the struct may be freed after fit returns, not during it).
final class CGradientReducer: GradientReducer, @unchecked Sendable {
    let rank: Int
    let workers: Int
    private let sumCallback: lstm_sum_callback
    private let lastError: (@convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>?)?
    private let user: UnsafeMutableRawPointer?

    init(_ p: UnsafePointer<lstm_gradient_reducer>) throws {
        let size = p.pointee.struct_size
        guard size == MemoryLayout<lstm_gradient_reducer>.size else {
            throw LSTMError.invalidArgument("opts->reducer->struct_size is \(UInt(bitPattern: size)); set it to sizeof(lstm_gradient_reducer) (\(MemoryLayout<lstm_gradient_reducer>.size))")
        }
        guard let sum = p.pointee.sum else { throw LSTMError.invalidArgument("opts->reducer->sum is NULL") }
        // rank and workers are checked by fit (Model.checkDataParallel), for every caller.
        rank = p.pointee.rank
        workers = p.pointee.workers
        sumCallback = sum
        lastError = p.pointee.last_error
        user = p.pointee.user
    }

    func sum<T: Scalar>(_ values: UnsafeMutableBufferPointer<T>, _ stats: UnsafeMutableBufferPointer<Double>) throws {
        // The C face trains float32 models only.
        guard T.self == Float.self else { throw LSTMError.internal("the C gradient reducer sums float32 only") }
        let floats = UnsafeMutableRawPointer(values.baseAddress)?.assumingMemoryBound(to: Float.self)
        let status = sumCallback(user, floats, values.count, stats.baseAddress, stats.count)
        guard status == 0 else {
            let why = lastError.flatMap { $0(user) }.map { String(cString: $0) } ?? "no reason given"
            throw LSTMError.io("the gradient reducer could not sum over the \(workers) workers (rank \(rank), returned \(status)): \(why)")
        }
    }
}
