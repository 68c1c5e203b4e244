import Foundation
import TensorCore

/// Reading and writing a model folder in diffusers' format: `config.json` and
/// `diffusion_pytorch_model.safetensors` (or a sharded set with its `.index.json`), tensors keyed by
/// diffusers' names. What we write, `CogVideoXTransformer3DModel.from_pretrained` reads.
extension CogVideoXTransformer {
    public static let weightsFileName = "diffusion_pytorch_model.safetensors"
    public static let weightsIndexFileName = "diffusion_pytorch_model.safetensors.index.json"

    /// Loads `config.json` and the weights from a diffusers model folder.
    public static func load(directory: URL) throws -> CogVideoXTransformer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelError.badWeights(directory.path, "no such model folder")
        }
        let config = try CogVideoXConfig.load(directory.appendingPathComponent("config.json"))
        let model = try CogVideoXTransformer(config: config)
        let single = directory.appendingPathComponent(weightsFileName)
        let index = directory.appendingPathComponent(weightsIndexFileName)
        var tensors: [String: SafeTensor] = [:]
        var sources: [String: String] = [:]
        if FileManager.default.fileExists(atPath: single.path) {
            let f = try SafeTensorsFile.readMapped(single)
            tensors = f.tensors
            for k in f.tensors.keys { sources[k] = single.path }
        } else if FileManager.default.fileExists(atPath: index.path) {
            guard let data = try? Data(contentsOf: index),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = obj["weight_map"] as? [String: String] else {
                throw ModelError.badWeights(index.path, "not a safetensors index (needs a \"weight_map\" object)")
            }
            for shard in Set(map.values).sorted() {
                guard !shard.contains("/") else { throw ModelError.badWeights(index.path, "shard name \(shard) is not a plain file name") }
                let url = directory.appendingPathComponent(shard)
                let f = try SafeTensorsFile.readMapped(url)
                for (k, v) in f.tensors { tensors[k] = v; sources[k] = url.path }
            }
        } else {
            throw ModelError.badWeights(directory.path, "no \(weightsFileName) (or \(weightsIndexFileName)) in the folder")
        }
        try model.loadWeights(tensors, source: directory.path)
        return model
    }

    /// Copies named tensors into the parameter slab. Missing, unexpected and mis-shaped keys are all
    /// reported together in one error.
    public func loadWeights(_ tensors: [String: SafeTensor], source: String) throws {
        var missing: [String] = [], misshaped: [String] = []
        for e in layout.entries {
            guard let t = tensors[e.name] else { missing.append(e.name); continue }
            guard t.shape == e.shape else { misshaped.append("\(e.name) is \(t.shape), expected \(e.shape)"); continue }
        }
        // diffusers stores no position buffer for CogVideoX-2b; a persistent one would be 5B-I2V's.
        let unexpected = tensors.keys.filter { layout.entry($0) == nil }.sorted()
        if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty {
            func list(_ kind: String, _ items: [String], _ separator: String) -> String? {
                guard !items.isEmpty else { return nil }
                let more = items.count > 5 ? "\(separator)... and \(items.count - 5) more" : ""
                return "\(kind) \(items.count): " + items.prefix(5).joined(separator: separator) + more
            }
            var parts = [list("missing", missing, ", "), list("unexpected", unexpected, ", "),
                         list("mis-shaped", misshaped, "; ")].compactMap { $0 }
            if !misshaped.isEmpty { parts.append("does config.json describe these weights?") }
            throw ModelError.badWeights(source, parts.joined(separator: "; "))
        }
        for e in layout.entries {
            let values = tensors[e.name]!.floats()
            guard values.allSatisfy({ $0.isFinite }) else {
                throw ModelError.badWeights(source, "\(e.name) holds NaN or infinite values")
            }
            (parameters.p + e.offset).update(from: values, count: e.count)
        }
    }

    /// The parameters as named tensors (diffusers' names and shapes), Float32 or half precision.
    public func namedTensors(as dtype: SafeTensorsDType = .f32) throws -> [(name: String, tensor: SafeTensor)] {
        try layout.entries.map { e in
            let values = Array(UnsafeBufferPointer(start: parameters.p + e.offset, count: e.count))
            return (e.name, try SafeTensor(floats: values, shape: e.shape, as: dtype))
        }
    }

    /// Writes `config.json` and `diffusion_pytorch_model.safetensors` into `directory` (created if
    /// needed), each file atomically.
    public func save(directory: URL, dtype: SafeTensorsDType = .f32, metadata: [String: String] = [:]) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ModelError.badWeights(directory.path, "cannot create the folder (\(error.localizedDescription))")
        }
        var meta = metadata
        meta["format"] = "pt"
        try SafeTensorsFile.write(try namedTensors(as: dtype), metadata: meta,
                                  to: directory.appendingPathComponent(Self.weightsFileName))
        do {
            try config.jsonData().write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        } catch {
            throw ModelError.badWeights(directory.path, "cannot write config.json (\(error.localizedDescription))")
        }
    }
}
