/// Size arithmetic on numbers that come from callers or files: an overflow is an error.
@usableFromInline let maxElements = 1 << 31  // 8 GiB of floats: more is treated as absurd

/// The product of `factors`, or `.memory` naming `what` if it overflows or exceeds the limit.
public func checkedProduct(_ factors: [Int], _ what: @autoclosure () -> String) throws -> Int {
    var p = 1
    for f in factors {
        guard f >= 0 else { throw LSTMError.invalidArgument("\(what()): negative size \(f)") }
        let (r, o) = p.multipliedReportingOverflow(by: f)
        if o || r > maxElements {
            throw LSTMError.memory("\(what()): \(factors.map(String.init).joined(separator: " x ")) elements exceed the limit of \(maxElements)")
        }
        p = r
    }
    return p
}
