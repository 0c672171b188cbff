/// The GRU cell's elementwise work for Keras 3's defaults (reset_after, sigmoid gates, tanh
/// candidate), fused so that each value is loaded once. Blocks z (update), r (reset), h
/// (candidate) are `units` wide; the pre-activation rows xw and rec are `3·units` apart, the tape
/// rows `4·units` (z, r, hh, rec_h), the state rows `units`. No output aliases an input, so the
/// last vector of a row is simply computed again over the full lanes instead of lane by lane.

/// Forward: xw = x·W + b_in, rec = hPrev·U + b_rec. Writes the tape and
/// h = z⊙hPrev + (1−z)⊙hh with z = σ(xw_z + rec_z), r = σ(xw_r + rec_r), hh = tanh(xw_h + r⊙rec_h).
@inline(never)
public func gruCellForward(rows: Int, units u: Int, xw: UnsafePointer<Float>, rec: UnsafePointer<Float>,
                           hPrev: UnsafePointer<Float>, tape: UnsafeMutablePointer<Float>,
                           h: UnsafeMutablePointer<Float>) {
    let g3 = 3 * u, g4 = 4 * u
    for r in 0..<rows {
        let x = xw + r * g3, rc = rec + r * g3, hp = hPrev + r * u, t = tape + r * g4, hr = h + r * u
        if u < lanes { forwardVector(PartialVector.self, u, 0, u, x, rc, hp, t, hr); continue }
        var j = 0
        while j + lanes <= u { forwardVector(FullVector.self, u, j, lanes, x, rc, hp, t, hr); j += lanes }
        if j < u { forwardVector(FullVector.self, u, u - lanes, lanes, x, rc, hp, t, hr) }
    }
}

/// Backward through one step, from the tape, hPrev and dL/dh: writes dL/d(xw) (dxw, rows 3·units
/// apart), dL/d(rec) (record, rows 3·units apart: the gradient of hPrev·U + b_rec) and the
/// direct share of dL/dhPrev (dhPrev = dh⊙z; the share through U is the caller's product).
@inline(never)
public func gruCellBackward(rows: Int, units u: Int, tape: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
                            dh: UnsafePointer<Float>, dxw: UnsafeMutablePointer<Float>,
                            record: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
    let g3 = 3 * u, g4 = 4 * u
    for r in 0..<rows {
        let t = tape + r * g4, hp = hPrev + r * u, d = dh + r * u
        let dx = dxw + r * g3, dr = record + r * g3, dp = dhPrev + r * u
        if u < lanes { backwardVector(PartialVector.self, u, 0, u, t, hp, d, dx, dr, dp); continue }
        var j = 0
        while j + lanes <= u { backwardVector(FullVector.self, u, j, lanes, t, hp, d, dx, dr, dp); j += lanes }
        if j < u { backwardVector(FullVector.self, u, u - lanes, lanes, t, hp, d, dx, dr, dp) }
    }
}

/// The `lanes` (or, when u < lanes, w) units from j of one row.
@inline(__always)
private func forwardVector<V: VectorAccess>(_: V.Type, _ u: Int, _ j: Int, _ w: Int, _ x: UnsafePointer<Float>, _ rc: UnsafePointer<Float>,
                           _ hp: UnsafePointer<Float>, _ t: UnsafeMutablePointer<Float>, _ hr: UnsafeMutablePointer<Float>) {
    let z = sigmoidV(V.load(x + j, w) + V.load(rc + j, w))
    let rg = sigmoidV(V.load(x + u + j, w) + V.load(rc + u + j, w))
    let recH = V.load(rc + 2 * u + j, w)
    let hh = tanhV(fmaV(V.load(x + 2 * u + j, w), rg, recH))
    V.store(z, t + j, w); V.store(rg, t + u + j, w)
    V.store(hh, t + 2 * u + j, w); V.store(recH, t + 3 * u + j, w)
    V.store(fmaV(hh, z, V.load(hp + j, w) - hh), hr + j, w)
}

@inline(__always)
private func backwardVector<V: VectorAccess>(_: V.Type, _ u: Int, _ j: Int, _ w: Int, _ t: UnsafePointer<Float>, _ hp: UnsafePointer<Float>,
                            _ d: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                            _ dr: UnsafeMutablePointer<Float>, _ dp: UnsafeMutablePointer<Float>) {
    let one = VF(repeating: 1)
    let z = V.load(t + j, w), rg = V.load(t + u + j, w)
    let hh = V.load(t + 2 * u + j, w), recH = V.load(t + 3 * u + j, w)
    let dV = V.load(d + j, w)
    let dz = dV * (V.load(hp + j, w) - hh) * z * (one - z)
    let da = dV * (one - z) * (one - hh * hh)
    let dR = da * recH * rg * (one - rg)
    V.store(dz, dx + j, w); V.store(dR, dx + u + j, w); V.store(da, dx + 2 * u + j, w)
    V.store(dz, dr + j, w); V.store(dR, dr + u + j, w); V.store(da * rg, dr + 2 * u + j, w)
    V.store(dV * z, dp + j, w)
}

/// How the row helpers above load and store: whole vectors (the only kind in the main loop,
/// so that the compiler keeps every value in registers), or the first w lanes of one (units < lanes).
private protocol VectorAccess {
    static func load(_ p: UnsafePointer<Float>, _ w: Int) -> VF
    static func store(_ v: VF, _ p: UnsafeMutablePointer<Float>, _ w: Int)
}

private enum FullVector: VectorAccess {
    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ w: Int) -> VF { loadV(p) }
    @inline(__always) static func store(_ v: VF, _ p: UnsafeMutablePointer<Float>, _ w: Int) { storeV(v, p) }
}

private enum PartialVector: VectorAccess {
    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ w: Int) -> VF { loadPartialV(p, w) }
    @inline(__always) static func store(_ v: VF, _ p: UnsafeMutablePointer<Float>, _ w: Int) { storePartialV(v, p, w) }
}
