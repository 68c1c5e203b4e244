import Foundation

/// A seeded, reproducible random source: xoshiro256** seeded through SplitMix64.
///
/// Its whole state is four words (`state`), so a training run can save and restore it and resume the
/// same random stream after a kill. Normals come from the Box–Muller transform, two per pair of
/// uniforms, generated in pairs so that no half-used value has to be carried in the state.
public struct RNG: Sendable, Equatable {
    public var state: [UInt64]

    public init(seed: UInt64) {
        var s = seed
        var st = [UInt64](repeating: 0, count: 4)
        for i in 0..<4 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            st[i] = z ^ (z >> 31)
        }
        state = st
    }

    /// Restores a saved state (four words, not all zero).
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw TensorError.shapeMismatch("an RNG state is four words, not all zero")
        }
        self.state = state
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inlinable public mutating func next() -> UInt64 {
        let result = RNG.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = RNG.rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable public mutating func uniform() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform integer in lo..<hi (hi > lo), without modulo bias.
    public mutating func int(_ lo: Int, _ hi: Int) -> Int {
        precondition(hi > lo, "RNG.int needs a non-empty range")
        let span = UInt64(hi - lo)
        let limit = UInt64.max - UInt64.max % span
        var r = next()
        while r >= limit { r = next() }
        return lo + Int(r % span)
    }

    /// A pair of independent standard normals.
    @inlinable public mutating func normalPair() -> (Double, Double) {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        let r = (-2.0 * Foundation.log(u1)).squareRoot()
        let a = 2.0 * Double.pi * u2
        return (r * Foundation.cos(a), r * Foundation.sin(a))
    }

    /// Fills `count` values with standard normals (scaled by `std`): pair after pair of `normalPair`.
    /// A large fill draws its uniforms in stream order and transforms the pairs on the workers: each
    /// pair's logarithm, cosine and sine depend on its own two uniforms only, so the values are the same
    /// bits as one pair at a time (the pretrainer's noise was ~6 % of a step's CPU time on one core).
    public mutating func normal(_ count: Int, std: Float = 1) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let pairs = (count + 1) / 2
        if pairs < Self.parallelNormalPairs || chunkCount(pairs, minChunk: Self.parallelNormalPairs / 2) == 1 {
            var i = 0
            while i < count {
                let (a, b) = normalPair()
                out[i] = Float(a) * std
                if i + 1 < count { out[i + 1] = Float(b) * std }
                i += 2
            }
            return out
        }
        var u = [Double](repeating: 0, count: 2 * pairs)
        for p in 0..<pairs {
            var u1 = uniform()
            while u1 <= 0 { u1 = uniform() }
            u[2 * p] = u1
            u[2 * p + 1] = uniform()
        }
        u.withUnsafeBufferPointer { ub in
            out.withUnsafeMutableBufferPointer { ob in
                let up = SendablePointer(ub.baseAddress!), op = SendablePointer(ob.baseAddress!)
                parallelChunks(pairs, minChunk: Self.parallelNormalPairs / 2) { _, lo, hi in
                    for p in lo..<hi {
                        let r = (-2.0 * Foundation.log(up[2 * p])).squareRoot()
                        let a = 2.0 * Double.pi * up[2 * p + 1]
                        op[2 * p] = Float(r * Foundation.cos(a)) * std
                        if 2 * p + 1 < count { op[2 * p + 1] = Float(r * Foundation.sin(a)) * std }
                    }
                }
            }
        }
        return out
    }

    /// Fills of at least this many pairs transform on the workers.
    public static let parallelNormalPairs = 8192

    /// Fills `count` values uniform in [lo, hi).
    public mutating func uniform(_ count: Int, _ lo: Float, _ hi: Float) -> [Float] {
        (0..<count).map { _ in lo + (hi - lo) * Float(uniform()) }
    }
}
