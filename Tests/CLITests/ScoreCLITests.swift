import Foundation
import ShapeWorld
import Testing
import VBenchLite
import VideoCommon

/// `tdm-video score` end to end, through the binary of the configuration under test: the regression gate
/// on the world's own clips and damaged copies, VBench's aggregation of a results file, and the world's
/// ground truth scored against its held-out suite.
@Suite("tdm-video score end to end", .serialized) struct ScoreCLITests {
    static func score(_ args: [String]) throws -> CLI.Run { try CLI.run(["score"] + args) }

    /// Runs the `ffmpeg` command line (make deps installs it) and fails the test when it fails.
    static func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-loglevel", "error", "-y"] + args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// Three world prompts (motion, texture, a still shape on a gradient), rendered by `tdm-video world
    /// render`, and damaged copies made by ffmpeg's filters: played backwards (the object moves the wrong
    /// way), heavy noise, blurred with frames swapped in pairs.
    @Test func cleanPassesDegradedFails() throws {
        let root = CLI.temp()
        defer { try? FileManager.default.removeItem(at: root) }
        let clean = root.appendingPathComponent("clean"), bad = root.appendingPathComponent("degraded")
        for d in [clean, bad] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let prompts = ["a red circle moving right, plain background", "a blue square moving up, textured background",
                       "a yellow triangle, gradient background"]
        let swapPairs = (0..<8).map { "\(2 * $0 + 1) \(2 * $0)" }.joined(separator: " ")
        let damage = ["reverse", "noise=alls=40:allf=t", "gblur=sigma=1.2,shuffleframes=\(swapPairs)"]
        let suite = root.appendingPathComponent("suite.json")
        try PromptSuite.encode(try prompts.map { WorldSplit.entry(try Grammar.parse($0)) }).write(to: suite)
        for (p, filter) in zip(prompts, damage) {
            let name = "\(p)-0.mp4"
            let r = try CLI.run(["world", "render", p, "--seed", "0", "--out", clean.appendingPathComponent(name).path])
            #expect(r.status == 0, "\(r.err)")
            try Self.ffmpeg(["-i", clean.appendingPathComponent(name).path, "-vf", filter, "-pix_fmt", "yuv420p",
                             "-crf", "18", bad.appendingPathComponent(name).path])
        }
        let baseline = root.appendingPathComponent("baseline.json")
        let evalResults = root.appendingPathComponent("clean_eval_results.json")
        let first = try Self.score([clean.path, "--suite", suite.path, "--write-baseline", baseline.path, "--eval-results", evalResults.path])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.split(separator: "\n").last?.hasPrefix("total_score=") == true)
        // Only notes on stderr (e.g. about the distribution section at one seed per prompt).
        #expect(first.err.split(separator: "\n").allSatisfy { $0.hasPrefix("note:") }, "\(first.err)")
        // The baseline is a full report; the export is VBench's own layout.
        let report = try ScoreReport.decode(Data(contentsOf: baseline))
        #expect(report.dimsUsed.contains("color") && report.dimsUsed.contains("temporal_style"))
        let raw = try ScoreReport.rawScores(fromEvalResults: Data(contentsOf: evalResults), source: evalResults.path)
        #expect(Set(raw.keys) == Set(report.rawScores.keys))
        for (k, x) in report.rawScores { #expect(abs((raw[k] ?? .nan) - x) < 1e-12, "\(k)") }
        // Clean against its own baseline: pass.
        let again = try Self.score([clean.path, "--suite", suite.path, "--baseline", baseline.path, "--max-drop", "1", "--quiet"])
        #expect(again.status == 0, "\(again.out)\(again.err)")
        #expect(again.out.contains("no regression"))
        // Degraded: exit 3 and the dimensions that fell.
        let worse = try Self.score([bad.path, "--suite", suite.path, "--baseline", baseline.path, "--max-drop", "1", "--quiet"])
        #expect(worse.status == 3, "\(worse.out)\(worse.err)")
        #expect(worse.out.contains("REGRESSION") && worse.out.contains("imaging_quality") && worse.out.contains("temporal_style"),
                "\(worse.out)")
        #expect(worse.out.split(separator: "\n").last?.hasPrefix("total_score=") == true)
        // Errors exit 1 with a message naming the input.
        let missing = try Self.score([root.appendingPathComponent("nope.mp4").path])
        #expect(missing.status == 1 && missing.err.contains("nope.mp4"))
        let notVideo = root.appendingPathComponent("notvideo.mp4")
        try Data("hello".utf8).write(to: notVideo)
        let broken = try Self.score([notVideo.path])
        #expect(broken.status == 1 && broken.err.contains("notvideo.mp4"))
        let badSuite = try Self.score([clean.path, "--suite", notVideo.path])
        #expect(badSuite.status == 1 && badSuite.err.contains("notvideo.mp4"))
    }

    /// docs/vbench.md §2.2 worked example (raw values in VBench's TASK_INFO order) through `--aggregate`.
    @Test func aggregateReproducesWorkedExample() throws {
        let workedExample: [Double] = [0.9673, 0.9623, 0.9894, 0.9845, 0.6222, 0.6345, 0.7048, 0.8617, 0.7491,
                                       0.782, 0.9014, 0.8071, 0.3132, 0.1943, 0.25, 0.27]
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        var obj: [String: Any] = [:]
        for (d, v) in zip(VBenchDimension.allCases, workedExample) {
            obj[d.rawValue] = [v, [["video_path": "x-0.mp4", "video_results": v]]]
        }
        let file = dir.appendingPathComponent("results_eval_results.json")
        try JSONSerialization.data(withJSONObject: obj).write(to: file)
        let r = try Self.score(["--aggregate", file.path])
        #expect(r.status == 0, "\(r.err)")
        func value(_ key: String) -> Double {
            r.out.split(separator: "\n").first { $0.hasPrefix(key + "=") }.flatMap { Double($0.dropFirst(key.count + 1)) } ?? .nan
        }
        #expect(abs(value("quality_score") - 84.43) < 0.005 && abs(value("semantic_score") - 73.23) < 0.005)
        #expect(r.out.split(separator: "\n").last == "total_score=82.1881")
        let bad = dir.appendingPathComponent("bad.json")
        try Data("{\"flickering\": [0.9, []]}".utf8).write(to: bad)
        let e = try Self.score(["--aggregate", bad.path])
        #expect(e.status == 1 && e.err.contains("flickering"))
    }

    /// The world's own ground-truth clips (rendered by `tdm-video world render`, encoded to MP4, decoded
    /// back) scored against the world's held-out suite through `tdm-video score --suite`: every semantic
    /// dimension that applies must be at least 0.95 (normalised; for temporal style and overall
    /// consistency, the fraction of checks).
    @Test func groundTruthSemanticsAboveThreshold() throws {
        let root = CLI.temp()
        defer { try? FileManager.default.removeItem(at: root) }
        let clips = root.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        let suite = root.appendingPathComponent("suite.json")
        #expect(try CLI.run(["world", "suite", "--which", "heldout", "--out", suite.path]).status == 0)
        let entries = try PromptSuite.load(suite)
        #expect(entries.count >= 8)
        for (i, e) in entries.enumerated() {
            let seed = i % 3
            let out = clips.appendingPathComponent("\(e.promptEn)-\(seed).mp4")
            #expect(try CLI.run(["world", "render", e.promptEn, "--seed", "\(seed)", "--out", out.path]).status == 0, "\(e.promptEn)")
        }
        let reportURL = root.appendingPathComponent("report.json")
        let run = try Self.score([clips.path, "--suite", suite.path, "--out", reportURL.path, "--quiet"])
        #expect(run.status == 0, "\(run.err)")
        let report = try ScoreReport.decode(Data(contentsOf: reportURL))
        #expect(report.videoCount == entries.count)
        let semantic: [VBenchDimension] = [.objectClass, .multipleObjects, .color, .spatialRelationship, .temporalStyle, .overallConsistency]
        for d in semantic {
            let dim = try #require(report[d])
            let value = try #require(dim.fraction ?? dim.normalized, "\(d.rawValue): \(dim.reason ?? "")")
            let low = dim.videos.filter { v in (v.videoResults?.doubleValue ?? 1) < (dim.fraction != nil ? 0.36 : 0.95) }
                .map { "\($0.videoPath.split(separator: "/").last ?? ""): \($0.note ?? "")" }
            #expect(value >= 0.95, "\(d.rawValue) = \(value); low: \(low)")
        }
        // Quality dimensions are on VBench's scale and sane for clean renders.
        #expect((report[.temporalFlickering]?.score ?? 0) > 0.98)
        #expect((report[.motionSmoothness]?.score ?? 0) > 0.99)
    }
}
