import Foundation
import TensorCore

extension CogVideoXTransformer {
    /// Gradients of a training forward: given dL/d(output) [B, F, out_channels, H, W], ACCUMULATES
    /// dL/d(parameter) into `gradients` (call `zeroGradients()` first) and returns dL/d(hidden) and
    /// dL/d(text) (and dL/d(time-embedding offset)) when asked.
    public struct InputGradients: Sendable {
        public var hidden: [Float]?
        public var text: [Float]?
        public var timeEmbeddingOffset: [Float]
    }

    @discardableResult
    public func backward(_ cache: ForwardCache, dOutput: [Float], inputGradients: Bool = true) throws -> InputGradients {
        guard cache.training else { throw ModelError.badInput("backward needs a cache from forwardTraining") }
        try refuseUnfusedLoRA("backward")
        let dm = cache.dims
        guard dOutput.count == dm.b * dm.n * dm.pOut else {
            throw ModelError.badInput("output gradient has \(dOutput.count) values, expected \(dm.b * dm.n * dm.pOut)")
        }
        if gradients == nil { zeroGradients() }
        let G = gradients!.p
        guard cache.isSplit else {
            return dOutput.withUnsafeBufferPointer {
                backwardWhole(cache, dOutput: $0.baseAddress!, gradients: G, inputGradients: inputGradients)
            }
        }
        // Data parallel: each part's backward runs on its own worker with serial kernels; part 0
        // accumulates into `gradients`, the others into slabs of their own, added after in part order.
        let parts = cache.parts, slabs = partGradientSlabs(parts.count - 1)
        var results = [InputGradients?](repeating: nil, count: parts.count)
        let perOut = dm.n * dm.pOut
        dOutput.withUnsafeBufferPointer { db in
            let dp = SendablePointer(db.baseAddress!), gp = SendablePointer(G)
            results.withUnsafeMutableBufferPointer { rb in
                let rp = SendablePointer(rb.baseAddress!)
                parallelFor(parts.count) { k in
                    withSerialKernels {
                        let lo = dm.b * k / parts.count
                        let target = k == 0 ? gp.p : slabs[k - 1].p
                        if k > 0 { slabs[k - 1].zero() }
                        rp[k] = backwardWhole(parts[k], dOutput: dp.p + lo * perOut, gradients: target,
                                              inputGradients: inputGradients)
                    }
                }
            }
        }
        let total = layout.total
        parallelChunks(total, minChunk: 65_536) { _, lo, hi in
            for s in slabs { RowMath.add(G + lo, s.p + lo, hi - lo) }
        }
        let r = results.map { $0! }
        return InputGradients(hidden: inputGradients ? r.flatMap { $0.hidden! } : nil,
                              text: inputGradients ? r.flatMap { $0.text! } : nil,
                              timeEmbeddingOffset: r.flatMap { $0.timeEmbeddingOffset })
    }

    /// The backward of one (whole or part) cache, accumulating parameter gradients at `G`.
    func backwardWhole(_ cache: ForwardCache, dOutput: UnsafePointer<Float>, gradients G: UnsafeMutablePointer<Float>,
                       inputGradients: Bool) -> InputGradients {
        let dm = cache.dims
        let P = parameters.p, L = layout
        let d = dm.d, rowsV = dm.b * dm.n
        let w = takeBackwardWork(dm)
        defer { releaseBackwardWork(w) }

        // Head: unpatchify⁻¹ → proj_out → norm_out (modulated LayerNorm) → norm_final.
        Self.gatherPatches(dOutput, into: w.dTok.p, dimsFor(dm, channels: dm.cOut))
        Linear.backward(dx: w.dz.p, dw: G + L.projW, db: G + L.projB, dy: w.dTok.p, x: cache.z.p, w: P + L.projW,
                        m: rowsV, k: d, n: dm.pOut)
        w.dModOut.zero()
        BlockOps.modulatedLayerNormBackward(dx: w.dy1.p, dw: G + L.normOutW, db: G + L.normOutB, dmod: w.dModOut.p,
                                            dout: w.dz.p, x: cache.y1.p, w: P + L.normOutW, b: P + L.normOutB,
                                            mean: cache.y2Mean.p, rstd: cache.y2Rstd.p, mod: cache.modOut.p,
                                            chunks: .head, batch: dm.b, rows: dm.n, textRows: 0, dim: d,
                                            accumulateDx: false, scratch: w.normScratch.p)
        w.dsemb.zero()
        Linear.backward(dx: w.dsemb.p, dw: G + L.normOutLinW, db: G + L.normOutLinB, dy: w.dModOut.p, x: cache.semb.p,
                        w: P + L.normOutLinW, m: dm.b, k: dm.te, n: 2 * d, accumulateDx: true)
        LayerNorm.backward(dx: w.dVideo.p, dw: G + L.normFinalW, db: G + L.normFinalB, dout: w.dy1.p, x: cache.xv.p,
                           w: P + L.normFinalW, mean: cache.y1Mean.p, rstd: cache.y1Rstd.p, rows: rowsV, dim: d)
        // The video rows of the joint stream receive norm_final's input gradient; text rows start at 0.
        w.dText.zero()
        Self.layStreams(into: w.dx.p, text: w.dText.p, video: w.dVideo.p, table: nil, dm)

        // Blocks in reverse.
        for i in stride(from: config.numLayers - 1, through: 0, by: -1) {
            blockBackward(i, cache.blocks[i], cache, gradients: G, work: w)
        }

        // Embeddings: text rows → text_proj, video rows → the patch projection, one GEMM each.
        Self.splitStreams(w.dx.p, text: w.dText.p, video: w.dVideo.p, dm)
        Linear.backward(dx: inputGradients ? w.dTextInput.p : nil, dw: G + L.textW, db: G + L.textB,
                        dy: w.dText.p, x: cache.textInput.p, w: P + L.textW, m: dm.b * dm.l, k: dm.dt, n: d)
        Linear.backward(dx: inputGradients ? w.dPatches.p : nil, dw: G + L.patchW, db: G + L.patchB,
                        dy: w.dVideo.p, x: cache.patches.p, w: P + L.patchW, m: rowsV, k: dm.cpp, n: d)
        var dText: [Float]? = nil, dHidden: [Float]? = nil
        if inputGradients {
            dText = w.dTextInput.array
            let h = FloatBuffer(count: dm.b * dm.f * dm.c * dm.h * dm.w)
            Self.scatterPatches(w.dPatches.p, into: h.p, dm, channels: dm.c, accumulate: false)
            dHidden = h.array
        }
        // Time embedding: SiLU(emb) → emb → linear_2 → SiLU → linear_1 (the sinusoid has no parameters).
        Activation.siluBackward(w.demb.p, w.dsemb.p, cache.emb.p, dm.b * dm.te)
        Linear.backward(dx: w.da1.p, dw: G + L.time2W, db: G + L.time2B, dy: w.demb.p, x: cache.a1.p, w: P + L.time2W,
                        m: dm.b, k: dm.te, n: dm.te)
        Activation.siluBackward(w.dh1.p, w.da1.p, cache.h1.p, dm.b * dm.te)
        Linear.backward(dx: nil, dw: G + L.time1W, db: G + L.time1B, dy: w.dh1.p, x: cache.temb.p, w: P + L.time1W,
                        m: dm.b, k: dm.d, n: dm.te)
        return InputGradients(hidden: dHidden, text: dText, timeEmbeddingOffset: w.demb.array)
    }

    /// Dims with a different channel count (the output side of the patch layout).
    func dimsFor(_ dm: Dims, channels: Int) -> Dims {
        var e = dm
        e.c = channels
        e.cpp = channels * dm.p * dm.p
        return e
    }

    /// Every buffer a backward pass needs, kept by the model between steps of the same size.
    final class BackwardWork: @unchecked Sendable {
        let dims: Dims
        // Head and embeddings.
        let dTok, dz, dModOut, dsemb, dy1, dx, dText, dVideo, dTextInput, dPatches, demb, da1, dh1: FloatBuffer
        // Reused by every block.
        let dA, dO, dqn, dkn, dqkv, dn, dF2, dG, dmod: FloatBuffer
        let normScratch, attentionScratch: FloatBuffer

        init(_ dm: Dims) {
            dims = dm
            let rows = dm.b * dm.s, d = dm.d, rowsV = dm.b * dm.n
            dTok = FloatBuffer(count: rowsV * dm.pOut)
            dz = FloatBuffer(count: rowsV * d)
            dModOut = FloatBuffer(count: dm.b * 2 * d)
            dsemb = FloatBuffer(count: dm.b * dm.te)
            dy1 = FloatBuffer(count: rowsV * d)
            dx = FloatBuffer(count: rows * d)
            dText = FloatBuffer(count: dm.b * dm.l * d)
            dVideo = FloatBuffer(count: rowsV * d)
            dTextInput = FloatBuffer(count: dm.b * dm.l * dm.dt)
            dPatches = FloatBuffer(count: rowsV * dm.cpp)
            demb = FloatBuffer(count: dm.b * dm.te)
            da1 = FloatBuffer(count: dm.b * dm.te)
            dh1 = FloatBuffer(count: dm.b * dm.te)
            dA = FloatBuffer(count: rows * d)
            dO = FloatBuffer(count: rows * d)
            dqn = FloatBuffer(count: rows * d)
            dkn = FloatBuffer(count: rows * d)
            dqkv = FloatBuffer(count: rows * 3 * d)
            dn = FloatBuffer(count: rows * d)
            dF2 = FloatBuffer(count: rows * d)
            dG = FloatBuffer(count: rows * dm.ff)
            dmod = FloatBuffer(count: dm.b * 6 * d)
            normScratch = FloatBuffer(count: BlockOps.modulatedLayerNormScratch(batch: dm.b, dim: d))
            attentionScratch = FloatBuffer(count: ForwardCache.attentionChunks(dm) * Attention.backwardScratch(seq: dm.s))
        }
    }

    func blockBackward(_ i: Int, _ bc: BlockCache, _ cache: ForwardCache, gradients G: UnsafeMutablePointer<Float>,
                       work w: BackwardWork) {
        let dm = cache.dims
        let P = parameters.p, lb = layout.blocks[i]
        let rows = dm.b * dm.s, d = dm.d
        let dx = w.dx

        // x_out = x_mid + gate_ff·(F2 + b_ff2)
        w.dmod.zero()
        BlockOps.gatedResidualBackward(dy: w.dF2.p, dmod: w.dmod.p, dout: dx.p, y: bc.f2.p, bias: P + lb.ff2B,
                                       mod: bc.mod2.p, chunks: .block, batch: dm.b, rows: dm.s, textRows: dm.l, dim: d)
        Linear.backward(dx: w.dG.p, dw: G + lb.ff2W, db: G + lb.ff2B, dy: w.dF2.p, x: bc.g.p, w: P + lb.ff2W,
                        m: rows, k: dm.ff, n: d)
        Activation.geluBackward(w.dG.p, w.dG.p, bc.f1.p, rows * dm.ff)
        Linear.backward(dx: w.dn.p, dw: G + lb.ff0W, db: G + lb.ff0B, dy: w.dG.p, x: bc.n2.p, w: P + lb.ff0W,
                        m: rows, k: d, n: dm.ff)
        BlockOps.modulatedLayerNormBackward(dx: dx.p, dw: G + lb.norm2NormW, db: G + lb.norm2NormB, dmod: w.dmod.p,
                                            dout: w.dn.p, x: bc.xMid.p, w: P + lb.norm2NormW, b: P + lb.norm2NormB,
                                            mean: bc.mean2.p, rstd: bc.rstd2.p, mod: bc.mod2.p, chunks: .block,
                                            batch: dm.b, rows: dm.s, textRows: dm.l, dim: d, accumulateDx: true,
                                            scratch: w.normScratch.p)
        Linear.backward(dx: w.dsemb.p, dw: G + lb.norm2W, db: G + lb.norm2B, dy: w.dmod.p, x: cache.semb.p,
                        w: P + lb.norm2W, m: dm.b, k: dm.te, n: 6 * d, accumulateDx: true)

        // x_mid = x_in + gate·(A + b_out)
        w.dmod.zero()
        BlockOps.gatedResidualBackward(dy: w.dA.p, dmod: w.dmod.p, dout: dx.p, y: bc.a.p, bias: P + lb.outB,
                                       mod: bc.mod1.p, chunks: .block, batch: dm.b, rows: dm.s, textRows: dm.l, dim: d)
        Linear.backward(dx: w.dO.p, dw: G + lb.outW, db: G + lb.outB, dy: w.dA.p, x: bc.o.p, w: P + lb.outW,
                        m: rows, k: d, n: d)
        // Attention heads: each task writes its head's dq, dk, dv columns (dq, dk before the QK norms;
        // dv straight into the V third of dqkv, whose Q and K thirds the norms' backward writes).
        let scale = 1 / Float(dm.hd).squareRoot()
        let qn = bc.qn.sp, kn = bc.kn.sp, qkv = bc.qkv.sp, o = bc.o.sp, lse = bc.lse.sp
        let dqn = w.dqn.sp, dkn = w.dkn.sp, dqkv = w.dqkv.sp, dO = w.dO.sp
        let scr = w.attentionScratch.sp, scrCount = Attention.backwardScratch(seq: dm.s)
        let tasks = dm.b * dm.heads, chunks = ForwardCache.attentionChunks(dm)
        parallelFor(chunks) { c in
            for task in (tasks * c / chunks)..<(tasks * (c + 1) / chunks) {
                let b = task / dm.heads, h = task % dm.heads
                let base = b * dm.s * d + h * dm.hd
                let vOff = b * dm.s * 3 * d + 2 * d + h * dm.hd
                Attention.backwardHead(dq: dqn.p + base, lddq: d, dk: dkn.p + base, lddk: d,
                                       dv: dqkv.p + vOff, lddv: 3 * d, dout: dO.p + base, lddo: d,
                                       out: o.p + base, ldo: d, lse: lse.p + task * dm.s,
                                       q: qn.p + base, ldq: d, k: kn.p + base, ldk: d,
                                       v: qkv.p + vOff, ldv: 3 * d, seq: dm.s, headDim: dm.hd, scale: scale,
                                       scratch: scr.p + c * scrCount)
            }
        }
        if let c = cache.ropeCos, let s = cache.ropeSin {
            BlockOps.rope(w.dqn.p, cos: c, sin: s, batch: dm.b, rows: dm.s, textRows: dm.l, heads: dm.heads,
                          headDim: dm.hd, inverse: true)
            BlockOps.rope(w.dkn.p, cos: c, sin: s, batch: dm.b, rows: dm.s, textRows: dm.l, heads: dm.heads,
                          headDim: dm.hd, inverse: true)
        }
        LayerNorm.backward(dx: w.dqkv.p, dw: G + lb.normQW, db: G + lb.normQB, dout: w.dqn.p, x: bc.qkv.p,
                           w: P + lb.normQW, mean: bc.qMean.p, rstd: bc.qRstd.p, rows: rows, dim: dm.hd,
                           ldx: 3 * d, ldDout: d, ldDx: 3 * d, groups: dm.heads)
        LayerNorm.backward(dx: w.dqkv.p + d, dw: G + lb.normKW, db: G + lb.normKB, dout: w.dkn.p, x: bc.qkv.p + d,
                           w: P + lb.normKW, mean: bc.kMean.p, rstd: bc.kRstd.p, rows: rows, dim: dm.hd,
                           ldx: 3 * d, ldDout: d, ldDx: 3 * d, groups: dm.heads)
        Linear.backward(dx: w.dn.p, dw: G + lb.qkvW, db: G + lb.qkvB, dy: w.dqkv.p, x: bc.n1.p, w: P + lb.qkvW,
                        m: rows, k: d, n: 3 * d)
        BlockOps.modulatedLayerNormBackward(dx: dx.p, dw: G + lb.norm1NormW, db: G + lb.norm1NormB, dmod: w.dmod.p,
                                            dout: w.dn.p, x: bc.xIn.p, w: P + lb.norm1NormW, b: P + lb.norm1NormB,
                                            mean: bc.mean1.p, rstd: bc.rstd1.p, mod: bc.mod1.p, chunks: .block,
                                            batch: dm.b, rows: dm.s, textRows: dm.l, dim: d, accumulateDx: true,
                                            scratch: w.normScratch.p)
        Linear.backward(dx: w.dsemb.p, dw: G + lb.norm1W, db: G + lb.norm1B, dy: w.dmod.p, x: cache.semb.p,
                        w: P + lb.norm1W, m: dm.b, k: dm.te, n: 6 * d, accumulateDx: true)
    }
}
