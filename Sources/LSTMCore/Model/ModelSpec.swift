/// A model's architecture: its inputs, its layers, and the graph of layer calls between them.
///
/// A Sequential model is the chain case (`ModelSpec(name:timesteps:features:layers:)`); a
/// functional Keras model lists its calls (`nodes`) explicitly. A layer called by several nodes
/// shares its weights between them, as in Keras.
public struct ModelSpec: Sendable {
    /// One model input: Keras's `Input(shape=..., name=...)`.
    public struct Input: Equatable, Sendable {
        public var name: String
        public var shape: SampleShape
        /// The batch size Keras's batch_shape fixes (stateful models need one), if any.
        public var batchSize: Int?
        public init(name: String, shape: SampleShape, batchSize: Int? = nil) {
            self.name = name
            self.shape = shape
            self.batchSize = batchSize
        }
    }

    /// A tensor of the graph: a model input, or output `index` of a node (a layer call).
    public enum TensorRef: Equatable, Hashable, Sendable {
        case input(Int)
        case node(Int, output: Int)
    }

    /// One call of a layer on tensors, in Keras's order of calls.
    public struct Node: Equatable, Sendable {
        /// Index into `layers`.
        public var layer: Int
        public var inputs: [TensorRef]
        /// An explicit mask for the first input (Keras's `mask=` call argument): a tensor of
        /// shape (batch, timesteps), nonzero where a step is real. nil: the mask the first
        /// input carries, if any.
        public var mask: TensorRef?
        public init(layer: Int, inputs: [TensorRef], mask: TensorRef? = nil) {
            self.layer = layer
            self.inputs = inputs
            self.mask = mask
        }

        /// Every tensor the call reads: its inputs, then its mask.
        public var reads: [TensorRef] { inputs + (mask.map { [$0] } ?? []) }
    }

    public var name: String
    public var inputs: [Input]
    /// Every layer once, in Keras's `model.layers` order (InputLayers left out); the model's
    /// weights are the layers' weights in this order.
    public var layers: [any LayerSpec]
    /// The layer calls; each node's inputs are model inputs or outputs of earlier nodes.
    public var nodes: [Node]
    /// The model's outputs, in Keras's order.
    public var outputs: [TensorRef]
    /// Whether Keras knows it as a Sequential model (else a functional one): decides how it is
    /// written back.
    public var isSequential: Bool
    /// Indices into `layers` of the frozen ones (Keras's trainable=False): fit leaves their
    /// weights alone and the optimizer keeps no state for them.
    public var frozenLayers: Set<Int> = []
    /// By index into `layers`: the regularizers of those that have any (Keras's
    /// kernel_regularizer, ..., activity_regularizer), added to the loss in fit and evaluate.
    public var regularization: [Int: LayerRegularization] = [:]

    public init(name: String, inputs: [Input], layers: [any LayerSpec], nodes: [Node], outputs: [TensorRef],
                isSequential: Bool = false) {
        self.name = name
        self.inputs = inputs
        self.layers = layers
        self.nodes = nodes
        self.outputs = outputs
        self.isSequential = isSequential
    }

    /// A Sequential model: one sequence input of `features` per timestep (`timesteps` nil: any
    /// length), the layers applied in order.
    public init(name: String = "sequential", timesteps: Int?, features: Int, inputName: String = "input_layer",
                layers: [any LayerSpec]) {
        self.init(name: name, input: Input(name: inputName, shape: [timesteps, features]), layers: layers)
    }

    /// A Sequential model on one input of any shape, the layers applied in order.
    public init(name: String = "sequential", input: Input, layers: [any LayerSpec]) {
        self.init(name: name, inputs: [input], layers: layers, nodes: [], outputs: [], isSequential: true)
        nodes = layers.indices.map { Node(layer: $0, inputs: [$0 == 0 ? .input(0) : .node($0 - 1, output: 0)]) }
        outputs = layers.isEmpty ? [] : [.node(layers.count - 1, output: 0)]
    }

    /// The first input's per-sample shape, for the single-input functions.
    public var inputShape: SampleShape { inputs.first?.shape ?? [] }

    /// The same architecture: every layer, input, call and output alike.
    /// The name of output k: its layer's, with [i] for a layer's output i > 0 (what Keras's
    /// metrics put before their names when a model has several outputs).
    public func outputName(_ k: Int) -> String {
        switch outputs[k] {
        case .input(let i): return inputs[i].name
        case .node(let j, let o): return layers[nodes[j].layer].name + (o > 0 ? "[\(o)]" : "")
        }
    }

    public func isSame(as other: ModelSpec) -> Bool {
        name == other.name && inputs == other.inputs && nodes == other.nodes && outputs == other.outputs
            && isSequential == other.isSequential && frozenLayers == other.frozenLayers
            && regularization == other.regularization && layers.count == other.layers.count
            && zip(layers, other.layers).allSatisfy { $0.isSame(as: $1) }
    }
}
