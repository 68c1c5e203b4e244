import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import VBenchLite

/// VBench's protocol where VBenchLite 1 left it, dynamic degree that reads motion and not brightness,
/// and imaging quality that keeps falling with blur (issue 18).
@Suite("Protocol, dynamic degree and imaging fixes") struct ProtocolFixTests {
    static func stillScene(_ kind: String) -> Scene {
        var s = Scene()
        s.width = 32; s.height = 32
        s.backgroundKind = kind
        s.backgroundColor = kind == "plain" ? "grey" : "blue"
        s.objects = [SceneObject(color: "red", shape: "circle", x: 16, y: 16, size: 11)]
        return s
    }

    static func mp4RoundTrip(_ v: RGBVideo) throws -> RGBVideo {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dd-\(UUID().uuidString).mp4")
        defer { try? FileManager.default.removeItem(at: url) }
        try VideoWriter().write(v, to: url)
        return try VideoReader.read(url)
    }

    /// Calibration at 32×32: shimmer, flicker, noise and a codec round trip on still scenes read static;
    /// an object moving 0.5 px per frame or more reads dynamic.
    @Test func dynamicDegreeReadsMotionNotBrightness() throws {
        var staticScores: [String: Double] = [:], dynamicScores: [String: Double] = [:]
        for kind in ["plain", "gradient", "texture"] {
            let clean = Self.stillScene(kind).render()
            let cases: [(String, RGBVideo)] = [
                ("clean", clean),
                ("shimmer 0.8", Disturb.shimmer(clean, amplitude: 0.8)),
                ("shimmer 2", Disturb.shimmer(clean, amplitude: 2)),
                ("block flicker 1.5 (8x8, every frame)", Disturb.shimmer(clean, amplitude: 1.5, block: 8, period: 1)),
                ("noise 3 through H.264", try Self.mp4RoundTrip(Degrade.noise(clean, sigma: 3))),
                ("global flicker 4", Disturb.globalFlicker(clean, amplitude: 4)),
                ("noise 3", Degrade.noise(clean, sigma: 3)),
                ("noise 10", Degrade.noise(clean, sigma: 10)),
            ]
            for (name, v) in cases {
                let s = try #require(DynamicDegree.maxPairScore(v))
                staticScores["\(kind) \(name)"] = s
                #expect(DynamicDegree.isDynamic(v) == false, "\(kind) \(name): read as dynamic (max pair score \(s))")
            }
            for speed in [0.5, 0.75, 1.5] {
                var m = Self.stillScene(kind)
                m.objects[0].x = 10
                m.objects[0].vx = speed
                let v = m.render()
                let s = try #require(DynamicDegree.maxPairScore(v))
                dynamicScores["\(kind) \(speed) px/frame"] = s
                #expect(DynamicDegree.isDynamic(v) == true, "\(kind) \(speed) px/frame: read as static (max pair score \(s))")
            }
        }
        print("dynamic degree calibration (threshold \(DynamicDegree.thresholdScale * 32 / 256) px): static max \(staticScores.values.max() ?? .nan), dynamic min \(dynamicScores.values.min() ?? .nan)")
        for (k, v) in staticScores.sorted(by: { $0.key < $1.key }) { print(String(format: "  static  %-48@ %.3f", k, v)) }
        for (k, v) in dynamicScores.sorted(by: { $0.key < $1.key }) { print(String(format: "  dynamic %-48@ %.3f", k, v)) }
    }

    /// Shimmer on still ground truth: still prompts do not list dynamic degree, so it is not scored
    /// there, the clip reads static anyway, and the Total does not rise.
    @Test func shimmerOnStillTruthDoesNotRaiseTotal() throws {
        for kind in ["plain", "gradient", "texture"] {
            let scene = Self.stillScene(kind)
            let clean = scene.render(), shimmer = Disturb.shimmer(clean, amplitude: 0.8)
            var entry = scene.prompt()
            entry.dimension = ["subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness",
                               "aesthetic_quality", "imaging_quality", "overall_consistency", "color", "object_class", "temporal_style"]
            let a = VBenchLite().evaluate(videos: [(name: "clean", video: clean, prompt: entry)])
            let b = VBenchLite().evaluate(videos: [(name: "shimmer", video: shimmer, prompt: entry)])
            #expect(b[.dynamicDegree]?.score == nil, "dynamic degree scored on a still prompt")
            #expect(DynamicDegree.isDynamic(shimmer) == false)
            let ta = try #require(a.totalScore), tb = try #require(b.totalScore)
            #expect(tb <= ta + 1e-9, "\(kind): shimmer raised Total \(ta * 100) -> \(tb * 100)")
            // Without the dimension list (every dimension scored), shimmer still does not pay.
            let c = VBenchLite().evaluate(videos: [(name: "clean", video: clean, prompt: nil)])
            let d = VBenchLite().evaluate(videos: [(name: "shimmer", video: shimmer, prompt: nil)])
            #expect(try #require(d.totalScore) <= (try #require(c.totalScore)) + 1e-9, "\(kind): shimmer raised Total without a prompt")
        }
    }

    @Test func imagingQualityFallsStrictlyWithBlur() throws {
        for kind in ["plain", "gradient", "texture"] {
            var s = Self.stillScene(kind)
            s.objects[0].vx = 0.77
            let clean = s.render()
            var last = Double.infinity
            var seen: [Double] = []
            for sigma in [0.0, 0.5, 1, 1.5, 2, 3] {
                let v = sigma == 0 ? clean : Degrade.blur(clean, sigma: sigma)
                let r = VBenchLite(dimensions: [.imagingQuality], parallel: false).evaluate(videos: [(name: "v", video: v, prompt: nil)])
                let q = try #require(r[.imagingQuality]?.score)
                seen.append(q)
                #expect(q < last, "\(kind): imaging quality did not fall at sigma \(sigma): \(seen)")
                last = q
            }
            print("imaging quality, \(kind), blur 0/0.5/1/1.5/2/3: \(seen.map { String(format: "%.4f", $0) })")
        }
    }

    /// VBench's `cal_final_score.py`: a missing dimension counts raw 0; the scorable-only figure is kept.
    @Test func missingDimensionsCountZeroInTotal() throws {
        let raw: [String: Double] = ["temporal_flickering": 0.99, "motion_smoothness": 0.98, "color": 0.9]
        let v = VBenchLite.aggregateVBench(raw: raw)
        var q = 0.0, s = 0.0
        for d in VBenchDimension.allCases {
            let n = d.normalized(raw[d.rawValue] ?? 0)
            if d.group == .quality { q += n } else { s += n }
        }
        #expect(abs(v.quality - q / 6.5) < 1e-12 && abs(v.semantic - s / 9) < 1e-12)
        #expect(abs(v.total - (4 * q / 6.5 + s / 9) / 5) < 1e-12)
        let scorable = VBenchLite.aggregate(raw: raw)
        #expect(try #require(scorable.total) > v.total)
        // The worked example has every dimension: both agree.
        let all = AggregationTests.workedRaw
        #expect(abs(VBenchLite.aggregateVBench(raw: all).total - (VBenchLite.aggregate(raw: all).total ?? 0)) < 1e-12)
        // A report carries both, named.
        let clip = Self.stillScene("plain").render()
        let r = VBenchLite().evaluate(videos: [(name: "a", video: clip, prompt: nil)])
        #expect(r.totalScore != nil && r.totalScoreScorable != nil && r.totalScore! < r.totalScoreScorable!)
        let json = String(decoding: try r.jsonData(), as: UTF8.self)
        #expect(json.contains("\"total_score_scorable\""))
    }

    /// A dimension is scored only on prompts whose `dimension` list names it.
    @Test func dimensionsFollowThePromptsList() throws {
        var s = Self.stillScene("texture")
        s.objects[0].vx = 1
        s.objects[0].motion = "moving right"
        let clip = s.render()
        var entry = s.prompt()
        entry.dimension = ["temporal_flickering", "color"]
        let r = VBenchLite().evaluate(videos: [(name: "a", video: clip, prompt: entry)])
        #expect(r.dimsUsed.sorted() == ["color", "temporal_flickering"], "\(r.dimsUsed)")
        entry.dimension = ["dynamic_degree", "color"]
        let r2 = VBenchLite().evaluate(videos: [(name: "a", video: clip, prompt: entry)])
        #expect(r2[.dynamicDegree]?.score == 1)
    }

    /// A wrong shape in the right colour fails the colour check and temporal style.
    @Test func wrongShapeInTheRightColourFails() throws {
        var right = Scene()
        right.backgroundKind = "plain"; right.backgroundColor = "grey"
        right.objects = [SceneObject(color: "red", shape: "circle", x: 20, y: 32, size: 18, vx: 1.5, vy: 0, motion: "moving right")]
        let entry = right.prompt()
        var wrong = right
        wrong.objects[0].shape = "square"
        let r = VBenchLite().evaluate(videos: [(name: "right", video: right.render(), prompt: entry),
                                               (name: "wrong", video: wrong.render(), prompt: entry)])
        func v(_ d: VBenchDimension, _ n: String) -> Double? { r[d]?.videos.first { $0.videoPath == n }?.videoResults?.doubleValue }
        #expect(v(.color, "right") == 1)
        #expect(v(.color, "wrong") == nil, "the colour check followed a square for a circle")
        #expect(v(.temporalStyle, "right").map { $0 > 0.3 } == true)
        let ts = r[.temporalStyle]?.videos.first { $0.videoPath == "wrong" }
        #expect(ts?.detail?["passed"] ?? 0 < (ts?.detail?["checks"] ?? 0) || ts?.videoResults == nil,
                "temporal style followed the square by colour: \(ts?.note ?? "")")
    }
}
