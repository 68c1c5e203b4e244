import Foundation
import ShapeWorld
import Testing
import VideoInference
import VBenchLite
import VideoCommon
import VideoIO
@testable import TDMVideo

@Suite("Suite evaluation") struct SuiteEvaluationTests {
    /// The reports training writes (and the periodic evaluations keep_best chooses by) score the clips as
    /// delivered. Checked on an independent path: the same clips written as MP4s, decoded by the `ffmpeg`
    /// command line (not this package's reader) and scored separately.
    @Test(.enabled(if: FFmpegCLI.available, "needs the ffmpeg command (make deps installs it)"))
    func equalsScoringTheWrittenMP4s() throws {
        let pkg = try ModelPackage.load(DistillTests.teacherDir)
        let suite = Array(WorldSplit.quickSuite().prefix(3))
        let report = try SuiteEvaluation.run(pkg, suite: suite, seeds: 2)
        let dir = PretrainTests.tempDir()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipe = VideoPipeline(pkg)
        let v = pkg.metadata.video
        var videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        var raw: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        for e in suite {
            for i in 0..<2 {
                let px = try pipe.render(prompt: e.promptEn, seed: UInt64(i), options: pipe.defaults)
                let url = dir.appendingPathComponent("\(e.promptEn)-\(i).mp4")
                let clip = RGBVideo(floats: px, width: v.width, height: v.height, fps: v.fps)
                try VideoWriter().write(clip, to: url)
                let decoded = try FFmpegCLI.decode(url, width: v.width, height: v.height, fps: v.fps)
                #expect(decoded.frameCount == v.frames)
                videos.append((url.lastPathComponent, decoded, e))
                raw.append((url.lastPathComponent, clip, e))
            }
        }
        let direct = VBenchLite().evaluate(videos: videos)
        #expect(report.totalScore != nil)
        #expect(abs(report.totalScore! - direct.totalScore!) < 1e-4, "\(report.totalScore!) vs \(direct.totalScore!)")
        #expect(abs(report.qualityScore! - direct.qualityScore!) < 1e-4)
        #expect(abs(report.semanticScore! - direct.semanticScore!) < 1e-4)
        // The round trip matters: the raw frames score differently, so this test can tell the two apart.
        let undelivered = VBenchLite().evaluate(videos: raw)
        #expect(undelivered.totalScore != report.totalScore)
    }
}

/// The `ffmpeg` command line as an independent decoder.
enum FFmpegCLI {
    static let path = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { path != nil }

    /// Every frame of `url` as 8-bit RGB, converted by ffmpeg's own scaler (bicubic, accurate rounding,
    /// full chroma interpolation, the stream's colour matrix).
    static func decode(_ url: URL, width: Int, height: Int, fps: Double) throws -> RGBVideo {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path!)
        p.arguments = ["-v", "error", "-i", url.path, "-sws_flags", "bicubic+accurate_rnd+full_chroma_int",
                       "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
        return RGBVideo(width: width, height: height, fps: fps, pixels: [UInt8](data))
    }
}
