import Foundation
import TensorCore
import VideoInference
import VideoModel

/// The memory a training run would take, estimated from its validated config before anything is
/// allocated, so `MemoryBudget` refuses a run that cannot fit with the figure (see
/// `CogVideoXConfig.activationBytes` for what the activations count).
public enum RunMemory {
    /// Pretraining: parameters with gradients, AdamW's two moments and the EMA (5 slabs), every block's
    /// activations for the batch, the batch of clips, and the clips the codec is fitted on (all held at once).
    public static func pretrain(_ c: PretrainConfig) -> Double {
        let m = Pretrainer.modelConfig(c)
        let f = Double(c.data.frames), h = Double(c.data.height), w = Double(c.data.width)
        let clip = 4 * f * h * w * 3
        let lf = c.data.frames / c.codec.temporalFactor
        let lh = c.data.height / c.codec.spatialFactor, lw = c.data.width / c.codec.spatialFactor
        return 5 * 4 * Double(m.parameterCount)
            + m.activationBytes(batch: c.train.batch, latentFrames: lf, latentHeight: lh, latentWidth: lw,
                                textLength: c.model.textLength, training: true)
            + 2 * Double(c.train.batch) * clip + Double(c.codec.fitClips) * clip
    }

    /// Distillation: the teacher's slab, the student and the fake score (each with gradients and
    /// AdamW's moments: 4 slabs each), a training pass of each, the teacher's CFG pass on the batch, and with
    /// the teacher anchor its pairs (K + 1 latents and a prompt embedding each), and with the tuned real score its
    /// copy (4 slabs) and teacher samples.
    public static func distill(_ c: DistillConfig, teacher: ModelPackage) -> Double {
        let m = teacher.transformer.config, v = teacher.metadata.video
        let ls = teacher.codec.latentShape(frames: v.frames, height: v.height, width: v.width)
        let l = teacher.metadata.textEncoder.textLength
        let latent = Double(ls.frames) * Double(ls.channels) * Double(ls.height) * Double(ls.width)
        let anchorPairs = c.tdm.anchorWeight > 0
            ? 4 * Double(c.tdm.anchorPairs) * (Double(c.tdm.steps + 1) * latent + Double(l * teacher.metadata.textEncoder.embedDim)) : 0
        // The tuned real score: its weights, gradients and AdamW moments (4 slabs), and its teacher samples with,
        // while they are sampled, their starting noise (2 latents and a prompt embedding each).
        let tuned = c.tdm.realScore == .tuned
            ? 4 * 4 * Double(m.parameterCount) + 4 * Double(c.tdm.realTuneSamples) * (2 * latent + Double(l * teacher.metadata.textEncoder.embedDim)) : 0
        return 9 * 4 * Double(m.parameterCount)
            + 2 * m.activationBytes(batch: c.optim.batch, latentFrames: ls.frames, latentHeight: ls.height,
                                    latentWidth: ls.width, textLength: l, training: true)
            + m.activationBytes(batch: 2 * c.optim.batch, latentFrames: ls.frames, latentHeight: ls.height,
                                latentWidth: ls.width, textLength: l, training: false)
            + 4 * Double(c.optim.batch) * Double(v.frames) * Double(v.height) * Double(v.width) * 3 * 2
            + anchorPairs + tuned
    }
}
