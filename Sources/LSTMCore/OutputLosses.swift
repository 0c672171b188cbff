/// A compile value given per model output, as Keras takes `loss` and `loss_weights` for several
/// outputs: a list in output order, or a dict by output name.
public enum PerOutput<V: Equatable & Sendable>: Equatable, Sendable {
    case list([V])
    case byName([Named])

    public struct Named: Equatable, Sendable {
        public var output: String
        public var value: V
        public init(output: String, value: V) {
            self.output = output
            self.value = value
        }
    }

    /// One value per output of `spec`, in its order (Keras's CompileLoss.build): a list needs one
    /// entry per output, a dict exactly the output names as its keys.
    func resolved(for spec: ModelSpec, _ what: String) throws -> [V] {
        let names = (0..<spec.outputs.count).map(spec.outputName)
        switch self {
        case .list(let values):
            guard values.count == names.count else {
                throw LSTMError.invalidArgument("compile: \(what) is a list of \(values.count), but the model has \(names.count) output\(names.count == 1 ? "" : "s") (\(names.joined(separator: ", ")))")
            }
            return values
        case .byName(let named):
            guard Set(named.map(\.output)) == Set(names), named.count == names.count else {
                throw LSTMError.invalidArgument("compile: \(what) must name every output exactly once: expected the keys \(names.joined(separator: ", ")), got \(named.map(\.output).joined(separator: ", "))")
            }
            return names.map { n in named.first { $0.output == n }!.value }
        }
    }
}

/// The loss of each model output (nil: that output has none and trains on nothing) and its
/// weight in the total (Keras's loss_weights; 1 when not given), resolved at compile.
public struct OutputLosses: Equatable, Sendable {
    public var kinds: [LossKind?]
    public var weights: [Double]

    public init(kinds: [LossKind?], weights: [Double]? = nil) {
        self.kinds = kinds
        self.weights = weights ?? Array(repeating: 1, count: kinds.count)
    }

    /// One loss for every output, as Keras applies a loss given once.
    public init(same loss: LossKind, outputs: Int) {
        self.init(kinds: Array(repeating: loss, count: outputs))
    }

    /// Whether a loss pass runs the output layers without their sigmoid or softmax (see
    /// LossKind.readsLayerLogits): when some output's loss reads logits.
    var readsLayerLogits: Bool { kinds.contains { $0?.readsLayerLogits == true } }

    /// The outputs whose own loss the logs report ("<output>_loss"): those with a loss, when
    /// there are several (Keras's CompileLoss tracks each loss once it has more than one).
    var tracked: [Int] {
        let with = kinds.indices.filter { kinds[$0] != nil }
        return with.count > 1 ? with : []
    }

    /// Whether output k's targets are class ids.
    func takesClassIds(_ k: Int) -> Bool { kinds[k]?.takesClassIds ?? false }
}

extension CompileSpec {
    /// The loss of each of the outputs of `spec` and their weights.
    func outputLosses(for spec: ModelSpec) throws -> OutputLosses {
        let count = spec.outputs.count
        let kinds = try perOutputLosses?.resolved(for: spec, "loss") ?? Array(repeating: loss, count: count)
        guard kinds.contains(where: { $0 != nil }) else {
            throw LSTMError.invalidArgument("compile: no output has a loss; give at least one")
        }
        let weights = try lossWeights?.resolved(for: spec, "loss_weights")
        for w in weights ?? [] where !w.isFinite {
            throw LSTMError.invalidArgument("compile: loss_weights must be finite numbers, got \(w)")
        }
        return OutputLosses(kinds: kinds, weights: weights)
    }
}
