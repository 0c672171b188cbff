import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// fit with a GradientReducer, the workers as threads of this process summing through shared
/// memory (the MPI reducer is tested under mpirun by Tests/MPI): N workers with batch b on
/// strided shards train exactly as one process with batch N·b, in Double to 1e-10 (only the
/// order of the sums differs), for masked, multi-output, weighted and class-id losses with
/// metrics, regularizers and an Embedding's slices; workers with nothing left in an epoch's last
/// batch take part with empty batches; what cannot be split is refused by name.
final class DataParallelTests: XCTestCase {
    /// An all-reduce over threads: each worker leaves its values in its slot; the last to arrive
    /// adds them up in rank order (so every worker gets the same bits) and wakes the others.
    final class SharedSum: @unchecked Sendable {
        let workers: Int
        private let condition = NSCondition()
        private var slots: [[Double]]
        private var arrived = 0, generation = 0
        private var result: [Double] = []
        var failAfter: Int?  // make the n-th sum fail (a worker that cannot be reached)
        private var calls = 0

        init(workers: Int) {
            self.workers = workers
            slots = Array(repeating: [], count: workers)
        }

        func sum(rank: Int, _ values: [Double]) throws -> [Double] {
            condition.lock()
            defer { condition.unlock() }
            if let limit = failAfter, calls >= limit * workers { throw LSTMError.io("worker \(rank): the others are gone") }
            calls += 1
            slots[rank] = values
            arrived += 1
            let mine = generation
            if arrived == workers {
                result = slots.dropFirst().reduce(slots[0]) { zip($0, $1).map { $0 + $1 } }
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while generation == mine { condition.wait() }
            }
            return result
        }
    }

    final class ThreadReducer: GradientReducer, @unchecked Sendable {
        let rank: Int, shared: SharedSum
        var workers: Int { shared.workers }
        init(rank: Int, shared: SharedSum) {
            self.rank = rank
            self.shared = shared
        }

        func sum<T: Scalar>(_ values: UnsafeMutableBufferPointer<T>, _ stats: UnsafeMutableBufferPointer<Double>) throws {
            let total = try shared.sum(rank: rank, values.map { Double($0) } + Array(stats))
            for i in values.indices { values[i] = T(total[i]) }
            for i in stats.indices { stats[i] = total[values.count + i] }
        }
    }

    struct Run {
        var epochLosses: [Double] = []
        var epochMetrics: [[Double]] = []
        var weights: [[Double]] = []
        var error: Error?
    }

    /// A fixture's model (Keras's initial weights) in Double, compiled from its compile config;
    /// `regularized`: with an L2 kernel penalty on every LSTM and Dense and an activity penalty
    /// on the first, which must be added once per update, after the sum, as one process adds them.
    static func model(_ e: [String: Any], regularized: Bool = false) throws -> Model<Double> {
        try KerasMetricsTests.model(of: e, as: Double.self) { spec in
            guard regularized else { return }
            let kernels = spec.layers.indices.filter { ["LSTM", "Dense"].contains(spec.layers[$0].kind) }
            for l in kernels {
                var r = spec.regularization[l] ?? LayerRegularization()
                r.weights["kernel"] = Regularizer(l2: 0.01)
                if l == kernels.first { r.activity = Regularizer(l1: 0.001) }
                spec.regularization[l] = r
            }
        }
    }

    static func double(_ t: Tensor<Float>) -> Tensor<Double> { Tensor(shape: t.shape, values: t.values.map(Double.init)) }

    /// Rows r, r + workers, r + 2·workers ... of a tensor.
    static func shard(_ t: Tensor<Double>, rank: Int, workers: Int) -> Tensor<Double> {
        let n = t.shape[0], row = t.values.count / Swift.max(n, 1)
        let rows = Array(stride(from: rank, to: n, by: workers))
        return Tensor(shape: [rows.count] + t.shape.dropFirst(), values: rows.flatMap { t.values[($0 * row)..<(($0 + 1) * row)] })
    }

    static func fit(_ model: Model<Double>, _ xs: [Tensor<Double>], _ ys: [Tensor<Double>], weights: Tensor<Double>?,
                    options: FitOptions) -> Run {
        var run = Run()
        do {
            _ = try withViews(xs) { x in
                try withViews(ys) { y in
                    try withViews(weights.map { [$0] } ?? []) { w in
                        try model.fit(x, targets: y, sampleWeights: w.first, options: options) { log in
                            run.epochLosses.append(log.loss)
                            run.epochMetrics.append(log.metrics)
                            return false
                        }
                    }
                }
            }
        } catch { run.error = error }
        run.weights = model.weights
        return run
    }

    /// Runs `workers` data-parallel fits on threads, one per rank.
    static func parallelFits(workers: Int, shared: SharedSum? = nil, make: (Int) throws -> Model<Double>,
                             _ xs: [Tensor<Double>], _ ys: [Tensor<Double>], weights: Tensor<Double>?,
                             options: FitOptions) rethrows -> [Run] {
        let shared = shared ?? SharedSum(workers: workers)
        let models = try (0..<workers).map(make)
        final class Results: @unchecked Sendable {
            var runs: [Run]
            init(_ n: Int) { runs = [Run](repeating: Run(), count: n) }
        }
        let results = Results(workers)
        let lock = NSLock()
        let group = DispatchGroup()
        for rank in 0..<workers {
            group.enter()
            let thread = Thread {
                var o = options
                o.reducer = ThreadReducer(rank: rank, shared: shared)
                let run = fit(models[rank], xs.map { shard($0, rank: rank, workers: workers) },
                              ys.map { shard($0, rank: rank, workers: workers) },
                              weights: weights.map { shard($0, rank: rank, workers: workers) }, options: o)
                lock.lock()
                results.runs[rank] = run
                lock.unlock()
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return results.runs
    }

    func testWorkersTrainAsOneProcessWithTheGlobalBatch() throws {
        let d = try GraphTests.load("keras3_metrics.json", folder: "training")
        let entries = (d["entries"] as! [[String: Any]]).filter {
            ["two_losses_list_weighted", "sparse_logits_masked_steps", "regression_masked_steps", "two_outputs_dict",
             "categorical_softmax"].contains($0["name"] as! String)
        }
        XCTAssertEqual(entries.count, 5)
        for e in entries {
            let name = e["name"] as! String
            let x = Self.double(GraphTests.tensor(e["x"])), ys = (e["y"] as! [Any]).map { Self.double(GraphTests.tensor($0)) }
            let n = x.shape[0]
            // Per-sample weights on one entry, class-free: they weigh each position's loss.
            let weights = name == "regression_masked_steps"
                ? Tensor<Double>(shape: [n], values: (0..<n).map { 0.5 + Double($0 % 3) }) : nil
            for (workers, batch) in [(2, 2), (3, 1)] {
                var options = FitOptions()
                options.epochs = 3
                options.batchSize = workers * batch
                options.shuffle = false
                let regularized = workers == 3
                let one = Self.fit(try Self.model(e, regularized: regularized), [x], ys, weights: weights, options: options)
                XCTAssertNil(one.error, "\(name)")
                options.batchSize = batch
                let runs = try Self.parallelFits(workers: workers, make: { _ in try Self.model(e, regularized: regularized) },
                                                 [x], ys, weights: weights, options: options)
                var worst = 0.0
                for (rank, run) in runs.enumerated() {
                    XCTAssertNil(run.error, "\(name), rank \(rank)")
                    XCTAssertEqual(run.weights, runs[0].weights, "\(name): rank \(rank) holds rank 0's weights, bit for bit")
                    XCTAssertEqual(run.epochLosses, runs[0].epochLosses, "\(name): every rank logs the global loss")
                    assertClose(run.epochLosses, one.epochLosses, absolute: 1e-10, relative: 1e-10, "\(name): epoch losses")
                    for (got, want) in zip(run.epochMetrics, one.epochMetrics) {
                        assertClose(got, want, absolute: 1e-10, relative: 1e-10, "\(name): metrics")
                    }
                    for (got, want) in zip(run.weights, one.weights) {
                        assertClose(got, want, absolute: 1e-10, relative: 1e-10, "\(name): weights")
                        worst = zip(got, want).reduce(worst) { Swift.max($0, abs($1.0 - $1.1)) }
                    }
                }
                print(String(format: "data parallel %@: %d workers x batch %d = one process x batch %d: weights within %.1e%@",
                             name, workers, batch, workers * batch, worst, regularized ? " (L2 and activity penalties)" : ""))
            }
        }
    }

    /// An Embedding's gradient reaches Adam as TensorFlow's slices (a token repeated in a batch
    /// is squared per occurrence): the slice sums travel with the gradients.
    func testEmbeddingSliceSumsAreSummedOverWorkers() throws {
        let json = """
        {"class_name": "Sequential", "config": {"name": "tokens", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 6]}},
          {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 5, "output_dim": 3, "mask_zero": true}},
          {"class_name": "LSTM", "config": {"name": "lstm", "units": 4}},
          {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}}
        """
        func make(_: Int) throws -> Model<Double> {
            let m = try Model<Double>(spec: try KerasConfig.parseModel(json).spec, seed: 3)
            try m.compile(CompileSpec(loss: .meanSquaredError, optimizer: .adam(learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
            return m
        }
        let n = 10
        let tokens = (0..<(n * 6)).map { Double(($0 * 7 + $0 / 6) % 5) }  // repeats within a batch, and padding (0)
        let x = Tensor<Double>(shape: [n, 6], values: tokens), y = Tensor<Double>(shape: [n, 1], values: (0..<n).map { sin(Double($0)) })
        var options = FitOptions()
        options.epochs = 2
        options.batchSize = 4
        options.shuffle = false
        let one = Self.fit(try make(0), [x], [y], weights: nil, options: options)
        options.batchSize = 2
        let runs = try Self.parallelFits(workers: 2, make: make, [x], [y], weights: nil, options: options)
        XCTAssertNil(runs[0].error)
        XCTAssertEqual(runs[0].weights, runs[1].weights)
        for (got, want) in zip(runs[0].weights, one.weights) { assertClose(got, want, absolute: 1e-10, relative: 1e-10, "embedding") }
    }

    /// 25 samples over 3 workers in batches of 4: shards of 9, 8 and 8 need 3, 2 and 2 batches;
    /// every worker runs 3, the last two an empty one, and the result is one process's with 12.
    func testShortShardsTakePartWithEmptyBatches() throws {
        let d = try GraphTests.load("keras3_metrics.json", folder: "training")
        let e = (d["entries"] as! [[String: Any]]).first { $0["name"] as! String == "regression" }!
        var x = Self.double(GraphTests.tensor(e["x"])), y = Self.double(GraphTests.tensor((e["y"] as! [Any])[0]))
        // 25 samples from the fixture's 8, each row nudged so that none repeats.
        let xRow = x.values.count / x.shape[0], yRow = y.values.count / y.shape[0]
        x = Tensor(shape: [25] + x.shape.dropFirst(), values: (0..<25).flatMap { i in x.values[(i % 8 * xRow)..<((i % 8 + 1) * xRow)].map { $0 + 0.01 * Double(i) } })
        y = Tensor(shape: [25] + y.shape.dropFirst(), values: (0..<25).flatMap { i in y.values[(i % 8 * yRow)..<((i % 8 + 1) * yRow)] })
        var options = FitOptions()
        options.epochs = 2
        options.shuffle = false
        options.batchSize = 12
        let one = Self.fit(try Self.model(e), [x], [y], weights: nil, options: options)
        options.batchSize = 4
        let runs = try Self.parallelFits(workers: 3, make: { _ in try Self.model(e) }, [x], [y], weights: nil, options: options)
        for run in runs {
            XCTAssertNil(run.error)
            assertClose(run.epochLosses, one.epochLosses, absolute: 1e-10, relative: 1e-10, "epoch losses")
            for (got, want) in zip(run.weights, one.weights) { assertClose(got, want, absolute: 1e-10, relative: 1e-10, "weights") }
        }
    }

    func testWhatCannotBeSplitIsRefusedAndFailuresReachEveryWorker() throws {
        let d = try GraphTests.load("keras3_metrics.json", folder: "training")
        let e = (d["entries"] as! [[String: Any]]).first { $0["name"] as! String == "regression" }!
        let x = Self.double(GraphTests.tensor(e["x"])), y = Self.double(GraphTests.tensor((e["y"] as! [Any])[0]))
        var options = FitOptions()
        options.epochs = 2
        options.batchSize = 2
        // A worker that cannot reach the others: every worker's fit fails with the I/O error.
        let shared = SharedSum(workers: 2)
        shared.failAfter = 3
        let failing = try Self.parallelFits(workers: 2, shared: shared, make: { _ in try Self.model(e) }, [x], [y],
                                            weights: nil, options: options)
        for run in failing {
            guard case .io(let m)? = run.error as? LSTMError else { return XCTFail("an I/O error, got \(String(describing: run.error))") }
            XCTAssertTrue(m.contains("the others are gone"), m)
        }
        // Workers that start from different weights are told so before the first update.
        let apart = try Self.parallelFits(workers: 2, make: { rank in
            let m = try Self.model(e)
            if rank == 1 { var w = m.weights; w[0][0] += 1; try m.setWeights(w) }
            return m
        }, [x], [y], weights: nil, options: options)
        for run in apart {
            guard case .internal(let m)? = run.error as? LSTMError else { return XCTFail("\(String(describing: run.error))") }
            XCTAssertTrue(m.contains("weights differ"), m)
        }
        // Refused by name, before any sum (so no worker waits for one that refused).
        var steps = options
        steps.stepsPerEpoch = 2
        steps.reducer = ThreadReducer(rank: 0, shared: SharedSum(workers: 1))
        let model = try Self.model(e)
        let refused = Self.fit(model, [x], [y], weights: nil, options: steps)
        guard case .unsupported(let m)? = refused.error as? LSTMError else { return XCTFail("\(String(describing: refused.error))") }
        XCTAssertTrue(m.contains("steps_per_epoch"), m)
        let bn = try Model<Double>(spec: ModelSpec(name: "bn", input: .init(name: "x", shape: [5, 2]), layers: [
            LSTMSpec(name: "lstm", units: 3), BatchNormalizationSpec(name: "norm"), DenseSpec(name: "out", units: 1)]), seed: 1)
        try bn.compile(CompileSpec(loss: .meanSquaredError, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false)))
        var one = options
        one.reducer = ThreadReducer(rank: 0, shared: SharedSum(workers: 1))
        let bnRun = Self.fit(bn, [x], [y], weights: nil, options: one)
        guard case .unsupported(let b)? = bnRun.error as? LSTMError else { return XCTFail("\(String(describing: bnRun.error))") }
        XCTAssertTrue(b.contains("'norm' (BatchNormalization)"), b)
        // One worker alone is a plain fit.
        let plain = options
        let alone = Self.fit(try Self.model(e), [x], [y], weights: nil, options: one)
        let reference = Self.fit(try Self.model(e), [x], [y], weights: nil, options: plain)
        XCTAssertNil(alone.error)
        for (got, want) in zip(alone.weights, reference.weights) { assertClose(got, want, absolute: 1e-12, relative: 1e-12, "one worker") }
    }
}
