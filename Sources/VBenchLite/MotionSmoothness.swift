import VideoCommon

/// VBench's motion smoothness protocol (`vbench/motion_smoothness.py`): keep frames 0, 2, 4, …,
/// interpolate the midpoint of each consecutive pair, compare it with the real odd frames 1, 3, 5, …
/// on 8-bit RGB, and report (255 - mean MAE) / 255. VBench's AMT-S network is replaced by
/// `MidpointInterpolator` (bilateral block matching with an occlusion fallback).
public enum MotionSmoothness {
    /// Nil for a clip with fewer than three frames (no odd frame has two even neighbours).
    public static func score(_ video: RGBVideo) -> Double? {
        score(video, planes: (0..<video.frameCount).map { FramePlanes(video: video, frame: $0) })
    }

    static func score(_ video: RGBVideo, planes: [FramePlanes]) -> Double? {
        let t = video.frameCount
        guard t >= 3 else { return nil }
        let interp = MidpointInterpolator(width: video.width, height: video.height)
        let fs = video.frameSize
        var total = 0.0
        var count = 0
        var k = 0
        while 2 * k + 2 < t {
            let predicted = interp.interpolate(planes[2 * k], planes[2 * k + 2])
            let base = (2 * k + 1) * fs
            var s = 0
            video.pixels.withUnsafeBufferPointer { p in
                for i in 0..<fs { s += abs(Int(p[base + i]) - Int(predicted[i])) }
            }
            total += Double(s) / Double(fs)
            count += 1
            k += 1
        }
        return (255.0 - total / Double(count)) / 255.0
    }

    /// The plain-blend lower bound (docs/vbench.md §4 predictor (a)), kept for comparison and tests.
    public static func blendScore(_ video: RGBVideo) -> Double? {
        let t = video.frameCount
        guard t >= 3 else { return nil }
        let fs = video.frameSize
        var total = 0.0
        var count = 0
        var k = 0
        video.pixels.withUnsafeBufferPointer { p in
            while 2 * k + 2 < t {
                let a = 2 * k * fs, m = a + fs, b = m + fs
                var s = 0
                for i in 0..<fs {
                    let pred = (Int(p[a + i]) + Int(p[b + i]) + 1) / 2
                    s += abs(Int(p[m + i]) - pred)
                }
                total += Double(s) / Double(fs)
                count += 1
                k += 1
            }
        }
        return (255.0 - total / Double(count)) / 255.0
    }
}
