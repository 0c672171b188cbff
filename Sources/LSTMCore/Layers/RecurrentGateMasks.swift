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
        func draws(_ count: Int, _ rate: Double) -> [T] {
            (0..<count).map { _ in random.uniform() >= rate ? T(1 / (1 - rate)) : 0 }
        }
        self.gates = gates
        self.rows = rows
        self.features = features
        self.units = units
        input = inputRate > 0 ? draws(gates * rows * features, inputRate) : nil
        recurrent = draws(gates * rows * units, recurrentRate)
    }

    func mask(input isInput: Bool) -> [T] { isInput ? input! : recurrent }

    /// For each gate g: `values` ([steps][rows][width], the layout of the recurrences' buffers)
    /// times gate g's mask of that width, passed to `body` (one scratch buffer, reused).
    func forEachGate(of values: UnsafePointer<T>, rows: Int, steps: Int, width: Int, input isInput: Bool,
                     _ body: (Int, UnsafePointer<T>) -> Void) {
        let m = mask(input: isInput)
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(steps * rows * width, 1))
        defer { scratch.deallocate() }
        for g in 0..<gates {
            for s in 0..<steps {
                for r in 0..<rows {
                    let src = values + (s * rows + r) * width, dst = scratch + (s * rows + r) * width
                    let mr = (g * rows + r) * width
                    for j in 0..<width { dst[j] = src[j] * m[mr + j] }
                }
            }
            body(g, UnsafePointer(scratch))
        }
    }

    /// The same for `count` rows of one step starting at row r0 (a thread's share of the batch).
    func forEachGate(ofRows values: UnsafePointer<T>, r0: Int, count: Int, rows: Int, width: Int,
                     _ body: (Int, UnsafePointer<T>) -> Void) {
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(count * width, 1))
        defer { scratch.deallocate() }
        for g in 0..<gates {
            for r in 0..<count {
                let mr = (g * rows + r0 + r) * width
                for j in 0..<width { scratch[r * width + j] = values[r * width + j] * recurrent[mr + j] }
            }
            body(g, UnsafePointer(scratch))
        }
    }

    /// into[r] += Σ_g r_g ⊙ (dz_g · U_gᵀ) for `count` rows from r0: the previous state's gradient.
    /// dz: count × (gates · units); uT: the recurrent kernel transposed, (gates · units) × units.
    func addThroughRecurrentMasks(dz: UnsafePointer<T>, uT: UnsafePointer<T>, r0: Int, count: Int, rows: Int,
                                  units u: Int, into: UnsafeMutablePointer<T>) {
        let width = gates * u
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(count * u, 1))
        defer { scratch.deallocate() }
        for g in 0..<gates {
            scratch.update(repeating: 0, count: count * u)
            gemmNN(count, u, u, dz + g * u, width, uT + g * u * u, u, scratch, u)
            for r in 0..<count {
                let mr = (g * rows + r0 + r) * u
                for j in 0..<u { into[r * u + j] += recurrent[mr + j] * scratch[r * u + j] }
            }
        }
    }

    /// into ([steps][rows][features]) += Σ_g m_g ⊙ (dZ_g · W_gᵀ): the input's gradient.
    /// dZ: [steps][rows][gates · units]; wT: the kernel transposed, (gates · units) × features.
    func addThroughInputMasks(dZ: UnsafePointer<T>, wT: UnsafePointer<T>, rows: Int, steps: Int, features f: Int,
                              units u: Int, into: UnsafeMutablePointer<T>) {
        let m = input!, width = gates * u, n = steps * rows
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: max(n * f, 1))
        defer { scratch.deallocate() }
        for g in 0..<gates {
            scratch.update(repeating: 0, count: n * f)
            gemmNN(n, f, u, dZ + g * u, width, wT + g * u * f, f, scratch, f)
            for k in 0..<n {
                let mr = (g * rows + k % rows) * f
                for j in 0..<f { into[k * f + j] += m[mr + j] * scratch[k * f + j] }
            }
        }
    }
}
