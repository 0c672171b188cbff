import LSTMCore
import LSTMKeras

/// An ONNX graph being built: its nodes in execution order, its constant tensors (initializers)
/// and its inputs and outputs, encoded as an ONNX `ModelProto` (onnx.proto's field numbers).
/// Every value gets a unique name from `fresh`.
struct ONNXGraph {
    /// ONNX's element types (TensorProto.DataType).
    enum ElementType: Int64 {
        case float = 1, int32 = 6, int64 = 7, bool = 9
    }

    /// An attribute of a node (AttributeProto).
    enum Attribute {
        case int(Int64)
        case float(Float)
        case string(String)
        case ints([Int64])
        case floats([Float])
        case strings([String])
    }

    /// opset 17 (ONNX 1.12, 2022): LayerNormalization, and every recurrent operator with the
    /// attributes the exporter uses; ONNX Runtime, TensorRT and OpenVINO read it.
    static let opsetVersion: Int64 = 17
    /// The IR version that goes with opset 17.
    static let irVersion: Int64 = 8

    private var nodes: [ProtobufMessage] = []
    private var initializers: [ProtobufMessage] = []
    private var inputs: [ProtobufMessage] = []
    private var outputs: [ProtobufMessage] = []
    /// Outputs listed after the model's own (the states of stateful layers).
    private var laterOutputs: [ProtobufMessage] = []
    private var used: Set<String> = []
    private var constants: [String: String] = [:]

    /// A name not used yet, made from `base` (Keras's layer names are readable in the graph).
    mutating func fresh(_ base: String) -> String {
        var name = base, k = 1
        while used.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        used.insert(name)
        return name
    }

    /// Adds a node; returns its outputs' names (`outputs` of them, named after `name`).
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], outputs: Int = 1, name: String,
                       attributes: [(String, Attribute)] = []) -> [String] {
        let names = (0..<outputs).map { fresh(outputs == 1 ? name : "\(name)_out\($0)") }
        var n = ProtobufMessage()
        for i in inputs { n.string(1, i) }
        for o in names { n.string(2, o) }
        n.string(3, fresh("\(name)/\(op)"))
        n.string(4, op)
        for (attributeName, value) in attributes { n.message(5, Self.encode(attributeName, value)) }
        nodes.append(n)
        return names
    }

    /// An Identity node whose output is `output`, a name taken with `fresh` (graph outputs keep
    /// their Keras names this way).
    mutating func identity(_ input: String, as output: String) {
        var n = ProtobufMessage()
        n.string(1, input)
        n.string(2, output)
        n.string(3, fresh("\(output)/Identity"))
        n.string(4, "Identity")
        nodes.append(n)
    }

    /// One-output form of `node`.
    mutating func op(_ op: String, _ inputs: [String], name: String, _ attributes: [(String, Attribute)] = []) -> String {
        node(op, inputs, outputs: 1, name: name, attributes: attributes)[0]
    }

    /// A float32 constant of `shape`.
    mutating func constant(_ name: String, shape: [Int], values: [Float]) -> String {
        let n = fresh(name)
        var t = ProtobufMessage()
        t.repeatedInts(1, shape.map(Int64.init))
        t.int(2, ElementType.float.rawValue)
        t.string(8, n)
        t.bytes(9, littleEndianBytes(values))  // raw_data: little-endian IEEE floats
        initializers.append(t)
        return n
    }

    /// An int64 constant (shapes, axes, indices), shared by every node that uses the same values.
    mutating func int64s(_ values: [Int64], shape: [Int]? = nil) -> String {
        let dims = shape ?? [values.count]
        let key = "\(dims):\(values)"
        if let n = constants[key] { return n }
        let n = fresh("const_i64")
        var t = ProtobufMessage()
        t.repeatedInts(1, dims.map(Int64.init))
        t.int(2, ElementType.int64.rawValue)
        t.string(8, n)
        t.bytes(9, values.flatMap(littleEndianBytes))
        initializers.append(t)
        constants[key] = n
        return n
    }

    /// A graph input or output: its name, element type, and dimensions (nil: a named dynamic
    /// dimension such as the batch).
    mutating func input(_ name: String, _ type: ElementType, _ dims: [DynamicDim]) {
        used.insert(name)
        inputs.append(Self.valueInfo(name, type, dims))
    }

    mutating func output(_ name: String, _ type: ElementType, _ dims: [DynamicDim]) {
        outputs.append(Self.valueInfo(name, type, dims))
    }

    /// A graph output listed after every `output` (a stateful layer's final state).
    mutating func stateOutput(_ name: String, _ type: ElementType, _ dims: [DynamicDim]) {
        laterOutputs.append(Self.valueInfo(name, type, dims))
    }

    enum DynamicDim {
        case fixed(Int)
        case named(String)
    }

    /// The ModelProto holding the graph.
    func encoded(graphName: String, producerVersion: String) -> [UInt8] {
        var g = ProtobufMessage()
        for n in nodes { g.message(1, n) }
        g.string(2, graphName)
        for t in initializers { g.message(5, t) }
        for i in inputs { g.message(11, i) }
        for o in outputs + laterOutputs { g.message(12, o) }
        var opset = ProtobufMessage()
        opset.string(1, "")
        opset.int(2, Self.opsetVersion)
        var m = ProtobufMessage()
        m.int(1, Self.irVersion)
        m.string(2, "liblstm")
        m.string(3, producerVersion)
        m.message(7, g)
        m.message(8, opset)
        return m.bytes
    }

    private static func valueInfo(_ name: String, _ type: ElementType, _ dims: [DynamicDim]) -> ProtobufMessage {
        var shape = ProtobufMessage()
        for d in dims {
            var dim = ProtobufMessage()
            switch d {
            case .fixed(let n): dim.int(1, Int64(n))
            case .named(let s): dim.string(2, s)
            }
            shape.message(1, dim)
        }
        var tensor = ProtobufMessage()
        tensor.int(1, type.rawValue)
        tensor.message(2, shape)
        var typeProto = ProtobufMessage()
        typeProto.message(1, tensor)
        var v = ProtobufMessage()
        v.string(1, name)
        v.message(2, typeProto)
        return v
    }

    private static func encode(_ name: String, _ value: Attribute) -> ProtobufMessage {
        var a = ProtobufMessage()
        a.string(1, name)
        switch value {
        case .float(let f): a.float(2, f); a.int(20, 1)
        case .int(let i): a.int(3, i); a.int(20, 2)
        case .string(let s): a.string(4, s); a.int(20, 3)
        case .floats(let fs): a.repeatedFloats(7, fs); a.int(20, 6)
        case .ints(let ints): a.repeatedInts(8, ints); a.int(20, 7)
        case .strings(let ss): for s in ss { a.string(9, s) }; a.int(20, 8)
        }
        return a
    }
}
