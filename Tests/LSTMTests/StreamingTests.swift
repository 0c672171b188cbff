import XCTest
@testable import LSTMCore

final class StreamingTests: XCTestCase {
    /// Step by step, the streamed output equals predict over the sequence so far (its last
    /// step's row when the model returns sequences). Both run in float32 with sums taken in a
    /// different order, hence 1e-6.
    func testStepEqualsPredictOfThePrefix() throws {
        var rng = TestRandom(31)
        for (name, spec) in Specs.all where !spec.layers.contains(where: {
            ($0 as? LSTMSpec)?.goBackwards == true
        }) {
            let free = ModelSpec(name: spec.name, timesteps: nil, features: spec.features, layers: spec.layers)
            let model = try Model<Float>(spec: free, seed: 5)
            try model.randomize(&rng)
            let steps = 6
            let x = rng.uniform(steps * spec.features, -2, 2).map(Float.init)
            let state = try model.makeState()
            for pass in 0..<2 {
                for t in 1...steps {
                    var streamed = [Float](repeating: 0, count: model.stepOutputSize)
                    let xt = Array(x[((t - 1) * spec.features)..<(t * spec.features)])
                    try xt.withUnsafeBufferPointer { xb in
                        try streamed.withUnsafeMutableBufferPointer { try model.step(state, x: xb, into: $0) }
                    }
                    let per = try model.outputSize(timesteps: t)
                    var full = [Float](repeating: 0, count: per)
                    let prefix = Array(x[..<(t * spec.features)])
                    try prefix.withUnsafeBufferPointer { xb in
                        try full.withUnsafeMutableBufferPointer { try model.predict(x: xb, batch: 1, timesteps: t, into: $0) }
                    }
                    assertClose(streamed, Array(full[(per - model.stepOutputSize)...]), absolute: 1e-6,
                                "\(name), pass \(pass), step \(t)")
                }
                state.reset()
            }
        }
    }

    func testStreamingRejectsWhatItCannotDo() throws {
        let backwards = try Model<Float>(spec: Specs.all[5].1, seed: 1)
        XCTAssertThrowsError(try backwards.makeState()) { e in
            guard case .unsupported(let m) = e as! LSTMError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("go_backwards"), m)
        }
        let a = try Model<Float>(spec: Specs.all[0].1, seed: 1)
        let b = try Model<Float>(spec: Specs.all[0].1, seed: 1)
        let state = try a.makeState()
        var y: [Float] = [0]
        XCTAssertThrowsError(try [Float(1)].withUnsafeBufferPointer { xb in
            try y.withUnsafeMutableBufferPointer { try b.step(state, x: xb, into: $0) }
        })
        var y2: [Float] = [0, 0]
        XCTAssertThrowsError(try [Float(1)].withUnsafeBufferPointer { xb in
            try y2.withUnsafeMutableBufferPointer { try a.step(state, x: xb, into: $0) }
        })
        XCTAssertThrowsError(try [Float.nan].withUnsafeBufferPointer { xb in
            try y.withUnsafeMutableBufferPointer { try a.step(state, x: xb, into: $0) }
        })
    }
}
