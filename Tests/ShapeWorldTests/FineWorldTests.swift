import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import ShapeWorld
@testable import TensorCore
@testable import VBenchLite

/// FNV-1a over bytes: a checksum of rendered clips.
private func fnv(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

@Suite("The world with fine detail") struct FineWorldTests {
    /// The coarse world renders exactly what it rendered before `WorldDetail` existed: checksums of 8-bit
    /// clips recorded from the world's code at 06510f9 (before the fine world), and of 20 training
    /// clips and prompts of the sampler.
    @Test func coarseIsUnchanged() throws {
        let recorded: [(String, UInt64, UInt64)] = [
            ("a red circle moving left, textured background", 0, 0x26a33328b0d3586f),
            ("a red circle moving left, textured background", 7, 0x96d05f4e5f3eb83a),
            ("a red circle moving left, textured background", 1000003, 0xa9c75a410abe581f),
            ("a blue square, camera zooming in, gradient background", 0, 0x4740e0b1374aaf86),
            ("a blue square, camera zooming in, gradient background", 7, 0x9d7c7c52ed7ac889),
            ("a pink triangle on the left of a green diamond, plain background", 0, 0xf99ad1302423acc5),
            ("a pink triangle on the left of a green diamond, plain background", 1000003, 0xe08a54a55017af25),
            ("a white diamond growing, textured background", 7, 0xb623c8167972df86),
            ("an orange circle, camera panning right, textured background", 0, 0xb6ee628c56ebb55f),
            ("an orange circle, camera panning right, textured background", 1000003, 0xcddf44f46d9adf77),
        ]
        let r = WorldRenderer()
        #expect(r.detail == .coarse)
        for (p, seed, sum) in recorded {
            #expect(fnv(try r.render(prompt: p, seed: seed).pixels) == sum, "\(p) seed \(seed)")
        }
        var rng = RNG(seed: 5)
        var bytes: [UInt8] = []
        let source = WorldClipSource(renderer: WorldRenderer(width: 16, height: 16, frames: 4))
        for _ in 0..<20 {
            let (px, prompt) = source.sample(&rng)
            bytes += RGBVideo(floats: px, width: 16, height: 16, fps: 8).pixels + Array(prompt.utf8)
        }
        #expect(fnv(bytes) == 0x9eb350765560c34b)
    }

    /// The fine world is a function of the seed, and seeds differ in fill and texture, not only layout.
    @Test func fineIsDeterministicAndVaries() throws {
        let r = WorldRenderer(detail: .fine)
        let s = try Grammar.parse("a red square, plain background")
        #expect(r.renderFloats(s, seed: 3) == r.renderFloats(s, seed: 3))
        #expect(r.renderFloats(s, seed: 3) != r.renderFloats(s, seed: 4))
        #expect(r.renderFloats(s, seed: 3) != WorldRenderer().renderFloats(s, seed: 3))
        let details = (0..<30).map { FineDetail(s, seed: UInt64($0), detail: .fine) }
        #expect(Set(details.map { $0.fills[0].kind }) == Set(ObjectFill.allCases), "an unnamed fill is any of the three")
        #expect(Set(details.map { $0.waves[0].kx }).count == 30, "the texture differs across seeds")
        #expect(Set(details.map { $0.specks.count }).count >= 3, "0-4 specks")
        // A named fill is drawn as named, in both worlds; the coarse world never draws an unnamed one.
        let named = try Grammar.parse("a checked red square, plain background")
        #expect((0..<10).allSatisfy { FineDetail(named, seed: UInt64($0), detail: .fine).fills[0].kind == .checked })
        #expect((0..<10).allSatisfy { FineDetail(named, seed: UInt64($0), detail: .coarse).fills[0].kind == .checked })
        #expect((0..<10).allSatisfy { FineDetail(s, seed: UInt64($0), detail: .coarse).fills[0].kind == .solid })
        #expect(WorldRenderer().renderFloats(named, seed: 1) != WorldRenderer().renderFloats(s, seed: 1))
    }

    /// Pixel (x, y) of frame 0 against pixel (x + shift, y) of frame 1, where `keep` holds for both.
    func shiftedDifference(_ px: [Float], size: Int, shift: Int, keep: (Float, Float, Float) -> Bool) -> (maxDiff: Float, count: Int, spread: Float) {
        let plane = size * size * 3
        var maxDiff: Float = 0, count = 0
        var values: [Float] = []
        for y in 0..<size {
            for x in 0..<(size - shift) {
                let a = (y * size + x) * 3, b = plane + (y * size + x + shift) * 3
                guard keep(px[a], px[a + 1], px[a + 2]), keep(px[b], px[b + 1], px[b + 2]) else { continue }
                for c in 0..<3 { maxDiff = max(maxDiff, abs(px[a + c] - px[b + c])) }
                values.append(px[a])
                count += 1
            }
        }
        let mean = values.reduce(0, +) / Float(max(1, values.count))
        let spread = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(max(1, values.count))).squareRoot()
        return (maxDiff, count, spread)
    }

    /// A fill moves with its object: the object's interior one frame later is its interior shifted by
    /// the object's displacement (50-pixel frames, 4 frames: 0.12 x 50 = 6 pixels per frame).
    @Test func fillMovesWithItsObject() throws {
        let r = WorldRenderer(width: 50, height: 50, frames: 4, detail: .fine)
        let px = r.renderFloats(try Grammar.parse("a striped red square moving right, plain background"), seed: 2)
        // Red interior (not the anti-aliased edge): red high, green and blue low.
        let d = shiftedDifference(px, size: 50, shift: 6) { r, g, b in r > 0.6 && g < 0.2 && b < 0.2 }
        #expect(d.count > 40)
        #expect(d.spread > 0.03, "the stripes are there")
        #expect(d.maxDiff < 1e-3, "the stripes move with the square (max difference \(d.maxDiff))")
    }

    /// The background texture and specks are fixed in the world: under a pan they slide with the scene
    /// (panning left slides it right by 6 pixels per frame here).
    @Test func textureMovesWithTheCamera() throws {
        let r = WorldRenderer(width: 50, height: 50, frames: 4, detail: .fine)
        let px = r.renderFloats(try Grammar.parse("a red circle, camera panning left, plain background"), seed: 4)
        // Background: grey-ish pixels (the circle is saturated red).
        let d = shiftedDifference(px, size: 50, shift: 6) { r, g, b in abs(r - g) < 0.12 && abs(g - b) < 0.12 }
        #expect(d.count > 500)
        #expect(d.spread > 0.005, "the fine texture is there")
        #expect(d.maxDiff < 1e-3, "the texture moves with the camera (max difference \(d.maxDiff))")
    }

    /// Fill words: parsed before the colour, written back the same; prompts without one read as before.
    @Test func grammarRoundTripWithFillWords() throws {
        let s = try Grammar.parse("a striped red circle moving left, plain background")
        #expect(s.objects[0].fill == .striped && s.objects[0].color == .red && s.objects[0].motion == .left)
        #expect(Grammar.prompt(s) == "a striped red circle moving left, plain background")
        let pair = try Grammar.parse("a checked orange square on the left of a solid blue circle, gradient background")
        #expect(pair.objects.map(\.fill) == [.checked, .solid])
        #expect(Grammar.prompt(pair) == "a checked orange square on the left of a solid blue circle, gradient background")
        #expect(Grammar.prompt(try Grammar.parse("an orange square, plain background")) == "an orange square, plain background")
        #expect(try Grammar.parse("a red circle, plain background").objects[0].fill == nil)
        #expect(throws: Grammar.ParseError.self) { try Grammar.parse("a dotted red circle, plain background") }
        #expect(throws: Grammar.ParseError.self) { try Grammar.parse("a red striped circle, plain background") }
        #expect(Grammar.help.contains("striped"))
        var rng = RNG(seed: 9)
        var fills = 0
        for _ in 0..<200 {
            let scene = WorldSplit.sampleTrainingScene(&rng, detail: .fine)
            #expect(try Grammar.parse(Grammar.prompt(scene)) == scene)
            fills += scene.objects.filter { $0.fill != nil }.count
        }
        #expect(fills > 20, "the fine world's sampler names fills")
    }

    /// The fine suites state their world and name fills; the committed files are what the code writes.
    @Test func fineSuites() throws {
        let fine = WorldSplit.heldOutSuite(detail: .fine)
        #expect(PromptSuite.detail(fine) == .fine && PromptSuite.detail(WorldSplit.heldOutSuite()) == .coarse)
        #expect(fine.count == 26 && fine.filter { $0.auxiliaryInfo?.world?.objects[0].fill != nil }.count == 8)
        #expect(fine.allSatisfy { WorldSplit.isHeldOut(try! Grammar.parse($0.promptEn)) })
        #expect(WorldSplit.quickSuite(detail: .fine).filter { $0.auxiliaryInfo?.world?.objects[0].fill != nil }.count == 4)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for (name, entries) in [("heldout", fine), ("quick", WorldSplit.quickSuite(detail: .fine))] {
            let url = root.appendingPathComponent("configs/suites/\(name)_fine_info.json")
            #expect(try PromptSuite.load(url) == entries,
                    "regenerate with: tdm-video world suite --which \(name) --detail fine --out \(url.path)")
        }
    }

    /// A clip as delivered: through an MP4 and back, as `score` reads clips.
    func delivered(_ v: RGBVideo) throws -> RGBVideo {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fine-\(UUID().uuidString).mp4")
        defer { try? FileManager.default.removeItem(at: url) }
        try VideoWriter().write(v, to: url)
        return try VideoReader.read(url)
    }

    /// The fill check passes the world's own clips (through the MP4 codec) and fails a wrong fill.
    @Test(arguments: [ObjectFill.striped, .checked, .solid]) func fillCheck(fill: ObjectFill) throws {
        let r = WorldRenderer(detail: .fine)
        for (i, p) in ["a \(fill.rawValue) red square, plain background", "a \(fill.rawValue) blue circle moving left, gradient background",
                       "a \(fill.rawValue) green diamond, camera panning right, textured background"].enumerated() {
            let spec = try Grammar.parse(p)
            let clip = try delivered(r.render(spec, seed: UInt64(10 + i)))
            let a = ClipAnalysis(video: clip)
            let o = spec.objects[0]
            for other in ObjectFill.allCases {
                let holds = FillCheck.holds(a, shape: o.shape.rawValue, color: o.color.rawValue, fill: other)
                #expect(holds == (other == fill), "\(p): \(other) \(FillCheck.fills(a, shape: o.shape.rawValue, color: o.color.rawValue))")
            }
            // Through overall consistency: the world's clip holds every fact.
            let report = VBenchLite().evaluate(videos: [("c-0.mp4", clip, WorldSplit.entry(spec, detail: .fine))])
            let overall = try #require(report.dimensions.first { $0.dimension == .overallConsistency }?.videos.first)
            #expect(overall.note == nil, "\(p): \(overall.note ?? "")")
        }
    }
}
