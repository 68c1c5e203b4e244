import Foundation
import TensorCore
import VideoCommon

/// The fixed train / held-out split of attribute combinations, the training sampler, and the
/// prompt suites with VBench-style auxiliary info.
///
/// Held out (never produced by the training sampler), by a fixed arithmetic rule on the attributes'
/// indices, about one combination in seven of each kind:
/// - one object moving (or still): (colour + 2·shape + 3·motion) mod 7 = 3;
/// - one still object under a moving camera: (colour + 2·shape + 3·camera) mod 7 = 5;
/// - two objects: (colourA + 3·shapeA + 5·relation + 2·colourB + shapeB) mod 7 = 3.
/// Every single colour, shape, motion, camera motion and relation still appears in training.
public enum WorldSplit {
    static func idx<T: CaseIterable & Equatable>(_ v: T) -> Int { Array(T.allCases).firstIndex(of: v)! }

    public static func isHeldOut(_ s: SceneSpec) -> Bool {
        if s.objects.count == 2, let r = s.relation {
            let a = s.objects[0], b = s.objects[1]
            return (idx(a.color) + 3 * idx(a.shape) + 5 * idx(r) + 2 * idx(b.color) + idx(b.shape)) % 7 == 3
        }
        let o = s.objects[0]
        if s.camera != .still { return (idx(o.color) + 2 * idx(o.shape) + 3 * idx(s.camera)) % 7 == 5 }
        return (idx(o.color) + 2 * idx(o.shape) + 3 * idx(o.motion)) % 7 == 3
    }

    static func pick<T: CaseIterable>(_ rng: inout RNG, _: T.Type) -> T {
        let all = Array(T.allCases)
        return all[rng.int(0, all.count)]
    }

    /// A random scene of one of the three kinds (45% moving object, 25% camera motion, 30% two
    /// objects), from the training side of the split.
    public static func sampleTrainingScene(_ rng: inout RNG) -> SceneSpec {
        while true {
            let kind = rng.uniform()
            var s: SceneSpec
            if kind < 0.45 {
                s = SceneSpec(objects: [SceneObject(pick(&rng, WorldColor.self), pick(&rng, WorldShape.self), pick(&rng, ObjectMotion.self))],
                              background: pick(&rng, Background.self))
            } else if kind < 0.70 {
                let cams = CameraMotion.allCases.filter { $0 != .still }
                s = SceneSpec(objects: [SceneObject(pick(&rng, WorldColor.self), pick(&rng, WorldShape.self))],
                              camera: cams[rng.int(0, cams.count)], background: rng.uniform() < 0.7 ? .textured : .gradient)
            } else {
                let a = SceneObject(pick(&rng, WorldColor.self), pick(&rng, WorldShape.self))
                var b = SceneObject(pick(&rng, WorldColor.self), pick(&rng, WorldShape.self))
                while b.shape == a.shape { b.shape = pick(&rng, WorldShape.self) }
                s = SceneSpec(objects: [a, b], relation: pick(&rng, Relation.self), background: pick(&rng, Background.self))
            }
            if !isHeldOut(s) { return s }
        }
    }

    /// A training scene of the given world. The coarse world's is `sampleTrainingScene(_:)` exactly (no
    /// fill words); the fine world's draws the same scene and then names a fill for each object with
    /// probability 0.3 (otherwise the world picks the fill).
    public static func sampleTrainingScene(_ rng: inout RNG, detail: WorldDetail) -> SceneSpec {
        var s = sampleTrainingScene(&rng)
        if detail == .fine {
            for i in s.objects.indices where rng.uniform() < 0.3 { s.objects[i].fill = pick(&rng, ObjectFill.self) }
        }
        return s
    }

    /// VBench-style entry for a scene: the dimensions it can be judged on and their aux info. A suite
    /// of the fine world states it in its world facts (`detail`); a coarse suite leaves the field out.
    public static func entry(_ s: SceneSpec, detail: WorldDetail = .coarse) -> PromptEntry {
        let prompt = Grammar.prompt(s)
        let facts = WorldFacts(objects: s.objects.map { .init(color: $0.color.rawValue, shape: $0.shape.rawValue, motion: $0.motion.rawValue,
                                                              fill: $0.fill?.rawValue) },
                               relationship: s.relation?.rawValue, cameraMotion: s.camera.vbenchName,
                               background: s.background.rawValue, detail: detail == .coarse ? nil : detail)
        var aux = AuxiliaryInfo(world: facts)
        // Dynamic degree only where the prompt asks for motion (VBench scores each dimension on its own
        // prompt list; a still prompt must not be rewarded for motion nobody asked for).
        let moves = s.camera != .still || s.objects.contains { $0.motion != .still }
        var dims = ["subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness"]
            + (moves ? ["dynamic_degree"] : []) + ["aesthetic_quality", "imaging_quality", "overall_consistency"]
        if s.objects.count == 2, let r = s.relation {
            let a = s.objects[0], b = s.objects[1]
            aux.multipleObjects = ObjectInfo(object: "\(a.shape.rawValue) and \(b.shape.rawValue)")
            aux.spatialRelationship = SpatialInfo(.init(objectA: a.shape.rawValue, objectB: b.shape.rawValue, relationship: r.rawValue))
            dims += ["multiple_objects", "spatial_relationship"]
        } else {
            let o = s.objects[0]
            aux.color = ColorInfo(color: o.color.rawValue)
            aux.objectClass = ObjectInfo(object: o.shape.rawValue)
            aux.temporalStyle = TemporalStyleInfo(cameraMotion: s.camera.vbenchName, objectMotion: o.motion.rawValue)
            dims += ["color", "object_class", "temporal_style"]
        }
        return PromptEntry(promptEn: prompt, dimension: dims, auxiliaryInfo: aux)
    }

    /// Every held-out combination, in a fixed order.
    static func allHeldOut() -> (moving: [SceneSpec], camera: [SceneSpec], pairs: [SceneSpec]) {
        var moving: [SceneSpec] = [], camera: [SceneSpec] = [], pairs: [SceneSpec] = []
        for c in WorldColor.allCases { for sh in WorldShape.allCases {
            for m in ObjectMotion.allCases {
                let s = SceneSpec(objects: [SceneObject(c, sh, m)], background: .plain)
                if isHeldOut(s) { moving.append(s) }
            }
            for cam in CameraMotion.allCases where cam != .still {
                let s = SceneSpec(objects: [SceneObject(c, sh)], camera: cam, background: .textured)
                if isHeldOut(s) { camera.append(s) }
            }
        } }
        for ca in WorldColor.allCases { for sa in WorldShape.allCases { for r in Relation.allCases {
            for cb in WorldColor.allCases { for sb in WorldShape.allCases where sb != sa {
                let s = SceneSpec(objects: [SceneObject(ca, sa), SceneObject(cb, sb)], relation: r, background: .plain)
                if isHeldOut(s) { pairs.append(s) }
            } }
        } } }
        return (moving, camera, pairs)
    }

    /// `count` items spread evenly over a list; `halfway` takes the items midway between those, so
    /// the two selections are disjoint whenever the list has at least 2·count items.
    static func spread<T>(_ xs: [T], _ count: Int, halfway: Bool = false) -> [T] {
        let c = min(count, xs.count)
        return (0..<c).map { i in xs[halfway ? (2 * i + 1) * xs.count / (2 * c) : i * xs.count / c] }
    }

    /// The held-out suite: 12 moving-object, 6 camera and 8 two-object prompts, all unseen in training,
    /// backgrounds cycling plain / gradient / textured (textured under camera motion).
    public static func heldOutSuite() -> [PromptEntry] { heldOutScenes().map { entry($0) } }

    static func heldOutScenes() -> [SceneSpec] {
        let h = allHeldOut()
        let bgs = Background.allCases
        var scenes: [SceneSpec] = []
        for (i, var s) in spread(h.moving, 12).enumerated() { s.background = bgs[i % 3]; scenes.append(s) }
        scenes += spread(h.camera, 6)
        for (i, var s) in spread(h.pairs, 8).enumerated() { s.background = bgs[i % 3]; scenes.append(s) }
        return scenes
    }

    /// The fine world's held-out suite: the held-out suite's scenes (the same split rule), 8 of them
    /// naming a fill on their first object (`namingFills`), with `detail: fine` in the
    /// world facts so its reference clips are rendered in the fine world.
    public static func heldOutSuite(detail: WorldDetail) -> [PromptEntry] {
        guard detail == .fine else { return heldOutSuite() }
        return namingFills(heldOutScenes()).map { entry($0, detail: .fine) }
    }

    /// The fine world's quick suite: the quick suite's picks from the fine held-out suite (8 prompts,
    /// one of each kind, four naming a fill).
    public static func quickSuite(detail: WorldDetail) -> [PromptEntry] {
        guard detail == .fine else { return quickSuite() }
        let all = heldOutSuite(detail: .fine)
        return [0, 3, 6, 9, 12, 15, 18, 22].map { all[$0] }
    }

    /// Scenes with a fill named on the first object of the scenes at positions 3 and 4 of every six
    /// (8 of the held-out suite's 26: moving, camera and two-object scenes), striped, checked and solid in turn.
    static func namingFills(_ scenes: [SceneSpec]) -> [SceneSpec] {
        var named = 0
        return scenes.enumerated().map { i, s in
            var s = s
            if i % 6 == 3 || i % 6 == 4 {
                s.objects[0].fill = [ObjectFill.striped, .checked, .solid][named % 3]
                named += 1
            }
            return s
        }
    }

    /// The validation suite: as many held-out prompts of each kind as the held-out suite, taken midway
    /// between its picks, so no prompt is in both (backgrounds cycle from a different start). Choose
    /// hyperparameters and checkpoints on this suite and report on the held-out one, so the reported
    /// figures are not selected on the data that measures them.
    public static func validationSuite() -> [PromptEntry] { validationScenes().map { entry($0) } }

    static func validationScenes() -> [SceneSpec] {
        let h = allHeldOut()
        let bgs = Background.allCases
        var scenes: [SceneSpec] = []
        for (i, var s) in spread(h.moving, 12, halfway: true).enumerated() { s.background = bgs[(i + 1) % 3]; scenes.append(s) }
        scenes += spread(h.camera, 6, halfway: true)
        for (i, var s) in spread(h.pairs, 8, halfway: true).enumerated() { s.background = bgs[(i + 1) % 3]; scenes.append(s) }
        return scenes
    }

    /// The fine world's validation suite: the validation scenes, fills named as in `heldOutSuite(detail:)`.
    public static func validationSuite(detail: WorldDetail) -> [PromptEntry] {
        guard detail == .fine else { return validationSuite() }
        return namingFills(validationScenes()).map { entry($0, detail: .fine) }
    }

    /// A small fixed suite (8 prompts, one of each kind) for quick checks and the demo.
    public static func quickSuite() -> [PromptEntry] {
        let all = heldOutSuite()
        return [0, 3, 6, 9, 12, 15, 18, 22].map { all[$0] }
    }
}

/// Training clips for the pretrainer: a random training scene, rendered, with its prompt.
public struct WorldClipSource: Sendable {
    public let renderer: WorldRenderer
    public init(renderer: WorldRenderer) { self.renderer = renderer }

    public func sample(_ rng: inout RNG) -> (pixels: [Float], prompt: String) {
        let s = WorldSplit.sampleTrainingScene(&rng, detail: renderer.detail)
        let seed = rng.next()
        return (renderer.renderFloats(s, seed: seed), Grammar.prompt(s))
    }

    /// A training prompt alone (TDM is data-free: it needs prompts, not clips).
    public func samplePrompt(_ rng: inout RNG) -> String { Grammar.prompt(WorldSplit.sampleTrainingScene(&rng, detail: renderer.detail)) }
}
