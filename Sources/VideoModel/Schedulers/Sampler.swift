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
        if let custom = customTimesteps {
            guard custom.count == steps else {
                throw ModelError.badInput("a timestep grid of \(custom.count) entries for \(steps) sampling steps")
            }
            scheduler.setTimesteps(custom)
        }
        defer { if customTimesteps != nil { scheduler.setTimesteps(nil) } }
        let ts = scheduler.timesteps(steps: steps)
        scheduler.reset()
        let cfg = usesCFG(hasNegative: negative != nil)
        var x = latents
        let b = shape.batch
        for (i, t) in ts.enumerated() {
            let v: [Float]
            let tb = [Float](repeating: Float(t), count: b)
            if cfg {
                // The pair [uncond ; cond] as one batch-2B forward (`forwardGuided`).
                v = try model.forwardGuided(hidden: x, shape: shape, text: prompt, negativeText: negative!,
                                            textLength: textLength, timesteps: tb, guidance: guidance,
                                            timeEmbeddingOffset: timeEmbeddingOffset)
            } else {
                v = try model.forward(hidden: x, shape: shape, text: prompt, textLength: textLength,
                                      timesteps: tb, timeEmbeddingOffset: timeEmbeddingOffset)
            }
            let noise = scheduler.isStochastic ? rng.normal(x.count) : nil
            x = scheduler.step(modelOutput: v, timestep: t, sample: x, steps: steps, noise: noise).prevSample
            progress?(i + 1, ts.count)
        }
        return x
    }
}
