import Foundation
import VideoCommon

/// The semantic dimensions of one clip from its prompt's auxiliary info, on detections from
/// `ShapeSegmenter` in place of GRiT and Tag2Text. Each mirrors the VBench rule named in its comment.
enum SemanticChecks {
    /// Per-frame success counts: (frames that succeed, frames).
    typealias Rate = (success: Double, frames: Double)

    /// VBench `object_class.py`: a frame succeeds when the named object is among its detections.
    /// Nil when the name is not one of the world's shapes.
    static func objectClass(_ a: ClipAnalysis, _ info: ObjectInfo) -> Rate? {
        guard let target = ShapeSegmenter.parseObject(info.object) else { return nil }
        let ok = a.detections.filter { $0.contains { $0.matches(shape: target.shape, color: target.color) } }.count
        return (Double(ok), Double(a.detections.count))
    }

    /// VBench `multiple_objects.py`: "A and B"; a frame succeeds only when both are detected (as two
    /// different detections).
    static func multipleObjects(_ a: ClipAnalysis, _ info: ObjectInfo) -> Rate? {
        let parts = info.object.components(separatedBy: " and ")
        guard parts.count == 2, let ta = ShapeSegmenter.parseObject(parts[0]),
              let tb = ShapeSegmenter.parseObject(parts[1]) else { return nil }
        var ok = 0
        for objs in a.detections {
            let ia = objs.indices.filter { objs[$0].matches(shape: ta.shape, color: ta.color) }
            let ib = objs.indices.filter { objs[$0].matches(shape: tb.shape, color: tb.color) }
            if ia.contains(where: { i in ib.contains { $0 != i } }) { ok += 1 }
        }
        return (Double(ok), Double(a.detections.count))
    }

    /// VBench `color.py`: frames where the object is found with a nameable colour form the
    /// denominator, those whose colour is the prompt's the numerator; (num, den). Only detections of
    /// the shape the prompt names count (VBench reads the caption of a region detected as the object);
    /// a frame without one, or a prompt naming no shape of the world, adds nothing, so such videos are
    /// dropped as VBench drops videos whose object is never found. Nil when the aux colour is not one of
    /// VBench's nine.
    static func color(_ a: ClipAnalysis, _ info: ColorInfo, prompt: String) -> (num: Double, den: Double)? {
        let target = info.color.lowercased()
        guard ColorNaming.promptColors.contains(target) else { return nil }
        let shape = ShapeSegmenter.parseObject(prompt)?.shape
        var num = 0, den = 0
        for objs in a.detections {
            guard let s = shape, let o = objs.first(where: { $0.shape == s }) else { continue }
            den += 1
            if o.color == target { num += 1 }
        }
        return (Double(num), Double(den))
    }

    /// VBench's `get_position_score` on two boxes [x0, y0, x1, y1): on the relation's axis, 1 when the
    /// centres differ more along it than across it and IoU < 0.1, 0.1/IoU when they do with IoU ≥ 0.1,
    /// else 0. Like VBench it checks the axis, not the direction.
    public static func positionScore(relation: String, _ b1: (Double, Double, Double, Double),
                                     _ b2: (Double, Double, Double, Double), iouThreshold: Double = 0.1) -> Double {
        let c1 = ((b1.0 + b1.2) / 2, (b1.1 + b1.3) / 2), c2 = ((b2.0 + b2.2) / 2, (b2.1 + b2.3) / 2)
        let dx = c2.0 - c1.0, dy = c2.1 - c1.1
        let ox = max(0, min(b1.2, b2.2) - max(b1.0, b2.0)), oy = max(0, min(b1.3, b2.3) - max(b1.1, b2.1))
        let inter = ox * oy
        let union = (b1.2 - b1.0) * (b1.3 - b1.1) + (b2.2 - b2.0) * (b2.3 - b2.1) - inter
        let iou = union > 0 ? inter / union : 0
        // VBench tests `locality in 'on the right of'`, a substring test; the four relations reduce to
        // the horizontal pair and the vertical pair.
        let r = relation.lowercased()
        let horizontal = "on the right of".contains(r) || "on the left of".contains(r)
        let vertical = "on the bottom of".contains(r) || "on the top of".contains(r)
        let along: Bool
        if horizontal { along = abs(dx) > abs(dy) } else if vertical { along = abs(dy) > abs(dx) } else { return 0 }
        guard along else { return 0 }
        return iou < iouThreshold ? 1 : iouThreshold / iou
    }

    /// Whether box a lies in the named direction of box b (the direction VBench does not check).
    static func directionHolds(relation: String, a: (Double, Double, Double, Double), b: (Double, Double, Double, Double)) -> Bool? {
        let ca = ((a.0 + a.2) / 2, (a.1 + a.3) / 2), cb = ((b.0 + b.2) / 2, (b.1 + b.3) / 2)
        let dx = ca.0 - cb.0, dy = ca.1 - cb.1
        let r = relation.lowercased()
        switch Relation(rawValue: r) ?? Relation.allCases.first(where: { "\($0)" == r }) {
        case .leftOf: return dx < 0 && abs(dx) > abs(dy)
        case .rightOf: return dx > 0 && abs(dx) > abs(dy)
        case .above: return dy < 0 && abs(dy) > abs(dx)
        case .below: return dy > 0 && abs(dy) > abs(dx)
        case nil: return nil
        }
    }

    /// VBench `spatial_relationship.py`: per frame, the max position score over every pair of boxes
    /// labelled object_a or object_b (0 when fewer than two); (Σ frame scores, frames, frames where A
    /// is in the named direction of B among frames where both were found, frames where both were found).
    static func spatial(_ a: ClipAnalysis, _ info: SpatialInfo) -> (sum: Double, frames: Double, directionOK: Double, directionFrames: Double)? {
        let rel = info.spatialRelationship
        guard let ta = ShapeSegmenter.parseObject(rel.objectA), let tb = ShapeSegmenter.parseObject(rel.objectB) else { return nil }
        var sum = 0.0, dirOK = 0.0, dirN = 0.0
        for objs in a.detections {
            let labelled = objs.filter { $0.matches(shape: ta.shape, color: ta.color) || $0.matches(shape: tb.shape, color: tb.color) }
            var best = 0.0
            if labelled.count >= 2 {
                for i in 0..<(labelled.count - 1) {
                    for j in (i + 1)..<labelled.count {
                        best = max(best, positionScore(relation: rel.relationship, labelled[i].box, labelled[j].box))
                    }
                }
            }
            sum += best
            if let oa = objs.first(where: { $0.matches(shape: ta.shape, color: ta.color) }),
               let ob = objs.first(where: { $0.matches(shape: tb.shape, color: tb.color) && !($0.centroid == oa.centroid) }),
               let holds = directionHolds(relation: rel.relationship, a: oa.box, b: ob.box) {
                dirN += 1
                if holds { dirOK += 1 }
            }
        }
        return (sum, Double(a.detections.count), dirOK, dirN)
    }

    /// A background description of the world ("plain grey", "blue gradient", "soft green texture"):
    /// its colour word and kind, either optional; nil when it names neither.
    static func parseBackground(_ text: String) -> (color: String?, kind: Background?)? {
        let words = text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
        var kind: Background? = nil
        if words.contains(Background.plain.rawValue) || words.contains("solid") || words.contains("flat") { kind = .plain }
        if words.contains(Background.gradient.rawValue) { kind = .gradient }
        if words.contains("texture") || words.contains(Background.textured.rawValue) { kind = .textured }
        let color = ColorNaming.colorWord(in: text)
        if color == nil && kind == nil { return nil }
        return (color, kind)
    }

    /// Describes a frame's background: the colour name of the ramp's mean colour, and its kind:
    /// texture when the residual scale σ exceeds 8 (L1 RGB), else gradient when the ramp changes by
    /// more than 6 (L1 RGB, about 2 levels per channel) across the frame, else plain. The world's
    /// gradients run between two random muted colours and can be that faint.
    static func describeBackground(_ bg: BackgroundModel, textureSigma: Float = 8) -> (color: String, kind: Background) {
        let m = bg.meanColor
        let color = ColorNaming.allNames[ColorNaming.index(m.0, m.1, m.2)]
        let kind: Background = bg.sigma > textureSigma ? .textured : (bg.rampStrength > 6 ? .gradient : .plain)
        return (color, kind)
    }

    /// The residual scale above which a fine-world background reads as "textured": every fine-world
    /// background carries a faint fine texture (residual scale 10-16 through the MP4 codec, 12 seeds
    /// each of plain and gradient), under the named texture's waves (21.5-47 in the fine world).
    static let fineTextureSigma: Float = 18

    /// VBench `scene.py` in the world: a frame succeeds when every part the description names (colour,
    /// kind) matches the frame's background. Nil when the description names neither.
    static func scene(_ a: ClipAnalysis, description: String, textureSigma: Float = 8) -> Rate? {
        guard let target = parseBackground(description) else { return nil }
        var ok = 0
        for seg in a.segmentation {
            let d = describeBackground(seg.background, textureSigma: textureSigma)
            if (target.color == nil || target.color == d.color) && (target.kind == nil || target.kind == d.kind) { ok += 1 }
        }
        return (Double(ok), Double(a.segmentation.count))
    }

    /// Temporal style in the world: the camera motion and the (first) object motion the prompt names,
    /// checked with `MotionCheck`. (passed, checked, detail); nil when nothing was checkable.
    static func temporalStyle(_ a: ClipAnalysis, _ info: TemporalStyleInfo, world: WorldFacts?) -> (passed: Int, checked: Int, note: String)? {
        let main = world?.objects.first
        let track = MotionFacts.track(a.detections, shape: main?.shape, color: main?.color, width: a.video.width, height: a.video.height)
        let check = MotionCheck.run(cameraName: info.cameraMotion, objectName: info.objectMotion, camera: a.camera,
                                    track: track, frames: a.video.frameCount, width: a.video.width, height: a.video.height)
        let results = [check.camera, check.object].compactMap { $0 }
        guard !results.isEmpty else { return nil }
        let note = "camera: \(check.measuredCamera ?? "unobservable") (prompt: \(info.cameraMotion)); object: \(check.measuredObject ?? "not tracked") (prompt: \(info.objectMotion))"
        return (results.filter { $0 }.count, results.count, note)
    }

    /// Overall consistency in the world: the fraction of the prompt's checkable facts (aux `world`)
    /// that hold. Facts: each object's colour is present, each object's shape is present (each in at
    /// least half the frames), each object's motion (as temporal style), the relation between the
    /// first two objects in its named direction (in at least half the frames where both are found),
    /// the camera motion (when observable), the background description (in at least half the frames;
    /// in the fine world a faint texture is not "textured", `fineTextureSigma`) and each fill the prompt
    /// names (`FillCheck`). (passed, checked, failed facts).
    static func overall(_ a: ClipAnalysis, _ world: WorldFacts) -> (passed: Int, checked: Int, failed: [String])? {
        var results: [(String, Bool)] = []
        let frames = Double(a.detections.count)
        let det = a.detections
        for o in world.objects {
            let color = o.color.lowercased(), shape = o.shape.lowercased()
            let colorFrames = det.filter { $0.contains { $0.color == color } }.count
            results.append(("\(color) object present", Double(colorFrames) >= 0.5 * frames))
            if ShapeSegmenter.shapes.contains(shape) {
                let shapeFrames = det.filter { $0.contains { $0.shape == shape } }.count
                results.append(("\(shape) present", Double(shapeFrames) >= 0.5 * frames))
            }
            let track = MotionFacts.track(det, shape: shape, color: color, width: a.video.width, height: a.video.height)
            let check = MotionCheck.run(cameraName: world.cameraMotion, objectName: o.motion, camera: a.camera,
                                        track: track, frames: a.video.frameCount, width: a.video.width, height: a.video.height)
            if let ok = check.object { results.append(("\(color) \(shape) \(o.motion)", ok)) }
            else if track == nil, MotionFacts.objectEffect(o.motion) != nil {
                results.append(("\(color) \(shape) \(o.motion)", false))
            }
            // A named fill (only prompts that name one): the object's interior shows it (`FillCheck`).
            if let name = o.fill, let fill = ObjectFill(rawValue: name.lowercased()), ShapeSegmenter.shapes.contains(shape) {
                results.append(("\(name) \(color) \(shape)", FillCheck.holds(a, shape: shape, color: color, fill: fill) ?? false))
            }
        }
        if let rel = world.relationship, world.objects.count >= 2 {
            let oa = world.objects[0], ob = world.objects[1]
            var both = 0, holds = 0
            for objs in det {
                guard let da = objs.first(where: { $0.matches(shape: oa.shape, color: oa.color) }),
                      let db = objs.first(where: { $0.matches(shape: ob.shape, color: ob.color) && !($0.centroid == da.centroid) })
                else { continue }
                both += 1
                if directionHolds(relation: rel, a: da.box, b: db.box) == true { holds += 1 }
            }
            results.append(("\(oa.color) \(oa.shape) \(rel) \(ob.color) \(ob.shape)", both > 0 && Double(holds) >= 0.5 * Double(both)))
        }
        let cam = MotionCheck.run(cameraName: world.cameraMotion, objectName: nil, camera: a.camera, track: nil,
                                  frames: a.video.frameCount, width: a.video.width, height: a.video.height)
        if let ok = cam.camera { results.append(("camera \(world.cameraMotion)", ok)) }
        if let bg = scene(a, description: world.background, textureSigma: world.detail == .fine ? fineTextureSigma : 8) {
            results.append(("background \(world.background)", bg.success >= 0.5 * bg.frames))
        }
        guard !results.isEmpty else { return nil }
        return (results.filter { $0.1 }.count, results.count, results.filter { !$0.1 }.map { $0.0 })
    }
}
