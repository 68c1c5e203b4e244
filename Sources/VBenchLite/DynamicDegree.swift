import Foundation
import VideoCommon

/// VBench's dynamic degree (`vbench/dynamic_degree.py`) with our own flow (`MotionSearch`, forward
/// mode, sub-pixel) in place of RAFT: frames subsampled to about 8 fps (interval max(1, round(fps/8))),
/// per consecutive pair the mean of the top 5 % (`int(h*w*0.05)`) flow magnitudes, thres =
/// 6·min(H,W)/256, count_num = round(4·N/16) with Python's round-half-even; the clip is dynamic when at
/// least count_num pairs exceed thres.
public enum DynamicDegree {
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
        mags.sort(by: >)
        let cut = Int(Double(n) * fraction)
        guard cut > 0 else { return Double(mags.first ?? 0) }
        var s = 0.0
        for i in 0..<cut { s += Double(mags[i]) }
        return s / Double(cut)
    }

    /// The decision and its evidence, from per-pair statistics of the subsampled clip.
    static func decide(pairScores: [Double], frames: Int, width: Int, height: Int) -> (dynamic: Bool, threshold: Double, countNeeded: Int, countAbove: Int) {
        let thres = 6.0 * Double(min(width, height)) / 256.0
        let countNum = Int((4.0 * Double(frames) / 16.0).rounded(.toNearestOrEven))
        let above = pairScores.filter { $0 > thres }.count
        return (above >= countNum, thres, countNum, above)
    }

    /// Nil for a clip with fewer than two sampled frames.
    public static func isDynamic(_ video: RGBVideo) -> Bool? {
        let analysis = ClipAnalysis(video: video)
        return analysis.dynamicDegree?.dynamic
    }
}
