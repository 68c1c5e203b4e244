import Foundation
import TensorCore

/// The size of a latent video batch: [batch, frames, channels, height, width] (frames before channels,
/// as `CogVideoXTransformer3DModel` takes them).
public struct VideoShape: Sendable, Equatable, Codable {
    public var batch: Int, frames: Int, channels: Int, height: Int, width: Int
    public init(batch: Int, frames: Int, channels: Int, height: Int, width: Int) {
        self.batch = batch
        self.frames = frames
        self.channels = channels
        self.height = height
        self.width = width
    }
    public var count: Int { batch * frames * channels * height * width }
    public var perSample: Int { frames * channels * height * width }
    public var dims: [Int] { [batch, frames, channels, height, width] }
}

/// diffusers' `CogVideoXTransformer3DModel` (CogVideoX-2b with the 3D sincos table, 5b with 3D RoPE):
/// patch and text embedding, timestep embedding, expert-modulated blocks with joint text+video
/// attention (QK LayerNorm), GELU-tanh feed-forward, the AdaLayerNorm head and unpatchify.
/// The output is the v-prediction. cogvideox.md is the reference for every formula here.
///
/// Parameters and gradients live in one slab each (`ParameterLayout` says where each diffusers name
/// is). `forward` runs inference; `forwardTraining` also keeps what `backward` needs. LoRA adapters
/// attached unfused (`LoRAUnfused`) run in the inference forward only.
public final class CogVideoXTransformer: @unchecked Sendable {
    public let config: CogVideoXConfig
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Gradient slab, same layout; allocated by the first `zeroGradients()`.
    public private(set) var gradients: FloatBuffer?
    /// LoRA adapters attached unfused; every forward takes one snapshot of it under `loraLock`.
    private var unfusedLoRA = UnfusedLoRA()
    private let loraLock = NSLock()

    public init(config: CogVideoXConfig) throws {
        try config.validate()
        self.config = config
        self.layout = ParameterLayout(config: config)
        self.parameters = FloatBuffer(count: layout.total)
    }

    public var parameterCount: Int { layout.total }

    /// The LoRA adapters attached unfused (`LoRAUnfused.attach`), in attach order.
    public var attachedLoRA: [LoRAUnfused.Attached] { withUnfusedLoRA { $0.attached } }

    func withUnfusedLoRA<T>(_ body: (inout UnfusedLoRA) throws -> T) rethrows -> T {
        loraLock.lock()
        defer { loraLock.unlock() }
        return try body(&unfusedLoRA)
    }

    /// Training runs on the weights alone: with adapters attached its gradients would belong to another model.
    func refuseUnfusedLoRA(_ what: String, _ snapshot: UnfusedLoRA? = nil) throws {
        let n = (snapshot ?? withUnfusedLoRA { $0 }).attached.count
        guard n == 0 else {
            throw ModelError.badInput("\(what) does not support unfused LoRA adapters, and \(n) \(n == 1 ? "is" : "are") attached: fuse them (LoRAFusion.fuse) or detach them (LoRAUnfused.detach) first")
        }
    }

    /// Zeroes (allocating on first use) the gradient slab.
    public func zeroGradients() {
        if let g = gradients { g.zero() } else { gradients = FloatBuffer(count: layout.total) }
    }

    /// A deep copy (weights only, without attached unfused LoRAs): the student and the fake score start as
    /// copies of the teacher.
    public func copy() throws -> CogVideoXTransformer {
        let m = try CogVideoXTransformer(config: config)
        m.parameters.copy(from: parameters)
        return m
    }

    /// PyTorch's default initialisation (`nn.Linear`/`nn.Conv2d`: U(±1/√fan_in) for weight and bias;
    /// LayerNorm weight 1, bias 0), from a seeded RNG.
    public func initializeRandom(seed: UInt64) {
        var rng = RNG(seed: seed)
        let p = parameters.p
        var i = 0
        let entries = layout.entries
        while i < entries.count {
            let e = entries[i]
            if e.name.hasSuffix(".weight") && e.shape.count >= 2 {
                let fanIn = e.shape.dropFirst().reduce(1, *)
                let bound = 1 / Float(fanIn).squareRoot()
                let w = rng.uniform(e.count, -bound, bound)
                for j in 0..<e.count { p[e.offset + j] = w[j] }
                // The matching bias (if next) uses the same bound.
                let biasName = String(e.name.dropLast("weight".count)) + "bias"
                if let bi = layout.entry(biasName) {
                    let b = rng.uniform(bi.count, -bound, bound)
                    for j in 0..<bi.count { p[bi.offset + j] = b[j] }
                }
            } else if e.shape.count == 1 && (e.name.hasSuffix("norm.weight") || e.name.hasSuffix("norm_q.weight")
                        || e.name.hasSuffix("norm_k.weight") || e.name == "norm_final.weight") {
                for j in 0..<e.count { p[e.offset + j] = 1 }
            } else if e.shape.count == 1 && (e.name.hasSuffix("norm.bias") || e.name.hasSuffix("norm_q.bias")
                        || e.name.hasSuffix("norm_k.bias") || e.name == "norm_final.bias") {
                for j in 0..<e.count { p[e.offset + j] = 0 }
            }
            i += 1
        }
    }

    // MARK: - Sizes

    /// Every size of one forward pass, declared once here and used by these names in every kernel call
    /// (llm.c's legend):
    ///
    /// - `b`: batch, the samples of one call (a CFG pair is 2: conditional and unconditional)
    /// - `f`: latent frames; `c`: latent channels in (in_channels); `h`, `w`: latent height and width
    /// - `p`: patch size (p×p spatial patches, no temporal patching); `hp`, `wp`: the patch grid (h/p, w/p)
    /// - `n`: video tokens per sample, f·hp·wp; `l`: text tokens per sample
    /// - `s`: joint sequence per sample, l + n, text rows first, then video rows (one stream, one attention)
    /// - `d`: inner width, heads·hd; `heads`: attention heads; `hd`: head size (attention_head_dim)
    /// - `te`: time-embedding width (time_embed_dim); `ff`: feed-forward hidden width, 4·d
    /// - `cpp`: values per input patch, c·p·p; `pOut`: values per output patch, p·p·cOut
    /// - `dt`: text-embedding width (text_embed_dim); `cOut`: latent channels out (out_channels)
    ///
    /// Row counts follow from them: every per-token GEMM runs over b·s rows (both streams of the whole
    /// batch at once), the head over b·n video rows.
    public struct Dims: Sendable {
        public var b, f, c, h, w, p, hp, wp, n, l, s, d, heads, hd, te, ff, cpp, pOut, dt, cOut: Int
        func sameSize(as o: Dims) -> Bool { b == o.b && f == o.f && c == o.c && h == o.h && w == o.w && l == o.l }
    }

    public func dims(_ shape: VideoShape, textLength: Int) throws -> Dims {
        let c = config, p = c.patchSize
        guard shape.batch > 0, shape.frames > 0 else { throw ModelError.badInput("batch and frames must be positive, got \(shape.dims)") }
        guard shape.channels == c.inChannels else {
            throw ModelError.badInput("latent has \(shape.channels) channels, the model takes \(c.inChannels)")
        }
        guard shape.height > 0, shape.width > 0, shape.height % p == 0, shape.width % p == 0 else {
            throw ModelError.badInput("latent height and width (\(shape.height)x\(shape.width)) must be positive multiples of patch_size \(p)")
        }
        guard textLength > 0 else { throw ModelError.badInput("the text sequence is empty") }
        if !c.useRotaryPositionalEmbeddings && textLength != c.maxTextSeqLength {
            throw ModelError.badInput("with the sincos position table the text length must be max_text_seq_length = \(c.maxTextSeqLength), got \(textLength)")
        }
        let hp = shape.height / p, wp = shape.width / p, n = shape.frames * hp * wp
        let d = c.innerDim
        return Dims(b: shape.batch, f: shape.frames, c: shape.channels, h: shape.height, w: shape.width, p: p,
                    hp: hp, wp: wp, n: n, l: textLength, s: textLength + n, d: d, heads: c.numAttentionHeads,
                    hd: c.attentionHeadDim, te: c.timeEmbedDim, ff: 4 * d, cpp: c.inChannels * p * p,
                    pOut: p * p * c.outChannels, dt: c.textEmbedDim, cOut: c.outChannels)
    }

    /// Position tables for a grid, cached per size.
    final class PositionTables: @unchecked Sendable {
        var sincos: [Float]? = nil
        var ropeCos: [Float]? = nil
        var ropeSin: [Float]? = nil
    }
    private var tableCache: [String: PositionTables] = [:]
    private let tableLock = NSLock()

    func tables(_ dm: Dims) -> PositionTables {
        let key = "\(dm.f)x\(dm.hp)x\(dm.wp)"
        tableLock.lock()
        defer { tableLock.unlock() }
        if let t = tableCache[key] { return t }
        let t = PositionTables()
        if config.useRotaryPositionalEmbeddings {
            let r = ropeTables(frames: dm.f, gridH: dm.hp, gridW: dm.wp)
            t.ropeCos = r.cos
            t.ropeSin = r.sin
        } else {
            t.sincos = PositionalEmbeddings.sincos3D(dim: dm.d, frames: dm.f, gridH: dm.hp, gridW: dm.wp,
                                                     spatialScale: config.spatialInterpolationScale,
                                                     temporalScale: config.temporalInterpolationScale)
        }
        tableCache[key] = t
        return t
    }

    /// The RoPE tables the CogVideoX pipeline builds for this latent grid (base grid from the config's
    /// sample size).
    public func ropeTables(frames: Int, gridH: Int, gridW: Int) -> (cos: [Float], sin: [Float]) {
        PositionalEmbeddings.rope3D(headDim: config.attentionHeadDim, frames: frames, gridH: gridH, gridW: gridW,
                                    baseH: config.sampleHeight / config.patchSize,
                                    baseW: config.sampleWidth / config.patchSize)
    }

    // MARK: - Forward

    /// Inference buffers are reused between calls of the same size (sampling calls the model
    /// hundreds of times): allocating and faulting in fresh pages each time cost ~5%.
    private var inferencePool: [ForwardCache] = []
    private let poolLock = NSLock()

    func takeInferenceCache(_ dm: Dims, split: Bool = false) -> ForwardCache {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let i = inferencePool.firstIndex(where: { $0.dims.sameSize(as: dm) && $0.isSplit == split }) {
            return inferencePool.remove(at: i)
        }
        return makeCache(dm, training: false, split: split)
    }

    /// A cache for `dm`; with `split`, a container whose parts each hold a contiguous share of the batch.
    func makeCache(_ dm: Dims, training: Bool, split: Bool) -> ForwardCache {
        guard split else { return ForwardCache(dims: dm, layers: config.numLayers, training: training) }
        let g = Self.dataParallelParts(batch: dm.b)
        let parts = (0..<g).map { k -> ForwardCache in
            var sub = dm
            sub.b = dm.b * (k + 1) / g - dm.b * k / g
            return ForwardCache(dims: sub, layers: config.numLayers, training: training)
        }
        return ForwardCache(dims: dm, training: training, parts: parts)
    }

    /// How many data-parallel parts a batch is cut into: one per worker (at most one per sample).
    static func dataParallelParts(batch: Int) -> Int { max(1, min(Compute.threads, batch)) }

    func releaseInferenceCache(_ c: ForwardCache) {
        guard !c.training else { return }
        poolLock.lock()
        defer { poolLock.unlock() }
        c.activations = [:]
        inferencePool.append(c)
        if inferencePool.count > 4 { inferencePool.removeFirst() }
    }

    /// Training caches handed back with `releaseTrainingCache` are reused by the next
    /// `forwardTraining` of the same size, so a training loop allocates nothing per step.
    private var trainingPool: [ForwardCache] = []

    func takeTrainingCache(_ dm: Dims, split: Bool = false) -> ForwardCache {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let i = trainingPool.firstIndex(where: { $0.dims.sameSize(as: dm) && $0.isSplit == split }) {
            return trainingPool.remove(at: i)
        }
        return makeCache(dm, training: true, split: split)
    }

    /// Hands a training cache back for reuse once its `backward` is done (optional: an unreleased
    /// cache is simply freed). The cache must not be used afterwards.
    public func releaseTrainingCache(_ c: ForwardCache) {
        guard c.training else { return }
        poolLock.lock()
        defer { poolLock.unlock() }
        c.activations = [:]
        trainingPool.append(c)
        if trainingPool.count > 2 { trainingPool.removeFirst() }
    }

    /// Gradient slabs of the data-parallel parts after the first (allocated once, zeroed per use).
    private var partSlabs: [FloatBuffer] = []

    func partGradientSlabs(_ count: Int) -> [FloatBuffer] {
        poolLock.lock()
        defer { poolLock.unlock() }
        while partSlabs.count < count { partSlabs.append(FloatBuffer(count: layout.total)) }
        return Array(partSlabs.prefix(count))
    }

    /// Backward buffers, kept between steps of the same size like the caches.
    private var backwardPool: [BackwardWork] = []

    func takeBackwardWork(_ dm: Dims) -> BackwardWork {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let i = backwardPool.firstIndex(where: { $0.dims.sameSize(as: dm) }) { return backwardPool.remove(at: i) }
        return BackwardWork(dm)
    }

    func releaseBackwardWork(_ w: BackwardWork) {
        poolLock.lock()
        defer { poolLock.unlock() }
        backwardPool.append(w)
        if backwardPool.count > 4 { backwardPool.removeFirst() }
    }

    /// Inference: v-prediction [B, F, out_channels, H, W] for latents `hidden` [B, F, C, H, W], text
    /// embeddings `text` [B, L, text_embed_dim] and timesteps [B] (0...999, may be fractional).
    /// `timeEmbeddingOffset` [B, time_embed_dim], if given, is added to the time embedding (TDM's
    /// step-count conditioning).
    public func forward(hidden: [Float], shape: VideoShape, text: [Float], textLength: Int, timesteps: [Float],
                        timeEmbeddingOffset: [Float]? = nil) throws -> [Float] {
        let cache = try run(hidden: hidden, shape: shape, text: text, textLength: textLength, timesteps: timesteps,
                            timeEmbeddingOffset: timeEmbeddingOffset, training: false, capture: false)
        let out = cache.output.array
        releaseInferenceCache(cache)
        return out
    }

    /// Training forward: also returns the activations `backward` needs. With `capture`, the module
    /// outputs diffusers' fixtures name (`act.*`) are kept too.
    public func forwardTraining(hidden: [Float], shape: VideoShape, text: [Float], textLength: Int, timesteps: [Float],
                                timeEmbeddingOffset: [Float]? = nil, capture: Bool = false) throws -> ForwardCache {
        try run(hidden: hidden, shape: shape, text: text, textLength: textLength, timesteps: timesteps,
                timeEmbeddingOffset: timeEmbeddingOffset, training: true, capture: capture)
    }

    func run(hidden: [Float], shape: VideoShape, text: [Float], textLength: Int, timesteps: [Float],
             timeEmbeddingOffset: [Float]?, training: Bool, capture: Bool) throws -> ForwardCache {
        let dm = try dims(shape, textLength: textLength)
        let lora = withUnfusedLoRA { $0 }
        if training { try refuseUnfusedLoRA("forwardTraining", lora) }
        guard hidden.count == shape.count else {
            throw ModelError.badInput("latent has \(hidden.count) values, shape \(shape.dims) needs \(shape.count)")
        }
        guard text.count == dm.b * dm.l * dm.dt else {
            throw ModelError.badInput("text embeddings have \(text.count) values, [\(dm.b), \(dm.l), \(dm.dt)] needs \(dm.b * dm.l * dm.dt)")
        }
        guard timesteps.count == dm.b else {
            throw ModelError.badInput("\(timesteps.count) timesteps for a batch of \(dm.b)")
        }
        if let o = timeEmbeddingOffset, o.count != dm.b * dm.te {
            throw ModelError.badInput("time-embedding offset has \(o.count) values, needs \(dm.b * dm.te)")
        }
        // Data parallel over the batch: each worker runs the whole network on its share of the samples
        // with serial kernels (no fork/join inside the step); the parts' outputs are then joined.
        let split = !capture && Self.dataParallelParts(batch: dm.b) > 1
        let cache = training ? takeTrainingCache(dm, split: split) : takeInferenceCache(dm, split: split)
        hidden.withUnsafeBufferPointer { hb in
            text.withUnsafeBufferPointer { tb in
                if !split {
                    runWhole(cache, hidden: hb.baseAddress!, text: tb.baseAddress!, timesteps: timesteps[...],
                             timeEmbeddingOffset: timeEmbeddingOffset.map { $0[...] }, capture: capture, lora: lora)
                    return
                }
                let hp = SendablePointer(hb.baseAddress!), tp = SendablePointer(tb.baseAddress!)
                let perHidden = shape.perSample, perText = dm.l * dm.dt
                let parts = cache.parts, out = cache.output.sp, perOut = dm.n * dm.pOut
                parallelFor(parts.count) { k in
                    withSerialKernels {
                        let lo = dm.b * k / parts.count, hi = dm.b * (k + 1) / parts.count
                        runWhole(parts[k], hidden: hp.p + lo * perHidden, text: tp.p + lo * perText,
                                 timesteps: timesteps[lo..<hi],
                                 timeEmbeddingOffset: timeEmbeddingOffset.map { $0[(lo * dm.te)..<(hi * dm.te)] },
                                 capture: false, lora: lora)
                        (out.p + lo * perOut).update(from: parts[k].output.p, count: (hi - lo) * perOut)
                    }
                }
            }
        }
        return cache
    }

    /// One forward pass of the whole network over `cache.dims.b` samples at `hidden`, `text`, with the
    /// unfused LoRA adapters of `lora` added after their Linear calls.
    func runWhole(_ cache: ForwardCache, hidden: UnsafePointer<Float>, text: UnsafePointer<Float>,
                  timesteps: ArraySlice<Float>, timeEmbeddingOffset: ArraySlice<Float>?, capture: Bool,
                  lora adapters: UnfusedLoRA) {
        let dm = cache.dims
        let P = parameters.p, L = layout
        let lora = adapters.isEmpty ? nil
            : UnfusedLoRA.Pass(lora: adapters, scratch: cache.loraScratch(count: dm.b * dm.s * adapters.maxRank))
        let pos = tables(dm)
        cache.ropeCos = pos.ropeCos
        cache.ropeSin = pos.ropeSin

        // 1. Time embedding: sinusoid → linear_1 → SiLU → linear_2; every norm uses SiLU(emb).
        cache.temb.copy(from: PositionalEmbeddings.timestep(Array(timesteps), dim: dm.d, flipSinToCos: config.flipSinToCos,
                                                            freqShift: config.freqShift))
        Linear.forward(y: cache.h1.p, x: cache.temb.p, w: P + L.time1W, b: P + L.time1B, m: dm.b, k: dm.d, n: dm.te)
        lora?.add(.timeLinear1, y: cache.h1.p, x: cache.temb.p, m: dm.b)
        Activation.siluForward(cache.a1.p, cache.h1.p, dm.b * dm.te)
        Linear.forward(y: cache.emb.p, x: cache.a1.p, w: P + L.time2W, b: P + L.time2B, m: dm.b, k: dm.te, n: dm.te)
        lora?.add(.timeLinear2, y: cache.emb.p, x: cache.a1.p, m: dm.b)
        if capture { cache.activations["act.time_embedding"] = cache.emb.array }
        if let o = timeEmbeddingOffset { for (i, v) in o.enumerated() { cache.emb[i] += v } }
        Activation.siluForward(cache.semb.p, cache.emb.p, dm.b * dm.te)

        // 2. Patch embedding (a stride-p convolution as one GEMM over the gathered patches of the whole
        //    batch) and text projection (one GEMM), laid into one joint stream per sample: [text ; video].
        Self.gatherPatches(hidden, into: cache.patches.p, dm)
        cache.textInput.p.update(from: text, count: dm.b * dm.l * dm.dt)
        Linear.forward(y: cache.textRows.p, x: cache.textInput.p, w: P + L.textW, b: P + L.textB,
                       m: dm.b * dm.l, k: dm.dt, n: dm.d)
        lora?.add(.textProj, y: cache.textRows.p, x: cache.textInput.p, m: dm.b * dm.l)
        Linear.forward(y: cache.videoRows.p, x: cache.patches.p, w: P + L.patchW, b: P + L.patchB,
                       m: dm.b * dm.n, k: dm.cpp, n: dm.d)
        let x0 = cache.stream(0)
        Self.layStreams(into: x0, text: cache.textRows.p, video: cache.videoRows.p, table: pos.sincos, dm)
        if capture { cache.activations["act.patch_embed"] = Array(UnsafeBufferPointer(start: x0, count: dm.b * dm.s * dm.d)) }

        // 3. Blocks.
        for i in 0..<config.numLayers {
            blockForward(i, cache.blockCache(i), cache, input: cache.stream(i), output: cache.stream(i + 1), lora: lora)
            if capture {
                let x = cache.stream(i + 1)
                var video = [Float](), textPart = [Float]()
                for b in 0..<dm.b {
                    let base = b * dm.s * dm.d
                    textPart += Array(UnsafeBufferPointer(start: x + base, count: dm.l * dm.d))
                    video += Array(UnsafeBufferPointer(start: x + base + dm.l * dm.d, count: dm.n * dm.d))
                }
                cache.activations["act.block\(i)"] = video
                cache.activations["act.block\(i).text"] = textPart
            }
        }

        // 4. Head on the video rows: norm_final, AdaLayerNorm (LayerNorm, then shift and scale, fused),
        //    proj_out, unpatchify.
        let x = cache.stream(config.numLayers)
        for b in 0..<dm.b {
            cache.xv.p.advanced(by: b * dm.n * dm.d).update(from: x + (b * dm.s + dm.l) * dm.d, count: dm.n * dm.d)
        }
        let rowsV = dm.b * dm.n
        LayerNorm.forward(out: cache.y1.p, mean: cache.y1Mean.p, rstd: cache.y1Rstd.p, x: cache.xv.p,
                          w: P + L.normFinalW, b: P + L.normFinalB, rows: rowsV, dim: dm.d, eps: Float(config.normEps))
        Linear.forward(y: cache.modOut.p, x: cache.semb.p, w: P + L.normOutLinW, b: P + L.normOutLinB,
                       m: dm.b, k: dm.te, n: 2 * dm.d)
        lora?.add(.normOutLinear, y: cache.modOut.p, x: cache.semb.p, m: dm.b)
        BlockOps.modulatedLayerNorm(out: cache.z.p, mean: cache.y2Mean.p, rstd: cache.y2Rstd.p, x: cache.y1.p,
                                    w: P + L.normOutW, b: P + L.normOutB, eps: Float(config.normEps),
                                    mod: cache.modOut.p, chunks: .head, batch: dm.b, rows: dm.n, textRows: 0, dim: dm.d)
        if capture { cache.activations["act.norm_out"] = cache.z.array }
        Linear.forward(y: cache.outTokens.p, x: cache.z.p, w: P + L.projW, b: P + L.projB, m: rowsV, k: dm.d, n: dm.pOut)
        lora?.add(.projOut, y: cache.outTokens.p, x: cache.z.p, m: rowsV)
        Self.scatterPatches(cache.outTokens.p, into: cache.output.p, dm, channels: dm.cOut, accumulate: false)
    }

    /// One block on the joint stream: reads `input` [b·s, d], writes `output` (which may be `input`).
    /// Each Linear output gets the unfused LoRA terms of its module (if any) added right after the GEMM,
    /// before anything reads it (a bias fused into a later epilogue commutes with the addition).
    func blockForward(_ i: Int, _ bc: BlockCache, _ cache: ForwardCache, input x: UnsafeMutablePointer<Float>,
                      output: UnsafeMutablePointer<Float>, lora: UnfusedLoRA.Pass? = nil) {
        let dm = cache.dims
        let P = parameters.p, lb = layout.blocks[i]
        let rows = dm.b * dm.s, d = dm.d, eps = Float(config.normEps)
        // norm1: LayerNorm and the expert modulation in one pass.
        Linear.forward(y: bc.mod1.p, x: cache.semb.p, w: P + lb.norm1W, b: P + lb.norm1B, m: dm.b, k: dm.te, n: 6 * d)
        lora?.add(block: i, .norm1Linear, y: bc.mod1.p, x: cache.semb.p, m: dm.b)
        BlockOps.modulatedLayerNorm(out: bc.n1.p, mean: bc.mean1.p, rstd: bc.rstd1.p, x: x, w: P + lb.norm1NormW,
                                    b: P + lb.norm1NormB, eps: eps, mod: bc.mod1.p, chunks: .block,
                                    batch: dm.b, rows: dm.s, textRows: dm.l, dim: d)
        // Attention: Q, K, V in one GEMM over both streams; per-head QK LayerNorm (eps 1e-6); RoPE on video rows.
        Linear.forward(y: bc.qkv.p, x: bc.n1.p, w: P + lb.qkvW, b: P + lb.qkvB, m: rows, k: d, n: 3 * d)
        if let lora {
            lora.add(block: i, .toQ, y: bc.qkv.p, x: bc.n1.p, m: rows, ldy: 3 * d)
            lora.add(block: i, .toK, y: bc.qkv.p + d, x: bc.n1.p, m: rows, ldy: 3 * d)
            lora.add(block: i, .toV, y: bc.qkv.p + 2 * d, x: bc.n1.p, m: rows, ldy: 3 * d)
        }
        LayerNorm.forward(out: bc.qn.p, mean: bc.qMean.p, rstd: bc.qRstd.p, x: bc.qkv.p, w: P + lb.normQW,
                          b: P + lb.normQB, rows: rows, dim: dm.hd, eps: 1e-6, ldx: 3 * d, ldOut: d, groups: dm.heads)
        LayerNorm.forward(out: bc.kn.p, mean: bc.kMean.p, rstd: bc.kRstd.p, x: bc.qkv.p + d, w: P + lb.normKW,
                          b: P + lb.normKB, rows: rows, dim: dm.hd, eps: 1e-6, ldx: 3 * d, ldOut: d, groups: dm.heads)
        if let c = cache.ropeCos, let s = cache.ropeSin {
            BlockOps.rope(bc.qn.p, cos: c, sin: s, batch: dm.b, rows: dm.s, textRows: dm.l, heads: dm.heads,
                          headDim: dm.hd, inverse: false)
            BlockOps.rope(bc.kn.p, cos: c, sin: s, batch: dm.b, rows: dm.s, textRows: dm.l, heads: dm.heads,
                          headDim: dm.hd, inverse: false)
        }
        let scale = 1 / Float(dm.hd).squareRoot()
        let qn = bc.qn.sp, kn = bc.kn.sp, qkv = bc.qkv.sp, o = bc.o.sp, lse = bc.lse.sp
        let scr = cache.attentionScratch.sp, scrCount = Attention.forwardScratch(seq: dm.s)
        let tasks = dm.b * dm.heads, chunks = ForwardCache.attentionChunks(dm)
        parallelFor(chunks) { c in
            for task in (tasks * c / chunks)..<(tasks * (c + 1) / chunks) {
                let b = task / dm.heads, h = task % dm.heads
                let base = b * dm.s * d + h * dm.hd
                Attention.forwardHead(out: o.p + base, ldo: d, lse: lse.p + task * dm.s,
                                      q: qn.p + base, ldq: d, k: kn.p + base, ldk: d,
                                      v: qkv.p + b * dm.s * 3 * d + 2 * d + h * dm.hd, ldv: 3 * d,
                                      seq: dm.s, headDim: dm.hd, scale: scale, scratch: scr.p + c * scrCount)
            }
        }
        // to_out (bias fused into the gated residual): x_mid = x + gate·(O·Wᵀ + b).
        Linear.forward(y: bc.a.p, x: bc.o.p, w: P + lb.outW, b: nil, m: rows, k: d, n: d)
        lora?.add(block: i, .toOut, y: bc.a.p, x: bc.o.p, m: rows)
        BlockOps.gatedResidual(out: bc.xMid.p, x: x, y: bc.a.p, bias: P + lb.outB, mod: bc.mod1.p, chunks: .block,
                               batch: dm.b, rows: dm.s, textRows: dm.l, dim: d)
        // norm2 and the GELU-tanh feed-forward (bias fused with the GELU, and with the gated residual).
        Linear.forward(y: bc.mod2.p, x: cache.semb.p, w: P + lb.norm2W, b: P + lb.norm2B, m: dm.b, k: dm.te, n: 6 * d)
        lora?.add(block: i, .norm2Linear, y: bc.mod2.p, x: cache.semb.p, m: dm.b)
        BlockOps.modulatedLayerNorm(out: bc.n2.p, mean: bc.mean2.p, rstd: bc.rstd2.p, x: bc.xMid.p,
                                    w: P + lb.norm2NormW, b: P + lb.norm2NormB, eps: eps, mod: bc.mod2.p,
                                    chunks: .block, batch: dm.b, rows: dm.s, textRows: dm.l, dim: d)
        Linear.forward(y: bc.f1.p, x: bc.n2.p, w: P + lb.ff0W, b: nil, m: rows, k: d, n: dm.ff)
        lora?.add(block: i, .ff0, y: bc.f1.p, x: bc.n2.p, m: rows)
        let training = cache.training
        Activation.biasGeluForward(training ? bc.g.p : nil, bc.f1.p, bias: P + lb.ff0B, rows: rows, n: dm.ff)
        Linear.forward(y: bc.f2.p, x: training ? bc.g.p : bc.f1.p, w: P + lb.ff2W, b: nil, m: rows, k: dm.ff, n: d)
        lora?.add(block: i, .ff2, y: bc.f2.p, x: training ? bc.g.p : bc.f1.p, m: rows)
        BlockOps.gatedResidual(out: output, x: bc.xMid.p, y: bc.f2.p, bias: P + lb.ff2B, mod: bc.mod2.p, chunks: .block,
                               batch: dm.b, rows: dm.s, textRows: dm.l, dim: d)
    }

    /// Lays the projected text rows [b·l, d] and patch rows [b·n, d] (plus the sincos position table,
    /// if any, on the video rows) into the joint stream [b, s, d].
    static func layStreams(into x: UnsafeMutablePointer<Float>, text: UnsafePointer<Float>, video: UnsafePointer<Float>,
                           table: [Float]?, _ dm: Dims) {
        let xp = SendablePointer(x), tp = SendablePointer(text), vp = SendablePointer(video)
        let perText = dm.l * dm.d, perVideo = dm.n * dm.d
        let run = { (tab: UnsafePointer<Float>?) in
            let tab = tab.map { SendablePointer($0) }
            parallelFor(dm.b) { b in
                let dst = xp.p + b * dm.s * dm.d
                dst.update(from: tp.p + b * perText, count: perText)
                let dv = dst + perText, sv = vp.p + b * perVideo
                if let tab {
                    for i in 0..<perVideo { dv[i] = sv[i] + tab[i] }
                } else {
                    dv.update(from: sv, count: perVideo)
                }
            }
        }
        if let table { table.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
    }

    /// The inverse of `layStreams` for gradients: splits the joint stream into text rows [b·l, d] and
    /// video rows [b·n, d].
    static func splitStreams(_ x: UnsafePointer<Float>, text: UnsafeMutablePointer<Float>,
                             video: UnsafeMutablePointer<Float>, _ dm: Dims) {
        let xp = SendablePointer(x), tp = SendablePointer(text), vp = SendablePointer(video)
        let perText = dm.l * dm.d, perVideo = dm.n * dm.d
        parallelFor(dm.b) { b in
            let src = xp.p + b * dm.s * dm.d
            (tp.p + b * perText).update(from: src, count: perText)
            (vp.p + b * perVideo).update(from: src + perText, count: perVideo)
        }
    }

    // MARK: - Patches

    /// [B, F, C, H, W] → [B·N, C·p·p], token n = (f, h, w) row-major, values in (c, ky, kx) order.
    static func gatherPatches(_ h: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ dm: Dims) {
        do {
            let p = dm.p
            for b in 0..<dm.b { for f in 0..<dm.f { for hh in 0..<dm.hp { for ww in 0..<dm.wp {
                let tok = ((b * dm.f + f) * dm.hp + hh) * dm.wp + ww
                var j = 0
                for c in 0..<dm.c {
                    let plane = h + ((b * dm.f + f) * dm.c + c) * dm.h * dm.w
                    for ky in 0..<p { for kx in 0..<p {
                        out[tok * dm.cpp + j] = plane[(hh * p + ky) * dm.w + ww * p + kx]
                        j += 1
                    } }
                }
            } } } }
        }
    }

    /// The inverse layout: [B·N, channels·p·p] → [B, F, channels, H, W] (unpatchify), or its
    /// accumulation (the gather's backward).
    static func scatterPatches(_ tokens: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ dm: Dims,
                               channels: Int, accumulate: Bool) {
        let p = dm.p, width = channels * p * p
        for b in 0..<dm.b { for f in 0..<dm.f { for hh in 0..<dm.hp { for ww in 0..<dm.wp {
            let tok = ((b * dm.f + f) * dm.hp + hh) * dm.wp + ww
            var j = 0
            for c in 0..<channels {
                let plane = out + ((b * dm.f + f) * channels + c) * dm.h * dm.w
                for ky in 0..<p { for kx in 0..<p {
                    let idx = (hh * p + ky) * dm.w + ww * p + kx
                    plane[idx] = accumulate ? plane[idx] + tokens[tok * width + j] : tokens[tok * width + j]
                    j += 1
                } }
            }
        } } } }
    }
}
