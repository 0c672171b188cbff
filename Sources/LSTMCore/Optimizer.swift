#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Optimizer state and updates, exactly as Keras 3 computes them.
struct OptimizerState<T: Scalar> {
    let spec: OptimizerSpec
    /// Number of updates applied so far (Keras's `iterations`).
    var iterations: Int = 0
    /// Adam: first and second moments; SGD with momentum: the momentum buffers.
    var slots1: [[T]]
    var slots2: [[T]]
    /// Variables per trained weight array: 2 (Adam), 1 (SGD with momentum) or 0.
    var slotsPerWeight: Int { (slots1.isEmpty ? 0 : 1) + (slots2.isEmpty ? 0 : 1) }

    init(spec: OptimizerSpec, shapes: [Int]) {
        self.spec = spec
        switch spec {
        case .adam:
            slots1 = shapes.map { [T](repeating: 0, count: $0) }
            slots2 = shapes.map { [T](repeating: 0, count: $0) }
        case .sgd(_, let momentum, _):
            slots1 = momentum != 0 ? shapes.map { [T](repeating: 0, count: $0) } : []
            slots2 = []
        }
    }

    /// Applies one update to every parameter array.
    /// - Parameter squares: per array, the sums of its gradient's slices squared when Keras's
    ///   optimizer receives that gradient as slices (an Embedding's): Adam's second moment
    ///   takes them in place of the squared gradient.
    mutating func apply(params: [UnsafeMutableBufferPointer<T>], grads: [UnsafeMutableBufferPointer<T>],
                        squares: [UnsafeMutableBufferPointer<T>?]? = nil) {
        switch spec {
        case let .adam(lr, beta1, beta2, epsilon):
            let t = Double(iterations + 1)
            let alpha = T(lr * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t)))
            let oneMinusB1 = T(1 - beta1), oneMinusB2 = T(1 - beta2), eps = T(epsilon)
            for k in params.indices {
                let g = grads[k], p = params[k]
                let sq = squares.flatMap { k < $0.count ? $0[k] : nil }
                slots1[k].withUnsafeMutableBufferPointer { m in
                    slots2[k].withUnsafeMutableBufferPointer { v in
                        if let sq {
                            for j in 0..<p.count {
                                m[j] += (g[j] - m[j]) * oneMinusB1
                                v[j] += (sq[j] - v[j]) * oneMinusB2
                                p[j] -= m[j] * alpha / (v[j].squareRoot() + eps)
                            }
                        } else {
                            for j in 0..<p.count {
                                m[j] += (g[j] - m[j]) * oneMinusB1
                                v[j] += (g[j] * g[j] - v[j]) * oneMinusB2
                                p[j] -= m[j] * alpha / (v[j].squareRoot() + eps)
                            }
                        }
                    }
                }
            }
        case let .sgd(lrD, momentumD, nesterov):
            let lr = T(lrD), momentum = T(momentumD)
            for k in params.indices {
                let g = grads[k], p = params[k]
                if slots1.isEmpty {
                    for j in 0..<p.count { p[j] -= g[j] * lr }
                } else {
                    slots1[k].withUnsafeMutableBufferPointer { m in
                        for j in 0..<p.count {
                            m[j] = m[j] * momentum - g[j] * lr
                            p[j] += nesterov ? m[j] * momentum - g[j] * lr : m[j]
                        }
                    }
                }
            }
        }
        iterations += 1
    }
}
