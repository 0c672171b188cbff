import Foundation
import XCTest
@testable import LSTMCore

/// Optimizer updates against Keras's formulas, and fit's bookkeeping against hand computation.
final class TrainingTests: XCTestCase {
    // MARK: Optimizers

    func testAdamStepsFollowKerasFormula() {
        let lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7
        var state = OptimizerState<Double>(spec: .adam(learningRate: lr, beta1: b1, beta2: b2, epsilon: eps), shapes: [3])
        var params: [[Double]] = [[0.5, -1.0, 2.0]]
        var m = [0.0, 0, 0], v = [0.0, 0, 0], p = params[0]
        let gradients: [[Double]] = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.3], [-1.0, 0.0, 2.5]]
        for (t, g) in gradients.enumerated() {
            state.apply(params: &params, grads: [g])
            let step = Double(t + 1)
            let alpha = lr * (1 - pow(b2, step)).squareRoot() / (1 - pow(b1, step))
            for j in 0..<3 {
                m[j] += (g[j] - m[j]) * (1 - b1)
                v[j] += (g[j] * g[j] - v[j]) * (1 - b2)
                p[j] -= alpha * m[j] / (v[j].squareRoot() + eps)
            }
            assertClose(params[0], p, absolute: 1e-15, relative: 1e-12, "Adam after step \(t + 1)")
        }
        XCTAssertEqual(state.iterations, 3)
    }

    func testSGDVariantsFollowKerasFormula() {
        let g: [[Double]] = [[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]]
        for (momentum, nesterov) in [(0.0, false), (0.9, false), (0.9, true)] {
            var state = OptimizerState<Double>(spec: .sgd(learningRate: 0.1, momentum: momentum, nesterov: nesterov), shapes: [2])
            var params: [[Double]] = [[1.0, 1.0]]
            var p = [1.0, 1.0], vel = [0.0, 0.0]
            for gt in g {
                state.apply(params: &params, grads: [gt])
                for j in 0..<2 {
                    if momentum == 0 {
                        p[j] -= 0.1 * gt[j]
                    } else {
                        vel[j] = momentum * vel[j] - 0.1 * gt[j]
                        p[j] += nesterov ? momentum * vel[j] - 0.1 * gt[j] : vel[j]
                    }
                }
            }
            assertClose(params[0], p, absolute: 1e-15, relative: 1e-12, "SGD momentum \(momentum) nesterov \(nesterov)")
        }
    }

    func testOptimizerOptionsAreValidated() {
        XCTAssertThrowsError(try OptimizerSpec.adam(learningRate: -1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7).validate())
        XCTAssertThrowsError(try OptimizerSpec.adam(learningRate: 0.1, beta1: 1, beta2: 0.999, epsilon: 1e-7).validate())
        XCTAssertThrowsError(try OptimizerSpec.sgd(learningRate: .nan, momentum: 0, nesterov: false).validate())
        XCTAssertThrowsError(try OptimizerSpec.sgd(learningRate: 0.1, momentum: 2, nesterov: false).validate())
        XCTAssertNoThrow(try OptimizerSpec.defaultAdam.validate())
    }

    // MARK: Losses

    func testLossesAgainstHandComputation() {
        let p: [Double] = [1, 2, 3, 4], t: [Double] = [1.5, 2, 1, 5]
        var g = [Double](repeating: 0, count: 4)
        let mse = LossKind.meanSquaredError.evaluate(prediction: p, target: t, count: 4, width: 1, grad: &g)
        XCTAssertEqual(mse, (0.25 + 0 + 4 + 1) / 4, accuracy: 1e-15)
        assertClose(g, [-0.25, 0, 1, -0.5], absolute: 1e-15, "mse gradient")
        let mae = LossKind.meanAbsoluteError.evaluate(prediction: p, target: t, count: 4, width: 1, grad: &g)
        XCTAssertEqual(mae, (0.5 + 0 + 2 + 1) / 4, accuracy: 1e-15)
        assertClose(g, [-0.25, 0, 0.25, -0.25], absolute: 1e-15, "mae gradient")
    }

    // MARK: fit

    struct Data {
        var x: [Double], y: [Double]
        let count: Int, steps: Int
    }

    func makeModel(_ optimizer: OptimizerSpec = .sgd(learningRate: 0.05, momentum: 0, nesterov: false)) throws
        -> (Model<Double>, Data) {
        let spec = ModelSpec(timesteps: 4, features: 2, layers: [Specs.lstm("lstm", 3), Specs.dense("dense", 2)])
        let model = try Model<Double>(spec: spec, seed: 21)
        try model.compile(CompileSpec(loss: .meanSquaredError, optimizer: optimizer))
        var rng = TestRandom(22)
        let n = 10
        return (model, Data(x: rng.uniform(n * 4 * 2), y: rng.uniform(n * 2), count: n, steps: 4))
    }

    func fit(_ model: Model<Double>, _ d: Data, _ o: FitOptions, stopAfter: Int? = nil) throws -> [EpochLog] {
        var logs: [EpochLog] = []
        let ran = try d.x.withUnsafeBufferPointer { xb in
            try d.y.withUnsafeBufferPointer { yb in
                try model.fit(x: xb, y: yb, count: d.count, timesteps: d.steps, options: o) { log in
                    logs.append(log)
                    return stopAfter.map { logs.count >= $0 } ?? false
                }
            }
        }
        XCTAssertEqual(ran, logs.count)
        return logs
    }

    /// Replays fit without shuffling by hand: batches of 4, 4 and a partial 2; each batch's loss
    /// is taken before its SGD update; the epoch loss is their size-weighted mean.
    func testFitBookkeepingWithPartialLastBatch() throws {
        let (model, d) = try makeModel()
        let (reference, _) = try makeModel()
        var o = FitOptions()
        o.epochs = 2; o.batchSize = 4; o.shuffle = false
        let logs = try fit(model, d, o)
        XCTAssertEqual(logs.count, 2)
        var w = reference.weights
        for epoch in 0..<2 {
            var total = 0.0
            for (start, size) in [(0, 4), (4, 4), (8, 2)] {
                let xb = Array(d.x[(start * 8)..<((start + size) * 8)])
                let yb = Array(d.y[(start * 2)..<((start + size) * 2)])
                try reference.setWeights(w)
                let (l, g) = try xb.withUnsafeBufferPointer { xp in
                    try yb.withUnsafeBufferPointer { yp in
                        try reference.lossAndGradients(loss: .meanSquaredError, x: xp, y: yp, batch: size, timesteps: 4)
                    }
                }
                total += l * Double(size)
                for k in w.indices { for j in w[k].indices { w[k][j] -= 0.05 * g[k][j] } }
            }
            XCTAssertEqual(logs[epoch].loss, total / 10, accuracy: 1e-13, "epoch \(epoch + 1) loss")
            XCTAssertNil(logs[epoch].valLoss)
        }
        for k in w.indices { assertClose(model.weights[k], w[k], absolute: 1e-13, "weights after fit: \(model.weightNames[k])") }
        XCTAssertEqual(model.optimizerIterations, 6)
    }

    /// A fit keeps its gradient arrays and the layers' tapes for the next fit of the same shapes
    /// (reused, not made again), replaces the tapes for another batch size, and frees all of it
    /// on releaseTrainingMemory; fits one batch at a time give the same weights either way and
    /// the same as one fit over the same batches.
    func testFitKeepsItsMemoryForTheNextFit() throws {
        var o = FitOptions()
        o.epochs = 1; o.batchSize = 10; o.shuffle = false
        let (kept, d) = try makeModel(.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        let (released, _) = try makeModel(.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        let (together, _) = try makeModel(.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        XCTAssertNil(kept.fitMemory)
        _ = try fit(kept, d, o)
        let memory = try XCTUnwrap(kept.fitMemory)
        let tape = try XCTUnwrap(memory.tapes.first ?? nil)
        for _ in 0..<2 {
            _ = try fit(kept, d, o)
            XCTAssertTrue(kept.fitMemory === memory, "the same gradient arrays")
            XCTAssertTrue(kept.fitMemory!.tapes.first! === tape, "the LSTM's tape reused")
        }
        for _ in 0..<3 {
            _ = try fit(released, d, o)
            released.releaseTrainingMemory()
            XCTAssertNil(released.fitMemory)
        }
        var three = o
        three.epochs = 3
        _ = try fit(together, d, three)
        XCTAssertEqual(kept.weights, released.weights)
        XCTAssertEqual(kept.weights, together.weights)
        var other = o
        other.batchSize = 4
        _ = try fit(kept, d, other)
        XCTAssertFalse(kept.fitMemory!.tapes.first! === tape, "another batch size, another tape")
    }

    /// validation_split 0.3 of 10 samples: the last 3 are held out (Keras cuts before shuffling),
    /// training sees the first 7, and val_loss is the loss on the last 3 after the epoch.
    func testValidationSplitHoldsOutTheLastSamples() throws {
        let (model, d) = try makeModel()
        var o = FitOptions()
        o.epochs = 1; o.batchSize = 32; o.shuffle = true; o.validationSplit = 0.3
        let logs = try fit(model, d, o)
        let xv = Array(d.x[(7 * 8)...]), yv = Array(d.y[(7 * 2)...])
        let after = try xv.withUnsafeBufferPointer { xb in
            try yv.withUnsafeBufferPointer { try model.evaluate(x: xb, y: $0, count: 3, timesteps: 4) }
        }
        XCTAssertEqual(logs[0].valLoss ?? .nan, after, accuracy: 1e-14)
        // One batch of the 7 training samples: the epoch loss is that batch's loss at the
        // starting weights, whatever the order.
        let (fresh, _) = try makeModel()
        let xt = Array(d.x[..<(7 * 8)]), yt = Array(d.y[..<(7 * 2)])
        let before = try xt.withUnsafeBufferPointer { xb in
            try yt.withUnsafeBufferPointer { try fresh.evaluate(x: xb, y: $0, count: 7, timesteps: 4) }
        }
        XCTAssertEqual(logs[0].loss, before, accuracy: 1e-13)
    }

    func testShuffleIsSeededAndChangesTheOrder() throws {
        var o = FitOptions()
        o.epochs = 3; o.batchSize = 3; o.seed = 5
        let (a, d) = try makeModel(), (b, _) = try makeModel(), (c, _) = try makeModel()
        _ = try fit(a, d, o)
        _ = try fit(b, d, o)
        XCTAssertEqual(a.weights, b.weights, "same seed, same training")
        o.shuffle = false
        _ = try fit(c, d, o)
        XCTAssertNotEqual(a.weights, c.weights, "shuffled batches differ from the fixed order")
    }

    func testCallbackStopsTraining() throws {
        let (model, d) = try makeModel(.defaultAdam)
        var o = FitOptions()
        o.epochs = 10
        let logs = try fit(model, d, o, stopAfter: 2)
        XCTAssertEqual(logs.count, 2)
        XCTAssertEqual(logs.map(\.epoch), [0, 1])
        XCTAssertEqual(model.optimizerIterations, 2)
    }

    func testFitRejectsBadInputAndKeepsWeights() throws {
        let (model, d) = try makeModel()
        let before = model.weights
        var bad = d
        bad.y[3] = .infinity
        XCTAssertThrowsError(try fit(model, bad, FitOptions())) { e in
            guard case .numeric(let m) = e as! LSTMError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("y[3]"), m)
        }
        var o = FitOptions()
        o.validationSplit = 0.99
        XCTAssertThrowsError(try fit(model, d, o))
        o = FitOptions(); o.batchSize = 0
        XCTAssertThrowsError(try fit(model, d, o))
        XCTAssertEqual(model.weights, before)
        let uncompiled = try Model<Double>(spec: model.spec, seed: 1)
        XCTAssertThrowsError(try fit(uncompiled, d, FitOptions())) { e in
            guard case .invalidState = e as! LSTMError else { return XCTFail("\(e)") }
        }
    }

    /// A learning rate that makes the loss overflow: fit stops with .numeric before applying a
    /// non-finite update, so the weights stay finite.
    func testDivergenceStopsBeforeANonFiniteUpdate() throws {
        let (model, d) = try makeModel(.sgd(learningRate: 1e30, momentum: 0, nesterov: false))
        var o = FitOptions()
        o.epochs = 50; o.batchSize = 2
        XCTAssertThrowsError(try fit(model, d, o)) { e in
            guard case .numeric(let m) = e as! LSTMError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("diverged"), m)
        }
        XCTAssertTrue(model.weights.allSatisfy { $0.allSatisfy(\.isFinite) })
    }
}
