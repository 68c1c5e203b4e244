import Foundation

/// Finite-difference gradient checking: the independent check behind every backward kernel.
public enum GradCheck {
    /// Central differences of a scalar function f at x for the given coordinates, in Double.
    public static func numeric(_ f: ([Float]) -> Double, at x: [Float], indices: [Int], h: Float = 1e-2) -> [Double] {
        indices.map { i in
            var xp = x, xm = x
            xp[i] += h
            xm[i] -= h
            return (f(xp) - f(xm)) / Double(2 * h)
        }
    }

    /// Worst relative error between analytic and numeric gradients on `indices`, measured against the
    /// largest numeric magnitude (so tiny components do not dominate), with the index that produced it.
    public static func compare(analytic: [Float], numeric: [Double], indices: [Int]) -> (relErr: Double, worst: Int) {
        let scale = max(numeric.map { abs($0) }.max() ?? 0, 1e-6)
        var worst = 0.0, wi = -1
        for (n, i) in indices.enumerated() {
            let e = abs(Double(analytic[i]) - numeric[n]) / scale
            if e > worst || wi < 0 { worst = e; wi = i }
        }
        return (worst, wi)
    }

    /// Up to `count` distinct indices in 0..<n chosen by a seeded RNG (all of them when n is small).
    public static func sampleIndices(_ n: Int, count: Int, seed: UInt64) -> [Int] {
        if n <= count { return Array(0..<n) }
        var rng = RNG(seed: seed)
        var s = Set<Int>()
        while s.count < count { s.insert(rng.int(0, n)) }
        return s.sorted()
    }
}
