import Foundation
import XCTest
@testable import LSTMCore
@testable import LSTMKeras

/// The library held under load from many threads: shared models predicting and evaluating,
/// private states stepping, models loading and saving, all at once, give bit for bit what one
/// thread gets, and memory stays flat. LSTM_STRESS_SECONDS sets the length (default 3; the soak is 20).
final class ConcurrencyTests: XCTestCase {
    func testEightThreadsMixingCallsMatchOneThread() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["LSTM_STRESS_SECONDS"] ?? "") ?? 3
        let files = ["keras3_sine.keras", "keras2_sine.h5", "keras3_stacked_softmax.keras"].map(KerasFilesTests.file)
        let shared = try KerasFiles.loadModel(files[0])
        let (timesteps, features) = (shared.spec.inputShape[0] ?? 12, shared.stepInputSize)
        let batch = 1024  // enough work for the helper threads to join in
        let x = (0..<(batch * timesteps * features)).map { Float(sin(Double($0) * 0.37)) }
        let y = (0..<batch).map { Float(cos(Double($0) * 0.11)) }

        func predict(_ m: Model<Float>, _ n: Int) throws -> [Float] {
            var out = [Float](repeating: 0, count: n * m.stepOutputSize)
            try x.withUnsafeBufferPointer { xb in
                try out.withUnsafeMutableBufferPointer {
                    try m.predict(x: UnsafeBufferPointer(rebasing: xb[0..<(n * timesteps * features)]), batch: n,
                                  timesteps: timesteps, into: $0)
                }
            }
            return out
        }
        func stream(_ m: Model<Float>) throws -> [Float] {
            let state = try m.makeState()
            var out: [Float] = []
            var yt = [Float](repeating: 0, count: m.stepOutputSize)
            for t in 0..<timesteps {
                try x.withUnsafeBufferPointer { xb in
                    try yt.withUnsafeMutableBufferPointer {
                        try m.step(state, x: UnsafeBufferPointer(rebasing: xb[(t * features)..<((t + 1) * features)]), into: $0)
                    }
                }
                out += yt
            }
            return out
        }
        func evaluate(_ m: Model<Float>) throws -> Double {
            try x.withUnsafeBufferPointer { xb in
                try y.withUnsafeBufferPointer { try m.evaluate(x: xb, y: $0, count: batch, timesteps: timesteps) }
            }
        }
        let refPredict = try predict(shared, batch), refStream = try stream(shared), refLoss = try evaluate(shared)
        let refLoaded = try files.map { try KerasFiles.loadModel($0).weights }

        let dir = NSTemporaryDirectory() + "lstm-stress-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let failures = Counter(), rounds = Counter()
        var rss: [Int] = []
        let rssLock = NSLock()
        let deadline = Date().addingTimeInterval(seconds)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var k = 0
            while Date() < deadline {
                do {
                    switch (worker + k) % 5 {
                    case 0: if try predict(shared, batch) != refPredict { failures.add() }
                    case 4:
                        // Saves (under the writer's lock) while others load: none may wait on another.
                        let path = "\(dir)/w\(worker)" + (k % 2 == 0 ? ".keras" : ".weights.h5")
                        if k % 2 == 0 { try KerasFiles.saveModel(shared, to: path) } else { try KerasFiles.saveWeights(shared, to: path) }
                        if k % 2 == 0, try KerasFiles.loadModel(path).weights != refLoaded[0] { failures.add() }
                    case 1: if try stream(shared) != refStream { failures.add() }
                    case 2:
                        let i = k % files.count
                        if try KerasFiles.loadModel(files[i]).weights != refLoaded[i] { failures.add() }
                    default: if try evaluate(shared) != refLoss { failures.add() }
                    }
                } catch {
                    failures.add()
                }
                k += 1
                rounds.add()
                if worker == 0, k % 8 == 0 {
                    rssLock.lock(); rss.append(Self.residentBytes()); rssLock.unlock()
                }
            }
        }
        XCTAssertEqual(failures.value, 0, "calls under load that differed from one thread's or failed")
        XCTAssertGreaterThanOrEqual(rounds.value, 8, "every thread made a call")
        // Flat after warm-up: the last sample within 32 MB of the one a quarter of the way in.
        if rss.count >= 4, ProcessInfo.processInfo.environment["LSTM_SANITIZER"] == nil {
            let warm = rss[rss.count / 4], last = rss[rss.count - 1]
            XCTAssertLessThan(last - warm, 32 << 20, "resident memory grew from \(warm >> 20) MB to \(last >> 20) MB")
        }
        print("stress: \(rounds.value) calls on 8 threads in \(seconds) s, resident \(rss.first.map { $0 >> 20 } ?? 0) -> \(rss.last.map { $0 >> 20 } ?? 0) MB")
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
