import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// The layers around the recurrent ones (activations, reshaping, noise, Conv1D and pooling,
/// normalization, TimeDistributed, frozen layers) against what real Keras 3 and tf-keras computed
/// and wrote (Tests/Fixtures/make_layer_fixtures.py); gradients against finite differences;
/// the noise layers' training-time statistics; streaming against predict.
final class LayerTests: XCTestCase {
    typealias Fixture = GraphTests.Fixture

    static func fixtureNames() throws -> [String] {
        let dir = GraphTests.fixtures.appendingPathComponent("layers").path
        return try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".json") && !$0.contains("training") }.sorted()
    }

    func loadFixtures() throws -> [(Fixture, [String: Any])] {
        let names = try Self.fixtureNames()
        XCTAssertEqual(names.count, 15, "11 Keras 3 models + 4 tf-keras models")
        return try names.map { file in
            let d = try GraphTests.load(file, folder: "layers")
            let f = Fixture(name: file, modelJSON: d["model_json"] as! String, weightNames: d["weight_names"] as! [String],
                            weights: (d["weights"] as! [Any]).map { GraphTests.tensor($0).values },
                            x: (d["x"] as! [Any]).map(GraphTests.tensor), y: (d["y"] as! [Any]).map(GraphTests.tensor))
            return (f, d)
        }
    }

    /// Keras's weight names without the model's and the cell's levels: layer/weight.
    static func kerasWeightName(_ n: String, model: String) -> String {
        let parts = n.split(separator: ":")[0].split(separator: "/").map(String.init)
            .filter { !$0.hasSuffix("_cell") && $0 != model }
        return parts.first! + "/" + parts.last!
    }

    /// Every model's weights in Keras's order and names; predict within 1e-5 of Keras's (float32,
    /// other summation order); where Keras's training-mode call is deterministic
    /// (BatchNormalization's batch statistics), that output and the moving statistics it left.
    func testKerasLayerModelsGiveKerasOutputs() throws {
        for (f, d) in try loadFixtures() {
            let spec = try KerasConfig.parseModel(f.modelJSON).spec
            let model = try Model<Float>(spec: spec, seed: 0)
            XCTAssertEqual(model.weightNames, f.weightNames.map { Self.kerasWeightName($0, model: spec.name) }, f.name)
            try model.setWeights(f.weights)
            let ys = try run(model, f.x)
            XCTAssertEqual(ys.count, f.y.count, f.name)
            var worst: Float = 0
            for (k, (y, want)) in zip(ys, f.y).enumerated() {
                XCTAssertEqual(y.shape, want.shape, "\(f.name) output \(k)")
                assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "\(f.name) output \(k)")
                worst = zip(y.values, want.values).reduce(worst) { max($0, abs($1.0 - $1.1)) }
            }
            print("parity \(f.name): max |liblstm - Keras| = \(worst)")
            guard let training = d["y_training"] as? [Any] else { continue }
            let pass = model.forward(f.x, training: true)
            for (k, (y, want)) in zip(model.outputs(of: pass), training.map(GraphTests.tensor)).enumerated() {
                assertClose(y.values, want.values, absolute: 1e-5, relative: 1e-5, "\(f.name) training-mode output \(k)")
            }
            let after = (d["weights_after_training_call"] as! [Any]).map { GraphTests.tensor($0).values }
            for (k, (got, want)) in zip(model.weights, after).enumerated() {
                assertClose(got, want, absolute: 1e-6, relative: 1e-5, "\(f.name) \(model.weightNames[k]) after a training call")
            }
        }
    }

    /// The JSON we write reads back to the same model, names every class as Keras does, and
    /// keeps trainable=False.
    func testWrittenLayerJSONRoundTrips() throws {
        for (f, _) in try loadFixtures() {
            let spec = try KerasConfig.parseModel(f.modelJSON).spec
            let written = try KerasConfig.modelJSON(spec, compile: nil).serialized()
            let again = try KerasConfig.parseModel(written).spec
            XCTAssertTrue(again.isSame(as: spec), f.name)
            let kerasClasses = Set(try JSON.parse(f.modelJSON)["config"]!["layers"]!.arrayValue!.compactMap { $0["class_name"]?.stringValue })
            let ours = Set(try JSON.parse(written)["config"]!["layers"]!.arrayValue!.compactMap { $0["class_name"]?.stringValue })
            XCTAssertEqual(ours, kerasClasses, f.name)
        }
        let frozen = try KerasConfig.parseModel(try loadFixtures().first { $0.0.name == "keras3_frozen.json" }!.0.modelJSON).spec
        XCTAssertEqual(frozen.frozenLayers.map { (frozen.layers[$0] as? DenseSpec)?.units }, [3], "the frozen Dense(3)")
    }

    /// Gradients through every Keras 3 fixture model (batch statistics, frozen layers, masks).
    func testLayerGradientsMatchFiniteDifferences() throws {
        for (f, _) in try loadFixtures() where f.name.hasPrefix("keras3") {
            let model = try Model<Double>(spec: try KerasConfig.parseModel(f.modelJSON).spec, seed: 3)
            var rng = TestRandom(17)
            try model.randomize(&rng)
            // Keras's first two samples (token ids stay ids).
            let xs = f.x.map { x -> Tensor<Double> in
                let shape = [2] + x.shape.dropFirst()
                return Tensor(shape: shape, values: x.values.prefix(shape.reduce(1, *)).map(Double.init))
            }
            try checkGradients(model, xs, f.name, &rng)
        }
    }

    /// Each layer's input gradient (its backward's dx) and own weights, with options the
    /// fixtures do not cover: the layer sits between a Dense, whose kernel's gradient passes
    /// through the layer's dx, and Flatten -> Dense(1).
    func testEachLayerBackwardMatchesFiniteDifferences() throws {
        func conv(_ k: Int, _ padding: String, strides: Int = 1, dilation: Int = 1, _ a: Activation) -> Conv1DSpec {
            var c = Conv1DSpec(name: "c", filters: 3, kernelSize: k)
            c.padding = padding
            c.strides = strides
            c.dilationRate = dilation
            c.activation = a
            return c
        }
        var layers: [(String, [Int?], any LayerSpec)] = [
            ("conv causal dilated gelu", [7, 3], conv(3, "causal", dilation: 2, .gelu)),
            ("conv same strided silu", [7, 3], conv(4, "same", strides: 2, .silu)),
            ("conv valid softmax", [7, 3], conv(2, "valid", strides: 3, .softmax)),
            ("max pool same", [7, 3], Pooling1DSpec(name: "p", reduction: .max, poolSize: 3, strides: 2, padding: "same")),
            ("average pool same", [7, 3], Pooling1DSpec(name: "p", reduction: .average, poolSize: 3, strides: 2, padding: "same")),
            ("global max", [7, 3], GlobalPooling1DSpec(name: "g", reduction: .max)),
            ("global average", [7, 3], GlobalPooling1DSpec(name: "g", reduction: .average, keepDims: true)),
            ("zero padding", [5, 2], ReshapingSpec(name: "z", operation: .zeroPadding1D(left: 2, right: 1))),
            ("cropping", [5, 2], ReshapingSpec(name: "z", operation: .cropping1D(left: 1, right: 2))),
            ("upsampling", [5, 2], ReshapingSpec(name: "z", operation: .upSampling1D(3))),
            ("permute", [5, 2], ReshapingSpec(name: "z", operation: .permute([2, 1]))),
            ("reshape", [6, 2], ReshapingSpec(name: "z", operation: .reshape([3, -1]))),
            ("repeat", [4], ReshapingSpec(name: "z", operation: .repeatVector(3))),
            ("softmax layer", [5, 4], ActivationSpec(name: "a", kind: "Softmax", activation: .softmax)),
            ("general relu", [5, 4], ActivationSpec(name: "a", kind: "ReLU", activation: .thresholdedRelu(maxValue: 0.8, negativeSlope: 0.2, threshold: 0.1))),
            ("layer norm", [5, 4], LayerNormalizationSpec(name: "n")),
            ("batch norm", [5, 4], BatchNormalizationSpec(name: "n")),
            ("prelu", [5, 4], PReLUSpec(name: "p", sharedAxes: [1])),
            ("dropout", [5, 4], NoiseSpec(name: "d", noise: .dropout(rate: 0.3, noiseShape: [nil, 1, nil]))),
            ("gaussian dropout", [5, 4], NoiseSpec(name: "d", noise: .gaussianDropout(rate: 0.3))),
            ("time distributed lstm", [3, 4, 2], TimeDistributedSpec(name: "t", layer: LSTMSpec(name: "l", units: 3))),
        ]
        for (inputRate, backwards) in [(0.3, false), (0.0, true)] {
            var l = LSTMSpec(name: "l", units: 3)
            l.recurrent.dropout = inputRate
            l.recurrent.recurrentDropout = 0.4
            l.recurrent.returnSequences = true
            l.recurrent.goBackwards = backwards
            layers.append(("lstm recurrent dropout (input \(inputRate), backwards \(backwards))", [5, 4], l))
        }
        var gru = GRUSpec(name: "g", units: 3)
        gru.recurrent.dropout = 0.4
        gru.recurrent.returnSequences = true
        layers.append(("gru input dropout", [5, 4], gru))
        for (inputRate, resetAfter, backwards) in [(0.3, true, false), (0.0, false, true), (0.3, false, false)] {
            var g = GRUSpec(name: "g", units: 3)
            g.recurrent.dropout = inputRate
            g.recurrent.recurrentDropout = 0.4
            g.recurrent.returnSequences = true
            g.recurrent.goBackwards = backwards
            g.resetAfter = resetAfter
            layers.append(("gru recurrent dropout (input \(inputRate), reset_after \(resetAfter), backwards \(backwards))", [5, 4], g))
        }
        for inputRate in [0.3, 0.0] {
            var r = SimpleRNNSpec(name: "r", units: 3)
            r.recurrent.dropout = inputRate
            r.recurrent.recurrentDropout = 0.4
            r.recurrent.returnSequences = true
            layers.append(("simple rnn recurrent dropout (input \(inputRate))", [5, 4], r))
        }
        for a: Activation in [.relu6, .leakyRelu(negativeSlope: 0.2), .elu(alpha: 0.7), .selu, .gelu, .silu,
                              .softplus, .softsign, .exponential, .hardSigmoid] {
            layers.append(("activation \(a)", [5, 4], ActivationSpec(name: "a", activation: a)))
        }
        for (name, shape, layer) in layers {
            let spec = ModelSpec(name: "m", input: .init(name: "x", shape: shape), layers: [
                DenseSpec(name: "before", units: shape.last!!), layer,
                ReshapingSpec(name: "flatten", operation: .flatten), DenseSpec(name: "out", units: 1)])
            let model = try Model<Double>(spec: spec, seed: 2)
            var rng = TestRandom(23)
            try model.randomize(&rng)
            let xShape = [2] + shape.map { $0! }
            try checkGradients(model, [Tensor(shape: xShape, values: rng.uniform(xShape.reduce(1, *), -1.5, 1.5))], name, &rng)
        }
    }

    /// Keras's fit through BatchNormalization and a frozen Dense (shuffle off, Adam): every
    /// epoch's loss and the final weights, the moving statistics and the untouched frozen
    /// kernel included; the optimizer keeps Keras's number of variables (none for the frozen
    /// layer or the moving statistics).
    func testFrozenAndBatchNormalizedFitMatchesKeras() throws {
        let d = try GraphTests.load("keras3_frozen_training.json", folder: "layers")
        let config = try KerasConfig.parseModel(d["model_json"] as! String)
        let model = try Model<Float>(spec: config.spec, seed: 0)
        let initial = (d["initial_weights"] as! [Any]).map { GraphTests.tensor($0).values }
        try model.setWeights(initial)
        try model.compile(CompileSpec(loss: .meanSquaredError,
                                      optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
        XCTAssertEqual(2 + model.optimizerSlots!.slots.count, d["optimizer_variables"] as! Int)
        let xs = (d["x"] as! [Any]).map(GraphTests.tensor), ys = (d["y"] as! [Any]).map(GraphTests.tensor)
        try assertFitMatchesKeras(model, xs, ys, batch: 4, losses: d["epoch_losses"], weights: d["final_weights"])
        let frozenName = config.spec.layers[config.spec.frozenLayers.first!].name
        for k in model.weightNames.indices where model.weightNames[k].hasPrefix(frozenName + "/") {
            XCTAssertEqual(model.weights[k], initial[k], "frozen \(model.weightNames[k]) unchanged")
        }
        XCTAssertEqual(model.trainableParameterCount, model.parameterCount - 3 * 4 - 3 - 2 * 5)
    }

    func trainingPass(_ layer: any LayerSpec, _ x: Tensor<Float>, noise: (UInt64, UInt64) = (7, 0)) throws -> Tensor<Float> {
        let model = try Model<Float>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: x.shape.dropFirst().map { $0 }), layers: [layer]), seed: 0)
        model.noise = noise
        return model.outputs(of: model.forward([x], training: true))[0]
    }

    /// Dropout keeps 1 - rate of the values, scaled by 1 / (1 - rate), shared along noise_shape's
    /// 1-axes (SpatialDropout1D: over the steps); the Gaussian layers have the stated moments; the
    /// same noise state gives the same noise, another batch other noise; inference is the identity.
    func testNoiseLayersInTrainingAndInference() throws {
        let b = 64, n = 10, f = 40, count = Double(b * n * f)
        let ones = Tensor<Float>(shape: [b, n, f], values: [Float](repeating: 1, count: b * n * f))
        let dropout = NoiseSpec(name: "d", noise: .dropout(rate: 0.4, noiseShape: nil))
        let y = try trainingPass(dropout, ones)
        let kept = y.values.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.6) < 1e-6 })
        // Binomial: 4.5 standard deviations of the kept fraction.
        XCTAssertEqual(Double(kept.count) / count, 0.6, accuracy: 4.5 * (0.24 / count).squareRoot())
        XCTAssertEqual(try trainingPass(dropout, ones).values, y.values, "same noise state, same mask")
        XCTAssertNotEqual(try trainingPass(dropout, ones, noise: (7, 1)).values, y.values, "another batch, another mask")
        XCTAssertNotEqual(try trainingPass(dropout, ones, noise: (8, 0)).values, y.values, "another seed, another mask")
        // A Bidirectional layer's halves draw their own masks, from the batch's numbers.
        var half = LSTMSpec(name: "fw", units: 6)
        half.recurrent.dropout = 0.5
        half.recurrent.recurrentDropout = 0.5
        var back = half
        back.name = "bw"
        back.recurrent.goBackwards = true
        let both = BidirectionalSpec(name: "bi", forward: half, backward: back)
        let seq = Tensor<Float>(shape: [4, 5, 3], values: (0..<60).map { Float($0 % 7) / 7 })
        func halves(_ noise: (UInt64, UInt64)) throws -> [[Float]] {
            let model = try Model<Float>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [5, 3]), layers: [both]), seed: 0)
            model.noise = noise
            let y = model.outputs(of: model.forward([seq], training: true))[0].values  // [4, 6 forward + 6 backward]
            return [(0..<24).map { y[$0 / 6 * 12 + $0 % 6] }, (0..<24).map { y[$0 / 6 * 12 + 6 + $0 % 6] }]
        }
        let drawn = try halves((7, 0))
        XCTAssertEqual(try halves((7, 0)), drawn, "Bidirectional: same noise state, same masks")
        let next = try halves((7, 1))
        XCTAssertNotEqual(next[0], drawn[0], "Bidirectional: another batch, other forward masks")
        XCTAssertNotEqual(next[1], drawn[1], "Bidirectional: another batch, other backward masks")
        for spec in [NoiseSpec(name: "d", noise: .dropout(rate: 0.5, noiseShape: [nil, 1, nil])),
                     NoiseSpec(name: "s", noise: .spatialDropout1D(rate: 0.5))] {
            let v = try trainingPass(spec, ones).values
            for s in 0..<b {
                for t in 1..<n { XCTAssertEqual(Array(v[(s * n + t) * f..<(s * n + t + 1) * f]), Array(v[s * n * f..<(s * n + 1) * f]), spec.kind) }
            }
            let zeros = v.filter { $0 == 0 }.count / n
            XCTAssertEqual(Double(zeros) / Double(b * f), 0.5, accuracy: 4.5 * (0.25 / Double(b * f)).squareRoot(), spec.kind)
        }
        func moments(_ v: [Float]) -> (Double, Double) {
            let m = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
            return (m, v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(v.count))
        }
        let (gm, gv) = moments(try trainingPass(NoiseSpec(name: "g", noise: .gaussianNoise(stddev: 0.3)), ones).values)
        XCTAssertEqual(gm, 1, accuracy: 4.5 * 0.3 / count.squareRoot())
        XCTAssertEqual(gv, 0.09, accuracy: 0.09 * 4.5 * (2 / count).squareRoot())
        let (dm, dv) = moments(try trainingPass(NoiseSpec(name: "g", noise: .gaussianDropout(rate: 0.2)), ones).values)
        XCTAssertEqual(dm, 1, accuracy: 4.5 * 0.5 / count.squareRoot())
        XCTAssertEqual(dv, 0.25, accuracy: 0.25 * 4.5 * (2 / count).squareRoot())
        // Inference: every noise layer (and a recurrent layer's dropout) is the identity.
        let (f0, _) = try loadFixtures().first { $0.0.name == "keras3_noise.json" }!
        let model = try Model<Float>(spec: try KerasConfig.parseModel(f0.modelJSON).spec, seed: 0)
        try model.setWeights(f0.weights)
        assertClose(try run(model, f0.x)[0].values, f0.y[0].values, absolute: 1e-5, relative: 1e-5, "noise model in predict")
        XCTAssertNotEqual(model.outputs(of: model.forward(f0.x.map { $0 }, training: true))[0].values, f0.y[0].values, "noise model in training")
    }

    /// A fit with dropout repeats exactly with its seed, and differs with another.
    func testFitWithDropoutRepeatsWithItsSeed() throws {
        let (f0, _) = try loadFixtures().first { $0.0.name == "keras3_noise.json" }!
        func fitted(seed: UInt64) throws -> [[Float]] {
            let model = try Model<Float>(spec: try KerasConfig.parseModel(f0.modelJSON).spec, seed: 0)
            try model.setWeights(f0.weights)
            try model.compile(CompileSpec(loss: .meanSquaredError, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
            var options = FitOptions()
            options.epochs = 3
            options.batchSize = 2
            options.seed = seed
            let y = Tensor<Float>(shape: [3, 1], values: [0.5, -0.2, 0.1])
            _ = try withViews(f0.x) { xv in try withViews([y]) { try model.fit(xv, targets: $0, options: options) { _ in false } } }
            return model.weights
        }
        let a = try fitted(seed: 1)
        XCTAssertEqual(try fitted(seed: 1), a)
        XCTAssertNotEqual(try fitted(seed: 2), a)
    }

    /// LSTM's recurrent dropout is Keras 3's implementation 1: per gate, the input through its
    /// own mask and the previous state through its own, z_g = (x ⊙ m_g)·W_g + (h ⊙ r_g)·U_g + b_g,
    /// the masks drawn once per batch. The training pass against those equations in Double with
    /// the masks it drew (an independent loop), and the masks' keep rate.
    func testLSTMRecurrentDropoutFollowsKerasEquations() throws {
        var spec = LSTMSpec(name: "l", units: 4)
        spec.recurrent.dropout = 0.3
        spec.recurrent.recurrentDropout = 0.4
        spec.recurrent.returnSequences = true
        // The second size is large enough for the recurrence to be split over threads.
        for (b, n, f, u) in [(3, 5, 2, 4), (64, 20, 8, 32)] {
            var spec = spec
            spec.units = u
            let model = try Model<Double>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [n, f]), layers: [spec]), seed: 1)
            var rng = TestRandom(8)
            try model.randomize(&rng)
            let x = Tensor<Double>(shape: [b, n, f], values: rng.uniform(b * n * f, -1.5, 1.5))
            model.noise = (3, 0)
            let pass = model.forward([x], training: true)
            let masks = try XCTUnwrap((pass.tapes[0] as? LSTMTape<Double>)?.dropout)
            let inputMasks = try XCTUnwrap(masks.input)
            let (kernel, recurrent, bias) = (model.weights[0], model.weights[1], model.weights[2])
            func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
            var want = [Double]()
            for s in 0..<b {
                var h = [Double](repeating: 0, count: u), c = h
                for t in 0..<n {
                    var z = [Double](repeating: 0, count: 4 * u)
                    for g in 0..<4 {
                        for j in 0..<u {
                            var v = bias[g * u + j]
                            for k in 0..<f { v += x.values[(s * n + t) * f + k] * inputMasks[(g * b + s) * f + k] * kernel[k * 4 * u + g * u + j] }
                            for k in 0..<u { v += h[k] * masks.recurrent[(g * b + s) * u + k] * recurrent[k * 4 * u + g * u + j] }
                            z[g * u + j] = v
                        }
                    }
                    for j in 0..<u {
                        c[j] = sigmoid(z[u + j]) * c[j] + sigmoid(z[j]) * tanh(z[2 * u + j])
                        h[j] = sigmoid(z[3 * u + j]) * tanh(c[j])
                    }
                    want += h
                }
            }
            assertClose(model.outputs(of: pass)[0].values, want, absolute: 1e-12, relative: 1e-10, "training pass with recurrent dropout")
            assertClose(model.outputs(of: model.forward([x], training: false))[0].values,
                        try run(model, [x])[0].values, absolute: 0, relative: 0, "inference ignores it")
            XCTAssertNotEqual(model.outputs(of: model.forward([x], training: false))[0].values, want)
        }
        let (n, f) = (5, 2)
        // Keep rates over a larger batch: 4.5 standard deviations of the binomial fraction.
        let big = try Model<Float>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [n, f]), layers: [spec]), seed: 1)
        let bigPass = big.forward([Tensor<Float>(zeros: [500, n, f])], training: true)
        let drawn = try XCTUnwrap((bigPass.tapes[0] as? LSTMTape<Float>)?.dropout)
        for (values, rate) in [(drawn.input!, 0.3), (drawn.recurrent, 0.4)] {
            let kept = values.filter { $0 != 0 }
            XCTAssertTrue(kept.allSatisfy { abs(Double($0) - 1 / (1 - rate)) < 1e-6 })
            let sd = (rate * (1 - rate) / Double(values.count)).squareRoot()
            XCTAssertEqual(Double(kept.count) / Double(values.count), 1 - rate, accuracy: 4.5 * sd, "keep rate of \(rate)")
        }
    }

    /// GRU's and SimpleRNN's recurrent dropout are Keras 3's implementation 1 as well (gru.py,
    /// simple_rnn.py): GRU's z and r read h through their masks, its candidate (h ⊙ r_h)·U_h
    /// scaled by r (reset_after) or (r ⊙ h ⊙ r_h)·U_h, the update mixing in the unmasked h;
    /// SimpleRNN one mask for x and one for h. The training pass against those equations in
    /// Double with the masks it drew, at sizes that run on one thread and on several.
    func testGRUAndSimpleRNNRecurrentDropoutFollowKerasEquations() throws {
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        for (b, n, f, u) in [(3, 5, 2, 4), (64, 20, 8, 32)] {
            for variant in ["gru reset_after", "gru reset_before", "simple rnn"] {
                let layer: any LayerSpec
                if variant == "simple rnn" {
                    var r = SimpleRNNSpec(name: "r", units: u)
                    r.recurrent.dropout = 0.3
                    r.recurrent.recurrentDropout = 0.4
                    r.recurrent.returnSequences = true
                    layer = r
                } else {
                    var g = GRUSpec(name: "g", units: u)
                    g.recurrent.dropout = 0.3
                    g.recurrent.recurrentDropout = 0.4
                    g.recurrent.returnSequences = true
                    g.resetAfter = variant == "gru reset_after"
                    layer = g
                }
                let gates = variant == "simple rnn" ? 1 : 3
                let model = try Model<Double>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [n, f]), layers: [layer]), seed: 1)
                var rng = TestRandom(9)
                try model.randomize(&rng)
                let x = Tensor<Double>(shape: [b, n, f], values: rng.uniform(b * n * f, -1.5, 1.5))
                model.noise = (4, 0)
                let pass = model.forward([x], training: true)
                let masks = try XCTUnwrap((pass.tapes[0] as? RecurrentTape<Double>)?.dropout, variant)
                let inputMasks = try XCTUnwrap(masks.input)
                XCTAssertEqual(masks.gates, gates)
                let (kernel, recurrent, bias) = (model.weights[0], model.weights[1], model.weights[2])
                let width = gates * u
                // Gate g's input product and recurrent product for sample s, unit j.
                func inputPart(_ s: Int, _ t: Int, _ g: Int, _ j: Int) -> Double {
                    (0..<f).reduce(bias[g * u + j]) { $0 + x.values[(s * n + t) * f + $1] * inputMasks[(g * b + s) * f + $1] * kernel[$1 * width + g * u + j] }
                }
                func recurrentPart(_ h: [Double], _ s: Int, _ g: Int, _ j: Int) -> Double {
                    (0..<u).reduce(0) { $0 + h[$1] * masks.recurrent[(g * b + s) * u + $1] * recurrent[$1 * width + g * u + j] }
                }
                var want = [Double]()
                for s in 0..<b {
                    var h = [Double](repeating: 0, count: u)
                    for t in 0..<n {
                        var next = h
                        if variant == "simple rnn" {
                            for j in 0..<u { next[j] = tanh(inputPart(s, t, 0, j) + recurrentPart(h, s, 0, j)) }
                        } else {
                            let resetAfter = variant == "gru reset_after"
                            func recBias(_ g: Int, _ j: Int) -> Double { resetAfter ? bias[width + g * u + j] : 0 }
                            let z = (0..<u).map { sigmoid(inputPart(s, t, 0, $0) + recurrentPart(h, s, 0, $0) + recBias(0, $0)) }
                            let r = (0..<u).map { sigmoid(inputPart(s, t, 1, $0) + recurrentPart(h, s, 1, $0) + recBias(1, $0)) }
                            for j in 0..<u {
                                let candidate: Double
                                if resetAfter {
                                    candidate = r[j] * (recurrentPart(h, s, 2, j) + recBias(2, j))
                                } else {
                                    let rh = (0..<u).map { r[$0] * h[$0] }
                                    candidate = recurrentPart(rh, s, 2, j)
                                }
                                next[j] = z[j] * h[j] + (1 - z[j]) * tanh(inputPart(s, t, 2, j) + candidate)
                            }
                        }
                        h = next
                        want += h
                    }
                }
                assertClose(model.outputs(of: pass)[0].values, want, absolute: 1e-12, relative: 1e-10,
                            "\(variant) (\(b) × \(n)): training pass with recurrent dropout")
                XCTAssertNotEqual(try run(model, [x])[0].values, want, "\(variant): inference ignores the masks")
                // float32 (GRU's reset_after takes the fused cell kernels) draws the same masks from
                // the same seed: its training pass and gradients against the Double ones, to
                // float32's rounding over n steps.
                let single = try Model<Float>(spec: model.spec, seed: 1)
                try single.setWeights(model.weights.map { $0.map(Float.init) })
                single.noise = (4, 0)
                assertClose(single.outputs(of: single.forward([Tensor<Float>(shape: x.shape, values: x.values.map(Float.init))], training: true))[0].values.map(Double.init), want,
                            absolute: 1e-4, relative: 1e-4, "\(variant) (\(b) × \(n)): float32 training pass")
                let target = Tensor<Double>(shape: [b, n, u], values: rng.uniform(b * n * u, -1, 1))
                model.noise = (4, 0)
                let (_, wantGrads) = try withViews([x]) { xv in try withViews([target]) { try model.lossAndGradients(loss: .meanSquaredError, xv, targets: $0) } }
                let (_, grads) = try withViews([Tensor<Float>(shape: x.shape, values: x.values.map(Float.init))]) { xv in
                    try withViews([Tensor<Float>(shape: target.shape, values: target.values.map(Float.init))]) { try single.lossAndGradients(loss: .meanSquaredError, xv, targets: $0) }
                }
                for k in grads.indices {
                    assertClose(grads[k].map(Double.init), wantGrads[k], absolute: 1e-5, relative: 1e-3,
                                "\(variant) (\(b) × \(n)): float32 gradient of \(model.weightNames[k])")
                }
            }
        }
    }

    /// Keras's regularised stack (an LSTM with dropout and recurrent_dropout) predicts as Keras
    /// and trains; GRU and SimpleRNN with recurrent_dropout train too, and a fit with the same
    /// seed repeats exactly while another seed draws other masks.
    func testRecurrentDropoutTrainsAndRepeatsWithItsSeed() throws {
        let (f0, _) = try loadFixtures().first { $0.0.name == "keras3_regularised.json" }!
        let model = try Model<Float>(spec: try KerasConfig.parseModel(f0.modelJSON).spec, seed: 0)
        try model.setWeights(f0.weights)
        assertClose(try run(model, f0.x)[0].values, f0.y[0].values, absolute: 1e-5, relative: 1e-5, "regularised predict")
        let adam = CompileSpec(loss: .meanSquaredError, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        try model.compile(adam)
        let y = Tensor<Float>(shape: [4, 1], values: [0, 1, 0, 1])
        var options = FitOptions()
        options.epochs = 30
        options.batchSize = 4
        var losses: [Double] = []
        _ = try withViews(f0.x) { xv in try withViews([y]) { try model.fit(xv, targets: $0, options: options) { losses.append($0.loss); return false } } }
        XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "the regularised stack trains: \(losses)")
        for layer: any LayerSpec in [{ var g = GRUSpec(name: "gru", units: 4); g.recurrent.recurrentDropout = 0.2; g.recurrent.dropout = 0.1; return g }(),
                                     { var g = GRUSpec(name: "gru_before", units: 4); g.recurrent.recurrentDropout = 0.2; g.resetAfter = false; return g }(),
                                     { var r = SimpleRNNSpec(name: "rnn", units: 4); r.recurrent.recurrentDropout = 0.2; return r }()] {
            func fitted(seed: UInt64) throws -> ([Double], [[Float]]) {
                let m = try Model<Float>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [7, 3]),
                                                         layers: [layer, DenseSpec(name: "out", units: 1)]), seed: 0)
                try m.compile(adam)
                var o = options
                o.seed = seed
                var losses: [Double] = []
                _ = try withViews(f0.x) { xv in try withViews([y]) { try m.fit(xv, targets: $0, options: o) { losses.append($0.loss); return false } } }
                return (losses, m.weights)
            }
            let (first, weights) = try fitted(seed: 3)
            XCTAssertLessThan(first.last!, 0.5 * first.first!, "\(layer.name) trains with recurrent_dropout: \(first)")
            let (again, sameWeights) = try fitted(seed: 3)
            XCTAssertEqual(first, again, "\(layer.name): the same seed repeats the fit")
            XCTAssertEqual(weights, sameWeights)
            XCTAssertNotEqual(try fitted(seed: 4).0, first, "\(layer.name): another seed, other masks")
        }
    }

    /// The three models the issue names load from Keras's own files with Keras's outputs; what we
    /// save (.keras, .h5, .weights.h5) loads back to the same outputs.
    func testLayerFilesLoadAndRoundTrip() throws {
        let fixtures = try loadFixtures()
        let dir = NSTemporaryDirectory() + "layers-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["cnn_lstm", "encoder_decoder", "regularised"] {
            for (flavor, suffix) in [("keras3", ".keras"), ("keras2", ".h5")] {
                let f = fixtures.first { $0.0.name == "\(flavor)_\(name).json" }!.0
                let path = GraphTests.fixtures.appendingPathComponent("files/\(flavor)_layers_\(name)\(suffix)").path
                let model = try KerasFiles.loadModel(path)
                assertClose(try run(model, f.x)[0].values, f.y[0].values, absolute: 1e-5, relative: 1e-5, "\(flavor) \(name) file")
                for out in [".keras", ".h5", ".weights.h5"] {
                    let saved = "\(dir)/\(flavor)_\(name)\(out)"
                    if out == ".weights.h5" { try KerasFiles.saveWeights(model, to: saved) } else { try KerasFiles.saveModel(model, to: saved) }
                    let back: Model<Float>
                    if out == ".weights.h5" {
                        back = try Model<Float>(spec: model.spec, seed: 9)
                        try KerasFiles.loadWeights(saved, into: back)
                    } else {
                        back = try KerasFiles.loadModel(saved)
                    }
                    XCTAssertEqual(back.weights, model.weights, "\(flavor) \(name) \(out)")
                    XCTAssertTrue(back.spec.isSame(as: model.spec), "\(flavor) \(name) \(out)")
                }
            }
        }
    }

    /// A causal stack of the new per-step layers streams like predict over the prefix.
    func testCausalLayersStreamLikePredict() throws {
        var conv = Conv1DSpec(name: "conv", filters: 4, kernelSize: 3)
        conv.padding = "causal"
        conv.dilationRate = 2
        conv.activation = .elu(alpha: 1)
        var lstm = LSTMSpec(name: "lstm", units: 5)
        lstm.recurrent.returnSequences = true
        lstm.recurrent.dropout = 0.3
        let spec = ModelSpec(name: "causal", input: .init(name: "x", shape: [nil, 3]), layers: [
            conv, LayerNormalizationSpec(name: "ln"), BatchNormalizationSpec(name: "bn"),
            NoiseSpec(name: "drop", noise: .dropout(rate: 0.5, noiseShape: nil)), lstm,
            ActivationSpec(name: "act", kind: "LeakyReLU", activation: .leakyRelu(negativeSlope: 0.3)),
            PReLUSpec(name: "prelu", sharedAxes: [1]),
            TimeDistributedSpec(name: "td", layer: DenseSpec(name: "dense", units: 2)),
        ])
        let model = try Model<Float>(spec: spec, seed: 4)
        var rng = TestRandom(5)
        try model.setWeights(model.weights.enumerated().map { k, w in
            // Moving variances stay positive.
            model.weightNames[k].hasSuffix("moving_variance") ? w.map { _ in Float(0.5 + rng.uniform(1, 0, 1)[0]) } : rng.uniform(w.count, -0.6, 0.6).map(Float.init)
        })
        let steps = 9
        let x = Tensor<Float>(shape: [1, steps, 3], values: rng.uniform(steps * 3, -1.5, 1.5).map(Float.init))
        let want = try run(model, [x])[0].values
        let state = try model.makeState()
        for t in 0..<steps {
            var y = [Float](repeating: 0, count: 2)
            try Array(x.values[(t * 3)..<((t + 1) * 3)]).withUnsafeBufferPointer { xb in
                try y.withUnsafeMutableBufferPointer { try model.step(state, x: xb, into: $0) }
            }
            assertClose(y, Array(want[(t * 2)..<((t + 1) * 2)]), absolute: 1e-5, relative: 1e-5, "step \(t)")
        }
        for layer: any LayerSpec in [Pooling1DSpec(name: "p", reduction: .max), Conv1DSpec(name: "c", filters: 2, kernelSize: 2),
                                     ReshapingSpec(name: "z", operation: .zeroPadding1D(left: 1, right: 0))] {
            let m = try Model<Float>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [nil, 3]), layers: [layer]), seed: 0)
            XCTAssertThrowsError(try m.makeState()) { e in XCTAssertTrue("\(e)".contains(layer.name), "\(e)") }
        }
    }

    /// Layers that grow their input (UpSampling1D, ZeroPadding1D, Conv1D's windows) are checked
    /// against the element limit before a pass, even when a later layer shrinks the result: every
    /// entry point refuses with `.memory` instead of failing to allocate inside the pass.
    func testLayersThatGrowTheirInputAreCheckedBeforeAPass() throws {
        var conv = Conv1DSpec(name: "wide", filters: 1, kernelSize: 60000)
        conv.padding = "causal"
        let growers: [any LayerSpec] = [ReshapingSpec(name: "up", operation: .upSampling1D(1 << 30)),
                                        ReshapingSpec(name: "pad", operation: .zeroPadding1D(left: 1 << 30, right: 1 << 30)),
                                        conv]
        for grower in growers {
            let spec = ModelSpec(name: "m", input: .init(name: "x", shape: [nil, 40]),
                                 layers: [grower, GlobalPooling1DSpec(name: "g", reduction: .max)])
            let model = try Model<Float>(spec: spec, seed: 0)
            try model.compile(CompileSpec(loss: .meanSquaredError, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)))
            let x = Tensor<Float>(zeros: [2, 1000, 40])
            let y = Tensor<Float>(zeros: try model.outputShapes(forInputs: [x.shape])[0])
            func refusesForMemory(_ what: String, _ call: () throws -> Void) {
                XCTAssertThrowsError(try call(), "\(grower.name) \(what)") { e in
                    guard case .memory(let m)? = e as? LSTMError else { return XCTFail("\(grower.name) \(what): \(e)") }
                    XCTAssertTrue(m.contains(grower.name), m)
                }
            }
            refusesForMemory("run") { _ = try run(model, [x]) }
            refusesForMemory("evaluate") { _ = try withViews([x]) { xv in try withViews([y]) { try model.evaluate(xv, targets: $0) } } }
            refusesForMemory("fit") {
                _ = try withViews([x]) { xv in try withViews([y]) { try model.fit(xv, targets: $0, options: FitOptions()) { _ in false } } }
            }
            refusesForMemory("gradients") { _ = try withViews([x]) { xv in try withViews([y]) { try model.lossAndGradients(loss: .meanSquaredError, xv, targets: $0) } } }
        }
        // The limit applies to the batch a pass runs, not to the whole data: 1000 short
        // sequences run in chunks whose tensors are small, however many chunks there are.
        let model = try Model<Float>(spec: ModelSpec(name: "m", input: .init(name: "x", shape: [nil, 2]),
                                                     layers: [ReshapingSpec(name: "up", operation: .upSampling1D(4)), GlobalPooling1DSpec(name: "g", reduction: .average)]), seed: 0)
        XCTAssertEqual(try run(model, [Tensor<Float>(zeros: [1000, 3, 2])])[0].shape, [1000, 2])
    }

    /// Bad options are refused with the layer and the option named.
    func testBadLayerOptionsAreRefusedByName() throws {
        func error(_ layer: String, input: String = "[null, 8, 3]") -> String? {
            let text = #"{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": "# + input
                + #"}}, "# + layer + "]}}"
            do { _ = try Model<Float>(spec: try KerasConfig.parseModel(text).spec, seed: 0); return nil } catch { return "\(error)" }
        }
        XCTAssertNil(error(#"{"class_name": "Conv1D", "config": {"name": "c", "filters": 2, "kernel_size": 3}}"#))
        let refusals: [(String, String, [String])] = [
            (#"{"class_name": "Conv1D", "config": {"name": "c", "filters": 2, "kernel_size": 9}}"#, "[null, 8, 3]", ["'c'", "9"]),
            (#"{"class_name": "Conv1D", "config": {"name": "c", "filters": 2, "kernel_size": 3, "padding": "full"}}"#, "[null, 8, 3]", ["full"]),
            (#"{"class_name": "Conv1D", "config": {"name": "c", "filters": 2, "kernel_size": 3, "data_format": "channels_first"}}"#, "[null, 8, 3]", ["data_format"]),
            (#"{"class_name": "Conv1D", "config": {"name": "c", "filters": 2, "kernel_size": 3, "kernel_constraint": {"class_name": "NonNeg"}}}"#, "[null, 8, 3]", ["kernel_constraint"]),
            (#"{"class_name": "Dropout", "config": {"name": "d", "rate": 1.0}}"#, "[null, 8, 3]", ["'d'", "rate"]),
            (#"{"class_name": "Dropout", "config": {"name": "d", "rate": 0.5, "noise_shape": [null, 2, 3]}}"#, "[null, 8, 3]", ["noise_shape"]),
            (#"{"class_name": "Reshape", "config": {"name": "r", "target_shape": [5, 5]}}"#, "[null, 8, 3]", ["'r'", "24"]),
            (#"{"class_name": "Permute", "config": {"name": "p", "dims": [1, 1]}}"#, "[null, 8, 3]", ["dims"]),
            (#"{"class_name": "RepeatVector", "config": {"name": "r", "n": 3}}"#, "[null, 8, 3]", ["2-D"]),
            (#"{"class_name": "Cropping1D", "config": {"name": "c", "cropping": [4, 4]}}"#, "[null, 8, 3]", ["nothing"]),
            (#"{"class_name": "BatchNormalization", "config": {"name": "b", "axis": 1}}"#, "[null, 8, 3]", ["axis"]),
            (#"{"class_name": "BatchNormalization", "config": {"name": "b", "renorm": true}}"#, "[null, 8, 3]", ["renorm"]),
            (#"{"class_name": "LayerNormalization", "config": {"name": "n", "rms_scaling": true}}"#, "[null, 8, 3]", ["rms_scaling"]),
            (#"{"class_name": "Softmax", "config": {"name": "s", "axis": 1}}"#, "[null, 8, 3]", ["axis"]),
            (#"{"class_name": "Flatten", "config": {"name": "f"}}"#, "[null, null, 3]", ["'f'", "known size"]),
            (#"{"class_name": "LSTM", "config": {"name": "l", "units": 2, "activation": "gelu"}}"#, "[null, 8, 3]", ["gelu"]),
            (#"{"class_name": "LSTM", "config": {"name": "l", "units": 2, "dropout": 1.5}}"#, "[null, 8, 3]", ["dropout"]),
            (#"{"class_name": "TimeDistributed", "config": {"name": "t", "layer": {"class_name": "Dense", "config": {"name": "d", "units": 2}}}}"#, "[null, 3]", ["'t'", "3-D"]),
            (#"{"class_name": "PReLU", "config": {"name": "p", "shared_axes": [5]}}"#, "[null, 8, 3]", ["shared axis 5"]),
        ]
        for (layer, input, words) in refusals {
            guard let m = error(layer, input: input) else { XCTFail("accepted: \(layer)"); continue }
            for w in words { XCTAssertTrue(m.contains(w), "\(layer): \(m)") }
        }
    }
}
