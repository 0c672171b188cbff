import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Optimizer state and updates, exactly as Keras 3 computes them (keras/src/optimizers): the
/// gradients clipped, the weights decayed, then the algorithm's update, in float arithmetic as
/// Keras's float32 variables are.
struct OptimizerState<T: Scalar> {
    /// Its settings; the learning rate may change between updates (setLearningRate).
    var spec: OptimizerSpec
    /// Number of updates applied so far (Keras's `iterations`).
    var iterations: Int = 0
    /// The optimizer's variables: slots[kind][trained weight], each of that weight's size.
    var slots: [[[T]]]
    /// Nadam's running product of its momentum schedule (Keras's `u_product`), saved after the slots.
    var uProduct: T = 1
    /// With use_ema, the moving average of each trained weight (Keras's "average" variables,
    /// saved before the slots); empty otherwise.
    var averages: [[T]] = []

    /// The slot kinds of each algorithm, in the order Keras creates them (which is the order
    /// it saves them in): kinds created together are interleaved per weight, the groups follow
    /// one another. Adam: (momentum, velocity) per weight, then velocity_hat for each with
    /// amsgrad; RMSprop: every velocity, then every momentum, then every average gradient.
    static func slotGroups(_ a: OptimizerSpec.Algorithm) -> [[Int]] {
        switch a {
        case let .sgd(momentum, _): return momentum != 0 ? [[0]] : []
        case let .adam(_, _, _, amsgrad): return [[0, 1]] + (amsgrad ? [[2]] : [])
        case let .rmsprop(_, momentum, _, centered):
            return [[0]] + (momentum > 0 ? [[1]] : []) + (centered ? [[2]] : [])
        case .adagrad, .lion: return [[0]]
        case .adadelta, .adamax, .nadam: return [[0, 1]]
        }
    }

    /// Slot kinds per weight (the largest kind index + 1; RMSprop without momentum keeps an empty kind 1).
    static func kindCount(_ a: OptimizerSpec.Algorithm) -> Int { (slotGroups(a).flatMap { $0 }.max() ?? -1) + 1 }

    /// Whether a slot kind is a running sum or mean of squares or of absolute values, which
    /// a restored state must not hold negative.
    static func isNonNegative(_ a: OptimizerSpec.Algorithm, kind: Int) -> Bool {
        switch a {
        case .sgd, .lion: return false
        case .adam, .adamax, .nadam: return kind >= 1
        case .rmsprop: return kind == 0
        case .adagrad, .adadelta: return true
        }
    }

    /// Whether Keras saves a scalar after the slots (Nadam's u_product).
    static func hasUProduct(_ a: OptimizerSpec.Algorithm) -> Bool {
        if case .nadam = a { return true }
        return false
    }

    init(spec: OptimizerSpec, shapes: [Int]) {
        self.spec = spec
        let used = Set(Self.slotGroups(spec.algorithm).flatMap { $0 })
        var initial: T = 0
        if case let .adagrad(value, _) = spec.algorithm { initial = T(value) }
        slots = (0..<Self.kindCount(spec.algorithm)).map { kind in
            used.contains(kind) ? shapes.map { [T](repeating: initial, count: $0) } : []
        }
        if spec.ema != nil { averages = shapes.map { [T](repeating: 0, count: $0) } }
    }

    /// Applies one update to every parameter array, unless it would make a weight NaN or
    /// infinite (a huge learning rate, an overflow): then nothing changes and the result is false.
    /// Every update is first computed without being stored, then computed again and stored, with
    /// the same operations (so the same results): this way no copy of the weights and the
    /// optimizer's variables is needed to undo one (for an Embedding(20000, 128) and Adam such a
    /// copy was 30 MB, a third of the training step's peak memory).
    /// - Parameter slices: per array, the sums over its gradient's slices when Keras's
    ///   optimizer receives that gradient as slices (an Embedding's, see SliceSums): where
    ///   Keras squares the gradient, takes its magnitude or clips it by value, these take the
    ///   place of the squared, absolute or clipped sum.
    @discardableResult
    mutating func apply(params: [UnsafeMutableBufferPointer<T>], grads: [UnsafeMutableBufferPointer<T>],
                        slices: [SliceSums<T>.Weight?]? = nil) -> Bool {
        let sparse = clip(grads, params.indices.map { k in slices.flatMap { k < $0.count ? $0[k] : nil } })
        let lr = T(spec.learningRate(at: iterations))
        let decay = spec.weightDecay.flatMap { $0 > 0 ? T($0) : nil } ?? 0
        let step = Double(iterations + 1)
        var nextUProduct = uProduct
        if case let .nadam(beta1, _, _) = spec.algorithm {
            nextUProduct *= T(beta1) * (1 - 0.5 * T(pow(0.96, step)))
        }
        for k in params.indices {
            guard update(k, params[k], grads[k], sparse[k], lr: lr, decay: decay, step: step, uProduct: nextUProduct,
                         store: false) else { return false }
        }
        uProduct = nextUProduct
        for k in params.indices {
            update(k, params[k], grads[k], sparse[k], lr: lr, decay: decay, step: step, uProduct: nextUProduct, store: true)
        }
        if let ema = spec.ema { updateAverages(params, ema) }
        iterations += 1
        return true
    }

    /// Keras's _update_model_variables_moving_average after the update (the momentum is 0 on
    /// the first, so the average starts as the weight), and the overwrite every
    /// ema_overwrite_frequency updates.
    private mutating func updateAverages(_ params: [UnsafeMutableBufferPointer<T>], _ ema: OptimizerSpec.EMA) {
        let m = iterations != 0 ? T(ema.momentum) : 0
        for (k, p) in params.enumerated() {
            averages[k].withUnsafeMutableBufferPointer { a in
                for j in p.indices { a[j] = m * a[j] + (1 - m) * p[j] }
            }
        }
        if let n = ema.overwriteFrequency, (iterations + 1) % n == 0 { finalize(params) }
    }

    /// Keras's finalize_variable_values at the end of fit: with use_ema, the weights become their
    /// moving averages.
    func finalize(_ params: [UnsafeMutableBufferPointer<T>]) {
        guard spec.ema != nil else { return }
        for (k, p) in params.enumerated() {
            averages[k].withUnsafeBufferPointer { a in _ = p.update(fromContentsOf: a) }
        }
    }

    /// Keras's _clip_gradients: clipnorm per weight, else global_clipnorm over all, else clipvalue.
    /// A gradient given as slices has the norm of its slices (TensorFlow's clip_by_norm and
    /// Keras's global_norm square each slice), its slice sums scale with it, and clipvalue has
    /// already clipped each slice (SliceSums.clipped). Returns the slice sums the update reads:
    /// none after global_clipnorm, whose `v * scale` (Python's operator, not Keras's sparse-aware
    /// ops) turns TensorFlow's slices into a dense tensor.
    private func clip(_ grads: [UnsafeMutableBufferPointer<T>], _ sparse: [SliceSums<T>.Weight?]) -> [SliceSums<T>.Weight?] {
        func squaredNorm(_ k: Int) -> T {
            if let squares = sparse[k]?.squares { return squares.reduce(T(0), +) }
            return grads[k].reduce(T(0)) { $0 + $1 * $1 }
        }
        if let c = spec.clipNorm {
            let clipNorm = T(c)
            for k in grads.indices {
                let n = squaredNorm(k).squareRoot()
                guard n > clipNorm else { continue }
                let factor = clipNorm / n
                for j in grads[k].indices { grads[k][j] *= factor }
                if let s = sparse[k] {
                    if let squares = s.squares { for j in squares.indices { squares[j] *= factor * factor } }
                    if let absolutes = s.absolutes { for j in absolutes.indices { absolutes[j] *= factor } }
                }
            }
        } else if let c = spec.globalClipNorm {
            let clipNorm = T(c)
            let total = grads.indices.reduce(T(0)) { $0 + squaredNorm($1) }.squareRoot()
            let factor = clipNorm * Swift.min(1 / total, 1 / clipNorm)
            for g in grads { for j in g.indices { g[j] *= factor } }
            return sparse.map { _ in nil }
        } else if let c = spec.clipValue {
            let v = T(c)
            for (k, g) in grads.enumerated() {
                if let clipped = sparse[k]?.clipped {
                    _ = g.update(fromContentsOf: clipped)
                } else {
                    for j in g.indices { g[j] = Swift.min(Swift.max(g[j], -v), v) }
                }
            }
        }
        return sparse
    }

    /// Weight k's update. store false: computes the new weights without storing anything and
    /// returns whether all are finite; store true: stores the new weights and slots (and returns
    /// true). Keras decays the weight (p - p·decay·lr) before the algorithm's update; here each
    /// element is decayed as the update reads it, the same arithmetic. uProduct: Nadam's
    /// product including this step.
    @discardableResult
    private mutating func update(_ k: Int, _ p: UnsafeMutableBufferPointer<T>, _ g: UnsafeMutableBufferPointer<T>,
                                 _ sparse: SliceSums<T>.Weight?, lr: T, decay: T, step: Double, uProduct: T,
                                 store: Bool) -> Bool {
        guard p.count > 0 else { return true }
        let pp = p.baseAddress!, gg = UnsafePointer(g.baseAddress!)
        let squares = sparse?.squares.map { UnsafePointer($0.baseAddress!) }
        let absolutes = sparse?.absolutes.map { UnsafePointer($0.baseAddress!) }
        @inline(__always) func square(_ j: Int) -> T { squares?[j] ?? gg[j] * gg[j] }
        @inline(__always) func magnitude(_ j: Int) -> T { absolutes?[j] ?? abs(gg[j]) }
        @inline(__always) func decayed(_ j: Int) -> T { decay == 0 ? pp[j] : pp[j] - pp[j] * decay * lr }
        // The new weights, checked (store false) or stored; `finite` is set from all threads.
        let finite = FiniteFlag()
        @inline(__always) func put(_ j: Int, _ value: T) {
            if store { pp[j] = value } else if !value.isFinite { finite.clear() }
        }
        switch spec.algorithm {
        case let .sgd(momentumD, nesterov):
            let momentum = T(momentumD)
            if slots.isEmpty {
                for j in 0..<p.count { put(j, decayed(j) - gg[j] * lr) }
            } else {
                withSlots(k, [0]) { s in
                    let m = s[0].baseAddress!
                    for j in 0..<p.count {
                        let mj = m[j] * momentum - gg[j] * lr
                        if store { m[j] = mj }
                        put(j, decayed(j) + (nesterov ? mj * momentum - gg[j] * lr : mj))
                    }
                }
            }
        case let .adam(beta1, beta2, epsilon, amsgrad):
            let alpha = lr * T((1 - pow(beta2, step)).squareRoot() / (1 - pow(beta1, step)))
            let oneMinusB1 = T(1 - beta1), oneMinusB2 = T(1 - beta2), eps = T(epsilon)
            // One pass per element, split over threads for large weights such as an Embedding's.
            withSlots(k, amsgrad ? [0, 1, 2] : [0, 1]) { s in
                let m = s[0].baseAddress!, v = s[1].baseAddress!, vHat = amsgrad ? s[2].baseAddress! : nil
                @inline(__always) func run(_ j0: Int, _ j1: Int, _ square: (Int) -> T) {
                    var j0 = j0
                    if vHat == nil && decay == 0 {
                        // Eight at a time, the same operations in the same order as below (so the
                        // same results): the scalar loop was not vectorized (the buffers may alias).
                        typealias V = SIMD8<T>
                        @inline(__always) func load(_ q: UnsafePointer<T>) -> V { UnsafeRawPointer(q).loadUnaligned(as: V.self) }
                        @inline(__always) func save(_ x: V, _ q: UnsafeMutablePointer<T>) { UnsafeMutableRawPointer(q).storeBytes(of: x, as: V.self) }
                        var bad = V()
                        while j0 + 8 <= j1 {
                            let g8 = load(gg + j0)
                            let sq = squares.map { load($0 + j0) } ?? g8 * g8
                            var m8 = load(m + j0), v8 = load(v + j0)
                            m8 += (g8 - m8) * oneMinusB1
                            v8 += (sq - v8) * oneMinusB2
                            let p8 = load(pp + j0) - m8 * alpha / (v8.squareRoot() + eps)
                            if store {
                                save(m8, m + j0); save(v8, v + j0); save(p8, pp + j0)
                            } else {
                                bad += p8 - p8  // 0 where finite, NaN where not
                            }
                            j0 += 8
                        }
                        if bad != V() { finite.clear() }
                    }
                    for j in j0..<j1 {
                        let mj = m[j] + (gg[j] - m[j]) * oneMinusB1
                        let vj = v[j] + (square(j) - v[j]) * oneMinusB2
                        var denominator = vj
                        if let vHat {
                            denominator = Swift.max(vHat[j], vj)
                            if store { vHat[j] = denominator }
                        }
                        if store { m[j] = mj; v[j] = vj }
                        put(j, decayed(j) - mj * alpha / (denominator.squareRoot() + eps))
                    }
                }
                Self.elementwise(p.count) { j0, j1 in
                    if let squares { run(j0, j1) { squares[$0] } } else { run(j0, j1) { gg[$0] * gg[$0] } }
                }
            }
        case let .rmsprop(rhoD, momentumD, epsilon, centered):
            let rho = T(rhoD), eps = T(epsilon), momentum = T(momentumD)
            // velocity, momentum (empty without), average gradient (empty unless centered)
            withSlots(k, [0, 1, 2]) { s in
                let v = s[0], m = s[1], a = s[2]
                for j in 0..<p.count {
                    let vj = rho * v[j] + (1 - rho) * square(j)
                    var denominator = vj + eps
                    var aj = T(0)
                    if centered {
                        aj = rho * a[j] + (1 - rho) * gg[j]
                        denominator = vj - aj * aj + eps
                    }
                    let increment = lr * gg[j] / denominator.squareRoot()
                    var mj = T(0)
                    if momentumD > 0 { mj = momentum * m[j] + increment }
                    if store {
                        v[j] = vj
                        if centered { a[j] = aj }
                        if momentumD > 0 { m[j] = mj }
                    }
                    put(j, decayed(j) - (momentumD > 0 ? mj : increment))
                }
            }
        case let .adagrad(_, epsilon):
            let eps = T(epsilon)
            withSlots(k, [0]) { s in
                let a = s[0]
                for j in 0..<p.count {
                    let aj = a[j] + square(j)
                    if store { a[j] = aj }
                    put(j, decayed(j) - lr * gg[j] / (aj + eps).squareRoot())
                }
            }
        case let .adadelta(rhoD, epsilon):
            let rho = T(rhoD), eps = T(epsilon)
            withSlots(k, [0, 1]) { s in
                let (accGrad, accDelta) = (s[0], s[1])
                for j in 0..<p.count {
                    let ag = rho * accGrad[j] + (1 - rho) * square(j)
                    // delta = -(rmsDelta / rmsGrad)·g; its square, slice by slice, is that factor² · Σ s².
                    let rmsDelta = (accDelta[j] + eps).squareRoot(), rmsGrad = (ag + eps).squareRoot()
                    let delta = -(rmsDelta * gg[j]) / rmsGrad
                    let f = rmsDelta / rmsGrad
                    if store {
                        accGrad[j] = ag
                        accDelta[j] = rho * accDelta[j] + (1 - rho) * (sparse == nil ? delta * delta : f * f * square(j))
                    }
                    put(j, decayed(j) + lr * delta)
                }
            }
        case let .adamax(beta1, beta2D, epsilon):
            let oneMinusB1 = T(1 - beta1), beta2 = T(beta2D), eps = T(epsilon)
            let correction = T(1 - pow(beta1, step))
            withSlots(k, [0, 1]) { s in
                let (m, u) = (s[0], s[1])
                for j in 0..<p.count {
                    let mj = m[j] + (gg[j] - m[j]) * oneMinusB1
                    let uj = Swift.max(beta2 * u[j], magnitude(j))
                    if store { m[j] = mj; u[j] = uj }
                    put(j, decayed(j) - lr * mj / (correction * (uj + eps)))
                }
            }
        case let .nadam(beta1D, beta2D, epsilon):
            let beta1 = T(beta1D), beta2 = T(beta2D), eps = T(epsilon)
            let uT = beta1 * (1 - 0.5 * T(pow(0.96, step)))
            let uNext = beta1 * (1 - 0.5 * T(pow(0.96, step + 1)))
            let uProductNow = uProduct, uProductNext = uProduct * uNext
            let beta2Power = T(pow(beta2D, step))
            withSlots(k, [0, 1]) { s in
                let (m, v) = (s[0], s[1])
                for j in 0..<p.count {
                    let mj = m[j] + (gg[j] - m[j]) * (1 - beta1)
                    let vj = v[j] + (square(j) - v[j]) * (1 - beta2)
                    let mHat = uNext * mj / (1 - uProductNext) + (1 - uT) * gg[j] / (1 - uProductNow)
                    let vHat = vj / (1 - beta2Power)
                    if store { m[j] = mj; v[j] = vj }
                    put(j, decayed(j) - mHat * lr / (vHat.squareRoot() + eps))
                }
            }
        case let .lion(beta1D, beta2D):
            let beta1 = T(beta1D), beta2 = T(beta2D)
            withSlots(k, [0]) { s in
                let m = s[0]
                for j in 0..<p.count {
                    let c = m[j] * beta1 + gg[j] * (1 - beta1)
                    if store { m[j] = m[j] * beta2 + gg[j] * (1 - beta2) }
                    put(j, decayed(j) - lr * (c > 0 ? 1 : (c < 0 ? -1 : 0)))
                }
            }
        }
        return finite.isSet
    }

    /// body(j0, j1) over ranges covering 0..<count, on several threads when the weight is large
    /// (elementwise updates: each element's result is the same however the range is split).
    private static func elementwise(_ count: Int, _ body: @escaping (Int, Int) -> Void) {
        Parallel.forRows(count, work: count * 4, grain: 4096, body)
    }

    /// Whether every checked value was finite, cleared from any of the update's threads.
    private final class FiniteFlag: @unchecked Sendable {
        private let cleared = Atomic<Bool>(false)
        func clear() { cleared.store(true, ordering: .relaxed) }
        var isSet: Bool { !cleared.load(ordering: .relaxed) }
    }

    /// Weight k's slots of the given kinds, as buffers at once (an unused kind is empty).
    /// They are moved out of `slots` for the call: buffers of two elements of one array would
    /// be overlapping accesses to it.
    private mutating func withSlots(_ k: Int, _ kinds: [Int], _ body: ([UnsafeMutableBufferPointer<T>]) -> Void) {
        var taken: [[T]] = kinds.map { kind in
            guard kind < slots.count, k < slots[kind].count else { return [] }
            defer { slots[kind][k] = [] }
            return slots[kind][k]
        }
        // Each level holds its own array, so no access to `taken` overlaps another.
        func lend(_ i: Int, _ buffers: [UnsafeMutableBufferPointer<T>]) {
            guard i < taken.count else { return body(buffers) }
            var values = taken[i]
            taken[i] = []
            values.withUnsafeMutableBufferPointer { lend(i + 1, buffers + [$0]) }
            taken[i] = values
        }
        lend(0, [])
        for (kind, values) in zip(kinds, taken) where kind < slots.count && k < slots[kind].count {
            slots[kind][k] = values
        }
    }
}
