import Foundation
import VideoCommon

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
        /// Which of (tx, ty, k) were measured on enough textured background in at least half the
        /// frame pairs. Oriented texture (waves, gradients) often shows only one axis.
        var observed: (Bool, Bool, Bool)
        var observable: Bool { observed.0 || observed.1 || observed.2 }

        static let unobservable = Camera(tx: 0, ty: 0, k: 0, observed: (false, false, false))
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

    /// On-screen effect of a camera motion name (the world's vocabulary), or nil for an unknown name.
    static func cameraEffect(_ name: String) -> (Int, Int, Int)? {
        CameraMotion(name: name).map { ($0.screenEffect.x, $0.screenEffect.y, $0.screenEffect.zoom) }
    }

    /// World effect of an object motion name (the world's vocabulary), or nil for an unknown name.
    static func objectEffect(_ name: String) -> (Int, Int, Int)? {
        ObjectMotion(name: name).map { ($0.effect.x, $0.effect.y, $0.effect.size) }
    }

    /// A motion is "moving" along an axis when it covers at least 12 % of the frame (or changes size by
    /// 12 %, in log) over the clip; below that it is still. Well under the world's motions (36 % of the
    /// frame, zoom ×1.5, size ×0.65→1.25) and well over what codec noise fakes in a global fit.
    static let moveThreshold = 0.12

    /// Mean squared luma gradient (per axis, over the 5x5 window) above which that flow component is
    /// trusted in the camera fit.
    nonisolated(unsafe) static var textureThreshold: Float = 2

    /// Whether a measured motion (displacement over the clip as fractions of the frame, and log size
    /// change) has the expected direction on every named axis and stays small on the others.
    static func matches(_ m: (Double, Double, Double), _ e: (Int, Int, Int)) -> Bool {
        matches([m.0, m.1, m.2], [e.0, e.1, e.2]) ?? false
    }

    /// The same with unknown components (nil): they are not checked. Nil when a named axis is unknown
    /// or no component is known.
    static func matches(_ mv: [Double?], _ ev: [Int?]) -> Bool? {
        guard mv.contains(where: { $0 != nil }) else { return nil }
        var smallestExpected = Double.infinity
        for i in 0..<3 {
            guard let e = ev[i], e != 0 else { continue }
            guard let m = mv[i] else { return nil }
            if Double(e) * m < moveThreshold { return false }
            smallestExpected = min(smallestExpected, abs(m))
        }
        let limit = smallestExpected.isFinite ? max(moveThreshold, 0.5 * smallestExpected) : moveThreshold
        for i in 0..<3 {
            guard let m = mv[i] else { continue }
            if ev[i] == 0 && abs(m) >= limit { return false }
            if ev[i] == nil && abs(m) >= limit { return false }
        }
        return true
    }

    /// A readable class of a measured motion, for reports.
    static func describe(_ m: (Double, Double, Double), camera: Bool) -> String {
        let mv = [m.0, m.1, m.2]
        guard let i = (0..<3).max(by: { abs(mv[$0]) < abs(mv[$1]) }), abs(mv[i]) >= moveThreshold else { return "still" }
        let pos = mv[i] > 0
        var e = [0, 0, 0]
        e[i] = pos ? 1 : -1
        if camera {
            let c = CameraMotion.allCases.first { [$0.screenEffect.x, $0.screenEffect.y, $0.screenEffect.zoom] == e }
            return c?.vbenchName ?? "still"
        }
        return ObjectMotion.allCases.first { [$0.effect.x, $0.effect.y, $0.effect.size] == e }?.rawValue ?? "still"
    }

    /// Fits the camera motion to consecutive flows over textured background pixels (outside every
    /// detected object's box grown by four pixels, and four pixels in from the frame's edges, where
    /// content enters or leaves). The aperture problem decides which flow components count: each
    /// pixel contributes the flow's projection on each eigenvector of its window's luma structure
    /// tensor whose eigenvalue exceeds `textureThreshold` (stripes and gradients give one equation,
    /// across them; corners and blobs two), weighted by that eigenvalue (capped at 50), since flow on
    /// strong texture is the most reliable. Robust: one refit without rows off by more than 0.75 px. `interval` converts per-pair motion to
    /// per-original-frame motion.
    static func camera(planes: [FramePlanes], flows: [MotionSearch.Field], sampled: [Int],
                       detections: [[DetectedObject]], interval: Int) -> Camera {
        guard let first = planes.first, !flows.isEmpty else { return .unobservable }
        let w = first.width, h = first.height, n = w * h
        let cx = Double(w - 1) / 2, cy = Double(h - 1) / 2
        var sums = [0.0, 0.0, 0.0], counts = [0, 0, 0]
        for (pi, field) in flows.enumerated() {
            let fi = sampled[pi]
            var excluded = [Bool](repeating: false, count: n)
            // Objects' boxes grown by the reach of the gradient window and the flow window.
            let grow = 4
            for o in detections[fi] {
                let x0 = max(0, Int(o.box.0) - grow), y0 = max(0, Int(o.box.1) - grow)
                let x1 = min(w - 1, Int(o.box.2) + grow - 1), y1 = min(h - 1, Int(o.box.3) + grow - 1)
                if x1 >= x0 && y1 >= y0 {
                    for y in y0...y1 { for x in x0...x1 { excluded[y * w + x] = true } }
                }
            }
            let luma = planes[fi].luma()
            var gxx = [Float](repeating: 0, count: n), gxy = gxx, gyy = gxx
            for y in 0..<h {
                for x in 0..<w {
                    let gx = 0.5 * (luma[y * w + min(w - 1, x + 1)] - luma[y * w + max(0, x - 1)])
                    let gy = 0.5 * (luma[min(h - 1, y + 1) * w + x] - luma[max(0, y - 1) * w + x])
                    gxx[y * w + x] = gx * gx; gxy[y * w + x] = gx * gy; gyy[y * w + x] = gy * gy
                }
            }
            let sxx = boxMean(gxx, w, h, 2), sxy = boxMean(gxy, w, h, 2), syy = boxMean(gyy, w, h, 2)
            // Rows: one flow equation along each direction in which the window's structure tensor is
            // strong: (direction n, offset p − centre, measured n·flow, weight = that eigenvalue).
            var rows: [(nx: Double, ny: Double, u: Double, v: Double, value: Double, weight: Double)] = []
            // Content enters and leaves at the frame's edges, where block matching has no true match.
            let margin = 4
            for y in margin..<max(margin, h - margin) {
                for x in margin..<max(margin, w - margin) {
                    let i = y * w + x
                    guard !excluded[i] else { continue }
                    let a = Double(sxx[i]), b = Double(sxy[i]), c = Double(syy[i])
                    let mean = (a + c) / 2, rad = (((a - c) / 2) * ((a - c) / 2) + b * b).squareRoot()
                    let l1 = mean + rad, l2 = mean - rad
                    var e1: (Double, Double)
                    if abs(b) > 1e-9 { e1 = (b, l1 - a) } else { e1 = a >= c ? (1, 0) : (0, 1) }
                    let norm = (e1.0 * e1.0 + e1.1 * e1.1).squareRoot()
                    e1 = (e1.0 / norm, e1.1 / norm)
                    let e2 = (-e1.1, e1.0)
                    let u = Double(x) - cx, v = Double(y) - cy
                    let fx = Double(field.dx[i]), fy = Double(field.dy[i])
                    let threshold = Double(MotionFacts.textureThreshold)
                    if l1 > threshold { rows.append((e1.0, e1.1, u, v, e1.0 * fx + e1.1 * fy, min(l1, 50))) }
                    if l2 > threshold { rows.append((e2.0, e2.1, u, v, e2.0 * fx + e2.1 * fy, min(l2, 50))) }
                }
            }
            @inline(__always) func basis(_ r: (nx: Double, ny: Double, u: Double, v: Double, value: Double, weight: Double)) -> [Double] {
                [r.nx, r.ny, r.nx * r.u + r.ny * r.v]
            }
            var keep = [Bool](repeating: true, count: rows.count)
            var solution: [Double]? = nil
            var information = [Double](repeating: 0, count: 9)
            for pass in 0..<2 {
                var m = [Double](repeating: 0, count: 9), r = [Double](repeating: 0, count: 3)
                information = [Double](repeating: 0, count: 9)
                for (j, row) in rows.enumerated() where keep[j] {
                    let bv = basis(row)
                    for a in 0..<3 {
                        r[a] += row.weight * bv[a] * row.value
                        for b in 0..<3 {
                            m[a * 3 + b] += row.weight * bv[a] * bv[b]
                            information[a * 3 + b] += bv[a] * bv[b]
                        }
                    }
                }
                // A light ridge keeps unobservable parameters at zero instead of undefined.
                m[0] += 1; m[4] += 1; m[8] += 100
                solution = solve3(m, r)
                guard pass == 0, let s = solution else { break }
                for (j, row) in rows.enumerated() {
                    let bv = basis(row)
                    keep[j] = abs(bv[0] * s[0] + bv[1] * s[1] + bv[2] * s[2] - row.value) <= 0.75
                }
            }
            // A parameter is observed in this pair when the rows pin it down as well as 1.5 % of the
            // frame's pixels measuring it directly would (1 / its variance factor, from the inverse
            // of the unweighted information matrix), for the zoom with offsets of a tenth of the
            // half-size squared.
            let minRows = max(8, Double(n) * 0.015)
            let halfSize = Double(min(w, h)) / 2
            guard let s = solution else { continue }
            information[0] += 1e-6; information[4] += 1e-6; information[8] += 1e-6
            let inv = (0..<3).map { j -> Double in
                let unit = (0..<3).map { $0 == j ? 1.0 : 0.0 }
                return solve3(information, unit)?[j] ?? .infinity
            }
            let okX = 1 / inv[0] >= minRows, okY = 1 / inv[1] >= minRows
            let okK = 1 / inv[2] >= minRows * halfSize * halfSize * 0.1
            for (j, ok) in [okX, okY, okK].enumerated() where ok { sums[j] += s[j]; counts[j] += 1 }
        }
        let per = Double(interval)
        func value(_ j: Int) -> (Double, Bool) {
            guard counts[j] > 0, counts[j] * 2 >= flows.count else { return (0, false) }
            return (sums[j] / Double(counts[j]) / per, true)
        }
        let x = value(0), y = value(1), z = value(2)
        return Camera(tx: x.0, ty: y.0, k: z.0, observed: (x.1, y.1, z.1))
    }

    /// Tracks the object best matching (shape, colour) through per-frame detections: in each frame the
    /// detection with every attribute named, else nothing (never by colour alone: a wrong shape in the
    /// right colour is not the prompt's object); then least-squares
    /// slopes of centroid and log size over frame index. Frames where the object touches the frame's
    /// edge (cut off, so its centroid and size are biased) are left out when at least three others
    /// remain. Nil when found in fewer than half the frames or fewer than two.
    static func track(_ detections: [[DetectedObject]], shape: String?, color: String?, width: Int, height: Int) -> Track? {
        var found: [(Double, DetectedObject)] = []
        for (t, objs) in detections.enumerated() {
            let pick = objs.first(where: { (shape == nil || $0.shape == shape) && (color == nil || $0.color == color) })
                ?? (shape == nil && color == nil ? objs.first : nil)
            if let o = pick { found.append((Double(t), o)) }
        }
        guard found.count >= 2, found.count * 2 >= detections.count else { return nil }
        let inside = found.filter { $0.1.box.0 > 0.5 && $0.1.box.1 > 0.5 && $0.1.box.2 < Double(width) - 0.5 && $0.1.box.3 < Double(height) - 0.5 }
        let use = inside.count >= 3 ? inside : found
        let ts = use.map(\.0), xs = use.map(\.1.centroid.0), ys = use.map(\.1.centroid.1)
        let ls = use.map { 0.5 * log(max(1, $0.1.area)) }
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

    /// Checks `cameraName` and `objectName` (either may be nil) on a clip of `frames` frames, axis by
    /// axis (x, y, scale). On an axis where the camera was observed, the camera must move as named,
    /// and the object is measured relative to it. On an axis where it was not, the object's on-screen
    /// motion is compared with the combined on-screen effect of both names (unknown when the two push
    /// that axis in opposite directions).
    static func run(cameraName: String?, objectName: String?, camera: MotionFacts.Camera,
                    track: MotionFacts.Track?, frames: Int, width: Int, height: Int) -> MotionCheck {
        var out = MotionCheck()
        let span = Double(max(1, frames - 1))
        let w = Double(width), h = Double(height)
        let obs = [camera.observed.0, camera.observed.1, camera.observed.2]
        let cam = [camera.tx * span / w, camera.ty * span / h, camera.k * span]
        let camKnown: [Double?] = (0..<3).map { obs[$0] ? cam[$0] : nil }
        let expectedCam = cameraName.flatMap(MotionFacts.cameraEffect).map { [$0.0, $0.1, $0.2] }
        if camera.observable {
            out.measuredCamera = describe(camKnown, camera: true)
            if let e = expectedCam { out.camera = MotionFacts.matches(camKnown, e.map { Optional($0) }) }
        }
        guard let objectName, let eoT = MotionFacts.objectEffect(objectName), let t = track else { return out }
        let eo = [eoT.0, eoT.1, eoT.2]
        let cx = (w - 1) / 2, cy = (h - 1) / 2
        let onScreen = [t.vx * span / w, t.vy * span / h, t.g * span]
        // Camera-induced motion at the object's mean position.
        let camAtObject = [(camera.tx + camera.k * (t.meanX - cx)) * span / w,
                           (camera.ty + camera.k * (t.meanY - cy)) * span / h, camera.k * span]
        var measured: [Double?] = [], expected: [Int?] = []
        for i in 0..<3 {
            let zoomKnown = obs[2] || i == 2
            if obs[i] && zoomKnown {
                measured.append(onScreen[i] - camAtObject[i])
                expected.append(eo[i])
            } else {
                let ec = expectedCam?[i] ?? (cameraName == nil ? 0 : nil)
                guard let ec else { measured.append(nil); expected.append(nil); continue }
                if eo[i] != 0 && ec != 0 && eo[i] != ec { measured.append(nil); expected.append(nil); continue }
                measured.append(onScreen[i])
                expected.append(eo[i] != 0 ? eo[i] : ec)
            }
        }
        out.measuredObject = describe(measured, camera: false)
        out.object = MotionFacts.matches(measured, expected)
        return out
    }

    static func describe(_ m: [Double?], camera: Bool) -> String {
        let known = (0..<3).filter { m[$0] != nil }
        guard !known.isEmpty else { return "unknown" }
        let v = m.map { $0 ?? 0 }
        var text = MotionFacts.describe((v[0], v[1], v[2]), camera: camera)
        if known.count < 3 { text += " (seen on " + known.map { ["x", "y", "scale"][$0] }.joined(separator: ", ") + ")" }
        return text
    }
}
