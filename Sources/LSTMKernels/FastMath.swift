/// Vectorized float32 exp, sigmoid and tanh, 8 lanes at a time. libm's scalar tanhf/expf were
/// a fifth of the sine job's time. Accuracy: a few ulp (tested against float64 in
/// KernelTests, for both builds).
///
/// exp: range reduction x = n·ln2 + r with ln2 split in two parts, a degree-6 polynomial for e^r
/// on |r| <= ln2/2 (the classic Cephes expf coefficients), and 2^n built in the exponent bits.
@_transparent
func exp8(_ v: SIMD8<Float>) -> SIMD8<Float> {
    // Adding 1.5·2^23 rounds to an integer (to nearest even) and leaves it in the low mantissa
    // bits: both the rounding and the float-to-int conversion stay in vector registers.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    var x = v
    x.replace(with: SIMD8(repeating: -87.3), where: x .< -87.3)
    x.replace(with: SIMD8(repeating: 88.3), where: x .> 88.3)
    let shifted = fma8(magic, x, V8(repeating: 1.44269504088896341))
    let n = shifted - magic
    x = fma8(fma8(x, n, V8(repeating: -0.693359375)), n, V8(repeating: 2.12194440e-4))
    let z = x * x
    var y = V8(repeating: 1.9875691500e-4)
    y = fma8(V8(repeating: 1.3981999507e-3), y, x)
    y = fma8(V8(repeating: 8.3334519073e-3), y, x)
    y = fma8(V8(repeating: 4.1665795894e-2), y, x)
    y = fma8(V8(repeating: 1.6666665459e-1), y, x)
    y = fma8(V8(repeating: 5.0000001201e-1), y, x)
    y = fma8(x + 1, y, z)
    let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- unsafeBitCast(magic, to: SIMD8<UInt32>.self)
    return y * unsafeBitCast((bits &+ 127) &<< 23, to: SIMD8<Float>.self)
}

@_transparent
func sigmoid8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + exp8(-x))
}

/// tanh: an odd polynomial below |x| = 0.625 (where 1 - 2/(e^2x + 1) would lose relative
/// accuracy), the exponential form above.
@_transparent  // always inlined: independent calls then overlap in the pipeline
func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: SIMD8<Float>.self)
    let big = 1 - 2 / (exp8(2 * ax) + 1)
    let z = x * x
    var p = V8(repeating: -5.70498872745e-3)
    p = fma8(V8(repeating: 2.06390887954e-2), p, z)
    p = fma8(V8(repeating: -5.37397155531e-2), p, z)
    p = fma8(V8(repeating: 1.33314422036e-1), p, z)
    p = fma8(V8(repeating: -3.33332819422e-1), p, z)
    let small = fma8(x, p * z, x)
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

/// sigmoid / tanh on n floats in place, 8 at a time (the tail padded).
@inline(__always)
func applyFast(_ p: UnsafeMutablePointer<Float>, _ n: Int, tanh: Bool) {
    var i = 0
    while i + 8 <= n {
        let raw = UnsafeMutableRawPointer(p + i)
        let v = raw.loadUnaligned(as: SIMD8<Float>.self)
        raw.storeBytes(of: tanh ? tanh8(v) : sigmoid8(v), as: SIMD8<Float>.self)
        i += 8
    }
    if i < n {
        var v = SIMD8<Float>()
        for k in 0..<(n - i) { v[k] = p[i + k] }
        v = tanh ? tanh8(v) : sigmoid8(v)
        for k in 0..<(n - i) { p[i + k] = v[k] }
    }
}
