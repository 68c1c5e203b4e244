import AtomicFiles
import Foundation
import TensorCore
import VideoInference
import VideoModel

/// Where training clips come from: the embedded world, or anything else that renders a clip for a
/// prompt. Pixels are [frames, height, width, 3] in [0, 1].
public protocol ClipSource {
    var frames: Int { get }
    var height: Int { get }
    var width: Int { get }
    /// A training clip and its prompt, drawn from `rng` (the only randomness, so runs are reproducible).
    func sample(_ rng: inout RNG) -> (pixels: [Float], prompt: String)
    /// `sample` in two parts: the draws from `rng` now, the rendering (which must not touch `rng`)
    /// when the returned closure runs, so a rank can skip rendering the other ranks' clips and still
    /// advance the stream exactly as `sample` does. The pretrainer runs the closures of one batch
    /// concurrently on its workers, so a closure must not share mutable state with another. The
    /// default renders at once.
    func draw(_ rng: inout RNG) -> () -> (pixels: [Float], prompt: String)
}

extension ClipSource {
    public func draw(_ rng: inout RNG) -> () -> (pixels: [Float], prompt: String) {
        let clip = sample(&rng)
        return { clip }
    }
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
    /// The ranks of a data-parallel run (`Communicator.world()` under mpirun): each renders and
    /// processes its share of every global batch; rank 0 alone writes the log, checkpoints and codec.
    public var communicator: Communicator = .single

    public private(set) var model: CogVideoXTransformer
    public private(set) var codec: PCALatentCodec!
    /// A new run starts from this package's weights and codec instead of random weights and a fitted codec
    /// (`pretrain --init-from`: a teacher trained further in a new schedule). A resumed run ignores it.
    public var initFrom: ModelPackage? = nil
    public let textEncoder: HashedTextEncoder
    let schedule: NoiseSchedule
    /// The noise maths (add noise, v target) on the run's schedule.
    let scheduler: CogVideoXDDIMScheduler

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
        scheduler = CogVideoXDDIMScheduler(schedule: schedule)
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

    /// Everything a pretraining checkpoint holds besides the weights: the optimiser, the EMA, the
    /// three random streams. The checkpoint's keys are named here and nowhere else.
    final class State {
        var opt: AdamW
        var ema: EMA
        var dataRNG: RNG
        var noiseRNG: RNG
        /// Its own stream, so a run with input perturbation sees the same clips, timesteps and ε as one without.
        var perturbRNG: RNG
        var lossSum = 0.0, lossCount = 0, lastLoss = Double.nan
        var textCache: [String: [Float]] = [:]

        init(_ t: PretrainConfig.Train, parameters n: Int, initialEMA: [Float]) {
            opt = AdamW(count: n, beta1: Float(t.beta1), beta2: Float(t.beta2), weightDecay: Float(t.weightDecay))
            ema = EMA(decay: Float(t.emaDecay), initial: initialEMA)
            dataRNG = RNG(seed: UInt64(t.seed) &* 0x9E37_79B9 &+ 1)
            noiseRNG = RNG(seed: UInt64(t.seed) &* 0x9E37_79B9 &+ 2)
            perturbRNG = RNG(seed: UInt64(t.seed) &* 0x9E37_79B9 &+ 3)
        }

        func checkpoint(model: CogVideoXTransformer, loop: TrainingLoop, fingerprint: String, perturbs: Bool) -> Checkpoint {
            var ck = Checkpoint()
            ck.tensors["model"] = model.parameters.array
            ck.tensors["ema"] = ema.values
            ck.tensors["adam.v"] = opt.v
            if !opt.m.isEmpty { ck.tensors["adam.m"] = opt.m }
            ck.state = ["step": "\(loop.step)", "bad_steps": "\(loop.badSteps)", "config": fingerprint,
                        "rng.data": Checkpoint.encode(dataRNG), "rng.noise": Checkpoint.encode(noiseRNG)]
            if perturbs { ck.state["rng.perturb"] = Checkpoint.encode(perturbRNG) }
            return ck
        }

        /// Restores the state and the model's weights; returns (step, bad steps).
        func restore(_ ck: Checkpoint, source src: String, model: CogVideoXTransformer,
                              beta1: Double, perturbs: Bool) throws -> (step: Int, bad: Int) {
            let n = model.parameterCount
            model.parameters.copy(from: try ck.tensor("model", count: n, source: src))
            ema.values = try ck.tensor("ema", count: n, source: src)
            opt.v = try ck.tensor("adam.v", count: n, source: src)
            if beta1 != 0 { opt.m = try ck.tensor("adam.m", count: n, source: src) }
            let step = try ck.int("step", source: src)
            opt.step = step
            dataRNG = try ck.rng("rng.data", source: src)
            noiseRNG = try ck.rng("rng.noise", source: src)
            if perturbs { perturbRNG = try ck.rng("rng.perturb", source: src) }
            return (step, try ck.int("bad_steps", source: src))
        }
    }

    /// Runs (or resumes) the schedule. Returns when the last step is done (or `stopAfterStep`).
    public func run(source: ClipSource, resume: Bool) throws -> Result {
        try TrainingLoop.makeOutputFolder(outDir)
        guard source.frames == config.data.frames, source.height == config.data.height, source.width == config.data.width else {
            throw ConfigError(file: "data", field: "data", message: "the clip source renders \(source.frames)x\(source.width)x\(source.height), the config asks for \(config.data.frames)x\(config.data.width)x\(config.data.height)")
        }
        let t = config.train
        let comm = communicator
        try comm.checkDivides(batch: t.batch, file: "pretrain config", field: "train.batch")
        let fingerprint = config.trainingFingerprint
        let perturbs = t.inputPerturbation > 0
        let state = State(t, parameters: model.parameterCount, initialEMA: [])
        var loop = TrainingLoop(label: "pretrain", unit: "step", total: t.steps, logEvery: t.logEvery,
                                checkpointEvery: t.checkpointEvery, maxBadSteps: t.maxBadSteps, checkpointURL: checkpointURL)
        if let ck = try TrainingLoop.resumable(checkpointURL, resume: resume, fingerprint: fingerprint, what: "config", communicator: comm) {
            codec = try readCodec()
            (loop.step, loop.badSteps) = try state.restore(ck, source: checkpointURL.path, model: model, beta1: t.beta1, perturbs: perturbs)
        } else {
            if resume && !quiet && comm.isRoot { FileHandle.standardError.write(Foundation.Data("no checkpoint in \(outDir.path): starting a new run\n".utf8)) }
            try initializeNewRun(source: source)
            state.ema.values = model.parameters.array
        }
        let log = comm.isRoot ? try TrainingLog(url: logURL, resumeAtStep: resume ? loop.step : nil) : TrainingLog(discarding: logURL)
        let progress = ProgressLine(label: comm.size > 1 ? "pretrain (\(comm.size) ranks)" : "pretrain", total: t.steps,
                                    startStep: loop.step, quiet: quiet || !comm.isRoot)
        let start = Date(), startStep = loop.step
        try loop.run(log: log, progress: progress, stopAfter: stopAfterStep, iteration: { index in
            try trainingStep(index, source: source, state: state, start: start, startStep: startStep)
        }, save: { loop in
            guard comm.isRoot else { return }
            try state.checkpoint(model: model, loop: loop, fingerprint: fingerprint, perturbs: perturbs).write(to: checkpointURL)
        })
        progress.update(loop.step, String(format: "loss %.4f", state.lastLoss), force: true)
        progress.finish()
        // The EMA weights are the model.
        if loop.step >= t.steps { model.parameters.copy(from: state.ema.values) }
        return Result(steps: loop.step, finalLoss: state.lastLoss, badSteps: loop.badSteps, seconds: Date().timeIntervalSince(start))
    }

    /// A new run: fit the codec on clips of its own stream (so the training stream does not depend on
    /// it), write it, and initialise the weights.
    func initializeNewRun(source: ClipSource) throws {
        let t = config.train
        if let p = initFrom {
            // Continue from a package's weights and codec (the latents must mean what the weights learned):
            // every rank reads the same package, rank 0 writes its codec as the run's.
            try checkInitPackage(p)
            codec = p.codec
            if communicator.isRoot {
                do { try AtomicFile.write(try JSONEncoder().encode(codec), to: codecURL) } catch {
                    throw CheckpointError(path: codecURL.path, message: "cannot write the codec (\(error))")
                }
            }
            model.parameters.copy(from: p.transformer.parameters.array)
            return
        }
        if communicator.size > 1 {
            // Rank 0 fits and writes the codec; the others read rank 0's and take its initial weights,
            // so every rank starts from the same bits whatever its thread count.
            if communicator.isRoot { try fitCodec(source: source) }
            communicator.barrier()
            codec = try readCodec()
            model.initializeRandom(seed: UInt64(t.seed))
            if config.model.init_ == .adalnZero { Self.zeroInitModulation(model) }
            var w = model.parameters.array
            communicator.broadcast(&w)
            model.parameters.copy(from: w)
            return
        }
        try fitCodec(source: source)
        model.initializeRandom(seed: UInt64(t.seed))
        if config.model.init_ == .adalnZero { Self.zeroInitModulation(model) }
    }

    /// A package to start a new run from fits only when it is this recipe's model on this recipe's data: the
    /// same transformer config, codec shape, clip size, world and text encoder.
    func checkInitPackage(_ p: ModelPackage) throws {
        let c = config, path = p.directory.path
        func refuse(_ what: String) -> ModelPackageError {
            ModelPackageError(path: path, message: "\(what) differs from the pretraining config's, so its weights cannot start this run (--init-from)")
        }
        guard p.transformer.config == Self.modelConfig(c) else { throw refuse("the transformer config (config.json)") }
        guard p.codec.latentChannels == c.codec.channels, p.codec.spatialFactor == c.codec.spatialFactor,
              p.codec.temporalFactor == c.codec.temporalFactor else { throw refuse("the codec (channels and factors)") }
        let v = p.metadata.video
        guard v.frames == c.data.frames, v.height == c.data.height, v.width == c.data.width else { throw refuse("the clip size") }
        guard p.metadata.world == c.data.detail else { throw refuse("the world (world_detail \(p.metadata.world.rawValue))") }
        guard p.metadata.textEncoder == textEncoder else { throw refuse("the text encoder") }
    }

    func fitCodec(source: ClipSource) throws {
        let t = config.train
        var fitRNG = RNG(seed: UInt64(t.seed) &+ 0xC0DEC)
        let clips = (0..<config.codec.fitClips).map { _ in source.sample(&fitRNG).pixels }
        codec = try PCALatentCodec.fit(clips: clips, frames: config.data.frames, height: config.data.height,
                                       width: config.data.width, channels: config.codec.channels,
                                       spatialFactor: config.codec.spatialFactor, temporalFactor: config.codec.temporalFactor,
                                       perChannel: config.codec.normalize == .perChannel, hfWeight: config.codec.hfWeight)
        do { try AtomicFile.write(try JSONEncoder().encode(codec), to: codecURL) } catch {
            throw CheckpointError(path: codecURL.path, message: "cannot write the codec (\(error))")
        }
    }

    /// The run's codec (across ranks, rank 0's file, received over MPI).
    func readCodec() throws -> PCALatentCodec {
        if communicator.size > 1 {
            guard let data = try communicator.rootFile(codecURL) else {
                throw CheckpointError(path: codecURL.path, message: "the run's codec is missing")
            }
            do { return try JSONDecoder().decode(PCALatentCodec.self, from: data) } catch {
                throw CheckpointError(path: codecURL.path, message: "cannot read the run's codec (\(error))")
            }
        }
        do { return try JSONDecoder().decode(PCALatentCodec.self, from: Foundation.Data(contentsOf: codecURL)) } catch {
            throw CheckpointError(path: codecURL.path, message: "cannot read the run's codec (\(error))")
        }
    }

    /// A batch of world clips and prompts (dropped to "" with prompt_dropout for CFG), as latents x0:
    /// the samples `share` of the global batch (all of it in one process); the others' draws are made
    /// and their rendering skipped.
    func batch(source: ClipSource, state: State, shape: VideoShape, share: Range<Int>) throws -> (x0: [Float], text: [Float]) {
        let t = config.train, per = shape.perSample
        // The draws, in order (they fix the stream); the rendering and encoding of this share's clips
        // then run on the workers, each clip into its own rows, so the batch is the same bits for any
        // thread count.
        var pending: [(render: () -> (pixels: [Float], prompt: String), dropped: Bool)] = []
        for b in 0..<t.batch {
            let clip = source.draw(&state.dataRNG)
            let dropped = state.dataRNG.uniform() < t.promptDropout
            if share.contains(b) { pending.append((clip, dropped)) }
        }
        var x0 = [Float](repeating: 0, count: shape.count)
        var prompts = [String](repeating: "", count: pending.count)
        var failure: Error? = nil
        let lock = NSLock()
        let codec: PCALatentCodec = self.codec, d = config.data
        x0.withUnsafeMutableBufferPointer { xb in
            let out = SendablePointer(xb.baseAddress!)
            prompts.withUnsafeMutableBufferPointer { pb in
                let names = SendablePointer(pb.baseAddress!)
                parallelFor(pending.count) { row in
                    let (pixels, prompt) = pending[row].render()
                    do {
                        let z = try codec.encode(pixels, frames: d.frames, height: d.height, width: d.width)
                        for i in 0..<per { out[row * per + i] = z[i] }
                        names[row] = pending[row].dropped ? "" : prompt
                    } catch {
                        lock.lock(); if failure == nil { failure = error }; lock.unlock()
                    }
                }
            }
        }
        if let failure { throw failure }
        var text = [Float]()
        text.reserveCapacity(share.count * config.model.textLength * config.model.textEmbedDim)
        for p in prompts {
            if state.textCache[p] == nil { state.textCache[p] = textEncoder.encode(p) }
            text += state.textCache[p]!
        }
        return (x0, text)
    }

    /// One step: data, noise (with input perturbation), forward, the v-MSE loss, backward, and, when
    /// the loss and gradient are finite, clipping, AdamW and the EMA.
    func trainingStep(_ index: Int, source: ClipSource, state: State, start: Date, startStep: Int) throws -> TrainingLoop.Outcome {
        let t = config.train, n = model.parameterCount, comm = communicator
        let ls = codec.latentShape(frames: config.data.frames, height: config.data.height, width: config.data.width)
        // This rank's samples; the whole batch's timesteps and noise are drawn, in order, and sliced.
        let share = comm.share(of: t.batch)
        let shape = VideoShape(batch: share.count, frames: ls.frames, channels: ls.channels, height: ls.height, width: ls.width)
        let per = shape.perSample, globalCount = t.batch * per
        let mine = (share.lowerBound * per)..<(share.upperBound * per)
        let (x0, text) = try batch(source: source, state: state, shape: shape, share: share)
        let ts = Array((0..<t.batch).map { _ in state.noiseRNG.int(0, schedule.numTrainTimesteps) }[share])
        let eps = Array(state.noiseRNG.normal(globalCount)[mine])
        let gamma = Float(t.inputPerturbation)
        var inputNoise = eps
        if gamma > 0 {
            let xi = Array(state.perturbRNG.normal(globalCount)[mine])
            for i in 0..<inputNoise.count { inputNoise[i] = eps[i] + gamma * xi[i] }
        }
        let xt = scheduler.addNoise(original: x0, noise: inputNoise, timesteps: ts)
        let target = scheduler.velocity(original: x0, noise: eps, timesteps: ts)

        model.zeroGradients()
        let cache = try model.forwardTraining(hidden: xt, shape: shape, text: text, textLength: config.model.textLength,
                                              timesteps: ts.map(Float.init))
        // Each rank's squared-error sum and gradient are normalised by the global batch, so the sums
        // over the ranks are the single-process mean and its gradient.
        let (sumSq, dOut) = Self.mse(cache.output.array, target, globalCount: globalCount)
        var loss = comm.sum(sumSq) / Double(globalCount)
        if injectNonFiniteLoss?(index + 1) == true { loss = .nan }
        try model.backward(cache, dOutput: dOut, inputGradients: false)
        model.releaseTrainingCache(cache)
        let g = model.gradients!
        comm.allreduceSum(g.p, count: n)
        let norm = gradientNorm(g.p, count: n)
        guard loss.isFinite && norm.isFinite else { return .skipped(record: ["loss": loss.isFinite ? loss : -1]) }

        clipGradientNorm(g.p, count: n, maxNorm: t.gradClip)
        let lr = learningRate(index)
        state.opt.update(params: model.parameters.p, grads: g.p, count: n, lr: lr)
        state.ema.update(model.parameters.p, step: index + 1)
        state.lastLoss = loss
        state.lossSum += loss
        state.lossCount += 1
        var summary = String(format: "loss %.4f lr %.2e", loss, lr)
        if comm.size > 1 {
            let clipsPerSecond = Double((index + 1 - startStep) * t.batch) / max(Date().timeIntervalSince(start), 1e-9)
            summary += String(format: " · %d ranks %.2f clips/s allreduce %.0f ms/step", comm.size, clipsPerSecond,
                              1000 * comm.allreduceSeconds / Double(max(index + 1 - startStep, 1)))
        }
        return .applied(summary: summary, record: {
            // The mean loss since the last log line; elapsed_s and it_per_s count from this run's start
            // (a resumed run starts its clock again).
            let elapsed = Date().timeIntervalSince(start)
            var r: [String: Any] = ["loss": state.lossSum / Double(max(state.lossCount, 1)), "lr": Double(lr),
                                    "grad_norm": norm, "elapsed_s": elapsed, "it_per_s": Double(index + 1 - startStep) / max(elapsed, 1e-9)]
            if comm.size > 1 { r["ranks"] = comm.size; r["allreduce_s"] = comm.allreduceSeconds }
            state.lossSum = 0
            state.lossCount = 0
            return r
        })
    }

    /// The squared-error sum and the mean's gradient 2(out − target)/N, N the global batch's element
    /// count (this rank's slice is part of it).
    static func mse(_ out: [Float], _ target: [Float], globalCount: Int) -> (sumSq: Double, dOut: [Float]) {
        var loss = 0.0
        var dOut = [Float](repeating: 0, count: out.count)
        let scale = 2 / Float(globalCount)
        for i in 0..<out.count {
            let d = out[i] - target[i]
            loss += Double(d * d)
            dOut[i] = scale * d
        }
        return (loss, dOut)
    }
}

extension Pretrainer {
    /// Writes the trained teacher as a model package (diffusers folder + codec + tdm_video.json) with
    /// the teacher's default sampling from the config's `sampling` section (by default 50 DDIM steps,
    /// guidance 6: CogVideoX's pipeline defaults).
    public func exportPackage(to dir: URL, recipe: [String: String], dtype: SafeTensorsDType = .f32) throws {
        try ModelPackage.save(dir, transformer: model, codec: codec, metadata: packageMetadata(recipe: recipe), dtype: dtype)
    }

    /// The trained teacher as an in-memory package (the ranks of a data-parallel run other than 0,
    /// which write nothing, evaluate this).
    public func packageInMemory() throws -> ModelPackage {
        ModelPackage(directory: outDir.appendingPathComponent("model"), metadata: packageMetadata(recipe: [:]),
                     transformer: try model.copy(), codec: codec)
    }

    func packageMetadata(recipe: [String: String]) -> PackageMetadata {
        var meta = PackageMetadata(kind: .teacher,
                                   video: .init(frames: config.data.frames, height: config.data.height,
                                                width: config.data.width, fps: config.data.fps),
                                   textEncoder: textEncoder, snrShiftScale: config.train.snrShiftScale,
                                   sampling: .init(scheduler: config.sampling.scheduler, steps: config.sampling.steps,
                                                  guidance: config.sampling.guidance, timesteps: nil),
                                   recipe: recipe)
        // The fine world is recorded; a coarse teacher's file stays as before (absent means coarse).
        meta.worldDetail = config.data.detail == .coarse ? nil : config.data.detail
        return meta
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
        codec = try readCodec()
        model.parameters.copy(from: try ck.tensor("ema", count: model.parameterCount, source: src))
        try exportPackage(to: dir, recipe: recipe)
        return try ck.int("step", source: src)
    }
}
