import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import VBenchLite

@Suite("Semantic dimensions on synthetic world renders") struct SemanticDimensionTests {
    /// A spread of the world: every shape, every colour, the three background kinds, every camera and
    /// object motion, and two-object scenes with each relation.
    static func cleanScenes() -> [Scene] {
        let colors = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "black", "white"]
        let shapes = ["circle", "square", "triangle", "diamond"]
        let motions: [(String, Double, Double, Double)] = [("still", 0, 0, 1), ("moving left", -1.2, 0, 1), ("moving right", 1.2, 0, 1),
                                                           ("moving up", 0, -1.1, 1), ("moving down", 0, 1.1, 1),
                                                           ("growing", 0, 0, 1.03), ("shrinking", 0, 0, 0.97)]
        let cameras: [(String, Double, Double, Double)] = [("still", 0, 0, 1), ("pan left", -1.2, 0, 1), ("pan right", 1.2, 0, 1),
                                                           ("tilt up", 0, -1.2, 1), ("tilt down", 0, 1.2, 1),
                                                           ("zoom in", 0, 0, 1.025), ("zoom out", 0, 0, 0.975)]
        var out: [Scene] = []
        for i in 0..<14 {
            var s = Scene()
            s.width = i % 5 == 4 ? 48 : 64
            s.height = s.width
            let color = colors[i % colors.count]
            s.backgroundKind = ["plain", "gradient", "texture"][i % 3]
            s.backgroundColor = ["white", "yellow"].contains(color) ? "blue" : (["blue", "purple", "black"].contains(color) ? "white" : "grey")
            if s.backgroundKind == "gradient" && s.backgroundColor == "white" { s.backgroundColor = "grey" }
            // Moving cameras need a background that shows them.
            let cam = s.backgroundKind == "plain" ? cameras[0] : cameras[(i / 3) % cameras.count]
            s.cameraName = cam.0; s.cameraDX = cam.1; s.cameraDY = cam.2; s.cameraZoom = cam.3
            let m = motions[i % motions.count]
            let c = Double(s.width) / 2
            s.objects = [SceneObject(color: color, shape: shapes[i % shapes.count], x: c - 6 * m.1, y: c - 6 * m.2,
                                     size: Double(s.width) / 4, vx: m.1, vy: m.2, growth: m.3, motion: m.0)]
            out.append(s)
        }
        let relations = ["on the left of", "on the right of", "on the top of", "on the bottom of"]
        for (i, rel) in relations.enumerated() {
            var s = Scene()
            s.backgroundKind = ["plain", "texture"][i % 2]
            s.backgroundColor = "grey"
            let off: (Double, Double) = [(-14, 0), (14, 0), (0, -14), (0, 14)][i]
            s.objects = [SceneObject(color: colors[i], shape: shapes[i], x: 32 + off.0, y: 32 + off.1, size: 14),
                         SceneObject(color: colors[(i + 4) % 9], shape: shapes[(i + 1) % 4], x: 32 - off.0, y: 32 - off.1, size: 14)]
            s.relationship = rel
            out.append(s)
        }
        return out
    }

    static func evaluate(_ pairs: [(String, RGBVideo, PromptEntry)]) -> ScoreReport {
        VBenchLite().evaluate(videos: pairs.map { (name: $0.0, video: $0.1, prompt: Optional($0.2)) })
    }

    @Test func cleanRendersScoreHigh() throws {
        let scenes = Self.cleanScenes()
        let report = Self.evaluate(scenes.enumerated().map { ("\($0.offset)-\($0.element.prompt().promptEn)", $0.element.render(), $0.element.prompt()) })
        let expected: [VBenchDimension] = [.objectClass, .multipleObjects, .color, .spatialRelationship, .scene, .temporalStyle, .overallConsistency]
        for d in expected {
            let dim = try #require(report[d])
            let norm = try #require(dim.normalized, "\(d.rawValue): \(dim.reason ?? "")")
            let shown = dim.videos.filter { ($0.videoResults?.doubleValue ?? 0) < 0.99 * (d == .temporalStyle || d == .overallConsistency ? 0.364 : 1) }
                .map { "\($0.videoPath): \($0.videoResults.map { "\($0.doubleValue)" } ?? "nil") \($0.note ?? "")" }
            #expect(norm >= 0.95, "\(d.rawValue) normalised \(norm); below: \(shown)")
            if let f = dim.fraction { #expect(f >= 0.95) }
        }
        #expect(report[.humanAction]?.score == nil && report[.humanAction]?.reason != nil)
        #expect(report[.appearanceStyle]?.score == nil && report[.appearanceStyle]?.reason != nil)
        #expect(report.dimsUsed.count == 14)
    }

    @Test func shapesAndColoursAreRecognised() throws {
        for shape in ["circle", "square", "triangle", "diamond"] {
            for color in ColorNaming.promptColors {
                var s = Scene()
                s.frames = 1
                s.width = 48; s.height = 48
                s.backgroundColor = ["white", "yellow", "pink"].contains(color) ? "blue" : "grey"
                s.objects = [SceneObject(color: color, shape: shape, x: 22, y: 25, size: 13)]
                let det = ShapeSegmenter.detect(FramePlanes(video: s.render(), frame: 0)).objects
                #expect(det.count == 1 && det.first?.shape == shape && det.first?.color == color,
                        "\(color) \(shape): \(det.map { "\($0.color) \($0.shape) fill \($0.fill)" })")
            }
        }
    }

    @Test func swapsLowerTheirDimensions() throws {
        var s = Scene()
        s.backgroundKind = "texture"
        s.backgroundColor = "grey"
        s.cameraName = "pan right"
        s.cameraDX = 1.2
        s.objects = [SceneObject(color: "red", shape: "triangle", x: 26, y: 32, size: 16, vx: 1.2, motion: "moving right")]
        let prompt = s.prompt()
        var colorSwap = s
        colorSwap.objects[0].color = "green"
        var objectSwap = s
        objectSwap.objects[0].shape = "square"
        let clean = s.render()
        let report = Self.evaluate([("clean", clean, prompt), ("colour", colorSwap.render(), prompt),
                                    ("object", objectSwap.render(), prompt), ("reversed", Degrade.reversed(clean), prompt)])
        func v(_ d: VBenchDimension, _ n: String) -> Double {
            report[d]?.videos.first { $0.videoPath == n }?.videoResults?.doubleValue ?? .nan
        }
        #expect(v(.color, "clean") == 1 && v(.color, "colour") == 0)
        #expect(v(.objectClass, "clean") == 1 && v(.objectClass, "object") == 0)
        #expect(v(.temporalStyle, "clean") > 0.36 && v(.temporalStyle, "reversed") < 0.1)
        for n in ["colour", "object", "reversed"] {
            #expect(v(.overallConsistency, n) < v(.overallConsistency, "clean"), "\(n)")
        }
    }

    @Test func spatialRuleIsVBenchsAndDirectionIsReported() throws {
        // VBench's rule: the axis, IoU < 0.1 → 1, else 0.1/IoU; not the direction.
        #expect(SemanticChecks.positionScore(relation: "on the left of", (0, 0, 10, 10), (20, 0, 30, 10)) == 1)
        #expect(SemanticChecks.positionScore(relation: "on the right of", (0, 0, 10, 10), (20, 0, 30, 10)) == 1)
        #expect(SemanticChecks.positionScore(relation: "on the top of", (0, 0, 10, 10), (20, 0, 30, 10)) == 0)
        let overlap = SemanticChecks.positionScore(relation: "on the left of", (0, 0, 10, 10), (5, 0, 15, 10))
        #expect(abs(overlap - 0.1 / (50.0 / 150.0)) < 1e-12)
        var s = Scene()
        s.objects = [SceneObject(color: "red", shape: "circle", x: 18, y: 32, size: 14),
                     SceneObject(color: "blue", shape: "square", x: 46, y: 32, size: 14)]
        s.relationship = "on the left of"
        var mirrored = s
        mirrored.objects[0].x = 46
        mirrored.objects[1].x = 18
        let r = Self.evaluate([("right", s.render(), s.prompt()), ("mirrored", mirrored.render(), s.prompt())])
        let dim = try #require(r[.spatialRelationship])
        #expect(dim.videos.allSatisfy { $0.videoResults?.doubleValue == 1 })
        #expect(dim.videos.first { $0.videoPath == "right" }?.detail?["direction_correct"] == 1)
        #expect(dim.videos.first { $0.videoPath == "mirrored" }?.detail?["direction_correct"] == 0)
        let oc = try #require(r[.overallConsistency])
        #expect((oc.videos.first { $0.videoPath == "mirrored" }?.videoResults?.doubleValue ?? 1) < (oc.videos.first { $0.videoPath == "right" }?.videoResults?.doubleValue ?? 0))
    }
}
