import Foundation
import TensorCore
import VideoModel
import ShapeWorld
import VBenchLite

/// Where distillation prompts come from (TDM is data-free: prompts only, no clips).
public protocol PromptSource {
    func samplePrompt(_ rng: inout RNG) -> String
}

/// Trajectory Distribution Matching (Luo et al. 2025) on a CogVideoX teacher, as tdm.md specifies:
/// the student (θ) and the fake score (ψ) start as copies of the teacher; each iteration rolls the
/// student out for K deterministic DDIM steps, trains the fake score on the student's trajectory
/// distribution, then moves the student through one of its steps toward the teacher's CFG score.
public final class Distiller {
    public let config: DistillConfig
    public let teacher: ModelPackage
    public let student: CogVideoXTransformer
    public let fake: CogVideoXTransformer
    public let outDir: URL
    public var quiet = false
    public var stopAfterIteration: Int? = nil
    /// The suites scored every `optim.eval_every` iterations: the held-out suite (reported) and the
    /// validation suite (used by `optim.keep_best` to choose the student, so the choice is not made on
    /// the prompts that report it). The world's suites by default.
    public var evalSuite: [PromptEntry] = WorldSplit.heldOutSuite()
    public var validationSuite: [PromptEntry] = WorldSplit.validationSuite()

    let acp: [Double]
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
        acp = NoiseSchedule(snrShiftScale: teacher.metadata.snrShiftScale).alphasCumprod()
        let m = teacher.metadata
        let ls = teacher.codec.latentShape(frames: m.video.frames, height: m.video.height, width: m.video.width)
        shape1 = VideoShape(batch: 1, frames: ls.frames, channels: ls.channels, height: ls.height, width: ls.width)
        textLength = m.textEncoder.textLength
    }

    public var grid: [Int] { DistillConfig.grid(steps: config.tdm.steps, shift: config.tdm.timeShift) }

    /// Step counts trained: the unify list, or the single K.
    public var stepCounts: [Int] { config.tdm.unify.isEmpty ? [config.tdm.steps] : config.tdm.unify }
    var unified: Bool { !config.tdm.unify.isEmpty }
    /// TDM-unify's step-count embeddings [stepCounts, time_embed_dim] for the student and the fake
    /// score, zero-initialised and added to the time embedding (tdm.md §6).
    public private(set) var studentSteps: [Float] = []
    public private(set) var fakeSteps: [Float] = []
    var te: Int { student.config.timeEmbedDim }

    /// The K-row of a step table repeated for a batch.
    func offsets(_ table: [Float], k: Int, batch: Int) -> [Float]? {
        guard unified, let i = stepCounts.firstIndex(of: k) else { return nil }
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

    func a(_ t: Int) -> Float { t < 0 ? 1 : Float(acp[t].squareRoot()) }
    func s(_ t: Int) -> Float { t < 0 ? 0 : Float((1 - acp[t]).squareRoot()) }

    /// One sample's draw for a fake or generator step: grid index, τ and the forward-diffusion noise.
    struct Draw {
        var k: Int          // 1...K (K = noisiest)
        var tg: Int         // the grid timestep of that step
        var tm: Int         // the next grid point (−1: the final x0)
        var tau: Int
        var noise: [Float]
    }

    func draw(_ rng: inout RNG, grid g: [Int]) -> Draw {
        let kk = g.count
        let k = rng.int(1, kk + 1)
        let tg = g[kk - k]
        let tm = k > 1 ? g[kk - k + 1] : -1
        let tau: Int
        if config.tdm.matching == "clean" {
            tau = rng.int(20, 980)
        } else {
            let lo = max(20, tm), hi = max(lo + 1, tg - 10)
            tau = rng.int(lo, hi)
        }
        return Draw(k: k, tg: tg, tm: tm, tau: tau, noise: rng.normal(shape1.perSample))
    }

    /// x_τ from the student's x0 and ε at grid step k, for one sample; also the "mixed" noise
    /// (x_τ = a_τ·x0 + s_τ·mixed) the importance weight needs.
    func diffuse(x0: ArraySlice<Float>, eps: ArraySlice<Float>, _ d: Draw) -> (xt: [Float], mixed: [Float]) {
        let n = d.noise.count
        var xt = [Float](repeating: 0, count: n), mixed = xt
        let at = a(d.tau), st = s(d.tau)
        if config.tdm.matching == "clean" {
            for i in 0..<n { xt[i] = at * x0[x0.startIndex + i] + st * d.noise[i]; mixed[i] = d.noise[i] }
            return (xt, mixed)
        }
        let am = a(d.tm), sm = s(d.tm)
        let r = at / am
        let beta = max(0, st * st - (r * sm) * (r * sm)).squareRoot()
        for i in 0..<n {
            let x0i = x0[x0.startIndex + i], ei = eps[eps.startIndex + i]
            let xm = am * x0i + sm * ei
            xt[i] = r * xm + beta * d.noise[i]
            mixed[i] = (r * sm * ei + beta * d.noise[i]) / st
        }
        return (xt, mixed)
    }

    /// v-prediction → (x0, ε) at timestep t for one sample's slice.
    func x0eps(v: ArraySlice<Float>, x: ArraySlice<Float>, t: Int) -> (x0: [Float], eps: [Float]) {
        let at = a(t), st = s(t), n = v.count
        var x0 = [Float](repeating: 0, count: n), e = x0
        for i in 0..<n {
            let vi = v[v.startIndex + i], xi = x[x.startIndex + i]
            x0[i] = at * xi - st * vi
            e[i] = st * xi + at * vi
        }
        return (x0, e)
    }

    public struct IterationStats {
        public var generatorLoss = 0.0, fakeLoss = 0.0, meanW = 0.0, meanIS = 0.0, gradNorm = 0.0
    }

    public struct Result {
        public var iterations: Int
        public var badSteps: Int
        public var seconds: Double
        public var last: IterationStats
        /// With `optim.keep_best` on a finished run: the iteration whose student was kept, and its
        /// validation-suite Total.
        public var kept: (iteration: Int, validationTotal: Double)? = nil
    }

    public func run(prompts: PromptSource, resume: Bool) throws -> Result {
        let fm = FileManager.default
        do { try fm.createDirectory(at: outDir, withIntermediateDirectories: true) } catch {
            throw CheckpointError(path: outDir.path, message: "cannot create the output folder (\(error.localizedDescription))")
        }
        let o = config.optim, n = student.parameterCount
        var optG = AdamW(count: n, beta1: Float(o.beta1), beta2: Float(o.beta2), weightDecay: Float(o.weightDecay))
        var optF = AdamW(count: n, beta1: Float(o.beta1), beta2: Float(o.beta2), weightDecay: Float(o.weightDecay))
        var promptRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ 11)
        var noiseRNG = RNG(seed: UInt64(o.seed) &* 0x5851_F42D &+ 12)
        var iter = 0, bad = 0, badInARow = 0
        let tn = stepCounts.count * te
        studentSteps = [Float](repeating: 0, count: unified ? tn : 0)
        fakeSteps = studentSteps
        var optTS = AdamW(count: unified ? tn : 0, beta1: Float(o.beta1), beta2: Float(o.beta2), weightDecay: 0)
        var optTF = optTS
        let fingerprint = String(describing: config) + "|" + teacher.directory.standardizedFileURL.path
        var best: (iteration: Int, total: Double)? = nil
        if resume, fm.fileExists(atPath: checkpointURL.path) {
            let ck = try Checkpoint.read(checkpointURL), src = checkpointURL.path
            guard ck.state["config"] == fingerprint else {
                throw CheckpointError(path: src, message: "was written by a different config or teacher; resume needs the same ones")
            }
            student.parameters.copy(from: try ck.tensor("student", count: n, source: src))
            fake.parameters.copy(from: try ck.tensor("fake", count: n, source: src))
            optG.v = try ck.tensor("adam.student.v", count: n, source: src)
            optF.v = try ck.tensor("adam.fake.v", count: n, source: src)
            if o.beta1 != 0 {
                optG.m = try ck.tensor("adam.student.m", count: n, source: src)
                optF.m = try ck.tensor("adam.fake.m", count: n, source: src)
            }
            iter = try ck.int("iteration", source: src)
            optG.step = try ck.int("adam.student.step", source: src)
            optF.step = try ck.int("adam.fake.step", source: src)
            bad = try ck.int("bad_steps", source: src)
            promptRNG = try ck.rng("rng.prompt", source: src)
            noiseRNG = try ck.rng("rng.noise", source: src)
            if o.keepBest, ck.state["best.iteration"] != nil {
                guard let t = ck.state["best.val_total"].flatMap(Double.init) else {
                    throw CheckpointError(path: src, message: "state best.val_total is missing or not a number")
                }
                best = (try ck.int("best.iteration", source: src), t)
            }
            if unified {
                studentSteps = try ck.tensor("steps.student", count: tn, source: src)
                fakeSteps = try ck.tensor("steps.fake", count: tn, source: src)
                optTS.v = try ck.tensor("adam.steps.student.v", count: tn, source: src)
                optTF.v = try ck.tensor("adam.steps.fake.v", count: tn, source: src)
                if o.beta1 != 0 {
                    optTS.m = try ck.tensor("adam.steps.student.m", count: tn, source: src)
                    optTF.m = try ck.tensor("adam.steps.fake.m", count: tn, source: src)
                }
                optTS.step = optG.step
                optTF.step = optF.step
            }
        }
        func saveCheckpoint() throws {
            var ck = Checkpoint()
            ck.tensors["student"] = student.parameters.array
            ck.tensors["fake"] = fake.parameters.array
            ck.tensors["adam.student.v"] = optG.v
            ck.tensors["adam.fake.v"] = optF.v
            if !optG.m.isEmpty { ck.tensors["adam.student.m"] = optG.m; ck.tensors["adam.fake.m"] = optF.m }
            if unified {
                ck.tensors["steps.student"] = studentSteps
                ck.tensors["steps.fake"] = fakeSteps
                ck.tensors["adam.steps.student.v"] = optTS.v
                ck.tensors["adam.steps.fake.v"] = optTF.v
                if !optTS.m.isEmpty { ck.tensors["adam.steps.student.m"] = optTS.m; ck.tensors["adam.steps.fake.m"] = optTF.m }
            }
            ck.state = ["iteration": "\(iter)", "bad_steps": "\(bad)", "config": fingerprint,
                        "adam.student.step": "\(optG.step)", "adam.fake.step": "\(optF.step)",
                        "rng.prompt": Checkpoint.encode(promptRNG), "rng.noise": Checkpoint.encode(noiseRNG)]
            if let b = best { ck.state["best.iteration"] = "\(b.iteration)"; ck.state["best.val_total"] = "\(b.total)" }
            try ck.write(to: checkpointURL)
        }
        // The best-student file: written whenever the validation Total improves. A resumed run may find
        // one from past its checkpoint (a kill between the two writes); it redoes that evaluation and
        // rewrites the file, so only a file whose iteration and fingerprint match `best` is ever used.
        func saveBest() throws {
            var ck = Checkpoint()
            ck.tensors["student"] = student.parameters.array
            if unified { ck.tensors["steps.student"] = studentSteps }
            ck.state = ["iteration": "\(iter)", "config": fingerprint]
            try ck.write(to: bestURL)
        }
        if !resume || best == nil { try? fm.removeItem(at: bestURL) }
        let log = try TrainingLog(url: logURL, resumeAtStep: resume ? iter : nil)
        let progress = ProgressLine(label: "distill", total: o.iterations, startStep: iter, quiet: quiet)
        let start = Date()
        var last = IterationStats()
        let enc = teacher.metadata.textEncoder
        let negative = enc.encode("")
        var textCache: [String: [Float]] = [:]

        while iter < o.iterations {
            if let stop = stopAfterIteration, iter >= stop { break }
            let bsz = o.batch, per = shape1.perSample
            var shape = shape1
            shape.batch = bsz
            let prompts = (0..<bsz).map { _ in prompts.samplePrompt(&promptRNG) }
            var text = [Float]()
            for p in prompts {
                if textCache[p] == nil { textCache[p] = enc.encode(p) }
                text += textCache[p]!
            }
            // 0. Rollout without gradient: trajectory points and the student's x0, ε at each.
            //    Unified training draws this batch's step count K first.
            let kSteps = unified ? stepCounts[noiseRNG.int(0, stepCounts.count)] : config.tdm.steps
            let g = DistillConfig.grid(steps: kSteps, shift: config.tdm.timeShift), kk = g.count
            let offS = offsets(studentSteps, k: kSteps, batch: bsz), offF = offsets(fakeSteps, k: kSteps, batch: bsz)
            var traj = [[Float]](repeating: [], count: kk + 1), rx0 = traj, reps = traj
            var x = noiseRNG.normal(shape.count)
            for (idx, t) in g.enumerated() {
                let k = kk - idx
                traj[k] = x
                let v = try student.forward(hidden: x, shape: shape, text: text, textLength: textLength,
                                            timesteps: [Float](repeating: Float(t), count: bsz), timeEmbeddingOffset: offS)
                var x0 = [Float](repeating: 0, count: x.count), e = x0
                let at = a(t), st = s(t)
                for i in 0..<x.count { x0[i] = at * x[i] - st * v[i]; e[i] = st * x[i] + at * v[i] }
                rx0[k] = x0
                reps[k] = e
                if k > 1 {
                    let an = a(g[idx + 1]), sn = s(g[idx + 1])
                    for i in 0..<x.count { x[i] = an * x0[i] + sn * e[i] }
                }
            }
            var stats = IterationStats()
            var skipped = false

            // 1. Fake-score updates on the student's trajectory distribution.
            for _ in 0..<config.tdm.fakeUpdatesPerStep {
                var xt = [Float](), target = [Float](), taus = [Int](), weights = [Float]()
                for b in 0..<bsz {
                    let d = draw(&noiseRNG, grid: g)
                    let r = b * per..<(b + 1) * per
                    let (xtb, mixed) = diffuse(x0: rx0[d.k][r], eps: reps[d.k][r], d)
                    xt += xtb
                    target += rx0[d.k][r]
                    taus.append(d.tau)
                    var wIS: Float = 1
                    if config.tdm.importanceSampling && config.tdm.matching == "trajectory" {
                        var mm = 0.0, nn = 0.0
                        for i in 0..<per { mm += Double(mixed[i] * mixed[i]); nn += Double(d.noise[i] * d.noise[i]) }
                        wIS = Float(Foundation.exp(-0.5 * mm / Double(per) + 0.5 * nn / Double(per)))
                    }
                    let snr = acp[d.tau] / (1 - acp[d.tau])
                    weights.append(Float(min(snr, config.tdm.minSNRClamp)) * wIS)
                    stats.meanIS += Double(wIS) / Double(bsz * config.tdm.fakeUpdatesPerStep)
                }
                fake.zeroGradients()
                let cache = try fake.forwardTraining(hidden: xt, shape: shape, text: text, textLength: textLength,
                                                     timesteps: taus.map(Float.init), timeEmbeddingOffset: offF)
                let out = cache.output.array
                var dOut = [Float](repeating: 0, count: out.count)
                var loss = 0.0
                for b in 0..<bsz {
                    let at = a(taus[b]), st = s(taus[b]), w = weights[b]
                    var l = 0.0
                    for i in (b * per)..<((b + 1) * per) {
                        let f = at * xt[i] - st * out[i]
                        let diff = f - target[i]
                        l += Double(diff * diff)
                        // d/d(out) of w·mean(diff²)/B: 2·diff·(−s_τ)·w/(per·B)
                        dOut[i] = -2 * diff * st * w / Float(per * bsz)
                    }
                    loss += l / Double(per) * Double(w) / Double(bsz)
                }
                let fg = try fake.backward(cache, dOutput: dOut, inputGradients: false)
                let gn = gradientNorm(fake.gradients!.p, count: n)
                if !loss.isFinite || !gn.isFinite { skipped = true; break }
                optF.update(params: fake.parameters.p, grads: fake.gradients!.p, count: n, lr: Float(o.fakeLr))
                if unified {
                    let tg = tableGradient(fg.timeEmbeddingOffset, k: kSteps, batch: bsz)
                    optTF.update(params: &fakeSteps, grads: tg, count: tn, lr: Float(o.fakeLr))
                }
                stats.fakeLoss += loss / Double(config.tdm.fakeUpdatesPerStep)
            }

            // 2. Generator update through one student step.
            if !skipped {
                var draws = [Draw](), xin = [Float](), tg = [Float]()
                for b in 0..<bsz {
                    let d = draw(&noiseRNG, grid: g)
                    draws.append(d)
                    xin += traj[d.k][b * per..<(b + 1) * per]
                    tg.append(Float(d.tg))
                }
                student.zeroGradients()
                let cache = try student.forwardTraining(hidden: xin, shape: shape, text: text, textLength: textLength, timesteps: tg,
                                                        timeEmbeddingOffset: offS)
                let v = cache.output.array
                var x0s = [Float](), xts = [Float](), taus = [Float]()
                for b in 0..<bsz {
                    let r = b * per..<(b + 1) * per
                    let (x0, e) = x0eps(v: v[r], x: xin[r], t: draws[b].tg)
                    let (xt, _) = diffuse(x0: x0[...], eps: e[...], draws[b])
                    x0s += x0
                    xts += xt
                    taus.append(Float(draws[b].tau))
                }
                // Teacher with CFG ([uncond ; cond]) and the fake score, both at x_τ.
                var shape2 = shape
                shape2.batch = 2 * bsz
                var text2 = [Float]()
                for _ in 0..<bsz { text2 += negative }
                text2 += text
                let vt = try teacher.transformer.forward(hidden: xts + xts, shape: shape2, text: text2, textLength: textLength,
                                                         timesteps: taus + taus)
                let vf = try fake.forward(hidden: xts, shape: shape, text: text, textLength: textLength, timesteps: taus,
                                          timeEmbeddingOffset: offF)
                let S = Float(config.tdm.guidance), c = Float(config.tdm.huberC)
                var dOut = [Float](repeating: 0, count: v.count)
                var loss = 0.0
                let total = Float(v.count)
                for b in 0..<bsz {
                    let tau = draws[b].tau, at = a(tau), st = s(tau)
                    let off = b * per, offU = b * per, offC = (bsz + b) * per
                    var real = [Float](repeating: 0, count: per), fk = real
                    var wsum = 0.0
                    for i in 0..<per {
                        let xt = xts[off + i]
                        let ru = at * xt - st * vt[offU + i], rc = at * xt - st * vt[offC + i]
                        real[i] = ru + S * (rc - ru)
                        fk[i] = at * xt - st * vf[off + i]
                        wsum += Double(abs(x0s[off + i] - real[i]))
                    }
                    let w = Float(max(wsum / Double(per), 1e-8))
                    stats.meanW += Double(w) / Double(bsz)
                    let sg = s(draws[b].tg)
                    for i in 0..<per {
                        // target = sg(x0 + (real − fake)); the difference x0 − target is −(real − fake).
                        let diff = -(real[i] - fk[i])
                        let dl: Float
                        if config.tdm.generatorLoss == "huber" {
                            let q = (diff * diff + c * c).squareRoot()
                            loss += Double((q - c) / w)
                            dl = diff / q / w / total
                        } else {
                            loss += Double(diff * diff / w)
                            dl = 2 * diff / w / total
                        }
                        // x0 = a_t·x − s_t·v, so d/dv = −s_t·d/dx0.
                        dOut[off + i] = -sg * dl
                    }
                }
                loss /= Double(total)
                if injectNonFiniteLoss?(iter + 1) == true { loss = .nan }
                let sgr = try student.backward(cache, dOutput: dOut, inputGradients: false)
                let gn = clipGradientNorm(student.gradients!.p, count: n, maxNorm: o.gradClip)
                if loss.isFinite && gn.isFinite {
                    optG.update(params: student.parameters.p, grads: student.gradients!.p, count: n, lr: Float(o.studentLr))
                    if unified {
                        let tgr = tableGradient(sgr.timeEmbeddingOffset, k: kSteps, batch: bsz)
                        optTS.update(params: &studentSteps, grads: tgr, count: tn, lr: Float(o.studentLr))
                    }
                    stats.generatorLoss = loss
                    stats.gradNorm = gn
                } else {
                    skipped = true
                }
            }
            iter += 1
            if skipped {
                bad += 1
                badInARow += 1
                log.append(["step": iter, "skipped": true])
                if badInARow >= o.maxBadSteps {
                    throw CheckpointError(path: checkpointURL.path, message: "\(badInARow) iterations in a row had a NaN or infinite loss or gradient; stopped (the last good checkpoint is kept)")
                }
                continue
            }
            badInARow = 0
            last = stats
            if iter % o.logEvery == 0 || iter == o.iterations {
                log.append(["step": iter, "generator_loss": stats.generatorLoss, "fake_loss": stats.fakeLoss,
                            "normaliser": stats.meanW, "importance_weight": stats.meanIS, "grad_norm": stats.gradNorm,
                            "elapsed_s": Date().timeIntervalSince(start)])
            }
            progress.update(iter, String(format: "gen %.4f fake %.4f", stats.generatorLoss, stats.fakeLoss))
            let evalNow = o.evalEvery > 0 && (iter % o.evalEvery == 0 || (o.keepBest && iter == o.iterations))
            if evalNow {
                // The student as it is now, on its own K-step grid without guidance.
                var meta = teacher.metadata
                meta.kind = "student"
                meta.sampling = .init(scheduler: "ddim", steps: grid.count, guidance: 1, timesteps: grid,
                                      stepEmbeddings: unified ? [String(config.tdm.steps): Array(studentSteps[(stepCounts.firstIndex(of: config.tdm.steps)! * te)...].prefix(te))] : nil,
                                      timeShift: config.tdm.timeShift)
                let pkg = ModelPackage(directory: outDir, metadata: meta, transformer: student, codec: teacher.codec)
                let r = try SuiteEvaluation.run(pkg, suite: evalSuite, seeds: o.evalSeeds)
                let rv = try SuiteEvaluation.run(pkg, suite: validationSuite, seeds: o.evalSeeds)
                log.append(["step": iter, "eval_total": r.totalScore ?? -1, "eval_quality": r.qualityScore ?? -1,
                            "eval_semantic": r.semanticScore ?? -1, "val_total": rv.totalScore ?? -1,
                            "val_quality": rv.qualityScore ?? -1, "val_semantic": rv.semanticScore ?? -1])
                if o.keepBest, let vt = rv.totalScore, best == nil || vt > best!.total {
                    try saveBest()
                    best = (iter, vt)
                }
            }
            if iter % o.checkpointEvery == 0 || iter == o.iterations || (evalNow && o.keepBest) { try saveCheckpoint() }
        }
        progress.update(iter, String(format: "gen %.4f fake %.4f", last.generatorLoss, last.fakeLoss), force: true)
        progress.finish()
        var result = Result(iterations: iter, badSteps: bad, seconds: Date().timeIntervalSince(start), last: last)
        if o.keepBest && iter == o.iterations, let b = best {
            if b.iteration != iter {
                let ck = try Checkpoint.read(bestURL), src = bestURL.path
                guard ck.state["config"] == fingerprint, try ck.int("iteration", source: src) == b.iteration else {
                    throw CheckpointError(path: src, message: "does not hold this run's best student (iteration \(b.iteration)); rerun without --resume")
                }
                student.parameters.copy(from: try ck.tensor("student", count: n, source: src))
                if unified { studentSteps = try ck.tensor("steps.student", count: tn, source: src) }
            }
            result.kept = (b.iteration, b.total)
        }
        return result
    }

    /// Writes the student as a model package that samples in K steps on the TDM grid without CFG.
    public func exportStudent(to dir: URL, recipe: [String: String], dtype: SafeTensorsDType = .f32) throws {
        var meta = teacher.metadata
        meta.kind = "student"
        var table: [String: [Float]]? = nil
        if unified {
            table = [:]
            for (i, k) in stepCounts.enumerated() { table![String(k)] = Array(studentSteps[(i * te)..<((i + 1) * te)]) }
        }
        meta.sampling = .init(scheduler: "ddim", steps: grid.count, guidance: 1, timesteps: grid,
                              stepEmbeddings: table, timeShift: config.tdm.timeShift)
        meta.recipe = recipe
        try ModelPackage.save(dir, transformer: student, codec: teacher.codec, metadata: meta, dtype: dtype)
    }
}
