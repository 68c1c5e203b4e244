import Foundation
import TensorCore

/// The CogVideoX pipeline's denoising loop (`CogVideoXPipeline.__call__`, cogvideox.md §4.7), for any
/// scheduler and step count, with classifier-free guidance: the model sees the batch
/// [uncond ; cond] and v = v_u + g·(v_c − v_u). Guidance 1 (or no negative prompt) runs the
/// conditional branch alone: one network evaluation per step.
public struct Sampler {
    public var steps: Int
    public var guidance: Float
    /// Explicit timesteps (e.g. TDM's shifted student grid); nil uses the scheduler's own spacing.
    public var customTimesteps: [Int]?

    public init(steps: Int, guidance: Float, customTimesteps: [Int]? = nil) {
        self.steps = steps
        self.guidance = guidance
        self.customTimesteps = customTimesteps
    }

    /// Network evaluations per sample.
    public func nfe(hasNegative: Bool) -> Int { steps * (usesCFG(hasNegative: hasNegative) ? 2 : 1) }

    func usesCFG(hasNegative: Bool) -> Bool { hasNegative && guidance != 1 }

    /// Denoises `latents` [B, F, C, H, W] (initial noise) under per-sample prompt embeddings
    /// `prompt` [B, L, Dt] and, for CFG, `negative` [B, L, Dt]. `rng` supplies a stochastic
    /// scheduler's noise. `progress(step, total)` is called after each step.
    public func run<S: Scheduler>(model: CogVideoXTransformer, scheduler: inout S, latents: [Float], shape: VideoShape,
                                  prompt: [Float], negative: [Float]?, textLength: Int, rng: inout RNG,
                                  timeEmbeddingOffset: [Float]? = nil,
                                  progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        guard steps >= 1 else { throw ModelError.badInput("the number of sampling steps must be at least 1, got \(steps)") }
        guard steps <= 1000 else { throw ModelError.badInput("at most 1000 sampling steps, got \(steps)") }
        let ts = customTimesteps ?? scheduler.timesteps(steps: steps)
        scheduler.reset()
        let cfg = usesCFG(hasNegative: negative != nil)
        var x = latents
        let b = shape.batch
        var doubled = shape
        doubled.batch = 2 * b
        let text2 = cfg ? negative! + prompt : prompt
        let offset2 = timeEmbeddingOffset.map { cfg ? $0 + $0 : $0 }
        for (i, t) in ts.enumerated() {
            let v: [Float]
            if cfg {
                let out = try model.forward(hidden: x + x, shape: doubled, text: text2, textLength: textLength,
                                            timesteps: [Float](repeating: Float(t), count: 2 * b),
                                            timeEmbeddingOffset: offset2)
                let half = out.count / 2
                var g = [Float](repeating: 0, count: half)
                for j in 0..<half { g[j] = out[j] + guidance * (out[half + j] - out[j]) }
                v = g
            } else {
                v = try model.forward(hidden: x, shape: shape, text: text2, textLength: textLength,
                                      timesteps: [Float](repeating: Float(t), count: b), timeEmbeddingOffset: offset2)
            }
            let noise = scheduler.isStochastic ? rng.normal(x.count) : nil
            if let custom = customTimesteps {
                // An explicit grid steps to the next listed timestep (x0 after the last).
                let next = i + 1 < custom.count ? custom[i + 1] : -1
                x = ddimStep(scheduler.alphasCumprod, v: v, x: x, t: t, prev: next)
            } else {
                x = scheduler.step(modelOutput: v, timestep: t, sample: x, steps: steps, noise: noise).prevSample
            }
            progress?(i + 1, ts.count)
        }
        return x
    }

    /// DDIM (η = 0) from t to `prev` (−1 means ᾱ_prev = 1, i.e. return x0).
    func ddimStep(_ acp: [Double], v: [Float], x: [Float], t: Int, prev: Int) -> [Float] {
        let at = acp[t], ap = prev >= 0 ? acp[prev] : 1.0
        let x0 = predictOriginal(v: v, sample: x, alphaCumprod: at)
        let a = ((1 - ap) / (1 - at)).squareRoot(), bcoef = ap.squareRoot() - at.squareRoot() * a
        let fa = Float(a), fb = Float(bcoef)
        return (0..<x.count).map { fa * x[$0] + fb * x0[$0] }
    }
}
