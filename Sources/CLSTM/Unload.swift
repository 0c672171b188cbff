import CLSTMUnload
import LSTMCore

/// Called by the library's destructor (Sources/CLSTMUnload): dlclose must not leave helper
/// threads behind in unmapped code.
@_cdecl("lstm_internal_unload")
func lstmInternalUnload() { Parallel.stopHelpers() }
