import LSTMCore

/// Keras's elementwise merge layers; one codec per class, sharing the reading and writing.
protocol MergeCodec: KerasLayerCodec where Spec == MergeSpec {
    static var operation: MergeSpec.Operation { get }
}

extension MergeCodec {
    static var className: String { operation.rawValue }
    static func parse(_ r: inout KerasLayerReader) throws -> MergeSpec { MergeSpec(name: r.layer, operation: operation) }
    static func config(_ s: MergeSpec) throws -> [(String, JSON)] { [] }
}

enum AddCodec: MergeCodec { static let operation = MergeSpec.Operation.add }
enum SubtractCodec: MergeCodec { static let operation = MergeSpec.Operation.subtract }
enum MultiplyCodec: MergeCodec { static let operation = MergeSpec.Operation.multiply }
enum AverageCodec: MergeCodec { static let operation = MergeSpec.Operation.average }
enum MaximumCodec: MergeCodec { static let operation = MergeSpec.Operation.maximum }
enum MinimumCodec: MergeCodec { static let operation = MergeSpec.Operation.minimum }
