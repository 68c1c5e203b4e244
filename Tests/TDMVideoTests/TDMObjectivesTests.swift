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

    /// The teacher anchor's loss: its value against the student's DDIM step made with the scheduler's own
    /// x0 / ε / forward-diffusion functions (the final step: x0 itself), and its gradient against central
    /// differences.
    @Test func anchorLossValueAndGradient() {
        var rng = RNG(seed: 13)
        let n = Self.per * Self.batch, sch = Self.scheduler
        let x = Self.random(n, &rng), target = Self.random(n, &rng), v = Self.random(n, &rng)
        let ts = [856, 399], next = [665, -1], w: Float = 2.5
        let (loss, dV) = TDMObjectives.anchorLoss(v: v, sample: x, timesteps: ts, next: next, target: target, weight: w, scheduler: sch)
        var expected = 0.0
        for b in 0..<Self.batch {
            let r = (b * Self.per)..<((b + 1) * Self.per)
            let xb = Array(x[r]), vb = Array(v[r])
            let x0 = sch.predictOriginal(v: vb, sample: xb, timestep: ts[b]), eps = sch.predictEpsilon(v: vb, sample: xb, timestep: ts[b])
            let step = next[b] >= 0 ? sch.addNoise(original: x0, noise: eps, timestep: next[b]) : x0
            for (i, j) in r.enumerated() { expected += Double(w) * Double((step[i] - target[j]) * (step[i] - target[j])) / Double(n) }
        }
        #expect(abs(loss - expected) <= 1e-5 * expected, "anchor loss \(loss) against \(expected)")
        let idx = GradCheck.sampleIndices(n, count: 40, seed: 9)
        let num = GradCheck.numeric({ TDMObjectives.anchorLoss(v: $0, sample: x, timesteps: ts, next: next, target: target, weight: w,
                                                               scheduler: sch).loss }, at: v, indices: idx)
        let (err, worst) = GradCheck.compare(analytic: dV, numeric: num, indices: idx)
        print("finite differences, anchor loss: relative error \(err)")
        #expect(err < 1e-4, "relative error \(err) at \(worst)")
    }
}

