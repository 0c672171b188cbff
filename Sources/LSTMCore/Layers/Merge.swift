/// Keras's elementwise merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`,
/// `Minimum`, on inputs of one shape (Keras also broadcasts size-1 axes; that is refused here).
public struct MergeSpec: LayerSpec, Equatable {
    public enum Operation: String, CaseIterable, Sendable {
        case add = "Add", subtract = "Subtract", multiply = "Multiply", average = "Average"
        case maximum = "Maximum", minimum = "Minimum"
    }

    public var name: String
    public var operation: Operation

    public init(name: String, operation: Operation) {
        self.name = name
        self.operation = operation
    }

    public var kind: String { operation.rawValue }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        guard inputs.count >= (operation == .subtract ? 2 : 1) else {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs \(operation == .subtract ? "2 inputs" : "at least 1 input"), got \(inputs.count)")
        }
        if operation == .subtract, inputs.count != 2 {
            throw LSTMError.shapeMismatch("layer '\(name)' (Subtract) takes exactly 2 inputs, got \(inputs.count)")
        }
        var shape = inputs[0]
        for other in inputs.dropFirst() {
            guard other.count == shape.count else {
                throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)): its inputs have shapes \(inputs.map { LayerChecks.describe($0) }); they must all have the same shape")
            }
            for axis in shape.indices {
                switch (shape[axis], other[axis]) {
                case let (a?, b?) where a != b && (a == 1 || b == 1):
                    throw LSTMError.unsupported("layer '\(name)' (\(kind)): its inputs have shapes \(inputs.map { LayerChecks.describe($0) }); broadcasting a size-1 axis is not supported")
                case let (a?, b?) where a != b:
                    throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)): its inputs have shapes \(inputs.map { LayerChecks.describe($0) }); they must all have the same shape")
                case (nil, let b?):
                    shape[axis] = b
                default:
                    break
                }
            }
        }
        return MergeLayer(config: self, shapes: inputs, output: shape)
    }
}

struct MergeLayer: StatelessStep, Weightless {
    let config: MergeSpec
    let shapes: [SampleShape]
    let output: SampleShape

    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { shapes }
    var outputShapes: [SampleShape] { [output] }

    func outputShapes(for inputs: [[Int]]) throws -> [[Int]] {
        guard inputs.allSatisfy({ $0 == inputs[0] }) else {
            throw LSTMError.shapeMismatch("layer '\(config.name)' (\(config.kind)): its inputs have shapes \(inputs) in this call; they must be equal")
        }
        return [inputs[0]]
    }

    /// out = op(inputs) over `count` values.
    @inline(__always)
    func combine<T: Scalar>(_ ins: [UnsafePointer<T>], _ out: UnsafeMutablePointer<T>, _ count: Int) {
        out.update(from: ins[0], count: count)
        for x in ins.dropFirst() {
            switch config.operation {
            case .add, .average: for i in 0..<count { out[i] += x[i] }
            case .subtract: for i in 0..<count { out[i] -= x[i] }
            case .multiply: for i in 0..<count { out[i] *= x[i] }
            case .maximum: for i in 0..<count where x[i] > out[i] { out[i] = x[i] }
            case .minimum: for i in 0..<count where x[i] < out[i] { out[i] = x[i] }
            }
        }
        if config.operation == .average {
            let scale = 1 / T(ins.count)
            for i in 0..<count { out[i] *= scale }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        var out = Tensor<T>(zeros: inputs[0].shape)
        let count = out.values.count
        withPointers(inputs.map(\.values)) { ins in
            out.values.withUnsafeMutableBufferPointer { combine(ins, $0.baseAddress!, count) }
        }
        return [out]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        let g = outputGradients[0].values
        let count = g.count
        switch config.operation {
        case .add:
            return needInput.map { $0 ? Tensor(shape: inputs[0].shape, values: g) : nil }
        case .subtract:
            return [needInput[0] ? Tensor(shape: inputs[0].shape, values: g) : nil,
                    needInput[1] ? Tensor(shape: inputs[0].shape, values: g.map { -$0 }) : nil]
        case .average:
            let scale = 1 / T(inputs.count)
            return needInput.map { $0 ? Tensor(shape: inputs[0].shape, values: g.map { $0 * scale }) : nil }
        case .multiply:
            // d/dx_k = g * prod of the others, computed directly (no division: inputs may be 0).
            return needInput.enumerated().map { k, need in
                guard need else { return nil }
                var d = g
                for (j, x) in inputs.enumerated() where j != k {
                    for i in 0..<count { d[i] *= x.values[i] }
                }
                return Tensor(shape: inputs[0].shape, values: d)
            }
        case .maximum, .minimum:
            // The gradient goes to the input that gave the output; on ties to the first, as
            // Keras's chain of pairwise maximum/minimum (TensorFlow's >= mask) sends it.
            var winner = [Int](repeating: 0, count: count)
            for i in 0..<count {
                var best = inputs[0].values[i]
                for (k, x) in inputs.enumerated().dropFirst() {
                    let v = x.values[i]
                    if config.operation == .maximum ? v > best : v < best { best = v; winner[i] = k }
                }
            }
            return needInput.enumerated().map { k, need in
                guard need else { return nil }
                var d = [T](repeating: 0, count: count)
                for i in 0..<count where winner[i] == k { d[i] = g[i] }
                return Tensor(shape: inputs[0].shape, values: d)
            }
        }
    }

    func checkStreamable() throws {}

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        combine(inputs, outputs[0], output.last.flatMap { $0 } ?? 0)
    }
}

