/// The GRU cell's elementwise work for Keras 3's defaults (reset_after, sigmoid gates, tanh
/// candidate), fused so that each value is loaded once. Blocks z (update), r (reset), h
/// (candidate) are `units` wide; the pre-activation rows xw and rec are `3·units` apart, the tape
/// rows `4·units` (z, r, hh, rec_h), the state rows `units`. No output aliases an input, so the
/// last 8 units of a row are simply computed again over the full vectors instead of lane by lane.

/// Forward: xw = x·W + b_in, rec = hPrev·U + b_rec. Writes the tape and
/// h = z⊙hPrev + (1−z)⊙hh with z = σ(xw_z + rec_z), r = σ(xw_r + rec_r), hh = tanh(xw_h + r⊙rec_h).
@inline(never)
public func gruCellForward(rows: Int, units u: Int, xw: UnsafePointer<Float>, rec: UnsafePointer<Float>,
                           hPrev: UnsafePointer<Float>, tape: UnsafeMutablePointer<Float>,
                           h: UnsafeMutablePointer<Float>) {
    let g3 = 3 * u, g4 = 4 * u
    for r in 0..<rows {
        let x = xw + r * g3, rc = rec + r * g3, hp = hPrev + r * u, t = tape + r * g4, hr = h + r * u
        forEachVector(u) { j, w in
            let z = sigmoid8(loadPartial8(x + j, w) + loadPartial8(rc + j, w))
            let rg = sigmoid8(loadPartial8(x + u + j, w) + loadPartial8(rc + u + j, w))
            let recH = loadPartial8(rc + 2 * u + j, w)
            let hh = tanh8(fma8(loadPartial8(x + 2 * u + j, w), rg, recH))
            storePartial8(z, t + j, w); storePartial8(rg, t + u + j, w)
            storePartial8(hh, t + 2 * u + j, w); storePartial8(recH, t + 3 * u + j, w)
            storePartial8(fma8(hh, z, loadPartial8(hp + j, w) - hh), hr + j, w)
        }
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
    let one = V8(repeating: 1)
    for r in 0..<rows {
        let t = tape + r * g4, hp = hPrev + r * u, d = dh + r * u
        let dx = dxw + r * g3, dr = record + r * g3, dp = dhPrev + r * u
        forEachVector(u) { j, w in
            let z = loadPartial8(t + j, w), rg = loadPartial8(t + u + j, w)
            let hh = loadPartial8(t + 2 * u + j, w), recH = loadPartial8(t + 3 * u + j, w)
            let dV = loadPartial8(d + j, w)
            let dz = dV * (loadPartial8(hp + j, w) - hh) * z * (one - z)
            let da = dV * (one - z) * (one - hh * hh)
            let dR = da * recH * rg * (one - rg)
            storePartial8(dz, dx + j, w); storePartial8(dR, dx + u + j, w); storePartial8(da, dx + 2 * u + j, w)
            storePartial8(dz, dr + j, w); storePartial8(dR, dr + u + j, w); storePartial8(da * rg, dr + 2 * u + j, w)
            storePartial8(dV * z, dp + j, w)
        }
    }
}

/// Calls body(j, width) over a row of u units in vectors of 8: width 8 everywhere when u ≥ 8 (the
/// last vector starts at u − 8, overlapping the one before when u is not a multiple of 8), one
/// partial vector of width u otherwise. Only for kernels whose outputs do not alias their inputs.
@inline(__always)
private func forEachVector(_ u: Int, _ body: (Int, Int) -> Void) {
    if u < 8 { body(0, u); return }
    var j = 0
    while j + 8 <= u { body(j, 8); j += 8 }
    if j < u { body(u - 8, 8) }
}
