import VideoCommon

/// VBench's temporal flickering (`vbench/temporal_flickering.py`), reproduced exactly: the mean absolute
/// difference between consecutive frames over every pixel and channel, averaged over the frame pairs,
/// then (255 - mean) / 255. Channel order does not change a mean, so RGB here equals VBench's BGR.
///
/// VBench runs it only on clips its RAFT static filter keeps; VBenchLite scores every clip and reports
/// whether our own static filter (`StaticFilter`) would have kept it.
public enum TemporalFlickering {
    /// Nil for a clip with fewer than two frames (no frame pair).
    public static func score(_ video: RGBVideo) -> Double? {
        let t = video.frameCount
        guard t >= 2 else { return nil }
        let fs = video.frameSize
        var total = 0.0
        video.pixels.withUnsafeBufferPointer { p in
            for f in 0..<(t - 1) {
                let a = f * fs, b = a + fs
                var s = 0
                for i in 0..<fs {
                    s += abs(Int(p[b + i]) - Int(p[a + i]))
                }
                total += Double(s) / Double(fs)
            }
        }
        let mae = total / Double(t - 1)
        return (255.0 - mae) / 255.0
    }
}
