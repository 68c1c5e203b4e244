import Foundation
import Testing
import VBenchLite
import VideoCommon
@testable import ShapeWorld
@testable import TensorCore

@Suite("Shape world") struct WorldTests {
    let r = WorldRenderer()

    /// Centroid of the pixels close to an object colour, per frame.
    func centroids(_ px: [Float], _ c: WorldColor) -> [(Float, Float, Int)] {
        let (cr, cg, cb) = c.rgb
        return (0..<r.frames).map { f in
            var sx: Float = 0, sy: Float = 0, n = 0
            for y in 0..<r.height { for x in 0..<r.width {
                let i = ((f * r.height + y) * r.width + x) * 3
                if abs(px[i] - cr) + abs(px[i + 1] - cg) + abs(px[i + 2] - cb) < 0.15 { sx += Float(x); sy += Float(y); n += 1 }
            } }
            return (n > 0 ? sx / Float(n) : -1, n > 0 ? sy / Float(n) : -1, n)
        }
    }

    @Test func deterministicAndSeedDependent() {
        let s = try! Grammar.parse("a red circle moving left, textured background")
        #expect(r.renderFloats(s, seed: 3) == r.renderFloats(s, seed: 3))
        #expect(r.renderFloats(s, seed: 3) != r.renderFloats(s, seed: 4))
    }

    @Test(arguments: ObjectMotion.allCases) func objectMotionIsVisible(m: ObjectMotion) throws {
        let s = SceneSpec(objects: [SceneObject(.blue, .square, m)], background: .plain)
        let c = centroids(r.renderFloats(s, seed: 11), .blue)
        let first = c.first!, last = c.last!
        #expect(first.2 > 20 && last.2 > 10, "object visible in the first and last frames")
        let dx = last.0 - first.0, dy = last.1 - first.1, grow = Float(last.2) / Float(first.2)
        switch m {
        case .left: #expect(dx < -8)
        case .right: #expect(dx > 8)
        case .up: #expect(dy < -8)
        case .down: #expect(dy > 8)
        case .growing: #expect(grow > 2)
        case .shrinking: #expect(grow < 0.5)
        case .still: #expect(abs(dx) < 0.5 && abs(dy) < 0.5 && abs(grow - 1) < 0.05)
        }
    }

    /// Camera conventions: pan left slides the scene right, tilt up slides it down, zoom in enlarges it.
    @Test(arguments: CameraMotion.allCases.filter { $0 != .still }) func cameraMotionIsVisible(cam: CameraMotion) {
        let s = SceneSpec(objects: [SceneObject(.yellow, .circle)], camera: cam, background: .textured)
        let c = centroids(r.renderFloats(s, seed: 5), .yellow)
        let dx = c.last!.0 - c.first!.0, dy = c.last!.1 - c.first!.1, grow = Float(c.last!.2) / Float(c.first!.2)
        switch cam {
        case .panLeft: #expect(dx > 8)
        case .panRight: #expect(dx < -8)
        case .tiltUp: #expect(dy > 8)
        case .tiltDown: #expect(dy < -8)
        case .zoomIn: #expect(grow > 1.8)
        case .zoomOut: #expect(grow < 0.55)
        case .still: break
        }
    }

    @Test(arguments: Relation.allCases) func relationsPlaceObjects(rel: Relation) {
        let s = SceneSpec(objects: [SceneObject(.red, .triangle), SceneObject(.green, .diamond)], relation: rel)
        let px = r.renderFloats(s, seed: 2)
        let a = centroids(px, .red)[0], b = centroids(px, .green)[0]
        #expect(a.2 > 10 && b.2 > 10)
        switch rel {
        case .leftOf: #expect(a.0 < b.0 - 8)
        case .rightOf: #expect(a.0 > b.0 + 8)
        case .above: #expect(a.1 < b.1 - 8)
        case .below: #expect(a.1 > b.1 + 8)
        }
    }

    @Test func everyColourAndShapeIsDistinctAndAntiAliased() {
        for c in WorldColor.allCases { for sh in WorldShape.allCases {
            let px = r.renderFloats(SceneSpec(objects: [SceneObject(c, sh)]), seed: 9)
            #expect(centroids(px, c)[0].2 > 25, "\(c) \(sh) drawn")
        } }
        // Edge pixels take intermediate values between object and background.
        let px = r.renderFloats(SceneSpec(objects: [SceneObject(.white, .circle)]), seed: 1)
        let frame0 = px[0..<(r.width * r.height * 3)]
        let lum = stride(from: 0, to: frame0.count, by: 3).map { frame0[$0] }
        let bg = lum[0]
        #expect(lum.contains { $0 > bg + 0.1 && $0 < 0.9 })
        // Shapes differ in how much of their box they fill (what a detector keys on).
        func fill(_ sh: WorldShape) -> Int { centroids(r.renderFloats(SceneSpec(objects: [SceneObject(.red, sh)]), seed: 1), .red)[0].2 }
        #expect(fill(.square) > fill(.circle) && fill(.circle) > fill(.triangle) && fill(.circle) > fill(.diamond))
    }

    @Test func grammarRoundTripsAndRefusesOutsidePrompts() throws {
        var rng = RNG(seed: 1)
        for _ in 0..<500 {
            let s = WorldSplit.sampleTrainingScene(&rng)
            #expect(try Grammar.parse(Grammar.prompt(s)) == s)
        }
        #expect(try Grammar.parse("A Red Circle Moving Left.") == SceneSpec(objects: [SceneObject(.red, .circle, .left)]))
        for bad in ["", "a crimson circle", "a red hexagon", "a red circle dancing", "two red circles",
                    "a red circle, camera spinning", "a red circle on the left of a red circle"] {
            do {
                _ = try Grammar.parse(bad)
                Issue.record("\"\(bad)\" should be refused")
            } catch let e as Grammar.ParseError {
                #expect(e.description.contains("colours:") && e.description.contains("shapes:"))
            }
        }
    }

    @Test func splitIsFixedAndDisjoint() {
        var rng = RNG(seed: 2)
        var seen = Set<String>()
        for _ in 0..<3000 {
            let s = WorldSplit.sampleTrainingScene(&rng)
            #expect(!WorldSplit.isHeldOut(s))
            seen.insert(Grammar.prompt(s))
            for o in s.objects { seen.insert(o.color.rawValue); seen.insert(o.shape.rawValue); seen.insert(o.motion.rawValue) }
            seen.insert(s.camera.rawValue)
            if let r = s.relation { seen.insert(r.rawValue) }
        }
        // Every single attribute value appears in training.
        for v in WorldColor.allCases.map(\.rawValue) + WorldShape.allCases.map(\.rawValue) + ObjectMotion.allCases.map(\.rawValue)
            + CameraMotion.allCases.map(\.rawValue) + Relation.allCases.map(\.rawValue) { #expect(seen.contains(v), "\(v)") }
        // Both 26-prompt suites: all held out, never a training prompt, no repeats.
        let suite = WorldSplit.heldOutSuite(), val = WorldSplit.validationSuite()
        for entries in [suite, val] {
            #expect(entries.count == 26)
            for e in entries {
                #expect(WorldSplit.isHeldOut(try! Grammar.parse(e.promptEn)), "\(e.promptEn)")
                #expect(!seen.contains(e.promptEn))
            }
            #expect(Set(entries.map(\.promptEn)).count == entries.count)
        }
        #expect(WorldSplit.quickSuite().count == 8)
        // The validation suite has the same mix of kinds and shares no prompt with the held-out suite.
        #expect(Set(val.map(\.promptEn)).isDisjoint(with: suite.map(\.promptEn)))
        let kinds = { (es: [PromptEntry]) in es.map { e -> String in
            let s = try! Grammar.parse(e.promptEn)
            return s.objects.count == 2 ? "pair" : s.camera != .still ? "camera" : "moving"
        }.sorted() }
        #expect(kinds(val) == kinds(suite))
    }

    /// The committed suite files are exactly what the code produces.
    @Test func committedSuitesMatch() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for (name, entries) in [("heldout", WorldSplit.heldOutSuite()), ("quick", WorldSplit.quickSuite()),
                                 ("validation", WorldSplit.validationSuite())] {
            let url = root.appendingPathComponent("configs/suites/\(name)_full_info.json")
            #expect(try PromptSuite.load(url) == entries, "regenerate with: tdm-video world suite --which \(name) --out \(url.path)")
        }
    }
}

@Suite("Dynamic degree on still prompts") struct StillPromptNoteTests {
    /// With the world's facts, the dynamic-degree dimension says how many clips of prompts that ask for no
    /// motion read as dynamic: none of the world's own still clip, one when a moving clip stands in for it.
    @Test func dynamicClipsOfStillPromptsAreCounted() throws {
        let world = WorldRenderer()
        let stillPrompt = "a blue square, plain background"
        var entry = WorldSplit.entry(try Grammar.parse(stillPrompt))
        // The world's suites leave dynamic degree out of still prompts (VBench scores each dimension on
        // its own prompt list), so a still clip is never rewarded for motion.
        #expect(!entry.dimension.contains("dynamic_degree"))
        #expect(WorldSplit.entry(try Grammar.parse("a blue square moving left, plain background")).dimension.contains("dynamic_degree"))
        #expect(VBenchLite().evaluate(videos: [("s-0.mp4", try world.render(prompt: stillPrompt, seed: 0), entry)])
            .dimensions.first { $0.dimension == .dynamicDegree }?.score == nil)
        // A suite that does list it (VBenchLite 1's) still gets the count of still clips read as dynamic.
        entry.dimension.append("dynamic_degree")
        let still = try world.render(prompt: stillPrompt, seed: 0)
        let moving = try world.render(prompt: "a blue square moving left, plain background", seed: 0)
        let honest = VBenchLite().evaluate(videos: [("s-0.mp4", still, entry)])
        let dyn = try #require(honest.dimensions.first { $0.dimension == .dynamicDegree })
        #expect(dyn.note == "clips of still prompts read as dynamic: 0 of 1")
        let mixed = VBenchLite().evaluate(videos: [("s-0.mp4", still, entry), ("s-1.mp4", moving, entry)])
        let dyn2 = try #require(mixed.dimensions.first { $0.dimension == .dynamicDegree })
        #expect(dyn2.note == "clips of still prompts read as dynamic: 1 of 2")
        #expect(mixed.table().contains("clips of still prompts read as dynamic: 1 of 2"))
        // Without the world's facts there is nothing to count.
        let plain = VBenchLite().evaluate(videos: [("s-0.mp4", moving, nil)])
        #expect(plain.dimensions.first { $0.dimension == .dynamicDegree }?.note == nil)
    }
}
