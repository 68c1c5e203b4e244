import Foundation
import TensorCore
import VideoModel

/// Where training clips come from: the embedded world, or anything else that renders a clip for a
/// prompt. Pixels are [frames, height, width, 3] in [0, 1].
public protocol ClipSource {
    var frames: Int { get }
    var height: Int { get }
    var width: Int { get }
    /// A training clip and its prompt, drawn from `rng` (the only randomness, so runs are reproducible).
    func sample(_ rng: inout RNG) -> (pixels: [Float], prompt: String)
}

/// Teacher pretraining: v-prediction on the CogVideoX schedule (zero terminal SNR, SNR shift from the
/// config), prompt dropout for classifier-free guidance, optional input perturbation (DDPM-IP), AdamW with
/// warm-up and cosine decay, gradient clipping, an EMA of the weights, atomic checkpoints and exact
/// resume, a JSONL log.
public final class Pretrainer {
    public let config: PretrainConfig
    public let outDir: URL
    public var quiet = false
    /// Stop after this step even if the schedule is longer (used to simulate a kill in tests).
    public var stopAfterStep: Int? = nil

    public private(set) var model: CogVideoXTransformer
    public private(set) var codec: PCALatentCodec!
    public let textEncoder: HashedTextEncoder
    let schedule: NoiseSchedule
    let alphas: [Double]

    public var checkpointURL: URL { outDir.appendingPathComponent("checkpoint.safetensors") }
    /// Test seam: steps (1-based) for which the loss is replaced by NaN, to exercise the skip-and-count
    /// path and the stop after `max_bad_steps` in a row.
    public var injectNonFiniteLoss: ((Int) -> Bool)? = nil
    public var logURL: URL { outDir.appendingPathComponent("train_log.jsonl") }
    public var codecURL: URL { outDir.appendingPathComponent("codec.json") }

    public init(config: PretrainConfig, outDir: URL) throws {
        self.config = config
        self.outDir = outDir
        textEncoder = HashedTextEncoder(embedDim: config.model.textEmbedDim, textLength: config.model.textLength)
        schedule = NoiseSchedule(snrShiftScale: config.train.snrShiftScale)
        alphas = schedule.alphasCumprod()
        model = try CogVideoXTransformer(config: Self.modelConfig(config))
    }

    /// The diffusers config of the teacher this recipe trains.
    public static func modelConfig(_ c: PretrainConfig) -> CogVideoXConfig {
        var m = CogVideoXConfig()
        m.numLayers = c.model.layers
        m.numAttentionHeads = c.model.heads
        m.attentionHeadDim = c.model.headDim
        m.inChannels = c.codec.channels
        m.outChannels = c.codec.channels
        m.timeEmbedDim = c.model.timeEmbedDim
        m.textEmbedDim = c.model.textEmbedDim
        m.maxTextSeqLength = c.model.textLength
        m.patchSize = c.model.patchSize
        m.sampleHeight = c.data.height / c.codec.spatialFactor
        m.sampleWidth = c.data.width / c.codec.spatialFactor
        // diffusers derives the latent frame count as (sample_frames − 1) / 4 + 1.
        m.sampleFrames = (c.data.frames / c.codec.temporalFactor - 1) * m.temporalCompressionRatio + 1
        m.useRotaryPositionalEmbeddings = false
        return m
    }

    /// adaLN-Zero (DiT): every modulation and the output projection start at zero, so each block
    /// starts as the identity and the model as the zero predictor.
    static func zeroInitModulation(_ m: CogVideoXTransformer) {
        for e in m.layout.entries where e.name.contains("norm1.linear") || e.name.contains("norm2.linear")
            || e.name.hasPrefix("norm_out.linear") || e.name.hasPrefix("proj_out") {
            (m.parameters.p + e.offset).update(repeating: 0, count: e.count)
        }
    }

    /// The learning rate at a step: linear warm-up, then cosine decay to lr·min_lr_ratio.
    public func learningRate(_ step: Int) -> Float {
        let t = config.train
        if step < t.warmupSteps { return Float(t.lr * Double(step + 1) / Double(t.warmupSteps)) }
        let span = max(1, t.steps - t.warmupSteps)
        let p = min(1, Double(step - t.warmupSteps) / Double(span))
        return Float(t.lr * (t.minLrRatio + (1 - t.minLrRatio) * 0.5 * (1 + cos(Double.pi * p))))
    }

    public struct Result {
        public var steps: Int
        public var finalLoss: Double
        public var badSteps: Int
        public var seconds: Double
    }

    /// Runs (or resumes) the schedule. Returns when the last step is done (or `stopAfterStep`).
    public func run(source: ClipSource, resume: Bool) throws -> Result {
        let fm = FileManager.default
        do { try fm.createDirectory(at: outDir, withIntermediateDirectories: true) } catch {
            throw CheckpointError(path: outDir.path, message: "cannot create the output folder (\(error.localizedDescription))")
        }
        guard source.frames == config.data.frames, source.height == config.data.height, source.width == config.data.width else {
            throw ConfigError(file: "data", field: "data", message: "the clip source renders \(source.frames)x\(source.width)x\(source.height), the config asks for \(config.data.frames)x\(config.data.width)x\(config.data.height)")
        }
        let t = config.train
        let n = model.parameterCount
        var opt = AdamW(count: n, beta1: Float(t.beta1), beta2: Float(t.beta2), weightDecay: Float(t.weightDecay))
        var ema: EMA
        var dataRNG = RNG(seed: UInt64(t.seed) &* 0x9E37_79B9 &+ 1)
        var noiseRNG = RNG(seed: UInt64(t.seed) &* 0x9E37_79B9 &+ 2)
        // Its own stream, so a run with input perturbation sees the same clips, timesteps and ε as one without.
        var perturbRNG = RNG(seed: UInt64(t.seed) &* 0x9E37_79B9 &+ 3)
        var step = 0, bad = 0, badInARow = 0
        let fingerprint = config.trainingFingerprint

        if resume, fm.fileExists(atPath: checkpointURL.path) {
            let ck = try Checkpoint.read(checkpointURL)
            let src = checkpointURL.path
            guard ck.state["config"] == fingerprint else {
                throw CheckpointError(path: src, message: "was written by a different config; resume needs the same one")
            }
            codec = try JSONDecoder().decode(PCALatentCodec.self, from: Foundation.Data(contentsOf: codecURL))
            model.parameters.copy(from: try ck.tensor("model", count: n, source: src))
            ema = EMA(decay: Float(t.emaDecay), initial: try ck.tensor("ema", count: n, source: src))
            opt.v = try ck.tensor("adam.v", count: n, source: src)
            if t.beta1 != 0 { opt.m = try ck.tensor("adam.m", count: n, source: src) }
            step = try ck.int("step", source: src)
            opt.step = step
            bad = try ck.int("bad_steps", source: src)
            dataRNG = try ck.rng("rng.data", source: src)
            noiseRNG = try ck.rng("rng.noise", source: src)
            if t.inputPerturbation > 0 { perturbRNG = try ck.rng("rng.perturb", source: src) }
        } else {
            if resume && !quiet { FileHandle.standardError.write(Foundation.Data("no checkpoint in \(outDir.path): starting a new run\n".utf8)) }
            // Fit the codec on clips of its own stream, so the training stream does not depend on it.
            var fitRNG = RNG(seed: UInt64(t.seed) &+ 0xC0DEC)
            let clips = (0..<config.codec.fitClips).map { _ in source.sample(&fitRNG).pixels }
            codec = try PCALatentCodec.fit(clips: clips, frames: config.data.frames, height: config.data.height,
                                           width: config.data.width, channels: config.codec.channels,
                                           spatialFactor: config.codec.spatialFactor, temporalFactor: config.codec.temporalFactor,
                                           perChannel: config.codec.normalize == "per_channel")
            try AtomicFile.write(try JSONEncoder().encode(codec), to: codecURL) { CheckpointError(path: self.codecURL.path, message: $0) }
            model.initializeRandom(seed: UInt64(t.seed))
            if config.model.init_ == "adaln_zero" { Self.zeroInitModulation(model) }
            ema = EMA(decay: Float(t.emaDecay), initial: model.parameters.array)
        }
        let log = try TrainingLog(url: logURL, resumeAtStep: resume ? step : nil)
        let ls = codec.latentShape(frames: config.data.frames, height: config.data.height, width: config.data.width)
        let shape = VideoShape(batch: t.batch, frames: ls.frames, channels: ls.channels, height: ls.height, width: ls.width)
        let per = shape.perSample
        var textCache: [String: [Float]] = [:]
        let progress = ProgressLine(label: "pretrain", total: t.steps, startStep: step, quiet: quiet)
        let start = Date()
        var lastLoss = Double.nan, lossAcc = 0.0, lossCount = 0

        func saveCheckpoint() throws {
            var ck = Checkpoint()
            ck.tensors["model"] = model.parameters.array
            ck.tensors["ema"] = ema.values
            ck.tensors["adam.v"] = opt.v
            if !opt.m.isEmpty { ck.tensors["adam.m"] = opt.m }
            ck.state = ["step": "\(step)", "bad_steps": "\(bad)", "config": fingerprint,
                        "rng.data": Checkpoint.encode(dataRNG), "rng.noise": Checkpoint.encode(noiseRNG)]
            if t.inputPerturbation > 0 { ck.state["rng.perturb"] = Checkpoint.encode(perturbRNG) }
            try ck.write(to: checkpointURL)
        }

        while step < t.steps {
            if let stop = stopAfterStep, step >= stop { break }
            // Data: clips, prompts (dropped to "" with prompt_dropout), latents.
            var x0 = [Float](repeating: 0, count: shape.count)
            var text = [Float]()
            text.reserveCapacity(t.batch * config.model.textLength * config.model.textEmbedDim)
            for b in 0..<t.batch {
                let (pixels, prompt) = source.sample(&dataRNG)
                let p = dataRNG.uniform() < t.promptDropout ? "" : prompt
                let z = try codec.encode(pixels, frames: config.data.frames, height: config.data.height, width: config.data.width)
                for i in 0..<per { x0[b * per + i] = z[i] }
                if textCache[p] == nil { textCache[p] = textEncoder.encode(p) }
                text += textCache[p]!
            }
            // Noise and the v target.
            let ts = (0..<t.batch).map { _ in noiseRNG.int(0, schedule.numTrainTimesteps) }
            let eps = noiseRNG.normal(shape.count)
            let gamma = Float(t.inputPerturbation)
            let xi = gamma > 0 ? perturbRNG.normal(shape.count) : []
            var xt = [Float](repeating: 0, count: shape.count), target = xt
            for b in 0..<t.batch {
                let a = Float(alphas[ts[b]].squareRoot()), s = Float((1 - alphas[ts[b]]).squareRoot())
                for i in (b * per)..<((b + 1) * per) {
                    xt[i] = a * x0[i] + s * (gamma > 0 ? eps[i] + gamma * xi[i] : eps[i])
                    target[i] = a * eps[i] - s * x0[i]
                }
            }
            model.zeroGradients()
            let cache = try model.forwardTraining(hidden: xt, shape: shape, text: text, textLength: config.model.textLength,
                                                  timesteps: ts.map(Float.init))
            let out = cache.output.array
            var loss = 0.0
            var dOut = [Float](repeating: 0, count: out.count)
            let scale = 2 / Float(out.count)
            for i in 0..<out.count {
                let d = out[i] - target[i]
                loss += Double(d * d)
                dOut[i] = scale * d
            }
            loss /= Double(out.count)
            if injectNonFiniteLoss?(step + 1) == true { loss = .nan }
            try model.backward(cache, dOutput: dOut, inputGradients: false)
            let g = model.gradients!
            let norm = gradientNorm(g.p, count: n)
            step += 1
            if !loss.isFinite || !norm.isFinite {
                bad += 1
                badInARow += 1
                log.append(["step": step, "skipped": true, "loss": loss.isFinite ? loss : -1])
                if badInARow >= t.maxBadSteps {
                    throw CheckpointError(path: checkpointURL.path, message: "\(badInARow) steps in a row had a NaN or infinite loss or gradient; stopped (the last good checkpoint is kept)")
                }
                continue
            }
            badInARow = 0
            clipGradientNorm(g.p, count: n, maxNorm: t.gradClip)
            let lr = learningRate(step - 1)
            opt.update(params: model.parameters.p, grads: g.p, count: n, lr: lr)
            ema.update(model.parameters.p, step: step)
            lastLoss = loss
            lossAcc += loss
            lossCount += 1
            if step % t.logEvery == 0 || step == t.steps {
                let rate = Double(step) / max(Date().timeIntervalSince(start), 1e-9)
                log.append(["step": step, "loss": lossAcc / Double(max(lossCount, 1)), "lr": Double(lr), "grad_norm": norm,
                            "elapsed_s": Date().timeIntervalSince(start), "it_per_s": rate])
                lossAcc = 0
                lossCount = 0
            }
            progress.update(step, String(format: "loss %.4f lr %.2e", loss, lr))
            if step % t.checkpointEvery == 0 || step == t.steps { try saveCheckpoint() }
        }
        progress.update(step, String(format: "loss %.4f", lastLoss), force: true)
        progress.finish()
        // The EMA weights are the model.
        if step >= t.steps { model.parameters.copy(from: ema.values) }
        return Result(steps: step, finalLoss: lastLoss, badSteps: bad, seconds: Date().timeIntervalSince(start))
    }
}

extension Pretrainer {
    /// Writes the trained teacher as a model package (diffusers folder + codec + tdm_video.json) with
    /// the teacher's default sampling from the config's `sampling` section (by default 50 DDIM steps,
    /// guidance 6: CogVideoX's pipeline defaults).
    public func exportPackage(to dir: URL, recipe: [String: String], dtype: SafeTensorsDType = .f32) throws {
        let meta = PackageMetadata(kind: "teacher",
                                   video: .init(frames: config.data.frames, height: config.data.height,
                                                width: config.data.width, fps: config.data.fps),
                                   textEncoder: textEncoder, snrShiftScale: config.train.snrShiftScale,
                                   sampling: .init(scheduler: config.sampling.scheduler, steps: config.sampling.steps,
                                                  guidance: config.sampling.guidance, timesteps: nil),
                                   recipe: recipe)
        try ModelPackage.save(dir, transformer: model, codec: codec, metadata: meta, dtype: dtype)
    }
}

extension Pretrainer {
    /// Writes a model package from the run's last checkpoint (its EMA weights) without training, so a
    /// run in progress can be sampled and scored. Returns the checkpoint's step.
    @discardableResult
    public func exportSnapshot(to dir: URL, recipe: [String: String]) throws -> Int {
        let ck = try Checkpoint.read(checkpointURL)
        let src = checkpointURL.path
        guard ck.state["config"] == config.trainingFingerprint else {
            throw CheckpointError(path: src, message: "was written by a different config")
        }
        codec = try JSONDecoder().decode(PCALatentCodec.self, from: Foundation.Data(contentsOf: codecURL))
        model.parameters.copy(from: try ck.tensor("ema", count: model.parameterCount, source: src))
        try exportPackage(to: dir, recipe: recipe)
        return try ck.int("step", source: src)
    }
}
