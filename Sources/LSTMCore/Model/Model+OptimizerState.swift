/// The optimizer's variables in the order Keras saves them after `iterations` and
/// `learning_rate`: Adam's (momentum, velocity) per weight, SGD's momentum per weight (none
/// without momentum), for the trainable weights only (`trainableArrays`), as Keras keeps them.
/// Used to save and restore training state.
extension Model {
    public var optimizerSlots: (iterations: Int, slots: [[T]])? {
        guard let o = optimizer else { return nil }
        var slots: [[T]] = []
        for k in trainableArrays.indices {
            if !o.slots1.isEmpty { slots.append(o.slots1[k]) }
            if !o.slots2.isEmpty { slots.append(o.slots2[k]) }
        }
        return (o.iterations, slots)
    }

    /// The shape of each variable of `optimizerSlots`, in its order (the weight's it belongs to).
    public var optimizerSlotShapes: [[Int]] {
        guard let o = optimizer else { return [] }
        return trainableArrays.flatMap { Array(repeating: weightShapes[$0], count: o.slotsPerWeight) }
    }

    /// Restores optimizer state saved by `optimizerSlots` (or by Keras). Checks everything first.
    /// - Throws: `.invalidState` before compile, `.shapeMismatch` when the slots do not fit.
    public func setOptimizerSlots(iterations: Int, slots: [[T]]) throws {
        guard var o = optimizer else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: no optimizer state to restore")
        }
        let perWeight = o.slotsPerWeight
        let trained = trainableArrays
        guard slots.count == perWeight * trained.count else {
            throw LSTMError.shapeMismatch("optimizer state holds \(slots.count) variables, the model's optimizer has \(perWeight * trained.count)")
        }
        // Past 2^53 the step count is no longer exact in the Double of Adam's bias correction
        // (and the next step's increment would overflow at Int.max): no real run gets there.
        guard iterations >= 0, iterations <= 1 << 53 else {
            throw LSTMError.invalidArgument("optimizer iterations \(iterations) is out of range (0 to 2^53)")
        }
        for (i, s) in slots.enumerated() {
            let k = trained[i / max(perWeight, 1)]
            guard s.count == params.arrays[k].count else {
                throw LSTMError.shapeMismatch("optimizer variable \(i) for '\(weightNames[k])' holds \(s.count) values, expected \(params.arrays[k].count)")
            }
            guard s.allSatisfy(\.isFinite) else {
                throw LSTMError.numeric("optimizer variable \(i) for '\(weightNames[k])' holds non-finite values")
            }
            // Adam's second variable per weight is a running mean of squares.
            if perWeight == 2, i % 2 == 1, let negative = s.first(where: { $0 < 0 }) {
                throw LSTMError.numeric("optimizer variable \(i) for '\(weightNames[k])' is a mean of squares but holds \(negative)")
            }
        }
        for k in trained.indices {
            if !o.slots1.isEmpty { o.slots1[k] = slots[k * perWeight] }
            if !o.slots2.isEmpty { o.slots2[k] = slots[k * perWeight + 1] }
        }
        o.iterations = iterations
        optimizer = o
    }
}
