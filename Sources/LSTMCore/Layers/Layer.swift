/// The shape every layer plugs into (ARCHITECTURE.md, "Layers and graphs").
///
/// A layer comes in two parts: its `LayerSpec` — what Keras's config says, known before any
/// shape is — and the `Layer` the spec builds once it sees the shapes of its first call. The
/// model holds the built layers and loops over them through these protocols only; it never asks
/// which layer it holds.

/// Per-sample dimensions of a tensor (the batch axis left out); nil where Keras leaves a
/// dimension open (sequences of any length).
public typealias SampleShape = [Int?]

/// A batch of values flowing between layer calls: row-major, `shape[0]` is the batch.
public struct Tensor<T: Scalar> {
    public var shape: [Int]
    public var values: [T]

    public init(shape: [Int], values: [T]) {
        self.shape = shape
        self.values = values
    }

    /// A zero tensor of this shape.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.values = [T](repeating: 0, count: shape.reduce(1, *))
    }

    public var batch: Int { shape[0] }
    /// Values per sample.
    public var perSample: Int { shape.dropFirst().reduce(1, *) }
}

/// One weight array of a layer: Keras's short name ("kernel", "recurrent_kernel", "bias") and
/// Keras's shape.
public struct WeightSpec: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    /// false for weights the layer updates itself rather than the optimizer (BatchNormalization's
    /// moving statistics): Keras's non-trainable weights.
    public var trainable: Bool
    public var count: Int { shape.reduce(1, *) }

    public init(_ name: String, _ shape: [Int], trainable: Bool = true) {
        self.name = name
        self.shape = shape
        self.trainable = trainable
    }
}

/// A layer's configuration in Keras's vocabulary, before it is built.
public protocol LayerSpec: Sendable {
    /// The layer's unique name in its model.
    var name: String { get }
    /// Keras's class name ("LSTM", "Dense"): what the Keras codecs are registered under.
    var kind: String { get }
    /// Builds the layer for the per-sample shapes of its (first) call's inputs.
    /// - Throws: `.shapeMismatch` when the layer cannot take those inputs, `.invalidArgument` or
    ///   `.memory` for absurd sizes, `.unsupported` for options it cannot honour there.
    func build(inputs: [SampleShape]) throws -> any Layer
    /// Whether two specs describe the same layer (JSON round trips compare specs this way).
    func isSame(as other: any LayerSpec) -> Bool
}

extension LayerSpec where Self: Equatable {
    public func isSame(as other: any LayerSpec) -> Bool { (other as? Self) == self }
}

/// What a layer's forward pass may use besides its inputs and weights.
public struct LayerContext {
    /// Training (fit) or inference (predict, evaluate, streaming).
    public var training: Bool
    /// The masks of the layer's inputs (nil: every step real); a recurrent layer keeps the
    /// state through the masked steps of its first input's.
    public var masks: [Mask?] = []
    /// A stateful layer's state carried from the previous call (Keras's stateful=True): read as
    /// the initial state and replaced by the final one. nil: start from zeros.
    public var carry: AnyObject?
    /// Whatever the layer kept from the previous training pass of the same shapes (its tape),
    /// offered back so that it can be reused instead of allocated again; the layer replaces it
    /// with what backward will need.
    public var tape: AnyObject?
    /// The random numbers of the training-time noise layers (dropout): drawn from the fit's seed,
    /// the batch and the layer call, so that a seeded run repeats exactly. Unused in inference.
    public var random = SeededRandom(seed: 0)
    /// false when the layer is frozen (Keras's trainable=False): BatchNormalization then runs
    /// as in inference even in fit, as Keras 3's does.
    public var layerTrainable = true

    public init(training: Bool, tape: AnyObject? = nil, masks: [Mask?] = []) {
        self.training = training
        self.tape = tape
        self.masks = masks
    }

    /// The first input's mask.
    public var mask: Mask? { masks.first ?? nil }
}

/// A layer built for its input shapes: its weights, output shapes, forward, backward and step.
///
/// Weights are passed in, not held: the model owns every weight array (in Keras's order) so that
/// loading, saving and the optimizer see one list, and a layer called twice shares its weights.
public protocol Layer: Sendable {
    var spec: any LayerSpec { get }
    /// The per-sample input shapes it was built for.
    var inputShapes: [SampleShape] { get }
    /// The per-sample shapes of its outputs (several for `return_state`).
    var outputShapes: [SampleShape] { get }
    /// Its weight arrays, in Keras's order.
    var weights: [WeightSpec] { get }
    /// For a layer that reads token ids (Embedding): how many ids there are. The model checks
    /// that a model input read by such a layer holds whole numbers in 0..<limit.
    var tokenIdLimit: Int? { get }

    /// Initial weights as Keras's initializers make them, drawn from `rng` in weight order.
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]]

    /// The concrete output shapes (batch first) for concrete input shapes that match
    /// `inputShapes` (the model checks that before calling).
    func outputShapes(for inputs: [[Int]]) throws -> [[Int]]

    /// The shapes of the large temporary tensors a pass allocates besides its outputs (Conv1D's
    /// gathered windows), for concrete input shapes: checked against the element limit before a
    /// pass, as the outputs are.
    func scratchShapes(for inputs: [[Int]]) -> [[Int]]

    /// The masks of its outputs, from its inputs and their masks (Keras's compute_mask).
    func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?]
    /// Whether it makes a mask of its own (Embedding with mask_zero, Masking).
    var producesMask: Bool { get }
    /// The weights whose gradient Keras's TensorFlow backend delivers one slice per use
    /// (tf.IndexedSlices: an Embedding's rows, one per token occurrence): the optimizer's
    /// elementwise operations see each slice (see SliceSums).
    var sparseGradientWeights: [Int] { get }
    /// Adds each slice of the weights of `sparseGradientWeights` to `sums` (SliceSums.Buffers.add).
    func addSliceSums<T: Scalar>(_ inputs: [Tensor<T>], outputGradients: [Tensor<T>], into sums: SliceSums<T>.Buffers)
    /// For a stateful layer (Keras's stateful=True): the per-sample sizes of the states it
    /// carries from one call to the next (LSTM: h and c). Empty for the others.
    var carriedState: [Int] { get }

    /// Forward over a batch. When training, the layer leaves in `context.tape` what its
    /// backward needs (inputs and outputs are kept by the model and passed to backward).
    func forward<T: Scalar>(_ inputs: [Tensor<T>], weights: [UnsafeMutableBufferPointer<T>],
                            context: inout LayerContext) -> [Tensor<T>]

    /// Backward from the gradients of its outputs (zeros for outputs nobody used): adds the
    /// weight gradients into `gradients` (same order as `weights`) and returns the gradients of
    /// the inputs whose `needInput` entry is true (nil for the others).
    func backward<T: Scalar>(_ inputs: [Tensor<T>], outputs: [Tensor<T>], outputGradients: [Tensor<T>],
                             weights: [UnsafeMutableBufferPointer<T>], gradients: [UnsafeMutableBufferPointer<T>],
                             tape: AnyObject?, needInput: [Bool]) -> [Tensor<T>?]

    // MARK: Streaming (one timestep at a time)

    /// Throws `.unsupported` naming why, when the layer cannot run one timestep at a time.
    func checkStreamable() throws
    /// Floats of state the layer carries between timesteps for one stream (0: none).
    var streamStateSize: Int { get }
    /// Floats of scratch memory one step needs.
    var stepScratchSize: Int { get }
    /// Zero (or initial) stream state written into `state` (`streamStateSize` floats).
    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>)
    /// One timestep for one stream: each input and output is its per-step vector (the last axis),
    /// the state is updated in place. Allocates nothing.
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>)
}

extension Layer {
    public var tokenIdLimit: Int? { nil }
    public var producesMask: Bool { false }
    public var sparseGradientWeights: [Int] { [] }
    public func addSliceSums<T: Scalar>(_ inputs: [Tensor<T>], outputGradients: [Tensor<T>], into sums: SliceSums<T>.Buffers) {}
    public var carriedState: [Int] { [] }
    public func scratchShapes(for inputs: [[Int]]) -> [[Int]] { [] }

    public func outputMasks<T: Scalar>(_ inputs: [Tensor<T>], masks: [Mask?]) -> [Mask?] {
        let shapes = (try? outputShapes(for: inputs.map(\.shape))) ?? []
        return defaultOutputMasks(inputs, outputs: shapes, masks: masks)
    }
    public var name: String { spec.name }
    public var kind: String { spec.kind }
    public var parameterCount: Int { weights.reduce(0) { $0 + $1.count } }
}

/// A layer that keeps nothing from one timestep to the next (Dense, the merges, ...).
protocol StatelessStep: Layer {}

extension StatelessStep {
    var streamStateSize: Int { 0 }
    var stepScratchSize: Int { 0 }
    func resetStreamState<T: Scalar>(_ state: UnsafeMutablePointer<T>) {}
}

/// A layer whose one output has its one input's shape (the activation, noise and normalization
/// layers, Masking).
protocol ShapePreserving: Layer {
    var input: SampleShape { get }
}

extension ShapePreserving {
    var inputShapes: [SampleShape] { [input] }
    var outputShapes: [SampleShape] { [input] }
    func outputShapes(for inputs: [[Int]]) -> [[Int]] { [inputs[0]] }
}

/// A layer that cannot run one timestep at a time (it reads or makes a whole sequence):
/// streaming refuses it with `streamRefusal`, and it has no step.
protocol WholeSequence: StatelessStep {
    /// Why it cannot stream, naming the layer.
    var streamRefusal: String { get }
}

extension WholeSequence {
    func checkStreamable() throws { throw LSTMError.unsupported(streamRefusal) }
    func step<T: Scalar>(_ inputs: [UnsafePointer<T>], outputs: [UnsafeMutablePointer<T>],
                         weights: [UnsafeMutableBufferPointer<T>], state: UnsafeMutablePointer<T>,
                         scratch: UnsafeMutablePointer<T>) {}
}

/// A layer without weights (the merges, Masking, the mask operations).
protocol Weightless: Layer {}

extension Weightless {
    var weights: [WeightSpec] { [] }
    func initialWeights<T: Scalar>(_ rng: inout SeededRandom) -> [[T]] { [] }
}

/// Checks shared by the layers' `build`: sizes within sane limits, a given input rank.
public enum LayerChecks {
    static func size(_ v: Int, _ what: String, limit: Int = 1 << 20) throws {
        guard v >= 1, v <= limit else {
            throw LSTMError.invalidArgument("\(what) must be between 1 and \(limit), got \(v)")
        }
    }

    /// The single input of a one-input layer.
    static func single(_ inputs: [SampleShape], _ spec: any LayerSpec) throws -> SampleShape {
        guard inputs.count == 1 else {
            throw LSTMError.shapeMismatch("layer '\(spec.name)' (\(spec.kind)) takes one input, got \(inputs.count)")
        }
        return inputs[0]
    }

    /// The known size of the last axis (the features).
    static func features(_ shape: SampleShape, _ spec: any LayerSpec) throws -> Int {
        guard let last = shape.last, let f = last else {
            throw LSTMError.shapeMismatch("layer '\(spec.name)' (\(spec.kind)): the last axis of its input \(describe(shape)) must have a known size")
        }
        return f
    }

    /// A recurrent cell keeps its activations' outputs, not their inputs: softmax, gelu, silu and
    /// the general ReLU cannot be differentiated from those.
    static func cellActivations(_ activations: [Activation], _ spec: any LayerSpec) throws {
        for a in activations where !a.isElementwise || !a.derivativeFollowsFromOutput {
            throw LSTMError.unsupported("layer '\(spec.name)' (\(spec.kind)): \(a.kerasName) is not supported as a recurrent layer's activation (its derivative does not follow from its output, which is all the cell keeps)")
        }
    }

    /// Keras's way of writing a shape: (None, 12, 1).
    public static func describe(_ shape: SampleShape, batch: Bool = true) -> String {
        let dims = (batch ? ["None"] : []) + shape.map { $0.map(String.init) ?? "None" }
        return "(" + dims.joined(separator: ", ") + (dims.count == 1 ? ",)" : ")")
    }
}
