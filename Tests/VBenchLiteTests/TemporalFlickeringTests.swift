import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import VBenchLite

@Suite("Temporal flickering: VBench's formula exactly") struct TemporalFlickeringTests {
    /// An independent computation, written the way VBench's numpy code reads: per pair, the mean over
    /// every value of |F[t+1] - F[t]| as floats; the mean over pairs; (255 - mean) / 255.
    static func reference(_ v: RGBVideo) -> Double {
        let frames = (0..<v.frameCount).map { Array(v.frame($0)).map(Float.init) }
        var maes: [Double] = []
        for t in 0..<(frames.count - 1) {
            let d = zip(frames[t + 1], frames[t]).map { abs($0 - $1) }
            maes.append(Double(d.reduce(0, +)) / Double(d.count))
        }
        return (255 - maes.reduce(0, +) / Double(maes.count)) / 255
    }

    @Test func equalsIndependentComputation() throws {
        var s = Scene()
        s.backgroundKind = "texture"
        s.objects = [SceneObject(color: "blue", shape: "diamond", x: 20, y: 30, size: 14, vx: 1.5, vy: 0.5)]
        for v in [s.render(), Degrade.noise(s.render(), sigma: 12), Degrade.shuffled(s.render())] {
            let ours = try #require(TemporalFlickering.score(v))
            #expect(abs(ours - Self.reference(v)) < 1e-9)
        }
    }

    @Test func stillClipScoresOne() throws {
        var s = Scene()
        s.objects = [SceneObject(color: "red", shape: "circle", x: 32, y: 32, size: 16)]
        let v = s.render()
        #expect(try #require(TemporalFlickering.score(v)) == 1.0)
        // Our RAFT-free static filter keeps it, and not the moving one.
        #expect(ClipAnalysis(video: v).isStatic == true)
        s.objects[0].vx = 2
        #expect(ClipAnalysis(video: s.render()).isStatic == false)
    }

    @Test func randomFramesAgree() throws {
        var rng = SplitMix(11)
        let px = (0..<(5 * 17 * 9 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let v = RGBVideo(width: 17, height: 9, fps: 8, pixels: px)
        #expect(abs(try #require(TemporalFlickering.score(v)) - Self.reference(v)) < 1e-9)
        #expect(TemporalFlickering.score(RGBVideo(width: 4, height: 4, fps: 8, pixels: [UInt8](repeating: 0, count: 48))) == nil)
    }
}
