import Foundation

/// The space the distribution metrics measure distances in: `ClipFeatures` centred on the reference's
/// mean, each divided by the reference's standard deviation over all its clips (at least a fixed floor:
/// 0.02 for the layout features, 0.05 for the log energies, 0.02 frame widths for the centroid shift,
/// so that a feature constant in the reference cannot blow up), then each group scaled by
/// 1/√(its size) so that layout (64 numbers), texture and sharpness (6) and motion (6) weigh the same.
///
/// FID/FVD measure in a network's activation space; this is its fixed, documented stand-in. The
/// scaling comes from the reference alone, so two runs scored against the same reference share a space.
public struct FeatureSpace: Sendable {
    public let mean: [Double]
    public let scale: [Double]

    public init(reference: [[Double]]) {
        let d = ClipFeatures.count
        var m = [Double](repeating: 0, count: d), s = [Double](repeating: 0, count: d)
        let n = Double(max(reference.count, 1))
        for f in reference { for j in 0..<d { m[j] += f[j] } }
        for j in 0..<d { m[j] /= n }
        for f in reference { for j in 0..<d { let x = f[j] - m[j]; s[j] += x * x } }
        let groupSize = [ClipFeatures.layoutCount, ClipFeatures.textureCount, ClipFeatures.motionCount]
        var sc = [Double](repeating: 1, count: d)
        for j in 0..<d {
            let g = ClipFeatures.groups[j]
            let floor = g == 0 ? 0.02 : (j >= ClipFeatures.count - 2 ? 0.02 : 0.05)
            let sd = max((s[j] / max(n - 1, 1)).squareRoot(), floor)
            sc[j] = 1 / (sd * Double(groupSize[g]).squareRoot())
        }
        mean = m
        scale = sc
    }

    /// A clip's features in this space.
    public func embed(_ raw: [Double]) -> [Double] {
        (0..<raw.count).map { (raw[$0] - mean[$0]) * scale[$0] }
    }
}
