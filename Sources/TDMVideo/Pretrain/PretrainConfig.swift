import Foundation
import TensorCore
import VideoCommon
import VideoModel

/// `configs/pretrain*.yaml`: how the teacher is built and trained. Every field has a default; unknown
/// fields are refused.
public struct PretrainConfig: ConfigSection, Equatable {
    public struct Data: ConfigSection, Equatable {
        public init() {}
        public var width = 32, height = 32, frames = 16
        public var fps = 8.0
        /// The world the clips come from: `coarse` (the original world, the default) or `fine`.
        public var detail = WorldDetail.coarse
        public enum CodingKeys: String, CodingKey, CaseIterable { case width, height, frames, fps, detail }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            width = try c.decode(Int.self, forKey: .width)
            height = try c.decode(Int.self, forKey: .height)
            frames = try c.decode(Int.self, forKey: .frames)
            fps = try c.decode(Double.self, forKey: .fps)
            detail = try c.decodeIfPresent(WorldDetail.self, forKey: .detail) ?? .coarse
        }

        /// `detail` is written only when it is not coarse, so a coarse config's fingerprint (which
        /// checkpoints carry) is the one it had before the field existed: old runs still resume.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(width, forKey: .width)
            try c.encode(height, forKey: .height)
            try c.encode(frames, forKey: .frames)
            try c.encode(fps, forKey: .fps)
            if detail != .coarse { try c.encode(detail, forKey: .detail) }
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((8...256).contains(width), file, path, "width", "an integer in 8...256")
            try ConfigFile.require((8...256).contains(height), file, path, "height", "an integer in 8...256")
            try ConfigFile.require((2...128).contains(frames), file, path, "frames", "an integer in 2...128")
            try ConfigFile.require(fps > 0 && fps <= 120, file, path, "fps", "a number in (0, 120]")
        }
    }

    public struct Model: ConfigSection, Equatable {
        public init() {}
        public var layers = 6, heads = 6
        public var headDim = 32, timeEmbedDim = 128, textEmbedDim = 64, textLength = 24, patchSize = 2
        public var init_ = InitScheme.adalnZero
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case layers, heads, headDim = "head_dim", timeEmbedDim = "time_embed_dim", textEmbedDim = "text_embed_dim"
            case textLength = "text_length", patchSize = "patch_size", init_ = "init"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...64).contains(layers), file, path, "layers", "an integer in 1...64")
            try ConfigFile.require((1...64).contains(heads), file, path, "heads", "an integer in 1...64")
            try ConfigFile.require((1...256).contains(headDim) && (heads * headDim) % 16 == 0, file, path, "head_dim", "an integer in 1...256, with heads x head_dim divisible by 16")
            try ConfigFile.require((1...4096).contains(timeEmbedDim), file, path, "time_embed_dim", "an integer in 1...4096")
            try ConfigFile.require((2...4096).contains(textEmbedDim), file, path, "text_embed_dim", "an integer in 2...4096")
            try ConfigFile.require((2...512).contains(textLength), file, path, "text_length", "an integer in 2...512")
            try ConfigFile.require((1...8).contains(patchSize), file, path, "patch_size", "an integer in 1...8")
        }
    }

    public struct Codec: ConfigSection, Equatable {
        public init() {}
        public var channels = 12, spatialFactor = 4, temporalFactor = 2, fitClips = 512
        /// "global": one scaling factor (CogVideoX's VAE); "per_channel": each channel to unit variance.
        public var normalize = CodecNormalization.global
        /// Weight of the blocks' fine detail in the fit (`PCALatentCodec.fit`'s hfWeight; 0: plain PCA).
        public var hfWeight = 0.0
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case channels, spatialFactor = "spatial_factor", temporalFactor = "temporal_factor", fitClips = "fit_clips", normalize
            case hfWeight = "hf_weight"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...8).contains(spatialFactor), file, path, "spatial_factor", "an integer in 1...8")
            try ConfigFile.require((1...8).contains(temporalFactor), file, path, "temporal_factor", "an integer in 1...8")
            let block = spatialFactor * spatialFactor * temporalFactor * 3
            try ConfigFile.require(channels >= 1 && channels <= block, file, path, "channels", "an integer in 1...\(block) (the block size)")
            try ConfigFile.require((1...100_000).contains(fitClips), file, path, "fit_clips", "an integer in 1...100000")
            try ConfigFile.require(hfWeight.isFinite && (0...1000).contains(hfWeight), file, path, "hf_weight", "a number in 0...1000")
        }
    }

    public struct Train: ConfigSection, Equatable {
        public init() {}
        public var steps = 20_000, batch = 32
        public var lr = 1e-3, warmupSteps = 500, minLrRatio = 0.1, weightDecay = 0.01
        public var beta1 = 0.9, beta2 = 0.999, gradClip = 1.0, emaDecay = 0.999, promptDropout = 0.1
        public var snrShiftScale = 3.0
        /// Input perturbation γ (Ning et al., "Input Perturbation Reduces Exposure Bias in Diffusion
        /// Models", 2023): the network sees x_t built from ε + γ·ξ (ξ fresh Gaussian noise) while the v
        /// target keeps ε, so it learns to correct inputs slightly off the training distribution, as a
        /// sampler's own x_t are after many steps. 0 turns it off (the default, CogVideoX's recipe).
        public var inputPerturbation = 0.0
        public var seed = 1, checkpointEvery = 500, logEvery = 20, maxBadSteps = 20
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case steps, batch, lr, warmupSteps = "warmup_steps", minLrRatio = "min_lr_ratio", weightDecay = "weight_decay"
            case beta1, beta2, gradClip = "grad_clip", emaDecay = "ema_decay", promptDropout = "prompt_dropout"
            case snrShiftScale = "snr_shift_scale", inputPerturbation = "input_perturbation", seed, checkpointEvery = "checkpoint_every", logEvery = "log_every"
            case maxBadSteps = "max_bad_steps"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...10_000_000).contains(steps), file, path, "steps", "an integer in 1...10000000")
            try ConfigFile.require((1...4096).contains(batch), file, path, "batch", "an integer in 1...4096")
            try ConfigFile.require(lr > 0 && lr < 1, file, path, "lr", "a number in (0, 1)")
            try ConfigFile.require((0...10_000_000).contains(warmupSteps), file, path, "warmup_steps", "an integer in 0...10000000")
            try ConfigFile.require(minLrRatio >= 0 && minLrRatio <= 1, file, path, "min_lr_ratio", "a number in [0, 1]")
            try ConfigFile.require(weightDecay >= 0 && weightDecay < 1, file, path, "weight_decay", "a number in [0, 1)")
            try ConfigFile.require(beta1 >= 0 && beta1 < 1, file, path, "beta1", "a number in [0, 1)")
            try ConfigFile.require(beta2 > 0 && beta2 < 1, file, path, "beta2", "a number in (0, 1)")
            try ConfigFile.require(gradClip > 0 && gradClip <= 1e6, file, path, "grad_clip", "a number in (0, 1e6]")
            try ConfigFile.require(emaDecay >= 0 && emaDecay < 1, file, path, "ema_decay", "a number in [0, 1)")
            try ConfigFile.require(promptDropout >= 0 && promptDropout < 1, file, path, "prompt_dropout", "a number in [0, 1)")
            try ConfigFile.require(snrShiftScale > 0 && snrShiftScale <= 1000, file, path, "snr_shift_scale", "a number in (0, 1000]")
            try ConfigFile.require(inputPerturbation >= 0 && inputPerturbation < 1, file, path, "input_perturbation", "a number in [0, 1)")
            try ConfigFile.require(seed >= 0 && seed <= 1 << 53, file, path, "seed", "an integer in 0...2^53")
            try ConfigFile.require((1...10_000_000).contains(checkpointEvery), file, path, "checkpoint_every", "an integer in 1...10000000")
            try ConfigFile.require((1...10_000_000).contains(logEvery), file, path, "log_every", "an integer in 1...10000000")
            try ConfigFile.require((1...1_000_000).contains(maxBadSteps), file, path, "max_bad_steps", "an integer in 1...1000000")
        }
    }

    /// The teacher's default sampling, written into its package (training does not depend on it).
    public struct Sampling: ConfigSection, Equatable {
        public init() {}
        public var scheduler = SchedulerKind.ddim, steps = 50
        public var guidance = 6.0
        public enum CodingKeys: String, CodingKey, CaseIterable { case scheduler, steps, guidance }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...1000).contains(steps), file, path, "steps", "an integer in 1...1000")
            try ConfigFile.require(guidance >= 1 && guidance <= 50, file, path, "guidance", "a number in [1, 50] (1 disables guidance)")
        }
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case data, model, codec, train, sampling }
    public static var sections: [String: any ConfigSection.Type] {
        ["data": Data.self, "model": Model.self, "codec": Codec.self, "train": Train.self, "sampling": Sampling.self]
    }

    public var data = Data()
    public var model = Model()
    public var codec = Codec()
    public var train = Train()
    public var sampling = Sampling()

    /// What a checkpoint must have been trained with to resume or export: everything but `sampling`.
    public var trainingFingerprint: String {
        var c = self
        c.sampling = Sampling()
        return ConfigFile.fingerprint(c)
    }

    public init() {}


    public func validate(file: String, path: String) throws {
        try data.validate(file: file, path: "data")
        try model.validate(file: file, path: "model")
        try codec.validate(file: file, path: "codec")
        try train.validate(file: file, path: "train")
        try sampling.validate(file: file, path: "sampling")
        try ConfigFile.require(data.frames % codec.temporalFactor == 0, file, "data", "frames", "a multiple of codec.temporal_factor (\(codec.temporalFactor))")
        let tile = codec.spatialFactor * model.patchSize
        try ConfigFile.require(data.width % tile == 0, file, "data", "width", "a multiple of codec.spatial_factor x model.patch_size (\(tile))")
        try ConfigFile.require(data.height % tile == 0, file, "data", "height", "a multiple of codec.spatial_factor x model.patch_size (\(tile))")
    }
}

/// How the teacher's weights start.
public enum InitScheme: String, NamedChoice {
    /// adaLN-Zero (DiT): every modulation and the output projection at zero, so each block starts as
    /// the identity and the model as the zero predictor.
    case adalnZero = "adaln_zero"
    /// PyTorch's default layer initialisation everywhere.
    case pytorch
}

/// How the PCA codec scales its latent channels.
public enum CodecNormalization: String, NamedChoice {
    /// One scaling factor for all channels (as CogVideoX's VAE).
    case global
    /// Each channel to unit variance.
    case perChannel = "per_channel"
}
