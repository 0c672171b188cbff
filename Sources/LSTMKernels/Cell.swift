/// The LSTM cell's elementwise work for Keras's default activations (sigmoid gates, tanh
/// candidate and output), fused so that each value is loaded once. Gate blocks are i, f, c, o,
/// each `units` wide, rows `4·units` apart; states are rows `units` apart.

/// Forward: z holds the pre-activations and receives the activated gates (kept for backward);
/// c = f⊙cPrev + i⊙g (cPrev nil: zero state; it may be the same buffer as c), a = tanh(c),
/// h = o⊙a.
@inline(never)
public func lstmCellForward(rows: Int, units u: Int, z: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>?,
                            c: UnsafeMutablePointer<Float>, a: UnsafeMutablePointer<Float>,
                            h: UnsafeMutablePointer<Float>) {
    let g4 = 4 * u
    for r in 0..<rows {
        let zr = z + r * g4, cr = c + r * u, ar = a + r * u, hr = h + r * u
        let pr = cPrev.map { $0 + r * u }
        // Narrow units: one partial vector.
        if u < 8 {
            forwardLanes(u, 0, u, zr, pr, cr, ar, hr)
            continue
        }
        // The last 8 units (overlapping the full vectors when u is not a multiple of 8) are
        // computed first, from the untouched inputs, and stored last: no lane-by-lane tail.
        let tail = forwardVectors(u, u - 8, zr, pr)
        var j = 0
        while j + 8 <= u {
            storeForward(forwardVectors(u, j, zr, pr), u, j, zr, cr, ar, hr)
            j += 8
        }
        storeForward(tail, u, u - 8, zr, cr, ar, hr)
    }
}

/// Gates, c, a and h for the 8 units from j.
@_transparent
private func forwardVectors(_ u: Int, _ j: Int, _ zr: UnsafeMutablePointer<Float>, _ pr: UnsafePointer<Float>?)
    -> (V8, V8, V8, V8, V8, V8, V8) {
    let iG = sigmoid8(load8(zr + j)), fG = sigmoid8(load8(zr + u + j))
    let cG = tanh8(load8(zr + 2 * u + j)), oG = sigmoid8(load8(zr + 3 * u + j))
    var cV = iG * cG
    if let pr { cV = fma8(cV, fG, load8(pr + j)) }
    let aV = tanh8(cV)
    return (iG, fG, cG, oG, cV, aV, oG * aV)
}

@inline(__always)
private func storeForward(_ v: (V8, V8, V8, V8, V8, V8, V8), _ u: Int, _ j: Int, _ zr: UnsafeMutablePointer<Float>,
                          _ cr: UnsafeMutablePointer<Float>, _ ar: UnsafeMutablePointer<Float>,
                          _ hr: UnsafeMutablePointer<Float>) {
    store8(v.0, zr + j); store8(v.1, zr + u + j); store8(v.2, zr + 2 * u + j); store8(v.3, zr + 3 * u + j)
    store8(v.4, cr + j); store8(v.5, ar + j); store8(v.6, hr + j)
}

/// The same for `w` (< 8) units from j, lane by lane at the edges.
@inline(__always)
private func forwardLanes(_ u: Int, _ j: Int, _ w: Int, _ zr: UnsafeMutablePointer<Float>, _ pr: UnsafePointer<Float>?,
                          _ cr: UnsafeMutablePointer<Float>, _ ar: UnsafeMutablePointer<Float>,
                          _ hr: UnsafeMutablePointer<Float>) {
    let iG = sigmoid8(loadPartial8(zr + j, w)), fG = sigmoid8(loadPartial8(zr + u + j, w))
    let cG = tanh8(loadPartial8(zr + 2 * u + j, w)), oG = sigmoid8(loadPartial8(zr + 3 * u + j, w))
    var cV = iG * cG
    if let pr { cV = fma8(cV, fG, loadPartial8(pr + j, w)) }
    let aV = tanh8(cV)
    storePartial8(iG, zr + j, w); storePartial8(fG, zr + u + j, w)
    storePartial8(cG, zr + 2 * u + j, w); storePartial8(oG, zr + 3 * u + j, w)
    storePartial8(cV, cr + j, w); storePartial8(aV, ar + j, w); storePartial8(oG * aV, hr + j, w)
}

/// Backward through one step: from the activated gates, a = tanh(c), the previous cell state
/// (nil: zero), dL/dh and the running dL/dc, writes dL/dz (the gate pre-activations) and
/// replaces dc by the gradient flowing to the previous step's cell state.
@inline(never)
public func lstmCellBackward(rows: Int, units u: Int, gates: UnsafePointer<Float>, a: UnsafePointer<Float>,
                             cPrev: UnsafePointer<Float>?, dh: UnsafePointer<Float>,
                             dc: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>) {
    let g4 = 4 * u
    for r in 0..<rows {
        let gr = gates + r * g4, dzr = dz + r * g4
        let ar = a + r * u, dhr = dh + r * u, dcr = dc + r * u
        let pr = cPrev.map { $0 + r * u }
        if u < 8 {
            let v = backwardVectors(u, 0, u, gr, ar, pr, dhr, dcr)
            storePartial8(v.0, dzr, u); storePartial8(v.1, dzr + u, u); storePartial8(v.2, dzr + 2 * u, u)
            storePartial8(v.3, dzr + 3 * u, u); storePartial8(v.4, dcr, u)
            continue
        }
        // As in forward: the last 8 units first (dc is read and written), stored last.
        let tail = backwardVectors(u, u - 8, 8, gr, ar, pr, dhr, dcr)
        var j = 0
        while j + 8 <= u {
            storeBackward(backwardVectors(u, j, 8, gr, ar, pr, dhr, dcr), u, j, dzr, dcr)
            j += 8
        }
        storeBackward(tail, u, u - 8, dzr, dcr)
    }
}

@_transparent
private func backwardVectors(_ u: Int, _ j: Int, _ w: Int, _ gr: UnsafePointer<Float>, _ ar: UnsafePointer<Float>,
                             _ pr: UnsafePointer<Float>?, _ dhr: UnsafePointer<Float>, _ dcr: UnsafePointer<Float>)
    -> (V8, V8, V8, V8, V8) {
    let one = V8(repeating: 1)
    let iG = loadPartial8(gr + j, w), fG = loadPartial8(gr + u + j, w)
    let cG = loadPartial8(gr + 2 * u + j, w), oG = loadPartial8(gr + 3 * u + j, w)
    let aV = loadPartial8(ar + j, w), dhV = loadPartial8(dhr + j, w)
    let dcV = fma8(loadPartial8(dcr + j, w), dhV * oG, one - aV * aV)
    let cp = pr.map { loadPartial8($0 + j, w) } ?? V8()
    return (dcV * cG * iG * (one - iG), dcV * cp * fG * (one - fG), dcV * iG * (one - cG * cG),
            dhV * aV * oG * (one - oG), dcV * fG)
}

@inline(__always)
private func storeBackward(_ v: (V8, V8, V8, V8, V8), _ u: Int, _ j: Int, _ dzr: UnsafeMutablePointer<Float>,
                           _ dcr: UnsafeMutablePointer<Float>) {
    store8(v.0, dzr + j); store8(v.1, dzr + u + j); store8(v.2, dzr + 2 * u + j); store8(v.3, dzr + 3 * u + j)
    store8(v.4, dcr + j)
}
