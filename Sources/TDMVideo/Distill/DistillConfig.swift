import Foundation
import TensorCore

/// `configs/distill*.yaml`: TDM distillation (docs: ../shared/docs/tdm.md, "what we implement").
/// Each ablation switch of tdm.md §6 is a field here.
public struct DistillConfig: ConfigSection, Equatable {
    public struct TDM: ConfigSection, Equatable {
        public init() {}
        /// Student sampling steps K (the grid is the uniform grid under the time shift).
        public var steps = 4
        public var timeShift = 2.0
        /// The teacher's CFG scale inside the real score.
        public var guidance = 2.0
        public var generatorLoss = GeneratorLoss.huber
        public var huberC = 1e-3
        public var matching = Matching.trajectory
        public var importanceSampling = true
        /// Step counts for unified training (e.g. [1, 2, 4]); empty trains the single `steps`.
        public var unify: [Int] = []
        public var fakeUpdatesPerStep = 1
        public var minSNRClamp = 5.0
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case steps, timeShift = "time_shift", guidance, generatorLoss = "generator_loss", huberC = "huber_c"
            case matching, importanceSampling = "importance_sampling", unify, fakeUpdatesPerStep = "fake_updates_per_step"
            case minSNRClamp = "min_snr_clamp"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...16).contains(steps), file, path, "steps", "an integer in 1...16")
            try ConfigFile.require(timeShift > 0 && timeShift <= 20, file, path, "time_shift", "a number in (0, 20]")
            try ConfigFile.require(guidance >= 1 && guidance <= 20, file, path, "guidance", "a number in [1, 20]")
            try ConfigFile.require(huberC > 0 && huberC <= 1000, file, path, "huber_c", "a number in (0, 1000]")
            try ConfigFile.require(unify.count <= 16 && unify.allSatisfy { (1...16).contains($0) } && Set(unify).count == unify.count, file, path, "unify", "distinct step counts in 1...16")
            try ConfigFile.require(unify.isEmpty || unify.contains(steps), file, path, "steps", "one of unify \(unify) (the student's default step count)")
            try ConfigFile.require((1...20).contains(fakeUpdatesPerStep), file, path, "fake_updates_per_step", "an integer in 1...20")
            try ConfigFile.require(minSNRClamp > 0 && minSNRClamp <= 1e6, file, path, "min_snr_clamp", "a number in (0, 1e6]")
        }
    }

    public struct Optim: ConfigSection, Equatable {
        public init() {}
        public var iterations = 400
        public var batch = 8
        public var studentLr = 5e-6
        public var fakeLr = 1e-4
        public var beta1 = 0.0, beta2 = 0.999, weightDecay = 0.0, gradClip = 1.0
        public var seed = 1, checkpointEvery = 50, logEvery = 5, maxBadSteps = 20
        /// Score the student on the held-out and the validation suites every this many iterations (0: never),
        /// with this many seeds per prompt.
        public var evalEvery = 0, evalSeeds = 1
        /// Export the student of the evaluation (periodic or final) with the best validation-suite Total
        /// instead of the last one. Needs `eval_every` > 0.
        public var keepBest = false
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case iterations, batch, studentLr = "student_lr", fakeLr = "fake_lr", beta1, beta2, weightDecay = "weight_decay"
            case gradClip = "grad_clip", seed, checkpointEvery = "checkpoint_every", logEvery = "log_every", maxBadSteps = "max_bad_steps"
            case evalEvery = "eval_every", evalSeeds = "eval_seeds", keepBest = "keep_best"
        }
        public func validate(file: String, path: String) throws {
            try ConfigFile.require((1...10_000_000).contains(iterations), file, path, "iterations", "an integer in 1...10000000")
            try ConfigFile.require((1...1024).contains(batch), file, path, "batch", "an integer in 1...1024")
            try ConfigFile.require(studentLr > 0 && studentLr < 1, file, path, "student_lr", "a number in (0, 1)")
            try ConfigFile.require(fakeLr > 0 && fakeLr < 1, file, path, "fake_lr", "a number in (0, 1)")
            try ConfigFile.require(beta1 >= 0 && beta1 < 1, file, path, "beta1", "a number in [0, 1)")
            try ConfigFile.require(beta2 > 0 && beta2 < 1, file, path, "beta2", "a number in (0, 1)")
            try ConfigFile.require(weightDecay >= 0 && weightDecay < 1, file, path, "weight_decay", "a number in [0, 1)")
            try ConfigFile.require(gradClip > 0 && gradClip <= 1e6, file, path, "grad_clip", "a number in (0, 1e6]")
            try ConfigFile.require(seed >= 0 && seed <= 1 << 53, file, path, "seed", "an integer in 0...2^53")
            try ConfigFile.require((1...10_000_000).contains(checkpointEvery), file, path, "checkpoint_every", "an integer in 1...10000000")
            try ConfigFile.require((1...10_000_000).contains(logEvery), file, path, "log_every", "an integer in 1...10000000")
            try ConfigFile.require((1...1_000_000).contains(maxBadSteps), file, path, "max_bad_steps", "an integer in 1...1000000")
            try ConfigFile.require((0...10_000_000).contains(evalEvery), file, path, "eval_every", "an integer in 0...10000000 (0: never)")
            try ConfigFile.require((1...10).contains(evalSeeds), file, path, "eval_seeds", "an integer in 1...10")
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

/// The generator's surrogate loss on x0 − target = −(real − fake).
public enum GeneratorLoss: String, NamedChoice {
    /// Elementwise pseudo-Huber √(d² + c²) − c with c = `huber_c`, over the per-sample normaliser.
    case huber
    /// Squared error over the per-sample normaliser.
    case mse
}

/// Where the fake and real scores are matched.
public enum Matching: String, NamedChoice {
    /// TDM: x_τ diffused forward from the trajectory point within the step's own interval.
    case trajectory
    /// DMD2-style: the student's x0 noised with fresh noise, τ ~ U[20, 980).
    case clean
}
