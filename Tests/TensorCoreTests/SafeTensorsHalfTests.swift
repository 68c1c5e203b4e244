import Testing
@testable import TensorCore

@Suite("SafeTensors half precision") struct SafeTensorsHalfTests {
    @Test func f16KnownBitPatterns() {
        let cases: [(Float, UInt16)] = [
            (1.0, 0x3C00), (-2.0, 0xC000), (0.0, 0x0000), (-0.0, 0x8000),
            (65504, 0x7BFF),                       // largest finite half
            (Float(65520).nextDown, 0x7BFF),       // just below the tie stays finite
            (65520, 0x7C00),                       // tie between 65504 and 65536 goes to even = infinity
            (1e6, 0x7C00), (-1e6, 0xFC00),
            (.infinity, 0x7C00), (-.infinity, 0xFC00),
            (0x1p-14, 0x0400),                     // 6.1035e-5, smallest normal
            (6.1e-5, 0x03FF),                      // just below: largest subnormal
            (0x1p-24, 0x0001),                     // smallest subnormal
            (0x1p-25, 0x0000),                     // tie between 0 and 2^-24: even = 0
            (0x1.8p-25, 0x0001),
            (0x1.8p-24, 0x0002),                   // tie between 1 and 2 units: even = 2
            (0x1p-26, 0x0000), (-0x1p-30, 0x8000),
            (1 + 0x1p-11, 0x3C00),                 // tie: even mantissa
            (1 + 0x1.8p-10, 0x3C02),               // tie: rounds up to even
            (Float(0.1), 0x2E66), (Float(1.0 / 3.0), 0x3555),
            (.leastNonzeroMagnitude, 0x0000),
        ]
        for (value, bits) in cases {
            #expect(HalfPrecision.f16Bits(from: value) == bits, "f16(\(value))")
        }
        let nan = HalfPrecision.f16Bits(from: .nan)
        #expect(nan & 0x7C00 == 0x7C00 && nan & 0x03FF != 0)
        #expect(HalfPrecision.f16Bits(from: Float(bitPattern: 0x7F80_0001)) & 0x03FF != 0, "signalling NaN stays NaN")
    }

    @Test func f16DecodesKnownPatterns() {
        #expect(HalfPrecision.float(fromF16: 0x3C00) == 1)
        #expect(HalfPrecision.float(fromF16: 0xC000) == -2)
        #expect(HalfPrecision.float(fromF16: 0x7BFF) == 65504)
        #expect(HalfPrecision.float(fromF16: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(fromF16: 0x03FF) == 1023 * 0x1p-24)
        #expect(HalfPrecision.float(fromF16: 0x0400) == 0x1p-14)
        #expect(HalfPrecision.float(fromF16: 0x7C00) == .infinity)
        #expect(HalfPrecision.float(fromF16: 0xFC00) == -.infinity)
        #expect(HalfPrecision.float(fromF16: 0x7E00).isNaN)
        #expect(HalfPrecision.float(fromF16: 0x8000).bitPattern == (-0.0 as Float).bitPattern)
    }

    @Test func f16EveryValueRoundTrips() {
        for bits in 0...UInt16.max {
            let value = HalfPrecision.float(fromF16: bits)
            #expect(HalfPrecision.f16Table[Int(bits)].bitPattern == value.bitPattern)
            if value.isNaN {
                #expect(HalfPrecision.f16Bits(from: value) & 0x7FFF > 0x7C00)
            } else if HalfPrecision.f16Bits(from: value) != bits {
                Issue.record("half 0x\(String(bits, radix: 16)) does not round trip")
            }
        }
    }

    /// Checks the narrowing against an independent oracle: the nearest of the two neighbouring halves,
    /// measured in Double, ties to the even one. On hosts with `Float16`, also against the host conversion.
    @Test func f16MatchesOracleOnRandomFloats() {
        var rng = SafeTensorsTestRNG(seed: 16)
        var mismatches = 0
        for round in 0..<400_000 {
            // Half the draws are uniform bit patterns; half land in or near the half range.
            let value: Float = round % 2 == 0
                ? Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
                : Float(bitPattern: UInt32.random(in: 0x3300_0000...0x4780_0000, using: &rng) | (round % 4 == 1 ? 0x8000_0000 : 0))
            let ours = HalfPrecision.f16Bits(from: value)
            if value.isNaN {
                if HalfPrecision.float(fromF16: ours).isNaN == false { mismatches += 1 }
                continue
            }
            if ours != oracleF16(value) { mismatches += 1 }
            #if !(os(macOS) && arch(x86_64))
            if ours != Float16(value).bitPattern { mismatches += 1 }
            #endif
        }
        #expect(mismatches == 0)
    }

    @Test func bf16KnownBitPatterns() {
        #expect(HalfPrecision.bf16Bits(from: 1.0) == 0x3F80)
        #expect(HalfPrecision.bf16Bits(from: -2.0) == 0xC000)
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, rounds up to even
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_8001)) == 0x3F81)  // above the tie
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)  // below the tie
        #expect(HalfPrecision.bf16Bits(from: .greatestFiniteMagnitude) == 0x7F80)        // rounds to infinity
        #expect(HalfPrecision.bf16Bits(from: .infinity) == 0x7F80)
        #expect(HalfPrecision.bf16Bits(from: -.infinity) == 0xFF80)
        #expect(HalfPrecision.bf16Bits(from: .nan) == 0x7FC0)
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0xFF80_0001)) == 0xFFC0)  // signalling NaN, quieted
        #expect(HalfPrecision.float(fromBF16: 0x3F80) == 1)
        #expect(HalfPrecision.float(fromBF16: 0x0001) == Float(bitPattern: 0x0001_0000))
    }

    @Test func bf16MatchesOracleOnRandomFloats() {
        var rng = SafeTensorsTestRNG(seed: 17)
        var mismatches = 0
        for _ in 0..<400_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let ours = HalfPrecision.bf16Bits(from: value)
            if value.isNaN {
                if !HalfPrecision.float(fromBF16: ours).isNaN { mismatches += 1 }
                continue
            }
            let below = UInt16(value.bitPattern >> 16)
            let candidates = [below, below &+ 1].filter { !HalfPrecision.float(fromBF16: $0).isNaN }
            // Infinity counts as 2^128 for rounding, the next binade's first value (IEEE overflow rule).
            let expected = nearest(Double(value), candidates) { bits in
                let widened = Double(HalfPrecision.float(fromBF16: bits))
                return widened.isInfinite ? (widened > 0 ? 0x1p128 : -0x1p128) : widened
            }
            if ours != expected { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func float8Decoding() {
        #expect(HalfPrecision.float(fromF8E4M3: 0x38) == 1)
        #expect(HalfPrecision.float(fromF8E4M3: 0xB8) == -1)
        #expect(HalfPrecision.float(fromF8E4M3: 0x7E) == 448)
        #expect(HalfPrecision.float(fromF8E4M3: 0x7F).isNaN)
        #expect(HalfPrecision.float(fromF8E4M3: 0x01) == 0x1p-9)
        #expect(HalfPrecision.float(fromF8E4M3: 0x08) == 0x1p-6)
        #expect(HalfPrecision.float(fromF8E5M2: 0x3C) == 1)
        #expect(HalfPrecision.float(fromF8E5M2: 0x7B) == 57344)
        #expect(HalfPrecision.float(fromF8E5M2: 0x7C) == .infinity)
        #expect(HalfPrecision.float(fromF8E5M2: 0x01) == 0x1p-16)
    }

    // MARK: oracles

    private func oracleF16(_ value: Float) -> UInt16 {
        let sign: UInt16 = value.sign == .minus ? 0x8000 : 0
        let magnitude = Double(value.magnitude)
        // Every non-negative finite half 0x0000...0x7BFF plus infinity, searched for the neighbours.
        var low: UInt16 = 0, high: UInt16 = 0x7C00
        if magnitude >= Double(HalfPrecision.float(fromF16: 0x7C00)) { return sign | 0x7C00 }
        while high - low > 1 {
            let middle = (low + high) / 2
            if Double(HalfPrecision.float(fromF16: middle)) <= magnitude { low = middle } else { high = middle }
        }
        // IEEE overflow rule: beyond 65504 + half a unit (65520) rounds to infinity, which the candidate
        // 0x7C00 stands for at distance computed as if it were 65536.
        let value: (UInt16) -> Double = { $0 == 0x7C00 ? 65536 : Double(HalfPrecision.float(fromF16: $0)) }
        return sign | nearest(magnitude, [low, high], value)
    }

    private func nearest(_ target: Double, _ candidates: [UInt16], _ value: (UInt16) -> Double) -> UInt16 {
        var best = candidates[0]
        var bestDistance = abs(value(best) - target)
        for candidate in candidates.dropFirst() {
            let distance = abs(value(candidate) - target)
            if distance < bestDistance || (distance == bestDistance && candidate & 1 == 0) {
                best = candidate
                bestDistance = distance
            }
        }
        return best
    }
}
