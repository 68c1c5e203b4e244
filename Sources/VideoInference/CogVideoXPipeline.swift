import Foundation
import TensorCore
import VideoModel

/// diffusers' `CogVideoXPipeline.__call__` (text to video) over a `DiffusersPipelineFolder`, with the
/// components loaded in turn so that the whole run fits in bounded memory:
/// 1. the tokenizer and T5 encoder encode the prompts and the negative prompt (tokenized to
///    `maxSequenceLength`, T5 run without attention mask, "" encoded like any prompt), then are freed;
/// 2. the transformer is loaded (a LoRA fused into it at its scale, as `fuse_lora` does, or attached
///    unfused, as peft runs it before `fuse_lora`) and denoises the
///    latents [B, F_lat, C, H/8, W/8] (diffusers' and our transformer's layout alike) with the batch
///    [uncond; cond], v = v_u + g (v_c - v_u), and the folder's scheduler (DDIM with eta 0, or DPM), then is
///    freed;
/// 3. the VAE decodes latents / scaling_factor in its frame batches, frames = clamp(x / 2 + 0.5, 0, 1).
/// Peak resident memory (VmHWM) is recorded after each stage.
public final class CogVideoXPipeline {
    public let folder: DiffusersPipelineFolder

    public init(folder: DiffusersPipelineFolder) { self.folder = folder }

    public convenience init(directory: URL) throws { self.init(folder: try DiffusersPipelineFolder.load(directory)) }

    /// What one call renders. `nil` fields take the pipeline's defaults (`defaults`).
    public struct Options: Sendable {
        public var frames: Int
        public var height: Int
        public var width: Int
        public var steps: Int
        public var guidance: Double
        public var scheduler: SchedulerKind
        public var maxSequenceLength: Int
        public var negativePrompt: String = ""
        /// A diffusers `pytorch_lora_weights.safetensors` applied to the transformer at `loraScale`, fused
        /// into its weights or attached unfused (`loraMode`; fused is faster, both give the same output).
        public var lora: URL? = nil
        public var loraScale: Float = 1
        public var loraMode: LoRAMode = .fused
        /// Frames per second written to the clip (CogVideoX-2b's exports use 8).
        public var fps: Double = 8

        public init(frames: Int, height: Int, width: Int, steps: Int, guidance: Double, scheduler: SchedulerKind,
                    maxSequenceLength: Int) {
            self.frames = frames
            self.height = height
            self.width = width
            self.steps = steps
            self.guidance = guidance
            self.scheduler = scheduler
            self.maxSequenceLength = maxSequenceLength
        }
    }

    /// The pipeline's own defaults, from the folder: frames = the transformer's sample_frames, size =
    /// sample_height x sample_width latents times the VAE's spatial factor, 50 steps, guidance 6 (diffusers'
    /// `__call__` defaults), the scheduler class of `scheduler/`, and text length = the transformer's
    /// max_text_seq_length (226 for CogVideoX-2b, the pipeline's default max_sequence_length).
    public var defaults: Options {
        let t = folder.transformerConfig, s = folder.vaeConfig.spatialCompressionRatio
        return Options(frames: t.sampleFrames, height: t.sampleHeight * s, width: t.sampleWidth * s, steps: 50,
                       guidance: 6, scheduler: folder.scheduler.kind, maxSequenceLength: t.maxTextSeqLength)
    }

    /// Network evaluations per clip: two per step with guidance (> 1, as diffusers decides), else one.
    public static func nfe(_ o: Options) -> Int { o.steps * (o.guidance > 1 ? 2 : 1) }

    /// Latent frames of a clip: (frames - 1) / temporal_compression_ratio + 1.
    public func latentShape(batch: Int, options o: Options) throws -> VideoShape {
        let t = folder.transformerConfig, s = folder.vaeConfig.spatialCompressionRatio
        let r = t.temporalCompressionRatio, p = t.patchSize
        guard o.frames >= 1, (o.frames - 1) % r == 0 else {
            throw ModelError.badInput("frames must be 1 + a multiple of \(r) (the VAE's temporal compression), got \(o.frames)")
        }
        guard o.height > 0, o.width > 0, o.height % (s * p) == 0, o.width % (s * p) == 0 else {
            throw ModelError.badInput("height and width must be positive multiples of \(s * p) (VAE factor \(s) x patch \(p)), got \(o.height)x\(o.width)")
        }
        let f = (o.frames - 1) / r + 1
        if let pt = t.patchSizeT, f % pt != 0 {
            throw ModelError.badInput("\(f) latent frames are not a multiple of the transformer's patch_size_t \(pt)")
        }
        return VideoShape(batch: batch, frames: f, channels: t.inChannels, height: o.height / s, width: o.width / s)
    }

    /// What a run produced, with everything the fixture test checks.
    public struct Output {
        public var timesteps: [Int]
        /// [B, L, D] each.
        public var promptEmbeds: [Float]
        public var negativePromptEmbeds: [Float]
        /// Latents after each step, [B, F_lat, C, h, w] each.
        public var latentsAfterStep: [[Float]]
        public var latents: [Float]
        public var latentShape: VideoShape
        /// [B, F, 3, H, W] in [0, 1]; nil when decoding was not asked for.
        public var frames: Tensor?
        /// VmHWM after each stage ("text", "transformer", "vae"), bytes.
        public var peakResidentBytes: [(stage: String, bytes: Int?)] = []
        public var stageSeconds: [(stage: String, seconds: Double)] = []
    }

    /// Renders `prompts` from `latents` (the initial noise, [B, F_lat, C, h, w]; drawn from `seed` when nil).
    /// `log` receives one line per stage; `progress(step, total)` after every denoising step.
    public func callAsFunction(prompts: [String], options o: Options, latents given: [Float]? = nil, seed: UInt64 = 0,
                               decode: Bool = true, log: ((String) -> Void)? = nil,
                               progress: ((Int, Int) -> Void)? = nil) throws -> Output {
        guard !prompts.isEmpty else { throw ModelError.badInput("no prompts") }
        guard (1...100_000).contains(o.maxSequenceLength) else {
            throw ModelError.badInput("max_sequence_length must be positive, got \(o.maxSequenceLength)")
        }
        let t = folder.transformerConfig
        if !t.useRotaryPositionalEmbeddings && o.maxSequenceLength != t.maxTextSeqLength {
            throw ModelError.badInput("this transformer (sincos positions) takes exactly \(t.maxTextSeqLength) text tokens; max_sequence_length \(o.maxSequenceLength) does not fit")
        }
        let shape = try latentShape(batch: prompts.count, options: o)
        var rng = RNG(seed: seed)
        let x0: [Float]
        if let given {
            guard given.count == shape.count else {
                throw ModelError.badInput("initial latents hold \(given.count) values; \(shape.dims) needs \(shape.count)")
            }
            x0 = given
        } else {
            x0 = rng.normal(shape.count)
        }
        var stages: [(String, Int?)] = [], seconds: [(String, Double)] = []
        let clock = ContinuousClock()

        // 1. Text: tokenizer + T5, freed before the transformer is read.
        var start = clock.now
        log?("text encoder: loading \(folder.directory.appendingPathComponent("text_encoder").path)")
        let (embeds, negative): ([Float], [Float]) = try inScope {
            let encoder = try T5PromptEncoder.load(pipelineFolder: folder.directory, textLength: o.maxSequenceLength)
            guard encoder.embedDim == t.textEmbedDim else {
                throw ModelPackageError(path: folder.directory.path, message: "the text encoder's d_model \(encoder.embedDim) is not the transformer's text_embed_dim \(t.textEmbedDim)")
            }
            let n = encoder.encode(o.negativePrompt)
            return (encoder.encode(prompts), Array([[Float]](repeating: n, count: prompts.count).joined()))
        }
        seconds.append(("text", (clock.now - start).seconds))
        stages.append(("text", ProcessMemory.peakResidentBytes()))
        log?("text encoder: \(prompts.count) prompt(s) + negative, \(o.maxSequenceLength) tokens, \(String(format: "%.1f", seconds.last!.1)) s")

        // 2. Transformer (+ LoRA): the denoising loop.
        start = clock.now
        log?("transformer: loading \(folder.transformerDirectory.path)")
        var after: [[Float]] = []
        var timesteps: [Int] = []
        let latents: [Float] = try inScope {
            let model = try CogVideoXTransformer.load(directory: folder.transformerDirectory)
            if let lora = o.lora {
                let adapter = try LoRAAdapter.load(lora)
                try o.loraMode.apply(adapter, to: model, scale: o.loraScale)
                log?("LoRA: \(adapter.targets.count) modules of \(lora.path) at scale \(o.loraScale), \(o.loraMode.rawValue)")
            }
            var scheduler = o.scheduler.make(schedule: folder.scheduler.schedule)
            timesteps = scheduler.timesteps(steps: o.steps)
            // diffusers guides only when guidance_scale > 1; otherwise the conditional branch runs alone.
            let sampler = Sampler(steps: o.steps, guidance: Float(o.guidance))
            return try sampler.run(model: model, scheduler: &scheduler, latents: x0, shape: shape, prompt: embeds,
                                   negative: o.guidance > 1 ? negative : nil, textLength: o.maxSequenceLength, rng: &rng,
                                   progress: progress, observe: { _, x in after.append(x) })
        }
        seconds.append(("transformer", (clock.now - start).seconds))
        stages.append(("transformer", ProcessMemory.peakResidentBytes()))
        log?("transformer: \(o.steps) steps, \(String(format: "%.1f", seconds.last!.1)) s")

        var out = Output(timesteps: timesteps, promptEmbeds: embeds, negativePromptEmbeds: negative,
                         latentsAfterStep: after, latents: latents, latentShape: shape, frames: nil)
        // 3. VAE decode.
        if decode {
            start = clock.now
            log?("vae: loading \(folder.vaeDirectory.path)")
            out.frames = try inScope {
                let vae = try CogVideoXVAE.load(directory: folder.vaeDirectory)
                return try vae.decodePipelineLatents(Tensor(shape: shape.dims, data: latents))
            }
            seconds.append(("vae", (clock.now - start).seconds))
            stages.append(("vae", ProcessMemory.peakResidentBytes()))
            log?("vae: decoded \(out.frames!.shape[1]) frames, \(String(format: "%.1f", seconds.last!.1)) s")
        }
        out.peakResidentBytes = stages.map { (stage: $0.0, bytes: $0.1) }
        out.stageSeconds = seconds.map { (stage: $0.0, seconds: $0.1) }
        return out
    }

    /// One clip of `frames` [1, F, 3, H, W] as pixels [F, H, W, 3] (what `RGBVideo(floats:)` takes).
    public static func pixels(_ frames: Tensor, clip b: Int = 0) -> [Float] {
        let (F, C, H, W) = (frames.shape[1], frames.shape[2], frames.shape[3], frames.shape[4])
        var px = [Float](repeating: 0, count: F * H * W * C)
        for f in 0..<F {
            for c in 0..<C {
                let src = ((b * F + f) * C + c) * H * W
                for i in 0..<(H * W) { px[(f * H * W + i) * C + c] = frames.data[src + i] }
            }
        }
        return px
    }
}

/// Runs `body` in its own scope so that the models it creates are released when it returns (Swift frees
/// them at the end of their last use; the closure makes the lifetime explicit).
@inline(never)
func inScope<T>(_ body: () throws -> T) rethrows -> T { try body() }

fileprivate extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
