#if canImport(Glibc)
import Glibc
#endif
import LSTMCore

/// Keras files in and out: Keras 3 `.weights.h5`, legacy (Keras 2 layout) `.h5` weights, whole
/// models as `.keras` (zip) and legacy `.h5`.
public enum KerasFiles {
    /// The Keras version whose file layout this library writes.
    static let writtenKerasVersion = "3.15.1"

    // MARK: - Public entry points

    /// Loads a whole model: `.keras`, or `.h5` with a `model_config` (Keras 3 or Keras 2 style).
    /// The compile config is restored when present and supported (else the model comes back
    /// uncompiled, ready for inference), and so is the optimizer state of a `.keras` file.
    ///
    /// A graph may hold layers that cannot run here (a Lambda, a user's own class): the model is
    /// then the part of the graph that computes `outputs` — layer names, "name:k" for a layer's
    /// output k, as Keras users take `model.get_layer(name).output` — or, without `outputs`, the
    /// model's own outputs that need none of those layers (the others left out, with a note). An
    /// output that needs such a layer is refused naming it. A part of a graph is not compiled.
    /// `note` hears what the caller should know of a load that succeeded (a file read by its
    /// content because its name says another format, outputs left out).
    public static func loadModel(_ path: String, outputs: [String]? = nil, note: (String) -> Void = { _ in }) throws -> Model<Float> {
        let bytes = try FileIO.read(path)
        let kind = try KerasFileKind(path)
        if let n = try kind.check(bytes, path: path) { note(n) }
        return try loadModel(bytes: bytes, name: path, outputs: outputs, note: note)
    }

    /// `loadModel` of a file's bytes already in memory; `path` names it in messages.
    public static func loadModel(bytes: [UInt8], name path: String, outputs wanted: [String]? = nil,
                                 note: (String) -> Void = { _ in }) throws -> Model<Float> {
        if Zip.isArchive(bytes) {
            let (config, weightsBytes) = try kerasArchive(bytes, path: path)
            let parsed = try KerasConfig.parseModel(config, lenientCompile: true, keepUnrunnable: true)
            let (spec, kept) = try runnablePart(parsed.spec, outputs: wanted, path: path, note: note)
            let model = try Model<Float>(spec: spec, seed: 0)
            let saved = (try? JSON.parse(config))?["compile_config"]
            let loss = saved?["loss"]
            let file = try HDF5Reader.open(weightsBytes, name: "\(path):model.weights.h5")
            var compile = parsed.compile
            // Keras 3 leaves the optimizer out of compile_config once it has been built;
            // the saved optimizer variables still say which it was and its learning rate.
            if compile == nil, let saved, let loss, !loss.isNull, let optimizer = try? savedOptimizer(file) {
                compile = try? savedCompile(saved, optimizer: optimizer)
            }
            guard let kept else {
                compileIfPossible(model, compile)
                try loadKeras3Layout(file, into: model)
                return model
            }
            // The part's weights sit under the keys the whole graph gives its layers.
            let keys = layerKeys(parsed.spec)
            try loadKeras3Layout(file, into: model, partKeys: kept.map { keys.layers[$0] })
            return model
        }
        let file = try HDF5Reader.open(bytes, name: path)
        guard let configText = try file.stringsAttribute("model_config")?.first else {
            throw LSTMError.format("'\(path)' holds no model_config: it is a weights-only file (load it into a model with load_weights)")
        }
        var parsed = try KerasConfig.parseModel(configText, forceFlavor: try flavor(of: file), lenientCompile: true,
                                                keepUnrunnable: true)
        if parsed.compile == nil, let training = try file.stringsAttribute("training_config")?.first {
            parsed.compile = try? compileFromTrainingConfig(training)
        }
        let (spec, kept) = try runnablePart(parsed.spec, outputs: wanted, path: path, note: note)
        let model = try Model<Float>(spec: spec, seed: 0)
        if kept == nil { compileIfPossible(model, parsed.compile) }
        let weightsGroup = file.isGroup("model_weights") ? try file.group("model_weights") : file
        // A part of the graph finds its layers' weights by their names; a whole one by position.
        try model.setWeights(try readLegacyLayout(weightsGroup, model: model, byName: kept != nil))
        return model
    }

    /// The part of a file's graph to build (see `loadModel`): the whole graph (nil kept layers)
    /// when every layer can run and no outputs are named; else the part computing the named
    /// outputs, or the model's outputs that need no unrunnable layer, with the indices of the
    /// layers it keeps.
    static func runnablePart(_ spec: ModelSpec, outputs wanted: [String]?, path: String,
                             note: (String) -> Void) throws -> (spec: ModelSpec, kept: [Int]?) {
        let unrunnable = spec.layers.compactMap { $0 as? UnrunnableLayerSpec }
        if wanted == nil, unrunnable.isEmpty { return (spec, nil) }
        func blocker(_ ref: ModelSpec.TensorRef) -> UnrunnableLayerSpec? {
            spec.layersNeeded(for: ref).sorted().lazy.compactMap { spec.layers[$0] as? UnrunnableLayerSpec }.first
        }
        var refs: [(name: String, ref: ModelSpec.TensorRef)]
        if let wanted {
            guard !wanted.isEmpty else { throw LSTMError.invalidArgument("'\(path)': no outputs named") }
            refs = try wanted.map { ($0, try tensor(named: $0, in: spec, path: path)) }
            for (name, ref) in refs {
                if let b = blocker(ref) {
                    throw LSTMError.unsupported("'\(path)': output '\(name)' needs layer '\(b.name)' (\(b.kind)), which cannot run here: \(b.reason)")
                }
            }
        } else {
            let all = spec.outputs.indices.map { (name: spec.outputName($0), ref: spec.outputs[$0]) }
            refs = all.filter { blocker($0.ref) == nil }
            let dropped = all.filter { blocker($0.ref) != nil }
            guard let first = dropped.first.flatMap({ blocker($0.ref) }) else { return (spec, nil) }
            guard !refs.isEmpty else {
                throw LSTMError.unsupported("\(first.reason) (every output of the model needs it: name the outputs wanted, such as a layer before it, to load the part that runs)")
            }
            let needs = dropped.compactMap { d in blocker(d.ref).map { "output '\(d.name)' needs layer '\($0.name)' (\($0.kind))" } }
            note("'\(path)': \(needs.joined(separator: ", ")), which cannot run here: left out; the model computes \(refs.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        let part = spec.subgraph(computing: refs.map(\.ref))
        return (part.spec, part.layerIndex)
    }

    /// A tensor of the graph by name: a layer's ("name", its first call's output 0; "name:k" its
    /// output k) or a model input's.
    static func tensor(named text: String, in spec: ModelSpec, path: String) throws -> ModelSpec.TensorRef {
        var name = Substring(text), output = 0
        if let colon = text.lastIndex(of: ":"), let k = Int(text[text.index(after: colon)...]), k >= 0 {
            name = text[..<colon]
            output = k
        }
        if let i = spec.inputs.firstIndex(where: { $0.name == name }), output == 0 { return .input(i) }
        guard let l = spec.layers.firstIndex(where: { $0.name == name }),
              let j = spec.nodes.firstIndex(where: { $0.layer == l }) else {
            let names = spec.layers.map(\.name)
            throw LSTMError.invalidArgument("'\(path)': no layer named '\(name)' (the layers: \(names.prefix(40).joined(separator: ", "))\(names.count > 40 ? ", ..." : ""))")
        }
        return .node(j, output: output)
    }

    /// Loads weights from `.weights.h5` (Keras 3 layout, also written by tf-keras), legacy `.h5`
    /// weights (matched by layer position, as Keras does), or the weights inside `.keras` / full
    /// `.h5`. A mismatch fails with `.shapeMismatch` and leaves the model as it was.
    public static func loadWeights(_ path: String, into model: Model<Float>, note: (String) -> Void = { _ in }) throws {
        let bytes = try FileIO.read(path)
        if let n = try KerasFileKind(path).check(bytes, path: path) { note(n) }
        try loadWeights(bytes: bytes, name: path, into: model)
    }

    /// `loadWeights` from a file's bytes already in memory; `path` names it in messages.
    public static func loadWeights(bytes: [UInt8], name path: String, into model: Model<Float>) throws {
        if Zip.isArchive(bytes) {
            let (_, weightsBytes) = try kerasArchive(bytes, path: path)
            try loadKeras3Layout(try HDF5Reader.open(weightsBytes, name: "\(path):model.weights.h5"), into: model)
            return
        }
        let file = try HDF5Reader.open(bytes, name: path)
        if file.isGroup("layers") {
            try loadKeras3Layout(file, into: model)
        } else if try file.stringsAttribute("layer_names") != nil {
            try model.setWeights(try readLegacyLayout(file, model: model))
        } else if file.isGroup("model_weights") {
            try model.setWeights(try readLegacyLayout(try file.group("model_weights"), model: model))
        } else if isKeras0Layout(file) {
            try model.setWeights(try readKeras0Layout(file, model: model))
        } else {
            throw LSTMError.format("'\(path)' is an HDF5 file but not Keras weights (no 'layers' group, 'layer_names', 'model_weights' or Keras 0.x's 'nb_layers')")
        }
    }

    /// Writes the Keras 3 `.weights.h5` layout (with the optimizer state once compiled) for a
    /// name ending in `.weights.h5`, the legacy Keras 2 layout for another `.h5`. Atomic.
    public static func saveWeights(_ model: Model<Float>, to path: String) throws {
        let legacy: Bool
        switch try KerasFileKind(path) {
        case .weights: legacy = false
        case .legacy: legacy = true
        case .archive:
            throw LSTMError.invalidArgument("'\(path)': save_weights writes .weights.h5 (or legacy .h5) files; a .keras file holds a whole model (lstm_model_save)")
        }
        let file = H5WriteGroup(file: path)
        if legacy {
            try writeLegacyLayout(file, model: model)
        } else {
            try writeKeras3Layout(file, model: model)
        }
        let bytes = try file.encodedFile()
        try FileIO.atomicWrite(path) { try FileIO.write(bytes, to: $0) }
    }

    /// Writes the whole model: `.keras` (config.json, metadata.json, model.weights.h5) or, for
    /// `.h5` / `.hdf5`, the legacy full-model file. Atomic.
    public static func saveModel(_ model: Model<Float>, to path: String) throws {
        let kind = try KerasFileKind(path)
        if kind == .weights {
            throw LSTMError.invalidArgument("'\(path)': a .weights.h5 file holds weights only (lstm_model_save_weights); save the whole model to .keras or .h5")
        }
        let config = try KerasConfig.modelJSON(model.spec, compile: model.compileSpec)
        if let layer = KerasConfig.layerUsing(Activation.keras2HardSigmoidName, in: config) {
            throw LSTMError.unsupported("'\(path)': layer '\(layer)' runs Keras 2's hard_sigmoid (clip(0.2x + 0.5, 0, 1)), which no Keras 3 file can hold (Keras 3's hard_sigmoid is x/6 + 0.5): save its weights (save_weights) and load them into the model rebuilt in the Keras that trained it, or keep the architecture as this library's JSON (to_json)")
        }
        if kind == .legacy {
            let file = H5WriteGroup(file: path)
            try file.writeStringAttribute("backend", "tensorflow")
            try file.writeStringAttribute("keras_version", writtenKerasVersion)
            // The .h5 layout keeps the compile settings in training_config instead.
            var withoutCompile = config
            if case .object(let members) = config {
                withoutCompile = .object(members.filter { $0.0 != "compile_config" })
            }
            try file.writeStringAttribute("model_config", withoutCompile.serialized())
            if let c = model.compileSpec {
                try file.writeStringAttribute("training_config", trainingConfig(c).serialized())
            }
            let weights = try file.createGroup("model_weights")
            try weights.writeStringAttribute("backend", "tensorflow")
            try weights.writeStringAttribute("keras_version", writtenKerasVersion)
            try writeLegacyLayout(weights, model: model, prefix: model.spec.name + "/")
            let bytes = try file.encodedFile()
            try FileIO.atomicWrite(path) { try FileIO.write(bytes, to: $0) }
            return
        }
        let weightsFile = H5WriteGroup(file: path + ":model.weights.h5")
        try writeKeras3Layout(weightsFile, model: model)
        let weights = try weightsFile.encodedFile()
        let metadata = JSON.object([("keras_version", .string(writtenKerasVersion)), ("date_saved", .string(dateSaved())),
                                    ("saved_by", .string("liblstm"))]).serialized()
        let archive = Zip.write([Zip.Entry(name: "metadata.json", data: Array(metadata.utf8)),
                                 Zip.Entry(name: "config.json", data: Array(config.serialized().utf8)),
                                 Zip.Entry(name: "model.weights.h5", data: weights)])
        try FileIO.atomicWrite(path) { try FileIO.write(archive, to: $0) }
    }

    /// What a Keras file is, without building a model.
    public struct FileDescription {
        public var format: String
        /// "Keras 3.15.1", "tf-keras 2.21.0", ... or "unknown".
        public var writer: String
        public var isModel: Bool
        public var weightCount: Int
    }

    public static func describe(_ path: String) throws -> FileDescription {
        let bytes = try FileIO.read(path)
        if Zip.isArchive(bytes) {
            var writer = "unknown"
            if let meta = try Zip.data("metadata.json", in: bytes, file: path),
               let j = try? JSON.parse(String(decoding: meta, as: UTF8.self)),
               let v = j["keras_version"]?.stringValue {
                writer = (j["saved_by"]?.stringValue.map { "\($0) (Keras \(v) format)" }) ?? "Keras \(v)"
            }
            return FileDescription(format: ".keras (zip: config.json, model.weights.h5)", writer: writer, isModel: true,
                                   weightCount: 0)
        }
        let file = try HDF5Reader.open(bytes, name: path)
        let version = try file.stringsAttribute("keras_version")?.first
            ?? (file.isGroup("model_weights") ? try file.group("model_weights").stringsAttribute("keras_version")?.first : nil)
        let writer = version.map { $0.hasPrefix("2.") ? "tf-keras / Keras \($0)" : "Keras \($0)" } ?? "unknown (no keras_version)"
        if try file.stringsAttribute("model_config") != nil {
            return FileDescription(format: "legacy full-model .h5 (model_config + model_weights)", writer: writer,
                                   isModel: true, weightCount: 0)
        }
        if file.isGroup("layers") {
            var seen = Set<Int>()
            let hasNames = file.isGroup("vars") ? (try file.group("vars").stringsAttribute("name")) != nil : false
            return FileDescription(format: "Keras 3 .weights.h5", writer: hasNames ? "Keras 3" : "tf-keras (no name attributes)",
                                   isModel: false, weightCount: try countDatasets(try file.group("layers"), seen: &seen))
        }
        if let names = try file.stringsAttribute("layer_names") {
            var count = 0
            for n in names { count += try file.group(n).stringsAttribute("weight_names")?.count ?? 0 }
            // Keras 2 writes its version; Keras 1 did not, and kept recurrent layers per gate.
            return FileDescription(format: "legacy (Keras 1/2 layout) .h5 weights", writer: version == nil ? "Keras 1.x (no keras_version)" : writer,
                                   isModel: false, weightCount: count)
        }
        if isKeras0Layout(file) {
            var seen = Set<Int>(), count = 0
            while file.isGroup("layer_\(count)"), count < HDF5Reader.maxMembers { count += 1 }
            return FileDescription(format: "Keras 0.x weights (nb_layers: layer_0 ... layer_\(count - 1), arrays param_0 ...)",
                                   writer: "Keras 0.x (before 1.0; no keras_version)", isModel: false, weightCount: try countDatasets(file, seen: &seen))
        }
        throw LSTMError.format("'\(path)' is an HDF5 file but not a Keras model or weights file")
    }

    /// Datasets under `g`, each group counted once however many links lead to it.
    static func countDatasets(_ g: H5ReadGroup, seen: inout Set<Int>) throws -> Int {
        guard seen.insert(g.address).inserted else { return 0 }
        var n = 0
        for name in g.memberNames() {
            if g.isDataset(name) { n += 1 } else if g.isGroup(name) { n += try countDatasets(try g.group(name), seen: &seen) }
        }
        return n
    }

    // MARK: - Helpers

    static func flavor(of file: H5ReadGroup) throws -> KerasFlavor? {
        guard let v = try file.stringsAttribute("keras_version")?.first else { return nil }
        return v.hasPrefix("1.") || v.hasPrefix("2.") ? .keras2 : .keras3
    }

    /// The optimizer a Keras 3 weights file's `optimizer/vars` belong to, when that can be told:
    /// Adam (Keras's defaults but the saved learning rate) or SGD without momentum.
    static func savedOptimizer(_ file: H5ReadGroup) throws -> JSON? {
        guard file.has("optimizer/vars") else { return nil }
        let vars = try file.group("optimizer/vars")
        // Keras numbers further optimizers of a session: "adam_1".
        guard var name = try vars.stringsAttribute("name")?.first?.lowercased() else { return nil }
        if let underscore = name.lastIndex(of: "_"), Int(name[name.index(after: underscore)...]) != nil {
            name = String(name[..<underscore])
        }
        let names = try sortedIndexNames(vars)
        guard names.count >= 2, let lr = try vars.readFloats(names[1]).values.first else { return nil }
        let config = JSON.object([("learning_rate", .number(Double(lr)))])
        switch name {
        case "adam": return .object([("class_name", .string("Adam")), ("config", config)])
        case "sgd" where names.count == 2: return .object([("class_name", .string("SGD")), ("config", config)])
        default: return nil
        }
    }

    /// A file's compile settings, if the model can follow them; without the metrics if only
    /// those do not fit it (they do not change the training).
    static func compileIfPossible(_ model: Model<Float>, _ spec: CompileSpec?) {
        guard var spec else { return }
        if (try? model.compile(spec)) == nil, !spec.metrics.isEmpty || !spec.weightedMetrics.isEmpty {
            spec.metrics = .none
            spec.weightedMetrics = .none
            try? model.compile(spec)
        }
    }

    /// The compile settings of an .h5 file's training_config ({"loss": ..., "optimizer_config": ...}).
    static func compileFromTrainingConfig(_ text: String) throws -> CompileSpec {
        let j = try JSON.parse(text)
        guard j["loss"] != nil, let opt = j["optimizer_config"] else {
            throw LSTMError.format("training_config lacks loss or optimizer_config")
        }
        return try savedCompile(j, optimizer: opt)
    }

    /// A saved model's compile settings: its loss, loss_weights and metrics from `saved` (a
    /// compile_config or a training_config), with the optimizer found apart.
    static func savedCompile(_ saved: JSON, optimizer: JSON) throws -> CompileSpec {
        let keys = ["loss", "loss_weights", "metrics", "weighted_metrics"]
        return try KerasConfig.parseCompile(.object([("optimizer", optimizer)] + keys.map { ($0, saved[$0] ?? .null) }),
                                            fromFile: true)
    }

    static func trainingConfig(_ c: CompileSpec) -> JSON {
        let compile = KerasConfig.compileJSON(c)
        var members: [(String, JSON)] = []
        if case .object(let m) = compile {
            // Keras 3's legacy .h5 loader cannot deserialize "mse" (it fails on its own files):
            // the full name loads.
            for (k, v) in m where k != "optimizer" {
                switch k {
                case "loss": members.append((k, KerasLosses.json(given: c, legacy: true)))
                case "metrics": members.append((k, KerasMetrics.legacyJSON(c.metrics)))
                case "weighted_metrics": members.append((k, KerasMetrics.legacyJSON(c.weightedMetrics)))
                default: members.append((k, v))
                }
            }
        }
        if let opt = compile["optimizer"] {
            members.append(("optimizer_config", .object([("class_name", opt["class_name"] ?? .null),
                                                         ("config", opt["config"] ?? .object([]))])))
        }
        return .object(members)
    }

    static func dateSaved() -> String {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, 32, "%Y-%m-%d@%H:%M:%S", &tm)
        return String(cString: buf)
    }

    /// config.json and model.weights.h5 of a .keras archive.
    static func kerasArchive(_ bytes: [UInt8], path: String) throws -> (String, [UInt8]) {
        let members = try Zip.members(bytes, file: path)
        guard let config = members.first(where: { $0.name == "config.json" }) else {
            throw LSTMError.format("'\(path)' is a zip file without config.json: not a .keras file")
        }
        guard let weights = members.first(where: { $0.name == "model.weights.h5" }) else {
            throw LSTMError.format("'\(path)' has no model.weights.h5")
        }
        return (String(decoding: try Zip.data(config, in: bytes, file: path), as: UTF8.self),
                try Zip.data(weights, in: bytes, file: path))
    }

    /// Keras 3's key for each layer of `spec.layers` in a weights file: its class in snake case,
    /// numbered per class in Keras's `model.layers` order, where a functional model's InputLayers
    /// count too (they get keys of their own, with nothing in them).
    static func layerKeys(_ spec: ModelSpec) -> (layers: [String], inputs: [String]) {
        var counts: [String: Int] = [:]
        func key(_ cls: String) -> String {
            let n = counts[cls, default: 0]
            counts[cls] = n + 1
            return KerasConfig.defaultName(cls, n)
        }
        if spec.isSequential { return (spec.layers.map { key($0.kind) }, []) }
        var layers = [String](repeating: "", count: spec.layers.count)
        var inputs: [String] = []
        for op in KerasFunctional.kerasOrder(spec) {
            switch op {
            case .input: inputs.append(key("InputLayer"))
            case .layer(let l) where !KerasLayers.isOperation(spec.layers[l]): layers[l] = key(spec.layers[l].kind)
            case .layer: break  // keras.ops operations are not layers: no key
            }
        }
        return (layers, inputs)
    }

    static func shapeText(_ s: [Int]) -> String {
        "(" + s.map(String.init).joined(separator: ", ") + (s.count == 1 ? ",)" : ")")
    }

    /// Weight k of the model from dataset `name` of `g`: its shape is checked against the
    /// model's before any value is read, so a file cannot make the reader inflate or copy more
    /// than the model holds.
    static func readWeight(_ g: H5ReadGroup, _ name: String, _ model: Model<Float>, _ k: Int, layer: String) throws -> [Float] {
        let want = model.weightShapes[k]
        let shape = try g.datasetShape(name)
        guard shape == want else {
            let weight = model.weightNames[k].split(separator: "/").last.map(String.init) ?? model.weightNames[k]
            throw LSTMError.shapeMismatch("layer '\(layer)': \(weight) has shape \(shapeText(shape)) in the file, the model expects \(shapeText(want))")
        }
        return try g.readFloats(name).values
    }

    // MARK: - Keras 3 layout

    /// `partKeys`: for a model that is a part of the file's graph, the keys the whole graph gives
    /// its layers (the file's other layers are then expected, not refused).
    static func loadKeras3Layout(_ file: H5ReadGroup, into model: Model<Float>, partKeys: [String]? = nil) throws {
        let layersGroup = try file.group("layers")
        let keys = partKeys.map { (layers: $0, inputs: [String]()) } ?? layerKeys(model.spec)
        var new = model.weights
        for (li, layer) in model.spec.layers.enumerated() {
            let range = model.layerWeightRanges[li]
            var next = range.lowerBound
            for group in try KerasLayers.codec(for: layer).keras3GroupsAny(layer, weightCount: range.count) where group.count > 0 {
                let varsPath = "\(keys.layers[li])/\(group.path)"
                guard layersGroup.has(varsPath) else {
                    throw LSTMError.shapeMismatch("the file has no weights for layer '\(layer.name)' (\(layer.kind)): expected layers/\(varsPath)")
                }
                let vars = try layersGroup.group(varsPath)
                let names = try sortedIndexNames(vars)
                guard names.count == group.count else {
                    throw LSTMError.shapeMismatch("layer '\(layer.name)': the file holds \(names.count) weights in layers/\(varsPath), the model has \(group.count)")
                }
                for name in names {
                    new[next] = try readWeight(vars, name, model, next, layer: layer.name)
                    next += 1
                }
            }
        }
        let known = Set(keys.layers + keys.inputs)
        let extra = layersGroup.memberNames().filter { !known.contains($0) }
        guard extra.isEmpty || partKeys != nil else {
            throw LSTMError.shapeMismatch("the file holds weights for layers the model does not have: \(extra.joined(separator: ", "))")
        }
        // Both checked before either is kept: a bad optimizer state leaves the weights as they were.
        let optimizerBefore = model.optimizerSlots
        try restoreOptimizer(file, into: model)
        do {
            try model.setWeights(new)
        } catch {
            if let o = optimizerBefore { try? model.setOptimizerSlots(iterations: o.iterations, slots: o.slots) }
            throw error
        }
    }

    /// Dataset names "0", "1", ..., "10" in numeric order.
    static func sortedIndexNames(_ g: H5ReadGroup) throws -> [String] {
        let names = g.memberNames().filter { g.isDataset($0) }
        let numbers = try names.map { n -> Int in
            guard let v = Int(n), v >= 0 else { throw LSTMError.format("\(g.location): unexpected dataset '\(n)'") }
            return v
        }
        return zip(numbers, names).sorted { $0.0 < $1.0 }.map(\.1)
    }

    static func restoreOptimizer(_ file: H5ReadGroup, into model: Model<Float>) throws {
        guard model.compileSpec != nil, file.has("optimizer/vars") else { return }
        let vars = try file.group("optimizer/vars")
        let names = try sortedIndexNames(vars)
        // Keras keeps the learning rate as a variable unless a schedule gives it.
        let leading = model.compileSpec?.optimizer.schedule == nil ? 2 : 1
        guard names.count >= leading, let expected = model.optimizerSlots, names.count == leading + expected.slots.count else { return }
        let iterations = try vars.readInt(names[0])
        // Each slot has its weight's shape (checked before it is read, as the weights are).
        let slotShapes = model.optimizerSlotShapes
        let slots = try names.dropFirst(leading).enumerated().map { i, name -> [Float] in
            let want = slotShapes[i], shape = try vars.datasetShape(name)
            guard shape == want else {
                throw LSTMError.shapeMismatch("\(vars.path(name)): optimizer variable \(i + leading) has shape \(shapeText(shape)), its weight's is \(shapeText(want))")
            }
            return try vars.readFloats(name).values
        }
        try model.setOptimizerSlots(iterations: Int(iterations), slots: slots)
    }

    static func writeKeras3Layout(_ file: H5WriteGroup, model: Model<Float>) throws {
        let layersGroup = try file.createGroup("layers")
        let keys = layerKeys(model.spec)
        for (li, layer) in model.spec.layers.enumerated() where !keys.layers[li].isEmpty {
            let g = try layersGroup.createGroup(keys.layers[li])
            let range = model.layerWeightRanges[li]
            var next = range.lowerBound
            for group in try KerasLayers.codec(for: layer).keras3GroupsAny(layer, weightCount: range.count) {
                var target = g
                for part in group.path.split(separator: "/").map(String.init) {
                    target = target.isGroup(part) ? try target.group(part) : try target.createGroup(part)
                }
                for j in 0..<group.count {
                    try target.writeFloats(String(j), shape: model.weightShapes[next], values: model.weights[next])
                    next += 1
                }
                try target.writeStringAttribute("name", group.nameAttribute)
            }
        }
        for (key, input) in zip(keys.inputs, model.spec.inputs) {
            try layersGroup.createGroup(key).createGroup("vars").writeStringAttribute("name", input.name)
        }
        if let c = model.compileSpec, let state = model.optimizerSlots {
            let vars = try file.createGroup("optimizer").createGroup("vars")
            try vars.writeStringAttribute("name", c.optimizer.className.lowercased())
            try vars.writeInt("0", Int64(state.iterations))
            // Keras keeps the learning rate as a variable unless a schedule gives it.
            var next = 1
            if c.optimizer.schedule == nil {
                try vars.writeFloats("1", shape: [], values: [Float(c.optimizer.learningRate)])
                next = 2
            }
            let slotShapes = model.optimizerSlotShapes
            for (i, s) in state.slots.enumerated() {
                try vars.writeFloats(String(i + next), shape: slotShapes[i], values: s)
            }
        }
        try file.createGroup("vars").writeStringAttribute("name", model.spec.name)
    }

    // MARK: - Legacy (Keras 2) layout

    /// One layer with weights in a legacy file: its name there, its group, its arrays' names in order.
    struct LegacyFileLayer {
        let name: String
        let group: H5ReadGroup
        let arrays: [String]
    }

    /// Keras 1 and 2's layout: a layer_names attribute, each layer's weight_names.
    /// `byName`: the model's layers with weights take those of the file's layers of the same
    /// name (a part of the file's graph); else the file's layers with weights in order.
    static func readLegacyLayout(_ g: H5ReadGroup, model: Model<Float>, byName: Bool = false) throws -> [[Float]] {
        guard let layerNames = try g.stringsAttribute("layer_names") else {
            throw LSTMError.format("\(g.location): no 'layer_names' attribute (not Keras weights)")
        }
        var fileLayers: [LegacyFileLayer] = []
        for name in layerNames {
            let lg = try g.group(name)
            let w = try lg.stringsAttribute("weight_names") ?? []
            if !w.isEmpty { fileLayers.append(LegacyFileLayer(name: name, group: lg, arrays: w)) }
        }
        if byName {
            let withWeights = model.spec.layers.indices.filter { !model.layerWeightRanges[$0].isEmpty }.map { model.spec.layers[$0] }
            fileLayers = try withWeights.map { layer in
                guard let f = fileLayers.first(where: { $0.name == layer.name }) else {
                    throw LSTMError.shapeMismatch("the file holds no weights for layer '\(layer.name)' (\(layer.kind))")
                }
                return f
            }
        }
        return try weightsByPosition(fileLayers, model: model)
    }

    /// Whether `g` holds Keras 0.x weights: an nb_layers attribute and groups layer_0, layer_1, ...
    static func isKeras0Layout(_ g: H5ReadGroup) -> Bool {
        g.isGroup("layer_0") && ((try? g.attributeNames())?.contains("nb_layers") ?? false)
    }

    /// Keras 0.x's layout (before 1.0): groups layer_0, layer_1, ... holding param_0, param_1,
    /// ... in order (a recurrent layer's one array per gate).
    static func readKeras0Layout(_ g: H5ReadGroup, model: Model<Float>) throws -> [[Float]] {
        var fileLayers: [LegacyFileLayer] = []
        var k = 0
        while g.isGroup("layer_\(k)"), k < HDF5Reader.maxMembers {
            let lg = try g.group("layer_\(k)")
            var params: [String] = []
            while params.count < HDF5Reader.maxMembers, lg.isDataset("param_\(params.count)") { params.append("param_\(params.count)") }
            if !params.isEmpty { fileLayers.append(LegacyFileLayer(name: "layer_\(k)", group: lg, arrays: params)) }
            k += 1
        }
        return try weightsByPosition(fileLayers, model: model)
    }

    /// The file's layers with weights matched to the model's by position, as Keras matches
    /// them; arrays in an older layout of their class (Keras 0.x/1.x per-gate arrays, CuDNN's)
    /// are turned into today's first (the codec's `weightsFromOlderLayout`).
    static func weightsByPosition(_ fileLayers: [LegacyFileLayer], model: Model<Float>) throws -> [[Float]] {
        let withWeights = model.spec.layers.indices.filter { !model.layerWeightRanges[$0].isEmpty }
        guard fileLayers.count == withWeights.count else {
            throw LSTMError.shapeMismatch("the file holds weights for \(fileLayers.count) layers (\(fileLayers.map(\.name).joined(separator: ", "))), the model has \(withWeights.count) layers with weights")
        }
        var new = model.weights
        for (fileLayer, li) in zip(fileLayers, withWeights) {
            let layer = model.spec.layers[li], range = model.layerWeightRanges[li]
            let expected = range.map { model.weightShapes[$0] }
            let shapes = try fileLayer.arrays.map { try fileLayer.group.datasetShape($0) }
            if shapes == expected {
                for (j, k) in range.enumerated() {
                    new[k] = try readWeight(fileLayer.group, fileLayer.arrays[j], model, k, layer: layer.name)
                }
                continue
            }
            let where_ = "layer '\(layer.name)' (file layer '\(fileLayer.name)')"
            // An older layout holds as many values as today's (a CuDNN LSTM's bias twice as
            // many): nothing past twice the model's count is read before a layout is recognised,
            // as readWeight reads nothing of a shape it refuses.
            let fileCount = try shapes.reduce(0) { sum, shape in
                let (total, overflow) = sum.addingReportingOverflow(try checkedProduct(shape, where_))
                guard !overflow else { throw LSTMError.format("\(where_): absurd array sizes") }
                return total
            }
            let modelCount = range.reduce(0) { $0 + model.weights[$1].count }
            let arrays = fileCount <= 2 * modelCount ? try fileLayer.arrays.map { try fileLayer.group.readFloats($0) } : nil
            guard let arrays, let converted = try KerasLayers.codec(for: layer).weightsFromOlderLayoutAny(layer, arrays, expected: expected, where_) else {
                if fileLayer.arrays.count != range.count {
                    throw LSTMError.shapeMismatch("\(where_): the file holds \(fileLayer.arrays.count) weights, the model has \(range.count)")
                }
                // Today's layout with a wrong shape: named by the first array that differs.
                for (j, k) in range.enumerated() { _ = try readWeight(fileLayer.group, fileLayer.arrays[j], model, k, layer: layer.name) }
                throw LSTMError.shapeMismatch("\(where_): the file's weights do not fit")
            }
            for (k, values) in zip(range, converted) {
                guard values.count == model.weights[k].count else {
                    let weight = model.weightNames[k].split(separator: "/").last.map(String.init) ?? model.weightNames[k]
                    throw LSTMError.shapeMismatch("\(where_): \(weight) from the file's older layout holds \(values.count) values, the model's \(shapeText(model.weightShapes[k])) holds \(model.weights[k].count)")
                }
                new[k] = values
            }
        }
        return new
    }

    static func writeLegacyLayout(_ g: H5WriteGroup, model: Model<Float>, prefix: String = "") throws {
        let spec = model.spec
        // A functional model's InputLayers are listed too (without weights), as tf-keras lists them.
        let names: [String] = spec.isSequential ? spec.layers.map(\.name) : KerasFunctional.kerasOrder(spec).compactMap { op in
            switch op {
            case .input(let i): return spec.inputs[i].name
            case .layer(let l): return KerasLayers.isOperation(spec.layers[l]) ? nil : spec.layers[l].name
            }
        }
        try g.writeStringsAttribute("layer_names", names)
        for name in names where !spec.layers.contains(where: { $0.name == name }) {
            try g.createGroup(name).writeStringsAttribute("weight_names", [])
        }
        for (li, layer) in spec.layers.enumerated() where !KerasLayers.isOperation(layer) {
            let lg = try g.createGroup(layer.name)
            let range = model.layerWeightRanges[li]
            // The layer's own names of its weights: what follows "layer/" in the model's names.
            let own = range.map { String(model.weightNames[$0].dropFirst(layer.name.count + 1)) }
            let paths = try KerasLayers.codec(for: layer).legacyWeightPathsAny(layer, weights: own)
            var weightNames: [String] = []
            for (k, relative) in zip(range, paths) {
                let path = prefix + relative
                weightNames.append(path)
                var parent = lg
                let parts = path.split(separator: "/").map(String.init)
                for part in parts.dropLast() {
                    parent = parent.isGroup(part) ? try parent.group(part) : try parent.createGroup(part)
                }
                try parent.writeFloats(parts.last!, shape: model.weightShapes[k], values: model.weights[k])
            }
            try lg.writeStringsAttribute("weight_names", weightNames)
        }
        if !prefix.isEmpty {
            try g.createGroup("top_level_model_weights").writeStringsAttribute("weight_names", [])
        }
    }
}

extension LSTMError {
    /// The same error with `text` replaced in its message.
    func replacing(_ text: String, with other: String) -> LSTMError {
        func r(_ m: String) -> String { m.split(separator: text, omittingEmptySubsequences: false).joined(separator: other) }
        switch self {
        case .invalidArgument(let m): return .invalidArgument(r(m))
        case .shapeMismatch(let m): return .shapeMismatch(r(m))
        case .invalidState(let m): return .invalidState(r(m))
        case .io(let m): return .io(r(m))
        case .format(let m): return .format(r(m))
        case .unsupported(let m): return .unsupported(r(m))
        case .numeric(let m): return .numeric(r(m))
        case .memory(let m): return .memory(r(m))
        case .cancelled(let m): return .cancelled(r(m))
        case .internal(let m): return .internal(r(m))
        }
    }
}
