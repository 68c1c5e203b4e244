import Foundation
import ShapeWorld
import Testing
import VideoInference
@testable import TDMVideo
@testable import TensorCore
@testable import VideoModel

struct SquarePrompts: PromptSource {
    func samplePrompt(_ rng: inout RNG) -> String {
        "a \(["red", "green", "blue"][rng.int(0, 3)]) square moving \(["left", "right"][rng.int(0, 2)])"
    }
}

/// Counts the prompts a run draws.
final class CountingPrompts: PromptSource {
    var drawn = 0
    func samplePrompt(_ rng: inout RNG) -> String {
        drawn += 1
        return SquarePrompts().samplePrompt(&rng)
    }
}

@Suite("TDM distillation") struct DistillTests {
    /// A tiny teacher trained briefly on moving squares, shared by the tests below.
    static let teacherDir: URL = {
        let dir = PretrainTests.tempDir()
        let cfg = try! PretrainTests.tinyConfig(steps: 30)
        let p = try! Pretrainer(config: cfg, outDir: dir.appendingPathComponent("run"))
        p.quiet = true
        _ = try! p.run(source: MovingSquares(), resume: false)
        try! p.exportPackage(to: dir.appendingPathComponent("teacher"), recipe: [:])
        return dir.appendingPathComponent("teacher")
    }()

    static func config(_ extra: String = "") throws -> DistillConfig {
        try ConfigFile.parse(DistillConfig.self, yaml: """
            tdm: {steps: 4, guidance: 4.5\(extra)}
            optim: {iterations: 6, batch: 2, student_lr: 1e-4, fake_lr: 5e-4, checkpoint_every: 2, log_every: 1}
            """, file: "tiny-distill.yaml")
    }

    /// A NaN loss skips the iteration and is counted; `max_bad_steps` in a row stop the run with a
    /// message, and the checkpoint on disk is the last good one.
    @Test func nonFiniteLossIsSkippedCountedAndStopsTheRun() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let a = PretrainTests.tempDir(), b = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let d = try Distiller(config: try Self.config(), teacher: teacher, outDir: a)
        d.quiet = true
        d.injectNonFiniteLoss = { $0 == 3 }
        let r = try d.run(prompts: SquarePrompts(), resume: false)
        #expect(r.iterations == 6 && r.badSteps == 1)
        let skipped = TrainingLog.read(d.logURL).filter { $0["skipped"] != nil }.compactMap { ($0["step"] as? NSNumber)?.intValue }
        #expect(skipped == [3])

        let cfg = try ConfigFile.parse(DistillConfig.self, yaml: """
            tdm: {steps: 4, guidance: 4.5}
            optim: {iterations: 12, batch: 2, checkpoint_every: 2, log_every: 1, max_bad_steps: 3}
            """, file: "nan.yaml")
        let e = try Distiller(config: cfg, teacher: teacher, outDir: b)
        e.quiet = true
        e.injectNonFiniteLoss = { $0 >= 5 }
        let error = #expect(throws: CheckpointError.self) { try e.run(prompts: SquarePrompts(), resume: false) }
        #expect(error?.description.contains("3 iterations in a row") == true, "\(String(describing: error))")
        let ck = try Checkpoint.read(e.checkpointURL)
        #expect(try ck.int("iteration", source: "") == 4, "the last good checkpoint is kept")
        #expect(try ck.tensor("student", count: e.student.parameters.count, source: "").allSatisfy(\.isFinite))
    }

    /// The switches that changed meaning are refused in their old spelling, naming the new values.
    @Test func oldSpellingsAreRefusedWithTheNewNames() throws {
        for (old, says) in [("importance_sampling: true", "tempered"), ("importance_sampling: false", "none"),
                            ("generator_loss: huber", "huber_elementwise"), ("fake_loss: mse", "v_mse")] {
            let error = #expect(throws: ConfigError.self) { _ = try Self.config(", " + old) }
            #expect(error?.description.contains(says) == true, "\(old): \(String(describing: error))")
        }
    }

    @Test func gridIsTDMsCogVideoXGrid() {
        #expect(TimestepGrid.shifted(steps: 4, shift: 2) == [999, 856, 665, 399])
        #expect(TimestepGrid.shifted(steps: 1, shift: 2) == [999])
        #expect(TimestepGrid.shifted(steps: 2, shift: 1) == [999, 499])
    }

    @Test(arguments: ["", ", importance_sampling: none", ", importance_sampling: authors_early", ", matching: clean",
                      ", matching: clean_interval", ", generator_loss: mse", ", generator_loss: huber_vector",
                      ", fake_loss: x0_min_snr", ", fake_updates_per_step: 2", ", fake_updates_per_step: 2, fake_rollouts: fresh",
                      ", method: dmd2, fake_updates_per_step: 2"])
    func everySwitchTrainsAndMovesTheStudent(extra: String) throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let out = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let d = try Distiller(config: try Self.config(extra), teacher: teacher, outDir: out)
        d.quiet = true
        let r = try d.run(prompts: SquarePrompts(), resume: false)
        #expect(r.iterations == 6 && r.badSteps == 0)
        #expect(r.last.generatorLoss.isFinite && r.last.fakeLoss.isFinite && r.last.meanW > 0)
        if extra.contains("importance_sampling: none") || extra.contains("clean") || extra.contains("dmd2") { #expect(r.last.meanIS == 1) }
        if extra.isEmpty { #expect(r.last.meanIS != 1) }
        // The per-interval diagnostics: the fake score's v-MSE and the push along (cond − uncond).
        let last = try #require(TrainingLog.read(d.logURL).last { $0["generator_loss"] != nil })
        #expect(last.keys.contains { $0.hasPrefix("fake_vmse_t") } && last.keys.contains { $0.hasPrefix("push_t") }, "\(last.keys)")
        let moved = compareTensors(d.student.parameters.array, teacher.transformer.parameters.array).maxAbs
        let fakeMoved = compareTensors(d.fake.parameters.array, teacher.transformer.parameters.array).maxAbs
        #expect(moved > 0 && fakeMoved > 0)
    }

    /// `tdm.sampler`: the student's package samples its K-step grid with the configured scheduler (ddim by
    /// default, dpm when asked), which is what the in-run evaluations and `sample` use; dpm draws fresh noise
    /// at every step from the clip's seed, so it differs from ddim and repeats itself for a seed.
    @Test func studentSamplerIsWrittenIntoThePackage() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let out = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let plain = try Distiller(config: try Self.config(), teacher: teacher, outDir: out.appendingPathComponent("a"))
        #expect(plain.studentMetadata(fullTable: false).sampling.scheduler == .ddim)
        let d = try Distiller(config: try Self.config(", sampler: dpm"), teacher: teacher, outDir: out.appendingPathComponent("b"))
        try d.exportStudent(to: out.appendingPathComponent("student"), recipe: [:])
        let pipe = VideoPipeline(try ModelPackage.load(out.appendingPathComponent("student")))
        let o = pipe.defaults
        #expect(o.scheduler == .dpm && o.timesteps == [999, 856, 665, 399] && pipe.nfe(o) == 4)
        var ddim = o
        ddim.scheduler = .ddim
        let a = try pipe.render(prompt: "a red square moving left", seed: 3, options: o)
        let again = try pipe.render(prompt: "a red square moving left", seed: 3, options: o)
        let det = try pipe.render(prompt: "a red square moving left", seed: 3, options: ddim)
        #expect(a == again)
        #expect(compareTensors(a, det).maxAbs > 1e-3, "dpm rendered the ddim clip")
        #expect(throws: ConfigError.self) { _ = try Self.config(", sampler: euler") }
    }

    /// TDM-unify: one student for K in {1, 2, 4}; its package samples each K on its own grid with its
    /// own step embedding, and a killed run resumes exactly.
    @Test func unifiedStudentSamplesEveryK() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let out = PretrainTests.tempDir(), b = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: b) }
        let cfg = try Self.config(", unify: [1, 2, 4]")
        let d = try Distiller(config: cfg, teacher: teacher, outDir: out.appendingPathComponent("run"))
        d.quiet = true
        _ = try d.run(prompts: SquarePrompts(), resume: false)
        #expect(d.studentSteps.count == 3 * teacher.transformer.config.timeEmbedDim)
        #expect(d.studentSteps.contains { $0 != 0 } && d.fakeSteps.contains { $0 != 0 })
        try d.exportStudent(to: out.appendingPathComponent("student"), recipe: [:])
        let pipe = VideoPipeline(try ModelPackage.load(out.appendingPathComponent("student")))
        for (k, grid) in [(1, [999]), (2, [999, 665]), (4, [999, 856, 665, 399])] {
            let o = pipe.options(steps: k)
            #expect(o.timesteps == grid && o.timeEmbeddingOffset != nil && pipe.nfe(o) == k)
            var calls = 0
            _ = try pipe.render(prompt: "a red square moving left", seed: 1, options: o) { _, _ in calls += 1 }
            #expect(calls == k)
        }
        let first = try Distiller(config: cfg, teacher: teacher, outDir: b)
        first.quiet = true
        first.stopAfterIteration = 3
        _ = try first.run(prompts: SquarePrompts(), resume: false)
        let second = try Distiller(config: cfg, teacher: teacher, outDir: b)
        second.quiet = true
        _ = try second.run(prompts: SquarePrompts(), resume: true)
        #expect(compareTensors(second.student.parameters.array, d.student.parameters.array).maxAbs <= 1e-6)
        #expect(compareTensors(second.studentSteps, d.studentSteps).maxAbs <= 1e-6)
        #expect(throws: ConfigError.self) { _ = try Distiller(config: try Self.config(", unify: [1, 2]"), teacher: teacher, outDir: b) }
    }

    /// With eval_every, the log records the student's VBenchLite scores during training.
    @Test func periodicEvaluationIsLogged() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let out = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        var cfg = try Self.config()
        cfg.optim.evalEvery = 3
        let d = try Distiller(config: cfg, teacher: teacher, outDir: out)
        d.quiet = true
        d.evaluator = SuiteEvaluation.studentEvaluator(heldOut: Array(WorldSplit.quickSuite().prefix(2)),
                                                       validation: Array(WorldSplit.validationSuite().prefix(1)), seeds: 1)
        _ = try d.run(prompts: SquarePrompts(), resume: false)
        let evals = TrainingLog.read(d.logURL).filter { $0["eval_total"] != nil }
        #expect(evals.compactMap { $0["step"] as? Int } == [3, 6])
        #expect(evals.allSatisfy { ($0["eval_total"] as? Double ?? -1) > 0 })
        #expect(evals.allSatisfy { $0["val_total_low"] == nil }, "one seed a prompt: no interval")
        // The evaluator is handed in: eval_every without one is refused before any work.
        let bare = try Distiller(config: cfg, teacher: teacher, outDir: out.appendingPathComponent("bare"))
        #expect(throws: ConfigError.self) { _ = try bare.run(prompts: SquarePrompts(), resume: false) }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("bare").path))
    }

    /// With eval_reference_seeds the evaluations log the distribution metrics against the world's clips
    /// (with intervals), and keep_best_by frechet_distance keeps the student of the lowest validation
    /// distance; a distribution metric without reference seeds is refused by the config.
    @Test func keepBestByFrechetDistanceUsesTheDistribution() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dir = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = try Self.config()
        cfg.optim.evalEvery = 2
        cfg.optim.iterations = 4
        cfg.optim.studentLr = 3e-3
        cfg.optim.keepBest = true
        cfg.optim.keepBestBy = .frechetDistance
        cfg.optim.evalSeeds = 2
        cfg.optim.evalReferenceSeeds = 3
        let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
        d.quiet = true
        d.evaluator = SuiteEvaluation.studentEvaluator(heldOut: Array(WorldSplit.quickSuite().prefix(1)),
                                                       validation: Array(WorldSplit.validationSuite().prefix(2)), seeds: 2,
                                                       referenceSeeds: cfg.optim.evalReferenceSeeds)
        let r = try d.run(prompts: SquarePrompts(), resume: false)
        let vals = TrainingLog.read(d.logURL).filter { $0["val_total"] != nil }
        #expect(vals.compactMap { $0["step"] as? Int } == [2, 4])
        let fd = vals.map { $0["val_frechet_distance"] as? Double ?? .nan }
        #expect(fd.allSatisfy { $0.isFinite && $0 >= 0 }, "validation Frechet distances \(fd)")
        #expect(vals.allSatisfy { ($0["eval_recall"] as? Double).map { (0...1).contains($0) } ?? false })
        #expect(vals.allSatisfy { ($0["val_frechet_distance_low"] as? Double ?? .infinity) <= ($0["val_frechet_distance_high"] as? Double ?? -1) })
        // Two seeds a prompt: the Totals' intervals over seeds are logged, around the Totals.
        for v in vals {
            for p in ["eval", "val"] {
                let t = v["\(p)_total"] as? Double ?? .nan, lo = v["\(p)_total_low"] as? Double ?? .nan, hi = v["\(p)_total_high"] as? Double ?? .nan
                #expect(lo <= t && t <= hi, "\(p): \(lo) \(t) \(hi)")
            }
        }
        let kept = try #require(r.kept)
        let best = fd.firstIndex(of: fd.min()!)!
        #expect(kept.iteration == vals[best]["step"] as? Int)
        #expect(abs(kept.validationScore + fd[best]) < 1e-9)
        var bad = cfg
        bad.optim.evalReferenceSeeds = 0
        #expect(throws: ConfigError.self) { try bad.validate(file: "distill.yaml", path: "") }
    }

    /// keep_best exports the student of the evaluation with the best validation Total: the same weights
    /// as a run stopped at that iteration; killed and resumed, it keeps the same one; and it needs evaluations.
    @Test func keepBestKeepsTheBestValidationStudent() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let a = PretrainTests.tempDir(), b = PretrainTests.tempDir(), c = PretrainTests.tempDir()
        defer { for u in [a, b, c] { try? FileManager.default.removeItem(at: u) } }
        var cfg = try Self.config()
        cfg.optim.evalEvery = 2
        cfg.optim.iterations = 5
        cfg.optim.studentLr = 3e-3  // high enough that the last iterations spoil the student
        cfg.optim.keepBest = true
        func make(_ dir: URL, _ cfg: DistillConfig) throws -> Distiller {
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            d.evaluator = SuiteEvaluation.studentEvaluator(heldOut: Array(WorldSplit.quickSuite().prefix(1)),
                                                           validation: Array(WorldSplit.validationSuite().prefix(2)), seeds: 1)
            return d
        }
        let full = try make(a, cfg)
        let r = try full.run(prompts: SquarePrompts(), resume: false)
        let vals = TrainingLog.read(full.logURL).filter { $0["val_total"] != nil }
        // Evaluated every 2 iterations and at the end (5 is not a multiple of 2).
        #expect(vals.compactMap { $0["step"] as? Int } == [2, 4, 5])
        let scores = vals.map { $0["val_total"] as! Double }
        let bestIndex = scores.firstIndex(of: scores.max()!)!
        let kept = try #require(r.kept)
        #expect(kept.iteration == vals[bestIndex]["step"] as? Int)
        #expect(abs(kept.validationScore - scores[bestIndex]) < 1e-9)
        // The same weights as a plain run stopped at that iteration.
        var plain = cfg
        plain.optim.keepBest = false
        plain.optim.evalEvery = 0
        let stopped = try make(c, plain)
        stopped.stopAfterIteration = kept.iteration
        _ = try stopped.run(prompts: SquarePrompts(), resume: false)
        #expect(compareTensors(full.student.parameters.array, stopped.student.parameters.array).maxAbs <= 1e-6)
        // At this lr the last iteration is the worst, so the restore path is the one exercised.
        #expect(kept.iteration != 5)
        // Killed after the first evaluation and resumed: the same choice and the same student.
        let first = try make(b, cfg)
        first.stopAfterIteration = 3
        _ = try first.run(prompts: SquarePrompts(), resume: false)
        let second = try make(b, cfg)
        let r2 = try second.run(prompts: SquarePrompts(), resume: true)
        #expect(r2.kept?.iteration == kept.iteration)
        #expect(compareTensors(second.student.parameters.array, full.student.parameters.array).maxAbs <= 1e-6)
        // Without periodic evaluations there is nothing to choose from.
        #expect(throws: ConfigError.self) {
            _ = try ConfigFile.parse(DistillConfig.self, yaml: "optim: {keep_best: true}", file: "k.yaml")
        }
    }

    /// `fake_rollouts: fresh` trains each fake update on a rollout of its own: a different run from the
    /// shared rollout's, and the same as DMD2's schedule of rollouts (so the same prompts are drawn).
    @Test func freshRolloutsDrawANewBatchForEachFakeUpdate() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<2).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        var students = [[Float]](), drawn = [Int]()
        for (dir, extra) in zip(dirs, [", fake_updates_per_step: 2", ", fake_updates_per_step: 2, fake_rollouts: fresh"]) {
            var cfg = try Self.config(extra)
            cfg.optim.iterations = 2
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            let prompts = CountingPrompts()
            _ = try d.run(prompts: prompts, resume: false)
            students.append(d.student.parameters.array)
            drawn.append(prompts.drawn)
        }
        #expect(compareTensors(students[0], students[1]).maxAbs > 1e-6)
        // Shared: one batch of 2 prompts per iteration; fresh: 2 fake rollouts + the generator's, 3 batches.
        #expect(drawn == [2 * 2, 2 * 3 * 2])
    }

    /// With ema_decay the exported student is the warm-up average of the raw iterates (computed here from
    /// runs without it), and a killed run resumes to the same average.
    @Test func emaExportsTheAverageOfTheIteratesAndResumes() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<6).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        func run(_ dir: URL, iterations: Int, ema: Double, stopAfter: Int? = nil, resume: Bool = false, evaluate: Bool = false) throws -> [Float] {
            var cfg = try Self.config()
            cfg.optim.iterations = iterations
            cfg.optim.emaDecay = ema
            if evaluate { cfg.optim.evalEvery = 2 }
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            if evaluate {
                d.evaluator = SuiteEvaluation.studentEvaluator(heldOut: Array(WorldSplit.quickSuite().prefix(1)),
                                                               validation: Array(WorldSplit.validationSuite().prefix(1)), seeds: 1)
            }
            d.stopAfterIteration = stopAfter
            _ = try d.run(prompts: SquarePrompts(), resume: resume)
            return d.student.parameters.array
        }
        let theta0 = teacher.transformer.parameters.array
        let theta1 = try run(dirs[0], iterations: 1, ema: 0)
        let theta2 = try run(dirs[1], iterations: 2, ema: 0)
        let averaged = try run(dirs[2], iterations: 2, ema: 0.5)
        // EMA's warm-up: d_t = min(0.5, (1 + t)/(10 + t)) at update t = 1, 2.
        let d1: Float = 2.0 / 11.0, d2: Float = 3.0 / 12.0
        let expected = (0..<theta0.count).map { i in d2 * (d1 * theta0[i] + (1 - d1) * theta1[i]) + (1 - d2) * theta2[i] }
        #expect(compareTensors(averaged, expected).maxAbs <= 1e-6)
        #expect(compareTensors(averaged, theta2).maxAbs > 1e-5, "the average differs from the last iterate")
        // Killed after iteration 3 (checkpoint at 2) and resumed: the same average as the run left alone.
        let full = try run(dirs[3], iterations: 6, ema: 0.9)
        _ = try run(dirs[4], iterations: 6, ema: 0.9, stopAfter: 3)
        let resumed = try run(dirs[4], iterations: 6, ema: 0.9, resume: true)
        #expect(compareTensors(resumed, full).maxAbs <= 1e-6)
        // Evaluations score the average but hand the raw weights back: training is unchanged by them.
        let evaluated = try run(dirs[5], iterations: 6, ema: 0.9, evaluate: true)
        #expect(compareTensors(evaluated, full).maxAbs <= 1e-6)
        #expect(TrainingLog.read(dirs[5].appendingPathComponent("distill_log.jsonl")).filter { $0["val_total"] != nil }.count == 3)
        #expect(throws: ConfigError.self) {
            _ = try ConfigFile.parse(DistillConfig.self, yaml: "optim: {ema_decay: 1.0}", file: "e.yaml")
        }
    }

    /// `optim.student_lr_schedule: cosine` anneals the student's rate from student_lr at the first update to
    /// student_lr_end at the last: with an end of 0 the second of two updates moves nothing, so a 2-iteration
    /// cosine run ends where a 1-iteration constant run does; an end equal to student_lr is the constant run.
    @Test func cosineScheduleAnnealsTheStudentsRate() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<5).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        func distiller(_ dir: URL, iterations: Int, schedule: LRSchedule, end: Double = 0) throws -> Distiller {
            var cfg = try Self.config()
            cfg.optim.iterations = iterations
            cfg.optim.studentLr = 1e-4
            cfg.optim.studentLrSchedule = schedule
            cfg.optim.studentLrEnd = end
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            return d
        }
        let probe = try distiller(dirs[0], iterations: 5, schedule: .cosine, end: 1e-5)
        #expect(abs(probe.studentLr(iteration: 1) - 1e-4) < 1e-12)
        #expect(abs(probe.studentLr(iteration: 3) - 5.5e-5) < 1e-12)
        #expect(abs(probe.studentLr(iteration: 5) - 1e-5) < 1e-12)
        func student(_ d: Distiller) throws -> [Float] {
            _ = try d.run(prompts: SquarePrompts(), resume: false)
            return d.student.parameters.array
        }
        let oneConstant = try student(try distiller(dirs[1], iterations: 1, schedule: .constant))
        let twoCosine = try student(try distiller(dirs[2], iterations: 2, schedule: .cosine))
        let logged = TrainingLog.read(dirs[2].appendingPathComponent("distill_log.jsonl")).compactMap { $0["student_lr"] as? Double }
        #expect(logged.count == 2 && abs(logged[0] - 1e-4) < 1e-12 && logged[1] == 0, "the log records the rate of each update: \(logged)")
        let twoFlat = try student(try distiller(dirs[3], iterations: 2, schedule: .cosine, end: 1e-4))
        let twoConstant = try student(try distiller(dirs[4], iterations: 2, schedule: .constant))
        #expect(compareTensors(twoCosine, oneConstant).maxAbs == 0, "the last update of a cosine run to 0 moves nothing")
        #expect(compareTensors(twoFlat, twoConstant).maxAbs == 0, "an end equal to student_lr is the constant rate")
        #expect(compareTensors(twoFlat, oneConstant).maxAbs > 1e-6, "and its second update moves the student")
        #expect(throws: ConfigError.self) {
            _ = try ConfigFile.parse(DistillConfig.self, yaml: "optim: {student_lr: 1.0e-5, student_lr_end: 2.0e-5}", file: "c.yaml")
        }
    }

    /// `tdm.anchor_weight`: the pairs are the teacher's own trajectories read at the student's grid (checked
    /// against a DDIM loop written here from the v-prediction formulas); a strong anchor pulls the student's
    /// steps onto them (its squared distance over every pair and step falls below the unanchored run's); an
    /// anchored run killed and resumed ends at the uninterrupted student; the anchor with unify is refused.
    @Test func teacherAnchorIsTheTeachersTrajectoryPullsAndResumes() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<5).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        func distiller(_ dir: URL, weight: Double, lr: Double = 1e-4) throws -> Distiller {
            var cfg = try Self.config(", anchor_pairs: 3, anchor_weight: \(weight)")
            cfg.optim.iterations = 6
            cfg.optim.studentLr = lr
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            return d
        }
        // The pairs against an independent trajectory.
        let d0 = try distiller(dirs[0], weight: 1)
        let a = try d0.makeAnchors(prompts: SquarePrompts())
        let per = d0.shape1.perSample, g = d0.grid, kk = g.count, sch = d0.scheduler, ts = d0.anchorTimesteps
        #expect(a.count == 3 && a.points.count == kk + 1 && a.points.allSatisfy { $0.count == 3 * per })
        #expect(g.allSatisfy(ts.contains) && ts.count > g.count)
        let empty = teacher.metadata.textEncoder.encode(""), gd = Float(d0.anchorGuidance)
        #expect(d0.anchorGuidance == teacher.metadata.sampling.guidance)
        for p in 0..<3 {
            var x = Array(a.points[kk][(p * per)..<((p + 1) * per)])
            var seen = [Int: [Float]]()
            for (i, t) in ts.enumerated() {
                if let idx = g.firstIndex(of: t) { seen[kk - idx] = x }
                var shape2 = d0.shape1
                shape2.batch = 2
                let vv = try teacher.transformer.forward(hidden: x + x, shape: shape2, text: empty + a.text[p], textLength: d0.textLength,
                                                         timesteps: [Float(t), Float(t)])
                let v = (0..<per).map { vv[$0] + gd * (vv[per + $0] - vv[$0]) }
                let x0 = sch.predictOriginal(v: v, sample: x, timestep: t), eps = sch.predictEpsilon(v: v, sample: x, timestep: t)
                x = i + 1 < ts.count ? sch.addNoise(original: x0, noise: eps, timestep: ts[i + 1]) : x0
            }
            seen[0] = x
            for k in 0...kk {
                let err = compareTensors(Array(a.points[k][(p * per)..<((p + 1) * per)]), seen[k]!).maxAbs
                #expect(err <= 2e-5, "pair \(p), grid step \(k): \(err)")
            }
        }
        // The pull: squared distance of the student's steps from the pairs, over every pair and step.
        func distance(_ d: Distiller) throws -> Double {
            var total = 0.0
            for p in 0..<a.count {
                for k in 1...kk {
                    let x = Array(a.points[k][(p * per)..<((p + 1) * per)])
                    let v = try d.student.forward(hidden: x, shape: d.shape1, text: a.text[p], textLength: d.textLength, timesteps: [Float(g[kk - k])])
                    total += TDMObjectives.anchorLoss(v: v, sample: x, timesteps: [g[kk - k]], next: [k > 1 ? g[kk - k + 1] : -1],
                                                      target: Array(a.points[k - 1][(p * per)..<((p + 1) * per)]), weight: 1, scheduler: sch).loss
                }
            }
            return total
        }
        let weak = try distiller(dirs[1], weight: 1e-9, lr: 1e-3), strong = try distiller(dirs[2], weight: 1e6, lr: 1e-3)
        _ = try weak.run(prompts: SquarePrompts(), resume: false)
        let r = try strong.run(prompts: SquarePrompts(), resume: false)
        #expect(r.last.anchorLoss > 0 && r.last.anchorGradRatio > 1, "the strong anchor dominates the generator's gradient: \(r.last.anchorGradRatio)")
        let (dWeak, dStrong, dTeacher) = (try distance(weak), try distance(strong), try distance(d0))
        print("anchor distance after 6 iterations: weight 1e-9 \(dWeak), weight 1e6 \(dStrong), the teacher \(dTeacher)")
        // (measured: 0.784, 0.745, 0.783; the tiny student cannot close the teacher's own 4-step error in 6 updates)
        #expect(dStrong < 0.97 * min(dWeak, dTeacher))
        // Killed after iteration 3 (checkpoint at 2) and resumed.
        let first = try distiller(dirs[3], weight: 10)
        first.stopAfterIteration = 3
        _ = try first.run(prompts: SquarePrompts(), resume: false)
        let resumed = try distiller(dirs[3], weight: 10)
        _ = try resumed.run(prompts: SquarePrompts(), resume: true)
        let full = try distiller(dirs[4], weight: 10)
        _ = try full.run(prompts: SquarePrompts(), resume: false)
        #expect(compareTensors(resumed.student.parameters.array, full.student.parameters.array).maxAbs <= 1e-6)
        let error = #expect(throws: ConfigError.self) { _ = try Self.config(", unify: [2, 4], anchor_weight: 1") }
        #expect(error?.description.contains("anchor_weight") == true)
        // The memory estimate counts the pairs: (K + 1) latents and a prompt embedding each.
        let pairBytes = Double(3 * ((kk + 1) * per + a.text[0].count) * 4)
        let with = RunMemory.distill(d0.config, teacher: teacher), without = RunMemory.distill(try Self.config(), teacher: teacher)
        #expect(with - without == pairBytes, "\(with - without) against \(pairBytes)")
    }

    /// `tdm.guidance_interval`: outside it the real score is the conditional score alone, so an interval no τ
    /// falls in (τ >= 20) trains exactly the student of guidance 1, and the whole range that of the plain
    /// guidance; an interval out of order is refused.
    @Test func guidanceIntervalLimitsWhereTheRealScoreIsGuided() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<3).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        var students = [[Float]]()
        for (dir, extra) in zip(dirs, [", guidance_interval: [0, 10]", ", guidance: 1.0", ", guidance_interval: [0, 999]"]) {
            var cfg = try Self.config(extra)
            cfg.optim.iterations = 2
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            _ = try d.run(prompts: SquarePrompts(), resume: false)
            students.append(d.student.parameters.array)
        }
        #expect(compareTensors(students[0], students[1]).maxAbs == 0, "unguided everywhere is guidance 1")
        #expect(compareTensors(students[0], students[2]).maxAbs > 1e-6, "guided everywhere differs")
        let error = #expect(throws: ConfigError.self) { _ = try Self.config(", guidance_interval: [700, 400]") }
        #expect(error?.description.contains("guidance_interval") == true)
    }

    /// `tdm.real_score: tuned`: the copy is fitted to the teacher's own samples (its v-MSE on them falls below
    /// the teacher's), keeping only the final x0 changes no sample; the generator reads the copy (tuned at a
    /// rate too small to move a weight it trains exactly the teacher's student, tuned for real it does not);
    /// a killed run resumes to the uninterrupted student; the memory estimate counts the copy and its samples.
    @Test func tunedRealScoreIsFittedToTheTeachersSamplesAndRead() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<6).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        func distiller(_ dir: URL, _ extra: String, iterations: Int = 2) throws -> Distiller {
            var cfg = try Self.config(", guidance: 1.0" + extra)
            cfg.optim.iterations = iterations
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            return d
        }
        let tuning = ", real_score: tuned, real_tune_samples: 6, real_tune_steps: 100, real_tune_lr: 1e-3"
        let d = try distiller(dirs[0], tuning)
        let r = try d.run(prompts: SquarePrompts(), resume: false)
        let tuned = try #require(d.realNet)
        #expect(r.iterations == 2 && d.realTuneLoss.first > 0 && d.realTuneLoss.last > 0)
        let logged = try #require(TrainingLog.read(d.logURL).first)
        #expect(logged["step"] as? Int == 0 && abs((logged["real_tune_vmse_last"] as? Double ?? 0) - d.realTuneLoss.last) <= 1e-9 * d.realTuneLoss.last)
        // The samples it was tuned on (the same streams), and the x0 alone equal to the kept trajectory's end.
        let ts = d.scheduler.timesteps(steps: teacher.metadata.sampling.steps)
        let bank = try d.sampleTeacher(prompts: SquarePrompts(), count: 6, salt: 17, timesteps: ts, guidance: teacher.metadata.sampling.guidance,
                                       label: "", keepGrid: false)
        let a = try d.sampleTeacher(prompts: SquarePrompts(), count: 6, salt: 17, timesteps: d.anchorTimesteps,
                                    guidance: teacher.metadata.sampling.guidance, label: "", keepGrid: true)
        let b = try d.sampleTeacher(prompts: SquarePrompts(), count: 6, salt: 17, timesteps: d.anchorTimesteps,
                                    guidance: teacher.metadata.sampling.guidance, label: "", keepGrid: false)
        #expect(bank.points[0].count == 6 * d.shape1.perSample && bank.points[1].isEmpty)
        #expect(compareTensors(a.points[0], b.points[0]).maxAbs == 0)
        // v-MSE on the samples at fixed t and noise: the tuned copy against the teacher.
        func vmse(_ net: CogVideoXTransformer) throws -> Double {
            let per = d.shape1.perSample
            var rng = RNG(seed: 7), total = 0.0
            for i in 0..<6 {
                for t in [100, 500, 900] {
                    let x0 = Array(bank.points[0][(i * per)..<((i + 1) * per)]), eps = rng.normal(per)
                    let xt = d.scheduler.addNoise(original: x0, noise: eps, timestep: t)
                    let v = try net.forward(hidden: xt, shape: d.shape1, text: bank.text[i], textLength: d.textLength, timesteps: [Float(t)])
                    let target = d.scheduler.velocity(original: x0, noise: eps, timestep: t)
                    total += zip(v, target).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(per)
                }
            }
            return total / 18
        }
        let (eTeacher, eTuned) = (try vmse(teacher.transformer), try vmse(tuned))
        print("v-MSE on the teacher's 6 samples: teacher \(eTeacher), tuned copy \(eTuned)")
        #expect(eTuned < 0.98 * eTeacher)
        // The generator reads the copy.
        let still = try distiller(dirs[1], ", real_score: tuned, real_tune_samples: 2, real_tune_steps: 2, real_tune_lr: 1e-30")
        _ = try still.run(prompts: SquarePrompts(), resume: false)
        let plain = try distiller(dirs[2], "")
        _ = try plain.run(prompts: SquarePrompts(), resume: false)
        #expect(compareTensors(still.realNet!.parameters.array, teacher.transformer.parameters.array).maxAbs == 0)
        #expect(compareTensors(still.student.parameters.array, plain.student.parameters.array).maxAbs == 0)
        #expect(compareTensors(d.student.parameters.array, plain.student.parameters.array).maxAbs > 1e-6)
        // Killed after iteration 3 (checkpoint at 2) and resumed: the copy is tuned again, the same bits.
        let first = try distiller(dirs[3], tuning, iterations: 6)
        first.stopAfterIteration = 3
        _ = try first.run(prompts: SquarePrompts(), resume: false)
        let resumed = try distiller(dirs[3], tuning, iterations: 6)
        _ = try resumed.run(prompts: SquarePrompts(), resume: true)
        let full = try distiller(dirs[4], tuning, iterations: 6)
        _ = try full.run(prompts: SquarePrompts(), resume: false)
        #expect(compareTensors(resumed.student.parameters.array, full.student.parameters.array).maxAbs <= 1e-6)
        // Memory: the copy's 4 slabs and each sample's latent, starting noise and prompt embedding.
        let with = RunMemory.distill(d.config, teacher: teacher), without = RunMemory.distill(plain.config, teacher: teacher)
        let expected = Double(16 * tuned.parameterCount + 6 * 4 * (2 * d.shape1.perSample + bank.text[0].count))
        #expect(with - without == expected, "\(with - without) against \(expected)")
        let error = #expect(throws: ConfigError.self) { _ = try Self.config(", real_tune_lr: 0") }
        #expect(error?.description.contains("real_tune_lr") == true)
    }

    /// `optim.decay_to_teacher`: at λ = 1 / student_lr every update ends on the teacher's weights; a moderate λ
    /// keeps the student nearer the teacher than the plain run (each weight: |θ − θ_teacher| shrinks by 1 − lr·λ
    /// per update on top of Adam's step); 0 is the plain run; λ·lr above 1 is refused.
    @Test func decayToTeacherHoldsTheStudentNearTheTeacher() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let dirs = (0..<3).map { _ in PretrainTests.tempDir() }
        defer { for u in dirs { try? FileManager.default.removeItem(at: u) } }
        func distance(_ decay: Double, _ dir: URL) throws -> Double {
            var cfg = try Self.config()
            cfg.optim.iterations = 4
            cfg.optim.decayToTeacher = decay
            try cfg.validate(file: "test", path: "")
            let d = try Distiller(config: cfg, teacher: teacher, outDir: dir)
            d.quiet = true
            _ = try d.run(prompts: SquarePrompts(), resume: false)
            return Double(compareTensors(d.student.parameters.array, teacher.transformer.parameters.array).maxAbs)
        }
        let lr = try Self.config().optim.studentLr
        let (plain, pulled, pinned) = (try distance(0, dirs[0]), try distance(0.25 / lr, dirs[1]), try distance(1 / lr, dirs[2]))
        print("max |student − teacher| after 4 updates: plain \(plain), λ = 0.25/lr \(pulled), λ = 1/lr \(pinned)")
        #expect(plain > 1e-5)
        #expect(pulled < 0.9 * plain)
        #expect(pinned <= 1e-6)
        var bad = try Self.config()
        bad.optim.decayToTeacher = 1.5 / lr
        let refused = #expect(throws: ConfigError.self) { try bad.validate(file: "t", path: "") }
        #expect(refused?.description.contains("decay_to_teacher") == true)
    }

    /// Killed between checkpoints and resumed, the run ends at exactly the uninterrupted student.
    @Test func resumeGivesTheSameStudent() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let a = PretrainTests.tempDir(), b = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let cfg = try Self.config()
        let full = try Distiller(config: cfg, teacher: teacher, outDir: a)
        full.quiet = true
        _ = try full.run(prompts: SquarePrompts(), resume: false)
        let first = try Distiller(config: cfg, teacher: teacher, outDir: b)
        first.quiet = true
        first.stopAfterIteration = 3
        _ = try first.run(prompts: SquarePrompts(), resume: false)
        let second = try Distiller(config: cfg, teacher: teacher, outDir: b)
        second.quiet = true
        _ = try second.run(prompts: SquarePrompts(), resume: true)
        #expect(compareTensors(second.student.parameters.array, full.student.parameters.array).maxAbs <= 1e-6)
        #expect(compareTensors(second.fake.parameters.array, full.fake.parameters.array).maxAbs <= 1e-6)
    }

    /// The exported student samples in K steps on its own grid, without CFG: K network evaluations.
    @Test func studentPackageSamplesInKSteps() throws {
        let teacher = try ModelPackage.load(Self.teacherDir)
        let out = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let d = try Distiller(config: try Self.config(), teacher: teacher, outDir: out.appendingPathComponent("run"))
        d.quiet = true
        _ = try d.run(prompts: SquarePrompts(), resume: false)
        try d.exportStudent(to: out.appendingPathComponent("student"), recipe: [:])
        let pipe = VideoPipeline(try ModelPackage.load(out.appendingPathComponent("student")))
        #expect(pipe.defaults.timesteps == [999, 856, 665, 399] && pipe.defaults.guidance == 1 && pipe.nfe(pipe.defaults) == 4)
        var calls = 0
        _ = try pipe.render(prompt: "a red square moving left", seed: 1, options: pipe.defaults) { _, _ in calls += 1 }
        #expect(calls == 4)
        // `--steps K` keeps the student on its own shifted grid (not the teacher's trailing spacing).
        #expect(pipe.options(steps: 4).timesteps == [999, 856, 665, 399])
        #expect(pipe.options(steps: 2).timesteps == [999, 665] && pipe.options(steps: 2).timeEmbeddingOffset == nil)
        #expect(VideoPipeline(teacher).options(steps: 4).timesteps == nil)
    }
}
