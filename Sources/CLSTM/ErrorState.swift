#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLSTMABI
import LSTMCore

/// The per-thread message behind lstm_last_error(): a malloc'd C string per thread, freed when
/// it is replaced or when the thread ends.
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

/// The same for lstm_last_warning(): what a call that succeeded left to tell.
private let warningKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private let emptyCString: UnsafeMutablePointer<CChar> = strdup("")!

private func setMessage(_ key: pthread_key_t, _ message: String?) {
    let old = pthread_getspecific(key)
    if old == nil && message == nil { return }
    pthread_setspecific(key, message.flatMap { strdup($0) })
    free(old)
}

private func messagePointer(_ key: pthread_key_t) -> UnsafePointer<CChar> {
    guard let p = pthread_getspecific(key) else { return UnsafePointer(emptyCString) }
    return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

func setLastError(_ message: String?) { setMessage(errorKey, message) }
func lastErrorPointer() -> UnsafePointer<CChar> { messagePointer(errorKey) }

/// Adds a note to what the current call leaves for lstm_last_warning() ("; " between notes).
func addWarning(_ note: String) {
    let current = String(cString: messagePointer(warningKey))
    setMessage(warningKey, current.isEmpty ? note : current + "; " + note)
}
func lastWarningPointer() -> UnsafePointer<CChar> { messagePointer(warningKey) }

extension LSTMError {
    var status: lstm_status {
        switch self {
        case .invalidArgument: return LSTM_ERROR_ARGUMENT
        case .shapeMismatch: return LSTM_ERROR_SHAPE
        case .invalidState: return LSTM_ERROR_STATE
        case .io: return LSTM_ERROR_IO
        case .format: return LSTM_ERROR_FORMAT
        case .unsupported: return LSTM_ERROR_UNSUPPORTED
        case .numeric: return LSTM_ERROR_NUMERIC
        case .memory: return LSTM_ERROR_MEMORY
        case .cancelled: return LSTM_ERROR_CANCELLED
        case .internal: return LSTM_ERROR_INTERNAL
        }
    }
}

/// Runs the body of an exported function: clears the thread's message, and turns a thrown
/// error into its status and message. Nothing else may escape to C.
@inline(__always)
func guarded(_ body: () throws -> Void) -> lstm_status {
    setLastError(nil)
    setMessage(warningKey, nil)
    do {
        try body()
        return LSTM_OK
    } catch let e as LSTMError {
        setLastError(e.message)
        return e.status
    } catch {
        setLastError("internal error: \(error)")
        return LSTM_ERROR_INTERNAL
    }
}

/// Argument checks shared by the exported functions.
enum Arg {
    static func nonNull<P>(_ p: P?, _ name: String) throws -> P {
        guard let p else { throw LSTMError.invalidArgument("\(name) is NULL") }
        return p
    }

    /// A weight array's index (a size_t from C): within the model's weight arrays.
    static func weightIndex(_ index: Int, of model: Model<Float>) throws -> Int {
        guard index >= 0, index < model.weightShapes.count else {
            throw LSTMError.invalidArgument("weight index \(UInt(bitPattern: index)) is out of range: the model has \(model.weightShapes.count) weight arrays")
        }
        return index
    }

    /// A size_t from C (imported as Int): zero and values past 2^40 are rejected.
    static func size(_ v: Int, _ name: String, allowZero: Bool = false) throws -> Int {
        guard v >= 0, v <= 1 << 40 else {
            throw LSTMError.invalidArgument("\(name) = \(UInt(bitPattern: v)) is absurd")
        }
        guard allowZero || v > 0 else { throw LSTMError.invalidArgument("\(name) must be > 0, got 0") }
        return v
    }

    /// Copies `text` into a caller's buffer of `cap` bytes, cut to cap - 1 bytes and always
    /// NUL-terminated when cap > 0 (buf must then be non-NULL: checked by the caller's `name`).
    /// Returns the full length in bytes.
    @discardableResult
    static func copyText(_ text: String, to buf: UnsafeMutablePointer<CChar>?, cap: Int, _ name: String) throws -> Int {
        let cap = try size(cap, "cap", allowZero: true)
        let bytes = Array(text.utf8)
        guard cap > 0 else { return bytes.count }
        let buf = try nonNull(buf, "\(name) (with cap > 0)")
        let n = min(bytes.count, cap - 1)
        for k in 0..<n { buf[k] = CChar(bitPattern: bytes[k]) }
        buf[n] = 0
        return bytes.count
    }

    static func string(_ p: UnsafePointer<CChar>?, _ name: String) throws -> String {
        let p = try nonNull(p, name)
        return String(cString: p)
    }
}
