import AtomicFiles
import Foundation
import TensorCore
import VBenchLite
import VideoCommon
import VideoInference
import VideoIO

/// Samples a prompt suite with a model package and scores the clips with VBenchLite: the report
/// that pretraining and distillation write beside their models, and their periodic evaluations.
///
/// Each clip is scored as it is delivered: encoded to an MP4 (`VideoWriter`'s defaults, as `tdm-video
/// sample` writes it) and decoded again, so these figures equal `tdm-video sample` + `tdm-video score`
/// on the same prompts and seeds. Scoring the raw frames instead differs: H.264 removes faint
/// frame-to-frame shimmer that the dynamic-degree flow reads as motion.
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
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for e in suite {
            for i in 0..<seeds {
                let px = try pipe.render(prompt: e.promptEn, seed: UInt64(i), options: o)
                let clip = RGBVideo(floats: px, width: v.width, height: v.height, fps: v.fps)
                videos.append(("\(e.promptEn)-\(i).mp4", try asDelivered(clip, scratch: scratch), e))
                progress?(videos.count, total)
            }
        }
        return VBenchLite().evaluate(videos: videos)
    }

    /// The clip after an MP4 round trip through `scratch` (a folder this call may write a file in).
    public static func asDelivered(_ clip: RGBVideo, scratch: URL) throws -> RGBVideo {
        let url = scratch.appendingPathComponent("clip.mp4")
        try VideoWriter().write(clip, to: url)
        return try VideoReader.read(url)
    }

    /// Writes a report's JSON atomically.
    public static func write(_ r: ScoreReport, to url: URL) throws {
        try AtomicFile.write(try r.jsonData(), to: url)
    }

    /// The evaluator a distillation run is handed: the student on the held-out suite (reported) and on
    /// the validation suite (chooses with `keep_best`), `seeds` seeds per prompt.
    public static func studentEvaluator(heldOut: [PromptEntry], validation: [PromptEntry], seeds: Int) -> StudentEvaluator {
        { pkg in (try run(pkg, suite: heldOut, seeds: seeds), try run(pkg, suite: validation, seeds: seeds)) }
    }
}
