import Foundation
import ShapeWorld
import TensorCore
import VBenchLite
import VideoIO

/// Samples a prompt suite with a model package and scores the clips with VBenchLite: the report
/// that pretraining and distillation write beside their models.
public enum SuiteEvaluation {
    /// Renders every suite prompt with `seeds` seeds (clip i of a prompt uses seed i) and scores them.
    public static func run(_ pkg: ModelPackage, suite: [PromptEntry], seeds: Int,
                           options: VideoPipeline.Options? = nil,
                           progress: ((Int, Int) -> Void)? = nil) throws -> ScoreReport {
        let pipe = VideoPipeline(pkg)
        let o = options ?? pipe.defaults
        let v = pkg.metadata.video
        var videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        let total = suite.count * seeds
        for e in suite {
            for i in 0..<seeds {
                let px = try pipe.render(prompt: e.promptEn, seed: UInt64(i), options: o)
                videos.append(("\(e.promptEn)-\(i).mp4", WorldRenderer.toVideo(px, width: v.width, height: v.height, fps: v.fps), e))
                progress?(videos.count, total)
            }
        }
        return VBenchLite().evaluate(videos: videos)
    }

    /// Writes a report's JSON atomically.
    public static func write(_ r: ScoreReport, to url: URL) throws {
        try AtomicFile.write(try r.jsonData(), to: url) { CheckpointError(path: url.path, message: $0) }
    }
}
