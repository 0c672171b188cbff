/// Dense on the last axis: y = act(x·W + b), for [rows × features] where rows is batch or
/// batch × timesteps.
struct DenseLayer {
    let spec: DenseSpec
    let features: Int

    var units: Int { spec.units }

    func forward<T: Scalar>(rows: Int, x: UnsafePointer<T>, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                            out: UnsafeMutablePointer<T>) {
        let n = units
        setRows(rows, n, b, out)
        gemmNN(rows, n, features, x, features, w, n, out, n)
        activate(rows: rows, out)
    }

    @inline(__always)
    func activate<T: Scalar>(rows: Int, _ y: UnsafeMutablePointer<T>) {
        if spec.activation == .softmax {
            applySoftmaxRows(rows, units, y)
        } else {
            spec.activation.apply(y, rows * units)
        }
    }

    /// Gradients added into gW and gb; dX (if given) receives the input gradient.
    func backward<T: Scalar>(rows: Int, x: UnsafePointer<T>, y: UnsafePointer<T>, dY: UnsafePointer<T>,
                             dX: UnsafeMutablePointer<T>?, w: UnsafePointer<T>,
                             gW: UnsafeMutablePointer<T>, gb: UnsafeMutablePointer<T>?) {
        let n = units, f = features
        let dPre = UnsafeMutablePointer<T>.allocate(capacity: rows * n)
        defer { dPre.deallocate() }
        if spec.activation == .softmax {
            for r in 0..<rows {
                let yr = y + r * n, gr = dY + r * n, dr = dPre + r * n
                var dot: T = 0
                for j in 0..<n { dot += gr[j] * yr[j] }
                for j in 0..<n { dr[j] = yr[j] * (gr[j] - dot) }
            }
        } else {
            let act = spec.activation
            for k in 0..<(rows * n) { dPre[k] = dY[k] * act.derivative(fromOutput: y[k]) }
        }
        gemmTN(f, n, rows, x, f, dPre, n, gW, n)
        if let gb { addColumnSums(rows, n, dPre, n, gb) }
        guard let dX else { return }
        let wT = UnsafeMutablePointer<T>.allocate(capacity: n * f)
        defer { wT.deallocate() }
        transpose(f, n, w, wT)
        dX.initialize(repeating: 0, count: rows * f)
        gemmNN(rows, f, n, dPre, n, wT, f, dX, f)
    }
}
