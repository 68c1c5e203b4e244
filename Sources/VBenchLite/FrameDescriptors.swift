import Foundation

/// Frame descriptors for subject and background consistency, in place of DINO ViT-B/16 and CLIP
/// ViT-B/32 features (docs/vbench.md §4).
///
/// VBench's formula is kept exactly (`ConsistencyScore`): s_i = [max(0, cos(f_{i-1}, f_i)) +
/// max(0, cos(f_0, f_i))] / 2. Only the features differ. Each descriptor concatenates blocks that are
/// L2-normalised separately, then the whole is L2-normalised:
/// - subject (DINO stand-in): the subject is what `ShapeSegmenter` finds (up to three objects' boxes,
///   else the whole frame): a soft 8x4x4 HSV histogram of its pixels weighted by how far each is from
///   the background model, an 8-bin gradient-orientation histogram inside the boxes, and the largest
///   box resampled to a mean-centred 6x6 luma thumbnail (its shape). All three ignore where the subject
///   is and how big it is, as DINO's class token largely does, and change when the subject's colour,
///   shape or texture changes, or when noise scatters its colours and orientations;
/// - background (CLIP stand-in on the whole frame, as CLIP sees the centre crop of a square clip): an
///   8x8 RGB thumbnail of the whole frame (not mean-centred: the background's colour dominates what
///   CLIP sees) and an 8x4x4 HSV histogram of the border ring.
enum FrameDescriptors {
    static func subject(_ f: FramePlanes, objects: [DetectedObject], background bg: BackgroundModel) -> [Float] {
        let w = f.width, h = f.height, ps = f.planeSize
        // The subject's region: the detected objects' boxes (up to three), else the whole frame.
        var boxes: [(Int, Int, Int, Int)] = objects.prefix(3).map { o in
            (max(0, Int(o.box.0) - 1), max(0, Int(o.box.1) - 1), min(w, Int(o.box.2.rounded(.up)) + 1), min(h, Int(o.box.3.rounded(.up)) + 1))
        }
        if boxes.isEmpty { boxes = [(0, 0, w, h)] }
        // Colour histogram weighted by how far each pixel is from the background (the subject's own
        // pixels), and the gradient orientations inside the boxes.
        var hist = [Float](repeating: 0, count: 128)
        var orient = [Float](repeating: 0, count: 8)
        let luma = f.luma()
        let fgScale = max(30, 4 * bg.sigma)
        for b in boxes {
            for y in b.1..<b.3 {
                for x in b.0..<b.2 {
                    let i = f.index(x, y)
                    let r = f.data[i], g = f.data[ps + i], bl = f.data[2 * ps + i]
                    let d = abs(r - bg.value(0, x, y)) + abs(g - bg.value(1, x, y)) + abs(bl - bg.value(2, x, y))
                    let wt = min(1, d / fgScale)
                    if wt > 0.05 { addHSV(&hist, r, g, bl, wt) }
                    guard x > 0, y > 0, x < w - 1, y < h - 1 else { continue }
                    let gx = luma[y * w + x + 1] - luma[y * w + x - 1]
                    let gy = luma[(y + 1) * w + x] - luma[(y - 1) * w + x]
                    let m = (gx * gx + gy * gy).squareRoot()
                    guard m > 1 else { continue }
                    var ang = atan2f(gy, gx)
                    if ang < 0 { ang += 2 * Float.pi }
                    orient[min(7, Int(ang / (2 * Float.pi) * 8))] += m
                }
            }
        }
        // The largest box resampled to 6x6 (mean-centred luma): the subject's shape, independent of
        // where it is and how big it is.
        let b0 = boxes[0]
        let thumb = lumaThumbnail(f, x0: b0.0, y0: b0.1, x1: b0.2, y1: b0.3, size: 6)
        return normalized(normalized(hist) + normalized(orient) + normalized(thumb))
    }

    /// Subject descriptor of a frame, segmenting it first.
    static func subject(_ f: FramePlanes) -> [Float] {
        let d = ShapeSegmenter.detect(f)
        return subject(f, objects: d.objects, background: d.background)
    }

    static func background(_ f: FramePlanes) -> [Float] {
        let w = f.width, h = f.height
        let ring = max(2, min(w, h) / 8)
        let hist = hsvHistogram(f) { x, y in
            (x < ring || y < ring || x >= w - ring || y >= h - ring) ? 1 : 0
        }
        let thumb = rgbThumbnail(f, size: 8)
        return normalized(normalized(thumb) + normalized(hist))
    }

    static func normalized(_ v: [Float]) -> [Float] {
        var s: Float = 0
        for x in v { s += x * x }
        guard s > 1e-12 else { return v }
        let k = 1 / s.squareRoot()
        return v.map { $0 * k }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var d: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<min(a.count, b.count) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        guard na > 1e-12, nb > 1e-12 else { return (na <= 1e-12 && nb <= 1e-12) ? 1 : 0 }
        return Double(d / (na.squareRoot() * nb.squareRoot()))
    }

    /// Soft (bilinear in hue) 8x4x4 HSV histogram with per-pixel weights.
    private static func hsvHistogram(_ f: FramePlanes, weight: (Int, Int) -> Float) -> [Float] {
        let w = f.width, h = f.height, ps = f.planeSize
        var hist = [Float](repeating: 0, count: 128)
        for y in 0..<h {
            for x in 0..<w {
                let wt = weight(x, y)
                guard wt > 0 else { continue }
                let i = f.index(x, y)
                addHSV(&hist, f.data[i], f.data[ps + i], f.data[2 * ps + i], wt)
            }
        }
        return hist
    }

    /// Adds one pixel to a soft 8x4x4 HSV histogram (linear between the two nearest hue bins).
    @inline(__always)
    private static func addHSV(_ hist: inout [Float], _ r: Float, _ g: Float, _ b: Float, _ wt: Float) {
        let (hh, s, v) = ColorNaming.hsv(r, g, b)
        let hp = hh / 45 - 0.5
        let h0 = Int(floorf(hp)), t = hp - floorf(hp)
        let si = min(3, Int(s * 4)), vi = min(3, Int(v * 4))
        let a = (h0 + 8) % 8, bb = (h0 + 9) % 8
        hist[(a * 4 + si) * 4 + vi] += wt * (1 - t)
        hist[(bb * 4 + si) * 4 + vi] += wt * t
    }

    /// 2x2 cells x 8 orientation bins of luma gradients, magnitude weighted.
    private static func orientationHistogram(_ f: FramePlanes, x0: Int, y0: Int, x1: Int, y1: Int) -> [Float] {
        let luma = f.luma()
        let w = f.width
        var hist = [Float](repeating: 0, count: 32)
        let mx = (x0 + x1) / 2, my = (y0 + y1) / 2
        for y in max(1, y0)..<min(f.height - 1, y1) {
            for x in max(1, x0)..<min(w - 1, x1) {
                let gx = luma[y * w + x + 1] - luma[y * w + x - 1]
                let gy = luma[(y + 1) * w + x] - luma[(y - 1) * w + x]
                let m = (gx * gx + gy * gy).squareRoot()
                guard m > 1 else { continue }
                var ang = atan2f(gy, gx)
                if ang < 0 { ang += 2 * Float.pi }
                let bin = min(7, Int(ang / (2 * Float.pi) * 8))
                let cell = (y >= my ? 2 : 0) + (x >= mx ? 1 : 0)
                hist[cell * 8 + bin] += m
            }
        }
        return hist
    }

    /// Mean-centred box-averaged luma thumbnail of a region.
    private static func lumaThumbnail(_ f: FramePlanes, x0: Int, y0: Int, x1: Int, y1: Int, size: Int) -> [Float] {
        let luma = f.luma()
        let w = f.width
        var out = [Float](repeating: 0, count: size * size)
        var cnt = [Float](repeating: 0, count: size * size)
        let rw = max(1, x1 - x0), rh = max(1, y1 - y0)
        for y in y0..<y1 {
            for x in x0..<x1 {
                let tx = min(size - 1, (x - x0) * size / rw), ty = min(size - 1, (y - y0) * size / rh)
                out[ty * size + tx] += luma[y * w + x]
                cnt[ty * size + tx] += 1
            }
        }
        for i in out.indices { out[i] = cnt[i] > 0 ? out[i] / cnt[i] : 0 }
        let mean = out.reduce(0, +) / Float(out.count)
        return out.map { $0 - mean }
    }

    /// Box-averaged RGB thumbnail of the whole frame (not mean-centred: the background's colour is part of
    /// what CLIP sees, and dominates it).
    private static func rgbThumbnail(_ f: FramePlanes, size: Int) -> [Float] {
        let w = f.width, h = f.height, ps = f.planeSize
        var out = [Float](repeating: 0, count: 3 * size * size)
        var cnt = [Float](repeating: 0, count: size * size)
        for y in 0..<h {
            for x in 0..<w {
                let t = min(size - 1, y * size / h) * size + min(size - 1, x * size / w)
                let i = f.index(x, y)
                out[t] += f.data[i]; out[size * size + t] += f.data[ps + i]; out[2 * size * size + t] += f.data[2 * ps + i]
                cnt[t] += 1
            }
        }
        let m = size * size
        for c in 0..<3 {
            var mean: Float = 0
            for t in 0..<m { out[c * m + t] = cnt[t] > 0 ? out[c * m + t] / cnt[t] : 0; mean += out[c * m + t] }
            _ = mean
        }
        return out
    }
}

/// VBench's consistency formula over a sequence of descriptors: the per-frame scores s_i (i ≥ 1).
enum ConsistencyScore {
    static func frameScores(_ features: [[Float]]) -> [Double] {
        guard features.count >= 2 else { return [] }
        return (1..<features.count).map { i in
            (max(0, FrameDescriptors.cosine(features[i - 1], features[i]))
                + max(0, FrameDescriptors.cosine(features[0], features[i]))) / 2
        }
    }
}
