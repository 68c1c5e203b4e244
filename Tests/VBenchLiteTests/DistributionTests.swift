import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import VBenchLite

/// The distribution metrics (issue 18): each test fails when its metric is broken.
@Suite("Distribution metrics against reference clips") struct DistributionTests {
    static let n: UInt64 = 16
    static let prompts = SceneDistribution.prompts()
    /// Reference seeds, floor seeds and evaluated seeds are disjoint.
    static let reference = prompts.map { $0.clips(1000..<(1000 + n)) }
    static let floor = prompts.map { $0.clips(2000..<(2000 + n)) }
    static let truth = prompts.map { $0.clips(0..<n) }

    static func report(_ evaluated: [[RGBVideo]], bootstrap: Int = 200) throws -> DistributionReport {
        let input = prompts.indices.map { p in
            DistributionPrompt(prompt: prompts[p].name, still: prompts[p].still,
                               evaluated: evaluated[p].map(ClipFeatures.extract),
                               reference: reference[p].map(ClipFeatures.extract),
                               floor: floor[p].map(ClipFeatures.extract))
        }
        return try #require(DistributionEvaluator(bootstrap: bootstrap).evaluate(input, referenceLabel: "test scenes"))
    }

    static func value(_ r: DistributionReport, _ name: String) throws -> Double { try #require(r[name]).value }

    @Test func blurRaisesFrechetDistanceAndSharpnessGapAndLowersPrecision() throws {
        var fd: [Double] = [], gap: [Double] = [], precision: [Double] = []
        for sigma in [0.0, 0.5, 1, 1.5, 2] {
            let clips = Self.truth.map { $0.map { sigma == 0 ? $0 : Degrade.blur($0, sigma: sigma) } }
            let r = try Self.report(clips, bootstrap: 0)
            fd.append(try Self.value(r, "frechet_distance"))
            gap.append(try Self.value(r, "sharpness_gap"))
            precision.append(try Self.value(r, "precision"))
        }
        print("blur 0, 0.5, 1, 1.5, 2: FD \(fd), sharpness gap \(gap), precision \(precision)")
        for i in 1..<fd.count {
            #expect(fd[i] > fd[i - 1], "Frechet distance must rise with blur: \(fd)")
            #expect(gap[i] > gap[i - 1], "sharpness gap must rise with blur: \(gap)")
            #expect(precision[i] <= precision[i - 1], "precision must not rise with blur: \(precision)")
        }
        #expect(precision[1] < precision[0] && precision[4] < precision[1], "precision must fall with blur: \(precision)")
    }

    @Test func collapsedSetsHaveNoDiversityOrRecall() throws {
        let truth = try Self.report(Self.truth)
        for noise in [0.0, 1.0] {
            let clips = Self.truth.map { Disturb.collapsed($0[3], count: $0.count, noise: noise) }
            let r = try Self.report(clips)
            let div = try Self.value(r, "diversity"), rec = try Self.value(r, "recall")
            print("collapsed, noise \(noise): diversity \(div), recall \(rec); truth: \(try Self.value(truth, "diversity")), \(try Self.value(truth, "recall"))")
            #expect(div <= 0.1 && rec <= 0.1, "collapsed (noise \(noise)): diversity \(div), recall \(rec)")
            #expect(try Self.value(r, "diversity_worst") <= 0.1)
        }
        #expect(try Self.value(truth, "diversity") > 0.7 && Self.value(truth, "recall") > 0.7)
    }

    /// Other seeds of the same distribution: every metric inside its floor's interval.
    @Test func worldAgainstWorldSitsInsideTheFloor() throws {
        let r = try Self.report(Self.truth)
        print(r.table())
        #expect(r.metrics.count == DistributionReport.metricNames.count)
        for m in r.metrics {
            let lo = try #require(m.floorLow), hi = try #require(m.floorHigh)
            #expect(m.value >= lo && m.value <= hi, "\(m.name): \(m.value) outside the floor's interval [\(lo), \(hi)]")
            #expect(m.low <= m.value && m.value <= m.high)
        }
    }

    /// Shimmer on still scenes: still-prompt motion rises above the floor's interval.
    @Test func shimmerRaisesStillMotion() throws {
        let clips = Self.prompts.indices.map { p in Self.truth[p].map { Self.prompts[p].still ? Disturb.shimmer($0, amplitude: 0.8) : $0 } }
        let r = try Self.report(clips)
        let m = try #require(r["still_motion"])
        #expect(m.low > (m.floorHigh ?? .infinity), "still motion \(m.value) [\(m.low), \(m.high)] vs floor \(m.floor ?? .nan) [\(m.floorLow ?? .nan), \(m.floorHigh ?? .nan)]")
    }

    /// The features run at 500 clips per second or more on one core (32×32, 16 frames).
    @Test func featuresAreFast() throws {
        let clips = Self.truth.flatMap { $0 }
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var sink = 0.0
            for _ in 0..<4 { for c in clips { sink += ClipFeatures.extract(c)[0] } }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = min(best, dt / Double(4 * clips.count))
            #expect(sink.isFinite)
        }
        print(String(format: "ClipFeatures: %.3f ms per clip, %.0f clips/s on one core", best * 1000, 1 / best))
        #expect(1 / best >= 500)
    }
}
