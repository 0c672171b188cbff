import Foundation
import XCTest
@testable import LSTMCore

/// Elementwise |a - b| <= absolute + relative * |b|, reporting the worst element.
func assertClose<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(
    _ a: [A], _ b: [B], absolute: Double, relative: Double = 0, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var worst = 0.0, worstIndex = -1
    for k in 0..<min(a.count, b.count) {
        let x = Double(a[k]), y = Double(b[k])
        let excess = abs(x - y) - (absolute + relative * abs(y))
        if !(excess <= 0) && (worstIndex < 0 || excess > worst || excess.isNaN) { worst = excess; worstIndex = k }
    }
    if worstIndex >= 0 {
        XCTFail("\(what): element \(worstIndex) is \(a[worstIndex]), expected \(b[worstIndex]) (tolerance \(absolute) + \(relative)·|expected|)",
                file: file, line: line)
    }
}

/// Deterministic test data.
struct TestRandom {
    var rng: SeededRandom
    init(_ seed: UInt64) { rng = SeededRandom(seed: seed) }
    mutating func uniform(_ n: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
        (0..<n).map { _ in lo + (hi - lo) * rng.uniform() }
    }
}

/// An independent reference forward pass written from Keras's equations, in Double, one sample
/// and one timestep at a time, with plain arrays (no code shared with the library).
enum Reference {
    static func act(_ a: Activation, _ x: Double) -> Double {
        switch a {
        case .linear: return x
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .relu: return Swift.max(x, 0)
        case .hardSigmoid: return Swift.min(Swift.max(x / 6 + 0.5, 0), 1)
        case .hardSigmoidKeras2: return Swift.min(Swift.max(0.2 * x + 0.5, 0), 1)
        case .softmax: fatalError("softmax is applied per row")
        default: fatalError("the reference covers the activations the Sequential specs use")
        }
    }

    /// x: [steps][features] -> outputs: [steps or 1][units]
    static func lstm(_ s: LSTMSpec, x: [[Double]], kernel: [Double], recurrent: [Double], bias: [Double]?) -> [[Double]] {
        let u = s.units, f = x[0].count
        var h = [Double](repeating: 0, count: u), c = [Double](repeating: 0, count: u)
        var outs: [[Double]] = []
        let order = s.goBackwards ? Array(x.indices.reversed()) : Array(x.indices)
        for t in order {
            var z = [Double](repeating: 0, count: 4 * u)
            for col in 0..<(4 * u) {
                var acc = bias?[col] ?? 0
                for k in 0..<f { acc += x[t][k] * kernel[k * 4 * u + col] }
                for k in 0..<u { acc += h[k] * recurrent[k * 4 * u + col] }
                z[col] = acc
            }
            for j in 0..<u {
                let i = act(s.recurrentActivation, z[j])
                let fg = act(s.recurrentActivation, z[u + j])
                let g = act(s.activation, z[2 * u + j])
                let o = act(s.recurrentActivation, z[3 * u + j])
                c[j] = fg * c[j] + i * g
                h[j] = o * act(s.activation, c[j])
            }
            outs.append(h)
        }
        return s.returnSequences ? outs : [outs[outs.count - 1]]
    }

    static func dense(_ s: DenseSpec, x: [[Double]], kernel: [Double], bias: [Double]?) -> [[Double]] {
        let n = s.units, f = x[0].count
        return x.map { row in
            var y = (0..<n).map { col in
                (0..<f).reduce(bias?[col] ?? 0) { $0 + row[$1] * kernel[$1 * n + col] }
            }
            if s.activation == .softmax {
                let m = y.max()!
                let e = y.map { Foundation.exp($0 - m) }
                let sum = e.reduce(0, +)
                y = e.map { $0 / sum }
            } else {
                y = y.map { act(s.activation, $0) }
            }
            return y
        }
    }

    /// The whole model on one sample; weights in Keras's order.
    static func model(_ spec: ModelSpec, weights: [[Double]], sample: [[Double]]) -> [Double] {
        var cur = sample
        var w = 0
        for layer in spec.layers {
            switch layer {
            case let s as LSTMSpec:
                cur = lstm(s, x: cur, kernel: weights[w], recurrent: weights[w + 1], bias: s.useBias ? weights[w + 2] : nil)
                w += s.useBias ? 3 : 2
            case let s as DenseSpec:
                cur = dense(s, x: cur, kernel: weights[w], bias: s.useBias ? weights[w + 1] : nil)
                w += s.useBias ? 2 : 1
            default:
                fatalError("the reference model has no \(layer.kind)")
            }
        }
        return cur.flatMap { $0 }
    }

    /// The model on a batch [batch][steps][features] given flat.
    static func predict(_ spec: ModelSpec, weights: [[Double]], x: [Double], batch: Int, steps: Int) -> [Double] {
        let f = spec.features
        var out: [Double] = []
        for b in 0..<batch {
            let sample = (0..<steps).map { t in Array(x[((b * steps + t) * f)..<((b * steps + t + 1) * f)]) }
            out += model(spec, weights: weights, sample: sample)
        }
        return out
    }
}

/// Model specs used across tests, covering every option.
enum Specs {
    static func lstm(_ name: String, _ units: Int, _ configure: (inout LSTMSpec) -> Void = { _ in }) -> any LayerSpec {
        var s = LSTMSpec(name: name, units: units)
        configure(&s)
        return s
    }

    static func dense(_ name: String, _ units: Int, _ act: Activation = .linear, bias: Bool = true) -> any LayerSpec {
        var s = DenseSpec(name: name, units: units)
        s.activation = act
        s.useBias = bias
        return s
    }

    /// name -> (spec, timesteps used in tests)
    static let all: [(String, ModelSpec)] = [
        ("sine-like", ModelSpec(timesteps: 6, features: 1, layers: [lstm("lstm", 5), dense("dense", 1)])),
        ("stacked + softmax", ModelSpec(timesteps: 5, features: 2, layers: [
            lstm("lstm", 4) { $0.returnSequences = true }, lstm("lstm_1", 3), dense("dense", 3, .softmax)])),
        ("relu + hard_sigmoid (Keras 3)", ModelSpec(timesteps: 4, features: 3, layers: [
            lstm("lstm", 4) { $0.activation = .relu; $0.recurrentActivation = .hardSigmoid }, dense("dense", 2, .tanh)])),
        ("hard_sigmoid (Keras 2) + no bias", ModelSpec(timesteps: 4, features: 2, layers: [
            lstm("lstm", 3) { $0.recurrentActivation = .hardSigmoidKeras2; $0.useBias = false },
            dense("dense", 2, .sigmoid, bias: false)])),
        ("go_backwards + return_sequences + 3-D dense", ModelSpec(timesteps: nil, features: 2, layers: [
            lstm("lstm", 3) { $0.goBackwards = true; $0.returnSequences = true }, dense("dense", 2, .relu)])),
        ("go_backwards last step", ModelSpec(timesteps: 5, features: 2, layers: [
            lstm("lstm", 3) { $0.goBackwards = true }, dense("dense", 1)])),
        ("sigmoid + linear activations", ModelSpec(timesteps: 4, features: 2, layers: [
            lstm("lstm", 3) { $0.activation = .sigmoid; $0.returnSequences = true },
            lstm("lstm_1", 2) { $0.activation = .linear; $0.recurrentActivation = .sigmoid }, dense("dense", 2)])),
    ]
}

extension Model {
    /// Random weights (biases included, so gate-order mistakes show).
    func randomize(_ rng: inout TestRandom, scale: Double = 0.6) throws {
        try setWeights(weights.map { w in rng.uniform(w.count, -scale, scale).map { T($0) } })
    }
}

extension ModelSpec {
    /// The sequence input's timesteps and features, for the single-input specs of these tests.
    var timesteps: Int? { inputShape[0] }
    var features: Int { inputShape[inputShape.count - 1] ?? 0 }
}

extension OptimizerState {
    /// One update on plain arrays, through the buffers the model's update uses.
    mutating func apply(params: inout [[T]], grads: [[T]]) {
        let p = Parameters(params), g = Parameters(grads)
        apply(params: p.arrays, grads: g.arrays)
        params = p.values
    }
}

/// What the Keras-fixture tests of several files share: running a model on tensors, and a fit
/// compared with Keras's.
extension XCTestCase {
    func run<T: Scalar>(_ model: Model<T>, _ xs: [Tensor<T>]) throws -> [Tensor<T>] {
        func nest(_ k: Int, _ views: [TensorView<T>]) throws -> [Tensor<T>] {
            if k == xs.count { return try model.run(views) }
            return try xs[k].values.withUnsafeBufferPointer { try nest(k + 1, views + [TensorView(shape: xs[k].shape, data: $0)]) }
        }
        return try nest(0, [])
    }

    /// Two epochs of fit (shuffle off) against Keras's: epoch losses within 1e-5 relative, final
    /// weights within 1e-4 (float32 on both sides over a few Adam steps).
    func assertFitMatchesKeras(_ model: Model<Float>, _ xs: [Tensor<Float>], _ ys: [Tensor<Float>], batch: Int,
                               losses expected: Any?, weights: Any?, stateful: FitOptions.Stateful<Float>? = nil,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        var options = FitOptions()
        options.epochs = 2
        options.batchSize = batch
        options.shuffle = false
        var losses: [Double] = []
        _ = try withViews(xs) { xv in
            try withViews(ys) { yv in
                try model.fit(xv, targets: yv, options: options, stateful: stateful) { losses.append($0.loss); return false }
            }
        }
        assertClose(losses, expected as! [Double], absolute: 1e-6, relative: 1e-5, "epoch losses", file: file, line: line)
        for (k, (got, want)) in zip(model.weights, (weights as! [Any]).map { GraphTests.tensor($0).values }).enumerated() {
            assertClose(got, want, absolute: 1e-4, relative: 1e-4, "final \(model.weightNames[k])", file: file, line: line)
        }
    }

    /// Every trainable weight's gradient against central differences in Double (1e-6 relative,
    /// as for the other layers), in training mode with the noise of a fixed seed.
    func checkGradients(_ model: Model<Double>, _ xs: [Tensor<Double>], _ name: String, _ rng: inout TestRandom,
                        loss: LossKind = .meanSquaredError, targets: ClosedRange<Double> = -1...1,
                        ys given: [Tensor<Double>]? = nil) throws {
        let outShapes = try model.outputShapes(forInputs: xs.map(\.shape))
        let ys = given ?? outShapes.map { Tensor<Double>(shape: $0, values: rng.uniform($0.reduce(1, *), targets.lowerBound, targets.upperBound)) }
        model.noise = (seed: 5, batch: 1)
        func lossAt(_ w: [[Double]]) throws -> (Double, [[Double]]) {
            try model.setWeights(w)
            return try withViews(xs) { xv in try withViews(ys) { yv in try model.lossAndGradients(loss: loss, xv, targets: yv) } }
        }
        let w0 = model.weights
        let (_, grads) = try lossAt(w0)
        let h = 1e-6
        var worstAbsolute = 0.0, worstRelative = 0.0
        defer { print("gradient check \(name): max |analytic - numeric| = \(worstAbsolute), max relative where |numeric| > 1e-3 = \(worstRelative)") }
        for (k, w) in w0.enumerated() where model.trainableArrays.contains(k) {
            var numeric = [Double](repeating: 0, count: w.count)
            for j in w.indices {
                var plus = w0, minus = w0
                plus[k][j] += h
                minus[k][j] -= h
                numeric[j] = (try lossAt(plus).0 - lossAt(minus).0) / (2 * h)
            }
            assertClose(grads[k], numeric, absolute: 1e-8, relative: 1e-6, "\(name): d loss / d \(model.weightNames[k])")
            for (a, n) in zip(grads[k], numeric) {
                worstAbsolute = max(worstAbsolute, abs(a - n))
                if abs(n) > 1e-3 { worstRelative = max(worstRelative, abs(a - n) / abs(n)) }
            }
        }
        try model.setWeights(w0)
    }
}
