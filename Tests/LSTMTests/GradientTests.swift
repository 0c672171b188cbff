import XCTest
@testable import LSTMCore

/// Backpropagation through time against central finite differences, in Double: the core is
/// generic over the float type, so the check can be tight (1e-6 relative).
final class GradientTests: XCTestCase {
    func check(_ name: String, _ spec: ModelSpec, loss: LossKind, steps: Int, batch: Int = 2, seed: UInt64) throws {
        let model = try Model<Double>(spec: spec, seed: seed)
        var rng = TestRandom(seed)
        try model.randomize(&rng)
        let x = rng.uniform(batch * steps * spec.features, -1.5, 1.5)
        let per = try model.outputSize(timesteps: steps)
        let y = rng.uniform(batch * per, -1, 1)
        func lossAt(_ w: [[Double]]) throws -> (Double, [[Double]]) {
            try model.setWeights(w)
            return try x.withUnsafeBufferPointer { xb in
                try y.withUnsafeBufferPointer { yb in
                    try model.lossAndGradients(loss: loss, x: xb, y: yb, batch: batch, timesteps: steps)
                }
            }
        }
        let w0 = model.weights
        let (_, grads) = try lossAt(w0)
        let h = 1e-6
        for (k, w) in w0.enumerated() {
            var numeric = [Double](repeating: 0, count: w.count)
            for j in w.indices {
                var plus = w0, minus = w0
                plus[k][j] += h
                minus[k][j] -= h
                numeric[j] = (try lossAt(plus).0 - lossAt(minus).0) / (2 * h)
            }
            // Central differences have O(h²) truncation and ~1e-16/h rounding error: ~1e-10
            // absolute here, far below the 1e-6 relative bound.
            assertClose(grads[k], numeric, absolute: 1e-8, relative: 1e-6, "\(name): d loss / d \(model.weightNames[k])")
        }
        try model.setWeights(w0)
    }

    func testGradientsOfEveryOptionMatchFiniteDifferences() throws {
        for (k, (name, spec)) in Specs.all.enumerated() {
            try check(name, spec, loss: .meanSquaredError, steps: spec.timesteps ?? 4, seed: UInt64(100 + k))
        }
    }

    func testMeanAbsoluteErrorGradient() throws {
        let (name, spec) = Specs.all[1]
        try check(name + " (mae)", spec, loss: .meanAbsoluteError, steps: spec.timesteps!, batch: 3, seed: 9)
    }

    func testSingleTimestepAndSingleSample() throws {
        let spec = ModelSpec(timesteps: nil, features: 3, layers: [Specs.lstm("lstm", 2) { $0.returnSequences = true },
                                                                   Specs.dense("dense", 1)])
        try check("one step", spec, loss: .meanSquaredError, steps: 1, batch: 1, seed: 4)
    }
}
