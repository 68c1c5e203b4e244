import Foundation
import VideoCommon

/// Which fill an object shows (solid, stripes, checks), for prompts that name one ("a striped red
/// circle"): the luma of the object's interior probed at the fine world's fill frequencies.
///
/// Interior: the pixels of the object's box that are foreground (far from the frame's background model,
/// as `ShapeSegmenter` cuts) with all four neighbours foreground too, so anti-aliased and blurred edges
/// stay out. On their luma (mean removed) the power at spatial frequencies of period 2-6 px is measured
/// in 12 orientations (every 15 degrees); each orientation keeps its strongest period. A fill is:
/// - solid when the interior's luma varies little (standard deviation under `solidStd` levels), or the
///   strongest orientation explains under `patternShare` of the variance (no periodic structure);
/// - checks when a second orientation at least 60 degrees from the strongest has at least
///   `secondRatio` of its power (the fine world's checks are two sinusoids at right angles, i.e. two
///   orientations);
/// - stripes otherwise (one dominant orientation).
/// Nil when the interior is too small to judge (under 12 pixels).
enum FillCheck {
    static let solidStd: Float = 5
    static let patternShare: Float = 0.25
    static let secondRatio: Float = 0.4

    /// The interior pixels' coordinates and luma of a detection in frame planes (pad 0).
    static func interior(_ f: FramePlanes, _ bg: BackgroundModel, _ o: DetectedObject) -> [(x: Float, y: Float, l: Float)] {
        let w = f.width, h = f.height, n = w * h
        let cut = max(30, 4 * bg.sigma)
        let x0 = max(0, Int(o.box.0)), y0 = max(0, Int(o.box.1)), x1 = min(w, Int(o.box.2.rounded(.up))), y1 = min(h, Int(o.box.3.rounded(.up)))
        guard x1 > x0, y1 > y0 else { return [] }
        func fg(_ x: Int, _ y: Int) -> Bool {
            guard x >= 0, y >= 0, x < w, y < h else { return false }
            let i = y * w + x
            let d = abs(f.data[i] - bg.value(0, x, y)) + abs(f.data[n + i] - bg.value(1, x, y)) + abs(f.data[2 * n + i] - bg.value(2, x, y))
            return d > cut
        }
        var out: [(x: Float, y: Float, l: Float)] = []
        for y in y0..<y1 {
            for x in x0..<x1 where fg(x, y) && fg(x - 1, y) && fg(x + 1, y) && fg(x, y - 1) && fg(x, y + 1) {
                let i = y * w + x
                out.append((Float(x), Float(y), 0.299 * f.data[i] + 0.587 * f.data[n + i] + 0.114 * f.data[2 * n + i]))
            }
        }
        return out
    }

    /// The fill seen on these interior pixels; nil when there are too few.
    static func classify(_ pixels: [(x: Float, y: Float, l: Float)]) -> ObjectFill? {
        guard pixels.count >= 12 else { return nil }
        let count = Float(pixels.count)
        let mean = pixels.reduce(0) { $0 + $1.l } / count
        let variance = pixels.reduce(0) { $0 + ($1.l - mean) * ($1.l - mean) } / count
        guard variance.squareRoot() >= solidStd else { return .solid }
        // Power per orientation: |sum (l - mean) e^{-i k.x}|^2 / n^2 x 2 (the variance a sinusoid of that
        // frequency would explain), maximised over periods 2-6 px.
        let angles = 12
        var power = [Float](repeating: 0, count: angles)
        for a in 0..<angles {
            let th = Float(a) * Float.pi / Float(angles)
            let dx = cos(th), dy = sin(th)
            for period in stride(from: Float(2), through: 6, by: 0.25) {
                let k = 2 * Float.pi / period
                var re: Float = 0, im: Float = 0
                for p in pixels {
                    let ph = k * (p.x * dx + p.y * dy)
                    re += (p.l - mean) * cos(ph)
                    im -= (p.l - mean) * sin(ph)
                }
                power[a] = max(power[a], 2 * (re * re + im * im) / (count * count))
            }
        }
        let best = power.indices.max { power[$0] < power[$1] }!
        guard power[best] >= patternShare * variance else { return .solid }
        // Orientations at least 60 degrees (4 steps of 15) from the strongest, on the half circle.
        let far = power.indices.filter { i in let d = abs(i - best) % angles; return min(d, angles - d) >= 4 }
        let second = far.map { power[$0] }.max() ?? 0
        return second >= secondRatio * power[best] ? .checked : .striped
    }

    /// Per frame where an object of this shape and colour is found: the fill it shows (nil where its
    /// interior is too small).
    static func fills(_ a: ClipAnalysis, shape: String, color: String?) -> [ObjectFill?] {
        a.segmentation.enumerated().compactMap { f, seg in
            guard let o = seg.objects.first(where: { $0.matches(shape: shape, color: color) }) else { return nil }
            return .some(classify(interior(a.planes[f], seg.background, o)))
        }
    }

    /// Whether the named fill holds: in at least half the frames where the object is found and its
    /// interior can be judged, the fill seen is the named one. Nil when no frame can be judged.
    static func holds(_ a: ClipAnalysis, shape: String, color: String?, fill: ObjectFill) -> Bool? {
        let seen = fills(a, shape: shape, color: color).compactMap { $0 }
        guard !seen.isEmpty else { return nil }
        return Double(seen.filter { $0 == fill }.count) >= 0.5 * Double(seen.count)
    }
}

extension VBenchLite {
    /// The fill a clip's object shows in each frame where it is found (nil where its interior is too
    /// small): the fill check of overall consistency, for tests and reports.
    public static func observedFills(_ video: RGBVideo, shape: String, color: String?) -> [ObjectFill?] {
        FillCheck.fills(ClipAnalysis(video: video), shape: shape, color: color)
    }
}
