import Foundation
import Testing
@testable import TDMVideo
@testable import TensorCore
@testable import VideoModel

/// Both TDM losses against central differences in the networks' output v: every fake-loss and
/// generator-loss form, at timesteps across the schedule (the clean end included).
@Suite("TDM objectives: finite differences") struct TDMObjectivesTests {
    static let scheduler = CogVideoXDDIMScheduler(schedule: NoiseSchedule(snrShiftScale: 3))
    static let per = 48, batch = 2

    static func random(_ n: Int, _ rng: inout RNG, scale: Float = 1) -> [Float] { rng.normal(n).map { $0 * scale } }

    @Test(arguments: FakeLoss.allCases) func fakeScoreLossGradient(kind: FakeLoss) {
        var rng = RNG(seed: 7)
        let n = Self.per * Self.batch
        let t = TDMObjectives.FakeScoreTargets(xt: Self.random(n, &rng), taus: [856, 120], x0: Self.random(n, &rng),
                                               v: Self.random(n, &rng), weights: [0.7, 1.3])
        let v = Self.random(n, &rng)
        let (_, dV, _) = TDMObjectives.fakeScoreLoss(v: v, t, kind: kind, scheduler: Self.scheduler)
        let idx = GradCheck.sampleIndices(n, count: 40, seed: 3)
        let num = GradCheck.numeric({ TDMObjectives.fakeScoreLoss(v: $0, t, kind: kind, scheduler: Self.scheduler).loss }, at: v, indices: idx)
        let (err, worst) = GradCheck.compare(analytic: dV, numeric: num, indices: idx)
        print("finite differences, fake loss \(kind): relative error \(err)")
        #expect(err < 1e-4, "\(kind): relative error \(err) at \(worst)")
    }

    @Test(arguments: GeneratorLoss.allCases) func generatorLossGradient(kind: GeneratorLoss) {
        var rng = RNG(seed: 11)
        let n = Self.per * Self.batch
        // Targets 0.3 apart on average, so the elementwise Huber (c = 0.05 here) is smooth at the step h.
        let t = TDMObjectives.GeneratorTargets(sample: Self.random(n, &rng), timesteps: [856, 399],
                                               target: Self.random(n, &rng), normaliser: [0.3, 0.5])
        let v = Self.random(n, &rng)
        let c: Float = 0.05
        let (_, dV) = TDMObjectives.generatorLoss(v: v, t, kind: kind, huberC: c, scheduler: Self.scheduler)
        let idx = GradCheck.sampleIndices(n, count: 40, seed: 5)
        let num = GradCheck.numeric({ TDMObjectives.generatorLoss(v: $0, t, kind: kind, huberC: c, scheduler: Self.scheduler).loss },
                                    at: v, indices: idx, h: 1e-3)
        let (err, worst) = GradCheck.compare(analytic: dV, numeric: num, indices: idx)
        print("finite differences, generator loss \(kind): relative error \(err)")
        #expect(err < 5e-3, "\(kind): relative error \(err) at \(worst)")
    }
}
