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
        if u < lanes {
            forwardLanes(u, 0, u, zr, pr, cr, ar, hr)
            continue
        }
        // The last `lanes` units (overlapping the full vectors when u is not a multiple) are
        // computed first, from the untouched inputs, and stored last: no lane-by-lane tail.
        let tail = forwardVectors(u, u - lanes, zr, pr)
        var j = 0
        while j + lanes <= u {
            storeForward(forwardVectors(u, j, zr, pr), u, j, zr, cr, ar, hr)
            j += lanes
        }
        storeForward(tail, u, u - lanes, zr, cr, ar, hr)
    }
}

/// Gates, c, a and h for the 8 units from j.
@_transparent
private func forwardVectors(_ u: Int, _ j: Int, _ zr: UnsafeMutablePointer<Float>, _ pr: UnsafePointer<Float>?)
    -> (VF, VF, VF, VF, VF, VF, VF) {
    let iG = sigmoidV(loadV(zr + j)), fG = sigmoidV(loadV(zr + u + j))
    let cG = tanhV(loadV(zr + 2 * u + j)), oG = sigmoidV(loadV(zr + 3 * u + j))
    var cV = iG * cG
    if let pr { cV = fmaV(cV, fG, loadV(pr + j)) }
    let aV = tanhV(cV)
    return (iG, fG, cG, oG, cV, aV, oG * aV)
}

@inline(__always)
private func storeForward(_ v: (VF, VF, VF, VF, VF, VF, VF), _ u: Int, _ j: Int, _ zr: UnsafeMutablePointer<Float>,
                          _ cr: UnsafeMutablePointer<Float>, _ ar: UnsafeMutablePointer<Float>,
                          _ hr: UnsafeMutablePointer<Float>) {
    storeV(v.0, zr + j); storeV(v.1, zr + u + j); storeV(v.2, zr + 2 * u + j); storeV(v.3, zr + 3 * u + j)
    storeV(v.4, cr + j); storeV(v.5, ar + j); storeV(v.6, hr + j)
}

/// The same for `w` (< 8) units from j, lane by lane at the edges.
@inline(__always)
private func forwardLanes(_ u: Int, _ j: Int, _ w: Int, _ zr: UnsafeMutablePointer<Float>, _ pr: UnsafePointer<Float>?,
                          _ cr: UnsafeMutablePointer<Float>, _ ar: UnsafeMutablePointer<Float>,
                          _ hr: UnsafeMutablePointer<Float>) {
    let iG = sigmoidV(loadPartialV(zr + j, w)), fG = sigmoidV(loadPartialV(zr + u + j, w))
    let cG = tanhV(loadPartialV(zr + 2 * u + j, w)), oG = sigmoidV(loadPartialV(zr + 3 * u + j, w))
    var cV = iG * cG
    if let pr { cV = fmaV(cV, fG, loadPartialV(pr + j, w)) }
    let aV = tanhV(cV)
    storePartialV(iG, zr + j, w); storePartialV(fG, zr + u + j, w)
    storePartialV(cG, zr + 2 * u + j, w); storePartialV(oG, zr + 3 * u + j, w)
    storePartialV(cV, cr + j, w); storePartialV(aV, ar + j, w); storePartialV(oG * aV, hr + j, w)
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
        if u < lanes {
            let v = backwardVectors(u, 0, u, gr, ar, pr, dhr, dcr)
            storePartialV(v.0, dzr, u); storePartialV(v.1, dzr + u, u); storePartialV(v.2, dzr + 2 * u, u)
            storePartialV(v.3, dzr + 3 * u, u); storePartialV(v.4, dcr, u)
            continue
        }
        // As in forward: the last `lanes` units first (dc is read and written), stored last.
        let tail = backwardVectors(u, u - lanes, lanes, gr, ar, pr, dhr, dcr)
        var j = 0
        while j + lanes <= u {
            storeBackward(backwardVectors(u, j, lanes, gr, ar, pr, dhr, dcr), u, j, dzr, dcr)
            j += lanes
        }
        storeBackward(tail, u, u - lanes, dzr, dcr)
    }
}

@_transparent
private func backwardVectors(_ u: Int, _ j: Int, _ w: Int, _ gr: UnsafePointer<Float>, _ ar: UnsafePointer<Float>,
                             _ pr: UnsafePointer<Float>?, _ dhr: UnsafePointer<Float>, _ dcr: UnsafePointer<Float>)
    -> (VF, VF, VF, VF, VF) {
    let one = VF(repeating: 1)
    let iG = loadPartialV(gr + j, w), fG = loadPartialV(gr + u + j, w)
    let cG = loadPartialV(gr + 2 * u + j, w), oG = loadPartialV(gr + 3 * u + j, w)
    let aV = loadPartialV(ar + j, w), dhV = loadPartialV(dhr + j, w)
    let dcV = fmaV(loadPartialV(dcr + j, w), dhV * oG, one - aV * aV)
    let cp = pr.map { loadPartialV($0 + j, w) } ?? VF()
    return (dcV * cG * iG * (one - iG), dcV * cp * fG * (one - fG), dcV * iG * (one - cG * cG),
            dhV * aV * oG * (one - oG), dcV * fG)
}

@inline(__always)
private func storeBackward(_ v: (VF, VF, VF, VF, VF), _ u: Int, _ j: Int, _ dzr: UnsafeMutablePointer<Float>,
                           _ dcr: UnsafeMutablePointer<Float>) {
    storeV(v.0, dzr + j); storeV(v.1, dzr + u + j); storeV(v.2, dzr + 2 * u + j); storeV(v.3, dzr + 3 * u + j)
    storeV(v.4, dcr + j)
}
