import Foundation
import TensorCore
import VideoModel

/// Text in, pixels out: encode the prompt (and the empty negative prompt), draw the initial noise
/// from the seed, run the sampler, decode the latents.
public struct VideoPipeline {
    public let package: ModelPackage

    public init(_ package: ModelPackage) { self.package = package }

    public struct Options: Sendable {
        public var steps: Int
        public var guidance: Double
        public var scheduler: SchedulerKind
        public var timesteps: [Int]?
        /// Added to the time embedding at every step (a unified student's step-count embedding).
        public var timeEmbeddingOffset: [Float]?
        public init(steps: Int, guidance: Double, scheduler: SchedulerKind, timesteps: [Int]? = nil, timeEmbeddingOffset: [Float]? = nil) {
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
            o.timesteps = TimestepGrid.shifted(steps: k, shift: shift)
            o.timeEmbeddingOffset = s.stepEmbeddings?[String(k)]
        } else {
            o.timesteps = nil
            o.timeEmbeddingOffset = nil
        }
        return o
    }

    /// Network evaluations per clip.
    public func nfe(_ o: Options) -> Int { (o.timesteps?.count ?? o.steps) * (o.guidance != 1 ? 2 : 1) }

    /// Renders one clip: pixels [frames, height, width, 3] in [0, 1] (`RGBVideo(floats:...)` makes it 8-bit).
    public func render(prompt: String, seed: UInt64, options o: Options,
                       progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let m = package.metadata, enc = m.textEncoder
        let ls = package.codec.latentShape(frames: m.video.frames, height: m.video.height, width: m.video.width)
        let shape = VideoShape(batch: 1, frames: ls.frames, channels: ls.channels, height: ls.height, width: ls.width)
        var rng = RNG(seed: seed)
        let noise = rng.normal(shape.count)
        // Without guidance the sampler runs the conditional branch alone: no negative prompt to encode.
        let text = enc.encode(prompt), negative = o.guidance != 1 ? enc.encode("") : nil
        var scheduler = o.scheduler.make(schedule: NoiseSchedule(snrShiftScale: m.snrShiftScale))
        let sampler = Sampler(steps: o.timesteps?.count ?? o.steps, guidance: Float(o.guidance), customTimesteps: o.timesteps)
        let latents = try sampler.run(model: package.transformer, scheduler: &scheduler, latents: noise, shape: shape,
                                      prompt: text, negative: negative, textLength: enc.textLength, rng: &rng,
                                      timeEmbeddingOffset: o.timeEmbeddingOffset, progress: progress)
        return try package.codec.decode(latents, frames: m.video.frames, height: m.video.height, width: m.video.width)
    }

    /// One clip of a batch: its prompt and the seed of its noise.
    public struct Clip: Sendable, Equatable {
        public var prompt: String
        public var seed: UInt64
        public init(prompt: String, seed: UInt64) {
            self.prompt = prompt
            self.seed = seed
        }
    }

    /// Renders several clips at once, one pixel array per clip, in order, each exactly the clip
    /// `render(prompt:seed:)` makes (bit for bit, whatever its batch-mates; VideoPipelineBatchTests).
    ///
    /// Each worker takes the next clip not yet started and renders it whole with serial kernels
    /// (`withSerialKernels`): its own initial and per-step noise from `RNG(seed:)`, its own text, its own
    /// sampler, its own decode. A clip rendered alone runs the same kernels with the same chunk boundaries,
    /// only forked over the workers at every kernel, so the results are the same bits; rendering clips side
    /// by side saves that fork/join, which a batch-1 forward (a student's) pays at every kernel, while a
    /// CFG pair (a teacher's) already runs as two data-parallel halves. One clip alone is rendered as
    /// `render(prompt:seed:)` renders it. A batched forward of all the clips was measured too: it was no
    /// faster here, and its GEMMs over more rows round differently (OpenBLAS picks other kernels by size),
    /// so its clips were not the clips rendered alone.
    public func render(batch clips: [Clip], options o: Options) throws -> [[Float]] {
        if clips.count == 1 { return [try render(prompt: clips[0].prompt, seed: clips[0].seed, options: o)] }
        var pixels = [[Float]](repeating: [], count: clips.count)
        try pixels.withUnsafeMutableBufferPointer { buffer in
            let out = SendablePointer(buffer.baseAddress!)
            try parallelQueue(clips.count) { b in out[b] = try render(prompt: clips[b].prompt, seed: clips[b].seed, options: o) }
        }
        return pixels
    }
}
