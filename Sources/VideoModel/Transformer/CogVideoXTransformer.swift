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
/// is). `forward` runs inference; `forwardTraining` also keeps what `backward` needs.
public final class CogVideoXTransformer: @unchecked Sendable {
    public let config: CogVideoXConfig
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Gradient slab, same layout; allocated by the first `zeroGradients()`.
    public private(set) var gradients: FloatBuffer?

    public init(config: CogVideoXConfig) throws {
        try config.validate()
        self.config = config
        self.layout = ParameterLayout(config: config)
        self.parameters = FloatBuffer(count: layout.total)
    }

    public var parameterCount: Int { layout.total }

    /// Zeroes (allocating on first use) the gradient slab.
    public func zeroGradients() {
        if let g = gradients { g.zero() } else { gradients = FloatBuffer(count: layout.total) }
    }

    /// A deep copy (weights only): the student and the fake score start as copies of the teacher.
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

    /// Every size of one forward pass.
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

    func takeInferenceCache(_ dm: Dims) -> ForwardCache {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let i = inferencePool.firstIndex(where: { $0.dims.sameSize(as: dm) }) { return inferencePool.remove(at: i) }
        return ForwardCache(dims: dm, layers: config.numLayers, training: false)
    }

    func releaseInferenceCache(_ c: ForwardCache) {
        poolLock.lock()
        defer { poolLock.unlock() }
        c.activations = [:]
        inferencePool.append(c)
        if inferencePool.count > 4 { inferencePool.removeFirst() }
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
        let P = parameters.p, L = layout
        let cache = training ? ForwardCache(dims: dm, layers: config.numLayers, training: true)
                             : takeInferenceCache(dm)
        let pos = tables(dm)
        cache.ropeCos = pos.ropeCos
        cache.ropeSin = pos.ropeSin

        // 1. Time embedding: sinusoid → linear_1 → SiLU → linear_2; every norm uses SiLU(emb).
        cache.temb.copy(from: PositionalEmbeddings.timestep(timesteps, dim: dm.d, flipSinToCos: config.flipSinToCos,
                                                            freqShift: config.freqShift))
        Linear.forward(y: cache.h1.p, x: cache.temb.p, w: P + L.time1W, b: P + L.time1B, m: dm.b, k: dm.d, n: dm.te)
        Activation.siluForward(cache.a1.p, cache.h1.p, dm.b * dm.te)
        Linear.forward(y: cache.emb.p, x: cache.a1.p, w: P + L.time2W, b: P + L.time2B, m: dm.b, k: dm.te, n: dm.te)
        if capture { cache.activations["act.time_embedding"] = cache.emb.array }
        if let o = timeEmbeddingOffset { for i in 0..<o.count { cache.emb[i] += o[i] } }
        Activation.siluForward(cache.semb.p, cache.emb.p, dm.b * dm.te)

        // 2. Patch embedding (a stride-p convolution as a GEMM over gathered patches) and text projection,
        //    into one joint stream per sample: [text ; video].
        Self.gatherPatches(hidden, into: cache.patches.p, dm)
        let x = cache.x.p
        cache.textInput.copy(from: text)
        // Per-sample projections as batched GEMMs writing into the joint stream (text rows, then video rows).
        Self.batchedLinear(y: x, strideY: dm.s * dm.d, x: cache.textInput.p, strideX: dm.l * dm.dt, w: P + L.textW,
                           b: P + L.textB, batch: dm.b, m: dm.l, k: dm.dt, n: dm.d)
        Self.batchedLinear(y: x + dm.l * dm.d, strideY: dm.s * dm.d, x: cache.patches.p, strideX: dm.n * dm.cpp,
                           w: P + L.patchW, b: P + L.patchB, batch: dm.b, m: dm.n, k: dm.cpp, n: dm.d)
        if let table = pos.sincos {
            let xp = SendablePointer(x)
            table.withUnsafeBufferPointer { tb in
                let tp = SendablePointer(tb.baseAddress!)
                parallelFor(dm.b) { b in
                    let dst = xp.p + (b * dm.s + dm.l) * dm.d
                    for i in 0..<(dm.n * dm.d) { dst[i] += tp[i] }
                }
            }
        }
        if capture { cache.activations["act.patch_embed"] = cache.x.array }

        // 3. Blocks.
        for i in 0..<config.numLayers {
            let bc = cache.blockCache(i)
            blockForward(i, bc, cache, dm)
            if capture {
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

        // 4. Head on the video rows: norm_final, AdaLayerNorm (shift, scale), proj_out, unpatchify.
        for b in 0..<dm.b {
            cache.xv.p.advanced(by: b * dm.n * dm.d).update(from: x + (b * dm.s + dm.l) * dm.d, count: dm.n * dm.d)
        }
        let rowsV = dm.b * dm.n
        LayerNorm.forward(out: cache.y1.p, mean: cache.y1Mean.p, rstd: cache.y1Rstd.p, x: cache.xv.p,
                          w: P + L.normFinalW, b: P + L.normFinalB, rows: rowsV, dim: dm.d, eps: Float(config.normEps))
        Linear.forward(y: cache.modOut.p, x: cache.semb.p, w: P + L.normOutLinW, b: P + L.normOutLinB,
                       m: dm.b, k: dm.te, n: 2 * dm.d)
        LayerNorm.forward(out: cache.y2.p, mean: cache.y2Mean.p, rstd: cache.y2Rstd.p, x: cache.y1.p,
                          w: P + L.normOutW, b: P + L.normOutB, rows: rowsV, dim: dm.d, eps: Float(config.normEps))
        BlockOps.modulate(out: cache.z.p, x: cache.y2.p, mod: cache.modOut.p, modWidth: 2, batch: dm.b, rows: dm.n,
                          textRows: 0, dim: dm.d, shift: 0, scale: 1, encShift: 0, encScale: 1)
        if capture { cache.activations["act.norm_out"] = cache.z.array }
        Linear.forward(y: cache.outTokens.p, x: cache.z.p, w: P + L.projW, b: P + L.projB, m: rowsV, k: dm.d, n: dm.pOut)
        Self.scatterPatches(cache.outTokens.p, into: cache.output.p, dm, channels: dm.cOut, accumulate: false)
        return cache
    }

    func blockForward(_ i: Int, _ bc: BlockCache, _ cache: ForwardCache, _ dm: Dims) {
        let P = parameters.p, lb = layout.blocks[i]
        let rows = dm.b * dm.s, d = dm.d, eps = Float(config.normEps)
        let x = cache.x.p
        bc.xIn.p.update(from: x, count: rows * d)
        // norm1: expert-modulated LayerNorm.
        Linear.forward(y: bc.mod1.p, x: cache.semb.p, w: P + lb.norm1W, b: P + lb.norm1B, m: dm.b, k: dm.te, n: 6 * d)
        LayerNorm.forward(out: bc.ln1.p, mean: bc.mean1.p, rstd: bc.rstd1.p, x: x, w: P + lb.norm1NormW,
                          b: P + lb.norm1NormB, rows: rows, dim: d, eps: eps)
        BlockOps.modulate(out: bc.n1.p, x: bc.ln1.p, mod: bc.mod1.p, modWidth: 6, batch: dm.b, rows: dm.s,
                          textRows: dm.l, dim: d, shift: 0, scale: 1, encShift: 3, encScale: 4)
        // Attention: Q, K, V in one GEMM; per-head QK LayerNorm (eps 1e-6); RoPE on video rows.
        Linear.forward(y: bc.qkv.p, x: bc.n1.p, w: P + lb.qkvW, b: P + lb.qkvB, m: rows, k: d, n: 3 * d)
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
        parallelFor(dm.b * dm.heads) { task in
            let b = task / dm.heads, h = task % dm.heads
            var scratch = [Float](repeating: 0, count: Attention.forwardScratch(seq: dm.s))
            let base = b * dm.s * d + h * dm.hd
            scratch.withUnsafeMutableBufferPointer { sc in
                Attention.forwardHead(out: o.p + base, ldo: d, lse: lse.p + task * dm.s,
                                      q: qn.p + base, ldq: d, k: kn.p + base, ldk: d,
                                      v: qkv.p + b * dm.s * 3 * d + 2 * d + h * dm.hd, ldv: 3 * d,
                                      seq: dm.s, headDim: dm.hd, scale: scale, scratch: sc.baseAddress!)
            }
        }
        Linear.forward(y: bc.a.p, x: bc.o.p, w: P + lb.outW, b: P + lb.outB, m: rows, k: d, n: d)
        BlockOps.gatedAdd(x: x, y: bc.a.p, mod: bc.mod1.p, modWidth: 6, batch: dm.b, rows: dm.s, textRows: dm.l,
                          dim: d, gate: 2, encGate: 5)
        bc.xMid.p.update(from: x, count: rows * d)
        // norm2 and the GELU-tanh feed-forward.
        Linear.forward(y: bc.mod2.p, x: cache.semb.p, w: P + lb.norm2W, b: P + lb.norm2B, m: dm.b, k: dm.te, n: 6 * d)
        LayerNorm.forward(out: bc.ln2.p, mean: bc.mean2.p, rstd: bc.rstd2.p, x: x, w: P + lb.norm2NormW,
                          b: P + lb.norm2NormB, rows: rows, dim: d, eps: eps)
        BlockOps.modulate(out: bc.n2.p, x: bc.ln2.p, mod: bc.mod2.p, modWidth: 6, batch: dm.b, rows: dm.s,
                          textRows: dm.l, dim: d, shift: 0, scale: 1, encShift: 3, encScale: 4)
        Linear.forward(y: bc.f1.p, x: bc.n2.p, w: P + lb.ff0W, b: P + lb.ff0B, m: rows, k: d, n: dm.ff)
        Activation.geluForward(bc.g.p, bc.f1.p, rows * dm.ff)
        Linear.forward(y: bc.f2.p, x: bc.g.p, w: P + lb.ff2W, b: P + lb.ff2B, m: rows, k: dm.ff, n: d)
        BlockOps.gatedAdd(x: x, y: bc.f2.p, mod: bc.mod2.p, modWidth: 6, batch: dm.b, rows: dm.s, textRows: dm.l,
                          dim: d, gate: 2, encGate: 5)
    }

    /// y_i = x_i·Wᵀ + b for each sample i of a batch whose rows sit `strideX` / `strideY` apart.
    static func batchedLinear(y: UnsafeMutablePointer<Float>, strideY: Int, x: UnsafePointer<Float>, strideX: Int,
                              w: UnsafePointer<Float>, b: UnsafePointer<Float>, batch: Int, m: Int, k: Int, n: Int) {
        for i in 0..<batch { for r in 0..<m { (y + i * strideY + r * n).update(from: b, count: n) } }
        sgemmBatched(count: batch, transB: true, m: m, n: n, k: k, a: x, lda: k, strideA: strideX,
                     b: w, ldb: k, strideB: 0, beta: 1, c: y, ldc: n, strideC: strideY)
    }

    // MARK: - Patches

    /// [B, F, C, H, W] → [B·N, C·p·p], token n = (f, h, w) row-major, values in (c, ky, kx) order.
    static func gatherPatches(_ hidden: [Float], into out: UnsafeMutablePointer<Float>, _ dm: Dims) {
        hidden.withUnsafeBufferPointer { hb in
            let h = hb.baseAddress!
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
