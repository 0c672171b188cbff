/// The LSTM layer's math, with Keras's semantics:
///   z = x·W + h·U + b, gate blocks i, f, c, o (each `units` wide);
///   c' = f⊙c + i⊙act(z_c);  h' = o⊙act(c');  zero initial state.
/// Internally the layer works time-major in processing order (step s reads timestep
/// t = goBackwards ? n-1-s : s), so that each step's gate block is one contiguous [batch × 4u] slab.
struct LSTMLayer {
    let spec: LSTMSpec
    let features: Int

    var units: Int { spec.units }
    var gateWidth: Int { 4 * spec.units }

    @inline(__always) func timestep(_ s: Int, of n: Int) -> Int { spec.goBackwards ? n - 1 - s : s }

    /// Activates one step's gates in place and advances the cell state.
    /// - Parameters:
    ///   - z: rows × 4u pre-activations in, activated gates (i, f, act(z_c), o) out.
    ///   - cPrev: the previous cell state (nil: zero); may equal `cOut`.
    ///   - a: receives act(c') (rows × u).
    ///   - h: receives h' (rows × u).
    @inline(__always)
    func cellStep<T: Scalar>(rows: Int, z: UnsafeMutablePointer<T>, cPrev: UnsafePointer<T>?,
                             cOut: UnsafeMutablePointer<T>, a: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>) {
        let u = units, g4 = gateWidth
        let ra = spec.recurrentActivation, act = spec.activation
        for r in 0..<rows {
            let zr = z + r * g4
            ra.apply(zr, 2 * u)          // i and f
            act.apply(zr + 2 * u, u)     // candidate
            ra.apply(zr + 3 * u, u)      // o
            let cr = cOut + r * u, ar = a + r * u
            if let cPrev {
                let pr = cPrev + r * u
                for j in 0..<u { cr[j] = zr[u + j] * pr[j] + zr[j] * zr[2 * u + j] }
            } else {
                for j in 0..<u { cr[j] = zr[j] * zr[2 * u + j] }
            }
            for j in 0..<u { ar[j] = cr[j] }
            act.apply(ar, u)
            let hr = h + r * u
            for j in 0..<u { hr[j] = zr[3 * u + j] * ar[j] }
        }
    }

    /// Forward over a batch.
    /// - Parameters:
    ///   - x: [batch][n][features].
    ///   - out: [batch][n][units] with return_sequences (processing order), else [batch][units].
    ///   - tape: when given, receives everything `backward` needs.
    func forward<T: Scalar>(batch: Int, steps n: Int, x: UnsafePointer<T>,
                            w: UnsafePointer<T>, u uMat: UnsafePointer<T>, b: UnsafePointer<T>?,
                            out: UnsafeMutablePointer<T>, tape: LSTMTape<T>?) {
        let u = units, g4 = gateWidth, f = features, rows = batch
        let work = tape ?? LSTMTape<T>(layer: self, batch: batch, steps: n, keepHistory: false)
        let xT = work.xT.baseAddress!, gates = work.gates.baseAddress!
        let cBuf = work.c.baseAddress!, aBuf = work.a.baseAddress!, hBuf = work.h.baseAddress!
        let keep = tape != nil
        for s in 0..<n {
            let t = timestep(s, of: n)
            for r in 0..<rows {
                (xT + (s * rows + r) * f).update(from: x + (r * n + t) * f, count: f)
            }
        }
        gates.initialize(repeating: 0, count: n * rows * g4)
        gemmNN(n * rows, g4, f, xT, f, w, g4, gates, g4)
        if let b { addRowVector(n * rows, g4, b, gates, g4) }
        for s in 0..<n {
            let z = gates + s * rows * g4
            let hPrev: UnsafeMutablePointer<T>? = s == 0 ? nil : (keep ? hBuf + (s - 1) * rows * u : hBuf)
            if let hPrev { gemmNN(rows, g4, u, hPrev, u, uMat, g4, z, g4) }
            let cOut = keep ? cBuf + s * rows * u : cBuf
            let cPrev: UnsafeMutablePointer<T>? = s == 0 ? nil : (keep ? cBuf + (s - 1) * rows * u : cBuf)
            let aOut = keep ? aBuf + s * rows * u : aBuf
            let hOut = keep ? hBuf + s * rows * u : hBuf
            cellStep(rows: rows, z: z, cPrev: cPrev.map { UnsafePointer($0) }, cOut: cOut, a: aOut, h: hOut)
            if spec.returnSequences {
                for r in 0..<rows { (out + (r * n + s) * u).update(from: hOut + r * u, count: u) }
            } else if s == n - 1 {
                out.update(from: hOut, count: rows * u)
            }
        }
    }

    /// Backpropagation through time. Gradients are added into gW, gU, gb.
    /// - Parameters:
    ///   - dOut: gradient of the loss with respect to the layer's output (shape of `out`).
    ///   - dX: when given, receives the gradient with respect to x ([batch][n][features]).
    func backward<T: Scalar>(tape: LSTMTape<T>, dOut: UnsafePointer<T>, dX: UnsafeMutablePointer<T>?,
                             w: UnsafePointer<T>, u uMat: UnsafePointer<T>,
                             gW: UnsafeMutablePointer<T>, gU: UnsafeMutablePointer<T>, gb: UnsafeMutablePointer<T>?) {
        let u = units, g4 = gateWidth, f = features
        let rows = tape.batch, n = tape.steps
        let ra = spec.recurrentActivation, act = spec.activation
        let dZ = tape.gateGradients.baseAddress!
        let dh = UnsafeMutablePointer<T>.allocate(capacity: rows * u)
        let dc = UnsafeMutablePointer<T>.allocate(capacity: rows * u)
        let uT = UnsafeMutablePointer<T>.allocate(capacity: g4 * u)
        defer { dh.deallocate(); dc.deallocate(); uT.deallocate() }
        dh.initialize(repeating: 0, count: rows * u)
        dc.initialize(repeating: 0, count: rows * u)
        transpose(u, g4, uMat, uT)
        let gates = tape.gates.baseAddress!, cBuf = tape.c.baseAddress!
        let aBuf = tape.a.baseAddress!, hBuf = tape.h.baseAddress!
        for s in stride(from: n - 1, through: 0, by: -1) {
            if spec.returnSequences {
                for r in 0..<rows {
                    let src = dOut + (r * n + s) * u, dst = dh + r * u
                    for j in 0..<u { dst[j] += src[j] }
                }
            } else if s == n - 1 {
                for k in 0..<(rows * u) { dh[k] += dOut[k] }
            }
            let g = gates + s * rows * g4
            let dz = dZ + s * rows * g4
            let aS = aBuf + s * rows * u
            let cPrev: UnsafeMutablePointer<T>? = s > 0 ? cBuf + (s - 1) * rows * u : nil
            if ra == .sigmoid && act == .tanh {
                // Keras's default activations: the derivatives in closed form, no dispatch per
                // element, so the loop vectorizes.
                for r in 0..<rows {
                    let gr = g + r * g4, dzr = dz + r * g4
                    let ar = aS + r * u, dhr = dh + r * u, dcr = dc + r * u
                    let cpr = cPrev.map { $0 + r * u }
                    for j in 0..<u {
                        let iG = gr[j], fG = gr[u + j], cG = gr[2 * u + j], oG = gr[3 * u + j]
                        let aV = ar[j], dhV = dhr[j]
                        let dcV = dcr[j] + dhV * oG * (1 - aV * aV)
                        let cp: T = cpr?[j] ?? 0
                        dzr[j] = dcV * cG * iG * (1 - iG)
                        dzr[u + j] = dcV * cp * fG * (1 - fG)
                        dzr[2 * u + j] = dcV * iG * (1 - cG * cG)
                        dzr[3 * u + j] = dhV * aV * oG * (1 - oG)
                        dcr[j] = dcV * fG
                    }
                }
            } else {
            for r in 0..<rows {
                let gr = g + r * g4, dzr = dz + r * g4
                for j in 0..<u {
                    let k = r * u + j
                    let iG = gr[j], fG = gr[u + j], cG = gr[2 * u + j], oG = gr[3 * u + j]
                    let aV = aS[k], dhV = dh[k]
                    let dcV = dc[k] + dhV * oG * act.derivative(fromOutput: aV)
                    let cp: T = cPrev?[k] ?? 0
                    dzr[j] = dcV * cG * ra.derivative(fromOutput: iG)
                    dzr[u + j] = dcV * cp * ra.derivative(fromOutput: fG)
                    dzr[2 * u + j] = dcV * iG * act.derivative(fromOutput: cG)
                    dzr[3 * u + j] = dhV * aV * ra.derivative(fromOutput: oG)
                    dc[k] = dcV * fG
                }
            }
            }
            dh.update(repeating: 0, count: rows * u)
            if s > 0 { gemmNN(rows, u, g4, dz, g4, uT, u, dh, u) }
        }
        // Weight gradients as single products over all timesteps.
        if n > 1 { gemmTN(u, g4, (n - 1) * rows, hBuf, u, dZ + rows * g4, g4, gU, g4) }
        gemmTN(f, g4, n * rows, tape.xT.baseAddress!, f, dZ, g4, gW, g4)
        if let gb { addColumnSums(n * rows, g4, dZ, g4, gb) }
        guard let dX else { return }
        let wT = UnsafeMutablePointer<T>.allocate(capacity: g4 * f)
        let dXT = UnsafeMutablePointer<T>.allocate(capacity: n * rows * f)
        defer { wT.deallocate(); dXT.deallocate() }
        transpose(f, g4, w, wT)
        dXT.initialize(repeating: 0, count: n * rows * f)
        gemmNN(n * rows, f, g4, dZ, g4, wT, f, dXT, f)
        for s in 0..<n {
            let t = timestep(s, of: n)
            for r in 0..<rows { (dX + (r * n + t) * f).update(from: dXT + (s * rows + r) * f, count: f) }
        }
    }

    /// One timestep for one stream: h and c are updated in place; scratch holds 4u + u values.
    @inline(__always)
    func step<T: Scalar>(x: UnsafePointer<T>, w: UnsafePointer<T>, u uMat: UnsafePointer<T>, b: UnsafePointer<T>?,
                         h: UnsafeMutablePointer<T>, c: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let g4 = gateWidth
        if let b { scratch.update(from: b, count: g4) } else { scratch.update(repeating: 0, count: g4) }
        gemmNN(1, g4, features, x, features, w, g4, scratch, g4)
        gemmNN(1, g4, units, h, units, uMat, g4, scratch, g4)
        cellStep(rows: 1, z: scratch, cPrev: UnsafePointer(c), cOut: c, a: scratch + g4, h: h)
    }
}

/// What one LSTM forward keeps for backward (or, without history, its scratch memory).
final class LSTMTape<T: Scalar> {
    let batch: Int, steps: Int
    /// Input, time-major in processing order: [n][batch][features].
    let xT: UnsafeMutableBufferPointer<T>
    /// Activated gates per step: [n][batch][4u].
    let gates: UnsafeMutableBufferPointer<T>
    /// Cell state, act(c) and h per step ([n][batch][u]), or one step's worth without history.
    let c: UnsafeMutableBufferPointer<T>, a: UnsafeMutableBufferPointer<T>, h: UnsafeMutableBufferPointer<T>
    /// Backward's gradients of the gate pre-activations, [n][batch][4u] (empty without history).
    let gateGradients: UnsafeMutableBufferPointer<T>

    init(layer: LSTMLayer, batch: Int, steps: Int, keepHistory: Bool) {
        self.batch = batch
        self.steps = steps
        let stateSteps = keepHistory ? steps : 1
        xT = .allocate(capacity: steps * batch * layer.features)
        gates = .allocate(capacity: steps * batch * layer.gateWidth)
        c = .allocate(capacity: stateSteps * batch * layer.units)
        a = .allocate(capacity: stateSteps * batch * layer.units)
        h = .allocate(capacity: stateSteps * batch * layer.units)
        gateGradients = .allocate(capacity: keepHistory ? steps * batch * layer.gateWidth : 0)
    }

    deinit {
        xT.deallocate(); gates.deallocate(); c.deallocate(); a.deallocate(); h.deallocate()
        gateGradients.deallocate()
    }
}
