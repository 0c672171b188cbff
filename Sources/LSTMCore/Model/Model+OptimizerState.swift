/// The optimizer's variables in the order Keras saves them after `iterations` and
/// `learning_rate`: with use_ema the weights' moving averages, then the slots
/// (OptimizerState.slotGroups: Adam's (momentum, velocity) per weight, RMSprop's velocities then
/// momentums, ...; Nadam's u_product last), for the trainable weights only (`trainableArrays`),
/// as Keras keeps them. Used to save and restore training state.
extension Model {
    /// Where a saved variable lives.
    private enum SlotRef {
        case slot(kind: Int, weight: Int)
        case average(weight: Int)
        case uProduct

        var weight: Int? {
            switch self {
            case .slot(_, let w), .average(let w): return w
            case .uProduct: return nil
            }
        }
    }

    private func slotLayout(_ o: OptimizerState<T>) -> [SlotRef] {
        let trained = trainableArrays.count
        var layout: [SlotRef] = o.spec.ema == nil ? [] : (0..<trained).map { .average(weight: $0) }
        for group in OptimizerState<T>.slotGroups(o.spec.algorithm) {
            for w in 0..<trained { for kind in group { layout.append(.slot(kind: kind, weight: w)) } }
        }
        if OptimizerState<T>.hasUProduct(o.spec.algorithm) { layout.append(.uProduct) }
        return layout
    }

    /// The learning rate of the next update (a schedule's at the update count), as the
    /// optimizer's float32 variable holds it (Keras's `optimizer.learning_rate`).
    public var learningRate: Double? {
        optimizer.map { Double(Float($0.spec.learningRate(at: $0.iterations))) }
    }

    /// Keras's `optimizer.learning_rate = rate`: the next updates use it, the optimizer state
    /// stays. Allowed during fit's callbacks (ReduceLROnPlateau, LearningRateScheduler).
    /// - Throws: `.invalidState` before compile, `.invalidArgument` for a rate that is not
    ///   finite and > 0, `.unsupported` when a schedule gives the rate.
    public func setLearningRate(_ rate: Double) throws {
        guard var o = optimizer, var c = compileSpec else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: it has no learning rate to set")
        }
        guard rate.isFinite, rate > 0 else { throw LSTMError.invalidArgument("learning rate must be finite and > 0, got \(rate)") }
        if let schedule = o.spec.schedule {
            throw LSTMError.unsupported("the learning rate of model '\(spec.name)' is given by a \(schedule.kind.className) schedule: it cannot be set")
        }
        o.spec.learningRate = rate
        c.optimizer.learningRate = rate
        optimizer = o
        compileSpec = c
    }

    public var optimizerSlots: (iterations: Int, slots: [[T]])? {
        guard let o = optimizer else { return nil }
        return (o.iterations, slotLayout(o).map { at in
            switch at {
            case let .slot(kind, w): return o.slots[kind][w]
            case let .average(w): return o.averages[w]
            case .uProduct: return [o.uProduct]
            }
        })
    }

    /// The shape of each variable of `optimizerSlots`, in its order (the weight's it belongs
    /// to; a scalar for Nadam's u_product).
    public var optimizerSlotShapes: [[Int]] {
        guard let o = optimizer else { return [] }
        let trained = trainableArrays
        return slotLayout(o).map { at in at.weight.map { weightShapes[trained[$0]] } ?? [] }
    }

    /// Restores optimizer state saved by `optimizerSlots` (or by Keras). Checks everything first.
    /// - Throws: `.invalidState` before compile, `.shapeMismatch` when the slots do not fit.
    public func setOptimizerSlots(iterations: Int, slots: [[T]]) throws {
        guard var o = optimizer else {
            throw LSTMError.invalidState("model '\(spec.name)' is not compiled: no optimizer state to restore")
        }
        let layout = slotLayout(o), trained = trainableArrays
        guard slots.count == layout.count else {
            throw LSTMError.shapeMismatch("optimizer state holds \(slots.count) variables, the model's \(o.spec.className) has \(layout.count)")
        }
        // Past 2^53 the step count is no longer exact in the Double of the bias corrections
        // (and the next step's increment would overflow at Int.max): no real run gets there.
        guard iterations >= 0, iterations <= 1 << 53 else {
            throw LSTMError.invalidArgument("optimizer iterations \(iterations) is out of range (0 to 2^53)")
        }
        for (i, (s, at)) in zip(slots, layout).enumerated() {
            let owner = at.weight.map { "'\(weightNames[trained[$0]])'" } ?? "u_product"
            let want = at.weight.map { params.arrays[trained[$0]].count } ?? 1
            guard s.count == want else {
                throw LSTMError.shapeMismatch("optimizer variable \(i) for \(owner) holds \(s.count) values, expected \(want)")
            }
            guard s.allSatisfy(\.isFinite) else {
                throw LSTMError.numeric("optimizer variable \(i) for \(owner) holds non-finite values")
            }
            if case let .slot(kind, _) = at, OptimizerState<T>.isNonNegative(o.spec.algorithm, kind: kind),
               let negative = s.first(where: { $0 < 0 }) {
                throw LSTMError.numeric("optimizer variable \(i) for \(owner) is a sum or mean of squares or magnitudes but holds \(negative)")
            }
        }
        for (s, at) in zip(slots, layout) {
            switch at {
            case let .slot(kind, w): o.slots[kind][w] = s
            case let .average(w): o.averages[w] = s
            case .uProduct: o.uProduct = s[0]
            }
        }
        o.iterations = iterations
        optimizer = o
    }
}
