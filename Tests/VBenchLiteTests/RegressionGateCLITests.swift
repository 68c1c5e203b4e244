import Foundation
import Testing
import VideoIO
@testable import VBenchLite

/// The regression gate end to end through the built `tdm-video score` (release build, as `make test`
/// builds it): a clean set passes against its own baseline, a degraded set fails with exit code 3.
@Suite("tdm-video score: regression gate end to end") struct RegressionGateCLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = packageRoot.appendingPathComponent(".build/release/tdm-video")

    struct Run { var status: Int32; var out: String; var err: String }

    static func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = ["score"] + args
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self), err: String(decoding: ed, as: UTF8.self))
    }

    static func scenes() -> [Scene] {
        var a = Scene()
        a.objects = [SceneObject(color: "red", shape: "circle", x: 24, y: 32, size: 16, vx: 1.2, motion: "moving right")]
        var b = Scene()
        b.backgroundKind = "texture"
        b.backgroundColor = "grey"
        b.objects = [SceneObject(color: "blue", shape: "square", x: 32, y: 40, size: 14, vy: -1.2, motion: "moving up")]
        var c = Scene()
        c.backgroundKind = "gradient"
        c.backgroundColor = "blue"
        c.objects = [SceneObject(color: "yellow", shape: "triangle", x: 32, y: 32, size: 18, motion: "still")]
        return [a, b, c]
    }

    @Test func cleanPassesDegradedFails() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the CLI first: swift build -c release")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vbl-gate-\(UUID().uuidString)")
        let clean = root.appendingPathComponent("clean"), bad = root.appendingPathComponent("degraded")
        for d in [clean, bad] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: root) }
        let scenes = Self.scenes()
        let suite = root.appendingPathComponent("suite.json")
        try PromptSuite.encode(scenes.map { $0.prompt() }).write(to: suite)
        let writer = VideoWriter(fps: 8, crf: 18)
        for (i, s) in scenes.enumerated() {
            let name = "\(s.prompt().promptEn)-0.mp4"
            let v = s.render()
            try writer.write(v, to: clean.appendingPathComponent(name))
            let degraded = [Degrade.reversed(Degrade.noise(v, sigma: 8)), Degrade.noise(v, sigma: 14), Degrade.shuffled(Degrade.blur(v, sigma: 1.2))][i]
            try writer.write(degraded, to: bad.appendingPathComponent(name))
        }
        let baseline = root.appendingPathComponent("baseline.json")
        let evalResults = root.appendingPathComponent("clean_eval_results.json")
        let first = try Self.run([clean.path, "--suite", suite.path, "--write-baseline", baseline.path, "--eval-results", evalResults.path])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.split(separator: "\n").last?.hasPrefix("total_score=") == true)
        // Its prompts are outside the world's grammar: no reference clips, so no distribution section.
        #expect(first.err.split(separator: "\n").allSatisfy { $0.hasPrefix("note: no distribution metrics") }, "\(first.err)")
        // The baseline is a full report; the export is VBench's own layout.
        let report = try ScoreReport.decode(Data(contentsOf: baseline))
        #expect(report.dimsUsed.contains("color") && report.dimsUsed.contains("temporal_style"))
        let raw = try ScoreReport.rawScores(fromEvalResults: Data(contentsOf: evalResults), source: evalResults.path)
        #expect(Set(raw.keys) == Set(report.rawScores.keys))
        for (k, x) in report.rawScores { #expect(abs((raw[k] ?? .nan) - x) < 1e-12, "\(k)") }
        // Clean against its own baseline: pass.
        let again = try Self.run([clean.path, "--suite", suite.path, "--baseline", baseline.path, "--max-drop", "1", "--quiet"])
        #expect(again.status == 0, "\(again.out)\(again.err)")
        #expect(again.out.contains("no regression"))
        // Degraded: exit 3 and the dimensions that fell.
        let worse = try Self.run([bad.path, "--suite", suite.path, "--baseline", baseline.path, "--max-drop", "1", "--quiet"])
        #expect(worse.status == 3, "\(worse.out)\(worse.err)")
        #expect(worse.out.contains("REGRESSION") && worse.out.contains("imaging_quality") && worse.out.contains("temporal_style"))
        #expect(worse.out.split(separator: "\n").last?.hasPrefix("total_score=") == true)
        // Errors exit 1 with a message naming the input.
        let missing = try Self.run([root.appendingPathComponent("nope.mp4").path])
        #expect(missing.status == 1 && missing.err.contains("nope.mp4"))
        let notVideo = root.appendingPathComponent("notvideo.mp4")
        try Data("hello".utf8).write(to: notVideo)
        let broken = try Self.run([notVideo.path])
        #expect(broken.status == 1 && broken.err.contains("notvideo.mp4"))
        let badSuite = try Self.run([clean.path, "--suite", notVideo.path])
        #expect(badSuite.status == 1 && badSuite.err.contains("notvideo.mp4"))
    }

    @Test func aggregateReproducesWorkedExample() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vbl-agg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var obj: [String: Any] = [:]
        for (d, v) in zip(VBenchDimension.allCases, AggregationTests.workedExample) {
            obj[d.rawValue] = [v, [["video_path": "x-0.mp4", "video_results": v]]]
        }
        let file = dir.appendingPathComponent("results_eval_results.json")
        try JSONSerialization.data(withJSONObject: obj).write(to: file)
        let r = try Self.run(["--aggregate", file.path])
        #expect(r.status == 0, "\(r.err)")
        func value(_ key: String) -> Double {
            r.out.split(separator: "\n").first { $0.hasPrefix(key + "=") }.flatMap { Double($0.dropFirst(key.count + 1)) } ?? .nan
        }
        #expect(abs(value("quality_score") - 84.43) < 0.005 && abs(value("semantic_score") - 73.23) < 0.005)
        #expect(r.out.split(separator: "\n").last == "total_score=82.1881")
        let bad = dir.appendingPathComponent("bad.json")
        try Data("{\"flickering\": [0.9, []]}".utf8).write(to: bad)
        let e = try Self.run(["--aggregate", bad.path])
        #expect(e.status == 1 && e.err.contains("flickering"))
    }
}
