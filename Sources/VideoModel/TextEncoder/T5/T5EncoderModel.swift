import Foundation
import TensorCore

/// transformers' `T5EncoderModel` (T5 v1.1, the text encoder of CogVideoX), read from a `text_encoder/`
/// folder and run on the CPU.
///
/// What it computes (fixtures README, `t5-encoder-tiny/`): h = embedding(ids), with no scaling and no absolute
/// positions; per block h += o(attention(RMS(h))) with the relative position bias of block 0 shared by every
/// block and no 1/sqrt(d_kv) factor, then h += wo(gelu_new(wi_0(RMS(h))) * wi_1(RMS(h))); the output is the
/// final RMS(h). No biases anywhere.
///
/// Memory: the weights stay in their stored precision (F32, F16 or BF16), as slices of the memory-mapped
/// safetensors files or of in-memory buffers; each projection is widened to Float32 into one scratch buffer
/// just before its GEMM. T5-XXL (4.76 B parameters, 9.5 GB in bf16) therefore needs its stored bytes plus
/// one widened weight pair (wi_0 and wi_1: 335 MB) and the activations, not 19 GB of Float32.
public final class T5EncoderModel: @unchecked Sendable {
    public let config: T5Config
    /// The folder (or the caller's name for in-memory weights), for messages.
    public let source: String

    /// One `T5Block` of the encoder: `layer.0` is self-attention, `layer.1` the gated feed-forward.
    struct Block {
        var attentionNorm: SafeTensor, q: SafeTensor, k: SafeTensor, v: SafeTensor, o: SafeTensor
        var feedForwardNorm: SafeTensor, wi0: SafeTensor, wi1: SafeTensor, wo: SafeTensor
    }

    let embedding: SafeTensor
    let relativeAttentionBias: SafeTensor
    let blocks: [Block]
    let finalNorm: SafeTensor
    /// Block 0's position-bias table [num_buckets, num_heads], widened once (it is tiny).
    let biasTable: [Float]

    public static let weightsFileName = "model.safetensors"
    public static let weightsIndexFileName = "model.safetensors.index.json"

    /// The diffusers-pipeline key names with their shapes, in forward order (`shared.weight` first).
    public static func expectedShapes(_ c: T5Config) -> [(name: String, shape: [Int])] {
        var list: [(String, [Int])] = [("shared.weight", [c.vocabSize, c.dModel])]
        for i in 0..<c.numLayers {
            let a = "encoder.block.\(i).layer.0.", f = "encoder.block.\(i).layer.1."
            list.append((a + "layer_norm.weight", [c.dModel]))
            list.append((a + "SelfAttention.q.weight", [c.innerDim, c.dModel]))
            list.append((a + "SelfAttention.k.weight", [c.innerDim, c.dModel]))
            list.append((a + "SelfAttention.v.weight", [c.innerDim, c.dModel]))
            list.append((a + "SelfAttention.o.weight", [c.dModel, c.innerDim]))
            if i == 0 {
                list.append((a + "SelfAttention.relative_attention_bias.weight", [c.relativeAttentionNumBuckets, c.numHeads]))
            }
            list.append((f + "layer_norm.weight", [c.dModel]))
            list.append((f + "DenseReluDense.wi_0.weight", [c.dFF, c.dModel]))
            list.append((f + "DenseReluDense.wi_1.weight", [c.dFF, c.dModel]))
            list.append((f + "DenseReluDense.wo.weight", [c.dModel, c.dFF]))
        }
        list.append(("encoder.final_layer_norm.weight", [c.dModel]))
        return list
    }

    /// Loads `config.json` and `model.safetensors` (or the shards listed by `model.safetensors.index.json`,
    /// as the real T5-XXL folder has them) from a transformers `text_encoder/` folder. The safetensors files
    /// are memory-mapped, not read.
    public static func load(directory: URL) throws -> T5EncoderModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.badWeights(directory.path, "no such text encoder folder")
        }
        let config = try T5Config.load(directory.appendingPathComponent("config.json"))
        let single = directory.appendingPathComponent(weightsFileName)
        let index = directory.appendingPathComponent(weightsIndexFileName)
        var tensors: [String: SafeTensor] = [:]
        if FileManager.default.fileExists(atPath: single.path) {
            tensors = try SafeTensorsFile.readMapped(single).tensors
        } else if FileManager.default.fileExists(atPath: index.path) {
            guard let data = try? Data(contentsOf: index), let json = JSONValue.parse(data)?.object,
                  let map = json["weight_map"]?.object else {
                throw ModelError.badWeights(index.path, "not a safetensors index (needs a \"weight_map\" object)")
            }
            var shards: [String: [String]] = [:]
            for (key, value) in map {
                guard let shard = value.string, !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                    throw ModelError.badWeights(index.path, "weight_map[\"\(key)\"] must be a plain file name, got \(value.brief)")
                }
                shards[shard, default: []].append(key)
            }
            for (shard, keys) in shards.sorted(by: { $0.key < $1.key }) {
                let url = directory.appendingPathComponent(shard)
                let file = try SafeTensorsFile.readMapped(url)
                for key in keys where file[key] == nil {
                    throw ModelError.badWeights(url.path, "the index places \"\(key)\" in this shard, which does not hold it")
                }
                for (key, tensor) in file.tensors {
                    guard tensors.updateValue(tensor, forKey: key) == nil else {
                        throw ModelError.badWeights(url.path, "\"\(key)\" appears in more than one shard")
                    }
                }
            }
        } else {
            throw ModelError.badWeights(directory.path, "no \(weightsFileName) (or \(weightsIndexFileName)) in the folder")
        }
        return try T5EncoderModel(config: config, tensors: tensors, source: directory.path)
    }

    /// Builds the encoder over named tensors (transformers' names). Missing, unexpected and mis-shaped keys
    /// are reported together; `decoder.*` and `lm_head.*` (a whole T5 checkpoint) are ignored as
    /// `T5EncoderModel.from_pretrained` ignores them; `encoder.embed_tokens.weight`, tied to `shared.weight`,
    /// may stand in for it or accompany it.
    public init(config: T5Config, tensors: [String: SafeTensor], source: String) throws {
        try config.validate(source: source)
        var tensors = tensors
        let tied = "encoder.embed_tokens.weight"
        if let embed = tensors.removeValue(forKey: tied), tensors["shared.weight"] == nil {
            tensors["shared.weight"] = embed
        }
        let expected = Self.expectedShapes(config)
        var missing: [String] = [], misshaped: [String] = [], badType: [String] = []
        for (name, shape) in expected {
            guard let t = tensors[name] else { missing.append(name); continue }
            if t.shape != shape { misshaped.append("\(name) is \(t.shape), expected \(shape)") }
            if ![.f32, .f16, .bf16].contains(t.dtype) { badType.append("\(name) is \(t.dtype.rawValue)") }
        }
        let known = Set(expected.map(\.name))
        let unexpected = tensors.keys.filter {
            !known.contains($0) && !$0.hasPrefix("decoder.") && !$0.hasPrefix("lm_head.")
        }.sorted()
        if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty || !badType.isEmpty {
            func list(_ kind: String, _ items: [String], _ separator: String) -> String? {
                guard !items.isEmpty else { return nil }
                let more = items.count > 5 ? "\(separator)... and \(items.count - 5) more" : ""
                return "\(kind) \(items.count): " + items.prefix(5).joined(separator: separator) + more
            }
            var parts = [list("missing", missing, ", "), list("unexpected", unexpected, ", "),
                         list("mis-shaped", misshaped, "; "),
                         list("not F32/F16/BF16", badType, "; ")].compactMap { $0 }
            if !misshaped.isEmpty { parts.append("does config.json describe these weights?") }
            throw ModelError.badWeights(source, parts.joined(separator: "; "))
        }
        self.config = config
        self.source = source
        embedding = tensors["shared.weight"]!
        relativeAttentionBias = tensors["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]!
        finalNorm = tensors["encoder.final_layer_norm.weight"]!
        blocks = (0..<config.numLayers).map { i in
            let a = "encoder.block.\(i).layer.0.", f = "encoder.block.\(i).layer.1."
            return Block(attentionNorm: tensors[a + "layer_norm.weight"]!, q: tensors[a + "SelfAttention.q.weight"]!,
                         k: tensors[a + "SelfAttention.k.weight"]!, v: tensors[a + "SelfAttention.v.weight"]!,
                         o: tensors[a + "SelfAttention.o.weight"]!, feedForwardNorm: tensors[f + "layer_norm.weight"]!,
                         wi0: tensors[f + "DenseReluDense.wi_0.weight"]!, wi1: tensors[f + "DenseReluDense.wi_1.weight"]!,
                         wo: tensors[f + "DenseReluDense.wo.weight"]!)
        }
        biasTable = relativeAttentionBias.floats()
        // A NaN or infinity in a small tensor is a broken file; the big matrices are not scanned (that would
        // page in all of T5-XXL at load time).
        for (name, t) in [("shared.weight", embedding), ("relative_attention_bias", relativeAttentionBias),
                          ("encoder.final_layer_norm.weight", finalNorm)] where t.count < 1 << 24 {
            guard t.floats().allSatisfy({ $0.isFinite }) else {
                throw ModelError.badWeights(source, "\(name) holds NaN or infinite values")
            }
        }
    }

    /// Number of parameters (the tied embedding counted once).
    public var parameterCount: Int {
        Self.expectedShapes(config).reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// Bytes the weights occupy in their stored precision.
    public var storedBytes: Int {
        var total = embedding.byteCount + relativeAttentionBias.byteCount + finalNorm.byteCount
        for b in blocks {
            for t in [b.attentionNorm, b.q, b.k, b.v, b.o, b.feedForwardNorm, b.wi0, b.wi1, b.wo] { total += t.byteCount }
        }
        return total
    }

    /// The position bias [num_heads, length, length] every block adds to its attention scores.
    public func positionBias(length: Int) -> [Float] {
        T5RelativePosition.bias(table: biasTable, heads: config.numHeads, length: length,
                                numBuckets: config.relativeAttentionNumBuckets,
                                maxDistance: config.relativeAttentionMaxDistance)
    }

    /// The encoder's output and, with `capture`, the intermediate states the fixtures name
    /// (`act.embed`, `act.block{i}`), each [batch, length, d_model].
    public struct Output: Sendable {
        public var lastHiddenState: [Float]
        public var activations: [String: [Float]]
    }

    /// `last_hidden_state` [batch, length, d_model] for `inputIds` [batch, length] (row-major).
    /// Without `attentionMask` every position attends to every position, padding included, as
    /// `CogVideoXPipeline._get_t5_prompt_embeds` calls the encoder; with it ([batch, length] of 0 / 1), keys
    /// marked 0 get zero attention weight (queries are not masked).
    public func forward(inputIds: [Int], batch: Int, attentionMask: [Int]? = nil) throws -> [Float] {
        try run(inputIds: inputIds, batch: batch, attentionMask: attentionMask, capture: false).lastHiddenState
    }

    public func run(inputIds: [Int], batch: Int, attentionMask: [Int]? = nil, capture: Bool) throws -> Output {
        guard batch > 0, !inputIds.isEmpty, inputIds.count % batch == 0 else {
            throw ModelError.badInput("T5 input_ids: \(inputIds.count) ids do not form a batch of \(batch) equal rows")
        }
        let c = config, length = inputIds.count / batch, rows = inputIds.count
        let d = c.dModel, inner = c.innerDim, dff = c.dFF, heads = c.numHeads, dkv = c.dKV
        if let bad = inputIds.first(where: { $0 < 0 || $0 >= embedding.shape[0] }) {
            throw ModelError.badInput("T5 input_ids: id \(bad) is outside the vocabulary 0..<\(embedding.shape[0])")
        }
        var keep: [Bool]? = nil
        if let mask = attentionMask {
            guard mask.count == rows else {
                throw ModelError.badInput("T5 attention_mask has \(mask.count) values, input_ids \(rows)")
            }
            guard mask.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw ModelError.badInput("T5 attention_mask must hold only 0 and 1")
            }
            keep = mask.map { $0 == 1 }
        }
        let eps = Float(c.layerNormEpsilon)
        let h = FloatBuffer(count: rows * d), normed = FloatBuffer(count: rows * d), delta = FloatBuffer(count: rows * d)
        let qkv = FloatBuffer(count: rows * 3 * inner), attention = FloatBuffer(count: rows * inner)
        let ff = FloatBuffer(count: rows * 2 * dff), gated = FloatBuffer(count: rows * dff)
        let weights = FloatBuffer(count: max(3 * inner * d, 2 * dff * d))
        let norm = FloatBuffer(count: d)
        var activations: [String: [Float]] = [:]

        // Embedding: one widened row per token.
        for (r, id) in inputIds.enumerated() { T5Kernels.widen(embedding, start: id * d, count: d, into: h.p + r * d) }
        if capture { activations["act.embed"] = h.array }

        let bias = positionBias(length: length)
        for (i, block) in blocks.enumerated() {
            // Self-attention: q, k, v from one GEMM over the widened [3 * inner, d] stack.
            T5Kernels.widen(block.attentionNorm, into: norm.p)
            T5Kernels.rmsNorm(out: normed.p, x: h.p, w: norm.p, rows: rows, dim: d, eps: eps)
            T5Kernels.widen(block.q, into: weights.p)
            T5Kernels.widen(block.k, into: weights.p + inner * d)
            T5Kernels.widen(block.v, into: weights.p + 2 * inner * d)
            Linear.forward(y: qkv.p, x: normed.p, w: weights.p, b: nil, m: rows, k: d, n: 3 * inner)
            let qp = qkv.sp, ap = attention.sp
            bias.withUnsafeBufferPointer { biasBuffer in
                let bp = SendablePointer(biasBuffer.baseAddress!)
                let keepBox = UncheckedBox(keep)
                parallelFor(batch * heads) { task in
                    let b = task / heads, head = task % heads
                    var scratch = [Float](repeating: 0, count: length * length)
                    let base = b * length * 3 * inner + head * dkv
                    scratch.withUnsafeMutableBufferPointer { sc in
                        let maskRow = keepBox.value.map { UncheckedBox($0) }
                        func attend(_ mask: UnsafePointer<Bool>?) {
                            T5Kernels.attentionHead(out: ap.p + b * length * inner + head * dkv, ldo: inner,
                                                    q: qp.p + base, k: qp.p + base + inner, v: qp.p + base + 2 * inner,
                                                    ld: 3 * inner, bias: bp.p + head * length * length, keep: mask,
                                                    length: length, headDim: dkv, scratch: sc.baseAddress!)
                        }
                        if let maskRow {
                            maskRow.value.withUnsafeBufferPointer { attend($0.baseAddress! + b * length) }
                        } else {
                            attend(nil)
                        }
                    }
                }
            }
            T5Kernels.widen(block.o, into: weights.p)
            Linear.forward(y: delta.p, x: attention.p, w: weights.p, b: nil, m: rows, k: inner, n: d)
            Self.add(h.p, delta.p, rows * d)

            // Gated-GELU feed-forward: wi_0 and wi_1 in one GEMM, gelu_new(x0) * x1, then wo.
            T5Kernels.widen(block.feedForwardNorm, into: norm.p)
            T5Kernels.rmsNorm(out: normed.p, x: h.p, w: norm.p, rows: rows, dim: d, eps: eps)
            T5Kernels.widen(block.wi0, into: weights.p)
            T5Kernels.widen(block.wi1, into: weights.p + dff * d)
            Linear.forward(y: ff.p, x: normed.p, w: weights.p, b: nil, m: rows, k: d, n: 2 * dff)
            let fp = ff.sp, gp = gated.sp
            parallelChunks(rows, minChunk: 8) { _, lo, hi in
                for r in lo..<hi {
                    let src = fp.p + r * 2 * dff, dst = gp.p + r * dff
                    var j = 0
                    while j + 8 <= dff {
                        let g = Activation.gelu(FastMath.load(src + j)) * FastMath.load(src + dff + j)
                        FastMath.store(g, dst + j)
                        j += 8
                    }
                    while j < dff { dst[j] = Activation.gelu(src[j]) * src[dff + j]; j += 1 }
                }
            }
            T5Kernels.widen(block.wo, into: weights.p)
            Linear.forward(y: delta.p, x: gated.p, w: weights.p, b: nil, m: rows, k: dff, n: d)
            Self.add(h.p, delta.p, rows * d)
            if capture { activations["act.block\(i)"] = h.array }
        }
        T5Kernels.widen(finalNorm, into: norm.p)
        T5Kernels.rmsNorm(out: normed.p, x: h.p, w: norm.p, rows: rows, dim: d, eps: eps)
        return Output(lastHiddenState: normed.array, activations: activations)
    }

    /// x += y over n values.
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        let xp = SendablePointer(x), yp = SendablePointer(y)
        parallelChunks(n, minChunk: 1 << 16) { _, lo, hi in
            for i in lo..<hi { xp.p[i] += yp.p[i] }
        }
    }
}
