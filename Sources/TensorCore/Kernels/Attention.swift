import Foundation

/// Softmax attention O = softmax(scale·Q·Kᵀ)·V for one head, no mask (CogVideoX's full 3D attention),
/// tiled over query rows so that memory is tile×S instead of S×S (flash-attention's row blocking).
///
/// Forward saves the per-row log-sum-exp; backward recomputes each tile's probabilities from it.
public enum Attention {
    /// Query rows per tile: the whole sequence when small, else enough rows for ~1M scores.
    public static func tileRows(seq: Int) -> Int {
        max(1, min(seq, max(32, (1 << 20) / max(1, seq))))
    }

    /// One head. q, k, v: [seq, headDim] with row strides; out: [seq, headDim] with stride ldo;
    /// lse: [seq]; scratch: at least tileRows(seq)·seq floats.
    public static func forwardHead(out: UnsafeMutablePointer<Float>, ldo: Int, lse: UnsafeMutablePointer<Float>,
                                   q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                                   v: UnsafePointer<Float>, ldv: Int, seq: Int, headDim: Int, scale: Float,
                                   scratch: UnsafeMutablePointer<Float>) {
        let tile = tileRows(seq: seq)
        var t0 = 0
        while t0 < seq {
            let rows = min(tile, seq - t0)
            sgemm(transB: true, m: rows, n: seq, k: headDim, alpha: scale, a: q + t0 * ldq, lda: ldq,
                  b: k, ldb: ldk, beta: 0, c: scratch, ldc: seq)
            for i in 0..<rows {
                lse[t0 + i] = softmaxRow(scratch + i * seq, seq)
            }
            sgemm(m: rows, n: headDim, k: seq, a: scratch, lda: seq, b: v, ldb: ldv,
                  beta: 0, c: out + t0 * ldo, ldc: ldo)
            t0 += rows
        }
    }

    /// Backward of one head. Writes dq, dk and dv (the first tile writes, later tiles accumulate).
    /// scratch: at least 2·tileRows(seq)·seq + seq floats.
    public static func backwardHead(dq: UnsafeMutablePointer<Float>, lddq: Int,
                                    dk: UnsafeMutablePointer<Float>, lddk: Int,
                                    dv: UnsafeMutablePointer<Float>, lddv: Int,
                                    dout: UnsafePointer<Float>, lddo: Int,
                                    out: UnsafePointer<Float>, ldo: Int, lse: UnsafePointer<Float>,
                                    q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
                                    v: UnsafePointer<Float>, ldv: Int, seq: Int, headDim: Int, scale: Float,
                                    scratch: UnsafeMutablePointer<Float>) {
        let tile = tileRows(seq: seq)
        let p = scratch, dp = scratch + tile * seq, drow = scratch + 2 * tile * seq
        for i in 0..<seq { drow[i] = dot(dout + i * lddo, out + i * ldo, headDim) }
        var t0 = 0
        while t0 < seq {
            let rows = min(tile, seq - t0)
            sgemm(transB: true, m: rows, n: seq, k: headDim, alpha: scale, a: q + t0 * ldq, lda: ldq,
                  b: k, ldb: ldk, beta: 0, c: p, ldc: seq)
            for i in 0..<rows {
                let s = p + i * seq, l = lse[t0 + i]
                FastMath.expShifted(s, seq, by: l)
            }
            let beta: Float = t0 == 0 ? 0 : 1
            // dV += Pᵀ·dO_tile
            sgemm(transA: true, m: seq, n: headDim, k: rows, a: p, lda: seq, b: dout + t0 * lddo, ldb: lddo,
                  beta: beta, c: dv, ldc: lddv)
            // dP = dO_tile·Vᵀ, then dS = P∘(dP − D)
            sgemm(transB: true, m: rows, n: seq, k: headDim, a: dout + t0 * lddo, lda: lddo, b: v, ldb: ldv,
                  beta: 0, c: dp, ldc: seq)
            for i in 0..<rows {
                let ps = p + i * seq, ds = dp + i * seq, d = drow[t0 + i]
                let vd = FastMath.V(repeating: d)
                var j = 0
                while j + 8 <= seq {
                    FastMath.store(FastMath.load(ps + j) * (FastMath.load(ds + j) - vd), ds + j)
                    j += 8
                }
                while j < seq { ds[j] = ps[j] * (ds[j] - d); j += 1 }
            }
            // dQ_tile = scale·dS·K ; dK += scale·dSᵀ·Q_tile
            sgemm(m: rows, n: headDim, k: seq, alpha: scale, a: dp, lda: seq, b: k, ldb: ldk,
                  beta: 0, c: dq + t0 * lddq, ldc: lddq)
            sgemm(transA: true, m: seq, n: headDim, k: rows, alpha: scale, a: dp, lda: seq,
                  b: q + t0 * ldq, ldb: ldq, beta: beta, c: dk, ldc: lddk)
            t0 += rows
        }
    }

    /// Turns row s[0..<n] of scores into probabilities in place; returns its log-sum-exp.
    @inlinable @inline(__always)
    static func softmaxRow(_ s: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        typealias V = FastMath.V
        var vmax = V(repeating: -.infinity), j = 0
        while j + 8 <= n { let v = FastMath.load(s + j); vmax.replace(with: v, where: v .> vmax); j += 8 }
        var mx = vmax[0]
        for lane in 1..<8 { mx = Swift.max(mx, vmax[lane]) }
        while j < n { mx = Swift.max(mx, s[j]); j += 1 }
        let vmx = V(repeating: mx)
        var acc = V(repeating: 0)
        j = 0
        while j + 8 <= n { let e = FastMath.exp(FastMath.load(s + j) - vmx); FastMath.store(e, s + j); acc += e; j += 8 }
        var sum = acc.sum()
        while j < n { let e = FastMath.exp(s[j] - mx); s[j] = e; sum += e; j += 1 }
        let inv = 1 / sum, vinv = V(repeating: inv)
        j = 0
        while j + 8 <= n { FastMath.store(FastMath.load(s + j) * vinv, s + j); j += 8 }
        while j < n { s[j] *= inv; j += 1 }
        return mx + logf(sum)
    }

    /// Σ a[j]·b[j] over j in 0..<n.
    @inlinable @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = FastMath.V(repeating: 0), j = 0
        while j + 8 <= n { acc += FastMath.load(a + j) * FastMath.load(b + j); j += 8 }
        var s = acc.sum()
        while j < n { s += a[j] * b[j]; j += 1 }
        return s
    }

    /// Scratch floats a forward head needs.
    public static func forwardScratch(seq: Int) -> Int { tileRows(seq: seq) * seq }
    /// Scratch floats a backward head needs.
    public static func backwardScratch(seq: Int) -> Int { 2 * tileRows(seq: seq) * seq + seq }
}
