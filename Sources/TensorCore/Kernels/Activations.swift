import Foundation

/// Pointwise activations as forward/backward pairs. The backward passes take the forward input.
public enum Activation {
    /// √(2/π), the constant of the tanh approximation.
    public static let geluC: Float = 0.7978845608028654

    /// GELU with the tanh approximation (`F.gelu(approximate="tanh")`).
    @inlinable public static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + FastMath.tanh(geluC * (x + 0.044715 * x * x * x)))
    }

    @inlinable public static func geluGrad(_ x: Float) -> Float {
        let u = geluC * (x + 0.044715 * x * x * x)
        let t = FastMath.tanh(u)
        let du = geluC * (1 + 3 * 0.044715 * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    }

    @_transparent public static func gelu(_ x: FastMath.V) -> FastMath.V {
        0.5 * x * (1 + FastMath.tanh(geluC * (x + 0.044715 * x * x * x)))
    }

    @_transparent public static func geluGrad(_ x: FastMath.V) -> FastMath.V {
        let u = geluC * (x + 0.044715 * x * x * x)
        let t = FastMath.tanh(u)
        let du = geluC * (1 + 3 * 0.044715 * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    }

    @inlinable public static func silu(_ x: Float) -> Float { x * FastMath.sigmoid(x) }

    @inlinable public static func siluGrad(_ x: Float) -> Float {
        let s = FastMath.sigmoid(x)
        return s * (1 + x * (1 - s))
    }

    /// y = gelu(x) over n values (parallel over chunks; the inner loops run on raw pointers so they vectorize).
    public static func geluForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        let yp = SendablePointer(y), xp = SendablePointer(x)
        parallelChunks(n, minChunk: 16_384) { _, lo, hi in
            let yy = yp.p, xx = UnsafePointer(xp.p)
            var i = lo
            while i + 8 <= hi { FastMath.store(gelu(FastMath.load(xx + i)), yy + i); i += 8 }
            while i < hi { yy[i] = gelu(xx[i]); i += 1 }
        }
    }

    /// The bias of the linear layer before a GELU, fused with it: for each of `rows` rows of `n`
    /// values, pre[r, j] += b[j] (kept: the backward needs it) and y[r, j] = gelu(pre[r, j]).
    /// Pass nil for y to apply the GELU in place (inference, when `pre` is not needed again).
    public static func biasGeluForward(_ y: UnsafeMutablePointer<Float>?, _ pre: UnsafeMutablePointer<Float>,
                                       bias: UnsafePointer<Float>, rows: Int, n: Int) {
        let yp = SendablePointer(y ?? pre), pp = SendablePointer(pre), bp = SendablePointer(bias)
        let inPlace = y == nil
        parallelChunks(rows, minChunk: max(1, 16_384 / max(n, 1))) { _, lo, hi in
            for r in lo..<hi {
                let pr = pp.p + r * n, yr = yp.p + r * n
                var j = 0
                while j + 8 <= n {
                    let v = FastMath.load(pr + j) + FastMath.load(bp.p + j)
                    if !inPlace { FastMath.store(v, pr + j) }
                    FastMath.store(gelu(v), yr + j)
                    j += 8
                }
                while j < n {
                    let v = pr[j] + bp[j]
                    if !inPlace { pr[j] = v }
                    yr[j] = gelu(v)
                    j += 1
                }
            }
        }
    }

    /// dx = dy·gelu'(x) (or += with accumulate). dx may alias dy.
    public static func geluBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ x: UnsafePointer<Float>, _ n: Int, accumulate: Bool = false) {
        let dxp = SendablePointer(dx), dyp = SendablePointer(dy), xp = SendablePointer(x)
        parallelChunks(n, minChunk: 16_384) { _, lo, hi in
            let d = dxp.p, g = dyp.p, xx = xp.p
            var i = lo
            while i + 8 <= hi {
                var v = FastMath.load(g + i) * geluGrad(FastMath.load(xx + i))
                if accumulate { v += FastMath.load(d + i) }
                FastMath.store(v, d + i)
                i += 8
            }
            while i < hi {
                let v = g[i] * geluGrad(xx[i])
                d[i] = accumulate ? d[i] + v : v
                i += 1
            }
        }
    }

    public static func siluForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = silu(x[i]) }
    }

    public static func siluBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ x: UnsafePointer<Float>, _ n: Int, accumulate: Bool = false) {
        for i in 0..<n {
            let v = dy[i] * siluGrad(x[i])
            dx[i] = accumulate ? dx[i] + v : v
        }
    }
}
