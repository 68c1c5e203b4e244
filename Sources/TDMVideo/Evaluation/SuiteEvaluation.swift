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
    /// Renders every suite prompt with `seeds` seeds (clip i of a prompt uses seed i) and scores them;
    /// with `referenceSeeds` > 0, the report also holds the distribution metrics against the world's
    /// own clips of each prompt (`WorldReference`), as `tdm-video score` computes them.
    ///
    /// Across ranks (`communicator` of a run under mpirun) each rank renders every size-th clip, the
    /// delivered clips are gathered on every rank in suite order, and every rank scores them all, so
    /// each gets the single-process report.
    public static func run(_ pkg: ModelPackage, suite: [PromptEntry], seeds: Int,
                           options: VideoPipeline.Options? = nil, referenceSeeds: Int = 0, communicator comm: Communicator = .single,
                           progress: ((Int, Int) -> Void)? = nil) throws -> ScoreReport {
        if comm.size > 1 {
            return try runSplit(pkg, suite: suite, seeds: seeds, options: options, referenceSeeds: referenceSeeds, communicator: comm, progress: progress)
        }
        let pipe = VideoPipeline(pkg)
        let o = options ?? pipe.defaults
        let v = pkg.metadata.video
        var videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        let total = suite.count * seeds
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Rendered side by side over the cores, 8 clips at a time (each the clip rendered alone).
        let jobs = suite.flatMap { e in (0..<seeds).map { (e, $0) } }
        for first in stride(from: 0, to: jobs.count, by: 8) {
            let part = jobs[first..<min(first + 8, jobs.count)]
            let pixels = try pipe.render(batch: part.map { VideoPipeline.Clip(prompt: $0.0.promptEn, seed: UInt64($0.1)) }, options: o)
            for ((e, i), px) in zip(part, pixels) {
                let clip = RGBVideo(floats: px, width: v.width, height: v.height, fps: v.fps)
                videos.append(("\(e.promptEn)-\(i).mp4", try asDelivered(clip, scratch: scratch), e))
                progress?(videos.count, total)
            }
        }
        return try score(videos, referenceSeeds: referenceSeeds)
    }

    /// The VBenchLite report of delivered clips, with the distribution section when `referenceSeeds` > 0.
    static func score(_ videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)], referenceSeeds: Int) throws -> ScoreReport {
        var report = VBenchLite().evaluate(videos: videos)
        guard referenceSeeds > 0 else { return report }
        report.distribution = try WorldReference.report(groups: WorldReference.groups(videos), referenceSeeds: referenceSeeds)
        return report
    }

    static func runSplit(_ pkg: ModelPackage, suite: [PromptEntry], seeds: Int, options: VideoPipeline.Options?,
                         referenceSeeds: Int, communicator comm: Communicator, progress: ((Int, Int) -> Void)?) throws -> ScoreReport {
        let pipe = VideoPipeline(pkg)
        let o = options ?? pipe.defaults
        let v = pkg.metadata.video
        let jobs = suite.indices.flatMap { p in (0..<seeds).map { (p, $0) } }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // This rank's clips: job index (UInt32, little-endian) then the delivered clip's pixels.
        var mine = [UInt8]()
        var done = 0
        var failure: Error? = nil
        for (j, (p, i)) in jobs.enumerated() where j % comm.size == comm.rank {
            do {
                let px = try pipe.render(prompt: suite[p].promptEn, seed: UInt64(i), options: o)
                let clip = try asDelivered(RGBVideo(floats: px, width: v.width, height: v.height, fps: v.fps), scratch: scratch)
                withUnsafeBytes(of: UInt32(j).littleEndian) { mine += $0 }
                withUnsafeBytes(of: UInt32(clip.pixels.count).littleEndian) { mine += $0 }
                mine += clip.pixels
            } catch { failure = error; break }
            done += 1
            progress?(done * comm.size, jobs.count)
        }
        // A rank that failed tells the others (they would otherwise wait for its clips).
        if comm.max(failure == nil ? 0 : 1) > 0 {
            if let failure { throw failure }
            throw RankError(rank: comm.rank, message: "another rank could not render its clips of the suite")
        }
        var clips = [RGBVideo?](repeating: nil, count: jobs.count)
        for part in comm.allgather(mine) {
            var at = 0
            while at + 8 <= part.count {
                let j = Int(part[at..<(at + 4)].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
                let n = Int(part[(at + 4)..<(at + 8)].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
                clips[j] = RGBVideo(width: v.width, height: v.height, fps: v.fps, pixels: Array(part[(at + 8)..<(at + 8 + n)]))
                at += 8 + n
            }
        }
        let videos = jobs.enumerated().map { j, job in ("\(suite[job.0].promptEn)-\(job.1).mp4", clips[j]!, Optional(suite[job.0])) }
        return try score(videos, referenceSeeds: referenceSeeds)
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
    /// Across ranks each renders its share of the clips and every rank gets both reports.
    public static func studentEvaluator(heldOut: [PromptEntry], validation: [PromptEntry], seeds: Int, referenceSeeds: Int = 0,
                                        communicator comm: Communicator = .single) -> StudentEvaluator {
        { pkg in (try run(pkg, suite: heldOut, seeds: seeds, referenceSeeds: referenceSeeds, communicator: comm),
                  try run(pkg, suite: validation, seeds: seeds, referenceSeeds: referenceSeeds, communicator: comm)) }
    }
}
