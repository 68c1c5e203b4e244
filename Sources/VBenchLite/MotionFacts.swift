import Foundation

/// Camera and object motion of a clip, for temporal style and overall consistency: VBenchLite's
/// checkable stand-in for ViCLIP's video-text similarity on motion words (docs/vbench.md §4, temporal
/// style row).
///
/// Conventions (what the content does on screen): pan left → content moves right; pan right → left;
/// tilt up → content moves down; tilt down → up; zoom in → content expands; zoom out → contracts.
/// Object motions are in the world: moving left/right/up/down, growing, shrinking, still.
enum MotionFacts {
    /// Global camera motion per original frame: v(p) = t + k·(p − centre).
    struct Camera: Sendable {
        var tx: Double
        var ty: Double
        var k: Double
        /// All three parameters were measured on enough textured background.
        var observable: Bool
    }

    /// An object's on-screen motion per original frame (linear fits over the frames where it was found).
    struct Track: Sendable {
        var frames: Int
        var vx: Double
        var vy: Double
        /// Slope of log(√area) per frame.
        var g: Double
        var meanX: Double
        var meanY: Double
    }

    /// On-screen effect of a camera motion name, or nil for an unknown name.
    static func cameraEffect(_ name: String) -> (Int, Int, Int)? {
        switch name.lowercased().trimmingCharacters(in: .whitespaces) {
        case "still", "static", "steady", "none": return (0, 0, 0)
        case "pan left": return (1, 0, 0)
        case "pan right": return (-1, 0, 0)
        case "tilt up": return (0, 1, 0)
        case "tilt down": return (0, -1, 0)
        case "zoom in": return (0, 0, 1)
        case "zoom out": return (0, 0, -1)
        default: return nil
        }
    }

    /// World effect of an object motion name, or nil for an unknown name.
    static func objectEffect(_ name: String) -> (Int, Int, Int)? {
        switch name.lowercased().trimmingCharacters(in: .whitespaces) {
        case "still", "static", "none": return (0, 0, 0)
        case "moving left", "left": return (-1, 0, 0)
        case "moving right", "right": return (1, 0, 0)
        case "moving up", "up": return (0, -1, 0)
        case "moving down", "down": return (0, 1, 0)
        case "growing": return (0, 0, 1)
        case "shrinking": return (0, 0, -1)
        default: return nil
        }
    }

    /// A motion is "moving" along an axis when it covers at least 5 % of the frame (or changes size by
    /// 5 %) over the clip; below that it is still.
    static let moveThreshold = 0.05

    /// Whether a measured motion (displacement over the clip as fractions of the frame, and log size
    /// change) has the expected direction on every named axis and stays small on the others.
    static func matches(_ m: (Double, Double, Double), _ e: (Int, Int, Int)) -> Bool {
        let mv = [m.0, m.1, m.2], ev = [e.0, e.1, e.2]
        if ev.allSatisfy({ $0 == 0 }) { return mv.allSatisfy { abs($0) < moveThreshold } }
        var smallestExpected = Double.infinity
        for i in 0..<3 where ev[i] != 0 {
            guard Double(ev[i]) * mv[i] >= moveThreshold else { return false }
            smallestExpected = min(smallestExpected, abs(mv[i]))
        }
        for i in 0..<3 where ev[i] == 0 {
            if abs(mv[i]) >= max(moveThreshold, 0.5 * smallestExpected) { return false }
        }
        return true
    }

    /// A readable class of a measured motion, for reports.
    static func describe(_ m: (Double, Double, Double), camera: Bool) -> String {
        let mv = [m.0, m.1, m.2]
        guard let i = (0..<3).max(by: { abs(mv[$0]) < abs(mv[$1]) }), abs(mv[i]) >= moveThreshold else { return "still" }
        let pos = mv[i] > 0
        if camera {
            return [pos ? "pan left" : "pan right", pos ? "tilt up" : "tilt down", pos ? "zoom in" : "zoom out"][i]
        }
        return [pos ? "moving right" : "moving left", pos ? "moving down" : "moving up", pos ? "growing" : "shrinking"][i]
    }

    /// Fits the camera motion to consecutive flows over textured background pixels (outside every
    /// detected object's box, dilated by two pixels). Rows enter the x (y) equation only where the
    /// window's mean squared x (y) luma gradient exceeds 9, i.e. where that component of the flow is
    /// observable (the aperture problem: a vertical gradient says nothing about horizontal motion).
    /// Robust: one refit without rows off by more than 0.75 px. `interval` converts per-pair motion to
    /// per-original-frame motion.
    static func camera(planes: [FramePlanes], flows: [MotionSearch.Field], sampled: [Int],
                       detections: [[DetectedObject]], interval: Int) -> Camera {
        guard let first = planes.first, !flows.isEmpty else { return Camera(tx: 0, ty: 0, k: 0, observable: false) }
        let w = first.width, h = first.height, n = w * h
        let cx = Double(w - 1) / 2, cy = Double(h - 1) / 2
        var sumT = (0.0, 0.0, 0.0)
        var observedPairs = 0
        for (pi, field) in flows.enumerated() {
            let fi = sampled[pi]
            var excluded = [Bool](repeating: false, count: n)
            for o in detections[fi] {
                let x0 = max(0, Int(o.box.0) - 2), y0 = max(0, Int(o.box.1) - 2)
                let x1 = min(w - 1, Int(o.box.2) + 1), y1 = min(h - 1, Int(o.box.3) + 1)
                if x1 >= x0 && y1 >= y0 {
                    for y in y0...y1 { for x in x0...x1 { excluded[y * w + x] = true } }
                }
            }
            let luma = planes[fi].luma()
            var gxx = [Float](repeating: 0, count: n), gyy = [Float](repeating: 0, count: n)
            for y in 0..<h {
                for x in 0..<w {
                    let gx = luma[y * w + min(w - 1, x + 1)] - luma[y * w + max(0, x - 1)]
                    let gy = luma[min(h - 1, y + 1) * w + x] - luma[max(0, y - 1) * w + x]
                    gxx[y * w + x] = 0.25 * gx * gx
                    gyy[y * w + x] = 0.25 * gy * gy
                }
            }
            let sxx = boxMean(gxx, w, h, 2), syy = boxMean(gyy, w, h, 2)
            // Rows: (is x equation, coordinate offset, measured component).
            var rows: [(Bool, Double, Double)] = []
            for y in 2..<max(2, h - 2) {
                for x in 2..<max(2, w - 2) {
                    let i = y * w + x
                    guard !excluded[i] else { continue }
                    if sxx[i] > 9 { rows.append((true, Double(x) - cx, Double(field.dx[i]))) }
                    if syy[i] > 9 { rows.append((false, Double(y) - cy, Double(field.dy[i]))) }
                }
            }
            var keep = [Bool](repeating: true, count: rows.count)
            var solution: [Double]? = nil
            var info = (0.0, 0.0, 0.0)
            for pass in 0..<2 {
                var m = [Double](repeating: 0, count: 9), r = [Double](repeating: 0, count: 3)
                info = (0, 0, 0)
                for (j, row) in rows.enumerated() where keep[j] {
                    let basis: [Double] = row.0 ? [1, 0, row.1] : [0, 1, row.1]
                    for a in 0..<3 {
                        r[a] += basis[a] * row.2
                        for b in 0..<3 { m[a * 3 + b] += basis[a] * basis[b] }
                    }
                    if row.0 { info.0 += 1 } else { info.1 += 1 }
                    info.2 += row.1 * row.1
                }
                // A light ridge keeps unobservable parameters at zero instead of undefined.
                m[0] += 1; m[4] += 1; m[8] += 100
                solution = solve3(m, r)
                guard pass == 0, let s = solution else { break }
                for (j, row) in rows.enumerated() {
                    let pred = (row.0 ? s[0] : s[1]) + s[2] * row.1
                    keep[j] = abs(pred - row.2) <= 0.75
                }
            }
            let minRows = Double(n) * 0.04
            let halfSize = Double(min(w, h)) / 2
            guard let s = solution, info.0 >= minRows, info.1 >= minRows,
                  info.2 >= minRows * halfSize * halfSize * 0.1 else { continue }
            sumT.0 += s[0]; sumT.1 += s[1]; sumT.2 += s[2]
            observedPairs += 1
        }
        guard observedPairs * 2 >= flows.count, observedPairs > 0 else {
            return Camera(tx: 0, ty: 0, k: 0, observable: false)
        }
        let d = Double(observedPairs) * Double(interval)
        return Camera(tx: sumT.0 / d, ty: sumT.1 / d, k: sumT.2 / d, observable: true)
    }

    /// Tracks the object best matching (shape, colour) through per-frame detections: in each frame the
    /// detection with both attributes, else the one with the colour, else nothing; then least-squares
    /// slopes of centroid and log size over frame index. Nil when found in fewer than half the frames
    /// or fewer than two.
    static func track(_ detections: [[DetectedObject]], shape: String?, color: String?) -> Track? {
        var ts: [Double] = [], xs: [Double] = [], ys: [Double] = [], ls: [Double] = []
        for (t, objs) in detections.enumerated() {
            let pick = objs.first(where: { (shape == nil || $0.shape == shape) && (color == nil || $0.color == color) })
                ?? objs.first(where: { color != nil && $0.color == color })
                ?? (shape == nil && color == nil ? objs.first : nil)
            guard let o = pick else { continue }
            ts.append(Double(t)); xs.append(o.centroid.0); ys.append(o.centroid.1); ls.append(0.5 * log(max(1, o.area)))
        }
        guard ts.count >= 2, ts.count * 2 >= detections.count else { return nil }
        func slope(_ v: [Double]) -> Double {
            let mt = ts.reduce(0, +) / Double(ts.count), mv = v.reduce(0, +) / Double(v.count)
            var num = 0.0, den = 0.0
            for i in ts.indices { num += (ts[i] - mt) * (v[i] - mv); den += (ts[i] - mt) * (ts[i] - mt) }
            return den > 0 ? num / den : 0
        }
        return Track(frames: ts.count, vx: slope(xs), vy: slope(ys), g: slope(ls),
                     meanX: xs.reduce(0, +) / Double(xs.count), meanY: ys.reduce(0, +) / Double(ys.count))
    }

    /// Box mean with clamped borders.
    static func boxMean(_ v: [Float], _ w: Int, _ h: Int, _ r: Int) -> [Float] {
        var tmp = [Float](repeating: 0, count: v.count), out = tmp
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0, c: Float = 0
                for xx in max(0, x - r)...min(w - 1, x + r) { s += v[y * w + xx]; c += 1 }
                tmp[y * w + x] = s / c
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s: Float = 0, c: Float = 0
                for yy in max(0, y - r)...min(h - 1, y + r) { s += tmp[yy * w + x]; c += 1 }
                out[y * w + x] = s / c
            }
        }
        return out
    }
}

/// The motion checks of one clip against a prompt's camera and object motion names.
struct MotionCheck {
    /// nil when not checkable (unknown names, unobservable camera, lost object, opposing motions).
    var camera: Bool?
    var object: Bool?
    var measuredCamera: String?
    var measuredObject: String?

    /// Checks `cameraName` and `objectName` (either may be nil) on a clip of `frames` frames.
    /// When the camera is observable, the object's motion is measured relative to it; otherwise the
    /// object's on-screen motion is compared with the combined on-screen effect of both names, which
    /// is defined unless the two push the same axis in opposite directions.
    static func run(cameraName: String?, objectName: String?, camera: MotionFacts.Camera,
                    track: MotionFacts.Track?, frames: Int, width: Int, height: Int) -> MotionCheck {
        var out = MotionCheck()
        let span = Double(max(1, frames - 1))
        let w = Double(width), h = Double(height)
        let camOnScreen = (camera.tx * span / w, camera.ty * span / h, camera.k * span)
        let expectedCam = cameraName.flatMap(MotionFacts.cameraEffect)
        if camera.observable {
            out.measuredCamera = MotionFacts.describe(camOnScreen, camera: true)
            if let e = expectedCam { out.camera = MotionFacts.matches(camOnScreen, e) }
        }
        guard let objectName, let eo = MotionFacts.objectEffect(objectName), let t = track else { return out }
        let cx = (w - 1) / 2, cy = (h - 1) / 2
        if camera.observable {
            let rel = ((t.vx - camera.tx - camera.k * (t.meanX - cx)) * span / w,
                       (t.vy - camera.ty - camera.k * (t.meanY - cy)) * span / h,
                       (t.g - camera.k) * span)
            out.measuredObject = MotionFacts.describe(rel, camera: false)
            out.object = MotionFacts.matches(rel, eo)
        } else {
            let onScreen = (t.vx * span / w, t.vy * span / h, t.g * span)
            out.measuredObject = MotionFacts.describe(onScreen, camera: false)
            guard let ec = expectedCam ?? (cameraName == nil ? (0, 0, 0) : nil) else { return out }
            let pairs = [(eo.0, ec.0), (eo.1, ec.1), (eo.2, ec.2)]
            if pairs.contains(where: { $0.0 != 0 && $0.1 != 0 && $0.0 != $0.1 }) { return out }
            let combined = (eo.0 != 0 ? eo.0 : ec.0, eo.1 != 0 ? eo.1 : ec.1, eo.2 != 0 ? eo.2 : ec.2)
            out.object = MotionFacts.matches(onScreen, combined)
        }
        return out
    }
}
