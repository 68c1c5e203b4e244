import TensorCore

/// What one block's forward keeps for its backward (inputs of every GEMM and norm, the attention
/// output and its log-sum-exp). In inference one instance is reused by every block.
public final class BlockCache: @unchecked Sendable {
    let xIn, mod1, ln1, mean1, rstd1, n1, qkv, qn, kn, qMean, qRstd, kMean, kRstd, o, lse, a: FloatBuffer
    let xMid, mod2, ln2, mean2, rstd2, n2, f1, g, f2: FloatBuffer

    init(_ dm: CogVideoXTransformer.Dims) {
        let rows = dm.b * dm.s, d = dm.d
        xIn = FloatBuffer(count: rows * d)
        mod1 = FloatBuffer(count: dm.b * 6 * d)
        ln1 = FloatBuffer(count: rows * d)
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
        ln2 = FloatBuffer(count: rows * d)
        mean2 = FloatBuffer(count: rows)
        rstd2 = FloatBuffer(count: rows)
        n2 = FloatBuffer(count: rows * d)
        f1 = FloatBuffer(count: rows * dm.ff)
        g = FloatBuffer(count: rows * dm.ff)
        f2 = FloatBuffer(count: rows * d)
    }
}

/// The activations of one forward pass: enough for `backward` when made for training.
public final class ForwardCache: @unchecked Sendable {
    public let dims: CogVideoXTransformer.Dims
    let training: Bool
    let temb: FloatBuffer
    let textInput: FloatBuffer
    let h1, a1, emb, semb, patches, x: FloatBuffer
    var blocks: [BlockCache] = []
    let xv, y1, y1Mean, y1Rstd, y2, y2Mean, y2Rstd, modOut, z, outTokens: FloatBuffer
    /// The v-prediction [B, F, out_channels, H, W].
    public let output: FloatBuffer
    var ropeCos: [Float]? = nil
    var ropeSin: [Float]? = nil
    /// Module outputs named as in the fixtures (`act.*`), when captured.
    public var activations: [String: [Float]] = [:]

    init(dims dm: CogVideoXTransformer.Dims, layers: Int, training: Bool) {
        dims = dm
        self.training = training
        temb = FloatBuffer(count: dm.b * dm.d)
        textInput = FloatBuffer(count: dm.b * dm.l * dm.dt)
        h1 = FloatBuffer(count: dm.b * dm.te)
        a1 = FloatBuffer(count: dm.b * dm.te)
        emb = FloatBuffer(count: dm.b * dm.te)
        semb = FloatBuffer(count: dm.b * dm.te)
        patches = FloatBuffer(count: dm.b * dm.n * dm.cpp)
        x = FloatBuffer(count: dm.b * dm.s * dm.d)
        let rv = dm.b * dm.n
        xv = FloatBuffer(count: rv * dm.d)
        y1 = FloatBuffer(count: rv * dm.d)
        y1Mean = FloatBuffer(count: rv)
        y1Rstd = FloatBuffer(count: rv)
        y2 = FloatBuffer(count: rv * dm.d)
        y2Mean = FloatBuffer(count: rv)
        y2Rstd = FloatBuffer(count: rv)
        modOut = FloatBuffer(count: dm.b * 2 * dm.d)
        z = FloatBuffer(count: rv * dm.d)
        outTokens = FloatBuffer(count: rv * dm.pOut)
        output = FloatBuffer(count: rv * dm.pOut)
        if training {
            blocks = (0..<layers).map { _ in BlockCache(dm) }
        } else if layers > 0 {
            blocks = [BlockCache(dm)]
        }
    }

    func blockCache(_ i: Int) -> BlockCache { training ? blocks[i] : blocks[0] }

    /// The output as an array.
    public var outputArray: [Float] { output.array }
}
