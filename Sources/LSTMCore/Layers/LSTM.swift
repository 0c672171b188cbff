/// An LSTM layer's configuration, in Keras's vocabulary.
public struct LSTMSpec: LayerSpec, Equatable {
    public var name: String
    public var recurrent: RecurrentOptions
    public var activation: Activation = .tanh
    public var recurrentActivation: Activation = .sigmoid
    public var useBias = true
    public var unitForgetBias = true

    public init(name: String = "lstm", units: Int) {
        self.name = name
        self.recurrent = RecurrentOptions(units: units)
    }

    public var units: Int {
        get { recurrent.units }
        set { recurrent.units = newValue }
    }
    public var returnSequences: Bool {
        get { recurrent.returnSequences }
        set { recurrent.returnSequences = newValue }
    }
    public var returnState: Bool {
        get { recurrent.returnState }
        set { recurrent.returnState = newValue }
    }
    public var goBackwards: Bool {
        get { recurrent.goBackwards }
        set { recurrent.goBackwards = newValue }
    }

    public var kind: String { "LSTM" }

    public func build(inputs: [SampleShape]) throws -> any Layer {
        try LayerChecks.size(units, "layer '\(name)': units")
        let (timesteps, features) = try RecurrentRunner<SimpleRNNCell>.checkInputs(Array(inputs.prefix(1)), units: units,
                                                                                   name: name, kind: kind)
        guard inputs.count == 1 || (inputs.count == 3 && inputs[1] == [units] && inputs[2] == [units]) else {
            throw LSTMError.shapeMismatch("layer '\(name)' (LSTM) takes a sequence and optionally an initial state [h, c] of shapes (None, \(units)); got inputs of shapes \(inputs.map { LayerChecks.describe($0) })")
        }
        try LayerChecks.cellActivations([activation, recurrentActivation], self)
        _ = try checkedProduct([features, 4, units], "layer '\(name)': kernel")
        _ = try checkedProduct([units, 4, units], "layer '\(name)': recurrent_kernel")
        return try RecurrentInputDropout.wrap(LSTMLayer(config: self, features: features, timesteps: timesteps, hasInitialState: inputs.count == 3),
                                              options: recurrent)
    }
}

/// The LSTM layer's math, with Keras's semantics:
///   z = x·W + h·U + b, gate blocks i, f, c, o (each `units` wide);
///   c' = f⊙c + i⊙act(z_c);  h' = o⊙act(c');  zero initial state.
/// Internally the layer works time-major in processing order (step s reads timestep
/// t = goBackwards ? n-1-s : s), so that each step's gate block is one contiguous [batch × 4u] slab.
struct LSTMLayer {
    let config: LSTMSpec
    let features: Int
    /// Timesteps per sequence, when the model fixes them.
    let timesteps: Int?
    /// Whether the call passes [h, c] to start from (else zeros).
    let hasInitialState: Bool

    var units: Int { config.units }
    var gateWidth: Int { 4 * config.units }

    @inline(__always) func timestep(_ s: Int, of n: Int) -> Int { config.goBackwards ? n - 1 - s : s }

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
        let ra = config.recurrentActivation, act = config.activation
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

    /// Keras's default activations on float32 take the fused, vectorized cell kernels.
    func usesFastCell<T: Scalar>(_: T.Type) -> Bool {
        T.self == Float.self && config.recurrentActivation == .sigmoid && config.activation == .tanh
    }

    /// Activates one step's gates for `rows` rows and advances their state (see cellStep).
    @inline(__always)
    func cell<T: Scalar>(rows: Int, z: UnsafeMutablePointer<T>, cPrev: UnsafePointer<T>?,
                         cOut: UnsafeMutablePointer<T>, a: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>) {
        if usesFastCell(T.self) {
            kCellForward(rows: rows, units: units, z: asFloat(z), cPrev: cPrev.map { asFloat($0) },
                         c: asFloat(cOut), a: asFloat(a), h: asFloat(h))
        } else {
            cellStep(rows: rows, z: z, cPrev: cPrev, cOut: cOut, a: a, h: h)
        }
    }

    /// C[m×n] += A[m×k] · B for the per-timestep recurrent products, through the packed float32
    /// kernel when B has been packed (B itself otherwise).
    @inline(__always)
    func recurrentProduct<T: Scalar>(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
                                     packed: UnsafePointer<Float>?, _ c: UnsafeMutablePointer<T>) {
        if let packed {
            kGemmPacked(m, n, k, asFloat(a), k, packed, asFloat(c), n)
        } else {
            gemmNN(m, n, k, a, k, b, n, c, n)
        }
    }

    /// B [k×n] packed for `recurrentProduct` when the float32 kernel will multiply it by more than
    /// one row, or by one row in the AVX-512 build when B is too large for the first-level cache
    /// (its rows, read in place, then miss it every step); nil otherwise: one row takes the
    /// row-product kernel. The caller deallocates.
    func packForProducts<T: Scalar>(rows: Int, _ k: Int, _ n: Int, _ b: UnsafePointer<T>) -> UnsafeMutablePointer<Float>? {
        guard T.self == Float.self, rows > 1 || (KernelChoice.active.packsOneRow && k * n >= 32 * 1024) else { return nil }
        return kPacked(k, n, asFloat(b), n)
    }

    /// Forward over a batch. The recurrence runs independently per sample, so large batches are
    /// split over threads by rows (Parallel.forRows); the input projection is one product before.
    /// - Parameters:
    ///   - x: [batch][n][features].
    ///   - out: [batch][n][units] with return_sequences (processing order), else [batch][units].
    ///   - tape: when given, receives everything `backward` needs.
    func forward<T: Scalar>(batch: Int, steps n: Int, x: UnsafePointer<T>,
                            w: UnsafePointer<T>, u uMat: UnsafePointer<T>, b: UnsafePointer<T>?,
                            out: UnsafeMutablePointer<T>, tape: LSTMTape<T>?,
                            h0: UnsafePointer<T>? = nil, c0: UnsafePointer<T>? = nil,
                            hLast: UnsafeMutablePointer<T>? = nil, cLast: UnsafeMutablePointer<T>? = nil,
                            mask: Mask? = nil, dropout: RecurrentGateMasks<T>? = nil) {
        let u = units, g4 = gateWidth, f = features, rows = batch
        let options = config.recurrent
        let first = mask.map { options.firstReal($0, rows: rows, steps: n) } ?? []
        // Inference in float32 over several rows projects each step's input inside the step
        // (z = b + x_t·W + h·U, one step's gates in cache) instead of all steps before the
        // recurrence: the gates of every step (52 MB for 256 rows × 200 steps × LSTM(64)) were
        // written, then read back from memory. Training keeps them all for backward anyway.
        let perStepInput = tape == nil && dropout == nil && T.self == Float.self && rows > 1
        let work = tape ?? LSTMTape<T>(layer: self, batch: batch, steps: n, keepHistory: false, allSteps: !perStepInput)
        let xT = work.xT.baseAddress!, gates = work.gates.baseAddress!
        let cBuf = work.c.baseAddress!, aBuf = work.a.baseAddress!, hBuf = work.h.baseAddress!
        let keep = tape != nil
        let packedW = perStepInput ? packForProducts(rows: rows, f, g4, w) : nil
        defer { packedW?.deallocate() }
        if !perStepInput {
            for s in 0..<n {
                let t = timestep(s, of: n)
                for r in 0..<rows {
                    (xT + (s * rows + r) * f).update(from: x + (r * n + t) * f, count: f)
                }
            }
            setRows(n * rows, g4, b, gates)
            if let dropout, dropout.input != nil {
                // Keras's implementation 1: each gate sees the input through its own mask.
                dropout.forEachGate(of: xT, steps: n, input: true) { g, xg in
                    gemmNN(n * rows, u, f, xg, f, w + g * u, g4, gates + g * u, g4)
                }
            } else {
                gemmNN(n * rows, g4, f, xT, f, w, g4, gates, g4)
            }
        }
        let packed = dropout == nil ? packForProducts(rows: rows, u, g4, uMat) : nil
        defer { packed?.deallocate() }
        // With history, step s's state is at s * rows * u; without, one slab is overwritten.
        func state(_ buf: UnsafeMutablePointer<T>, _ s: Int) -> UnsafeMutablePointer<T> { keep ? buf + s * rows * u : buf }
        Parallel.forRows(rows, work: n * rows * u * g4) { r0, r1 in
            let m = r1 - r0
            // The state of masked rows, kept across the step (without history the cell
            // overwrites the one slab in place).
            let kept = mask == nil ? nil : UnsafeMutablePointer<T>.allocate(capacity: 2 * m * u)
            defer { kept?.deallocate() }
            for s in 0..<n {
                let t = timestep(s, of: n)
                let z: UnsafeMutablePointer<T>
                if let packedW {
                    // This step's input rows, read in place (rows n·f apart in x).
                    z = gates + r0 * g4
                    setRows(m, g4, b, z)
                    kGemmPacked(m, g4, f, asFloat(x + (r0 * n + t) * f), n * f, packedW, asFloat(z), g4)
                } else {
                    z = gates + (s * rows + r0) * g4
                }
                if let mask, let kept {
                    for r in 0..<m where !mask.isReal(r0 + r, t) {
                        let hp: UnsafePointer<T>? = s > 0 ? UnsafePointer(state(hBuf, s - 1) + (r0 + r) * u) : h0.map { $0 + (r0 + r) * u }
                        let cp: UnsafePointer<T>? = s > 0 ? UnsafePointer(state(cBuf, s - 1) + (r0 + r) * u) : c0.map { $0 + (r0 + r) * u }
                        if let hp { (kept + 2 * r * u).update(from: hp, count: u) } else { (kept + 2 * r * u).update(repeating: 0, count: u) }
                        if let cp { (kept + (2 * r + 1) * u).update(from: cp, count: u) } else { (kept + (2 * r + 1) * u).update(repeating: 0, count: u) }
                    }
                }
                let hPrev: UnsafePointer<T>? = s > 0 ? UnsafePointer(state(hBuf, s - 1) + r0 * u) : h0.map { $0 + r0 * u }
                if let hPrev, let dropout {
                    // Each gate sees the previous state through its own recurrent mask.
                    dropout.forEachGate(of: hPrev, rows: r0..<r1, input: false) { g, hg in
                        gemmNN(m, u, u, hg, u, uMat + g * u, g4, z + g * u, g4)
                    }
                } else if let hPrev {
                    recurrentProduct(m, g4, u, hPrev, uMat, packed: packed, z)
                }
                let cPrev: UnsafePointer<T>? = s == 0 ? c0.map { $0 + r0 * u } : UnsafePointer(state(cBuf, s - 1) + r0 * u)
                let hOut = state(hBuf, s) + r0 * u
                cell(rows: m, z: z, cPrev: cPrev, cOut: state(cBuf, s) + r0 * u, a: state(aBuf, s) + r0 * u, h: hOut)
                if let mask, let kept {
                    // A masked step keeps the state.
                    for r in 0..<m where !mask.isReal(r0 + r, t) {
                        (hOut + r * u).update(from: kept + 2 * r * u, count: u)
                        (state(cBuf, s) + (r0 + r) * u).update(from: kept + (2 * r + 1) * u, count: u)
                    }
                }
                if config.returnSequences {
                    for r in 0..<m where options.outputsState(mask, first, r0 + r, s, n) {
                        (out + ((r0 + r) * n + s) * u).update(from: hOut + r * u, count: u)
                    }
                } else if s == n - 1 {
                    for r in 0..<m where options.outputsState(mask, first, r0 + r, s, n) {
                        (out + (r0 + r) * u).update(from: hOut + r * u, count: u)
                    }
                }
                if s == n - 1 {
                    hLast?.advanced(by: r0 * u).update(from: hOut, count: m * u)
                    cLast?.advanced(by: r0 * u).update(from: state(cBuf, s) + r0 * u, count: m * u)
                }
            }
        }
    }

    /// Backpropagation through time. Gradients are added into gW, gU, gb. Like forward, the
    /// recurrence is split over threads by rows; the weight gradients are then single products
    /// over all timesteps and rows.
    /// - Parameters:
    ///   - dOut: gradient of the loss with respect to the layer's output (shape of `out`).
    ///   - dX: when given, receives the gradient with respect to x ([batch][n][features]).
    func backward<T: Scalar>(tape: LSTMTape<T>, dOut: UnsafePointer<T>, dX: UnsafeMutablePointer<T>?,
                             w: UnsafePointer<T>, u uMat: UnsafePointer<T>,
                             gW: UnsafeMutablePointer<T>, gU: UnsafeMutablePointer<T>, gb: UnsafeMutablePointer<T>?,
                             state: LSTMStateGradients<T> = LSTMStateGradients()) {
        let u = units, g4 = gateWidth, f = features
        let rows = tape.batch, n = tape.steps
        let dZ = tape.gateGradients.baseAddress!
        let mask = tape.mask, options = config.recurrent
        let first = mask.map { options.firstReal($0, rows: rows, steps: n) } ?? []
        let dh = UnsafeMutablePointer<T>.allocate(capacity: rows * u)
        let dc = UnsafeMutablePointer<T>.allocate(capacity: rows * u)
        let uT = UnsafeMutablePointer<T>.allocate(capacity: g4 * u)
        defer { dh.deallocate(); dc.deallocate(); uT.deallocate() }
        // The gradients of the returned state (return_state) start the recurrence.
        if let dhLast = state.dhLast { dh.initialize(from: dhLast, count: rows * u) } else { dh.initialize(repeating: 0, count: rows * u) }
        if let dcLast = state.dcLast { dc.initialize(from: dcLast, count: rows * u) } else { dc.initialize(repeating: 0, count: rows * u) }
        transpose(u, g4, uMat, uT)
        let packed = tape.dropout == nil ? packForProducts(rows: rows, g4, u, UnsafePointer(uT)) : nil
        defer { packed?.deallocate() }
        let gates = tape.gates.baseAddress!, cBuf = tape.c.baseAddress!
        let aBuf = tape.a.baseAddress!, hBuf = tape.h.baseAddress!
        Parallel.forRows(rows, work: 2 * n * rows * u * g4) { r0, r1 in
            let m = r1 - r0
            let dhR = dh + r0 * u, dcR = dc + r0 * u
            // The state gradients of masked rows, passed through their step untouched.
            let kept = mask == nil ? nil : UnsafeMutablePointer<T>.allocate(capacity: 2 * m * u)
            defer { kept?.deallocate() }
            for s in stride(from: n - 1, through: 0, by: -1) {
                if config.returnSequences {
                    for r in 0..<m where options.outputsState(mask, first, r0 + r, s, n) {
                        let src = dOut + ((r0 + r) * n + s) * u, dst = dhR + r * u
                        for j in 0..<u { dst[j] += src[j] }
                    }
                } else if s == n - 1 {
                    for r in 0..<m where options.outputsState(mask, first, r0 + r, s, n) {
                        let src = dOut + (r0 + r) * u, dst = dhR + r * u
                        for j in 0..<u { dst[j] += src[j] }
                    }
                }
                let t = timestep(s, of: n)
                if let mask, let kept {
                    for r in 0..<m where !mask.isReal(r0 + r, t) {
                        (kept + 2 * r * u).update(from: dhR + r * u, count: u)
                        (kept + (2 * r + 1) * u).update(from: dcR + r * u, count: u)
                        (dhR + r * u).update(repeating: 0, count: u)
                        (dcR + r * u).update(repeating: 0, count: u)
                    }
                }
                let dz = dZ + (s * rows + r0) * g4
                let cPrev: UnsafePointer<T>? = s > 0 ? UnsafePointer(cBuf + ((s - 1) * rows + r0) * u) : state.c0.map { $0 + r0 * u }
                cellBackward(rows: m, gates: gates + (s * rows + r0) * g4, a: aBuf + (s * rows + r0) * u,
                             cPrev: cPrev, dh: dhR, dc: dcR, dz: dz)
                dhR.update(repeating: 0, count: m * u)
                if s > 0 || state.h0 != nil {
                    if let dropout = tape.dropout {
                        dropout.addThroughMasks(dz, kT: uT, rows: r0..<r1, input: false, into: dhR)
                    } else {
                        recurrentProduct(m, u, g4, dz, uT, packed: packed, dhR)
                    }
                }
                if let mask, let kept {
                    for r in 0..<m where !mask.isReal(r0 + r, t) {
                        (dhR + r * u).update(from: kept + 2 * r * u, count: u)
                        (dcR + r * u).update(from: kept + (2 * r + 1) * u, count: u)
                    }
                }
            }
        }
        // dh and dc now hold the gradients of the initial state.
        state.dh0?.update(from: dh, count: rows * u)
        state.dc0?.update(from: dc, count: rows * u)
        // Weight gradients as single products over all timesteps (per gate, of the masked
        // operands, with recurrent dropout).
        if let dropout = tape.dropout {
            if n > 1 {
                dropout.forEachGate(of: UnsafePointer(hBuf), steps: n - 1, input: false) { g, hg in
                    gemmTN(u, u, (n - 1) * rows, hg, u, dZ + rows * g4 + g * u, g4, gU + g * u, g4)
                }
            }
            if let h0 = state.h0 {
                dropout.forEachGate(of: h0, input: false) { g, hg in
                    gemmTN(u, u, rows, hg, u, dZ + g * u, g4, gU + g * u, g4)
                }
            }
        } else {
            if n > 1 { gemmTN(u, g4, (n - 1) * rows, hBuf, u, dZ + rows * g4, g4, gU, g4) }
            if let h0 = state.h0 { gemmTN(u, g4, rows, h0, u, dZ, g4, gU, g4) }
        }
        if let dropout = tape.dropout, dropout.input != nil {
            dropout.forEachGate(of: UnsafePointer(tape.xT.baseAddress!), steps: n, input: true) { g, xg in
                gemmTN(f, u, n * rows, xg, f, dZ + g * u, g4, gW + g * u, g4)
            }
        } else {
            gemmTN(f, g4, n * rows, tape.xT.baseAddress!, f, dZ, g4, gW, g4)
        }
        if let gb { addColumnSums(n * rows, g4, dZ, g4, gb) }
        guard let dX else { return }
        let wT = UnsafeMutablePointer<T>.allocate(capacity: g4 * f)
        let dXT = UnsafeMutablePointer<T>.allocate(capacity: n * rows * f)
        defer { wT.deallocate(); dXT.deallocate() }
        transpose(f, g4, w, wT)
        dXT.initialize(repeating: 0, count: n * rows * f)
        if let dropout = tape.dropout, dropout.input != nil {
            dropout.addThroughMasks(dZ, kT: wT, steps: n, input: true, into: dXT)
        } else {
            gemmNN(n * rows, f, g4, dZ, g4, wT, f, dXT, f)
        }
        for s in 0..<n {
            let t = timestep(s, of: n)
            for r in 0..<rows { (dX + (r * n + t) * f).update(from: dXT + (s * rows + r) * f, count: f) }
        }
    }

    /// One step of backward's cell math for `rows` rows: dz from the gates, act(c), the previous
    /// cell state, dh and the running dc (which becomes the previous step's).
    @inline(__always)
    func cellBackward<T: Scalar>(rows: Int, gates g: UnsafePointer<T>, a aS: UnsafePointer<T>, cPrev: UnsafePointer<T>?,
                                 dh: UnsafePointer<T>, dc: UnsafeMutablePointer<T>, dz: UnsafeMutablePointer<T>) {
        let u = units, g4 = gateWidth
        if usesFastCell(T.self) {
            kCellBackward(rows: rows, units: u, gates: asFloat(g), a: asFloat(aS), cPrev: cPrev.map { asFloat($0) },
                          dh: asFloat(dh), dc: asFloat(dc), dz: asFloat(dz))
            return
        }
        let ra = config.recurrentActivation, act = config.activation
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

    /// One timestep for one stream: h and c are updated in place; scratch holds 4u + u values.
    @inline(__always)
    func step<T: Scalar>(x: UnsafePointer<T>, w: UnsafePointer<T>, u uMat: UnsafePointer<T>, b: UnsafePointer<T>?,
                         h: UnsafeMutablePointer<T>, c: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let g4 = gateWidth
        setRows(1, g4, b, scratch)
        gemmNN(1, g4, features, x, features, w, g4, scratch, g4)
        gemmNN(1, g4, units, h, units, uMat, g4, scratch, g4)
        cell(rows: 1, z: scratch, cPrev: UnsafePointer(c), cOut: c, a: scratch + g4, h: h)
    }
}

extension LSTMLayer: Layer {
    var spec: any LayerSpec { config }
    var inputShapes: [SampleShape] { [[timesteps, features]] + (hasInitialState ? [[units], [units]] : []) }
    var outputShapes: [SampleShape] {
        [config.returnSequences ? [timesteps, units] : [units]] + (config.returnState ? [[units], [units]] : [])
    }

    var weights: [WeightSpec] {
        [WeightSpec("kernel", [features, gateWidth]), WeightSpec("recurrent_kernel", [units, gateWidth])]
            + (config.useBias ? [WeightSpec("bias", [gateWidth])] : [])
    }

    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] {
        let u = units
        var w: [[T]] = [Initializers.glorotUniform(fanIn: features, fanOut: gateWidth, rng: &rng),
                        Initializers.orthogonal(rows: u, cols: gateWidth, rng: &rng)]
        if config.useBias {
            var b = [T](repeating: 0, count: gateWidth)
            if config.unitForgetBias { for j in u..<(2 * u) { b[j] = 1 } }
            w.append(b)
        }
        return w
    }

    /// The sequence output keeps the input's mask; the last output and the states have none.
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] {
        let first: Mask? = config.returnSequences ? (masks.first ?? nil) : nil
        return [first] + (config.returnState ? [nil, nil] : [])
    }

    var carriedState: [Int] { config.recurrent.stateful ? [units, units] : [] }

    /// [output] or, with return_state, [output, h, c].
    func outputShapes(for inputs: [[Int]]) -> [[Int]] {
        let s = inputs[0]
        return [config.returnSequences ? [s[0], s[1], units] : [s[0], units]]
            + (config.returnState ? [[s[0], units], [s[0], units]] : [])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        let batch = x.shape[0], n = x.shape[1]
        var outputs = outputShapes(for: [x.shape]).map { Tensor<T>(zeros: $0) }
        var tape: LSTMTape<T>? = nil
        if context.training {
            if let old = context.tape as? LSTMTape<T>, old.batch == batch, old.steps == n {
                tape = old
            } else {
                tape = LSTMTape(layer: self, batch: batch, steps: n, keepHistory: true)
            }
        }
        // [x, h0, c0] and [out, h, c], as far as the call has them; a stateful layer starts
        // from its carried state and leaves its final one there.
        let carry = context.carry as? StateCarry<T>
        var ins = inputs.map { $0.values }
        if let carry, !hasInitialState { ins += carry.states }
        let startsFromState = ins.count == 3
        var outs = outputs.map { $0.values }
        if carry != nil { outs += [[T](repeating: 0, count: batch * units), [T](repeating: 0, count: batch * units)] }
        let lastAt = carry != nil ? outs.count - 2 : 1
        let options = config.recurrent
        let dropout = context.training && options.recurrentDropout > 0
            ? RecurrentGateMasks<T>(gates: 4, rows: batch, features: features, units: units, inputRate: options.dropout,
                               recurrentRate: options.recurrentDropout, random: &context.random)
            : nil
        tape?.dropout = dropout
        withPointers(ins) { p in
            withMutablePointers(&outs) { o in
                forward(batch: batch, steps: n, x: p[0], w: UnsafePointer(w[0].baseAddress!),
                        u: UnsafePointer(w[1].baseAddress!), b: config.useBias ? UnsafePointer(w[2].baseAddress!) : nil,
                        out: o[0], tape: tape, h0: startsFromState ? p[1] : nil, c0: startsFromState ? p[2] : nil,
                        hLast: config.returnState || carry != nil ? o[lastAt] : nil,
                        cLast: config.returnState || carry != nil ? o[lastAt + 1] : nil, mask: context.mask,
                        dropout: dropout)
            }
        }
        if let carry {
            tape?.carried = hasInitialState ? [] : carry.states
            carry.states = [outs[lastAt], outs[lastAt + 1]]
        } else {
            tape?.carried = []
        }
        if carry != nil && config.returnState { outs[1] = outs[lastAt]; outs[2] = outs[lastAt + 1] }
        for k in outputs.indices { outputs[k].values = outs[k] }
        tape?.mask = context.mask
        context.tape = tape
        return outputs
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights w: [UnsafeMutableBufferPointer<T>], gradients g: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        guard let tape = tape as? LSTMTape<T> else { return needInput.map { _ in nil } }
        // [dx, dh0, dc0] for the inputs the call has.
        var dIns = inputs.map { [T](repeating: 0, count: $0.values.count) }
        // A stateful call started from its carried state: a constant here (Keras does not
        // backpropagate into the previous batch).
        let ins = inputs.map { $0.values } + tape.carried
        withPointers(ins) { p in
            withPointers(outputGradients.map { $0.values }) { dO in
                withMutablePointers(&dIns) { d in
                    var state = LSTMStateGradients<T>()
                    if hasInitialState { state.h0 = p[1]; state.c0 = p[2]; state.dh0 = d[1]; state.dc0 = d[2] }
                    if !tape.carried.isEmpty { state.h0 = p[1]; state.c0 = p[2] }
                    if config.returnState { state.dhLast = dO[1]; state.dcLast = dO[2] }
                    backward(tape: tape, dOut: dO[0], dX: needInput[0] ? d[0] : nil, w: UnsafePointer(w[0].baseAddress!),
                             u: UnsafePointer(w[1].baseAddress!), gW: g[0].baseAddress!, gU: g[1].baseAddress!,
                             gb: config.useBias ? g[2].baseAddress! : nil, state: state)
                }
            }
        }
        return zip(inputs, zip(dIns, needInput)).map { x, d in d.1 ? Tensor(shape: x.shape, values: d.0) : nil }
    }

    func checkStreamable() throws {
        if config.goBackwards {
            throw LSTMError.unsupported("layer '\(config.name)' has go_backwards=true: it reads the sequence from its end, so it cannot be run one timestep at a time")
        }
        if hasInitialState {
            throw LSTMError.unsupported("layer '\(config.name)' starts from an initial state given as an input: it cannot be run one timestep at a time")
        }
    }

    /// h, then c.
    var streamStateSize: Int { 2 * units }
    var stepScratchSize: Int { gateWidth + units }

    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>) {
        state.initialize(repeating: 0, count: streamStateSize)
    }

    @_specialize(where T == Float)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        let h = state, c = state + units
        step(x: inputs[0], w: UnsafePointer(w[0].baseAddress!), u: UnsafePointer(w[1].baseAddress!),
             b: config.useBias ? UnsafePointer(w[2].baseAddress!) : nil, h: h, c: c, scratch: scratch)
        outputs[0].update(from: h, count: units)
        if config.returnState {
            outputs[1].update(from: h, count: units)
            outputs[2].update(from: c, count: units)
        }
    }
}

/// The initial state a call started from and the gradients that flow through the state: of the
/// returned h and c (return_state) in, of the initial h and c out. All nil for a plain call.
struct LSTMStateGradients<T: Scalar> {
    var h0: UnsafePointer<T>? = nil, c0: UnsafePointer<T>? = nil
    var dhLast: UnsafePointer<T>? = nil, dcLast: UnsafePointer<T>? = nil
    var dh0: UnsafeMutablePointer<T>? = nil, dc0: UnsafeMutablePointer<T>? = nil
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
    /// The mask of the forward pass that filled it.
    var mask: Mask?
    /// The carried state a stateful layer started from ([h, c]), kept for backward.
    var carried: [[T]] = []
    /// The gate masks of recurrent dropout drawn for this pass (nil without).
    var dropout: RecurrentGateMasks<T>?

    /// allSteps false (inference projecting each step's input in the step): no copy of the
    /// input, and one step's gates.
    init(layer: LSTMLayer, batch: Int, steps: Int, keepHistory: Bool, allSteps: Bool = true) {
        self.batch = batch
        self.steps = steps
        let stateSteps = keepHistory ? steps : 1
        xT = .allocate(capacity: allSteps ? steps * batch * layer.features : 0)
        gates = .allocate(capacity: (allSteps ? steps : 1) * batch * layer.gateWidth)
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
