import Foundation
import TensorCore
import VBenchLite
import VideoModel

/// `configs/distill*.yaml`: TDM distillation (docs: ../shared/docs/tdm.md, "what we implement").
/// Each ablation switch of tdm.md §6 and of issue 19 is a field here.
public struct DistillConfig: ConfigSection, Equatable {
    public struct TDM: ConfigSection, Equatable {
        public init() {}
        /// Student sampling steps K (the grid is the uniform grid under the time shift).
        public var steps = 4
        public var timeShift = 2.0
        /// The teacher's CFG scale inside the real score.
        public var guidance = 2.0
        /// The real score's τ at which `guidance` applies, [low, high] inclusive; elsewhere the real score is
        /// the teacher's conditional score alone (guidance 1), as in "guidance in a limited interval"
        /// (Kynkäänniemi et al. 2024). [0, 999]: everywhere.
        public var guidanceInterval = [0, 999]
        /// TDM, or the DMD2 baseline (clean samples at random τ, fresh samples for each fake update).
        public var method = DistillMethod.tdm
        public var generatorLoss = GeneratorLoss.huberElementwise
        /// c of the elementwise pseudo-Huber (`huber_elementwise`); the vector form uses 0.00054·√d.
        public var huberC = 1e-3
        public var matching = Matching.trajectory
        /// The fake score's loss: the teacher's own v-MSE, or the authors' demo's x0-MSE × min(SNR, clamp).
        public var fakeLoss = FakeLoss.vMSE
        public var importanceSampling = ImportanceSampling.tempered
        /// Step counts for unified training (e.g. [1, 2, 4]); empty trains the single `steps`.
        public var unify: [Int] = []
        /// With unify: feed K to the student and the fake score through the step-count embedding (the
        /// paper's TDM-unify); false trains one unconditioned student on every K (Table 5's ablation).
        public var stepConditioning = true
        public var fakeUpdatesPerStep = 1
        /// What the fake score's updates train on: `shared`, the iteration's one rollout (the generator's
        /// too), or `fresh`, a new rollout for each update and for the generator (as DMD2 does). DMD2 is
        /// always fresh.
        public var fakeRollouts = FakeRollouts.shared
        public var minSNRClamp = 5.0
        /// The student's sampler over its K-step grid, written into its package and used by the evaluations
        /// that keep_best reads: ddim (deterministic, the trajectory it is trained on; tdm.md §1) or dpm
        /// (CogVideoX's stochastic SDE-DPM-Solver++(2M); the paper trains with DDIM and finds DPM-Solver better
        /// at test time, tdm.md "Sampler at train vs test"). Training itself is the same either way.
        public var sampler = SchedulerKind.ddim
        /// With > 0, the teacher anchor: before training the teacher samples `anchor_pairs` prompts from noise
        /// (deterministic DDIM on its own step count, the student's grid points inserted, at `anchor_guidance`),
        /// and every generator update adds `anchor_weight` × the mean squared distance between the student's
        /// DDIM step from a teacher trajectory point x_{t_k} and the teacher's own next point x_{t_k-1} (its
        /// final x0 for the last step): a regression toward the teacher's sampling, as DMD's regression loss,
        /// that gives the distribution-matching push a point to hold to. 0: off (TDM as the paper has it).
        public var anchorWeight = 0.0
        public var anchorPairs = 256
        /// The anchor's guidance; 0: the teacher's own sampling guidance (its package's).
        public var anchorGuidance = 0.0
        /// What gives the real score: `teacher`, the teacher with CFG at `guidance` (the paper's), or `tuned`,
        /// a copy of the teacher fine-tuned before training, with the teacher's own v-MSE, on `real_tune_samples`
        /// clips the teacher samples itself (its own step count, at `real_tune_guidance`), then used with CFG at
        /// `guidance` (1: its conditional score alone). The idea: CFG's x0 at each noise level is not the denoiser
        /// of any one distribution, while the tuned copy's conditional score is (the teacher's guided samples, as
        /// well as the fine-tuning learns them). Measured worse than the teacher (docs/results.md, "Stop 27").
        public var realScore = RealScore.teacher
        public var realTuneSamples = 2048
        public var realTuneSteps = 2000
        public var realTuneLr = 1e-4
        /// The guidance of the clips the real score is tuned on; 0: the teacher's own sampling guidance.
        public var realTuneGuidance = 0.0
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case steps, timeShift = "time_shift", guidance, guidanceInterval = "guidance_interval", method, generatorLoss = "generator_loss", huberC = "huber_c"
            case matching, fakeLoss = "fake_loss", importanceSampling = "importance_sampling", unify
            case stepConditioning = "step_conditioning"
            case fakeUpdatesPerStep = "fake_updates_per_step", fakeRollouts = "fake_rollouts", minSNRClamp = "min_snr_clamp", sampler
            case anchorWeight = "anchor_weight", anchorPairs = "anchor_pairs", anchorGuidance = "anchor_guidance"
            case realScore = "real_score", realTuneSamples = "real_tune_samples", realTuneSteps = "real_tune_steps"
            case realTuneLr = "real_tune_lr", realTuneGuidance = "real_tune_guidance"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...16).contains(steps), file, path, "steps", "an integer in 1...16")
            try ConfigFile.require(timeShift > 0 && timeShift <= 20, file, path, "time_shift", "a number in (0, 20]")
            try ConfigFile.require(guidance >= 1 && guidance <= 20, file, path, "guidance", "a number in [1, 20]")
            try ConfigFile.require(guidanceInterval.count == 2 && guidanceInterval[0] >= 0 && guidanceInterval[0] <= guidanceInterval[1]
                                   && guidanceInterval[1] <= 999, file, path, "guidance_interval", "[low, high] with 0 <= low <= high <= 999")
            try ConfigFile.require(huberC > 0 && huberC <= 1000, file, path, "huber_c", "a number in (0, 1000]")
            try ConfigFile.require(unify.count <= 16 && unify.allSatisfy { (1...16).contains($0) } && Set(unify).count == unify.count, file, path, "unify", "distinct step counts in 1...16")
            try ConfigFile.require(unify.isEmpty || unify.contains(steps), file, path, "steps", "one of unify \(unify) (the student's default step count)")
            try ConfigFile.require((1...20).contains(fakeUpdatesPerStep), file, path, "fake_updates_per_step", "an integer in 1...20")
            try ConfigFile.require(minSNRClamp > 0 && minSNRClamp <= 1e6, file, path, "min_snr_clamp", "a number in (0, 1e6]")
            try ConfigFile.require(anchorWeight >= 0 && anchorWeight <= 1e6, file, path, "anchor_weight", "a number in [0, 1e6] (0: no anchor)")
            try ConfigFile.require((1...65_536).contains(anchorPairs), file, path, "anchor_pairs", "an integer in 1...65536")
            try ConfigFile.require(anchorGuidance == 0 || (anchorGuidance >= 1 && anchorGuidance <= 20), file, path, "anchor_guidance",
                                   "0 (the teacher's own sampling guidance) or a number in [1, 20]")
            try ConfigFile.require(anchorWeight == 0 || unify.isEmpty, file, path, "anchor_weight", "0 with unify (the anchor follows the single K-step grid)")
            try ConfigFile.require((1...1_000_000).contains(realTuneSamples), file, path, "real_tune_samples", "an integer in 1...1000000")
            try ConfigFile.require((1...10_000_000).contains(realTuneSteps), file, path, "real_tune_steps", "an integer in 1...10000000")
            try ConfigFile.require(realTuneLr > 0 && realTuneLr < 1, file, path, "real_tune_lr", "a number in (0, 1)")
            try ConfigFile.require(realTuneGuidance == 0 || (realTuneGuidance >= 1 && realTuneGuidance <= 20), file, path, "real_tune_guidance",
                                   "0 (the teacher's own sampling guidance) or a number in [1, 20]")
        }
    }

    public struct Optim: ConfigSection, Equatable {
        public init() {}
        public var iterations = 400
        public var batch = 8
        public var studentLr = 5e-6
        public var fakeLr = 1e-4
        /// Learning rate of TDM-unify's step-count embeddings (student and fake score). With Adam (β1 = 0)
        /// each element moves about lr per update, so at the student's lr the rows stay near zero (issue 19).
        public var stepEmbeddingLr = 1e-3
        public var beta1 = 0.0, beta2 = 0.999, weightDecay = 0.0, gradClip = 1.0
        public var seed = 1, checkpointEvery = 50, logEvery = 5, maxBadSteps = 20
        /// Score the student on the held-out and the validation suites every this many iterations (0: never),
        /// with this many seeds per prompt.
        public var evalEvery = 0, evalSeeds = 1
        /// With > 0, each evaluation also measures the distribution metrics (recall, diversity, Frechet
        /// distance, ...) against this many world clips per prompt, and logs them.
        public var evalReferenceSeeds = 0
        /// Export the student of the evaluation (periodic or final) with the best validation-suite figure
        /// (`keep_best_by`) instead of the last one. Needs `eval_every` > 0.
        public var keepBest = false
        public var keepBestBy = KeepBestMetric.total
        /// With > 0, an exponential moving average of the student's weights (decay per generator update, with
        /// the usual warm-up) is what the evaluations score, keep_best keeps and distill exports; 0: the raw
        /// weights. The step-count table of unify is not averaged.
        public var emaDecay = 0.0
        /// The student's learning rate over the run: `constant` (student_lr throughout) or `cosine` (from
        /// student_lr at the first generator update down to `student_lr_end` at the last, half a cosine over
        /// `iterations`, so a longer run anneals more slowly). The fake score's and the step-count table's
        /// rates stay constant.
        public var studentLrSchedule = LRSchedule.constant
        public var studentLrEnd = 0.0
        /// With > 0, decoupled weight decay of the student toward the teacher's weights (L2-SP): after each
        /// generator update θ ← θ − lr·λ·(θ − θ_teacher), lr the student's rate then. With Adam each update moves a
        /// weight about lr, so no weight settles further than about 1/λ from the teacher's. 0: off.
        public var decayToTeacher = 0.0
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case iterations, batch, studentLr = "student_lr", fakeLr = "fake_lr", stepEmbeddingLr = "step_embedding_lr", beta1, beta2, weightDecay = "weight_decay"
            case gradClip = "grad_clip", seed, checkpointEvery = "checkpoint_every", logEvery = "log_every", maxBadSteps = "max_bad_steps"
            case evalEvery = "eval_every", evalSeeds = "eval_seeds", evalReferenceSeeds = "eval_reference_seeds"
            case keepBest = "keep_best", keepBestBy = "keep_best_by", emaDecay = "ema_decay"
            case studentLrSchedule = "student_lr_schedule", studentLrEnd = "student_lr_end", decayToTeacher = "decay_to_teacher"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...10_000_000).contains(iterations), file, path, "iterations", "an integer in 1...10000000")
            try ConfigFile.require((1...1024).contains(batch), file, path, "batch", "an integer in 1...1024")
            try ConfigFile.require(studentLr > 0 && studentLr < 1, file, path, "student_lr", "a number in (0, 1)")
            try ConfigFile.require(fakeLr > 0 && fakeLr < 1, file, path, "fake_lr", "a number in (0, 1)")
            try ConfigFile.require(stepEmbeddingLr > 0 && stepEmbeddingLr < 1, file, path, "step_embedding_lr", "a number in (0, 1)")
            try ConfigFile.require(beta1 >= 0 && beta1 < 1, file, path, "beta1", "a number in [0, 1)")
            try ConfigFile.require(beta2 > 0 && beta2 < 1, file, path, "beta2", "a number in (0, 1)")
            try ConfigFile.require(weightDecay >= 0 && weightDecay < 1, file, path, "weight_decay", "a number in [0, 1)")
            try ConfigFile.require(gradClip > 0 && gradClip <= 1e6, file, path, "grad_clip", "a number in (0, 1e6]")
            try ConfigFile.require(seed >= 0 && seed <= 1 << 53, file, path, "seed", "an integer in 0...2^53")
            try ConfigFile.require((1...10_000_000).contains(checkpointEvery), file, path, "checkpoint_every", "an integer in 1...10000000")
            try ConfigFile.require((1...10_000_000).contains(logEvery), file, path, "log_every", "an integer in 1...10000000")
            try ConfigFile.require((1...1_000_000).contains(maxBadSteps), file, path, "max_bad_steps", "an integer in 1...1000000")
            try ConfigFile.require((0...10_000_000).contains(evalEvery), file, path, "eval_every", "an integer in 0...10000000 (0: never)")
            try ConfigFile.require((1...32).contains(evalSeeds), file, path, "eval_seeds", "an integer in 1...32")
            try ConfigFile.require((0...100).contains(evalReferenceSeeds), file, path, "eval_reference_seeds", "an integer in 0...100 (0: no distribution metrics)")
            try ConfigFile.require(keepBestBy == .total || (evalReferenceSeeds >= 2 && evalSeeds >= 2), file, path, "keep_best_by",
                                   "total unless eval_reference_seeds >= 2 and eval_seeds >= 2 (\(keepBestBy.rawValue) is a distribution metric)")
            try ConfigFile.require(emaDecay >= 0 && emaDecay < 1, file, path, "ema_decay", "a number in [0, 1) (0: no average)")
            try ConfigFile.require(studentLrEnd >= 0 && studentLrEnd <= studentLr, file, path, "student_lr_end",
                                   "a number in [0, student_lr] (the cosine schedule's last rate)")
            try ConfigFile.require(decayToTeacher >= 0 && decayToTeacher * studentLr <= 1, file, path, "decay_to_teacher",
                                   "a number in [0, 1 / student_lr] (0: off; above it each update would overshoot the teacher's weights)")
            try ConfigFile.require(!keepBest || evalEvery > 0, file, path, "keep_best",
                                   "false unless eval_every > 0 (the best student is chosen among the periodic evaluations)")
        }
    }

    public init() {}
    public var tdm = TDM()
    public var optim = Optim()
    public enum CodingKeys: String, CodingKey, CaseIterable { case tdm, optim }
    public static var sections: [String: any ConfigSection.Type] { ["tdm": TDM.self, "optim": Optim.self] }
    public func validate(file: String, path: String) throws {
        try tdm.validate(file: file, path: "tdm")
        try optim.validate(file: file, path: "optim")
    }
}

/// What gives TDM's real score (`tdm.real_score`).
public enum RealScore: String, NamedChoice {
    /// The teacher, with CFG at `tdm.guidance`.
    case teacher
    /// A copy of the teacher fine-tuned on the teacher's own guided samples before training.
    case tuned
}

/// The generator's surrogate loss on x0 − target = −(real − fake).
public enum GeneratorLoss: String, NamedChoice {
    /// The authors' code (train_tdm_demo.py): elementwise pseudo-Huber √(d² + c²) − c with c = `huber_c`,
    /// over the per-sample normaliser mean|x0 − real|, averaged over all elements.
    case huberElementwise = "huber_elementwise"
    /// The paper's Eq. 11: per sample, √(‖d‖² + c²) − c on the whole vector with c = 0.00054·√dim (iCT's
    /// choice), no normaliser; averaged over the batch.
    case huberVector = "huber_vector"
    /// Squared error over the per-sample normaliser.
    case mse

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        if text == "huber" {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"huber\" now names its form: huber_elementwise (the authors' code, the old huber) or huber_vector (the paper's Eq. 11)")
        }
        guard let v = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "must be one of \(Self.names) (got \"\(text)\")")
        }
        self = v
    }
}

/// Where the fake and real scores are matched.
public enum Matching: String, NamedChoice {
    /// TDM: x_τ diffused forward from the trajectory point within the step's own interval.
    case trajectory
    /// DMD2-style: the student's x0 noised with fresh noise, and τ widened to U[20, 980) for every step.
    case clean
    /// The paper's Table 7 arm: τ in the step's own interval as in `trajectory`, but x_τ noised from the
    /// student's x0 (x̂_{t_i}) with fresh noise instead of diffused from the trajectory point x_{t_i}.
    case cleanInterval = "clean_interval"
}

/// What each fake-score update trains on.
public enum FakeRollouts: String, NamedChoice {
    case shared, fresh
}

/// The fake score's training loss.
public enum FakeLoss: String, NamedChoice {
    /// v-MSE, the loss the teacher was trained with (BLADE's choice for CogVideoX): even over noise levels.
    case vMSE = "v_mse"
    /// The authors' ε-prediction demo: x0-MSE × min(SNR_τ, `min_snr_clamp`). On a v-prediction schedule
    /// this is min(α², clamp·σ²)·v-MSE: about SNR at high noise, so the fake score barely trains there.
    case x0MinSNR = "x0_min_snr"
}

/// The fake loss's per-sample importance weight q(x_τ | x̂0) / q(x_τ | x_{t_i}) (tdm.md §3).
public enum ImportanceSampling: String, NamedChoice {
    /// Weight 1.
    case none
    /// The authors' current code (after 2f938bf): exp(−mean(mixed²)/2) / exp(−mean(ε²)/2), the ratio
    /// tempered by a mean over the latent's dimensions; near 1 at thousands of dimensions.
    case tempered
    /// The authors' code before 2f938bf: the same, with the mixed noise missing σ_mid,
    /// (r·ε̂ + β·ε)/σ_τ, which makes the weight about exp(−SNR_τ/2): small at low noise.
    case authorsEarly = "authors_early"

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "is no longer a boolean: write importance_sampling: \(b ? "tempered" : "none") (the old \(b)), or authors_early; one of \(Self.names)")
        }
        let text = try c.decode(String.self)
        guard let v = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "must be one of \(Self.names) (got \"\(text)\")")
        }
        self = v
    }
}

/// The student's learning-rate schedule (`optim.student_lr_schedule`).
public enum LRSchedule: String, NamedChoice {
    case constant, cosine
}

/// What `keep_best` chooses the student by, on the validation suite.
public enum KeepBestMetric: String, NamedChoice {
    /// VBenchLite's Total (higher).
    case total
    /// The conditional Frechet distance to the world's clips (lower): fidelity and coverage at once.
    case frechetDistance = "frechet_distance"
    /// k-NN recall against the world's clips (higher): mode coverage.
    case recall

    /// The report's figure for this metric, made "higher is better"; nil if the report lacks it.
    public func score(_ r: ScoreReport) -> Double? {
        switch self {
        case .total: return r.totalScore
        case .frechetDistance: return r.distribution?["frechet_distance"].map { -$0.value }
        case .recall: return r.distribution?["recall"]?.value
        }
    }
}

/// The distillation method.
public enum DistillMethod: String, NamedChoice {
    /// Trajectory Distribution Matching (tdm.md).
    case tdm
    /// The DMD2 baseline for "a fraction of DMD2's cost": scores matched on the student's x0 noised at
    /// τ ~ U[20, 980) (no trajectory), `fake_updates_per_step` fake updates each on a fresh rollout,
    /// no importance weight.
    case dmd2
}
