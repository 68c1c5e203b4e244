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
        let n = (xc * 1.442_695_04 + magic) - magic
        let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let e = p * (r * r) + r + 1
        let bits = UInt32(truncatingIfNeeded: Int32(n) &+ 127) << 23
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
