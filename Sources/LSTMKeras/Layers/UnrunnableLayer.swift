import LSTMCore

/// A layer of a file that cannot run here — a Lambda (its Python code is never run from a file),
/// a user's own class, a Keras class or option the library does not implement — kept in the graph
/// in its place, so that the outputs that do not depend on it still run
/// (`KerasFiles.loadModel(_:outputs:note:)`). Building it refuses with the reason.
struct UnrunnableLayerSpec: LayerSpec, Equatable {
    let name: String
    /// The file's class name for it ("Lambda").
    let kind: String
    /// Why it cannot run, naming the layer and its class.
    let reason: String

    func build(inputs: [SampleShape]) throws -> any Layer { throw LSTMError.unsupported(reason) }
}
