import Foundation
import XCTest
@testable import LSTMCore

/// Forward outputs against the reference written from the equations (TestSupport.swift).
final class ForwardTests: XCTestCase {
    /// Float32 forward against the float64 reference: float32 rounding over a few steps stays
    /// well under 1e-5 for O(1) values.
    func testPredictMatchesReferenceForEveryOption() throws {
        var rng = TestRandom(1)
        for (name, spec) in Specs.all {
            let model = try Model<Float>(spec: spec, seed: 7)
            try model.randomize(&rng)
            let batch = 3, steps = spec.timesteps ?? 7
            let x = rng.uniform(batch * steps * spec.features, -2, 2)
            var y = [Float](repeating: 0, count: batch * (try model.outputSize(timesteps: steps)))
            let xf = x.map(Float.init)
            try xf.withUnsafeBufferPointer { xb in
                try y.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: batch, timesteps: steps, into: $0) }
            }
            let want = Reference.predict(spec, weights: model.weights.map { $0.map(Double.init) },
                                         x: xf.map(Double.init), batch: batch, steps: steps)
            assertClose(y, want, absolute: 1e-5, relative: 1e-5, name)
        }
    }

    /// Predict splits large batches into chunks; every chunk must give the per-sample result.
    func testLargeBatchEqualsSamplesOneByOne() throws {
        let spec = Specs.all[1].1
        let model = try Model<Float>(spec: spec, seed: 3)
        var rng = TestRandom(2)
        try model.randomize(&rng)
        let batch = 300, steps = spec.timesteps!, per = try model.outputSize(timesteps: 0)
        let x = rng.uniform(batch * steps * spec.features).map(Float.init)
        var all = [Float](repeating: 0, count: batch * per)
        try x.withUnsafeBufferPointer { xb in
            try all.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: batch, timesteps: steps, into: $0) }
        }
        for b in [0, 255, 256, 299] {
            var one = [Float](repeating: 0, count: per)
            let xs = Array(x[(b * steps * spec.features)..<((b + 1) * steps * spec.features)])
            try xs.withUnsafeBufferPointer { xb in
                try one.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: 1, timesteps: steps, into: $0) }
            }
            assertClose(Array(all[(b * per)..<((b + 1) * per)]), one, absolute: 1e-6, "sample \(b)")
        }
    }

    func testPredictRejectsBadInput() throws {
        let model = try Model<Float>(spec: Specs.all[0].1, seed: 1)
        var y = [Float](repeating: 0, count: 2)
        let x = [Float](repeating: 0.5, count: 12)
        func predict(_ x: [Float], batch: Int, steps: Int, yCount: Int) -> LSTMError? {
            var y = [Float](repeating: 0, count: yCount)
            do {
                try x.withUnsafeBufferPointer { xb in
                    try y.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: batch, timesteps: steps, into: $0) }
                }
                return nil
            } catch { return error as? LSTMError }
        }
        XCTAssertNil(predict(x, batch: 2, steps: 6, yCount: 2))
        guard case .shapeMismatch(let m)? = predict(x, batch: 2, steps: 5, yCount: 2) else { return XCTFail("timesteps") }
        XCTAssertTrue(m.contains("expects 6 timesteps"), m)
        guard case .shapeMismatch? = predict(x, batch: 2, steps: 6, yCount: 3) else { return XCTFail("y size") }
        guard case .shapeMismatch? = predict(x, batch: 3, steps: 6, yCount: 3) else { return XCTFail("x size") }
        guard case .invalidArgument? = predict(x, batch: 0, steps: 6, yCount: 0) else { return XCTFail("batch 0") }
        var bad = x
        bad[7] = .nan
        guard case .numeric(let n)? = predict(bad, batch: 2, steps: 6, yCount: 2) else { return XCTFail("NaN") }
        XCTAssertTrue(n.contains("x[7]"), n)
        _ = y.removeFirst()
    }

    func testInitializersFollowKeras() throws {
        let spec = ModelSpec(timesteps: 3, features: 10, layers: [Specs.lstm("lstm", 16), Specs.dense("dense", 4)])
        let a = try Model<Double>(spec: spec, seed: 11)
        let b = try Model<Double>(spec: spec, seed: 11)
        let c = try Model<Double>(spec: spec, seed: 12)
        XCTAssertEqual(a.weights, b.weights, "same seed, same weights")
        XCTAssertNotEqual(a.weights[0], c.weights[0], "another seed, other weights")
        XCTAssertEqual(a.weightShapes, [[10, 64], [16, 64], [64], [16, 4], [4]])
        // glorot_uniform: within ±sqrt(6 / (fan_in + fan_out)), variance limit²/3.
        let limit = (6.0 / Double(10 + 64)).squareRoot()
        XCTAssertTrue(a.weights[0].allSatisfy { abs($0) <= limit })
        let variance = a.weights[0].reduce(0) { $0 + $1 * $1 } / Double(a.weights[0].count)
        XCTAssertEqual(variance, limit * limit / 3, accuracy: 0.2 * limit * limit / 3)
        // orthogonal (16, 64): the 16 rows are orthonormal.
        let u = a.weights[1]
        for r in 0..<16 {
            for s in 0..<16 {
                let dot = (0..<64).reduce(0.0) { $0 + u[r * 64 + $1] * u[s * 64 + $1] }
                XCTAssertEqual(dot, r == s ? 1 : 0, accuracy: 1e-12)
            }
        }
        // Bias: zeros, with the forget block at 1 (unit_forget_bias).
        XCTAssertEqual(a.weights[2], [Double](repeating: 0, count: 16) + [Double](repeating: 1, count: 16)
                       + [Double](repeating: 0, count: 32))
        XCTAssertEqual(a.weights[4], [0, 0, 0, 0])
        // A tall orthogonal matrix has orthonormal columns.
        var rng = SeededRandom(seed: 5)
        let tall: [Double] = Initializers.orthogonal(rows: 12, cols: 4, rng: &rng)
        for p in 0..<4 {
            for q in 0..<4 {
                let dot = (0..<12).reduce(0.0) { $0 + tall[$1 * 4 + p] * tall[$1 * 4 + q] }
                XCTAssertEqual(dot, p == q ? 1 : 0, accuracy: 1e-12)
            }
        }
    }

    /// The float32 orthogonal initializer of large matrices (block Gram-Schmidt on the product
    /// kernels) gives the same Q as the exact float64 loop on the same draws, to float32
    /// precision, and orthonormal rows.
    func testLargeOrthogonalMatchesTheExactOneInFloat32() {
        let rows = 176, cols = 704  // an LSTM(176)'s recurrent kernel: 640·160² ≥ the threshold
        XCTAssertGreaterThanOrEqual(cols * rows * rows, Initializers.largeOrthogonalWork)
        var r1 = SeededRandom(seed: 11), r2 = SeededRandom(seed: 11)
        let fast: [Float] = Initializers.orthogonal(rows: rows, cols: cols, rng: &r1)
        let exact: [Double] = Initializers.orthogonal(rows: rows, cols: cols, rng: &r2)
        let worst = zip(fast, exact).map { abs(Double($0) - $1) }.max() ?? 1
        XCTAssertLessThan(worst, 2e-5, "float32 block Gram-Schmidt vs float64 Gram-Schmidt")
        var offDiagonal = 0.0, diagonal = 0.0
        for a in 0..<rows {
            for b in a..<rows {
                var dot = 0.0
                for c in 0..<cols { dot += Double(fast[a * cols + c]) * Double(fast[b * cols + c]) }
                if a == b { diagonal = max(diagonal, abs(dot - 1)) } else { offDiagonal = max(offDiagonal, abs(dot)) }
            }
        }
        XCTAssertLessThan(diagonal, 1e-5)
        XCTAssertLessThan(offDiagonal, 1e-5)
        XCTAssertEqual(r1.next(), r2.next(), "both drew the same numbers")
    }

    func testLayersThatDoNotFitAreRejected() {
        let bad = ModelSpec(timesteps: 3, features: 2, layers: [Specs.lstm("a", 4), Specs.lstm("b", 4)])
        XCTAssertThrowsError(try Model<Float>(spec: bad, seed: 0)) { e in
            guard case .shapeMismatch(let m) = e as! LSTMError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("'b'") && m.contains("return_sequences"), m)
        }
        let zero = ModelSpec(timesteps: 3, features: 2, layers: [Specs.lstm("a", 0)])
        XCTAssertThrowsError(try Model<Float>(spec: zero, seed: 0))
        let huge = ModelSpec(timesteps: 3, features: 1 << 20, layers: [Specs.lstm("a", 1 << 20)])
        XCTAssertThrowsError(try Model<Float>(spec: huge, seed: 0)) { e in
            guard case .memory = e as! LSTMError else { return XCTFail("\(e)") }
        }
    }
}
