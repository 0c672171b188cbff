/// The working memory a fit keeps for the next one: the gradient arrays and the layers' tapes
/// of its last batch shape (history, gates and their gradients: 70 MB for LSTM(256) over 100
/// steps at batch 64). A training step driven one batch at a time (one fit call per batch)
/// allocated and page-faulted all of it on every call; a layer reuses a kept tape only for the same batch size and length, so a fit of
/// other shapes simply replaces it. `Model.releaseTrainingMemory()` frees it.
final class FitMemory<T: Scalar> {
    let grads: Parameters<T>
    var tapes: [AnyObject?] = []

    init(like params: Parameters<T>) {
        grads = Parameters(zerosLike: params)
    }
}

extension Model {
    /// Frees the working memory the last fit kept for the next (FitMemory); the next fit
    /// allocates it again. Needs exclusive access, like fit.
    public func releaseTrainingMemory() { fitMemory = nil }
}

