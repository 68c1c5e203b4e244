import VideoCommon

/// Everything the dimensions of one clip share, computed once: float frames, the ~8 fps frame sample,
/// consecutive flows, per-frame detections and background models, and the camera fit.
final class ClipAnalysis {
    let video: RGBVideo
    let planes: [FramePlanes]
    let interval: Int
    /// Frame indices of the ~8 fps sample (VBench's dynamic degree subsampling).
    let sampled: [Int]

    init(video: RGBVideo) {
        self.video = video
        planes = (0..<video.frameCount).map { FramePlanes(video: video, frame: $0) }
        interval = DynamicDegree.interval(fps: video.fps)
        sampled = Array(stride(from: 0, to: video.frameCount, by: interval))
    }

    /// Largest per-frame displacement the flow searches for.
    var flowRadius: Int { max(3, min(video.width, video.height) / 8) }

    /// Forward flows between consecutive sampled frames.
    lazy var flows: [MotionSearch.Field] = {
        guard sampled.count >= 2 else { return [] }
        let search = MotionSearch(radius: flowRadius, mode: .forward, windowRadius: 2, penalty: 2)
        return (0..<(sampled.count - 1)).map { search.run(planes[sampled[$0]], planes[sampled[$0 + 1]]) }
    }()

    /// VBench's dynamic degree decision on our flows, vectors validated (`DynamicDegree`).
    lazy var dynamicDegree: (dynamic: Bool, pairScores: [Double], threshold: Double, countNeeded: Int, countAbove: Int)? = {
        guard sampled.count >= 2 else { return nil }
        let scores = flows.indices.map { i in
            DynamicDegree.topMean(DynamicDegree.validatedMagnitudes(flows[i], planes[sampled[i]], planes[sampled[i + 1]]), fraction: 0.05)
        }
        let d = DynamicDegree.decide(pairScores: scores, frames: sampled.count, width: video.width, height: video.height)
        return (d.dynamic, scores, d.threshold, d.countNeeded, d.countAbove)
    }()

    /// VBench's static filter (`static_filter.py`) on our flows: per pair the mean of the top 2 %
    /// magnitudes; static when at most round(2N/16) consecutive pairs exceed 3·min(H,W)/256 and both
    /// wrap-around pairs (first→last, last→first) stay at or below thres·count_num·2.
    lazy var isStatic: Bool? = {
        guard planes.count >= 2 else { return nil }
        let search = MotionSearch(radius: flowRadius, mode: .forward, windowRadius: 2, penalty: 2)
        let pairs = (0..<(planes.count - 1)).map { i -> Double in
            if interval == 1 { return DynamicDegree.topMagnitude(flows[i], fraction: 0.02) }
            return DynamicDegree.topMagnitude(search.run(planes[i], planes[i + 1]), fraction: 0.02)
        }
        let thres = 3.0 * Double(min(video.width, video.height)) / 256.0
        let countNum = Int((2.0 * Double(planes.count) / 16.0).rounded(.toNearestOrEven))
        let above = pairs.filter { $0 > thres }.count
        let first = planes[0], last = planes[planes.count - 1]
        let wrapA = DynamicDegree.topMagnitude(search.run(first, last), fraction: 0.02)
        let wrapB = DynamicDegree.topMagnitude(search.run(last, first), fraction: 0.02)
        let wrapLimit = thres * Double(countNum) * 2
        return above <= countNum && wrapA <= wrapLimit && wrapB <= wrapLimit
    }()

    lazy var segmentation: [(objects: [DetectedObject], background: BackgroundModel)] = {
        planes.map { ShapeSegmenter.detect($0) }
    }()

    var detections: [[DetectedObject]] { segmentation.map(\.objects) }

    lazy var camera: MotionFacts.Camera = {
        MotionFacts.camera(planes: planes, flows: flows, sampled: sampled, detections: detections, interval: interval)
    }()

    lazy var pictureMeasures: [PictureMeasures] = { planes.map { PictureMeasures($0) } }()
}
