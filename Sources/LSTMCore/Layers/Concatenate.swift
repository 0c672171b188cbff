/// Keras's `Concatenate(axis)`: inputs joined along one axis (the last by default), every other
/// axis equal.
public struct ConcatenateSpec: LayerSpec, Equatable {
    public var name: String
    /// Keras's axis, counting the batch as axis 0; negative counts from the end.
    public var axis: Int

    public init(name: String = "concatenate", axis: Int = -1) {
        self.name = name
        self.axis = axis
    }

    public var kind: String { "Concatenate" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        guard !inputs.isEmpty else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Concatenate) needs at least 1 input")
        }
        let rank = inputs[0].count + 1
        let shown = inputs.map { LayerChecks.describe($0) }
        guard inputs.allSatisfy({ $0.count + 1 == rank }) else {
            throw LSTMError.shapeMismatch("layer '\(name)' (Concatenate): its inputs have shapes \(shown) of different ranks")
        }
        let a = axis < 0 ? axis + rank : axis
        guard a >= 1, a < rank else {
            throw LSTMError.invalidArgument("layer '\(name)' (Concatenate): axis \(axis) is not an axis of inputs of rank \(rank) besides the batch")
        }
        let p = a - 1
        var out = inputs[0]
        var total: Int? = 0
        for s in inputs {
            for d in s.indices where d != p {
                switch (out[d], s[d]) {
                case let (x?, y?) where x != y:
                    throw LSTMError.shapeMismatch("layer '\(name)' (Concatenate): its inputs have shapes \(shown), which differ on an axis other than the concatenation axis \(axis)")
                case (nil, let y?): out[d] = y
                default: break
                }
            }
            if let t = total, let d = s[p] { total = t + d } else { total = nil }
        }
        out[p] = total
        return ConcatenateLayer(config: self, shapes: inputs, axis: p, output: out)
    }
}

struct ConcatenateLayer: StatelessStep, Weightless {
    let config: ConcatenateSpec
    let shapes: [SampleShape]
    /// The concatenation axis among the per-sample axes.
    let axis: Int
    let output: SampleShape

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { shapes }
    var outputShapes: [SampleShape] { [output] }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        for s in inputs {
            for d in s.indices where d != axis + 1 && s[d] != inputs[0][d] {
                throw LSTMError.shapeMismatch("layer '\(config.name)' (Concatenate): its inputs have shapes \(inputs) in this call, which differ on an axis other than the concatenation axis")
            }
        }
        return [joinedShape(inputs)]
    }

    /// The first input's shape with the lengths of the concatenation axis summed.
    func joinedShape(_ inputs: [[Int]]) -> [Int] {
        var out = inputs[0]
        out[axis + 1] = inputs.reduce(0) { $0 + $1[axis + 1] }
        return out
    }

    /// Each tensor seen as [outer][its axis length × inner].
    func blocks(_ shape: [Int]) -> (outer: Int, chunk: Int) {
        let outer = shape[..<(axis + 1)].reduce(1, *)
        return (outer, shape[(axis + 1)...].reduce(1, *))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let shape = joinedShape(inputs.map(\.shape))
        var out = Tensor<T>(zeros: shape)
        let (outer, width) = blocks(shape)
        out.values.withUnsafeMutableBufferPointer { o in
            var offset = 0
            for x in inputs {
                let chunk = blocks(x.shape).chunk
                x.values.withUnsafeBufferPointer { xv in
                    for r in 0..<outer {
                        (o.baseAddress! + r * width + offset).update(from: xv.baseAddress! + r * chunk, count: chunk)
                    }
                }
                offset += chunk
            }
        }
        return [out]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let (outer, width) = blocks(outputs[0].shape)
        var offset = 0
        return outputGradients[0].values.withUnsafeBufferPointer { g in
            zip(inputs, needInput).map { x, need -> Tensor<T>? in
                let chunk = blocks(x.shape).chunk
                defer { offset += chunk }
                guard need else { return nil }
                var d = Tensor<T>(zeros: x.shape)
                d.values.withUnsafeMutableBufferPointer { dv in
                    for r in 0..<outer {
                        (dv.baseAddress! + r * chunk).update(from: g.baseAddress! + r * width + offset, count: chunk)
                    }
                }
                return d
            }
        }
    }

    /// Joined along the time axis, the masks are joined too (a missing one: all steps real);
    /// along another axis, Keras's rule for merges: real where real in every mask.
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] {
        guard axis == 0, output.count >= 2, masks.contains(where: { $0 != nil }) else {
            return defaultOutputMasks(inputs, outputs: [joinedShape(inputs.map(\.shape))], masks: masks)
        }
        let batch = inputs[0].shape[0]
        var values: [Bool] = []
        let steps = inputs.map { $0.shape[1] }
        for r in 0..<batch {
            for (x, m) in zip(steps, masks) {
                for t in 0..<x { values.append(m?.isReal(r, t) ?? true) }
            }
        }
        return [Mask(batch: batch, steps: steps.reduce(0, +), values: values)]
    }

    func checkStreamable() throws {
        guard axis == output.count - 1, output.count <= 2 else {
            throw LSTMError.unsupported("layer '\(config.name)' (Concatenate) joins its inputs along axis \(config.axis), not their last: it cannot be run one timestep at a time")
        }
    }


    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        var offset = 0
        for (x, shape) in zip(inputs, shapes) {
            let width = shape.last.flatMap { $0 } ?? 0
            (outputs[0] + offset).update(from: x, count: width)
            offset += width
        }
    }
}
