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
        let dm = cache.dims
        guard dOutput.count == dm.b * dm.n * dm.pOut else {
            throw ModelError.badInput("output gradient has \(dOutput.count) values, expected \(dm.b * dm.n * dm.pOut)")
        }
        if gradients == nil { zeroGradients() }
        let P = parameters.p, G = gradients!.p, L = layout
        let d = dm.d, rowsV = dm.b * dm.n, rows = dm.b * dm.s

        // Head: unpatchify⁻¹ → proj_out → modulation → norm_out.norm → norm_final.
        let dTok = FloatBuffer(count: rowsV * dm.pOut)
        Self.gatherPatches(dOutput, into: dTok.p, dimsFor(dm, channels: dm.cOut))
        let dz = FloatBuffer(count: rowsV * d)
        Linear.backward(dx: dz.p, dw: G + L.projW, db: G + L.projB, dy: dTok.p, x: cache.z.p, w: P + L.projW,
                        m: rowsV, k: d, n: dm.pOut)
        let dModOut = FloatBuffer(count: dm.b * 2 * d)
        let dy2 = FloatBuffer(count: rowsV * d)
        BlockOps.modulateBackward(dx: dy2.p, dmod: dModOut.p, dout: dz.p, x: cache.y2.p, mod: cache.modOut.p,
                                  modWidth: 2, batch: dm.b, rows: dm.n, textRows: 0, dim: d,
                                  shift: 0, scale: 1, encShift: 0, encScale: 1)
        let dsemb = FloatBuffer(count: dm.b * dm.te)
        Linear.backward(dx: dsemb.p, dw: G + L.normOutLinW, db: G + L.normOutLinB, dy: dModOut.p, x: cache.semb.p,
                        w: P + L.normOutLinW, m: dm.b, k: dm.te, n: 2 * d, accumulateDx: true)
        let dy1 = FloatBuffer(count: rowsV * d)
        LayerNorm.backward(dx: dy1.p, dw: G + L.normOutW, db: G + L.normOutB, dout: dy2.p, x: cache.y1.p,
                           w: P + L.normOutW, mean: cache.y2Mean.p, rstd: cache.y2Rstd.p, rows: rowsV, dim: d)
        let dx = FloatBuffer(count: rows * d)
        // The video rows of the joint stream receive norm_final's input gradient; text rows start at 0.
        for b in 0..<dm.b {
            LayerNorm.backward(dx: dx.p + (b * dm.s + dm.l) * d, dw: G + L.normFinalW, db: G + L.normFinalB,
                               dout: dy1.p + b * dm.n * d, x: cache.xv.p + b * dm.n * d, w: P + L.normFinalW,
                               mean: cache.y1Mean.p + b * dm.n, rstd: cache.y1Rstd.p + b * dm.n, rows: dm.n, dim: d)
        }

        // Blocks in reverse.
        let work = BackwardWork(dm)
        for i in stride(from: config.numLayers - 1, through: 0, by: -1) {
            blockBackward(i, cache.blocks[i], cache, dx: dx, dsemb: dsemb, work: work)
        }

        // Embeddings.
        var dText: [Float]? = nil
        let dPatches = FloatBuffer(count: dm.b * dm.n * dm.cpp)
        let dTextBuf = inputGradients ? FloatBuffer(count: dm.b * dm.l * dm.dt) : nil
        // Text rows → text_proj, video rows → the patch projection.
        for b in 0..<dm.b {
            Linear.backward(dx: dTextBuf.map { $0.p + b * dm.l * dm.dt }, dw: G + L.textW, db: G + L.textB,
                            dy: dx.p + b * dm.s * d, x: cache.textInput.p + b * dm.l * dm.dt, w: P + L.textW,
                            m: dm.l, k: dm.dt, n: d)
            Linear.backward(dx: inputGradients ? dPatches.p + b * dm.n * dm.cpp : nil, dw: G + L.patchW, db: G + L.patchB,
                            dy: dx.p + (b * dm.s + dm.l) * d, x: cache.patches.p + b * dm.n * dm.cpp, w: P + L.patchW,
                            m: dm.n, k: dm.cpp, n: d)
        }
        dText = dTextBuf?.array
        var dHidden: [Float]? = nil
        if inputGradients {
            let h = FloatBuffer(count: dm.b * dm.f * dm.c * dm.h * dm.w)
            Self.scatterPatches(dPatches.p, into: h.p, dm, channels: dm.c, accumulate: false)
            dHidden = h.array
        }
        // Time embedding: SiLU(emb) → emb → linear_2 → SiLU → linear_1 (the sinusoid has no parameters).
        let demb = FloatBuffer(count: dm.b * dm.te)
        Activation.siluBackward(demb.p, dsemb.p, cache.emb.p, dm.b * dm.te)
        let da1 = FloatBuffer(count: dm.b * dm.te)
        Linear.backward(dx: da1.p, dw: G + L.time2W, db: G + L.time2B, dy: demb.p, x: cache.a1.p, w: P + L.time2W,
                        m: dm.b, k: dm.te, n: dm.te)
        let dh1 = FloatBuffer(count: dm.b * dm.te)
        Activation.siluBackward(dh1.p, da1.p, cache.h1.p, dm.b * dm.te)
        Linear.backward(dx: nil, dw: G + L.time1W, db: G + L.time1B, dy: dh1.p, x: cache.temb.p, w: P + L.time1W,
                        m: dm.b, k: dm.d, n: dm.te)
        return InputGradients(hidden: dHidden, text: dText, timeEmbeddingOffset: demb.array)
    }

    /// Dims with a different channel count (the output side of the patch layout).
    func dimsFor(_ dm: Dims, channels: Int) -> Dims {
        var e = dm
        e.c = channels
        e.cpp = channels * dm.p * dm.p
        return e
    }

    /// Scratch reused by every block's backward.
    final class BackwardWork: @unchecked Sendable {
        let dA, dO, dqn, dkn, dqkv, dn, dln, dF2, dG, dmod: FloatBuffer
        init(_ dm: Dims) {
            let rows = dm.b * dm.s, d = dm.d
            dA = FloatBuffer(count: rows * d)
            dO = FloatBuffer(count: rows * d)
            dqn = FloatBuffer(count: rows * d)
            dkn = FloatBuffer(count: rows * d)
            dqkv = FloatBuffer(count: rows * 3 * d)
            dn = FloatBuffer(count: rows * d)
            dln = FloatBuffer(count: rows * d)
            dF2 = FloatBuffer(count: rows * d)
            dG = FloatBuffer(count: rows * dm.ff)
            dmod = FloatBuffer(count: dm.b * 6 * d)
        }
    }

    func blockBackward(_ i: Int, _ bc: BlockCache, _ cache: ForwardCache, dx: FloatBuffer, dsemb: FloatBuffer,
                       work w: BackwardWork) {
        let dm = cache.dims
        let P = parameters.p, G = gradients!.p, lb = layout.blocks[i]
        let rows = dm.b * dm.s, d = dm.d

        // x_out = x_mid + gate_ff·F2
        w.dmod.zero()
        BlockOps.gatedAddBackward(dy: w.dF2.p, dmod: w.dmod.p, dx: dx.p, y: bc.f2.p, mod: bc.mod2.p, modWidth: 6,
                                  batch: dm.b, rows: dm.s, textRows: dm.l, dim: d, gate: 2, encGate: 5)
        Linear.backward(dx: w.dG.p, dw: G + lb.ff2W, db: G + lb.ff2B, dy: w.dF2.p, x: bc.g.p, w: P + lb.ff2W,
                        m: rows, k: dm.ff, n: d)
        Activation.geluBackward(w.dG.p, w.dG.p, bc.f1.p, rows * dm.ff)
        Linear.backward(dx: w.dn.p, dw: G + lb.ff0W, db: G + lb.ff0B, dy: w.dG.p, x: bc.n2.p, w: P + lb.ff0W,
                        m: rows, k: d, n: dm.ff)
        BlockOps.modulateBackward(dx: w.dln.p, dmod: w.dmod.p, dout: w.dn.p, x: bc.ln2.p, mod: bc.mod2.p, modWidth: 6,
                                  batch: dm.b, rows: dm.s, textRows: dm.l, dim: d, shift: 0, scale: 1, encShift: 3, encScale: 4)
        LayerNorm.backward(dx: dx.p, dw: G + lb.norm2NormW, db: G + lb.norm2NormB, dout: w.dln.p, x: bc.xMid.p,
                           w: P + lb.norm2NormW, mean: bc.mean2.p, rstd: bc.rstd2.p, rows: rows, dim: d, accumulateDx: true)
        Linear.backward(dx: dsemb.p, dw: G + lb.norm2W, db: G + lb.norm2B, dy: w.dmod.p, x: cache.semb.p,
                        w: P + lb.norm2W, m: dm.b, k: dm.te, n: 6 * d, accumulateDx: true)

        // x_mid = x_in + gate·A
        w.dmod.zero()
        BlockOps.gatedAddBackward(dy: w.dA.p, dmod: w.dmod.p, dx: dx.p, y: bc.a.p, mod: bc.mod1.p, modWidth: 6,
                                  batch: dm.b, rows: dm.s, textRows: dm.l, dim: d, gate: 2, encGate: 5)
        Linear.backward(dx: w.dO.p, dw: G + lb.outW, db: G + lb.outB, dy: w.dA.p, x: bc.o.p, w: P + lb.outW,
                        m: rows, k: d, n: d)
        // Attention heads.
        w.dkn.zero()
        w.dqkv.zero()
        let scale = 1 / Float(dm.hd).squareRoot()
        let qn = bc.qn.sp, kn = bc.kn.sp, qkv = bc.qkv.sp, o = bc.o.sp, lse = bc.lse.sp
        let dqn = w.dqn.sp, dkn = w.dkn.sp, dqkv = w.dqkv.sp, dO = w.dO.sp
        parallelFor(dm.b * dm.heads) { task in
            let b = task / dm.heads, h = task % dm.heads
            let base = b * dm.s * d + h * dm.hd
            let vOff = b * dm.s * 3 * d + 2 * d + h * dm.hd
            var scratch = [Float](repeating: 0, count: Attention.backwardScratch(seq: dm.s))
            scratch.withUnsafeMutableBufferPointer { sc in
                Attention.backwardHead(dq: dqn.p + base, lddq: d, dk: dkn.p + base, lddk: d,
                                       dv: dqkv.p + vOff, lddv: 3 * d, dout: dO.p + base, lddo: d,
                                       out: o.p + base, ldo: d, lse: lse.p + task * dm.s,
                                       q: qn.p + base, ldq: d, k: kn.p + base, ldk: d,
                                       v: qkv.p + vOff, ldv: 3 * d, seq: dm.s, headDim: dm.hd, scale: scale,
                                       scratch: sc.baseAddress!)
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
        BlockOps.modulateBackward(dx: w.dln.p, dmod: w.dmod.p, dout: w.dn.p, x: bc.ln1.p, mod: bc.mod1.p, modWidth: 6,
                                  batch: dm.b, rows: dm.s, textRows: dm.l, dim: d, shift: 0, scale: 1, encShift: 3, encScale: 4)
        LayerNorm.backward(dx: dx.p, dw: G + lb.norm1NormW, db: G + lb.norm1NormB, dout: w.dln.p, x: bc.xIn.p,
                           w: P + lb.norm1NormW, mean: bc.mean1.p, rstd: bc.rstd1.p, rows: rows, dim: d, accumulateDx: true)
        Linear.backward(dx: dsemb.p, dw: G + lb.norm1W, db: G + lb.norm1B, dy: w.dmod.p, x: cache.semb.p,
                        w: P + lb.norm1W, m: dm.b, k: dm.te, n: 6 * d, accumulateDx: true)
    }
}
