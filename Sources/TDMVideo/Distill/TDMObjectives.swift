import Foundation
import TensorCore
import VideoModel

/// The two losses of a TDM iteration as functions of the networks' raw outputs (v-prediction), each
/// paired with its gradient with respect to that output, llm.c style: `Distiller.fakeScoreStep` and
/// `Distiller.generatorStep` backpropagate these gradients, the golden test (scripts/tdm_golden.py,
/// written from the authors' train_tdm_demo.py and adapted to v-prediction) checks their values and
/// the parameter gradients they lead to, and the finite-difference test checks each gradient against
/// its loss. Arrays hold `batch` equal per-sample slices of `per` values.
enum TDMObjectives {
    /// What the fake score regresses at its draws x_τ: the student's x0, the v of (x0, mixed noise)
    /// at τ (x_τ = a_τ·x0 + s_τ·mixed), and a per-sample weight (importance weight, times min(SNR,
    /// clamp) for `x0_min_snr`).
    struct FakeScoreTargets {
        var xt: [Float]
        var taus: [Int]
        var x0: [Float]
        var v: [Float]
        var weights: [Float]
    }

    /// mean_b weight_b · mean((v − v_target)²) (`v_mse`), or mean_b weight_b · mean((x0(v) − x0)²)
    /// (`x0_min_snr`); d loss / d v; and per sample the unweighted v-MSE (the log's diagnostic).
    static func fakeScoreLoss(v: [Float], _ t: FakeScoreTargets, kind: FakeLoss, scheduler: CogVideoXDDIMScheduler)
        -> (loss: Double, dV: [Float], vMSE: [Double]) {
        let bsz = t.taus.count, per = v.count / bsz
        let f = kind == .x0MinSNR ? scheduler.predictOriginal(v: v, sample: t.xt, timesteps: t.taus) : []
        var dV = [Float](repeating: 0, count: v.count), vmse = [Double](repeating: 0, count: bsz)
        var loss = 0.0
        for b in 0..<bsz {
            let st = scheduler.sigma(t.taus[b]), w = t.weights[b]
            var l = 0.0, lv = 0.0
            for i in (b * per)..<((b + 1) * per) {
                let dv = v[i] - t.v[i]
                lv += Double(dv * dv)
                switch kind {
                case .vMSE:
                    dV[i] = 2 * dv * w / Float(per * bsz)
                case .x0MinSNR:
                    // x0 = a_τ·x − s_τ·v, so d/dv = −s_τ · d/dx0.
                    let diff = f[i] - t.x0[i]
                    l += Double(diff * diff)
                    dV[i] = -2 * diff * st * w / Float(per * bsz)
                }
            }
            if kind == .vMSE { l = lv }
            loss += l / Double(per) * Double(w) / Double(bsz)
            vmse[b] = lv / Double(per)
        }
        return (loss, dV, vmse)
    }

    /// The generator's surrogate at its step: x0(v) at x_{t_k} against the fixed target
    /// sg(x0 + real − fake), with the per-sample normaliser w = mean|x0 − real| (fixed), as
    /// `generator_loss` says; d loss / d v.
    struct GeneratorTargets {
        var sample: [Float]
        var timesteps: [Int]
        var target: [Float]
        var normaliser: [Float]
    }

    static func generatorLoss(v: [Float], _ t: GeneratorTargets, kind: GeneratorLoss, huberC: Float,
                              scheduler: CogVideoXDDIMScheduler) -> (loss: Double, dV: [Float]) {
        let bsz = t.timesteps.count, per = v.count / bsz, total = Float(v.count)
        let x0 = scheduler.predictOriginal(v: v, sample: t.sample, timesteps: t.timesteps)
        // The paper's Eq. 11 constant: c = 0.00054·√d with d the latent's element count.
        let cVector = Float(0.00054 * Double(per).squareRoot()), c = huberC
        var dV = [Float](repeating: 0, count: v.count)
        var loss = 0.0
        for b in 0..<bsz {
            let off = b * per, w = t.normaliser[b], sg = scheduler.sigma(t.timesteps[b])
            var sq = 0.0
            for i in off..<(off + per) { let d = Double(x0[i] - t.target[i]); sq += d * d }
            let qv = Float((sq + Double(cVector * cVector)).squareRoot())
            if kind == .huberVector { loss += Double(qv - cVector) / Double(bsz) }
            for i in off..<(off + per) {
                let diff = x0[i] - t.target[i]
                let dl: Float
                switch kind {
                case .huberElementwise:
                    let q = (diff * diff + c * c).squareRoot()
                    loss += Double((q - c) / w) / Double(total)
                    dl = diff / q / w / total
                case .huberVector:
                    dl = diff / qv / Float(bsz)
                case .mse:
                    loss += Double(diff * diff / w) / Double(total)
                    dl = 2 * diff / w / total
                }
                dV[i] = -sg * dl
            }
        }
        return (loss, dV)
    }

    /// The teacher anchor (`tdm.anchor_weight`): the student's DDIM step from the teacher's trajectory point
    /// x_{t_k} to t_{k−1}, x̂ = a_m·x0(v) + s_m·ε(v) (x0(v) alone for the last step, t_{k−1} = −1), against
    /// the teacher's own point there: weight × mean((x̂ − target)²) over every element; d loss / d v. x̂ is
    /// linear in v: x̂ = (a_m·a_t + s_m·s_t)·x + (s_m·a_t − a_m·s_t)·v.
    static func anchorLoss(v: [Float], sample: [Float], timesteps: [Int], next: [Int], target: [Float], weight: Float,
                           scheduler: CogVideoXDDIMScheduler) -> (loss: Double, dV: [Float]) {
        let bsz = timesteps.count, per = v.count / bsz, total = Float(v.count)
        var dV = [Float](repeating: 0, count: v.count)
        var loss = 0.0
        for b in 0..<bsz {
            let at = scheduler.alpha(timesteps[b]), st = scheduler.sigma(timesteps[b])
            let am = scheduler.alpha(next[b]), sm = scheduler.sigma(next[b])
            let cx = am * at + sm * st, cv = sm * at - am * st
            for i in (b * per)..<((b + 1) * per) {
                let diff = cx * sample[i] + cv * v[i] - target[i]
                loss += Double(weight * diff * diff) / Double(total)
                dV[i] = 2 * weight * diff * cv / total
            }
        }
        return (loss, dV)
    }
}
