/// Keras's mask: which timesteps of each sample are real (true) and which are padding (false),
/// as Embedding(mask_zero=True) and Masking make it and the layers after them pass it on.
public struct Mask: Equatable, Sendable {
    public let batch: Int
    public let steps: Int
    /// [batch][steps], true where the step is real.
    public var values: [Bool]

    public init(batch: Int, steps: Int, values: [Bool]) {
        self.batch = batch
        self.steps = steps
        self.values = values
    }

    @inline(__always) public func isReal(_ sample: Int, _ step: Int) -> Bool { values[sample * steps + step] }

    /// Keras's merge of masks: a step is real where it is real in every mask given (nil: all real).
    static func all(_ masks: [Mask?]) -> Mask? {
        let given = masks.compactMap { $0 }
        guard var out = given.first else { return nil }
        for m in given.dropFirst() where m.values.count == out.values.count {
            for k in out.values.indices { out.values[k] = out.values[k] && m.values[k] }
        }
        return out
    }
}

extension Layer {
    /// Keras's default for layers that support masking (Dense, the merges): the first input's
    /// mask goes to every output that keeps its batch and time axes.
    public func defaultOutputMasks<T: Scalar>(_ inputs: [Tensor<T>], outputs: [[Int]], masks: [Mask?]) -> [Mask?] {
        guard let mask = Mask.all(masks) else { return outputs.map { _ in nil } }
        return outputs.map { s in s.count >= 3 && s[0] == mask.batch && s[1] == mask.steps ? mask : nil }
    }
}
