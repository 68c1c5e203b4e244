import Foundation
import VideoCommon

/// VBench's dynamic degree (`vbench/dynamic_degree.py`) with our own flow (`MotionSearch`, forward
/// mode, sub-pixel) in place of RAFT, and a check RAFT does not need: every flow vector must explain
/// the change it claims. Frames are subsampled to about 8 fps (interval max(1, round(fps/8))); per
/// consecutive pair, the mean of the top 5 % (`int(h*w*0.05)`) of the *validated* flow magnitudes;
/// the clip is dynamic when at least count_num = round(4·N/16) pairs (Python's round-half-even)
/// exceed the threshold.
///
/// Validation (`validatedMagnitudes`): per colour plane, with the local mean change over a 5×5 window
/// removed (a brightness offset over the window, which is what codec flicker and exposure changes are,
/// then leaves nothing), summed over R, G, B, a vector counts only where the frame change it must
/// explain is at least `minChange` grey levels (window mean; faint shimmer of a grey level is below it)
/// and at least `floorFactor` times the frame's median change (noise and shimmer are everywhere, a
/// moving edge is not), and where warping the second frame back along the vectors at least halves it
/// (noise and shimmer are not displacements, so no vector halves them). Elsewhere it counts as 0.
///
/// Threshold: `thresholdScale`·min(H,W)/256 in place of VBench's 6·min(H,W)/256, i.e. 0.3 px per
/// sampled pair at 32×32 (VBench's would be 0.75). Calibrated on synthesised clips with known motion
/// (`DistributionTests`/`QualityDimensionTests`): at 32×32 the largest statistic of still scenes under
/// block shimmer, block and global flicker, Gaussian noise and an H.264 round trip sits far below it,
/// and an object moving 0.5 px per frame reads above it. Like VBench's, it scales with the frame, so
/// the same motion as a fraction of the frame reads the same at any size.
public enum DynamicDegree {
    /// Threshold in pixels per pair at 256 px; 0.3 px at 32 px.
    public static let thresholdScale = 2.4
    /// Window mean of |ΔC − local mean ΔC| summed over R, G, B (grey levels) below which nothing moved.
    public static let minChange: Float = 6
    /// The change must also stand this many times above the frame's median window change.
    public static let floorFactor: Float = 3
    /// The fraction of that change a vector must explain (1 − warped / unwarped ≥ this).
    public static let minExplained: Float = 0.5

    /// The frame interval VBench uses to bring a clip to about 8 fps.
    public static func interval(fps: Double) -> Int {
        guard fps.isFinite, fps > 0 else { return 1 }
        return max(1, Int((fps / 8).rounded(.toNearestOrEven)))
    }

    /// Top-5 % mean magnitude of a flow field, VBench's per-pair statistic.
    static func topMagnitude(_ field: MotionSearch.Field, fraction: Double = 0.05) -> Double {
        let n = field.dx.count
        var mags = [Float](repeating: 0, count: n)
        for i in 0..<n { mags[i] = (field.dx[i] * field.dx[i] + field.dy[i] * field.dy[i]).squareRoot() }
        return topMean(mags, fraction: fraction)
    }

    static func topMean(_ values: [Float], fraction: Double) -> Double {
        let mags = values.sorted(by: >)
        let cut = Int(Double(mags.count) * fraction)
        guard cut > 0 else { return Double(mags.first ?? 0) }
        var s = 0.0
        for i in 0..<cut { s += Double(mags[i]) }
        return s / Double(cut)
    }

    /// Flow magnitudes of `field` (from a to b), zero where the vector does not explain the change.
    static func validatedMagnitudes(_ field: MotionSearch.Field, _ a: FramePlanes, _ b: FramePlanes) -> [Float] {
        let w = field.width, h = field.height, n = w * h
        var z = [Float](repeating: 0, count: n), r = z
        // Per colour plane: the change and the change left after warping b back along the vectors,
        // each with its 5×5 local mean removed; window means of their absolute values, summed over R, G, B.
        for c in 0..<3 {
            let o = c * a.planeSize
            var dt = [Float](repeating: 0, count: n), warped = dt
            for y in 0..<h {
                for x in 0..<w {
                    let i = y * w + x
                    let av = a.data[o + a.index(x, y)]
                    dt[i] = b.data[o + b.index(x, y)] - av
                    let sx = min(Float(w - 1), max(0, Float(x) + field.dx[i]))
                    let sy = min(Float(h - 1), max(0, Float(y) + field.dy[i]))
                    let x0 = Int(sx), y0 = Int(sy), x1 = min(w - 1, x0 + 1), y1 = min(h - 1, y0 + 1)
                    let fx = sx - Float(x0), fy = sy - Float(y0)
                    let top = b.data[o + b.index(x0, y0)] * (1 - fx) + b.data[o + b.index(x1, y0)] * fx
                    let bottom = b.data[o + b.index(x0, y1)] * (1 - fx) + b.data[o + b.index(x1, y1)] * fx
                    warped[i] = top * (1 - fy) + bottom * fy - av
                }
            }
            func localChange(_ v: [Float]) -> [Float] {
                let m = MotionFacts.boxMean(v, w, h, 2)
                var dev = [Float](repeating: 0, count: n)
                for i in 0..<n { dev[i] = abs(v[i] - m[i]) }
                return MotionFacts.boxMean(dev, w, h, 2)
            }
            let zc = localChange(dt), rc = localChange(warped)
            for i in 0..<n { z[i] += zc[i]; r[i] += rc[i] }
        }
        // The clip's own change floor: most of a frame does not move, so the median window change is
        // what noise, shimmer and flicker leave; a moving edge stands well above it.
        let floor = z.sorted()[n / 2]
        let need = max(minChange, floorFactor * floor)
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n where z[i] >= need && r[i] <= (1 - minExplained) * z[i] {
            out[i] = (field.dx[i] * field.dx[i] + field.dy[i] * field.dy[i]).squareRoot()
        }
        return out
    }

    /// The decision and its evidence, from per-pair statistics of the subsampled clip.
    static func decide(pairScores: [Double], frames: Int, width: Int, height: Int) -> (dynamic: Bool, threshold: Double, countNeeded: Int, countAbove: Int) {
        let thres = thresholdScale * Double(min(width, height)) / 256.0
        let countNum = Int((4.0 * Double(frames) / 16.0).rounded(.toNearestOrEven))
        let above = pairScores.filter { $0 > thres }.count
        return (above >= countNum, thres, countNum, above)
    }

    /// Nil for a clip with fewer than two sampled frames.
    public static func isDynamic(_ video: RGBVideo) -> Bool? {
        let analysis = ClipAnalysis(video: video)
        return analysis.dynamicDegree?.dynamic
    }

    /// The largest per-pair statistic of a clip (pixels), for calibration; nil under two sampled frames.
    public static func maxPairScore(_ video: RGBVideo) -> Double? {
        ClipAnalysis(video: video).dynamicDegree?.pairScores.max()
    }
}
