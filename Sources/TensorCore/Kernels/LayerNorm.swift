import Foundation

/// LayerNorm over the last dimension (`nn.LayerNorm`): biased variance, eps inside the square root,
/// optional affine weight and bias.
///
/// Forward saves per-row mean and reciprocal standard deviation; backward uses them with the input.
/// Rows run eight lanes at a time (`RowMath`): the row sums are SIMD reductions, not one serial chain.
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
                let xr = UnsafePointer(xp.p + r * ldx + g * dim), orow = op.p + r * ldo + g * dim
                let (mu, rs) = RowMath.meanRstd(xr, dim, eps: eps)
                mp[g * rows + r] = mu
                rp[g * rows + r] = rs
                RowMath.normalize(orow, xr, dim, mean: mu, rstd: rs, w: wp.map { UnsafePointer($0.p) },
                                  b: bp.map { UnsafePointer($0.p) })
            }
        }
    }

    /// Backward: dx = (or +=) rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dout·w; dw += Σ dout·x̂, db += Σ dout.
    /// The weight-gradient reductions use per-chunk partial sums added in chunk order (deterministic for
    /// a fixed thread count).
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
        let partialCount = needW ? nChunks * 2 * dim : 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: partialCount) { pbuf in
            let pp = SendablePointer(pbuf.baseAddress!)
            pp.p.initialize(repeating: 0, count: partialCount)
            let dxp = SendablePointer(dx), gp = SendablePointer(dout), xp = SendablePointer(x)
            let wp = w.map { SendablePointer($0) }, mp = SendablePointer(mean), rp = SendablePointer(rstd)
            parallelChunks(total, minChunk: minChunk) { c, lo, hi in
                let pw = needW ? pp.p + c * 2 * dim : nil
                for item in lo..<hi {
                    let r = item / groups, g = item % groups
                    RowMath.layerNormBackwardRow(dx: dxp.p + r * ldd + g * dim, dw: pw, db: pw.map { $0 + dim },
                                                 dout: gp.p + r * ldg + g * dim, x: xp.p + r * ldx + g * dim,
                                                 w: wp.map { UnsafePointer($0.p) }, mean: mp[g * rows + r],
                                                 rstd: rp[g * rows + r], dim: dim, accumulate: accumulateDx)
                }
            }
            if needW {
                for c in 0..<nChunks {
                    if let dw { RowMath.add(dw, pp.p + c * 2 * dim, dim) }
                    if let db { RowMath.add(db, pp.p + c * 2 * dim + dim, dim) }
                }
            }
        }
    }
}

/// One-row building blocks of the normalisation kernels, eight lanes at a time with a scalar tail.
/// Shared by `LayerNorm` and the transformer's fused modulated norm.
public enum RowMath {
    public typealias V = FastMath.V

    /// Mean and 1/√(biased variance + eps) of x[0..<n] (two passes over the row, which is in L1).
    @inlinable @inline(__always)
    public static func meanRstd(_ x: UnsafePointer<Float>, _ n: Int, eps: Float) -> (Float, Float) {
        var acc = V(repeating: 0), j = 0
        while j + 8 <= n { acc += FastMath.load(x + j); j += 8 }
        var s = acc.sum()
        while j < n { s += x[j]; j += 1 }
        let mu = s / Float(n)
        let vm = V(repeating: mu)
        var accV = V(repeating: 0)
        j = 0
        while j + 8 <= n { let d = FastMath.load(x + j) - vm; accV += d * d; j += 8 }
        var v = accV.sum()
        while j < n { let d = x[j] - mu; v += d * d; j += 1 }
        return (mu, 1 / (v / Float(n) + eps).squareRoot())
    }

    /// out = (x − mean)·rstd·w + b (w, b optional).
    @inlinable @inline(__always)
    public static func normalize(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
                                 mean: Float, rstd: Float, w: UnsafePointer<Float>?, b: UnsafePointer<Float>?) {
        let vm = V(repeating: mean), vr = V(repeating: rstd)
        var j = 0
        while j + 8 <= n {
            var y = (FastMath.load(x + j) - vm) * vr
            if let w { y *= FastMath.load(w + j) }
            if let b { y += FastMath.load(b + j) }
            FastMath.store(y, out + j)
            j += 8
        }
        while j < n {
            var y = (x[j] - mean) * rstd
            if let w { y *= w[j] }
            if let b { y += b[j] }
            out[j] = y
            j += 1
        }
    }

    /// dst[0..<n] += src[0..<n].
    @inlinable @inline(__always)
    public static func add(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        var j = 0
        while j + 8 <= n { FastMath.store(FastMath.load(dst + j) + FastMath.load(src + j), dst + j); j += 8 }
        while j < n { dst[j] += src[j]; j += 1 }
    }

    /// One row of LayerNorm's backward: dx (or dx +=) and, if given, dw += dout·x̂ and db += dout.
    @inlinable @inline(__always)
    public static func layerNormBackwardRow(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>?,
                                            db: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                            x: UnsafePointer<Float>, w: UnsafePointer<Float>?,
                                            mean mu: Float, rstd rs: Float, dim: Int, accumulate: Bool) {
        let vm = V(repeating: mu), vr = V(repeating: rs)
        var aG = V(repeating: 0), aGX = V(repeating: 0)
        var j = 0
        while j + 8 <= dim {
            let xh = (FastMath.load(x + j) - vm) * vr
            let go = FastMath.load(dout + j)
            let g = w.map { go * FastMath.load($0 + j) } ?? go
            aG += g
            aGX += g * xh
            if let dw { FastMath.store(FastMath.load(dw + j) + go * xh, dw + j) }
            if let db { FastMath.store(FastMath.load(db + j) + go, db + j) }
            j += 8
        }
        var sumG = aG.sum(), sumGX = aGX.sum()
        while j < dim {
            let xh = (x[j] - mu) * rs, go = dout[j]
            let g = w.map { go * $0[j] } ?? go
            sumG += g
            sumGX += g * xh
            if let dw { dw[j] += go * xh }
            if let db { db[j] += go }
            j += 1
        }
        let mG = sumG / Float(dim), mGX = sumGX / Float(dim)
        let vmG = V(repeating: mG), vmGX = V(repeating: mGX)
        j = 0
        while j + 8 <= dim {
            let xh = (FastMath.load(x + j) - vm) * vr
            let go = FastMath.load(dout + j)
            let g = w.map { go * FastMath.load($0 + j) } ?? go
            var v = vr * (g - vmG - xh * vmGX)
            if accumulate { v += FastMath.load(dx + j) }
            FastMath.store(v, dx + j)
            j += 8
        }
        while j < dim {
            let xh = (x[j] - mu) * rs, go = dout[j]
            let g = w.map { go * $0[j] } ?? go
            let v = rs * (g - mG - xh * mGX)
            dx[j] = accumulate ? dx[j] + v : v
            j += 1
        }
    }
}
