/// Conversions between `Float` and the narrow floating-point formats that safetensors checkpoints use:
/// IEEE 754 binary16 (`F16`), bfloat16 (`BF16`) and the two 8-bit formats (`F8_E4M3`, `F8_E5M2`).
///
/// They mirror what PyTorch does when a model is saved as `torch.float16` / `torch.bfloat16`: round to nearest,
/// ties to even, with subnormals, infinities and NaN preserved, so a tensor we write in half precision has the
/// same bits as the one the reference stack would write. They work on bit patterns rather than through Swift's
/// `Float16` because that type is unavailable on some hosts (macOS on x86_64) and because the rounding must be
/// exactly the documented one, not whatever the host instruction does.
public enum HalfPrecision {
    // MARK: binary16

    /// Widens an IEEE 754 binary16 bit pattern to `Float`. Exact: every binary16 value is a `Float`.
    @inlinable
    public static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {
            // Infinity or NaN; the NaN payload moves to the top of the Float mantissa.
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exactly representable in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Narrows a `Float` to an IEEE 754 binary16 bit pattern, rounding to nearest with ties to even.
    /// Values beyond the largest finite half (65504) round to infinity as IEEE 754 prescribes (65519.99 stays
    /// finite, 65520 is a tie that goes to infinity); tiny values become subnormals or signed zero; NaN stays a
    /// quiet NaN keeping the top payload bits.
    @inlinable
    public static func f16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 31 { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Result is a subnormal half (or zero): value = significand * 2^(exponent - 150), and the half
            // subnormal unit is 2^-24, so the half mantissa is significand >> (126 - exponent).
            let shift = 126 - exponent
            if shift > 24 { return sign }  // below half of the smallest subnormal: rounds to zero
            let significand = exponent == 0 ? mantissa : (mantissa | 0x0080_0000)
            var half = significand >> UInt32(shift)
            let remainder = significand & ((UInt32(1) << UInt32(shift)) - 1)
            let halfway = UInt32(1) << UInt32(shift - 1)
            if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)
        }
        var half = (UInt32(halfExponent) << 10) | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        // A carry out of the mantissa correctly bumps the exponent, up to infinity (0x7C00).
        if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    // MARK: bfloat16

    /// Widens a bfloat16 bit pattern to `Float` (the upper half of a binary32). Exact.
    @inlinable
    public static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Narrows a `Float` to bfloat16 with round to nearest, ties to even; NaN stays a quiet NaN.
    @inlinable
    public static func bf16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if (bits & 0x7FFF_FFFF) > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        let roundingBias = 0x7FFF + ((bits >> 16) & 1)
        // Cannot overflow: the largest non-NaN pattern 0xFF80_0000 plus 0x8000 stays below 2^32.
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    // MARK: 8-bit floats

    /// Widens `F8_E4M3` (the "fn" variant PyTorch calls `float8_e4m3fn`: bias 7, no infinities, S.1111.111 is
    /// NaN) to `Float`. Exact.
    @inlinable
    public static func float(fromF8E4M3 bits: UInt8) -> Float {
        let negative = (bits & 0x80) != 0
        let exponent = Int((bits >> 3) & 0x0F)
        let mantissa = Float(bits & 0x07)
        let magnitude: Float
        if exponent == 0x0F && (bits & 0x07) == 0x07 {
            magnitude = .nan
        } else if exponent == 0 {
            magnitude = mantissa * 0x1p-9
        } else {
            magnitude = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        }
        return negative ? -magnitude : magnitude
    }

    /// Widens `F8_E5M2` to `Float`. E5M2 is the upper byte of a binary16, so this is exact.
    @inlinable
    public static func float(fromF8E5M2 bits: UInt8) -> Float {
        float(fromF16: UInt16(bits) << 8)
    }

    // MARK: bulk

    /// All 65536 binary16 values widened once, so bulk conversion is one load per element.
    static let f16Table: [Float] = (0...0xFFFF).map { float(fromF16: UInt16($0)) }
}
