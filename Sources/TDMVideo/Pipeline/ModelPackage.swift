import Foundation
import TensorCore
import VideoModel

/// tdm-video's own file beside a diffusers model folder (`tdm_video.json`): what turns the bare
/// transformer into a text-to-video model. The transformer files stay exactly diffusers'.
public struct PackageMetadata: Codable, Equatable, Sendable {
    public struct Video: Codable, Equatable, Sendable {
        public var frames: Int, height: Int, width: Int
        public var fps: Double
    }
    public struct Sampling: Codable, Equatable, Sendable {
        /// "ddim" or "dpm".
        public var scheduler: String
        public var steps: Int
        public var guidance: Double
        /// An explicit timestep grid (TDM students), overriding the scheduler's spacing.
        public var timesteps: [Int]?
        /// Unified TDM students: the step-count embedding added to the time embedding, per supported K
        /// ("1", "2", "4"), and the time shift of their grids.
        public var stepEmbeddings: [String: [Float]]? = nil
        public var timeShift: Double? = nil

        public init(scheduler: String, steps: Int, guidance: Double, timesteps: [Int]?,
                    stepEmbeddings: [String: [Float]]? = nil, timeShift: Double? = nil) {
            self.scheduler = scheduler
            self.steps = steps
            self.guidance = guidance
            self.timesteps = timesteps
            self.stepEmbeddings = stepEmbeddings
            self.timeShift = timeShift
        }

        enum CodingKeys: String, CodingKey {
            case scheduler, steps, guidance, timesteps, stepEmbeddings = "step_embeddings", timeShift = "time_shift"
        }
    }
    public var formatVersion = 1
    public var kind: String           // "teacher" or "student"
    public var video: Video
    public var textEncoder: HashedTextEncoder
    public var codecFile = "codec.json"
    public var snrShiftScale: Double
    public var sampling: Sampling
    /// How the model was made: the config file's text and the command.
    public var recipe: [String: String] = [:]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", kind, video, textEncoder = "text_encoder", codecFile = "codec_file"
        case snrShiftScale = "snr_shift_scale", sampling, recipe
    }

    public static let fileName = "tdm_video.json"
}

/// A loaded model package: transformer, codec, text encoder and defaults.
public final class ModelPackage {
    public let directory: URL
    public let metadata: PackageMetadata
    public let transformer: CogVideoXTransformer
    public let codec: PCALatentCodec

    public init(directory: URL, metadata: PackageMetadata, transformer: CogVideoXTransformer, codec: PCALatentCodec) {
        self.directory = directory
        self.metadata = metadata
        self.transformer = transformer
        self.codec = codec
    }

    public static func load(_ dir: URL) throws -> ModelPackage {
        let metaURL = dir.appendingPathComponent(PackageMetadata.fileName)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelError.badConfig(dir.path, "no such folder (a model package is a folder with config.json, diffusion_pytorch_model.safetensors, \(PackageMetadata.fileName) and its codec)")
        }
        guard FileManager.default.fileExists(atPath: metaURL.path) else {
            throw ModelError.badConfig(dir.path, "not a tdm-video model package: the folder has no \(PackageMetadata.fileName)")
        }
        let meta: PackageMetadata
        do { meta = try JSONDecoder().decode(PackageMetadata.self, from: Data(contentsOf: metaURL)) } catch {
            throw CheckpointError(path: metaURL.path, message: "not a tdm-video model package (\(error))")
        }
        let codecURL = dir.appendingPathComponent(meta.codecFile)
        let codec: PCALatentCodec
        do { codec = try JSONDecoder().decode(PCALatentCodec.self, from: Data(contentsOf: codecURL)) } catch {
            throw CheckpointError(path: codecURL.path, message: "cannot read the latent codec (\(error))")
        }
        do { try codec.validate() } catch {
            throw CheckpointError(path: codecURL.path, message: "\(error)")
        }
        let model = try CogVideoXTransformer.load(directory: dir)
        let c = model.config
        guard codec.latentChannels == c.inChannels, meta.textEncoder.embedDim == c.textEmbedDim,
              meta.textEncoder.textLength == c.maxTextSeqLength || c.useRotaryPositionalEmbeddings else {
            throw CheckpointError(path: dir.path, message: "codec (\(codec.latentChannels) channels) or text encoder (\(meta.textEncoder.embedDim) x \(meta.textEncoder.textLength)) does not fit the transformer (\(c.inChannels) channels, text \(c.textEmbedDim) x \(c.maxTextSeqLength))")
        }
        return ModelPackage(directory: dir, metadata: meta, transformer: model, codec: codec)
    }

    /// Writes the package (diffusers files, codec, metadata), each file atomically.
    public static func save(_ dir: URL, transformer: CogVideoXTransformer, codec: PCALatentCodec,
                            metadata: PackageMetadata, dtype: SafeTensorsDType = .f32) throws {
        try transformer.save(directory: dir, dtype: dtype)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(codec), to: dir.appendingPathComponent(metadata.codecFile)) {
            CheckpointError(path: dir.path, message: $0)
        }
        try AtomicFile.write(try enc.encode(metadata), to: dir.appendingPathComponent(PackageMetadata.fileName)) {
            CheckpointError(path: dir.path, message: $0)
        }
    }
}

/// Text in, pixels out: encode the prompt (and the empty negative prompt), draw the initial noise
/// from the seed, run the sampler, decode the latents.
public struct VideoPipeline {
    public let package: ModelPackage

    public init(_ package: ModelPackage) { self.package = package }

    /// The samplers `render` knows (CogVideoX's DDIM and DPM-Solver++ schedulers).
    public static let schedulers = ["ddim", "dpm"]

    public struct Options: Sendable {
        public var steps: Int
        public var guidance: Double
        public var scheduler: String
        public var timesteps: [Int]?
        /// Added to the time embedding at every step (a unified student's step-count embedding).
        public var timeEmbeddingOffset: [Float]?
        public init(steps: Int, guidance: Double, scheduler: String, timesteps: [Int]? = nil, timeEmbeddingOffset: [Float]? = nil) {
            self.steps = steps
            self.guidance = guidance
            self.scheduler = scheduler
            self.timesteps = timesteps
            self.timeEmbeddingOffset = timeEmbeddingOffset
        }
    }

    public var defaults: Options {
        let s = package.metadata.sampling
        return Options(steps: s.steps, guidance: s.guidance, scheduler: s.scheduler, timesteps: s.timesteps,
                       timeEmbeddingOffset: s.stepEmbeddings?[String(s.steps)])
    }

    /// The model's defaults at another step count. A student (it stores the time shift of its grid)
    /// samples its own shifted K-step grid, so `--steps 4` on a 4-step student is its default, and a
    /// unified student also switches to its step embedding for K; a teacher samples its scheduler's
    /// K-step spacing.
    public func options(steps k: Int) -> Options {
        var o = defaults
        o.steps = k
        let s = package.metadata.sampling
        if let shift = s.timeShift {
            o.timesteps = DistillConfig.grid(steps: k, shift: shift)
            o.timeEmbeddingOffset = s.stepEmbeddings?[String(k)]
        } else {
            o.timesteps = nil
            o.timeEmbeddingOffset = nil
        }
        return o
    }

    /// Network evaluations per clip.
    public func nfe(_ o: Options) -> Int { (o.timesteps?.count ?? o.steps) * (o.guidance != 1 ? 2 : 1) }

    /// Renders one clip: pixels [frames, height, width, 3] in [0, 1].
    public func render(prompt: String, seed: UInt64, options o: Options,
                       progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let m = package.metadata, enc = m.textEncoder
        guard Self.schedulers.contains(o.scheduler) else {
            throw ModelError.badInput("unknown scheduler \"\(o.scheduler)\" (allowed: \(Self.schedulers.joined(separator: ", ")))")
        }
        let ls = package.codec.latentShape(frames: m.video.frames, height: m.video.height, width: m.video.width)
        let shape = VideoShape(batch: 1, frames: ls.frames, channels: ls.channels, height: ls.height, width: ls.width)
        var rng = RNG(seed: seed)
        let noise = rng.normal(shape.count)
        let text = enc.encode(prompt), negative = enc.encode("")
        let schedule = NoiseSchedule(snrShiftScale: m.snrShiftScale)
        let sampler = Sampler(steps: o.timesteps?.count ?? o.steps, guidance: Float(o.guidance), customTimesteps: o.timesteps)
        let latents: [Float]
        if o.scheduler == "dpm" {
            var s = CogVideoXDPMScheduler(schedule: schedule)
            latents = try sampler.run(model: package.transformer, scheduler: &s, latents: noise, shape: shape, prompt: text,
                                      negative: negative, textLength: enc.textLength, rng: &rng,
                                      timeEmbeddingOffset: o.timeEmbeddingOffset, progress: progress)
        } else {
            var s = CogVideoXDDIMScheduler(schedule: schedule)
            latents = try sampler.run(model: package.transformer, scheduler: &s, latents: noise, shape: shape, prompt: text,
                                      negative: negative, textLength: enc.textLength, rng: &rng,
                                      timeEmbeddingOffset: o.timeEmbeddingOffset, progress: progress)
        }
        return try package.codec.decode(latents, frames: m.video.frames, height: m.video.height, width: m.video.width)
    }
}
