import Foundation
import XCTest
@testable import LSTMCore
import LSTMKernels

/// The float32 kernels, every build this CPU runs (baseline, AVX2 + FMA, AVX-512), against
/// plain float64 loops written here from the definitions.
final class KernelTests: XCTestCase {
    /// Every build this CPU runs (Dispatch.swift's tables), the baseline first.
    static var builds: [KernelTable] { KernelChoice.runnable }

    func testEveryRunnableBuildIsTested() {
        // The CPU checks agree with what Linux reports in /proc/cpuinfo, so that every build the
        // machine can run is among those tested.
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
            let set = Set(flags.split(separator: " ").map(String.init))
            let avx2 = ["avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"].allSatisfy(set.contains)
            let avx512 = avx2 && ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "adx", "clflushopt", "clwb"]
                .allSatisfy(set.contains)
            XCTAssertEqual(KernelChoice.cpuHasAVX2, avx2)
            XCTAssertEqual(KernelChoice.cpuHasAVX512, avx512)
            XCTAssertEqual(Self.builds.map(\.name), ["baseline"] + (avx2 ? ["avx2-fma"] : []) + (avx512 ? ["avx512"] : []))
        }
        XCTAssertEqual(Self.builds[0].name, "baseline")
        XCTAssertEqual(KernelChoice.active.name, ProcessInfo.processInfo.environment["LSTM_KERNELS"].map {
            $0 == "avx2" ? "avx2-fma" : $0 } ?? Self.builds.last!.name)
    }

    /// sigmoid and tanh against float64 libm over [-20, 20], around 0 and at the extremes:
    /// within 4 float32 ulp (1e-9 absolute below the normal range), lengths with tails.
    func testActivationsAreAccurate() {
        var xs: [Float] = stride(from: -20.0, through: 20.0, by: 0.001).map { Float($0) }
        xs += [0, 1e-8, -1e-8, 1e-4, 0.6249, 0.6251, -0.6251, 88, -88, 100, -100, .leastNormalMagnitude, 3]
        for build in Self.builds {
            for (name, apply, reference) in [("sigmoid", build.sigmoid, { (x: Double) in 1 / (1 + Foundation.exp(-x)) }),
                                             ("tanh", build.tanh, { (x: Double) in Foundation.tanh(x) })] {
                var ys = xs
                ys.withUnsafeMutableBufferPointer { apply($0.baseAddress!, $0.count) }
                var worst = 0.0
                for (x, y) in zip(xs, ys) {
                    let want = reference(Double(x))
                    worst = max(worst, abs(Double(y) - want) / max(Double(Float(want).ulp), 1e-9))
                }
                XCTAssertLessThanOrEqual(worst, 4, "\(build.name) \(name): worst error \(worst) ulp")
            }
        }
    }

    /// Sizes around the blocking: 1-6, 8, 9, 13 and 17 rows (blocks of 4, 6 and 8 and the rest),
    /// 1-64, 200, 256, 260 and 290 columns (panels of 16 and pairs of them, partial ones; 256 and
    /// more take gemmTransposedA's packed path), k of 1, 3, 40, 50, 200, 270 and 300 (past its
    /// 256-step chunk).
    func testProductsMatchReference() {
        var rng = TestRandom(11)
        let shapes = [(1, 1, 1), (1, 33, 3), (2, 7, 5), (3, 16, 50), (4, 17, 3), (5, 200, 50), (9, 31, 300), (8, 64, 1), (13, 50, 200), (6, 260, 300),
                      (8, 256, 40), (17, 290, 270), (1, 290, 70)]
        for build in Self.builds {
            for (m, n, k) in shapes {
                let a = rng.uniform(m * k).map(Float.init), b = rng.uniform(k * n).map(Float.init)
                let c0 = rng.uniform(m * n).map(Float.init)
                // C + A·B, and C + Aᵀ·B with A given as k×m: the same numbers in float64.
                var want = c0.map(Double.init), wantT = c0.map(Double.init)
                for i in 0..<m { for j in 0..<n { for p in 0..<k {
                    want[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j])
                    wantT[i * n + j] += Double(a[p * m + i]) * Double(b[p * n + j])
                } } }
                let tol = 1e-6 * Double(k)
                var packed = [Float](repeating: .nan, count: LSTMKernels.packedPanelsCount(k: k, n: n))
                LSTMKernels.packPanels(k, n, b, n, &packed)
                var c = c0
                build.gemmPacked(m, n, k, a, k, packed, &c, n)
                assertClose(c, want, absolute: tol, "\(build.name) gemmPacked \(m)x\(n)x\(k)")
                c = c0
                build.gemmTransposedA(m, n, k, a, m, b, n, &c, n)
                assertClose(c, wantT, absolute: tol, "\(build.name) gemmTransposedA \(m)x\(n)x\(k)")
                var row = Array(c0[0..<n])
                build.rowTimesMatrix(n, k, a, b, n, &row)
                assertClose(row, Array(want[0..<n]), absolute: tol, "\(build.name) rowTimesMatrix \(n)x\(k)")
            }
        }
    }

    /// The fused cell against the equations, for unit counts below, at and past the vector width
    /// (the overlapping last vector), with and without a previous state, and with the previous
    /// state in the same buffer as the new one (as predict runs it).
    func testCellKernelsMatchEquations() {
        func sig(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        var rng = TestRandom(12)
        for build in Self.builds {
            for u in [1, 5, 8, 13, 16, 20, 33, 50] {
                let rows = 3, g4 = 4 * u
                let z0 = rng.uniform(rows * g4, -3, 3).map(Float.init)
                let cp = rng.uniform(rows * u, -2, 2).map(Float.init)
                for mode in ["zero state", "state", "state in place"] {
                    var z = z0, c = mode == "state in place" ? cp : [Float](repeating: 0, count: rows * u)
                    var a = [Float](repeating: 0, count: rows * u), h = a
                    let prev: [Float]? = mode == "zero state" ? nil : cp
                    if mode == "state in place" {
                        c.withUnsafeMutableBufferPointer { cb in
                            build.cellForward(rows, u, &z, UnsafePointer(cb.baseAddress!), cb.baseAddress!, &a, &h)
                        }
                    } else if let prev {
                        build.cellForward(rows, u, &z, prev, &c, &a, &h)
                    } else {
                        build.cellForward(rows, u, &z, nil, &c, &a, &h)
                    }
                    var wantZ = [Double](), wantC = [Double](), wantA = [Double](), wantH = [Double]()
                    for r in 0..<rows {
                        let zr = Array(z0[(r * g4)..<((r + 1) * g4)]).map(Double.init)
                        let gates = (0..<u).map { sig(zr[$0]) } + (0..<u).map { sig(zr[u + $0]) } +
                            (0..<u).map { Foundation.tanh(zr[2 * u + $0]) } + (0..<u).map { sig(zr[3 * u + $0]) }
                        wantZ += gates
                        for j in 0..<u {
                            let cv = gates[u + j] * (prev.map { Double($0[r * u + j]) } ?? 0) + gates[j] * gates[2 * u + j]
                            wantC.append(cv); wantA.append(Foundation.tanh(cv)); wantH.append(gates[3 * u + j] * Foundation.tanh(cv))
                        }
                    }
                    let what = "\(build.name) cell forward u=\(u) \(mode)"
                    assertClose(z, wantZ, absolute: 1e-6, relative: 1e-6, what + " gates")
                    assertClose(c, wantC, absolute: 1e-6, relative: 1e-6, what + " c")
                    assertClose(a, wantA, absolute: 1e-6, relative: 1e-6, what + " a")
                    assertClose(h, wantH, absolute: 1e-6, relative: 1e-6, what + " h")

                    // Backward from these gates and states, against the chain rule written out.
                    let dh = rng.uniform(rows * u).map(Float.init), dc0 = rng.uniform(rows * u).map(Float.init)
                    var dc = dc0, dz = [Float](repeating: .nan, count: rows * g4)
                    if let prev { build.cellBackward(rows, u, z, a, prev, dh, &dc, &dz) } else { build.cellBackward(rows, u, z, a, nil, dh, &dc, &dz) }
                    var wantDz = [Double](repeating: 0, count: rows * g4), wantDc = [Double](repeating: 0, count: rows * u)
                    for r in 0..<rows {
                        for j in 0..<u {
                            let k = r * u + j
                            let i = Double(z[r * g4 + j]), f = Double(z[r * g4 + u + j])
                            let g = Double(z[r * g4 + 2 * u + j]), o = Double(z[r * g4 + 3 * u + j])
                            let av = Double(a[k]), cpv = prev.map { Double($0[k]) } ?? 0
                            let dcv = Double(dc0[k]) + Double(dh[k]) * o * (1 - av * av)
                            wantDz[r * g4 + j] = dcv * g * i * (1 - i)
                            wantDz[r * g4 + u + j] = dcv * cpv * f * (1 - f)
                            wantDz[r * g4 + 2 * u + j] = dcv * i * (1 - g * g)
                            wantDz[r * g4 + 3 * u + j] = Double(dh[k]) * av * o * (1 - o)
                            wantDc[k] = dcv * f
                        }
                    }
                    assertClose(dz, wantDz, absolute: 1e-6, relative: 1e-5, "\(build.name) cell backward u=\(u) \(mode) dz")
                    assertClose(dc, wantDc, absolute: 1e-6, relative: 1e-5, "\(build.name) cell backward u=\(u) \(mode) dc")
                }
            }
        }
    }

    /// The fused GRU cell (reset_after, sigmoid, tanh) against its equations in float64, forward and
    /// backward, for unit counts below, at and past the vector width.
    func testGRUCellKernelsMatchEquations() {
        func sig(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        var rng = TestRandom(14)
        for build in Self.builds {
            for u in [1, 5, 8, 13, 16, 20, 33, 50] {
                let rows = 3, g3 = 3 * u, g4 = 4 * u
                let xw = rng.uniform(rows * g3, -3, 3).map(Float.init), rec = rng.uniform(rows * g3, -3, 3).map(Float.init)
                let hp = rng.uniform(rows * u, -1, 1).map(Float.init)
                var tape = [Float](repeating: .nan, count: rows * g4), h = [Float](repeating: .nan, count: rows * u)
                build.gruForward(rows, u, xw, rec, hp, &tape, &h)
                var wantTape = [Double](), wantH = [Double]()
                for r in 0..<rows {
                    let x = { Double(xw[r * g3 + $0]) }, rc = { Double(rec[r * g3 + $0]) }
                    let z = (0..<u).map { sig(x($0) + rc($0)) }, rg = (0..<u).map { sig(x(u + $0) + rc(u + $0)) }
                    let recH = (0..<u).map { rc(2 * u + $0) }
                    let hh = (0..<u).map { Foundation.tanh(x(2 * u + $0) + rg[$0] * recH[$0]) }
                    wantTape += z + rg + hh + recH
                    wantH += (0..<u).map { z[$0] * Double(hp[r * u + $0]) + (1 - z[$0]) * hh[$0] }
                }
                let what = "\(build.name) GRU cell u=\(u)"
                assertClose(tape, wantTape, absolute: 1e-6, relative: 1e-6, what + " tape")
                assertClose(h, wantH, absolute: 1e-6, relative: 1e-6, what + " h")

                let dh = rng.uniform(rows * u).map(Float.init)
                var dxw = [Float](repeating: .nan, count: rows * g3), record = dxw
                var dhPrev = [Float](repeating: .nan, count: rows * u)
                build.gruBackward(rows, u, tape, hp, dh, &dxw, &record, &dhPrev)
                var wantDx = [Double](repeating: 0, count: rows * g3), wantRecord = wantDx
                var wantDhPrev = [Double](repeating: 0, count: rows * u)
                for r in 0..<rows {
                    for j in 0..<u {
                        let t = { Double(tape[r * g4 + $0]) }, d = Double(dh[r * u + j])
                        let z = t(j), rg = t(u + j), hh = t(2 * u + j), recH = t(3 * u + j)
                        let dz = d * (Double(hp[r * u + j]) - hh) * z * (1 - z)
                        let da = d * (1 - z) * (1 - hh * hh)
                        let dr = da * recH * rg * (1 - rg)
                        wantDx[r * g3 + j] = dz; wantDx[r * g3 + u + j] = dr; wantDx[r * g3 + 2 * u + j] = da
                        wantRecord[r * g3 + j] = dz; wantRecord[r * g3 + u + j] = dr; wantRecord[r * g3 + 2 * u + j] = da * rg
                        wantDhPrev[r * u + j] = d * z
                    }
                }
                assertClose(dxw, wantDx, absolute: 1e-6, relative: 1e-5, what + " backward dxw")
                assertClose(record, wantRecord, absolute: 1e-6, relative: 1e-5, what + " backward record")
                assertClose(dhPrev, wantDhPrev, absolute: 1e-6, relative: 1e-5, what + " backward dhPrev")
            }
        }
    }

    /// A batch large enough to be split over threads gives each sample's own result (one
    /// sample alone is never split and takes the one-row kernel), and its gradients agree with
    /// the same computation in float64 (the generic loops).
    func testThreadedBatchMatchesSamplesAndFloat64() throws {
        // GRU: Keras 3's defaults, which take the fused GRU cell in float32.
        for (recurrent, width) in [(Specs.lstm("lstm", 40), 160), (GRUSpec(name: "gru", units: 40) as any LayerSpec, 120)] {
            try checkThreadedBatch(ModelSpec(timesteps: 12, features: 6, layers: [recurrent, Specs.dense("dense", 3)]),
                                   projectionWidth: width)
        }
    }

    private func checkThreadedBatch(_ spec: ModelSpec, projectionWidth: Int) throws {
        let batch = 64, steps = 12
        XCTAssertGreaterThanOrEqual(steps * batch * 40 * projectionWidth, Parallel.minWork, "the batch must be large enough to split")
        let model = try Model<Float>(spec: spec, seed: 5)
        var rng = TestRandom(13)
        try model.randomize(&rng)
        let x = rng.uniform(batch * steps * 6).map(Float.init)
        var all = [Float](repeating: 0, count: batch * 3)
        try x.withUnsafeBufferPointer { xb in
            try all.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: batch, timesteps: steps, into: $0) }
        }
        for b in [0, 1, 31, 32, 63] {
            var one = [Float](repeating: 0, count: 3)
            try Array(x[(b * steps * 6)..<((b + 1) * steps * 6)]).withUnsafeBufferPointer { xb in
                try one.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: 1, timesteps: steps, into: $0) }
            }
            assertClose(one, Array(all[(b * 3)..<((b + 1) * 3)]), absolute: 1e-5, relative: 1e-5, "sample \(b)")
        }
        let y = rng.uniform(batch * 3).map(Float.init)
        let g32 = try x.withUnsafeBufferPointer { xb in
            try y.withUnsafeBufferPointer { try model.lossAndGradients(loss: .meanSquaredError, x: xb, y: $0, batch: batch, timesteps: steps) }
        }
        let model64 = try Model<Double>(spec: spec, seed: 5)
        try model64.setWeights(model.weights.map { $0.map(Double.init) })
        let g64 = try x.map(Double.init).withUnsafeBufferPointer { xb in
            try y.map(Double.init).withUnsafeBufferPointer { try model64.lossAndGradients(loss: .meanSquaredError, x: xb, y: $0, batch: batch, timesteps: steps) }
        }
        XCTAssertEqual(g32.loss, g64.loss, accuracy: 1e-5 * abs(g64.loss))
        for (k, (a, b)) in zip(g32.gradients, g64.gradients).enumerated() {
            let scale = b.map { abs($0) }.max() ?? 1
            assertClose(a, b, absolute: 1e-4 * scale, "gradient \(k)")
        }
    }
}
