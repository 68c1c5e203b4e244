import Foundation
import TensorCore
import VBenchLite
import VideoInference
import VideoModel

/// Where distillation prompts come from (TDM is data-free: prompts only, no clips).
public protocol PromptSource {
    func samplePrompt(_ rng: inout RNG) -> String
}

/// Scores a student as it is during a run: the held-out suite's report (logged) and the validation
/// suite's (used by `optim.keep_best` to choose the student, so the choice is not made on the prompts
/// that report it). Handed in by the caller (`SuiteEvaluation.studentEvaluator`).
public typealias StudentEvaluator = (ModelPackage) throws -> (heldOut: ScoreReport, validation: ScoreReport)

/// Trajectory Distribution Matching (Luo et al. 2025) on a CogVideoX teacher, as tdm.md specifies:
/// the student (θ) and the fake score (ψ) start as copies of the teacher; each iteration rolls the
/// student out for K deterministic DDIM steps (`rollout`), trains the fake score on the student's
/// trajectory distribution (`fakeScoreStep`), then moves the student through one of its steps toward
/// the teacher's CFG score (`generatorStep`).
public final class Distiller {
    public let config: DistillConfig
    public let teacher: ModelPackage
    public let student: CogVideoXTransformer
    public let fake: CogVideoXTransformer
    public let outDir: URL
    public var quiet = false
    public var stopAfterIteration: Int? = nil
    /// Called every `optim.eval_every` iterations (and at the end with `keep_best`); required when
    /// `eval_every` > 0.
    public var evaluator: StudentEvaluator? = nil
    /// The ranks of a data-parallel run (`Communicator.world()` under mpirun): each rolls out and
    /// trains on its share of every batch; gradients are summed before each optimiser update; rank 0
    /// alone writes the log and checkpoints.
    public var communicator: Communicator = .single

    /// The noise maths (x0 and ε from v, forward diffusion) on the teacher's schedule.
    let scheduler: CogVideoXDDIMScheduler
    let shape1: VideoShape
    let textLength: Int

    /// Test seam: iterations (1-based) whose generator loss is replaced by NaN, to exercise the
    /// skip-and-count path and the stop after `max_bad_steps` in a row.
    public var injectNonFiniteLoss: ((Int) -> Bool)? = nil
    public var checkpointURL: URL { outDir.appendingPathComponent("checkpoint.safetensors") }
    public var logURL: URL { outDir.appendingPathComponent("distill_log.jsonl") }
    /// With `optim.keep_best`: the student (and its step table) of the best validation Total so far.
    public var bestURL: URL { outDir.appendingPathComponent("best.safetensors") }

    public init(config: DistillConfig, teacher: ModelPackage, outDir: URL) throws {
        guard config.tdm.unify.isEmpty || config.tdm.unify.contains(config.tdm.steps) else {
            throw ConfigError(file: "distill config", field: "tdm.steps", message: "must be one of tdm.unify \(config.tdm.unify) (the student's default step count)")
        }
        self.config = config
        self.teacher = teacher
        self.outDir = outDir
        student = try teacher.transformer.copy()
        fake = try teacher.transformer.copy()
        scheduler = CogVideoXDDIMScheduler(schedule: NoiseSchedule(snrShiftScale: teacher.metadata.snrShiftScale))
        let m = teacher.metadata
        let ls = teacher.codec.latentShape(frames: m.video.frames, height: m.video.height, width: m.video.width)
        shape1 = VideoShape(batch: 1, frames: ls.frames, channels: ls.channels, height: ls.height, width: ls.width)
        textLength = m.textEncoder.textLength
    }

    /// The student's default grid (K = `tdm.steps`).
    public var grid: [Int] { TimestepGrid.shifted(steps: config.tdm.steps, shift: config.tdm.timeShift) }

    /// Step counts trained: the unify list, or the single K.
    public var stepCounts: [Int] { config.tdm.unify.isEmpty ? [config.tdm.steps] : config.tdm.unify }
    var unified: Bool { !config.tdm.unify.isEmpty }
    /// Unified and told K through the step-count embeddings.
    var stepConditioned: Bool { unified && config.tdm.stepConditioning }
    /// TDM-unify's step-count embeddings [stepCounts, time_embed_dim] for the student and the fake
    /// score, zero-initialised and added to the time embedding (tdm.md §6).
    public internal(set) var studentSteps: [Float] = []
    public internal(set) var fakeSteps: [Float] = []
    var te: Int { student.config.timeEmbedDim }

    /// The K-row of a step table repeated for a batch.
    func offsets(_ table: [Float], k: Int, batch: Int) -> [Float]? {
        guard stepConditioned, let i = stepCounts.firstIndex(of: k) else { return nil }
        let row = Array(table[(i * te)..<((i + 1) * te)])
        return (0..<batch).flatMap { _ in row }
    }

    /// Sums a batch's time-embedding gradient into row K of a step table's gradient.
    func tableGradient(_ g: [Float], k: Int, batch: Int) -> [Float] {
        var out = [Float](repeating: 0, count: stepCounts.count * te)
        guard let i = stepCounts.firstIndex(of: k) else { return out }
        for b in 0..<batch { for j in 0..<te { out[i * te + j] += g[b * te + j] } }
        return out
    }

    // MARK: Draws and forward diffusion within a step's interval

    /// One sample's draw for a fake or generator step: grid index, τ and the forward-diffusion noise.
    struct Draw {
        var k: Int          // 1...K (K = noisiest)
        var tg: Int         // the grid timestep of that step
        var tm: Int         // the next grid point (−1: the final x0)
        var tau: Int
        var noise: [Float]
    }

    /// Test seam (the golden test of one iteration, Tests/TDMVideoTests/TDMGoldenTests.swift): draws
    /// consumed in order (the fake step's samples, then the generator step's) before the random stream.
    /// Empty in every run.
    var scriptedDraws: [Draw] = []

    /// Whether x_τ comes from the student's x0 with fresh noise (no trajectory point).
    var matchesClean: Bool { config.tdm.method == .dmd2 || config.tdm.matching != .trajectory }

    func draw(_ rng: inout RNG, grid g: [Int]) -> Draw {
        if !scriptedDraws.isEmpty { return scriptedDraws.removeFirst() }
        let kk = g.count
        let k = rng.int(1, kk + 1)
        let tg = g[kk - k]
        let tm = k > 1 ? g[kk - k + 1] : -1
        let tau: Int
        if config.tdm.method == .dmd2 || config.tdm.matching == .clean {
            tau = rng.int(20, 980)
        } else {
            let lo = max(20, tm), hi = max(lo + 1, tg - 10)
            tau = rng.int(lo, hi)
        }
        return Draw(k: k, tg: tg, tm: tm, tau: tau, noise: rng.normal(shape1.perSample))
    }

    /// x_τ from the student's x0 and ε at grid step k, for one sample; also the "mixed" noise
    /// (x_τ = a_τ·x0 + s_τ·mixed), the regression target's noise. Trajectory matching goes to the
    /// step's end point x_{t_{k-1}} = a·x0 + s·ε first, then forward from there to τ (tdm.md §3); the
    /// clean arms noise x0 directly with the draw's noise.
    func diffuse(x0: ArraySlice<Float>, eps: ArraySlice<Float>, _ d: Draw) -> (xt: [Float], mixed: [Float]) {
        let n = d.noise.count
        var xt = [Float](repeating: 0, count: n), mixed = xt
        let at = scheduler.alpha(d.tau), st = scheduler.sigma(d.tau)
        if matchesClean {
            for i in 0..<n { xt[i] = at * x0[x0.startIndex + i] + st * d.noise[i]; mixed[i] = d.noise[i] }
            return (xt, mixed)
        }
        let am = scheduler.alpha(d.tm), sm = scheduler.sigma(d.tm)
        let r = at / am
        let beta = max(0, st * st - (r * sm) * (r * sm)).squareRoot()
        let xm = scheduler.addNoise(original: Array(x0), noise: Array(eps), timestep: d.tm)
        for i in 0..<n {
            let ei = eps[eps.startIndex + i]
            xt[i] = r * xm[i] + beta * d.noise[i]
            mixed[i] = (r * sm * ei + beta * d.noise[i]) / st
        }
        return (xt, mixed)
    }

    /// The fake loss's importance weight for one sample (`tdm.importance_sampling`): 1 for the clean arms,
    /// whose proposal is the target's own kernel.
    func importanceWeight(eps: ArraySlice<Float>, mixed: [Float], _ d: Draw) -> Float {
        guard !matchesClean else { return 1 }
        let per = mixed.count
        var mm = 0.0, nn = 0.0
        switch config.tdm.importanceSampling {
        case .none:
            return 1
        case .tempered:
            for i in 0..<per { mm += Double(mixed[i] * mixed[i]); nn += Double(d.noise[i] * d.noise[i]) }
        case .authorsEarly:
            // Before 2f938bf: mixed = (r·ε̂ + β·ε)/σ_τ, the student's noise without its σ_mid factor.
            let at = scheduler.alpha(d.tau), st = scheduler.sigma(d.tau)
            let am = scheduler.alpha(d.tm), sm = scheduler.sigma(d.tm)
            let r = at / am, beta = max(0, st * st - (r * sm) * (r * sm)).squareRoot()
            for i in 0..<per {
                let m = (r * eps[eps.startIndex + i] + beta * d.noise[i]) / st
                mm += Double(m * m); nn += Double(d.noise[i] * d.noise[i])
            }
        }
        return Float(Foundation.exp(-0.5 * mm / Double(per) + 0.5 * nn / Double(per)))
    }

    /// A sample's slice of a batch array.
    func slice(_ a: [Float], _ b: Int) -> ArraySlice<Float> { a[(b * shape1.perSample)..<((b + 1) * shape1.perSample)] }

    // MARK: State

    /// Everything a distillation checkpoint holds: both networks, the optimisers, the step tables
    /// (unify), the random streams, the best student so far. The checkpoint's keys are named here and
    /// nowhere else.
    final class State {
        var optG: AdamW, optF: AdamW
        var optTS: AdamW, optTF: AdamW
        var promptRNG: RNG, noiseRNG: RNG
        /// The kept student's iteration and its validation figure (`keep_best_by`, higher is better).
        var best: (iteration: Int, score: Double)? = nil
        var textCache: [String: [Float]] = [:]
        var last = IterationStats()
        /// `ema_decay`'s average of the student's weights (nil without it).
        var ema: EMA? = nil
        /// The teacher anchor's draws (pair, step) for each generator update.
        var anchorRNG: RNG

        init(_ o: DistillConfig.Optim, parameters n: Int, tableSize tn: Int) {
            optG = AdamW(count: n, beta1: Float(o.beta1), beta2: Float(o.beta2), weightDecay: Float(o.weightDecay))
            optF = AdamW(count: n, beta1: Float(o.beta1), beta2: Float(o.beta2), weightDecay: Float(o.weightDecay))
            optTS = AdamW(count: tn, beta1: Float(o.beta1), beta2: Float(o.beta2), weightDecay: 0)
            optTF = optTS
            promptRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ 11)
            noiseRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ 12)
            anchorRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ 15)
        }
    }

    var fingerprint: String { ConfigFile.fingerprint(config) + "|" + teacher.directory.standardizedFileURL.path }

    func checkpoint(_ s: State, loop: TrainingLoop) -> Checkpoint {
        var ck = Checkpoint()
        ck.tensors["student"] = student.parameters.array
        ck.tensors["fake"] = fake.parameters.array
        ck.tensors["adam.student.v"] = s.optG.v
        ck.tensors["adam.fake.v"] = s.optF.v
        if !s.optG.m.isEmpty { ck.tensors["adam.student.m"] = s.optG.m; ck.tensors["adam.fake.m"] = s.optF.m }
        if unified {
            ck.tensors["steps.student"] = studentSteps
            ck.tensors["steps.fake"] = fakeSteps
            ck.tensors["adam.steps.student.v"] = s.optTS.v
            ck.tensors["adam.steps.fake.v"] = s.optTF.v
            if !s.optTS.m.isEmpty { ck.tensors["adam.steps.student.m"] = s.optTS.m; ck.tensors["adam.steps.fake.m"] = s.optTF.m }
        }
        ck.state = ["iteration": "\(loop.step)", "bad_steps": "\(loop.badSteps)", "config": fingerprint,
                    "adam.student.step": "\(s.optG.step)", "adam.fake.step": "\(s.optF.step)",
                    "rng.prompt": Checkpoint.encode(s.promptRNG), "rng.noise": Checkpoint.encode(s.noiseRNG)]
        // best.val_total holds keep_best_by's figure (the key keeps its first name); keep_best_by is part
        // of the config fingerprint, so a resumed run never compares two different metrics.
        if let b = s.best { ck.state["best.iteration"] = "\(b.iteration)"; ck.state["best.val_total"] = "\(b.score)" }
        if let e = s.ema { ck.tensors["ema.student"] = e.values }
        if anchored { ck.state["rng.anchor"] = Checkpoint.encode(s.anchorRNG) }
        return ck
    }

    /// Restores a checkpoint into the networks and the state; returns (iteration, bad steps).
    func restore(_ ck: Checkpoint, into s: State) throws -> (step: Int, bad: Int) {
        let src = checkpointURL.path, n = student.parameterCount, tn = stepCounts.count * te
        let o = config.optim
        student.parameters.copy(from: try ck.tensor("student", count: n, source: src))
        fake.parameters.copy(from: try ck.tensor("fake", count: n, source: src))
        s.optG.v = try ck.tensor("adam.student.v", count: n, source: src)
        s.optF.v = try ck.tensor("adam.fake.v", count: n, source: src)
        if o.beta1 != 0 {
            s.optG.m = try ck.tensor("adam.student.m", count: n, source: src)
            s.optF.m = try ck.tensor("adam.fake.m", count: n, source: src)
        }
        s.optG.step = try ck.int("adam.student.step", source: src)
        s.optF.step = try ck.int("adam.fake.step", source: src)
        s.promptRNG = try ck.rng("rng.prompt", source: src)
        s.noiseRNG = try ck.rng("rng.noise", source: src)
        if s.ema != nil { s.ema!.values = try ck.tensor("ema.student", count: n, source: src) }
        if anchored { s.anchorRNG = try ck.rng("rng.anchor", source: src) }
        if o.keepBest, ck.state["best.iteration"] != nil {
            guard let t = ck.state["best.val_total"].flatMap(Double.init) else {
                throw CheckpointError(path: src, message: "state best.val_total is missing or not a number")
            }
            s.best = (try ck.int("best.iteration", source: src), t)
        }
        if unified {
            studentSteps = try ck.tensor("steps.student", count: tn, source: src)
            fakeSteps = try ck.tensor("steps.fake", count: tn, source: src)
            s.optTS.v = try ck.tensor("adam.steps.student.v", count: tn, source: src)
            s.optTF.v = try ck.tensor("adam.steps.fake.v", count: tn, source: src)
            if o.beta1 != 0 {
                s.optTS.m = try ck.tensor("adam.steps.student.m", count: tn, source: src)
                s.optTF.m = try ck.tensor("adam.steps.fake.m", count: tn, source: src)
            }
            s.optTS.step = s.optG.step
            s.optTF.step = s.optF.step
        }
        return (try ck.int("iteration", source: src), try ck.int("bad_steps", source: src))
    }

    /// The best-student file: written whenever the validation Total improves. A resumed run may find
    /// one from past its checkpoint (a kill between the two writes); it redoes that evaluation and
    /// rewrites the file, so only a file whose iteration and fingerprint match `best` is ever used.
    func saveBest(iteration: Int) throws {
        guard communicator.isRoot else { return }
        var ck = Checkpoint()
        ck.tensors["student"] = student.parameters.array
        if unified { ck.tensors["steps.student"] = studentSteps }
        ck.state = ["iteration": "\(iteration)", "config": fingerprint]
        try ck.write(to: bestURL)
    }

    func loadBest(iteration: Int) throws {
        let src = bestURL.path
        let ck: Checkpoint
        if communicator.size > 1 {
            guard let data = try communicator.rootFile(bestURL) else { throw CheckpointError(path: src, message: "is missing") }
            ck = try Checkpoint.parse(data, url: bestURL)
        } else {
            ck = try Checkpoint.read(bestURL)
        }
        guard ck.state["config"] == fingerprint, try ck.int("iteration", source: src) == iteration else {
            throw CheckpointError(path: src, message: "does not hold this run's best student (iteration \(iteration)); rerun without --resume")
        }
        student.parameters.copy(from: try ck.tensor("student", count: student.parameterCount, source: src))
        if unified { studentSteps = try ck.tensor("steps.student", count: stepCounts.count * te, source: src) }
    }

    // MARK: The loop

    public struct IterationStats {
        public var generatorLoss = 0.0, fakeLoss = 0.0, meanW = 0.0, meanIS = 0.0, gradNorm = 0.0
        /// The teacher anchor's loss (weighted) and the norm of its output gradient over the generator loss's.
        public var anchorLoss = 0.0, anchorGradRatio = 0.0
        /// Per grid interval (keyed by the interval's noisy end t_k): the fake score's unweighted v-MSE
        /// on its training draws, and the push: the projection of (real − fake) on (cond − uncond),
        /// ⟨real − fake, cond − uncond⟩ / ‖cond − uncond‖², averaged over the generator's draws. A fake
        /// score stuck at the teacher's conditional score gives guidance − 1; one that follows the
        /// student gives about 0.
        public var fakeVMSE: [Int: (sum: Double, count: Int)] = [:]
        public var push: [Int: (sum: Double, count: Int)] = [:]

        static func add(_ d: inout [Int: (sum: Double, count: Int)], _ key: Int, _ v: Double) {
            let e = d[key] ?? (0, 0)
            d[key] = (e.sum + v, e.count + 1)
        }

        /// The per-interval means as log fields: fake_vmse_t999, push_t999, ...
        var intervalRecord: [String: Any] {
            var r = [String: Any]()
            for (k, e) in fakeVMSE { r["fake_vmse_t\(k)"] = e.sum / Double(e.count) }
            for (k, e) in push { r["push_t\(k)"] = e.sum / Double(e.count) }
            return r
        }
    }

    public struct Result {
        public var iterations: Int
        public var badSteps: Int
        public var seconds: Double
        public var last: IterationStats
        /// With `optim.keep_best` on a finished run: the iteration whose student was kept, and its
        /// validation-suite figure (`keep_best_by`, made higher-is-better: a Frechet distance is negated).
        public var kept: (iteration: Int, validationScore: Double)? = nil
    }

    public func run(prompts: PromptSource, resume: Bool) throws -> Result {
        let o = config.optim
        guard o.evalEvery == 0 || evaluator != nil else {
            throw ConfigError(file: "distill config", field: "optim.eval_every", message: "is \(o.evalEvery) but no evaluator was given (set Distiller.evaluator)")
        }
        let comm = communicator
        try comm.checkDivides(batch: o.batch, file: "distill config", field: "optim.batch")
        try TrainingLoop.makeOutputFolder(outDir)
        let tn = stepCounts.count * te
        studentSteps = [Float](repeating: 0, count: unified ? tn : 0)
        fakeSteps = studentSteps
        let state = State(o, parameters: student.parameterCount, tableSize: unified ? tn : 0)
        if o.emaDecay > 0 { state.ema = EMA(decay: Float(o.emaDecay), initial: student.parameters.array) }
        var loop = TrainingLoop(label: "distill", unit: "iteration", total: o.iterations, logEvery: o.logEvery,
                                checkpointEvery: o.checkpointEvery, maxBadSteps: o.maxBadSteps, checkpointURL: checkpointURL)
        if let ck = try TrainingLoop.resumable(checkpointURL, resume: resume, fingerprint: fingerprint, what: "config or teacher",
                                                    communicator: comm) {
            (loop.step, loop.badSteps) = try restore(ck, into: state)
        }
        if comm.isRoot && (!resume || state.best == nil) { try? FileManager.default.removeItem(at: bestURL) }
        if anchored && loop.step < o.iterations { anchors = try makeAnchors(prompts: prompts) }
        if config.tdm.realScore == .tuned && loop.step < o.iterations { try tuneRealScore(prompts: prompts) }
        let log = comm.isRoot ? try TrainingLog(url: logURL, resumeAtStep: resume ? loop.step : nil) : TrainingLog(discarding: logURL)
        if realNet != nil && loop.step == 0 {
            log.append(["step": 0, "real_tune_vmse_first": realTuneLoss.first, "real_tune_vmse_last": realTuneLoss.last,
                        "real_tune_s": realTuneLoss.seconds])
        }
        let progress = ProgressLine(label: comm.size > 1 ? "distill (\(comm.size) ranks)" : "distill", total: o.iterations,
                                    startStep: loop.step, quiet: quiet || !comm.isRoot)
        let start = Date(), startStep = loop.step

        try loop.run(log: log, progress: progress, stopAfter: stopAfterIteration, iteration: { index in
            var stats = IterationStats()
            guard try iteration(prompts: prompts, state, &stats, index: index) else { return .skipped(record: [:]) }
            state.last = stats
            var summary = String(format: "gen %.4f fake %.4f", stats.generatorLoss, stats.fakeLoss)
            if self.anchored { summary += String(format: " anchor %.4f", stats.anchorLoss) }
            if comm.size > 1 {
                summary += String(format: " · %d ranks %.2f prompts/s", comm.size,
                                  Double((index + 1 - startStep) * o.batch) / max(Date().timeIntervalSince(start), 1e-9))
            }
            return .applied(summary: summary, record: {
                ["generator_loss": stats.generatorLoss, "fake_loss": stats.fakeLoss, "normaliser": stats.meanW,
                 "importance_weight": stats.meanIS, "grad_norm": stats.gradNorm, "elapsed_s": Date().timeIntervalSince(start)]
                    .merging(stats.intervalRecord) { a, _ in a }
                    .merging(self.anchored ? ["anchor_loss": stats.anchorLoss, "anchor_grad_ratio": stats.anchorGradRatio] : [:]) { a, _ in a }
                    .merging(o.studentLrSchedule == .constant ? [:] : ["student_lr": self.studentLr(iteration: index + 1)]) { a, _ in a }
            })
        }, afterStep: { step in
            try evaluateIfDue(step, state, log)
        }, save: { loop in
            guard comm.isRoot else { return }
            try checkpoint(state, loop: loop).write(to: checkpointURL)
        })
        progress.update(loop.step, String(format: "gen %.4f fake %.4f", state.last.generatorLoss, state.last.fakeLoss), force: true)
        progress.finish()
        var result = Result(iterations: loop.step, badSteps: loop.badSteps, seconds: Date().timeIntervalSince(start), last: state.last)
        // What distill exports is the average (the raw weights live on only in the checkpoint).
        if let e = state.ema { student.parameters.copy(from: e.values) }
        if o.keepBest && loop.step == o.iterations, let b = state.best {
            if b.iteration != loop.step { try loadBest(iteration: b.iteration) }
            result.kept = (b.iteration, b.score)
        }
        return result
    }

    // MARK: Data parallelism (the one place batches are sliced)

    /// This rank's samples of every batch (all of them in one process): every draw is made for the
    /// whole batch, in order, and only these samples are kept.
    var batchShare: Range<Int> { communicator.share(of: config.optim.batch) }

    /// This rank's elements of a whole-batch array (the array itself in one process).
    func shareOfBatch(_ a: [Float]) -> [Float] {
        guard communicator.size > 1 else { return a }
        let s = batchShare, per = shape1.perSample
        return Array(a[(s.lowerBound * per)..<(s.upperBound * per)])
    }

    /// A share's loss (a mean over its samples) and gradient as its part of the whole batch's mean.
    func partOfBatchMean(_ loss: Double, _ dOut: [Float]) -> (Double, [Float]) {
        let f = Double(batchShare.count) / Double(config.optim.batch)
        return (loss * f, dOut.map { $0 * Float(f) })
    }

    // MARK: One iteration: rollout, fake-score step, generator step

    /// One iteration. TDM: a rollout, `fake_updates_per_step` fake-score updates on it, one generator
    /// update on it. DMD2 (and TDM with `fake_rollouts: fresh`): each fake update and the generator update
    /// on a fresh rollout of its own.
    /// Returns false (nothing applied after the failing step) on a non-finite loss or gradient.
    func iteration(prompts: PromptSource, _ s: State, _ stats: inout IterationStats, index: Int) throws -> Bool {
        let updates = config.tdm.fakeUpdatesPerStep
        if config.tdm.method == .dmd2 || config.tdm.fakeRollouts == .fresh {
            for _ in 0..<updates {
                guard try fakeScoreStep(try rollout(prompts: prompts, s), s, &stats, updates: 1, share: updates) else { return false }
            }
            return try generatorStep(try rollout(prompts: prompts, s), s, &stats, iteration: index + 1)
        }
        let r = try rollout(prompts: prompts, s)
        return try fakeScoreStep(r, s, &stats, updates: updates, share: updates)
            && generatorStep(r, s, &stats, iteration: index + 1)
    }

    /// A batch's rollout: the prompts' embeddings (and the empty prompt's, for the teacher's CFG), the
    /// step count K and its grid, and at each grid step k (K = noisiest) the trajectory point x_{t_k}
    /// and the student's x0 and ε there.
    struct Rollout {
        var text: [Float]
        var negative: [Float]
        var shape: VideoShape
        var kSteps: Int
        var grid: [Int]
        var points: [[Float]]
        var x0: [[Float]]
        var eps: [[Float]]
        var studentOffset: [Float]?
        var fakeOffset: [Float]?
    }

    /// 0. Rolls the student out without gradient (unified training draws this batch's K first).
    func rollout(prompts: PromptSource, _ s: State) throws -> Rollout {
        let share = batchShare, bsz = share.count
        let enc = teacher.metadata.textEncoder
        var text = [Float]()
        for p in Array((0..<config.optim.batch).map({ _ in prompts.samplePrompt(&s.promptRNG) })[share]) {
            if s.textCache[p] == nil { s.textCache[p] = enc.encode(p) }
            text += s.textCache[p]!
        }
        if s.textCache[""] == nil { s.textCache[""] = enc.encode("") }
        let negative = (0..<bsz).flatMap { _ in s.textCache[""]! }
        let kSteps = unified ? stepCounts[s.noiseRNG.int(0, stepCounts.count)] : config.tdm.steps
        let noise = s.noiseRNG.normal(config.optim.batch * shape1.perSample)
        return try rollout(text: text, negative: negative, noise: shareOfBatch(noise), kSteps: kSteps)
    }

    /// The rollout from given prompt embeddings and starting noise (the golden test calls this directly).
    func rollout(text: [Float], negative: [Float], noise: [Float], kSteps: Int) throws -> Rollout {
        var shape = shape1
        shape.batch = noise.count / shape1.perSample
        let bsz = shape.batch
        let g = TimestepGrid.shifted(steps: kSteps, shift: config.tdm.timeShift), kk = g.count
        var r = Rollout(text: text, negative: negative, shape: shape, kSteps: kSteps, grid: g,
                        points: [[Float]](repeating: [], count: kk + 1), x0: [[Float]](repeating: [], count: kk + 1),
                        eps: [[Float]](repeating: [], count: kk + 1),
                        studentOffset: offsets(studentSteps, k: kSteps, batch: bsz), fakeOffset: offsets(fakeSteps, k: kSteps, batch: bsz))
        var x = noise
        for (idx, t) in g.enumerated() {
            let k = kk - idx
            r.points[k] = x
            let v = try student.forward(hidden: x, shape: shape, text: text, textLength: textLength,
                                        timesteps: [Float](repeating: Float(t), count: bsz), timeEmbeddingOffset: r.studentOffset)
            r.x0[k] = scheduler.predictOriginal(v: v, sample: x, timestep: t)
            r.eps[k] = scheduler.predictEpsilon(v: v, sample: x, timestep: t)
            if k > 1 { x = scheduler.addNoise(original: r.x0[k], noise: r.eps[k], timestep: g[idx + 1]) }
        }
        return r
    }

    /// 1. Fake-score updates on the student's trajectory distribution (`updates` of them on this
    /// rollout; `share` is how many the iteration makes in all, for the mean loss): the importance weight
    /// times v-MSE against the v of (x0, mixed noise) (`fake_loss: v_mse`), or times x0-MSE × min(SNR,
    /// clamp) (`x0_min_snr`). Returns false (no update made) on a non-finite loss or gradient.
    func fakeScoreStep(_ r: Rollout, _ s: State, _ stats: inout IterationStats, updates: Int, share: Int) throws -> Bool {
        let bsz = r.shape.batch, n = fake.parameterCount, tn = stepCounts.count * te
        let batch = batchShare, comm = communicator, global = config.optim.batch
        for _ in 0..<updates {
            var xt = [Float](), target = [Float](), vTarget = [Float](), taus = [Int](), weights = [Float](), tgs = [Int]()
            var meanIS = 0.0
            for g in 0..<global {
                let d = draw(&s.noiseRNG, grid: r.grid)
                guard batch.contains(g) else { continue }
                let b = g - batch.lowerBound
                let eps = slice(r.eps[d.k], b)
                let (xtb, mixed) = diffuse(x0: slice(r.x0[d.k], b), eps: eps, d)
                xt += xtb
                target += slice(r.x0[d.k], b)
                vTarget += scheduler.velocity(original: Array(slice(r.x0[d.k], b)), noise: mixed, timestep: d.tau)
                taus.append(d.tau)
                tgs.append(d.tg)
                let wIS = importanceWeight(eps: eps, mixed: mixed, d)
                switch config.tdm.fakeLoss {
                case .vMSE: weights.append(wIS)
                case .x0MinSNR: weights.append(Float(min(scheduler.snr(d.tau), config.tdm.minSNRClamp)) * wIS)
                }
                // (one process: straight into the stats, in the order it always summed)
                if comm.size > 1 { meanIS += Double(wIS) / Double(global * share) } else { stats.meanIS += Double(wIS) / Double(global * share) }
            }
            fake.zeroGradients()
            let cache = try fake.forwardTraining(hidden: xt, shape: r.shape, text: r.text, textLength: textLength,
                                                 timesteps: taus.map(Float.init), timeEmbeddingOffset: r.fakeOffset)
            let targets = TDMObjectives.FakeScoreTargets(xt: xt, taus: taus, x0: target, v: vTarget, weights: weights)
            var (loss, dOut, vmse) = TDMObjectives.fakeScoreLoss(v: cache.output.array, targets, kind: config.tdm.fakeLoss, scheduler: scheduler)
            for b in 0..<bsz { IterationStats.add(&stats.fakeVMSE, tgs[b], vmse[b]) }
            // Across ranks: this share's part of the batch mean; the sums over the ranks are the batch's.
            if comm.size > 1 {
                (loss, dOut) = partOfBatchMean(loss, dOut)
                var sums = [loss, meanIS]
                comm.allreduceSum(&sums)
                loss = sums[0]
                stats.meanIS += sums[1]
            }
            let fg = try fake.backward(cache, dOutput: dOut, inputGradients: false)
            fake.releaseTrainingCache(cache)
            comm.allreduceSum(fake.gradients!.p, count: n)
            let gn = gradientNorm(fake.gradients!.p, count: n)
            guard loss.isFinite && gn.isFinite else { return false }
            s.optF.update(params: fake.parameters.p, grads: fake.gradients!.p, count: n, lr: Float(config.optim.fakeLr))
            if stepConditioned {
                var tg = tableGradient(fg.timeEmbeddingOffset, k: r.kSteps, batch: bsz)
                comm.allreduceSum(&tg)
                s.optTF.update(params: &fakeSteps, grads: tg, count: tn, lr: Float(config.optim.stepEmbeddingLr))
            }
            stats.fakeLoss += loss / Double(share)
        }
        return true
    }

    /// 2. Moves the student through one of its steps: its x0 at x_{t_k}, diffused to τ, is pushed
    /// toward x0 + (teacher's CFG x0 − fake x0) at x_τ with `tdm.generator_loss` (`TDMObjectives`),
    /// the gradient clipped, AdamW. Also logs the push of (real − fake) along (cond − uncond) per
    /// interval. Returns false (no update) on a non-finite loss or gradient.
    func generatorStep(_ r: Rollout, _ s: State, _ stats: inout IterationStats, iteration: Int) throws -> Bool {
        let bsz = r.shape.batch, per = shape1.perSample, n = student.parameterCount, tn = stepCounts.count * te
        let batch = batchShare, comm = communicator
        var draws = [Draw](), xin = [Float](), tg = [Float]()
        for g in 0..<config.optim.batch {
            let d = draw(&s.noiseRNG, grid: r.grid)
            guard batch.contains(g) else { continue }
            let b = g - batch.lowerBound
            draws.append(d)
            xin += slice(r.points[d.k], b)
            tg.append(Float(d.tg))
        }
        student.zeroGradients()
        let cache = try student.forwardTraining(hidden: xin, shape: r.shape, text: r.text, textLength: textLength, timesteps: tg,
                                                timeEmbeddingOffset: r.studentOffset)
        let v = cache.output.array
        let gridTimesteps = draws.map(\.tg)
        let x0All = scheduler.predictOriginal(v: v, sample: xin, timesteps: gridTimesteps)
        let epsAll = scheduler.predictEpsilon(v: v, sample: xin, timesteps: gridTimesteps)
        var x0s = [Float](), xts = [Float](), taus = [Int]()
        for b in 0..<bsz {
            let (xt, _) = diffuse(x0: slice(x0All, b), eps: slice(epsAll, b), draws[b])
            x0s += slice(x0All, b)
            xts += xt
            taus.append(draws[b].tau)
        }
        // The real score with CFG ([uncond ; cond]: the teacher, or its tuned copy) and the fake score, both at x_τ.
        var shape2 = r.shape
        shape2.batch = 2 * bsz
        let text2 = r.negative + r.text
        let tauF = taus.map(Float.init)
        let vt = try realModel.forward(hidden: xts + xts, shape: shape2, text: text2, textLength: textLength,
                                       timesteps: tauF + tauF)
        let vf = try fake.forward(hidden: xts, shape: r.shape, text: r.text, textLength: textLength, timesteps: tauF,
                                  timeEmbeddingOffset: r.fakeOffset)
        let half = vt.count / 2
        let uncond = scheduler.predictOriginal(v: Array(vt[..<half]), sample: xts, timesteps: taus)
        let cond = scheduler.predictOriginal(v: Array(vt[half...]), sample: xts, timesteps: taus)
        let fk = scheduler.predictOriginal(v: vf, sample: xts, timesteps: taus)
        let gi = config.tdm.guidanceInterval
        var target = [Float](repeating: 0, count: v.count), normaliser = [Float]()
        var meanW = 0.0
        for b in 0..<bsz {
            let off = b * per
            let S = (gi[0]...gi[1]).contains(taus[b]) ? Float(config.tdm.guidance) : 1
            var wsum = 0.0, along = 0.0, guide = 0.0
            for i in off..<(off + per) {
                let ru = uncond[i], rc = cond[i]
                let real = ru + S * (rc - ru)
                // target = sg(x0 + (real − fake)), the authors' coop_samples.
                target[i] = x0s[i] + (real - fk[i])
                wsum += Double(abs(x0s[i] - real))
                let dg = Double(rc - ru)
                along += Double(real - fk[i]) * dg
                guide += dg * dg
            }
            if guide > 0 { IterationStats.add(&stats.push, draws[b].tg, along / guide) }
            normaliser.append(Float(max(wsum / Double(per), 1e-8)))
            meanW += Double(normaliser[b]) / Double(config.optim.batch)
        }
        let targets = TDMObjectives.GeneratorTargets(sample: xin, timesteps: gridTimesteps, target: target, normaliser: normaliser)
        var (loss, dOut) = TDMObjectives.generatorLoss(v: v, targets, kind: config.tdm.generatorLoss, huberC: Float(config.tdm.huberC),
                                                       scheduler: scheduler)
        if comm.size > 1 {
            (loss, dOut) = partOfBatchMean(loss, dOut)
            var sums = [loss, meanW]
            comm.allreduceSum(&sums)
            (loss, meanW) = (sums[0], sums[1])
        }
        stats.meanW += meanW
        if injectNonFiniteLoss?(iteration) == true { loss = .nan }
        let sgr = try student.backward(cache, dOutput: dOut, inputGradients: false)
        student.releaseTrainingCache(cache)
        var anchorLoss = 0.0
        if anchored {
            (anchorLoss, stats.anchorGradRatio) = try anchorStep(s, generatorGradient: dOut)
            stats.anchorLoss = anchorLoss
        }
        comm.allreduceSum(student.gradients!.p, count: n)
        let gn = clipGradientNorm(student.gradients!.p, count: n, maxNorm: config.optim.gradClip)
        guard loss.isFinite && anchorLoss.isFinite && gn.isFinite else { return false }
        let lr = Float(studentLr(iteration: iteration))
        s.optG.update(params: student.parameters.p, grads: student.gradients!.p, count: n, lr: lr)
        if config.optim.decayToTeacher > 0 { decayTowardTeacher(rate: lr * Float(config.optim.decayToTeacher)) }
        s.ema?.update(student.parameters.p, step: s.optG.step)
        if stepConditioned {
            var tgr = tableGradient(sgr.timeEmbeddingOffset, k: r.kSteps, batch: bsz)
            comm.allreduceSum(&tgr)
            s.optTS.update(params: &studentSteps, grads: tgr, count: tn, lr: Float(config.optim.stepEmbeddingLr))
        }
        stats.generatorLoss = loss
        stats.gradNorm = gn
        return true
    }

    /// `optim.decay_to_teacher`: θ ← θ − rate·(θ − θ_teacher) over the student's weights.
    func decayTowardTeacher(rate: Float) {
        let n = student.parameterCount, p = student.parameters.p
        let t = teacher.transformer.parameters.p
        let sp = SendablePointer(p), tp = SendablePointer(t)
        parallelChunks(n, minChunk: 8192) { _, lo, hi in
            for i in lo..<hi { sp[i] -= rate * (sp[i] - tp[i]) }
        }
    }

    /// The student's learning rate at generator update `iteration` (1-based) of `optim.iterations`.
    func studentLr(iteration: Int) -> Double {
        let o = config.optim
        switch o.studentLrSchedule {
        case .constant: return o.studentLr
        case .cosine:
            let progress = o.iterations > 1 ? Double(min(max(iteration - 1, 0), o.iterations - 1)) / Double(o.iterations - 1) : 0
            return o.studentLrEnd + (o.studentLr - o.studentLrEnd) * 0.5 * (1 + cos(Double.pi * progress))
        }
    }

    // MARK: The teacher anchor (`tdm.anchor_weight`)

    var anchored: Bool { config.tdm.anchorWeight > 0 }

    /// The anchor's pairs: each pair's prompt embedding and, at every grid step k (K = the starting noise,
    /// 0 = the final x0), the teacher's trajectory point, one flat array per k over the pairs.
    struct Anchors {
        var text: [[Float]]
        var points: [[Float]]
        var count: Int { text.count }
    }
    var anchors: Anchors? = nil

    /// The guidance the anchor's trajectories are sampled at.
    var anchorGuidance: Double { config.tdm.anchorGuidance > 0 ? config.tdm.anchorGuidance : teacher.metadata.sampling.guidance }

    /// The teacher's timesteps for the anchor: its own DDIM spacing at its own step count, with the
    /// student's grid points inserted (where the trajectory is read).
    var anchorTimesteps: [Int] {
        Array(Set(scheduler.timesteps(steps: teacher.metadata.sampling.steps) + grid)).sorted(by: >)
    }

    /// Samples the anchor's pairs with the teacher (see `sampleTeacher`). The same pairs on every rank and
    /// after a resume.
    func makeAnchors(prompts: PromptSource) throws -> Anchors {
        let g = grid, ts = anchorTimesteps
        guard ts.first == g.first else {
            throw ConfigError(file: "distill config", field: "tdm.anchor_weight",
                              message: "needs the student's grid to start where the teacher's does (\(g.first ?? -1) against \(ts.first ?? -1))")
        }
        return try sampleTeacher(prompts: prompts, count: config.tdm.anchorPairs, salt: 13, timesteps: ts, guidance: anchorGuidance,
                                 label: "anchor", keepGrid: true)
    }

    /// `count` teacher samples from noise, deterministic DDIM over `timesteps` at `guidance`, in chunks of 8
    /// side by side over the cores (`parallelQueue`: the same bits as one chunk at a time):
    /// prompts and noise from streams of their own (seeded by `optim.seed` and `salt`, `salt` + 1), so the
    /// training streams are those of a run without them. With `keepGrid` the trajectory points at the
    /// student's grid steps are kept too (`timesteps` must hold them); otherwise only the final x0 (points[0]).
    func sampleTeacher(prompts: PromptSource, count n: Int, salt: UInt64, timesteps ts: [Int], guidance: Double,
                       label: String, keepGrid: Bool) throws -> Anchors {
        let o = config.optim, per = shape1.perSample, g = grid, kk = g.count
        var promptRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ salt)
        var noiseRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ salt + 1)
        let enc = teacher.metadata.textEncoder, empty = enc.encode("")
        let sampler = Sampler(steps: ts.count, guidance: Float(guidance), customTimesteps: ts)
        // The draws, in order: chunk c holds samples 8c..<8c + 8.
        var text = [[Float]](), noise = [[Float]]()
        while text.count < n {
            for _ in 0..<min(8, n - text.count) { text.append(enc.encode(prompts.samplePrompt(&promptRNG))) }
            noise.append(noiseRNG.normal((text.count - 8 * noise.count) * per))
        }
        var chunks = [[[Float]]](repeating: [], count: noise.count)   // chunk c: its points at k = 0...kk
        var done = 0
        let lock = NSLock(), model = teacher.transformer, tl = textLength, base = scheduler
        let progress = ProgressLine(label: label, total: n, startStep: 0, quiet: quiet || !communicator.isRoot)
        try chunks.withUnsafeMutableBufferPointer { buffer in
            let out = SendablePointer(buffer.baseAddress!)
            try parallelQueue(noise.count) { c in
                let b = noise[c].count / per
                var shape = shape1
                shape.batch = b
                var at = [[Float]](repeating: [], count: kk + 1)
                if keepGrid { at[kk] = noise[c] }
                var sched = base, unused = RNG(seed: 0)
                at[0] = try sampler.run(model: model, scheduler: &sched, latents: noise[c], shape: shape,
                                        prompt: text[(8 * c)..<(8 * c + b)].flatMap { $0 }, negative: (0..<b).flatMap { _ in empty },
                                        textLength: tl, rng: &unused,
                                        observe: { i, x in
                                            if keepGrid, i + 1 < ts.count, let idx = g.firstIndex(of: ts[i + 1]) { at[kk - idx] = x }
                                        })
                out[c] = at
                lock.lock()
                done += b
                progress.update(done, force: done == n)
                lock.unlock()
            }
        }
        progress.finish()
        // Assembled chunk by chunk, each freed once copied (the noise first), so the samples are held about once.
        noise = []
        var a = Anchors(text: text, points: [[Float]](repeating: [], count: kk + 1))
        for c in chunks.indices {
            for k in 0...kk where keepGrid || k == 0 { a.points[k] += chunks[c][k] }
            chunks[c] = []
        }
        return a
    }

    // MARK: The tuned real score (`tdm.real_score: tuned`)

    /// With `real_score: tuned`, the teacher's copy fine-tuned on its own guided samples; nil: the teacher.
    var realNet: CogVideoXTransformer? = nil
    /// The network the real score is read from.
    var realModel: CogVideoXTransformer { realNet ?? teacher.transformer }
    /// The tuning's mean v-MSE over its first and its last tenth of steps, and its wall clock (0 before tuning).
    public internal(set) var realTuneLoss = (first: 0.0, last: 0.0, seconds: 0.0)

    /// Fine-tunes a copy of the teacher, with the teacher's v-MSE at uniform t (and its 10 % empty prompts,
    /// so its CFG stays defined), on `real_tune_samples` teacher samples (its own DDIM steps, at
    /// `real_tune_guidance`): AdamW (β1 0.9, β2 0.999), `real_tune_lr`, batches of `optim.batch`, the
    /// gradient clipped at `optim.grad_clip`. Deterministic from `optim.seed`: every rank tunes the same copy
    /// in full, and a resumed run tunes it again (the same bits).
    func tuneRealScore(prompts: PromptSource) throws {
        let t = config.tdm, o = config.optim, per = shape1.perSample
        let guidance = t.realTuneGuidance > 0 ? t.realTuneGuidance : teacher.metadata.sampling.guidance
        let bank = try sampleTeacher(prompts: prompts, count: t.realTuneSamples, salt: 17,
                                     timesteps: scheduler.timesteps(steps: teacher.metadata.sampling.steps), guidance: guidance,
                                     label: "real score: teacher samples", keepGrid: false)
        let net = try teacher.transformer.copy()
        let n = net.parameterCount, bsz = o.batch
        var opt = AdamW(count: n, beta1: 0.9, beta2: 0.999, weightDecay: 0)
        var rng = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ 19)
        let empty = teacher.metadata.textEncoder.encode("")
        var shape = shape1
        shape.batch = bsz
        let progress = ProgressLine(label: "real score: tuning", total: t.realTuneSteps, startStep: 0, quiet: quiet || !communicator.isRoot)
        let tail = max(t.realTuneSteps / 10, 1), start = Date()
        var headSum = 0.0, tailSum = 0.0
        for step in 0..<t.realTuneSteps {
            var x0 = [Float](), text = [Float](), ts = [Int]()
            x0.reserveCapacity(bsz * per)
            for _ in 0..<bsz {
                let i = rng.int(0, bank.count)
                x0 += bank.points[0][(i * per)..<((i + 1) * per)]
                text += rng.uniform() < 0.1 ? empty : bank.text[i]
                ts.append(rng.int(0, scheduler.schedule.numTrainTimesteps))
            }
            let eps = rng.normal(bsz * per)
            let xt = scheduler.addNoise(original: x0, noise: eps, timesteps: ts)
            let target = scheduler.velocity(original: x0, noise: eps, timesteps: ts)
            net.zeroGradients()
            let cache = try net.forwardTraining(hidden: xt, shape: shape, text: text, textLength: textLength, timesteps: ts.map(Float.init))
            let (sumSq, dOut) = Pretrainer.mse(cache.output.array, target, globalCount: bsz * per)
            try net.backward(cache, dOutput: dOut, inputGradients: false)
            net.releaseTrainingCache(cache)
            let loss = sumSq / Double(bsz * per)
            let gn = clipGradientNorm(net.gradients!.p, count: n, maxNorm: o.gradClip)
            guard loss.isFinite && gn.isFinite else {
                throw ConfigError(file: "distill config", field: "tdm.real_tune_lr",
                                  message: "gave a non-finite loss or gradient at tuning step \(step + 1); try a lower rate")
            }
            opt.update(params: net.parameters.p, grads: net.gradients!.p, count: n, lr: Float(t.realTuneLr))
            if step < tail { headSum += loss }
            if step >= t.realTuneSteps - tail { tailSum += loss }
            progress.update(step + 1, String(format: "v-MSE %.4f", loss), force: step + 1 == t.realTuneSteps)
        }
        progress.finish()
        realTuneLoss = (headSum / Double(tail), tailSum / Double(tail), Date().timeIntervalSince(start))
        realNet = net
    }

    /// One anchor batch (`optim.batch` draws of a pair and a grid step, this rank's share of them) through
    /// the student, its gradient accumulated into the student's; returns the loss (the batch's, summed over
    /// the ranks) and the ratio of its output gradient's norm to the generator loss's `generatorGradient`.
    func anchorStep(_ s: State, generatorGradient: [Float]) throws -> (loss: Double, gradRatio: Double) {
        guard let a = anchors else { return (0, 0) }
        let share = batchShare, per = shape1.perSample, g = grid, kk = g.count, comm = communicator
        var xin = [Float](), text = [Float](), target = [Float](), tks = [Int](), tms = [Int]()
        for gi in 0..<config.optim.batch {
            let p = s.anchorRNG.int(0, a.count), k = s.anchorRNG.int(1, kk + 1)
            guard share.contains(gi) else { continue }
            xin += a.points[k][(p * per)..<((p + 1) * per)]
            target += a.points[k - 1][(p * per)..<((p + 1) * per)]
            text += a.text[p]
            tks.append(g[kk - k])
            tms.append(k > 1 ? g[kk - k + 1] : -1)
        }
        var shape = shape1
        shape.batch = share.count
        let cache = try student.forwardTraining(hidden: xin, shape: shape, text: text, textLength: textLength,
                                                timesteps: tks.map(Float.init), timeEmbeddingOffset: nil)
        var (loss, dV) = TDMObjectives.anchorLoss(v: cache.output.array, sample: xin, timesteps: tks, next: tms, target: target,
                                                  weight: Float(config.tdm.anchorWeight), scheduler: scheduler)
        if comm.size > 1 { (loss, dV) = partOfBatchMean(loss, dV) }
        try student.backward(cache, dOutput: dV, inputGradients: false)
        student.releaseTrainingCache(cache)
        var sums = [loss, dV.reduce(0) { $0 + Double($1 * $1) }, generatorGradient.reduce(0) { $0 + Double($1 * $1) }]
        if comm.size > 1 { comm.allreduceSum(&sums) }
        return (sums[0], sums[2] > 0 ? (sums[1] / sums[2]).squareRoot() : 0)
    }

    // MARK: Evaluation and export

    /// Every `eval_every` iterations (and at the end with `keep_best`): scores the student as it is
    /// now, logs both suites, keeps the best by the validation figure `keep_best_by`. Returns whether a checkpoint is due
    /// (with `keep_best`, after every evaluation, so the choice survives a kill).
    func evaluateIfDue(_ step: Int, _ s: State, _ log: TrainingLog) throws -> Bool {
        let o = config.optim
        guard o.evalEvery > 0, step % o.evalEvery == 0 || (o.keepBest && step == o.iterations), let evaluate = evaluator else {
            return false
        }
        // With ema_decay the average is scored and kept; the raw weights go back for the next iteration.
        let raw = s.ema.map { e -> [Float] in
            let w = student.parameters.array
            student.parameters.copy(from: e.values)
            return w
        }
        defer { if let w = raw { student.parameters.copy(from: w) } }
        let (r, rv) = try evaluate(currentStudent())
        var record: [String: Any] = ["step": step, "eval_total": r.totalScore ?? -1, "eval_quality": r.qualityScore ?? -1,
                                     "eval_semantic": r.semanticScore ?? -1, "val_total": rv.totalScore ?? -1,
                                     "val_quality": rv.qualityScore ?? -1, "val_semantic": rv.semanticScore ?? -1]
        // The Totals' intervals over seeds (eval_seeds >= 2); with eval_reference_seeds, the distribution
        // metrics, each with its bootstrap interval.
        for (prefix, report) in [("eval", r), ("val", rv)] {
            if let ci = report.totalScoreInterval, ci.count == 2 {
                record["\(prefix)_total_low"] = ci[0]
                record["\(prefix)_total_high"] = ci[1]
            }
            for m in report.distribution?.metrics ?? [] {
                record["\(prefix)_\(m.name)"] = m.value
                record["\(prefix)_\(m.name)_low"] = m.low
                record["\(prefix)_\(m.name)_high"] = m.high
            }
        }
        log.append(record)
        if o.keepBest, let v = o.keepBestBy.score(rv), s.best == nil || v > s.best!.score {
            try saveBest(iteration: step)
            s.best = (step, v)
        }
        return o.keepBest
    }

    /// The student's package metadata: its own K-step grid without guidance, and with unify its step
    /// table (all of it, or only the default K's row).
    func studentMetadata(fullTable: Bool) -> PackageMetadata {
        var meta = teacher.metadata
        meta.kind = .student
        var table: [String: [Float]]? = nil
        if stepConditioned {
            table = [:]
            for (i, k) in stepCounts.enumerated() where fullTable || k == config.tdm.steps {
                table![String(k)] = Array(studentSteps[(i * te)..<((i + 1) * te)])
            }
        }
        meta.sampling = .init(scheduler: config.tdm.sampler, steps: grid.count, guidance: 1, timesteps: grid,
                              stepEmbeddings: table, timeShift: config.tdm.timeShift)
        return meta
    }

    /// The student as it is now, as an in-memory package.
    func currentStudent() -> ModelPackage {
        ModelPackage(directory: outDir, metadata: studentMetadata(fullTable: false), transformer: student, codec: teacher.codec)
    }

    /// Writes the student as a model package that samples in K steps on the TDM grid without CFG.
    public func exportStudent(to dir: URL, recipe: [String: String], dtype: SafeTensorsDType = .f32) throws {
        var meta = studentMetadata(fullTable: true)
        meta.recipe = recipe
        try ModelPackage.save(dir, transformer: student, codec: teacher.codec, metadata: meta, dtype: dtype)
    }
}
