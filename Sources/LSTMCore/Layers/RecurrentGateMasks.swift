/// Recurrent dropout as Keras 3 does it (its cells' implementation 1, which recurrent_dropout
/// switches on): one keep-and-scale mask per gate for the previous state and, with dropout, one
/// per gate for the input, drawn once per batch and kept over its steps. Each gate's products
/// then read their operand through that gate's mask: z_g = (x ⊙ m_g)·W_g + (h ⊙ r_g)·U_g + b_g.
final class RecurrentGateMasks<T: Scalar> {
    let gates: Int, rows: Int, features: Int, units: Int
    /// [gates][rows][features], nil without input dropout.
    let input: [T]?
    /// [gates][rows][units].
    let recurrent: [T]

    init(gates: Int, rows: Int, features: Int, units: Int, inputRate: Double, recurrentRate: Double,
         random: inout SeededRandom) {
        self.gates = gates
        self.rows = rows
        self.features = features
        self.units = units
        input = inputRate > 0 ? random.dropoutMask(gates * rows * features, rate: inputRate) : nil
        recurrent = random.dropoutMask(gates * rows * units, rate: recurrentRate)
    }

    func mask(input isInput: Bool) -> [T] { isInput ? input! : recurrent }

    /// For each gate g: `values` times gate g's mask (the input's, of `features` per row, or the
    /// previous state's, of `units`), passed to `body` (one scratch buffer, reused). `values`
    /// is laid out as the recurrences' buffers are: [steps][rows of `rowRange`][width], where
    /// `rowRange` (all rows by default) is a thread's share of the batch.
    func forEachGate(of values: UnsafePointer<T>, steps: Int = 1, rows rowRange: Range<Int>? = nil, input isInput: Bool,
                     _ body: (Int, UnsafePointer<T>) -> Void) {
        let m = mask(input: isInput), width = isInput ? features : units
        let range = rowRange ?? 0..<rows, count = range.count
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(steps * count * width, 1))
        defer { scratch.deallocate() }
        for g in 0..<gates {
            for s in 0..<steps {
                for r in 0..<count {
                    let k = (s * count + r) * width, mr = (g * rows + range.lowerBound + r) * width
                    for j in 0..<width { scratch[k + j] = values[k + j] * m[mr + j] }
                }
            }
            body(g, UnsafePointer(scratch))
        }
    }

    /// into += Σ_g mask_g ⊙ (d_g · K_gᵀ) over `gateRange` (all gates by default): the gradient
    /// of the masked operand (the input, or the previous state) from that of the gate
    /// pre-activations. d: [steps][rows of `rowRange`][gates · units] (rows `ldd` apart when
    /// given); kT: the kernel (input) or recurrent kernel transposed, (gates · units) × width;
    /// into: [steps][rows of `rowRange`][width].
    func addThroughMasks(_ d: UnsafePointer<T>, ldd: Int? = nil, kT: UnsafePointer<T>, gates gateRange: Range<Int>? = nil,
                         steps: Int = 1, rows rowRange: Range<Int>? = nil, input isInput: Bool,
                         into: UnsafeMutablePointer<T>) {
        let m = mask(input: isInput), width = isInput ? features : units, u = units
        let range = rowRange ?? 0..<rows, count = range.count, n = steps * count
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(n * width, 1))
        defer { scratch.deallocate() }
        for g in gateRange ?? 0..<gates {
            scratch.update(repeating: 0, count: n * width)
            gemmNN(n, width, u, d + g * u, ldd ?? gates * u, kT + g * u * width, width, scratch, width)
            for k in 0..<n {
                let mr = (g * rows + range.lowerBound + k % count) * width
                for j in 0..<width { into[k * width + j] += m[mr + j] * scratch[k * width + j] }
            }
        }
    }
}

/// One thread's rows of recurrent dropout's masks, as a recurrent cell's step sees them: the
/// previous state of rows `rows` of the batch, gate by gate.
struct RecurrentMaskRows<T: Scalar> {
    let masks: RecurrentGateMasks<T>
    let rows: Range<Int>

    /// For each gate: the previous state (this share's rows) times that gate's mask.
    func forEachGate(of hPrev: UnsafePointer<T>, _ body: (Int, UnsafePointer<T>) -> Void) {
        masks.forEachGate(of: hPrev, rows: rows, input: false, body)
    }

    /// The mask gate `gate` multiplies unit j of this share's row r by.
    @inline(__always) func factor(gate: Int, row r: Int, unit j: Int) -> T {
        masks.recurrent[(gate * masks.rows + rows.lowerBound + r) * masks.units + j]
    }

    /// dhPrev += Σ_g r_g ⊙ (d_g · U_gᵀ) over `gates`: d's rows are `ldd` apart, uT is the
    /// recurrent kernel transposed.
    func addThroughMasks(_ d: UnsafePointer<T>, ldd: Int, uT: UnsafePointer<T>, gates: Range<Int>? = nil,
                         into dhPrev: UnsafeMutablePointer<T>) {
        masks.addThroughMasks(d, ldd: ldd, kT: uT, gates: gates, rows: rows, input: false, into: dhPrev)
    }
}
