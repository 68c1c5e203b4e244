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
                let s = scratch + i * seq
                var mx = -Float.infinity
                for j in 0..<seq { mx = max(mx, s[j]) }
                var sum: Float = 0
                FastMath.expShifted(s, seq, by: mx)
                for j in 0..<seq { sum += s[j] }
                let inv = 1 / sum
                for j in 0..<seq { s[j] *= inv }
                lse[t0 + i] = mx + logf(sum)
            }
            sgemm(m: rows, n: headDim, k: seq, a: scratch, lda: seq, b: v, ldb: ldv,
                  beta: 0, c: out + t0 * ldo, ldc: ldo)
            t0 += rows
        }
    }

    /// Backward of one head. Writes dq; ACCUMULATES into dk and dv (zero them first).
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
        for i in 0..<seq {
            var s: Float = 0
            let a = dout + i * lddo, o = out + i * ldo
            for j in 0..<headDim { s += a[j] * o[j] }
            drow[i] = s
        }
        var t0 = 0
        while t0 < seq {
            let rows = min(tile, seq - t0)
            sgemm(transB: true, m: rows, n: seq, k: headDim, alpha: scale, a: q + t0 * ldq, lda: ldq,
                  b: k, ldb: ldk, beta: 0, c: p, ldc: seq)
            for i in 0..<rows {
                let s = p + i * seq, l = lse[t0 + i]
                FastMath.expShifted(s, seq, by: l)
            }
            // dV += Pᵀ·dO_tile
            sgemm(transA: true, m: seq, n: headDim, k: rows, a: p, lda: seq, b: dout + t0 * lddo, ldb: lddo,
                  beta: 1, c: dv, ldc: lddv)
            // dP = dO_tile·Vᵀ, then dS = P∘(dP − D)
            sgemm(transB: true, m: rows, n: seq, k: headDim, a: dout + t0 * lddo, lda: lddo, b: v, ldb: ldv,
                  beta: 0, c: dp, ldc: seq)
            for i in 0..<rows {
                let ps = p + i * seq, ds = dp + i * seq, d = drow[t0 + i]
                for j in 0..<seq { ds[j] = ps[j] * (ds[j] - d) }
            }
            // dQ_tile = scale·dS·K ; dK += scale·dSᵀ·Q_tile
            sgemm(m: rows, n: headDim, k: seq, alpha: scale, a: dp, lda: seq, b: k, ldb: ldk,
                  beta: 0, c: dq + t0 * lddq, ldc: lddq)
            sgemm(transA: true, m: seq, n: headDim, k: rows, alpha: scale, a: dp, lda: seq,
                  b: q + t0 * ldq, ldb: ldq, beta: 1, c: dk, ldc: lddk)
            t0 += rows
        }
    }

    /// Scratch floats a forward head needs.
    public static func forwardScratch(seq: Int) -> Int { tileRows(seq: seq) * seq }
    /// Scratch floats a backward head needs.
    public static func backwardScratch(seq: Int) -> Int { 2 * tileRows(seq: seq) * seq + seq }
}
