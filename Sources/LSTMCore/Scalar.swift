#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The floating-point types the core computes in. The library's public surface is `Float`;
/// `Double` exists so that gradients can be checked against finite differences tightly.
/// SIMDScalar (and the Codable it brings along) lets generic loops run in SIMD8<T>, as the
/// optimizer's update does.
public protocol Scalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable where RawSignificand: FixedWidthInteger {
    static func exp(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
}

extension Float: Scalar {
    @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable public static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inlinable public static func erf(_ x: Float) -> Float { erff(x) }
}

extension Double: Scalar {
    @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inlinable public static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    @inlinable public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
}
