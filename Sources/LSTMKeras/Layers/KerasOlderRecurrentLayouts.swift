import LSTMCore

/// The layouts in which older Keras files hold a recurrent layer's weights, turned into today's
/// (kernel, recurrent_kernel, bias), as Keras 2's own converter turned them
/// (keras/engine/saving.py: preprocess_weights_for_loading and _convert_rnn_weights):
/// - Keras 0.x and 1.x: one W, U and b per gate, gate after gate, in their order;
/// - Keras 2's CuDNNLSTM and CuDNNGRU: each gate's input block kept in cuDNN's memory order and
///   each recurrent block transposed, and two biases (input side, recurrent side).
/// Which layout a file has is told from the arrays' count and shapes, as Keras 2 told it.
enum KerasOlderRecurrentLayouts {
    typealias Array2 = (shape: [Int], values: [Float])

    /// Keras 0.x/1.x: arrays W, U, b per gate in the file's gate order; `fileGate[t]` is the file's
    /// position of today's gate t.
    static func joinedPerGate(_ arrays: [Array2], fileGate: [Int], expected: [[Int]], _ where_: String) throws -> [[Float]] {
        guard arrays.count == 3 * fileGate.count, expected.count == 3 else {
            throw LSTMError.shapeMismatch("\(where_): \(arrays.count) arrays, not W, U, b for each of \(fileGate.count) gates")
        }
        return try (0..<3).map { part in
            let what = "\(where_): the gates' \(["W", "U", "b"][part])"
            let joined = try joinedAlongLastAxis(fileGate.map { arrays[3 * $0 + part] }, what)
            guard joined.shape == expected[part] else {
                throw LSTMError.shapeMismatch("\(what) join to shape \(joined.shape), the model expects \(expected[part])")
            }
            return joined.values
        }
    }

    /// CuDNN's layout: kernel (features, gates·units), recurrent kernel (units, gates·units) and
    /// bias (2·gates·units: the input side's, then the recurrent side's). Today's LSTM adds the
    /// two biases; today's GRU (reset_after=True) keeps them as its (2, gates·units) bias.
    static func fromCuDNN(_ arrays: [Array2], gates: Int, units: Int, sumBiases: Bool, _ where_: String) throws -> [[Float]] {
        let width = gates * units
        guard arrays.count == 3, arrays[0].shape.count == 2, arrays[0].shape[1] == width, arrays[1].shape == [units, width],
              arrays[2].shape == [2 * width] else {
            throw LSTMError.shapeMismatch("\(where_): CuDNN arrays of shapes \(arrays.map { "\($0.shape)" }.joined(separator: ", ")), expected (features, \(width)), (\(units), \(width)), (\(2 * width))")
        }
        let features = arrays[0].shape[0]
        var kernel = [Float](repeating: 0, count: features * width), recurrent = [Float](repeating: 0, count: units * width)
        for g in 0..<gates {
            // A gate's input block, read row by row as Keras stores it, is cuDNN's (units, features)
            // matrix: today's block is its transpose.
            var block: [Float] = []
            block.reserveCapacity(features * units)
            for f in 0..<features {
                let start: Int = f * width + g * units
                block.append(contentsOf: arrays[0].values[start..<(start + units)])
            }
            for f in 0..<features {
                for u in 0..<units { kernel[f * width + g * units + u] = block[u * features + f] }
            }
            for r in 0..<units {
                for c in 0..<units { recurrent[r * width + g * units + c] = arrays[1].values[c * width + g * units + r] }
            }
        }
        let bias = arrays[2].values
        return [kernel, recurrent, sumBiases ? (0..<width).map { bias[$0] + bias[width + $0] } : bias]
    }

    /// Arrays of one shape but for their last axis, joined along it.
    static func joinedAlongLastAxis(_ parts: [Array2], _ where_: String) throws -> Array2 {
        guard let first = parts.first, !first.shape.isEmpty,
              parts.allSatisfy({ !$0.shape.isEmpty && $0.shape.dropLast() == first.shape.dropLast() }) else {
            throw LSTMError.shapeMismatch("\(where_): arrays of shapes \(parts.map { "\($0.shape)" }.joined(separator: ", ")), which do not join")
        }
        let rows = first.shape.dropLast().reduce(1, *)
        let widths = parts.map { $0.shape[$0.shape.count - 1] }
        var values: [Float] = []
        values.reserveCapacity(rows * widths.reduce(0, +))
        for r in 0..<rows {
            for (p, w) in zip(parts, widths) { values.append(contentsOf: p.values[(r * w)..<((r + 1) * w)]) }
        }
        return (Array(first.shape.dropLast()) + [widths.reduce(0, +)], values)
    }
}
