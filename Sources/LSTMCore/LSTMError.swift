/// Every error the library reports. The message names what was wrong, where, and the value seen.
public enum LSTMError: Error, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case shapeMismatch(String)
    case invalidState(String)
    case io(String)
    case format(String)
    case unsupported(String)
    case numeric(String)
    case memory(String)
    case cancelled(String)
    case `internal`(String)

    public var message: String {
        switch self {
        case .invalidArgument(let m), .shapeMismatch(let m), .invalidState(let m), .io(let m),
             .format(let m), .unsupported(let m), .numeric(let m), .memory(let m),
             .cancelled(let m), .internal(let m):
            return m
        }
    }

    public var description: String { message }
}
