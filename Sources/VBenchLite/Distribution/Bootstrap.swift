import Foundation

/// The bootstrap over seeds behind every interval of the distribution report: each resample draws,
/// for every prompt independently, as many of its evaluated clips as it has, with replacement; the
/// reference stays fixed. B = 200 resamples from a fixed generator, so a report is reproducible.
///
/// k-NN and pairwise statistics of a resample are biased low (a repeated seed adds no new clip), so the
/// interval is the resamples' 2.5–97.5 % spread around their median, centred on the full-sample
/// estimate: [θ̂ − (median − q₂.₅), θ̂ + (q₉₇.₅ − median)]. The floor's interval is a prediction
/// interval instead: where another set of reference-distribution clips at the same N falls, so its
/// half-widths are √2 times as wide (the difference of two independent estimates).
struct Bootstrap {
    var state: UInt64

    init(seed: UInt64 = 0x5EED_D157) { state = seed }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// n draws from 0..<n with replacement.
    mutating func resample(_ n: Int) -> [Int] {
        guard n > 0 else { return [] }
        return (0..<n).map { _ in Int(next() % UInt64(n)) }
    }

    /// The centred interval of `estimate` from resampled values (nil values dropped), its half-widths
    /// multiplied by `widen` (√2 for the floor: see `DistributionMetric`).
    static func interval(estimate: Double, samples: [Double], widen: Double = 1) -> (low: Double, high: Double) {
        let s = samples.filter(\.isFinite).sorted()
        guard s.count >= 2 else { return (estimate, estimate) }
        func q(_ p: Double) -> Double {
            let x = p * Double(s.count - 1)
            let i = Int(x), f = x - Double(i)
            return i + 1 < s.count ? s[i] * (1 - f) + s[i + 1] * f : s[i]
        }
        let med = q(0.5)
        return (estimate - widen * (med - q(0.025)), estimate + widen * (q(0.975) - med))
    }
}
