/// Where a 1-D window slides (Conv1D and the poolings): its size, stride, dilation and padding.
struct SlidingWindow: Equatable, Sendable {
    let size: Int, stride: Int, dilation: Int
    /// "valid", "same" or "causal".
    let padding: String

    var span: Int { (size - 1) * dilation + 1 }

    /// Output steps for n input steps, 0 where the window does not fit once (build and the
    /// model's shape check refuse those through `outputLength` before any pass).
    func outputSteps(_ n: Int) -> Int {
        guard n >= 1, padding != "valid" || n >= span else { return 0 }
        return padding == "valid" ? (n - span) / stride + 1 : (n + stride - 1) / stride
    }

    /// `outputSteps`, refusing n steps that the window does not fit once.
    func outputLength(_ n: Int, _ spec: any LayerSpec) throws -> Int {
        let out = outputSteps(n)
        guard out > 0 else {
            throw LSTMError.shapeMismatch("layer '\(spec.name)' (\(spec.kind)): \(n) steps are fewer than its window of \(span)")
        }
        return out
    }

    /// The input step of output step 0's first tap (negative: padding on the left).
    func start(_ n: Int, out: Int) -> Int {
        switch padding {
        case "causal": return -(span - 1)
        case "same": return -max((out - 1) * stride + span - n, 0) / 2
        default: return 0
        }
    }
}
