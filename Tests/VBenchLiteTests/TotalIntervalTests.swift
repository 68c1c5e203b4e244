import Foundation
import Testing
import VideoCommon
@testable import VBenchLite

/// Total's interval over seeds: each resample's Total is exactly the Total of that multiset of clips,
/// the interval brackets the full-set Total and widens with the spread between seeds, and it is only
/// drawn when every prompt has at least two clips.
@Suite("VBenchLite Total interval") struct TotalIntervalTests {
    /// Two prompts, three "seeds" each: the circle at three positions (one clip noisy), the square still.
    static let clips: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = {
        var out: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        for seed in 0..<3 {
            var a = Scene(frames: 8)
            a.objects = [SceneObject(color: "red", shape: "circle", x: 24 + 6 * Double(seed), y: 30, size: 14, vx: 1.5, motion: "moving right")]
            var va = a.render()
            if seed == 2 { va = Degrade.noise(va, sigma: 18) }
            out.append((name: "circle-\(seed)", video: va, prompt: a.prompt()))
            var b = Scene(frames: 8)
            b.backgroundKind = "gradient"
            b.objects = [SceneObject(color: "blue", shape: "square", x: 28 + 4 * Double(seed), y: 34, size: 12)]
            out.append((name: "square-\(seed)", video: b.render(), prompt: b.prompt()))
        }
        return out
    }()

    @Test func eachResampleIsTheTotalOfItsClips() throws {
        let scorer = VBenchLite(parallel: false)
        let c = scorer.contributions(videos: Self.clips)
        for pick in [[0, 0, 2, 3, 5, 5], [1, 1, 1, 4, 4, 4], [0, 1, 2, 3, 4, 5]] {
            let direct = try #require(scorer.evaluate(videos: pick.map { Self.clips[$0] }).totalScore)
            let resampled = try #require(VBenchLite.total(of: pick, contributions: c, requested: scorer.dimensions))
            #expect(abs(direct - resampled) < 1e-12, "\(pick): \(direct) vs \(resampled)")
        }
    }

    @Test func intervalBracketsTheTotalAndNeedsTwoSeedsAPrompt() throws {
        let report = VBenchLite(parallel: false).evaluate(videos: Self.clips)
        let total = try #require(report.totalScore)
        let ci = try #require(report.totalScoreInterval)
        #expect(ci.count == 2 && ci[0] <= total && total <= ci[1] && ci[1] - ci[0] > 1e-4, "\(ci) around \(total)")
        #expect(VBenchLite.seedGroups(Self.clips.map { $0.prompt?.promptEn }) == [[0, 2, 4], [1, 3, 5]])
        // One clip of a prompt (or a clip without one): no interval.
        #expect(VBenchLite(parallel: false).evaluate(videos: [0, 2, 4, 1].map { Self.clips[$0] }).totalScoreInterval == nil)
        #expect(VBenchLite.seedGroups(["a", "a", nil, "b", "b"]) == nil)
        // Identical seeds: no spread, a zero-width interval.
        let same = [0, 0, 0, 1, 1, 1].map { i -> (name: String, video: RGBVideo, prompt: PromptEntry?) in
            let c = Self.clips[i]
            return (name: "\(c.name)-\(UUID())", video: c.video, prompt: c.prompt)
        }
        let flat = try #require(VBenchLite(parallel: false).evaluate(videos: same).totalScoreInterval)
        #expect(abs(flat[1] - flat[0]) < 1e-9, "\(flat)")
        // It survives the JSON round trip; a report written before it existed decodes without one.
        let back = try ScoreReport.decode(try report.jsonData())
        #expect(back.totalScoreInterval == ci)
        var old = try JSONSerialization.jsonObject(with: try report.jsonData()) as! [String: Any]
        old.removeValue(forKey: "total_score_interval")
        #expect(try ScoreReport.decode(try JSONSerialization.data(withJSONObject: old)).totalScoreInterval == nil)
        #expect(report.table().contains(String(format: "[%.2f, %.2f]", ci[0] * 100, ci[1] * 100)))
    }
}
