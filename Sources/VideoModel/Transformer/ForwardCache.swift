import TensorCore

/// What one block's forward keeps for its backward (inputs of every GEMM and norm, the attention
/// output and its log-sum-exp). In inference one instance is reused by every block.
///
/// The modulated norms keep only their statistics (mean, rstd): the backward recomputes LN(x) from
/// the block input. Linear outputs that feed a fused epilogue (`a`, `f2`) are kept without their bias.
public final class BlockCache: @unchecked Sendable {
    /// The block's input (training only: the residual stream entering block i, written by block i−1).
    let xIn: FloatBuffer
    let mod1, mean1, rstd1, n1, qkv, qn, kn, qMean, qRstd, kMean, kRstd, o, lse, a: FloatBuffer
    let xMid, mod2, mean2, rstd2, n2, f1, g, f2: FloatBuffer

    init(_ dm: CogVideoXTransformer.Dims, training: Bool) {
        let rows = dm.b * dm.s, d = dm.d
        xIn = FloatBuffer(count: training ? rows * d : 0)
        mod1 = FloatBuffer(count: dm.b * 6 * d)
        mean1 = FloatBuffer(count: rows)
        rstd1 = FloatBuffer(count: rows)
        n1 = FloatBuffer(count: rows * d)
        qkv = FloatBuffer(count: rows * 3 * d)
        qn = FloatBuffer(count: rows * d)
        kn = FloatBuffer(count: rows * d)
        qMean = FloatBuffer(count: rows * dm.heads)
        qRstd = FloatBuffer(count: rows * dm.heads)
        kMean = FloatBuffer(count: rows * dm.heads)
        kRstd = FloatBuffer(count: rows * dm.heads)
        o = FloatBuffer(count: rows * d)
        lse = FloatBuffer(count: dm.b * dm.heads * dm.s)
        a = FloatBuffer(count: rows * d)
        xMid = FloatBuffer(count: rows * d)
        mod2 = FloatBuffer(count: dm.b * 6 * d)
        mean2 = FloatBuffer(count: rows)
        rstd2 = FloatBuffer(count: rows)
        n2 = FloatBuffer(count: rows * d)
        f1 = FloatBuffer(count: rows * dm.ff)
        // Inference applies the GELU in place on f1.
        g = FloatBuffer(count: training ? rows * dm.ff : 0)
        f2 = FloatBuffer(count: rows * d)
    }
}

/// The activations of one forward pass: enough for `backward` when made for training. Reused across
/// calls of the same size (the model keeps a small pool), so a step allocates nothing.
public final class ForwardCache: @unchecked Sendable {
    public let dims: CogVideoXTransformer.Dims
    let training: Bool
    let temb: FloatBuffer
    let textInput: FloatBuffer
    let h1, a1, emb, semb, patches, x: FloatBuffer
    /// Text and patch projections over the whole batch ([b·l, d] and [b·n, d]) before they are laid
    /// into the joint stream.
    let textRows, videoRows: FloatBuffer
    var blocks: [BlockCache] = []
    let xv, y1, y1Mean, y1Rstd, y2Mean, y2Rstd, modOut, z, outTokens: FloatBuffer
    /// Per-chunk attention scratch (forward tiles).
    let attentionScratch: FloatBuffer
    /// The v-prediction [B, F, out_channels, H, W].
    public let output: FloatBuffer
    var ropeCos: [Float]? = nil
    var ropeSin: [Float]? = nil
    /// Module outputs named as in the fixtures (`act.*`), when captured.
    public var activations: [String: [Float]] = [:]
    /// The [rows, rank] products of unfused LoRA adapters (`LoRALowRank.addForward`); grown on demand.
    private var loraHidden = FloatBuffer(count: 0)
    /// Data-parallel parts: contiguous shares of the batch, each a whole cache of its own (empty when
    /// the batch ran as one). A container holds only `output` itself.
    let parts: [ForwardCache]
    var isSplit: Bool { !parts.isEmpty }

    /// Attention tasks (b·heads) are cut into this many chunks, each with its own scratch; more chunks
    /// than workers so that a worker slowed by another process does not hold up the step.
    static func attentionChunks(_ dm: CogVideoXTransformer.Dims) -> Int {
        max(1, min(dm.b * dm.heads, 4 * Compute.threads))
    }

    /// A container over `parts` (which cover the batch in order).
    init(dims dm: CogVideoXTransformer.Dims, training: Bool, parts: [ForwardCache]) {
        dims = dm
        self.training = training
        self.parts = parts
        let none = FloatBuffer(count: 0)
        temb = none; textInput = none; h1 = none; a1 = none; emb = none; semb = none; patches = none; x = none
        textRows = none; videoRows = none
        xv = none; y1 = none; y1Mean = none; y1Rstd = none; y2Mean = none; y2Rstd = none; modOut = none; z = none
        outTokens = none; attentionScratch = none
        output = FloatBuffer(count: dm.b * dm.n * dm.pOut)
    }

    init(dims dm: CogVideoXTransformer.Dims, layers: Int, training: Bool) {
        dims = dm
        self.training = training
        parts = []
        temb = FloatBuffer(count: dm.b * dm.d)
        textInput = FloatBuffer(count: dm.b * dm.l * dm.dt)
        h1 = FloatBuffer(count: dm.b * dm.te)
        a1 = FloatBuffer(count: dm.b * dm.te)
        emb = FloatBuffer(count: dm.b * dm.te)
        semb = FloatBuffer(count: dm.b * dm.te)
        patches = FloatBuffer(count: dm.b * dm.n * dm.cpp)
        x = FloatBuffer(count: dm.b * dm.s * dm.d)
        textRows = FloatBuffer(count: dm.b * dm.l * dm.d)
        videoRows = FloatBuffer(count: dm.b * dm.n * dm.d)
        let rv = dm.b * dm.n
        xv = FloatBuffer(count: rv * dm.d)
        y1 = FloatBuffer(count: rv * dm.d)
        y1Mean = FloatBuffer(count: rv)
        y1Rstd = FloatBuffer(count: rv)
        y2Mean = FloatBuffer(count: rv)
        y2Rstd = FloatBuffer(count: rv)
        modOut = FloatBuffer(count: dm.b * 2 * dm.d)
        z = FloatBuffer(count: rv * dm.d)
        outTokens = FloatBuffer(count: rv * dm.pOut)
        output = FloatBuffer(count: rv * dm.pOut)
        attentionScratch = FloatBuffer(count: Self.attentionChunks(dm) * Attention.forwardScratch(seq: dm.s))
        if training {
            blocks = (0..<layers).map { _ in BlockCache(dm, training: true) }
        } else if layers > 0 {
            blocks = [BlockCache(dm, training: false)]
        }
    }

    /// Scratch of at least `count` floats for the unfused LoRA terms of one forward.
    func loraScratch(count: Int) -> UnsafeMutablePointer<Float> {
        if loraHidden.count < count { loraHidden = FloatBuffer(count: count) }
        return loraHidden.p
    }

    func blockCache(_ i: Int) -> BlockCache { training ? blocks[i] : blocks[0] }

    /// The residual stream entering block i (i = layers: leaving the last block). Training keeps every
    /// block's input (block i−1 writes block i's); inference updates one stream in place.
    func stream(_ i: Int) -> UnsafeMutablePointer<Float> {
        training && i < blocks.count ? blocks[i].xIn.p : x.p
    }

    /// The output as an array.
    public var outputArray: [Float] { output.array }
}
