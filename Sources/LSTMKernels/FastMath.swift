/// Vectorized float32 exp, sigmoid and tanh, `lanes` (8, or 16 in the AVX-512 build) at a time.
/// libm's scalar tanhf/expf were a fifth of the sine job's time. Accuracy: a few ulp (tested against float64 in
/// KernelTests, for both builds).
///
/// exp: range reduction x = n·ln2 + r with ln2 split in two parts, a degree-6 polynomial for e^r
/// on |r| <= ln2/2 (the classic Cephes expf coefficients), and 2^n built in the exponent bits.
@_transparent
func expV(_ v: VF) -> VF {
    // Adding 1.5·2^23 rounds to an integer (to nearest even) and leaves it in the low mantissa
    // bits: both the rounding and the float-to-int conversion stay in vector registers.
    let magic = VF(repeating: 12_582_912)
    var x = v
    x.replace(with: VF(repeating: -87.3), where: x .< -87.3)
    x.replace(with: VF(repeating: 88.3), where: x .> 88.3)
    let shifted = fmaV(magic, x, VF(repeating: 1.44269504088896341))
    let n = shifted - magic
    x = fmaV(fmaV(x, n, VF(repeating: -0.693359375)), n, VF(repeating: 2.12194440e-4))
    let z = x * x
    var y = VF(repeating: 1.9875691500e-4)
    y = fmaV(VF(repeating: 1.3981999507e-3), y, x)
    y = fmaV(VF(repeating: 8.3334519073e-3), y, x)
    y = fmaV(VF(repeating: 4.1665795894e-2), y, x)
    y = fmaV(VF(repeating: 1.6666665459e-1), y, x)
    y = fmaV(VF(repeating: 5.0000001201e-1), y, x)
    y = fmaV(x + 1, y, z)
    let bits = unsafeBitCast(shifted, to: VU.self) &- unsafeBitCast(magic, to: VU.self)
    return y * unsafeBitCast((bits &+ 127) &<< 23, to: VF.self)
}

@_transparent
func sigmoidV(_ x: VF) -> VF {
    1 / (1 + expV(-x))
}

/// tanh: an odd polynomial below |x| = 0.625 (where 1 - 2/(e^2x + 1) would lose relative
/// accuracy), the exponential form above.
@_transparent  // always inlined: independent calls then overlap in the pipeline
func tanhV(_ x: VF) -> VF {
    let ax = unsafeBitCast(unsafeBitCast(x, to: VU.self) & 0x7fff_ffff, to: VF.self)
    let big = 1 - 2 / (expV(2 * ax) + 1)
    let z = x * x
    var p = VF(repeating: -5.70498872745e-3)
    p = fmaV(VF(repeating: 2.06390887954e-2), p, z)
    p = fmaV(VF(repeating: -5.37397155531e-2), p, z)
    p = fmaV(VF(repeating: 1.33314422036e-1), p, z)
    p = fmaV(VF(repeating: -3.33332819422e-1), p, z)
    let small = fmaV(x, p * z, x)
    var r = big
    r.replace(with: -big, where: x .< 0)
    r.replace(with: small, where: ax .< 0.625)
    return r
}

/// sigmoid on n floats in place.
@inline(never)
public func applySigmoid(_ p: UnsafeMutablePointer<Float>, _ n: Int) { applyFast(p, n, tanh: false) }

/// tanh on n floats in place.
@inline(never)
public func applyTanh(_ p: UnsafeMutablePointer<Float>, _ n: Int) { applyFast(p, n, tanh: true) }

/// sigmoid / tanh on n floats in place, a vector at a time (the tail padded).
@inline(__always)
func applyFast(_ p: UnsafeMutablePointer<Float>, _ n: Int, tanh: Bool) {
    var i = 0
    while i + lanes <= n {
        let raw = UnsafeMutableRawPointer(p + i)
        let v = raw.loadUnaligned(as: VF.self)
        raw.storeBytes(of: tanh ? tanhV(v) : sigmoidV(v), as: VF.self)
        i += lanes
    }
    if i < n {
        var v = VF()
        for k in 0..<(n - i) { v[k] = p[i + k] }
        v = tanh ? tanhV(v) : sigmoidV(v)
        for k in 0..<(n - i) { p[i + k] = v[k] }
    }
}
