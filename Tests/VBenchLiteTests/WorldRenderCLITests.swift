import Foundation
import Testing
import VideoCommon
@testable import VBenchLite

/// The world's own ground-truth clips (rendered by `tdm-video world render`, encoded to MP4, decoded
/// back) scored against the world's held-out suite through `tdm-video score --suite`: every semantic
/// dimension that applies must be at least 0.95 (normalised; for temporal style and overall
/// consistency, the fraction of checks).
@Suite("tdm-video score on the world's ground truth") struct WorldRenderCLITests {
    @Test func groundTruthSemanticsAboveThreshold() throws {
        let bin = RegressionGateCLITests.binary
        #expect(FileManager.default.isExecutableFile(atPath: bin.path), "build the CLI first: swift build -c release")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vbl-world-\(UUID().uuidString)")
        let clips = root.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        func tool(_ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = bin
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        let suite = root.appendingPathComponent("suite.json")
        #expect(try tool(["world", "suite", "--which", "heldout", "--out", suite.path]) == 0)
        let entries = try PromptSuite.load(suite)
        #expect(entries.count >= 8)
        for (i, e) in entries.enumerated() {
            let seed = i % 3
            let out = clips.appendingPathComponent("\(e.promptEn)-\(seed).mp4")
            #expect(try tool(["world", "render", e.promptEn, "--seed", "\(seed)", "--out", out.path]) == 0, "\(e.promptEn)")
        }
        let reportURL = root.appendingPathComponent("report.json")
        let run = try RegressionGateCLITests.run([clips.path, "--suite", suite.path, "--out", reportURL.path, "--quiet"])
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
