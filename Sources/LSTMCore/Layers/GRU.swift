/// Keras's GRU, gate blocks z (update), r (reset), h (candidate), each `units` wide:
///   z = σ(x·W_z + h·U_z + b), r = σ(x·W_r + h·U_r + b)
///   reset_after (Keras 3's default): hh = act(x·W_h + b_in + r ⊙ (h·U_h + b_rec)), bias (2, 3u)
///   otherwise:                        hh = act(x·W_h + (r ⊙ h)·U_h + b), bias (3u)
///   h' = z ⊙ h + (1 − z) ⊙ hh
/// With recurrent dropout (in fit), each block's recurrent product reads h through its own mask
/// r_g, as Keras 3's implementation 1 does: (h ⊙ r_z)·U_z, (h ⊙ r_r)·U_r, and for the candidate
/// (h ⊙ r_h)·U_h (reset_after) or (r ⊙ h ⊙ r_h)·U_h; the update still mixes in the unmasked h.
public struct GRUSpec: LayerSpec, Equatable {
    public var name: String
    public var recurrent: RecurrentOptions
    public var activation: Activation = .tanh
    public var recurrentActivation: Activation = .sigmoid
    public var useBias = true
    public var resetAfter = true

    public init(name: String = "gru", units: Int) {
        self.name = name
        self.recurrent = RecurrentOptions(units: units)
    }

    public var units: Int { recurrent.units }
    public var kind: String { "GRU" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        try LayerChecks.size(units, "layer '\(name)': units")
        let (timesteps, features) = try RecurrentRunner<GRUCell>.checkInputs(inputs, units: units, name: name, kind: kind)
        try LayerChecks.cellActivations([activation, recurrentActivation], self)
        _ = try checkedProduct([features, 3, units], "layer '\(name)': kernel")
        _ = try checkedProduct([units, 3, units], "layer '\(name)': recurrent_kernel")
        return try RecurrentInputDropout.wrap(RecurrentLayer(timesteps: timesteps, hasInitialState: inputs.count > 1,
                              runner: RecurrentRunner(cell: GRUCell(config: self, features: features), options: recurrent,
                                                      name: name, kind: kind)), options: recurrent)
    }
}

struct GRUCell: RecurrentCell {
    let config: GRUSpec
    let features: Int
    var units: Int { config.units }
    var projectionWidth: Int { 3 * units }
    /// z, r, hh, and (reset_after) h·U_h + b_rec, per row.
    var tapeWidth: Int { (config.resetAfter ? 4 : 3) * units }

    var weights: [WeightSpec] {
        [WeightSpec("kernel", [features, 3 * units]), WeightSpec("recurrent_kernel", [units, 3 * units])]
            + (config.useBias ? [WeightSpec("bias", config.resetAfter ? [2, 3 * units] : [3 * units])] : [])
    }

    /// Keras 3's defaults (reset_after, sigmoid gates, tanh candidate) on float32 take the fused,
    /// vectorized cell kernels; every other combination the generic loops below.
    func usesFastCell<T: Scalar>(_: T.Type) -> Bool {
        T.self == Float.self && config.resetAfter && config.recurrentActivation == .sigmoid && config.activation == .tanh
    }

    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        var w: [[T]] = [Initializers.glorotUniform(fanIn: features, fanOut: 3 * units, rng: &rng),
                        Initializers.orthogonal(rows: units, cols: 3 * units, rng: &rng)]
        if config.useBias { w.append([T](repeating: 0, count: (config.resetAfter ? 6 : 3) * units)) }
        return w
    }

    func inputBias<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>]) -> UnsafePointer<T>? {
        config.useBias ? UnsafePointer(w[2].baseAddress!) : nil
    }

    /// Per row: hPrev·U for the blocks it multiplies, then (without reset_after) r ⊙ hPrev and
    /// its product with U_h.
    var workWidth: Int { config.resetAfter ? 3 * units : 4 * units }

    func step<T: Scalar>(rows: Int, xw: UnsafePointer<T>, hPrev: UnsafePointer<T>, h: UnsafeMutablePointer<T>,
                         tape: UnsafeMutablePointer<T>, work: UnsafeMutablePointer<T>, weights w: [UnsafeMutableBufferPointer<T>],
                         operands: RecurrentOperands<T>?, masks: RecurrentMaskRows<T>?) {
        let u = units, g3 = 3 * u, tw = tapeWidth
        let uMat = UnsafePointer(w[1].baseAddress!)
        let ra = config.recurrentActivation, act = config.activation
        // rec = hPrev · U (all three blocks with reset_after, z and r only otherwise) [+ b_rec].
        let recWidth = config.resetAfter ? g3 : 2 * u
        let rec = work
        let recBias: UnsafePointer<T>? = config.useBias && config.resetAfter ? UnsafePointer(w[2].baseAddress! + g3) : nil
        setRows(rows, recWidth, recBias, rec)
        // Without reset_after, the candidate's operand r ⊙ h (with dropout: r ⊙ h ⊙ r_h).
        let rh = work + rows * recWidth
        if let masks {
            masks.forEachGate(of: hPrev) { g, hg in
                if g < 2 || config.resetAfter {
                    gemmNN(rows, u, u, hg, u, uMat + g * u, g3, rec + g * u, recWidth)
                } else {
                    rh.update(from: hg, count: rows * u)
                }
            }
        } else if let operands {
            operands.multiply(0, m: rows, hPrev, lda: u, rec, ldc: recWidth)
        } else {
            gemmNN(rows, recWidth, u, hPrev, u, uMat, g3, rec, recWidth)
        }
        if usesFastCell(T.self) {
            kGRUCellForward(rows: rows, units: u, xw: asFloat(xw), rec: asFloat(UnsafePointer(rec)), hPrev: asFloat(hPrev),
                            tape: asFloat(tape), h: asFloat(h))
            return
        }
        for r in 0..<rows {
            let x = xw + r * g3, rc = rec + r * recWidth, t = tape + r * tw
            for j in 0..<(2 * u) { t[j] = x[j] + rc[j] }
            ra.apply(t, 2 * u)  // z, r
        }
        if config.resetAfter {
            for r in 0..<rows {
                let x = xw + r * g3, rc = rec + r * recWidth, t = tape + r * tw
                for j in 0..<u {
                    t[3 * u + j] = rc[2 * u + j]
                    t[2 * u + j] = x[2 * u + j] + t[u + j] * rc[2 * u + j]
                }
            }
        } else {
            // (r ⊙ hPrev) · U_h for every row in one product.
            let cand = rh + rows * u
            if masks == nil { rh.update(from: hPrev, count: rows * u) }
            for r in 0..<rows {
                for j in 0..<u { rh[r * u + j] *= tape[r * tw + u + j] }
            }
            cand.initialize(repeating: 0, count: rows * u)
            if let operands {
                operands.multiply(1, m: rows, UnsafePointer(rh), lda: u, cand, ldc: u)
            } else {
                gemmNN(rows, u, u, UnsafePointer(rh), u, uMat + 2 * u, g3, cand, u)
            }
            for r in 0..<rows {
                for j in 0..<u { tape[r * tw + 2 * u + j] = xw[r * g3 + 2 * u + j] + cand[r * u + j] }
            }
        }
        for r in 0..<rows {
            let t = tape + r * tw, hp = hPrev + r * u, hr = h + r * u
            act.apply(t + 2 * u, u)  // hh
            for j in 0..<u { hr[j] = t[j] * hp[j] + (1 - t[j]) * t[2 * u + j] }
        }
    }

    /// U's blocks: those h multiplies (all three with reset_after, z and r otherwise), then U_h.
    func forwardOperands<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>], rows: Int) -> RecurrentOperands<T> {
        let u = units, g3 = 3 * u, uMat = UnsafePointer(w[1].baseAddress!)
        let ops = RecurrentOperands<T>(rows: rows)
        ops.add(uMat, ldb: g3, k: u, n: config.resetAfter ? g3 : 2 * u)
        if !config.resetAfter { ops.add(uMat + 2 * u, ldb: g3, k: u, n: u) }
        return ops
    }

    /// Uᵀ (3u × u): its first rows take dRec back to hPrev, its last u rows (U_hᵀ) take the
    /// candidate's gradient back to r ⊙ hPrev.
    func backwardOperands<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>], rows: Int) -> RecurrentOperands<T> {
        let u = units
        let ops = RecurrentOperands<T>(rows: rows)
        let uT = ops.transposed(UnsafePointer(w[1].baseAddress!), rows: u, cols: 3 * u, ld: 3 * u)
        ops.add(uT, ldb: u, k: config.resetAfter ? 3 * u : 2 * u, n: u)
        ops.add(uT + 2 * u * u, ldb: u, k: u, n: u)
        return ops
    }

    /// dRH (u per row, without reset_after).
    var backwardWorkWidth: Int { units }
    /// Per row and step: dRec (the gradient of hPrev·U + b_rec, 3u; the z and r blocks without
    /// reset_after), then without reset_after r ⊙ hPrev (u).
    var recordWidth: Int { config.resetAfter ? 3 * units : 4 * units }

    func stepBackward<T: Scalar>(rows: Int, hPrev: UnsafePointer<T>, h: UnsafePointer<T>, tape: UnsafePointer<T>,
                                 dh: UnsafePointer<T>, dxw: UnsafeMutablePointer<T>, dhPrev: UnsafeMutablePointer<T>,
                                 record: UnsafeMutablePointer<T>, work: UnsafeMutablePointer<T>,
                                 weights w: [UnsafeMutableBufferPointer<T>], operands: RecurrentOperands<T>,
                                 masks: RecurrentMaskRows<T>?) {
        let u = units, g3 = 3 * u, tw = tapeWidth, rw = recordWidth
        let ra = config.recurrentActivation, act = config.activation
        // hPrev's share through the blocks it multiplies (the z and r blocks without
        // reset_after), each through its mask with recurrent dropout.
        func addThroughRecurrentBlocks() {
            if let masks {
                masks.addThroughMasks(record, ldd: rw, uT: operands.matrix(0), gates: 0..<(config.resetAfter ? 3 : 2),
                                      into: dhPrev)
            } else {
                operands.multiply(0, m: rows, UnsafePointer(record), lda: rw, dhPrev, ldc: u)
            }
        }
        if usesFastCell(T.self) {
            kGRUCellBackward(rows: rows, units: u, tape: asFloat(tape), hPrev: asFloat(hPrev), dh: asFloat(dh),
                             dxw: asFloat(dxw), record: asFloat(record), dhPrev: asFloat(dhPrev))
            addThroughRecurrentBlocks()
            return
        }
        for r in 0..<rows {
            let t = tape + r * tw, hp = hPrev + r * u, d = dh + r * u, dx = dxw + r * g3, dr = record + r * rw
            for j in 0..<u {
                let z = t[j], rg = t[u + j], hh = t[2 * u + j]
                let dz = d[j] * (hp[j] - hh) * ra.derivative(fromOutput: z)
                let da = d[j] * (1 - z) * act.derivative(fromOutput: hh)
                dx[j] = dz
                dx[2 * u + j] = da
                dr[j] = dz
                if config.resetAfter {
                    let recH = t[3 * u + j]
                    let dR = da * recH * ra.derivative(fromOutput: rg)
                    dx[u + j] = dR
                    dr[u + j] = dR
                    dr[2 * u + j] = da * rg
                }
                dhPrev[r * u + j] = d[j] * z
            }
        }
        if !config.resetAfter {
            // d(r ⊙ h_h) = da · U_hᵀ, where h_h is hPrev (⊙ r_h with recurrent dropout); r ⊙ h_h
            // is recorded for U_h's gradient.
            let dRH = work
            dRH.initialize(repeating: 0, count: rows * u)
            operands.multiply(1, m: rows, UnsafePointer(dxw + 2 * u), lda: g3, dRH, ldc: u)
            for r in 0..<rows {
                let t = tape + r * tw
                for j in 0..<u {
                    let k = r * u + j
                    let keep = masks?.factor(gate: 2, row: r, unit: j) ?? 1
                    let hh = hPrev[k] * keep
                    record[r * rw + 3 * u + j] = t[u + j] * hh
                    let dR = dRH[k] * hh * ra.derivative(fromOutput: t[u + j])
                    dxw[r * g3 + u + j] = dR
                    record[r * rw + u + j] = dR
                    dhPrev[k] += dRH[k] * t[u + j] * keep
                }
            }
        }
        addThroughRecurrentBlocks()
    }

    func addRecurrentGradients<T: Scalar>(count: Int, hPrev: UnsafePointer<T>, records: UnsafePointer<T>,
                                          dxw: UnsafePointer<T>, gradients g: [UnsafeMutableBufferPointer<T>],
                                          masks: RecurrentGateMasks<T>?) {
        let u = units, g3 = 3 * u, rw = recordWidth
        let recWidth = config.resetAfter ? g3 : 2 * u
        if let masks {
            masks.forEachGate(of: hPrev, steps: count / masks.rows, input: false) { gate, hg in
                if gate < 2 || config.resetAfter {
                    gemmTN(u, u, count, hg, u, records + gate * u, rw, g[1].baseAddress! + gate * u, g3)
                }
            }
        } else {
            gemmTN(u, recWidth, count, hPrev, u, records, rw, g[1].baseAddress!, g3)
        }
        if !config.resetAfter {
            gemmTN(u, u, count, records + 3 * u, rw, dxw + 2 * u, g3, g[1].baseAddress! + 2 * u, g3)
        }
        if config.useBias && config.resetAfter {
            addColumnSums(count, g3, records, rw, g[2].baseAddress! + g3)
        }
    }

    func addInputBiasGradient<T: Scalar>(rows: Int, dxw: UnsafePointer<T>, _ g: [UnsafeMutableBufferPointer<T>]) {
        if config.useBias { addColumnSums(rows, 3 * units, dxw, 3 * units, g[2].baseAddress!) }
    }
}
