import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import VBenchLite

@Suite("Quality dimensions on synthetic clips") struct QualityDimensionTests {
    static func movingScene() -> Scene {
        var s = Scene()
        s.backgroundKind = "gradient"
        s.backgroundColor = "blue"
        s.objects = [SceneObject(color: "yellow", shape: "circle", x: 20, y: 30, size: 16, vx: 1.5, vy: 0.4, motion: "moving right")]
        return s
    }

    static func score(_ videos: [(String, RGBVideo)]) -> ScoreReport {
        VBenchLite().evaluate(videos: videos.map { (name: $0.0, video: $0.1, prompt: nil) })
    }

    static func value(_ r: ScoreReport, _ d: VBenchDimension, _ name: String) -> Double {
        r[d]?.videos.first { $0.videoPath == name }?.videoResults?.doubleValue ?? .nan
    }

    @Test func cleanClipsAreSane() throws {
        let v = Self.movingScene().render()
        let r = Self.score([("clean", v)])
        let raw = r.rawScores
        #expect(try #require(raw["temporal_flickering"]) > 0.98)
        #expect(try #require(raw["motion_smoothness"]) > 0.995)
        #expect(try #require(raw["subject_consistency"]) > 0.95)
        #expect(try #require(raw["background_consistency"]) > 0.95)
        let aes = try #require(raw["aesthetic_quality"]), img = try #require(raw["imaging_quality"])
        #expect(aes > 0.45 && aes < 0.75, "aesthetic \(aes)")
        #expect(img > 0.6 && img <= 0.72, "imaging \(img)")
        // VBench's per-video imaging values stay on MUSIQ's 0-100 scale.
        #expect(abs(Self.value(r, .imagingQuality, "clean") - img * 100) < 1e-9)
        #expect(r.dimsUsed.count == 7)
        #expect(r.totalScoreScorable == r.qualityScoreScorable)
        // VBench's Total counts the missing semantic dimensions as 0.
        #expect(abs((r.totalScore ?? 0) - 0.8 * (r.qualityScore ?? 0) - 0.2 * (r.semanticScore ?? 0)) < 1e-12)
    }

    @Test func motionCompensationBeatsBlending() throws {
        var pan = Scene()
        pan.backgroundKind = "texture"
        pan.backgroundColor = "green"
        pan.cameraDX = -1.5
        pan.objects = [SceneObject(color: "red", shape: "square", x: 30, y: 30, size: 14, vx: 1, vy: 0)]
        for v in [Self.movingScene().render(), pan.render()] {
            let mc = try #require(MotionSmoothness.score(v)), blend = try #require(MotionSmoothness.blendScore(v))
            #expect(mc > blend + 0.002, "motion-compensated \(mc) vs blend \(blend)")
            #expect(mc > 0.99)
        }
    }

    @Test func flowRecoversKnownTranslation() {
        var s = Scene()
        s.backgroundKind = "texture"
        s.cameraDX = -2
        s.cameraDY = 1
        s.frames = 2
        let v = s.render()
        let f = MotionSearch(radius: 8, mode: .forward, windowRadius: 2, penalty: 2)
            .run(FramePlanes(video: v, frame: 0), FramePlanes(video: v, frame: 1))
        let mx = f.dx.sorted()[f.dx.count / 2], my = f.dy.sorted()[f.dy.count / 2]
        // Camera moves left 2 and down 1: content moves right 2 and up 1.
        #expect(abs(mx - 2) < 0.25 && abs(my + 1) < 0.25, "median flow (\(mx), \(my))")
    }

    @Test func dynamicDegreeFollowsItsThresholds() throws {
        var still = Scene()
        still.backgroundKind = "texture"
        still.objects = [SceneObject(color: "red", shape: "circle", x: 32, y: 32, size: 16)]
        var fast = still
        fast.objects[0].vx = 3
        var pan = still
        pan.cameraDX = 2.5
        // Threshold 2.4·64/256 = 0.6 px per pair here (docs/vbenchlite.md): far slower reads static.
        var slow = still
        slow.objects[0].vx = 0.2
        #expect(DynamicDegree.isDynamic(still.render()) == false)
        #expect(DynamicDegree.isDynamic(Degrade.noise(still.render(), sigma: 10)) == false)
        #expect(DynamicDegree.isDynamic(slow.render()) == false)
        #expect(DynamicDegree.isDynamic(fast.render()) == true)
        #expect(DynamicDegree.isDynamic(pan.render()) == true)
        #expect(DynamicDegree.interval(fps: 24) == 3 && DynamicDegree.interval(fps: 8) == 1 && DynamicDegree.interval(fps: 4) == 1)
    }

    @Test func degradationsLowerTheirDimensions() throws {
        let clean = Self.movingScene().render()
        let r = Self.score([("clean", clean), ("noise", Degrade.noise(clean, sigma: 10)),
                            ("blur", Degrade.blur(clean, sigma: 1.2)), ("shuffled", Degrade.shuffled(clean))])
        func v(_ d: VBenchDimension, _ n: String) -> Double { Self.value(r, d, n) }
        // Gaussian noise.
        #expect(v(.imagingQuality, "noise") < v(.imagingQuality, "clean") - 5)
        #expect(v(.aestheticQuality, "noise") < v(.aestheticQuality, "clean") - 0.02)
        #expect(v(.temporalFlickering, "noise") < v(.temporalFlickering, "clean") - 0.01)
        #expect(v(.motionSmoothness, "noise") < v(.motionSmoothness, "clean") - 0.01)
        #expect(v(.subjectConsistency, "noise") < v(.subjectConsistency, "clean"))
        // Blur.
        #expect(v(.imagingQuality, "blur") < v(.imagingQuality, "clean") - 10)
        #expect(v(.aestheticQuality, "blur") < v(.aestheticQuality, "clean"))
        // Shuffled frames.
        #expect(v(.motionSmoothness, "shuffled") < v(.motionSmoothness, "clean") - 0.005)
        #expect(v(.temporalFlickering, "shuffled") < v(.temporalFlickering, "clean") - 0.005)
        #expect(v(.dynamicDegree, "shuffled") == 1)
        // (Subject consistency is not expected to fall on shuffled frames: the subject itself is
        // unchanged, and DINO's features, like ours, barely depend on where it is.)
    }

    /// A subject that turns into another one half-way, and a scene cut of the background.
    @Test func contentChangesLowerConsistency() throws {
        let base = Self.movingScene()
        var other = base
        other.objects[0].color = "green"
        other.objects[0].shape = "square"
        var cut = base
        cut.backgroundKind = "texture"
        cut.backgroundColor = "pink"
        let a = base.render(), b = other.render(), c = cut.render()
        func halves(_ x: RGBVideo, _ y: RGBVideo) -> RGBVideo {
            Degrade.reorder(RGBVideo(width: x.width, height: x.height, fps: x.fps, pixels: Array(x.pixels[0..<(8 * x.frameSize)]) + Array(y.pixels[(8 * y.frameSize)...])), Array(0..<16))
        }
        let r = Self.score([("clean", a), ("morph", halves(a, b)), ("cut", halves(a, c))])
        #expect(Self.value(r, .subjectConsistency, "morph") < Self.value(r, .subjectConsistency, "clean") - 0.05)
        #expect(Self.value(r, .backgroundConsistency, "cut") < Self.value(r, .backgroundConsistency, "clean") - 0.05)
        #expect(Self.value(r, .backgroundConsistency, "morph") > Self.value(r, .backgroundConsistency, "cut"))
    }
}
