import Foundation
import Testing
@testable import TDMVideo
import ShapeWorld
import VBenchLite
import VideoIO

@Suite("Suite evaluation") struct SuiteEvaluationTests {
    /// The reports training writes (and the periodic evaluations keep_best chooses by) score the clips as
    /// delivered: exactly what writing the MP4s with `VideoWriter`, reading them back and scoring them gives.
    @Test func equalsScoringTheWrittenMP4s() throws {
        let pkg = try ModelPackage.load(DistillTests.teacherDir)
        let suite = Array(WorldSplit.quickSuite().prefix(3))
        let report = try SuiteEvaluation.run(pkg, suite: suite, seeds: 2)
        let dir = PretrainTests.tempDir()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipe = VideoPipeline(pkg)
        let v = pkg.metadata.video
        var videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        for e in suite {
            for i in 0..<2 {
                let px = try pipe.render(prompt: e.promptEn, seed: UInt64(i), options: pipe.defaults)
                let url = dir.appendingPathComponent("\(e.promptEn)-\(i).mp4")
                try VideoWriter().write(WorldRenderer.toVideo(px, width: v.width, height: v.height, fps: v.fps), to: url)
                videos.append((url.lastPathComponent, try VideoReader.read(url), e))
            }
        }
        let direct = VBenchLite().evaluate(videos: videos)
        #expect(report.totalScore != nil)
        #expect(report.totalScore == direct.totalScore)
        #expect(report.qualityScore == direct.qualityScore)
        #expect(report.semanticScore == direct.semanticScore)
    }
}
