/// Where each diffusers-named parameter lives in the model's single parameter slab (llm.c style: one
/// slab of parameters, one of gradients, same layout).
///
/// Order is ours, not diffusers': within a block, to_q/to_k/to_v weights (and their biases) are
/// adjacent so that one GEMM computes Q, K and V together. File I/O goes by name, so the order never
/// leaks into checkpoints.
public struct ParameterLayout: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var entries: [Entry] = []
    public private(set) var index: [String: Int] = [:]
    public private(set) var total = 0

    mutating func add(_ name: String, _ shape: [Int]) -> Int {
        let off = total
        index[name] = entries.count
        entries.append(Entry(name: name, shape: shape, offset: off))
        total += shape.reduce(1, *)
        return off
    }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Offsets of one transformer block's tensors.
    public struct Block: Sendable {
        public var norm1W = 0, norm1B = 0, norm1NormW = 0, norm1NormB = 0
        public var normQW = 0, normQB = 0, normKW = 0, normKB = 0
        public var qkvW = 0, qkvB = 0, outW = 0, outB = 0
        public var norm2W = 0, norm2B = 0, norm2NormW = 0, norm2NormB = 0
        public var ff0W = 0, ff0B = 0, ff2W = 0, ff2B = 0
    }

    public var patchW = 0, patchB = 0, textW = 0, textB = 0
    public var time1W = 0, time1B = 0, time2W = 0, time2B = 0
    public var blocks: [Block] = []
    public var normFinalW = 0, normFinalB = 0, normOutLinW = 0, normOutLinB = 0, normOutW = 0, normOutB = 0
    public var projW = 0, projB = 0

    public init(config c: CogVideoXConfig) {
        let d = c.innerDim, te = c.timeEmbedDim, hd = c.attentionHeadDim, p = c.patchSize
        patchW = add("patch_embed.proj.weight", [d, c.inChannels, p, p])
        patchB = add("patch_embed.proj.bias", [d])
        textW = add("patch_embed.text_proj.weight", [d, c.textEmbedDim])
        textB = add("patch_embed.text_proj.bias", [d])
        time1W = add("time_embedding.linear_1.weight", [te, d])
        time1B = add("time_embedding.linear_1.bias", [te])
        time2W = add("time_embedding.linear_2.weight", [te, te])
        time2B = add("time_embedding.linear_2.bias", [te])
        for i in 0..<c.numLayers {
            let pre = "transformer_blocks.\(i)."
            var b = Block()
            b.norm1W = add(pre + "norm1.linear.weight", [6 * d, te])
            b.norm1B = add(pre + "norm1.linear.bias", [6 * d])
            b.norm1NormW = add(pre + "norm1.norm.weight", [d])
            b.norm1NormB = add(pre + "norm1.norm.bias", [d])
            b.normQW = add(pre + "attn1.norm_q.weight", [hd])
            b.normQB = add(pre + "attn1.norm_q.bias", [hd])
            b.normKW = add(pre + "attn1.norm_k.weight", [hd])
            b.normKB = add(pre + "attn1.norm_k.bias", [hd])
            b.qkvW = add(pre + "attn1.to_q.weight", [d, d])
            _ = add(pre + "attn1.to_k.weight", [d, d])
            _ = add(pre + "attn1.to_v.weight", [d, d])
            b.qkvB = add(pre + "attn1.to_q.bias", [d])
            _ = add(pre + "attn1.to_k.bias", [d])
            _ = add(pre + "attn1.to_v.bias", [d])
            b.outW = add(pre + "attn1.to_out.0.weight", [d, d])
            b.outB = add(pre + "attn1.to_out.0.bias", [d])
            b.norm2W = add(pre + "norm2.linear.weight", [6 * d, te])
            b.norm2B = add(pre + "norm2.linear.bias", [6 * d])
            b.norm2NormW = add(pre + "norm2.norm.weight", [d])
            b.norm2NormB = add(pre + "norm2.norm.bias", [d])
            b.ff0W = add(pre + "ff.net.0.proj.weight", [4 * d, d])
            b.ff0B = add(pre + "ff.net.0.proj.bias", [4 * d])
            b.ff2W = add(pre + "ff.net.2.weight", [d, 4 * d])
            b.ff2B = add(pre + "ff.net.2.bias", [d])
            blocks.append(b)
        }
        normFinalW = add("norm_final.weight", [d])
        normFinalB = add("norm_final.bias", [d])
        normOutLinW = add("norm_out.linear.weight", [2 * d, te])
        normOutLinB = add("norm_out.linear.bias", [2 * d])
        normOutW = add("norm_out.norm.weight", [d])
        normOutB = add("norm_out.norm.bias", [d])
        let pOut = p * p * c.outChannels
        projW = add("proj_out.weight", [pOut, d])
        projB = add("proj_out.bias", [pOut])
    }
}
