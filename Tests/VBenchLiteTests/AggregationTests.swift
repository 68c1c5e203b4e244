import Foundation
import Testing
@testable import VBenchLite

@Suite("VBench normalisation, weights and the gate") struct AggregationTests {
    /// docs/vbench.md §2.2 worked example, in TASK_INFO order.
    static let workedExample: [Double] = [0.9673, 0.9623, 0.9894, 0.9845, 0.6222, 0.6345, 0.7048, 0.8617, 0.7491,
                                          0.782, 0.9014, 0.8071, 0.3132, 0.1943, 0.25, 0.27]

    static var workedRaw: [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(VBenchDimension.allCases.map(\.rawValue), workedExample))
    }

    @Test func workedExampleReproduced() throws {
        let agg = VBenchLite.aggregate(raw: Self.workedRaw)
        let q = try #require(agg.quality), s = try #require(agg.semantic), t = try #require(agg.total)
        #expect(abs(q - 0.8443) < 5e-5, "quality \(q)")
        #expect(abs(s - 0.7323) < 5e-5, "semantic \(s)")
        #expect(abs(t - 0.8219) < 5e-5, "total \(t)")
    }

    @Test func constantsAreVBenchs() {
        #expect(VBenchDimension.allCases.count == 16)
        #expect(VBenchDimension.allCases.filter { $0.group == .quality }.count == 7)
        #expect(VBenchDimension.allCases.reduce(0) { $0 + ($1.group == .quality ? $1.weight : 0) } == 6.5)
        #expect(VBenchDimension.motionSmoothness.normMin == 0.706 && VBenchDimension.motionSmoothness.normMax == 0.9975)
        #expect(VBenchDimension.appearanceStyle.normMin == 0.0009 && VBenchDimension.scene.normMax == 0.8222)
        // Not clipped: above the empirical max normalises above 1.
        #expect(VBenchDimension.motionSmoothness.normalized(0.999) > 1)
    }

    @Test func missingDimensionsAreLeftOut() throws {
        var raw = Self.workedRaw
        raw["human_action"] = nil
        raw["appearance_style"] = nil
        let agg = VBenchLite.aggregate(raw: raw)
        let expectedS = (Self.workedExample.enumerated().filter { [7, 8, 10, 11, 12, 14, 15].contains($0.offset) }
            .map { VBenchDimension.allCases[$0.offset].normalized($0.element) }.reduce(0, +)) / 7
        #expect(abs(try #require(agg.semantic) - expectedS) < 1e-12)
        let onlyQ = VBenchLite.aggregate(raw: ["temporal_flickering": 0.99])
        #expect(onlyQ.semantic == nil && onlyQ.total == onlyQ.quality)
        #expect(VBenchLite.aggregate(raw: [:]).total == nil)
    }

    @Test func evalResultsRoundTrip() throws {
        let json = """
        {"temporal_flickering": [0.97, [{"video_path": "a-0.mp4", "video_results": 0.97}]],
         "dynamic_degree": [0.5, [{"video_path": "a-0.mp4", "video_results": true}, {"video_path": "b-0.mp4", "video_results": false}]],
         "color": 0.8}
        """
        let raw = try ScoreReport.rawScores(fromEvalResults: Data(json.utf8), source: "x.json")
        #expect(raw == ["temporal_flickering": 0.97, "dynamic_degree": 0.5, "color": 0.8])
        #expect(throws: ScoreError.self) { try ScoreReport.rawScores(fromEvalResults: Data("{\"flicker\": [1, []]}".utf8), source: "bad.json") }
        #expect(throws: ScoreError.self) { try ScoreReport.rawScores(fromEvalResults: Data("[1,2]".utf8), source: "bad.json") }
    }

    @Test func baselineGate() throws {
        let base = Self.workedRaw
        var same = base
        same["color"] = 0.9
        let small = BaselineComparison.compare(current: same, baseline: base, maxDrop: 0.5)
        #expect(!small.regressed)
        #expect(small.fallenDimensions.map(\.dimension) == ["color"])
        var worse = base
        worse["motion_smoothness"] = 0.95
        worse["temporal_flickering"] = 0.95
        worse["color"] = 0.95
        let c = BaselineComparison.compare(current: worse, baseline: base, maxDrop: 1.0)
        #expect(c.regressed)
        #expect(Set(c.fallenDimensions.map(\.dimension)) == ["motion_smoothness", "temporal_flickering"])
        #expect(c.fallenDimensions.first?.dimension == "motion_smoothness")
        // Points: the fallen dimensions' contributions add up to the change in Total.
        let sum = c.fallenDimensions.reduce(0) { $0 + $1.totalPoints }
        let gain = (VBenchDimension.color.normalized(0.95) - VBenchDimension.color.normalized(0.9014)) / 9 * 0.2 * 100
        #expect(abs(sum + gain - c.change) < 1e-9)
        // A dimension only one side has does not count.
        var extra = base
        extra["scene"] = nil
        let e = BaselineComparison.compare(current: extra, baseline: base, maxDrop: 0)
        #expect(!e.regressed && e.dimsCompared.count == 15)
    }
}
