import Foundation

/// T5's relative position buckets and the attention bias built from them, as transformers'
/// `T5Attention._relative_position_bucket` / `compute_bias` compute them for an encoder (bidirectional).
///
/// Half of the buckets are for keys before the query, half for keys after; within a half, distances below
/// num_buckets/4 get a bucket each and larger ones share log-spaced buckets up to max_distance. The log part
/// is evaluated in float32 as PyTorch does (`relative_position.float() / max_exact`, `torch.log`, the
/// Python-double `math.log(max_distance / max_exact)` rounded to float32, truncation toward zero), because the
/// exact bucket boundaries (r = 16, 32, 64 giving 10, 12, 14 with 32 buckets) depend on that rounding.
public enum T5RelativePosition {
    /// The bucket of `relativePosition` = key index - query index.
    public static func bucket(_ relativePosition: Int, numBuckets: Int, maxDistance: Int) -> Int {
        let half = numBuckets / 2
        var bucket = relativePosition > 0 ? half : 0
        let distance = relativePosition.magnitude
        let maxExact = half / 2
        if distance < UInt(maxExact) { return bucket + Int(distance) }
        let ratio = Float(distance) / Float(maxExact)
        let logRange = Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
        let scaled = Foundation.log(ratio) / logRange * Float(half - maxExact)
        // `.to(torch.long)` truncates toward zero; the value is positive here and clamped below.
        let large = scaled < Float(half) ? maxExact + Int(scaled) : half - 1
        bucket += min(large, half - 1)
        return bucket
    }

    /// Buckets for a [queryLength, keyLength] grid, row-major (query i, key j: bucket of j - i).
    public static func buckets(queryLength: Int, keyLength: Int, numBuckets: Int, maxDistance: Int) -> [Int] {
        var out = [Int](repeating: 0, count: queryLength * keyLength)
        for i in 0..<queryLength {
            for j in 0..<keyLength {
                out[i * keyLength + j] = bucket(j - i, numBuckets: numBuckets, maxDistance: maxDistance)
            }
        }
        return out
    }

    /// The position bias [heads, length, length]: `table` is block 0's `relative_attention_bias.weight`
    /// [numBuckets, heads] widened to Float; bias[h, i, j] = table[bucket(j - i), h].
    public static func bias(table: [Float], heads: Int, length: Int, numBuckets: Int, maxDistance: Int) -> [Float] {
        precondition(table.count == numBuckets * heads, "T5RelativePosition.bias: table has \(table.count) values")
        // The bias depends on j - i only: one bucket per distance, then a gather.
        var byDistance = [Int](repeating: 0, count: max(2 * length - 1, 1))
        for r in 0..<byDistance.count { byDistance[r] = bucket(r - (length - 1), numBuckets: numBuckets, maxDistance: maxDistance) }
        var out = [Float](repeating: 0, count: heads * length * length)
        for h in 0..<heads {
            for i in 0..<length {
                for j in 0..<length {
                    out[(h * length + i) * length + j] = table[byDistance[j - i + length - 1] * heads + h]
                }
            }
        }
        return out
    }
}
