import TensorCore

/// The CogVideoX-specific pointwise pieces of a block, as fused forward/backward pairs (llm.c style):
/// the expert-modulated LayerNorm `LN(x)·(1+scale)+shift` in one pass, the gated residual with the
/// preceding linear's bias `x + gate·(y + bias)` in one pass, and RoPE. Text rows (the first L of each
/// sample) take the `enc_*` chunks and video rows the others (`ModulationChunks`).
///
/// `mod` is the [B, width·D] output of a norm's linear layer. Backward reductions over rows go to one
/// owner per (sample, stream) task, and the LayerNorm weight gradients to per-task partial rows added
/// in task order, so the results do not depend on how tasks land on threads.
enum BlockOps {
    /// out = (LN(x)·w + b)·(1 + scale) + shift for the `rows` rows of each of `batch` samples; writes
    /// the LayerNorm statistics mean[r], rstd[r] for the backward. `out` may not alias `x`.
    static func modulatedLayerNorm(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                   rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                   w: UnsafePointer<Float>, b: UnsafePointer<Float>, eps: Float,
                                   mod: UnsafePointer<Float>, chunks: ModulationChunks,
                                   batch: Int, rows: Int, textRows: Int, dim: Int) {
        let op = SendablePointer(out), mp = SendablePointer(mean), rp = SendablePointer(rstd)
        let xp = SendablePointer(x), wp = SendablePointer(w), bp = SendablePointer(b), modp = SendablePointer(mod)
        parallelChunks(batch * rows, minChunk: max(8, 8_192 / dim)) { _, lo, hi in
            typealias V = FastMath.V
            for r in lo..<hi {
                let sample = r / rows, isText = r % rows < textRows
                let m = modp.p + sample * chunks.width * dim
                let sh = m + chunks.shift(text: isText) * dim, sc = m + chunks.scale(text: isText) * dim
                let xr = UnsafePointer(xp.p + r * dim), orow = op.p + r * dim
                let (mu, rs) = RowMath.meanRstd(xr, dim, eps: eps)
                mp[r] = mu
                rp[r] = rs
                let vm = V(repeating: mu), vr = V(repeating: rs), one = V(repeating: 1)
                var j = 0
                while j + 8 <= dim {
                    let ln = (FastMath.load(xr + j) - vm) * vr * FastMath.load(wp.p + j) + FastMath.load(bp.p + j)
                    FastMath.store(ln * (one + FastMath.load(sc + j)) + FastMath.load(sh + j), orow + j)
                    j += 8
                }
                while j < dim {
                    let ln = (xr[j] - mu) * rs * wp[j] + bp[j]
                    orow[j] = ln * (1 + sc[j]) + sh[j]
                    j += 1
                }
            }
        }
    }

    /// Scratch floats `modulatedLayerNormBackward` needs.
    static func modulatedLayerNormScratch(batch: Int, dim: Int) -> Int { batch * 2 * 3 * dim }

    /// Backward of `modulatedLayerNorm`. dx += (or =, without `accumulateDx`) the input gradient;
    /// dmod[shift] += Σ dout, dmod[scale] += Σ dout·LN(x); dw += Σ dout·(1+scale)·x̂, db += Σ dout·(1+scale).
    static func modulatedLayerNormBackward(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>,
                                           db: UnsafeMutablePointer<Float>, dmod: UnsafeMutablePointer<Float>,
                                           dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                           w: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                           mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                           mod: UnsafePointer<Float>, chunks: ModulationChunks,
                                           batch: Int, rows: Int, textRows: Int, dim: Int, accumulateDx: Bool,
                                           scratch: UnsafeMutablePointer<Float>) {
        let tasks = batch * 2
        let sp = SendablePointer(scratch)
        sp.p.initialize(repeating: 0, count: tasks * 2 * dim)
        let dxp = SendablePointer(dx), dmp = SendablePointer(dmod), gp = SendablePointer(dout)
        let xp = SendablePointer(x), wp = SendablePointer(w), bp = SendablePointer(b)
        let mp = SendablePointer(mean), rp = SendablePointer(rstd), modp = SendablePointer(mod)
        // One task per (sample, stream): it owns its dmod chunks and its partial dw/db rows.
        parallelFor(tasks) { task in
            typealias V = FastMath.V
            let sample = task / 2, isText = task % 2 == 0
            let lo = isText ? 0 : textRows, hi = isText ? textRows : rows
            if lo >= hi { return }
            let m = modp.p + sample * chunks.width * dim, dm = dmp.p + sample * chunks.width * dim
            let sc = m + chunks.scale(text: isText) * dim
            let dsh = dm + chunks.shift(text: isText) * dim, dsc = dm + chunks.scale(text: isText) * dim
            let pdw = sp.p + task * 2 * dim, pdb = pdw + dim
            let gm = sp.p + tasks * 2 * dim + task * dim  // this row's dout·(1 + scale)
            let one = V(repeating: 1)
            for s in lo..<hi {
                let r = sample * rows + s
                let g = gp.p + r * dim, xr = xp.p + r * dim
                let mu = mp[r], rs = rp[r]
                let vm = V(repeating: mu), vr = V(repeating: rs)
                var j = 0
                while j + 8 <= dim {
                    let go = FastMath.load(g + j)
                    let ln = (FastMath.load(xr + j) - vm) * vr * FastMath.load(wp.p + j) + FastMath.load(bp.p + j)
                    FastMath.store(FastMath.load(dsh + j) + go, dsh + j)
                    FastMath.store(FastMath.load(dsc + j) + go * ln, dsc + j)
                    FastMath.store(go * (one + FastMath.load(sc + j)), gm + j)
                    j += 8
                }
                while j < dim {
                    let go = g[j]
                    let ln = (xr[j] - mu) * rs * wp[j] + bp[j]
                    dsh[j] += go
                    dsc[j] += go * ln
                    gm[j] = go * (1 + sc[j])
                    j += 1
                }
                RowMath.layerNormBackwardRow(dx: dxp.p + r * dim, dw: pdw, db: pdb, dout: gm, x: xr,
                                             w: UnsafePointer(wp.p), mean: mu, rstd: rs, dim: dim,
                                             accumulate: accumulateDx)
            }
        }
        for task in 0..<tasks {
            RowMath.add(dw, sp.p + task * 2 * dim, dim)
            RowMath.add(db, sp.p + task * 2 * dim + dim, dim)
        }
    }

    /// out = x + gate·(y + bias), per stream (`y` is a linear layer's output before its bias).
    /// `out` may alias `x`.
    static func gatedResidual(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>, mod: UnsafePointer<Float>, chunks: ModulationChunks,
                              batch: Int, rows: Int, textRows: Int, dim: Int) {
        let op = SendablePointer(out), xp = SendablePointer(x), yp = SendablePointer(y)
        let bp = SendablePointer(bias), mp = SendablePointer(mod)
        parallelChunks(batch * rows, minChunk: max(8, 16_384 / dim)) { _, lo, hi in
            for r in lo..<hi {
                let sample = r / rows, isText = r % rows < textRows
                let g = mp.p + sample * chunks.width * dim + chunks.gate(text: isText) * dim
                let xr = xp.p + r * dim, yr = yp.p + r * dim, orow = op.p + r * dim
                var j = 0
                while j + 8 <= dim {
                    let v = FastMath.load(xr + j) + FastMath.load(g + j) * (FastMath.load(yr + j) + FastMath.load(bp.p + j))
                    FastMath.store(v, orow + j)
                    j += 8
                }
                while j < dim { orow[j] = xr[j] + g[j] * (yr[j] + bp[j]); j += 1 }
            }
        }
    }

    /// Backward of `gatedResidual`: dy = dout·gate (written), dmod[gate] += Σ dout·(y + bias). The
    /// gradient of x is dout itself (the caller keeps it).
    static func gatedResidualBackward(dy: UnsafeMutablePointer<Float>, dmod: UnsafeMutablePointer<Float>,
                                      dout: UnsafePointer<Float>, y: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                      mod: UnsafePointer<Float>, chunks: ModulationChunks,
                                      batch: Int, rows: Int, textRows: Int, dim: Int) {
        let dyp = SendablePointer(dy), dmp = SendablePointer(dmod), gp = SendablePointer(dout)
        let yp = SendablePointer(y), bp = SendablePointer(bias), mp = SendablePointer(mod)
        parallelFor(batch * 2) { task in
            let sample = task / 2, isText = task % 2 == 0
            let lo = isText ? 0 : textRows, hi = isText ? textRows : rows
            if lo >= hi { return }
            let off = sample * chunks.width * dim + chunks.gate(text: isText) * dim
            let gt = mp.p + off, dgt = dmp.p + off
            for s in lo..<hi {
                let r = sample * rows + s
                let g = gp.p + r * dim, yr = yp.p + r * dim, d = dyp.p + r * dim
                var j = 0
                while j + 8 <= dim {
                    let go = FastMath.load(g + j)
                    FastMath.store(FastMath.load(dgt + j) + go * (FastMath.load(yr + j) + FastMath.load(bp.p + j)), dgt + j)
                    FastMath.store(go * FastMath.load(gt + j), d + j)
                    j += 8
                }
                while j < dim {
                    dgt[j] += g[j] * (yr[j] + bp[j])
                    d[j] = g[j] * gt[j]
                    j += 1
                }
            }
        }
    }

    /// Rotates interleaved pairs (2j, 2j+1) of each head of the video rows by the RoPE tables
    /// (`apply_rotary_emb`); `inverse` applies the transpose, which is the backward pass.
    static func rope(_ x: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                     batch: Int, rows: Int, textRows: Int, heads: Int, headDim: Int, inverse: Bool) {
        let xp = SendablePointer(x), cp = SendablePointer(cos), sp = SendablePointer(sin)
        let video = rows - textRows, dim = heads * headDim
        parallelChunks(batch * video, minChunk: max(8, 16_384 / dim)) { _, lo, hi in
            for r in lo..<hi {
                let b = r / video, n = r % video
                let row = xp.p + (b * rows + textRows + n) * dim
                let c = cp.p + n * headDim, s = sp.p + n * headDim
                for h in 0..<heads {
                    let v = row + h * headDim
                    var j = 0
                    while j < headDim {
                        let a = v[j], bb = v[j + 1]
                        if inverse {
                            v[j] = a * c[j] + bb * s[j + 1]
                            v[j + 1] = bb * c[j + 1] - a * s[j]
                        } else {
                            v[j] = a * c[j] - bb * s[j]
                            v[j + 1] = bb * c[j + 1] + a * s[j + 1]
                        }
                        j += 2
                    }
                }
            }
        }
    }
}
