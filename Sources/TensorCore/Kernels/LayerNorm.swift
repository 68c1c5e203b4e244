import Foundation

/// LayerNorm over the last dimension (`nn.LayerNorm`): biased variance, eps inside the square root,
/// optional affine weight and bias.
///
/// Forward saves per-row mean and reciprocal standard deviation; backward uses them with the input.
public enum LayerNorm {
    /// Rows below this many values per worker run on one thread: dispatch costs more than the work.
    @usableFromInline static let minValuesPerChunk = 16_384

    /// out[r, :] = (x[r, :] − μ_r)·rstd_r · w + b for r in 0..<rows; writes mean[r], rstd[r].
    /// With `groups` > 1 each row holds `groups` consecutive vectors of `dim` normalised separately
    /// with the same w and b (CogVideoX's per-head QK norm); their statistics go to mean[g·rows + r].
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                               w: UnsafePointer<Float>?, b: UnsafePointer<Float>?,
                               rows: Int, dim: Int, eps: Float,
                               ldx: Int? = nil, ldOut: Int? = nil, groups: Int = 1) {
        let ldx = ldx ?? dim * groups, ldo = ldOut ?? dim * groups
        let op = SendablePointer(out), mp = SendablePointer(mean), rp = SendablePointer(rstd)
        let xp = SendablePointer(x), wp = w.map { SendablePointer($0) }, bp = b.map { SendablePointer($0) }
        let total = rows * groups
        parallelChunks(total, minChunk: max(8, minValuesPerChunk / dim)) { _, lo, hi in
            for item in lo..<hi {
                let r = item / groups, g = item % groups
                let xr = xp.p + r * ldx + g * dim, orow = op.p + r * ldo + g * dim
                var s: Float = 0
                for j in 0..<dim { s += xr[j] }
                let mu = s / Float(dim)
                var v: Float = 0
                for j in 0..<dim { let d = xr[j] - mu; v += d * d }
                let rs = 1 / (v / Float(dim) + eps).squareRoot()
                mp[g * rows + r] = mu
                rp[g * rows + r] = rs
                if let wp, let bp {
                    for j in 0..<dim { orow[j] = (xr[j] - mu) * rs * wp[j] + bp[j] }
                } else if let wp {
                    for j in 0..<dim { orow[j] = (xr[j] - mu) * rs * wp[j] }
                } else {
                    for j in 0..<dim { orow[j] = (xr[j] - mu) * rs }
                }
            }
        }
    }

    /// Backward: dx = (or +=) rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dout·w; dw += Σ dout·x̂, db += Σ dout.
    /// The weight-gradient reductions use per-chunk partial sums added in chunk order (deterministic).
    public static func backward(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>?,
                                db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, w: UnsafePointer<Float>?,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                rows: Int, dim: Int, ldx: Int? = nil, ldDout: Int? = nil, ldDx: Int? = nil,
                                accumulateDx: Bool = false, groups: Int = 1) {
        let ldx = ldx ?? dim * groups, ldg = ldDout ?? dim * groups, ldd = ldDx ?? dim * groups
        let total = rows * groups, minChunk = max(8, minValuesPerChunk / dim)
        let nChunks = chunkCount(total, minChunk: minChunk)
        let needW = dw != nil || db != nil
        var partial = [Float](repeating: 0, count: needW ? nChunks * 2 * dim : 1)
        let dxp = SendablePointer(dx), gp = SendablePointer(dout), xp = SendablePointer(x)
        let wp = w.map { SendablePointer($0) }, mp = SendablePointer(mean), rp = SendablePointer(rstd)
        partial.withUnsafeMutableBufferPointer { pbuf in
            let pp = SendablePointer(pbuf.baseAddress!)
            parallelChunks(total, minChunk: minChunk) { c, lo, hi in
                var ghat = [Float](repeating: 0, count: dim)
                ghat.withUnsafeMutableBufferPointer { gh in
                    for item in lo..<hi {
                        let r = item / groups, g = item % groups
                        let xr = xp.p + r * ldx + g * dim, gr = gp.p + r * ldg + g * dim, dr = dxp.p + r * ldd + g * dim
                        let mu = mp[g * rows + r], rs = rp[g * rows + r]
                        var sumG: Float = 0, sumGX: Float = 0
                        for j in 0..<dim {
                            let xh = (xr[j] - mu) * rs
                            let g = wp.map { gr[j] * $0[j] } ?? gr[j]
                            gh[j] = g
                            sumG += g
                            sumGX += g * xh
                            if needW {
                                pp[c * 2 * dim + j] += gr[j] * xh
                                pp[c * 2 * dim + dim + j] += gr[j]
                            }
                        }
                        let mG = sumG / Float(dim), mGX = sumGX / Float(dim)
                        for j in 0..<dim {
                            let xh = (xr[j] - mu) * rs
                            let v = rs * (gh[j] - mG - xh * mGX)
                            dr[j] = accumulateDx ? dr[j] + v : v
                        }
                    }
                }
            }
        }
        if needW {
            for c in 0..<nChunks {
                for j in 0..<dim {
                    if let dw { dw[j] += partial[c * 2 * dim + j] }
                    if let db { db[j] += partial[c * 2 * dim + dim + j] }
                }
            }
        }
    }
}
