import TensorCore

/// The CogVideoX-specific pointwise pieces of a block, as forward/backward pairs: the expert
/// modulation `LN(x)·(1+scale)+shift` and the gated residual `x + gate·y`, where text rows
/// (the first L of each sample) take the `enc_*` chunks and video rows the others.
///
/// `mod` is the [B, k·D] output of a norm's linear layer; offsets are in units of D
/// (norm1/norm2: shift 0, scale 1, gate 2, enc_shift 3, enc_scale 4, enc_gate 5; norm_out: shift 0, scale 1).
enum BlockOps {
    /// Rows of sample b that use the text chunks are 0..<textRows, the rest use the video chunks.
    /// out = x·(1 + scale) + shift.
    static func modulate(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, mod: UnsafePointer<Float>,
                         modWidth: Int, batch: Int, rows: Int, textRows: Int, dim: Int,
                         shift: Int, scale: Int, encShift: Int, encScale: Int) {
        let op = SendablePointer(out), xp = SendablePointer(x), mp = SendablePointer(mod)
        parallelChunks(batch * rows, minChunk: max(8, 16_384 / dim)) { _, lo, hi in
            for r in lo..<hi {
                let b = r / rows, s = r % rows
                let m = mp.p + b * modWidth * dim
                let sh = m + (s < textRows ? encShift : shift) * dim
                let sc = m + (s < textRows ? encScale : scale) * dim
                let xr = xp.p + r * dim, orow = op.p + r * dim
                for j in 0..<dim { orow[j] = xr[j] * (1 + sc[j]) + sh[j] }
            }
        }
    }

    /// Backward of `modulate`: dx = dout·(1+scale) (written), dmod[shift] += Σ dout, dmod[scale] += Σ dout·x.
    static func modulateBackward(dx: UnsafeMutablePointer<Float>, dmod: UnsafeMutablePointer<Float>,
                                 dout: UnsafePointer<Float>, x: UnsafePointer<Float>, mod: UnsafePointer<Float>,
                                 modWidth: Int, batch: Int, rows: Int, textRows: Int, dim: Int,
                                 shift: Int, scale: Int, encShift: Int, encScale: Int) {
        let dxp = SendablePointer(dx), dmp = SendablePointer(dmod), gp = SendablePointer(dout)
        let xp = SendablePointer(x), mp = SendablePointer(mod)
        // One task per (sample, stream): each owns its own dmod chunks, so no two tasks share a sum.
        parallelFor(batch * 2) { task in
            let b = task / 2, isText = task % 2 == 0
            let lo = isText ? 0 : textRows, hi = isText ? textRows : rows
            if lo >= hi { return }
            let m = mp.p + b * modWidth * dim, dm = dmp.p + b * modWidth * dim
            let sc = m + (isText ? encScale : scale) * dim
            let dsh = dm + (isText ? encShift : shift) * dim, dsc = dm + (isText ? encScale : scale) * dim
            for s in lo..<hi {
                let r = b * rows + s
                let g = gp.p + r * dim, xr = xp.p + r * dim, d = dxp.p + r * dim
                for j in 0..<dim {
                    dsh[j] += g[j]
                    dsc[j] += g[j] * xr[j]
                    d[j] = g[j] * (1 + sc[j])
                }
            }
        }
    }

    /// x += gate·y, per stream.
    static func gatedAdd(x: UnsafeMutablePointer<Float>, y: UnsafePointer<Float>, mod: UnsafePointer<Float>,
                         modWidth: Int, batch: Int, rows: Int, textRows: Int, dim: Int, gate: Int, encGate: Int) {
        let xp = SendablePointer(x), yp = SendablePointer(y), mp = SendablePointer(mod)
        parallelChunks(batch * rows, minChunk: max(8, 16_384 / dim)) { _, lo, hi in
            for r in lo..<hi {
                let b = r / rows, s = r % rows
                let g = mp.p + b * modWidth * dim + (s < textRows ? encGate : gate) * dim
                let xr = xp.p + r * dim, yr = yp.p + r * dim
                for j in 0..<dim { xr[j] += g[j] * yr[j] }
            }
        }
    }

    /// Backward of `gatedAdd`: dy = dx·gate (written), dmod[gate] += Σ dx·y. dx itself passes through.
    static func gatedAddBackward(dy: UnsafeMutablePointer<Float>, dmod: UnsafeMutablePointer<Float>,
                                 dx: UnsafePointer<Float>, y: UnsafePointer<Float>, mod: UnsafePointer<Float>,
                                 modWidth: Int, batch: Int, rows: Int, textRows: Int, dim: Int,
                                 gate: Int, encGate: Int) {
        let dyp = SendablePointer(dy), dmp = SendablePointer(dmod), gp = SendablePointer(dx)
        let yp = SendablePointer(y), mp = SendablePointer(mod)
        parallelFor(batch * 2) { task in
            let b = task / 2, isText = task % 2 == 0
            let lo = isText ? 0 : textRows, hi = isText ? textRows : rows
            if lo >= hi { return }
            let gt = mp.p + b * modWidth * dim + (isText ? encGate : gate) * dim
            let dgt = dmp.p + b * modWidth * dim + (isText ? encGate : gate) * dim
            for s in lo..<hi {
                let r = b * rows + s
                let g = gp.p + r * dim, yr = yp.p + r * dim, d = dyp.p + r * dim
                for j in 0..<dim {
                    dgt[j] += g[j] * yr[j]
                    d[j] = g[j] * gt[j]
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
