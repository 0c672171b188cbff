/// The optimizer's variables in the order Keras saves them after `iterations` and
/// `learning_rate`: Adam's (momentum, velocity) per weight, SGD's momentum per weight (none
/// without momentum). Used to save and restore training state.
extension Model {
    public var optimizerSlots: (iterations: Int, slots: [[T]])? {
        guard let o = optimizer else { return nil }
        var slots: [[T]] = []
        for k in params.arrays.indices {
            if !o.slots1.isEmpty { slots.append(o.slots1[k]) }
            if !o.slots2.isEmpty { slots.append(o.slots2[k]) }
        }
        return (o.iterations, slots)
    }

    /// Restores optimizer state saved by `optimizerSlots` (or by Keras). Checks everything first.
    /// - Throws: `.invalidState` before compile, `.shapeMismatch` when the slots do not fit.
    public func setOptimizerSlots(iterations: Int, slots: [[T]]) throws {
        guard var o = optimizer else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: no optimizer state to restore")
        }
        let perWeight = (o.slots1.isEmpty ? 0 : 1) + (o.slots2.isEmpty ? 0 : 1)
        guard slots.count == perWeight * params.arrays.count else {
            throw LSTMError.shapeMismatch("optimizer state holds \(slots.count) variables, the model's optimizer has \(perWeight * params.arrays.count)")
        }
        guard iterations >= 0 else { throw LSTMError.invalidArgument("optimizer iterations \(iterations) is negative") }
        for (i, s) in slots.enumerated() {
            let k = i / max(perWeight, 1)
            guard s.count == params.arrays[k].count else {
                throw LSTMError.shapeMismatch("optimizer variable \(i) for '\(weightNames[k])' holds \(s.count) values, expected \(params.arrays[k].count)")
            }
            guard s.allSatisfy(\.isFinite) else {
                throw LSTMError.numeric("optimizer variable \(i) for '\(weightNames[k])' holds non-finite values")
            }
        }
        for k in params.arrays.indices {
            if !o.slots1.isEmpty { o.slots1[k] = slots[k * perWeight] }
            if !o.slots2.isEmpty { o.slots2[k] = slots[k * perWeight + 1] }
        }
        o.iterations = iterations
        optimizer = o
    }
}
