/// What the recurrent layers share besides their cell: the sequence in and out (processing
/// order, return_sequences, return_state, go_backwards), an initial state passed as extra inputs,
/// and backpropagation through time. A cell (`RecurrentCell`: GRU, SimpleRNN) only says how
/// one step maps the input projection and the previous state to the next state, and back.
/// (LSTM keeps its own fused, threaded implementation in LSTM.swift.)

/// The options Keras's recurrent layers have in common.
public struct RecurrentOptions: Equatable, Sendable {
    public var units: Int
    public var returnSequences = false
    public var returnState = false
    public var goBackwards = false
    /// Keras's zero_output_for_mask (Bidirectional sets it): what a masked step outputs. Kept
    /// for the config; it only matters once masks are supported.
    public var zeroOutputForMask = false
    /// Keras's stateful: the final state of a call starts the next one (see StateCarry).
    public var stateful = false
    /// Keras's dropout: of the sequence's features, one mask per sequence, in fit only.
    public var dropout = 0.0
    /// Keras's recurrent_dropout (of the previous state), in fit only: with it, Keras's
    /// implementation 1, one mask per gate for the input and the previous state (RecurrentGateMasks).
    public var recurrentDropout = 0.0

    public init(units: Int) { self.units = units }
}

/// The spec of a recurrent layer (LSTM, GRU, SimpleRNN): what wrappers such as Bidirectional
/// need to know of it.
public protocol RecurrentLayerSpec: LayerSpec {
    var name: String { get set }
    var recurrent: RecurrentOptions { get set }
}

extension LSTMSpec: RecurrentLayerSpec {}
extension GRUSpec: RecurrentLayerSpec {}
extension SimpleRNNSpec: RecurrentLayerSpec {}

extension RecurrentOptions {
    @inline(__always) func timestep(_ s: Int, of n: Int) -> Int { goBackwards ? n - 1 - s : s }

    /// Per row, the first processing step that is real (n when none is): before it, a masked
    /// step outputs zeros (Keras's previous output starts at zero).
    func firstReal(_ mask: Mask, rows: Int, steps n: Int) -> [Int] {
        (0..<rows).map { r in (0..<n).first { mask.isReal(r, timestep($0, of: n)) } ?? n }
    }

    /// Whether a row's output at processing step s is its state (else zeros): a real step, or a
    /// masked one after a real one unless zero_output_for_mask.
    @inline(__always)
    func outputsState(_ mask: Mask?, _ first: [Int], _ r: Int, _ s: Int, _ n: Int) -> Bool {
        guard let mask else { return true }
        if mask.isReal(r, timestep(s, of: n)) { return true }
        return !zeroOutputForMask && s > first[r]
    }
}

/// One step of a single-state recurrent cell, for `rows` rows at a time. Weight arrays are the
/// layer's, in Keras's order: kernel (features × projectionWidth), recurrent kernel, bias.
protocol RecurrentCell: Sendable {
    associatedtype Spec: LayerSpec
    var config: Spec { get }
    var units: Int { get }
    /// The layer's weight arrays, in Keras's order, and their initial values.
    var weights: [WeightSpec] { get }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]]
    var features: Int { get }
    /// Width of the input projection x·W (+ input bias), computed for every step at once.
    var projectionWidth: Int { get }
    /// Values per row the cell keeps from each step for backward.
    var tapeWidth: Int { get }

    /// The input bias added to x·W, if any.
    func inputBias<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>]) -> UnsafePointer<T>?
    /// Scratch values per row that `step` needs.
    var workWidth: Int { get }
    /// h = cell(xw, hPrev); the tape receives tapeWidth values per row; `work` holds
    /// rows × workWidth values of scratch. With recurrent dropout (`masks`), each gate's
    /// recurrent product reads hPrev through that gate's mask (Keras's implementation 1).
    func step<T: Scalar>(rows: Int, xw: UnsafePointer<T>, hPrev: UnsafePointer<T>, h: UnsafeMutablePointer<T>,
                         tape: UnsafeMutablePointer<T>, work: UnsafeMutablePointer<T>, weights w: [UnsafeMutableBufferPointer<T>],
                         operands: RecurrentOperands<T>?, masks: RecurrentMaskRows<T>?)
    /// The recurrent kernel's blocks `step` multiplies (nil in `step`: multiply the weights as
    /// they are, for one row, allocating nothing), prepared once per call for `rows` rows.
    func forwardOperands<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>], rows: Int) -> RecurrentOperands<T>
    /// Scratch values per row that `stepBackward` needs.
    var backwardWorkWidth: Int { get }
    /// Values per row and step `stepBackward` records for the recurrent weights' gradients,
    /// which `addRecurrentGradients` takes over all steps at once after the recurrence (the
    /// recurrence runs in row ranges on several threads; the sums over rows must not).
    var recordWidth: Int { get }
    /// From dh (the loss's gradient with respect to h): dxw (rows × projectionWidth, overwritten),
    /// dhPrev (overwritten) and the step's record (rows × recordWidth); `work` holds
    /// rows × backwardWorkWidth values of scratch.
    func stepBackward<T: Scalar>(rows: Int, hPrev: UnsafePointer<T>, h: UnsafePointer<T>, tape: UnsafePointer<T>,
                                 dh: UnsafePointer<T>, dxw: UnsafeMutablePointer<T>, dhPrev: UnsafeMutablePointer<T>,
                                 record: UnsafeMutablePointer<T>, work: UnsafeMutablePointer<T>,
                                 weights w: [UnsafeMutableBufferPointer<T>], operands: RecurrentOperands<T>,
                                 masks: RecurrentMaskRows<T>?)
    /// Adds the recurrent kernel's (and recurrent bias's) gradients from `count` rows of all
    /// steps: the previous states, the records and dxw, each laid out step after step (the
    /// previous states through the gates' masks with recurrent dropout).
    func addRecurrentGradients<T: Scalar>(count: Int, hPrev: UnsafePointer<T>, records: UnsafePointer<T>,
                                          dxw: UnsafePointer<T>, gradients g: [UnsafeMutableBufferPointer<T>],
                                          masks: RecurrentGateMasks<T>?)
    /// The recurrent kernel's transposed blocks `stepBackward` multiplies, prepared once per backward.
    func backwardOperands<T: Scalar>(_ w: [UnsafeMutableBufferPointer<T>], rows: Int) -> RecurrentOperands<T>
    /// Adds the gradient of the input bias from dxw over `rows` rows.
    func addInputBiasGradient<T: Scalar>(rows: Int, dxw: UnsafePointer<T>, _ g: [UnsafeMutableBufferPointer<T>])
}

/// The weight blocks a recurrent cell multiplies at every step (B in C += A·B), prepared once per
/// call: packed for the float32 kernel when more than one row is multiplied (packing per step
/// cost more than the product), transposed copies owned here.
final class RecurrentOperands<T: Scalar> {
    struct Operand {
        let b: UnsafePointer<T>, ldb: Int, k: Int, n: Int
        let packed: UnsafeMutablePointer<Float>?
    }
    private(set) var operands: [Operand] = []
    private var owned: [UnsafeMutableBufferPointer<T>] = []
    let rows: Int

    init(rows: Int) { self.rows = rows }

    deinit {
        for o in operands { o.packed?.deallocate() }
        for b in owned { b.deallocate() }
    }

    /// Adds B [k×n] (rows ldb apart); returns its index.
    @discardableResult
    func add(_ b: UnsafePointer<T>, ldb: Int, k: Int, n: Int) -> Int {
        let packed = T.self == Float.self && rows > 1 ? kPacked(k, n, asFloat(b), ldb) : nil
        operands.append(Operand(b: b, ldb: ldb, k: k, n: n, packed: packed))
        return operands.count - 1
    }

    /// B_i as it was added (unpacked).
    func matrix(_ i: Int) -> UnsafePointer<T> { operands[i].b }

    /// src [rows × cols] (rows ld apart) transposed into memory owned here.
    func transposed(_ src: UnsafePointer<T>, rows r: Int, cols: Int, ld: Int) -> UnsafePointer<T> {
        let out = UnsafeMutableBufferPointer<T>.allocate(capacity: r * cols)
        for i in 0..<r { for j in 0..<cols { out[j * r + i] = src[i * ld + j] } }
        owned.append(out)
        return UnsafePointer(out.baseAddress!)
    }

    /// C[m×n] += A[m×k] · B_i, on the calling thread.
    @inline(__always)
    func multiply(_ i: Int, m: Int, _ a: UnsafePointer<T>, lda: Int, _ c: UnsafeMutablePointer<T>, ldc: Int) {
        let o = operands[i]
        if let packed = o.packed {
            kGemmPacked(m, o.n, o.k, asFloat(a), lda, packed, asFloat(c), ldc)
        } else {
            gemmNN(m, o.n, o.k, a, lda, o.b, o.ldb, c, ldc)
        }
    }
}

/// The states a stateful layer carries between calls for a batch: h (and c for LSTM), each
/// batch × units values.
public final class StateCarry<T: Scalar> {
    var states: [[T]]
    init(batch: Int, sizes: [Int]) { states = sizes.map { [T](repeating: 0, count: batch * $0) } }
    func reset() { for k in states.indices { states[k] = [T](repeating: 0, count: states[k].count) } }
}

/// What a recurrent forward keeps for backward: the input in processing order, the states
/// (step 0 is the initial state), the cell's tape, the input projection and recurrent
/// dropout's masks.
final class RecurrentTape<T: Scalar> {
    let batch: Int, steps: Int
    let xT: [T]
    var xw: [T]
    var h: [T]
    var tape: [T]
    let mask: Mask?
    let dropout: RecurrentGateMasks<T>?
    init(batch: Int, steps: Int, xT: [T], xw: [T], h: [T], tape: [T], mask: Mask?, dropout: RecurrentGateMasks<T>?) {
        self.batch = batch
        self.steps = steps
        self.mask = mask
        self.dropout = dropout
        self.xT = xT
        self.xw = xw
        self.h = h
        self.tape = tape
    }
}

/// The sequence machinery around a cell.
struct RecurrentRunner<Cell: RecurrentCell> {
    let cell: Cell
    let options: RecurrentOptions
    let name: String
    let kind: String

    var units: Int { cell.units }

    /// Checks the inputs a build sees: a sequence, then optionally the initial state.
    static func checkInputs(_ inputs: [SampleShape], units: Int, name: String, kind: String) throws -> (timesteps: Int?, features: Int) {
        guard let first = inputs.first, first.count == 2 else {
            let shown = inputs.first.map { LayerChecks.describe($0) } ?? "nothing"
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) needs 3-D input (batch, timesteps, features), but its input has shape \(shown)\(inputs.first?.count == 1 ? "; set return_sequences=true on the recurrent layer before it" : "")")
        }
        guard let features = first[1] else {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)): the last axis of its input \(LayerChecks.describe(first)) must have a known size")
        }
        guard inputs.count == 1 || inputs.count == 2 else {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)) takes a sequence and at most one initial state, got \(inputs.count) inputs")
        }
        if inputs.count == 2, inputs[1] != [units] {
            throw LSTMError.shapeMismatch("layer '\(name)' (\(kind)): its initial state has shape \(LayerChecks.describe(inputs[1])), expected (None, \(units))")
        }
        return (first[0], features)
    }

    func outputShapes(timesteps: Int?) -> [SampleShape] {
        let out: SampleShape = options.returnSequences ? [timesteps, units] : [units]
        return options.returnState ? [out, [units]] : [out]
    }

    /// The sequence output keeps the input's mask; the last output and the states have none.
    func outputMasks(_ masks: [Mask?]) -> [Mask?] {
        let first: Mask? = options.returnSequences ? (masks.first ?? nil) : nil
        return [first] + (options.returnState ? [nil] : [])
    }

    func outputShapes(for inputs: [[Int]]) -> [[Int]] {
        let b = inputs[0][0], n = inputs[0][1]
        let out = options.returnSequences ? [b, n, units] : [b, units]
        return options.returnState ? [out, [b, units]] : [out]
    }

    @inline(__always) func timestep(_ s: Int, of n: Int) -> Int { options.goBackwards ? n - 1 - s : s }

    /// The gates whose blocks make up the input projection (GRU 3, SimpleRNN 1).
    var gates: Int { cell.projectionWidth / units }

    func firstReal(_ mask: Mask, rows: Int, steps n: Int) -> [Int] { options.firstReal(mask, rows: rows, steps: n) }

    @inline(__always)
    func outputsState(_ mask: Mask?, _ first: [Int], _ r: Int, _ s: Int, _ n: Int) -> Bool {
        options.outputsState(mask, first, r, s, n)
    }

    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        let x = inputs[0]
        let rows = x.shape[0], n = x.shape[1], f = cell.features, u = units, pw = cell.projectionWidth
        var xT = [T](repeating: 0, count: n * rows * f)
        var xw = [T](repeating: 0, count: n * rows * pw)
        // Training keeps every step for backward; inference keeps the states only when it
        // returns them all, else two slabs in turn, and one step of the cell's tape (the
        // memory of a whole history costs page faults on every call).
        let keepHistory = context.training || options.returnSequences
        let slabs = keepHistory ? n + 1 : 2
        @inline(__always) func slab(_ s: Int) -> Int { keepHistory ? s : s % 2 }
        let tapeSteps = context.training ? n : 1
        var h = [T](repeating: 0, count: slabs * rows * u)
        var tape = [T](repeating: 0, count: tapeSteps * rows * cell.tapeWidth)
        let carry = context.carry as? StateCarry<T>
        let dropout = context.training && options.recurrentDropout > 0
            ? RecurrentGateMasks<T>(gates: gates, rows: rows, features: f, units: u, inputRate: options.dropout,
                                    recurrentRate: options.recurrentDropout, random: &context.random)
            : nil
        if inputs.count > 1 {
            h.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: inputs[1].values) }
        } else if let carry {
            h.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: carry.states[0]) }
        }
        x.values.withUnsafeBufferPointer { xv in
            xT.withUnsafeMutableBufferPointer { xt in
                for s in 0..<n {
                    let t = timestep(s, of: n)
                    for r in 0..<rows { (xt.baseAddress! + (s * rows + r) * f).update(from: xv.baseAddress! + (r * n + t) * f, count: f) }
                }
                xw.withUnsafeMutableBufferPointer { p in
                    setRows(n * rows, pw, cell.inputBias(w), p.baseAddress!)
                    let kernel = UnsafePointer(w[0].baseAddress!)
                    if let dropout, dropout.input != nil {
                        // Keras's implementation 1: each gate sees the input through its own mask.
                        dropout.forEachGate(of: UnsafePointer(xt.baseAddress!), steps: n, input: true) { g, xg in
                            gemmNN(n * rows, u, f, xg, f, kernel + g * u, pw, p.baseAddress! + g * u, pw)
                        }
                    } else {
                        gemmNN(n * rows, pw, f, xt.baseAddress!, f, kernel, pw, p.baseAddress!, pw)
                    }
                }
            }
        }
        let operands = cell.forwardOperands(w, rows: rows)
        let tw = cell.tapeWidth, ww = cell.workWidth, stepMask = context.mask
        xw.withUnsafeBufferPointer { xb in
            h.withUnsafeMutableBufferPointer { hbuf in
                tape.withUnsafeMutableBufferPointer { tbuf in
                    let p = xb.baseAddress!, hb = hbuf.baseAddress!, tb = tbuf.baseAddress!
                    // Each sample's recurrence is independent: large batches run in row ranges
                    // over threads, as the LSTM's do.
                    Parallel.forRows(rows, work: n * rows * u * pw) { r0, r1 in
                        let m = r1 - r0
                        let work = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, m * ww))
                        defer { work.deallocate() }
                        for s in 0..<n {
                            let hPrev = hb + slab(s) * rows * u, hNext = hb + slab(s + 1) * rows * u
                            cell.step(rows: m, xw: p + (s * rows + r0) * pw, hPrev: hPrev + r0 * u,
                                      h: hNext + r0 * u, tape: tb + ((tapeSteps == n ? s : 0) * rows + r0) * tw,
                                      work: work, weights: w, operands: operands,
                                      masks: dropout.map { RecurrentMaskRows(masks: $0, rows: r0..<r1) })
                            // A masked step keeps the state.
                            if let stepMask {
                                let t = timestep(s, of: n)
                                for r in r0..<r1 where !stepMask.isReal(r, t) {
                                    (hNext + r * u).update(from: hPrev + r * u, count: u)
                                }
                            }
                        }
                    }
                }
            }
        }
        let mask = context.mask
        let first = mask.map { firstReal($0, rows: rows, steps: n) } ?? []
        var out: Tensor<T>
        if options.returnSequences {
            out = Tensor(zeros: [rows, n, u])
            for s in 0..<n {
                for r in 0..<rows where outputsState(mask, first, r, s, n) {
                    for j in 0..<u { out.values[(r * n + s) * u + j] = h[(slab(s + 1) * rows + r) * u + j] }
                }
            }
        } else {
            out = Tensor(shape: [rows, u], values: Array(h[(slab(n) * rows * u)..<((slab(n) + 1) * rows * u)]))
            for r in 0..<rows where !outputsState(mask, first, r, n - 1, n) {
                for j in 0..<u { out.values[r * u + j] = 0 }
            }
        }
        let last = Array(h[(slab(n) * rows * u)..<((slab(n) + 1) * rows * u)])
        carry?.states[0] = last
        var outputs = [out]
        if options.returnState { outputs.append(Tensor(shape: [rows, u], values: last)) }
        if context.training {
            context.tape = RecurrentTape(batch: rows, steps: n, xT: xT, xw: xw, h: h, tape: tape, mask: mask, dropout: dropout)
        }
        return outputs
    }

    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputGradients: [Tensor<T>], weights w: [UnsafeMutableBufferPointer<T>],
                             gradients g: [UnsafeMutableBufferPointer<T>], tape anyTape: AnyObject?,
                             needInput: [Bool]) -> [Tensor<T>?] {
        guard let tp = anyTape as? RecurrentTape<T> else { return needInput.map { _ in nil } }
        let rows = tp.batch, n = tp.steps, f = cell.features, u = units, pw = cell.projectionWidth, tw = cell.tapeWidth
        // The gradient of the last state, then (after the loop) of the initial one.
        var dh = options.returnState ? outputGradients[1].values : [T](repeating: 0, count: rows * u)
        var dxw = [T](repeating: 0, count: n * rows * pw)
        let rw = cell.recordWidth
        var records = [T](repeating: 0, count: Swift.max(1, n * rows * rw))
        let dOut = outputGradients[0].values
        let operands = cell.backwardOperands(w, rows: rows)
        let mask = tp.mask
        let first = mask.map { firstReal($0, rows: rows, steps: n) } ?? []
        let bww = cell.backwardWorkWidth
        tp.h.withUnsafeBufferPointer { hbuf in
            tp.tape.withUnsafeBufferPointer { tbuf in
                dxw.withUnsafeMutableBufferPointer { dxbuf in
                    records.withUnsafeMutableBufferPointer { rbuf in
                        dOut.withUnsafeBufferPointer { obuf in
                            dh.withUnsafeMutableBufferPointer { dhbuf in
                                let hb = hbuf.baseAddress!, tb = tbuf.baseAddress!, dxb = dxbuf.baseAddress!
                                let rb = rbuf.baseAddress!, ob = obuf.baseAddress!, dhAll = dhbuf.baseAddress!
                                // Each sample's recurrence back in time is independent: row ranges over threads.
                                Parallel.forRows(rows, work: 2 * n * rows * u * pw) { r0, r1 in
                                    let m = r1 - r0
                                    let memory = UnsafeMutablePointer<T>.allocate(capacity: 3 * m * u + Swift.max(1, m * bww))
                                    defer { memory.deallocate() }
                                    var dhR = memory, dhPrev = memory + m * u
                                    let kept = memory + 2 * m * u, work = memory + 3 * m * u
                                    dhR.update(from: dhAll + r0 * u, count: m * u)
                                    for s in stride(from: n - 1, through: 0, by: -1) {
                                        for r in 0..<m where (options.returnSequences || s == n - 1)
                                            && outputsState(mask, first, r0 + r, s, n) {
                                            let src = options.returnSequences ? ob + ((r0 + r) * n + s) * u : ob + (r0 + r) * u
                                            for j in 0..<u { dhR[r * u + j] += src[j] }
                                        }
                                        // A masked row's state passed through this step unchanged: its
                                        // gradient goes on to the previous step as it is; the cell sees none.
                                        let t = timestep(s, of: n)
                                        if let mask {
                                            for r in 0..<m where !mask.isReal(r0 + r, t) {
                                                (kept + r * u).update(from: dhR + r * u, count: u)
                                                (dhR + r * u).update(repeating: 0, count: u)
                                            }
                                        }
                                        cell.stepBackward(rows: m, hPrev: hb + (s * rows + r0) * u, h: hb + ((s + 1) * rows + r0) * u,
                                                          tape: tb + (s * rows + r0) * tw, dh: dhR, dxw: dxb + (s * rows + r0) * pw,
                                                          dhPrev: dhPrev, record: rb + (s * rows + r0) * rw, work: work,
                                                          weights: w, operands: operands,
                                                          masks: tp.dropout.map { RecurrentMaskRows(masks: $0, rows: r0..<r1) })
                                        if let mask {
                                            for r in 0..<m where !mask.isReal(r0 + r, t) {
                                                (dhPrev + r * u).update(from: kept + r * u, count: u)
                                            }
                                        }
                                        swap(&dhR, &dhPrev)
                                    }
                                    (dhAll + r0 * u).update(from: dhR, count: m * u)
                                }
                                cell.addRecurrentGradients(count: n * rows, hPrev: hb, records: rb, dxw: dxb, gradients: g,
                                                           masks: tp.dropout)
                            }
                        }
                    }
                }
            }
        }
        // dh now holds the gradient of the initial state.
        var dX: Tensor<T>? = nil
        tp.xT.withUnsafeBufferPointer { xt in
            dxw.withUnsafeBufferPointer { dx in
                let inputMasks = tp.dropout.flatMap { $0.input != nil ? $0 : nil }
                if let inputMasks {
                    inputMasks.forEachGate(of: xt.baseAddress!, steps: n, input: true) { gate, xg in
                        gemmTN(f, u, n * rows, xg, f, dx.baseAddress! + gate * u, pw, g[0].baseAddress! + gate * u, pw)
                    }
                } else {
                    gemmTN(f, pw, n * rows, xt.baseAddress!, f, dx.baseAddress!, pw, g[0].baseAddress!, pw)
                }
                cell.addInputBiasGradient(rows: n * rows, dxw: dx.baseAddress!, g)
                guard needInput[0] else { return }
                let holder = RecurrentOperands<T>(rows: 0)
                let wT = holder.transposed(UnsafePointer(w[0].baseAddress!), rows: f, cols: pw, ld: pw)
                var dxT = [T](repeating: 0, count: n * rows * f)
                dxT.withUnsafeMutableBufferPointer { d in
                    withExtendedLifetime(holder) {
                        if let inputMasks {
                            inputMasks.addThroughMasks(dx.baseAddress!, kT: wT, steps: n, input: true, into: d.baseAddress!)
                        } else {
                            gemmNN(n * rows, f, pw, dx.baseAddress!, pw, wT, f, d.baseAddress!, f)
                        }
                    }
                }
                var out = Tensor<T>(zeros: [rows, n, f])
                for s in 0..<n {
                    let t = timestep(s, of: n)
                    for r in 0..<rows { for k in 0..<f { out.values[(r * n + t) * f + k] = dxT[(s * rows + r) * f + k] } }
                }
                dX = out
            }
        }
        var result: [Tensor<T>?] = [dX]
        if inputs.count > 1 { result.append(needInput[1] ? Tensor(shape: [rows, u], values: dh) : nil) }
        return result
    }

    // MARK: Streaming

    func checkStreamable() throws {
        if options.goBackwards {
            throw LSTMError.unsupported("layer '\(name)' has go_backwards=true: it reads the sequence from its end, so it cannot be run one timestep at a time")
        }
    }

    /// scratch: the projection, the cell's tape, its work.
    var stepScratchSize: Int { cell.projectionWidth + cell.tapeWidth + cell.workWidth }

    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights w: [UnsafeMutableBufferPointer<T>], state h: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        let pw = cell.projectionWidth, u = units
        setRows(1, pw, cell.inputBias(w), scratch)
        gemmNN(1, pw, cell.features, inputs[0], cell.features, UnsafePointer(w[0].baseAddress!), pw, scratch, pw)
        // The new state goes to the output first: step reads hPrev while it writes h.
        cell.step(rows: 1, xw: scratch, hPrev: h, h: outputs[0], tape: scratch + pw,
                  work: scratch + pw + cell.tapeWidth, weights: w, operands: nil, masks: nil)
        h.update(from: outputs[0], count: u)
        if outputs.count > 1 { outputs[1].update(from: h, count: u) }
    }
}

/// A recurrent layer built from a cell: everything but the cell's step is the runner's.
struct RecurrentLayer<Cell: RecurrentCell>: Layer {
    let timesteps: Int?
    let hasInitialState: Bool
    let runner: RecurrentRunner<Cell>

    var features: Int { runner.cell.features }
    var units: Int { runner.units }
    var spec: any LayerSpec { runner.cell.config }
    var inputShapes: [SampleShape] { [[timesteps, features]] + (hasInitialState ? [[units]] : []) }
    var outputShapes: [SampleShape] { runner.outputShapes(timesteps: timesteps) }
    var weights: [WeightSpec] { runner.cell.weights }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] { runner.cell.initialWeights(&rng) }
    func outputShapes(for inputs: [[Int]]) -> [[Int]] { runner.outputShapes(for: inputs) }
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] { runner.outputMasks(masks) }
    var carriedState: [Int] { runner.options.stateful ? [units] : [] }

    @_specialize(where T == Float, Cell == GRUCell)
    @_specialize(where T == Double, Cell == GRUCell)
    @_specialize(where T == Float, Cell == SimpleRNNCell)
    @_specialize(where T == Double, Cell == SimpleRNNCell)
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>] {
        runner.forward(inputs, weights: weights, context: &context)
    }

    @_specialize(where T == Float, Cell == GRUCell)
    @_specialize(where T == Double, Cell == GRUCell)
    @_specialize(where T == Float, Cell == SimpleRNNCell)
    @_specialize(where T == Double, Cell == SimpleRNNCell)
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?] {
        runner.backward(inputs, outputGradients: outputGradients, weights: weights, gradients: gradients, tape: tape,
                        needInput: needInput)
    }

    func checkStreamable() throws {
        try runner.checkStreamable()
        if hasInitialState {
            throw LSTMError.unsupported("layer '\(runner.name)' starts from an initial state given as an input: it cannot be run one timestep at a time")
        }
    }

    var streamStateSize: Int { units }
    var stepScratchSize: Int { runner.stepScratchSize }
    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>) { state.initialize(repeating: 0, count: units) }

    @_specialize(where T == Float, Cell == GRUCell)
    @_specialize(where T == Float, Cell == SimpleRNNCell)
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {
        runner.step(inputs, outputs: outputs, weights: weights, state: state, scratch: scratch)
    }
}
