/// Branch-free exp and tanh that the compiler can vectorize (libm's `expf` is a call per element and
/// dominated the softmax and GELU loops). Cephes' expf scheme: exp(x) = 2ⁿ·exp(r), |r| ≤ ln2/2, a
/// degree-6 polynomial for exp(r), 2ⁿ assembled in the exponent bits. Relative error ≲ 2e-7 over the
/// clamped range [−87.3, 88.7]; below it the result is ~1e-38 instead of 0, which no caller can tell.
public enum FastMath {
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.3), 88.7)
        // Round x·log2(e) to nearest with the 1.5·2²³ trick (vectorizes; `rounded()` may not).
        let magic: Float = 12_582_912
        let t = xc * 1.442_695_04 + magic
        let n = t - magic
        let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let e = p * (r * r) + r + 1
        // t = 1.5·2²³ + n, so its low mantissa bits hold n: build 2ⁿ with integer ops only.
        let bits = (t.bitPattern &- 0x4B40_0000 &+ 127) << 23
        return e * Float(bitPattern: bits)
    }

    /// tanh(x) = 1 − 2/(e^{2x} + 1), saturating cleanly for large |x|.
    @inlinable @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        let e = exp(2 * Swift.min(Swift.max(x, -10), 10))
        return 1 - 2 / (e + 1)
    }

    /// 1 / (1 + e^{−x}).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
}

/// Eight-wide versions of the same functions, written with SIMD types so that the loops that use
/// them run vectorized whatever the auto-vectorizer decides.
extension FastMath {
    public typealias V = SIMD8<Float>

    @_transparent
    public static func exp(_ x: V) -> V {
        let xc = clamp(x, -87.3, 88.7)
        let magic = V(repeating: 12_582_912)
        let t = xc * 1.442_695_04 + magic
        let n = t - magic
        let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let e = p * (r * r) + r + 1
        let bits = (unsafeBitCast(t, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return e * unsafeBitCast(bits, to: V.self)
    }

    @_transparent
    public static func tanh(_ x: V) -> V {
        let e = exp(2 * clamp(x, -10, 10))
        return 1 - 2 / (e + 1)
    }

    /// Lane-wise clamp through compare-and-select masks (inlines to two compares and blends).
    @_transparent
    public static func clamp(_ x: V, _ lo: Float, _ hi: Float) -> V {
        var y = x
        y.replace(with: lo, where: x .< lo)
        y.replace(with: hi, where: y .> hi)
        return y
    }

    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inlinable @inline(__always)
    public static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
}

extension FastMath {
    /// x[i] = exp(x[i] − shift) for i in 0..<n.
    @inlinable
    public static func expShifted(_ x: UnsafeMutablePointer<Float>, _ n: Int, by shift: Float) {
        var i = 0
        let s = V(repeating: shift)
        while i + 8 <= n { store(exp(load(x + i) - s), x + i); i += 8 }
        while i < n { x[i] = exp(x[i] - shift); i += 1 }
    }
}
