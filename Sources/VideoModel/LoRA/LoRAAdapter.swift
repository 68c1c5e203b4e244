import Foundation
import TensorCore

/// A LoRA for the CogVideoX transformer in diffusers' `pytorch_lora_weights.safetensors` format, as
/// `CogVideoXPipeline.save_lora_weights` writes it and `load_lora_weights` reads it (TDM's published
/// CogVideoX-2B student is such a file).
///
/// Keys are `transformer.<module>.lora_A.weight` [r, in] and `transformer.<module>.lora_B.weight` [out, r] for
/// Linear modules of the transformer (diffusers names, e.g. `transformer_blocks.3.attn1.to_q`). The
/// effective weight of a module is W + scaling * adapter_scale * B @ A with scaling = lora_alpha / r
/// (lora_alpha / sqrt(r) with rsLoRA); biases are unchanged. r, lora_alpha, use_rslora, rank_pattern and
/// alpha_pattern come from the JSON in `__metadata__["lora_adapter_metadata"]` (keys prefixed
/// `transformer.`); a pattern applies to a module whose name ends with it at a dot boundary, as peft matches
/// them. Without that metadata diffusers takes lora_alpha = r, so scaling is 1.
///
/// Everything is checked when the file is read and again against the model (`validate(for:)`): unknown keys,
/// A without B, inconsistent ranks, modules the transformer does not have, shape mismatches, and LoRA variants
/// this code does not compute (DoRA, LoRA biases) are errors naming the file and the key.
public struct LoRAAdapter: Sendable {
    /// One adapted Linear module.
    public struct Target: Sendable {
        /// diffusers' module name, e.g. "transformer_blocks.0.attn1.to_q"; its weight is `module + ".weight"`.
        public var module: String
        public var rank: Int
        public var inFeatures: Int
        public var outFeatures: Int
        /// lora_A [rank, in] and lora_B [out, rank], row-major, widened to Float32.
        public var a: [Float]
        public var b: [Float]
        /// lora_alpha / rank (or / sqrt(rank) with rsLoRA), before the adapter scale.
        public var scaling: Float
    }

    public var targets: [Target]
    /// The file the adapter came from, for messages.
    public var source: String

    public static let prefix = "transformer."

    /// Reads a diffusers LoRA file.
    public static func load(_ url: URL) throws -> LoRAAdapter {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(url) } catch {
            throw ModelError.badWeights(url.path, "\(error)")
        }
        return try LoRAAdapter(file: file, source: url.path)
    }

    public init(file: SafeTensorsFile, source: String) throws {
        func bad(_ key: String, _ why: String) -> ModelError { .badWeights(source, "\"\(key)\": \(why)") }
        self.source = source
        let metadata = try Self.Metadata(file.metadata["lora_adapter_metadata"], source: source)

        // Pair up lora_A / lora_B per module.
        var pairs: [String: (a: SafeTensor?, b: SafeTensor?)] = [:]
        for (key, tensor) in file.tensors {
            guard key.hasPrefix(Self.prefix) else {
                throw bad(key, "not a transformer LoRA key (expected \"\(Self.prefix)<module>.lora_A.weight\" / \"lora_B.weight\"; text-encoder LoRAs are not supported)")
            }
            let name = String(key.dropFirst(Self.prefix.count))
            if name.hasSuffix(".lora_A.weight") {
                pairs[String(name.dropLast(".lora_A.weight".count)), default: (nil, nil)].a = tensor
            } else if name.hasSuffix(".lora_B.weight") {
                pairs[String(name.dropLast(".lora_B.weight".count)), default: (nil, nil)].b = tensor
            } else if name.hasSuffix(".lora_magnitude_vector") || name.contains(".lora_magnitude_vector.") {
                throw bad(key, "DoRA magnitude vectors are not supported")
            } else if name.hasSuffix(".lora_B.bias") {
                throw bad(key, "LoRA biases (lora_bias) are not supported")
            } else {
                throw bad(key, "unknown LoRA key (expected <module>.lora_A.weight or <module>.lora_B.weight)")
            }
        }
        guard !pairs.isEmpty else { throw ModelError.badWeights(source, "no LoRA tensors in the file") }

        let ranks = pairs.values.compactMap { $0.a?.shape.first }
        if metadata == nil && Set(ranks).count > 1 {
            throw ModelError.badWeights(source, "the modules have different ranks \(Set(ranks).sorted()) and the file has no lora_adapter_metadata, so lora_alpha is undetermined")
        }
        var targets: [Target] = []
        for module in pairs.keys.sorted() {
            let pair = pairs[module]!
            let keyA = Self.prefix + module + ".lora_A.weight", keyB = Self.prefix + module + ".lora_B.weight"
            guard let a = pair.a else { throw bad(keyB, "has no matching \(keyA)") }
            guard let b = pair.b else { throw bad(keyA, "has no matching \(keyB)") }
            guard a.shape.count == 2, b.shape.count == 2 else {
                throw bad(keyA, "lora_A \(a.shape) and lora_B \(b.shape) must both be matrices (Conv LoRAs are not supported)")
            }
            let rank = a.shape[0]
            guard rank > 0, b.shape[1] == rank else {
                throw bad(keyB, "lora_B is \(b.shape) but lora_A is \(a.shape): the rank must agree")
            }
            guard [.f32, .f16, .bf16, .f64].contains(a.dtype), [.f32, .f16, .bf16, .f64].contains(b.dtype) else {
                throw bad(keyA, "LoRA tensors must be floating point, got \(a.dtype.rawValue) / \(b.dtype.rawValue)")
            }
            let av = a.floats(), bv = b.floats()
            guard av.allSatisfy({ $0.isFinite }), bv.allSatisfy({ $0.isFinite }) else {
                throw bad(keyA, "holds NaN or infinite values")
            }
            var alpha = Double(rank), rslora = false
            if let metadata {
                let r = try metadata.rank(for: module)
                guard r == rank else {
                    throw bad(keyA, "has rank \(rank) but the metadata gives r = \(r) for \(module)")
                }
                alpha = try metadata.alpha(for: module)
                rslora = metadata.useRSLoRA
            }
            let scaling = rslora ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
            targets.append(Target(module: module, rank: rank, inFeatures: a.shape[1], outFeatures: b.shape[0],
                                  a: av, b: bv, scaling: Float(scaling)))
        }
        self.targets = targets
    }

    /// Checks every target against the model: the module must be a Linear weight of the transformer with
    /// shape [out, in] equal to lora_B's rows and lora_A's columns.
    public func validate(for model: CogVideoXTransformer) throws {
        for t in targets {
            let keyA = Self.prefix + t.module + ".lora_A.weight"
            guard let e = model.layout.entry(t.module + ".weight"), e.shape.count == 2 else {
                throw ModelError.badWeights(source, "\"\(keyA)\": the transformer has no Linear module \"\(t.module)\"")
            }
            guard e.shape == [t.outFeatures, t.inFeatures] else {
                throw ModelError.badWeights(source, "\"\(keyA)\": \(t.module).weight is \(e.shape) but the LoRA gives [\(t.outFeatures), \(t.inFeatures)] (lora_B rows, lora_A columns)")
            }
        }
    }

    /// The metadata diffusers stores with the LoRA (peft's LoraConfig fields, prefixed "transformer.").
    struct Metadata {
        var r: Int
        var loraAlpha: Double
        var useRSLoRA: Bool
        var rankPattern: [String: Int]
        var alphaPattern: [String: Double]
        var source: String

        init?(_ text: String?, source: String) throws {
            guard let text else { return nil }
            func bad(_ why: String) -> ModelError { .badWeights(source, "lora_adapter_metadata: \(why)") }
            guard let json = JSONValue.parse(Data(text.utf8))?.object else { throw bad("not a JSON object") }
            let p = LoRAAdapter.prefix
            guard json.keys.contains(where: { $0.hasPrefix(p) }) else {
                throw bad("has no \"\(p)*\" entries (only transformer LoRAs are supported)")
            }
            self.source = source
            guard let r = json[p + "r"]?.integer, r > 0 else {
                throw bad("\"\(p)r\" must be a positive integer, got \(json[p + "r"]?.brief ?? "nothing")")
            }
            self.r = r
            if let a = json[p + "lora_alpha"], !a.isNull {
                guard let alpha = a.number else { throw bad("\"\(p)lora_alpha\" must be a number, got \(a.brief)") }
                loraAlpha = alpha
            } else {
                loraAlpha = Double(r)
            }
            useRSLoRA = false
            if let v = json[p + "use_rslora"], !v.isNull {
                guard let flag = v.bool else { throw bad("\"\(p)use_rslora\" must be true or false, got \(v.brief)") }
                useRSLoRA = flag
            }
            for flag in ["use_dora", "fan_in_fan_out", "lora_bias"] {
                if json[p + flag]?.bool == true { throw bad("\"\(p)\(flag)\" is true, which is not supported") }
            }
            rankPattern = [:]
            alphaPattern = [:]
            if let v = json[p + "rank_pattern"], !v.isNull {
                guard let o = v.object else { throw bad("\"\(p)rank_pattern\" must be an object, got \(v.brief)") }
                for (k, value) in o {
                    guard let n = value.integer, n > 0 else { throw bad("rank_pattern[\"\(k)\"] must be a positive integer, got \(value.brief)") }
                    rankPattern[k] = n
                }
            }
            if let v = json[p + "alpha_pattern"], !v.isNull {
                guard let o = v.object else { throw bad("\"\(p)alpha_pattern\" must be an object, got \(v.brief)") }
                for (k, value) in o {
                    guard let n = value.number else { throw bad("alpha_pattern[\"\(k)\"] must be a number, got \(value.brief)") }
                    alphaPattern[k] = n
                }
            }
        }

        /// peft's `get_pattern_key`: a pattern (a regular expression) applies to a module whose full name matches
        /// `(.*\.)?(pattern)$`. When several patterns match they must agree (JSON objects are unordered here,
        /// while peft takes the first in file order).
        func lookup<V: Equatable>(_ patterns: [String: V], _ module: String, _ field: String) throws -> V? {
            var found: [(String, V)] = []
            for (pattern, value) in patterns.sorted(by: { $0.key < $1.key }) {
                let regex: NSRegularExpression
                do { regex = try NSRegularExpression(pattern: "^(.*\\.)?(\(pattern))$") } catch {
                    throw ModelError.badWeights(source, "lora_adapter_metadata: \(field) key \"\(pattern)\" is not a valid pattern")
                }
                let range = NSRange(module.startIndex..<module.endIndex, in: module)
                if regex.firstMatch(in: module, range: range) != nil { found.append((pattern, value)) }
            }
            guard let first = found.first else { return nil }
            if found.contains(where: { $0.1 != first.1 }) {
                throw ModelError.badWeights(source, "lora_adapter_metadata: \(field) patterns \(found.map(\.0)) all match \(module) with different values")
            }
            return first.1
        }

        func rank(for module: String) throws -> Int { try lookup(rankPattern, module, "rank_pattern") ?? r }
        func alpha(for module: String) throws -> Double { try lookup(alphaPattern, module, "alpha_pattern") ?? loraAlpha }
    }
}
