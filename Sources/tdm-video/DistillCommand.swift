import ArgumentParser
import Foundation
import ShapeWorld
import VideoCommon
import TDMVideo
import VideoInference
import TensorCore
import VBenchLite

/// `tdm-video distill`: Trajectory Distribution Matching from a teacher package.
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distil a few-step student from a teacher with TDM (data-free: the world's training prompts only).",
        discussion: """
        Writes DIR/checkpoint.safetensors (student, fake score and both optimisers) every
        optim.checkpoint_every iterations, DIR/distill_log.jsonl, and at the end the student package DIR/student,
        which samples on its K-step grid without guidance. --resume continues a killed run exactly.

        With optim.eval_every > 0 the student is scored every that many iterations on the held-out suite and on
        the validation suite (other unseen prompts); with optim.keep_best the exported student is the one with the
        best validation Total (DIR/best.safetensors holds it during the run), and the closing report, on the
        held-out suite, measures that choice on prompts it was not made on.

        Under mpirun (`mpirun -np N tdm-video distill ...`) the N ranks share every batch (N must divide
        optim.batch) and sum their gradients with MPI_Allreduce before each update; rank 0 alone writes DIR, and
        --resume works with any such N. See docs/cluster.md.

        Example:
          tdm-video distill --config configs/distill.yaml --teacher models/teacher --out runs/student
        """.paragraphs)

    @Option(help: "A distillation config (YAML).") var config: String
    @Option(help: "The teacher model package.") var teacher: String
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Continue from DIR/checkpoint.safetensors if present.") var resume = false
    @Flag(help: "No progress line.") var quiet = false
    @Option(help: "Seeds per held-out prompt for the closing VBenchLite report (0 skips it).") var evalSeeds: Int = 2
    @Option(help: "Prompts of the quick suite in the closing contact sheet (each: the world's clip, the teacher at its default and at the student's step count, the student; 0 skips it).") var sheetPrompts: Int = 8
    @Option(name: .customLong("max-memory"), help: "Refuse a run estimated to need more memory than this (e.g. 8G; default: the machine's).") var maxMemory: String?
    @Flag(name: .customLong("dry-run"), help: "Check the config, the teacher and the memory estimate, print the estimate, and stop.") var dryRun = false

    func validate() throws {
        _ = try memoryBudget(maxMemory)
        guard (0...100).contains(evalSeeds) else { throw ValidationError("--eval-seeds must be in 0...100") }
        guard (0...WorldSplit.quickSuite().count).contains(sheetPrompts) else {
            throw ValidationError("--sheet-prompts must be in 0...\(WorldSplit.quickSuite().count)")
        }
    }

    func run() throws { try runOnRanks(distill) }

    func distill(_ comm: Communicator) throws {
        let cfg = try ConfigFile.load(DistillConfig.self, from: URL(fileURLWithPath: config))
        let budget = try memoryBudget(maxMemory)
        let t = try ModelPackage.load(URL(fileURLWithPath: teacher), budget: budget)
        let need = RunMemory.distill(cfg, teacher: t)
        try budget.check(need, for: "config \(config) with teacher \(teacher): the run (batch \(cfg.optim.batch))")
        if dryRun {
            print("distill: \(config) and \(teacher) are valid; the run needs about \(MemoryBudget.describe(need)) of memory")
            return
        }
        let outDir = URL(fileURLWithPath: out)
        let d = try Distiller(config: cfg, teacher: t, outDir: outDir)
        d.quiet = quiet
        d.communicator = comm
        if cfg.optim.evalEvery > 0 {
            d.evaluator = SuiteEvaluation.worldStudentEvaluator(seeds: cfg.optim.evalSeeds, referenceSeeds: cfg.optim.evalReferenceSeeds,
                                                                communicator: comm, detail: t.metadata.world)
        }
        let v = t.metadata.video
        let source = WorldClipSource(renderer: WorldRenderer(width: v.width, height: v.height, frames: v.frames, fps: v.fps,
                                                             detail: t.metadata.world))
        let r = try d.run(prompts: source, resume: resume)
        // Rank 0 alone reports and writes the student.
        guard comm.isRoot else { return }
        print(String(format: "distill: %d iterations, generator loss %.4f, fake loss %.4f, %d skipped, %.0f s",
                     r.iterations, r.last.generatorLoss, r.last.fakeLoss, r.badSteps, r.seconds))
        let text = (try? String(contentsOfFile: config, encoding: .utf8)) ?? ""
        let studentDir = outDir.appendingPathComponent("student")
        var recipe = ["config": text, "command": "tdm-video distill --config \(config) --teacher \(teacher) --out \(out)"]
        if let k = r.kept {
            let line: String
            switch cfg.optim.keepBestBy {
            case .total: line = String(format: "the student of iteration %d of %d (best validation Total %.2f)", k.iteration, r.iterations, 100 * k.validationScore)
            case .frechetDistance: line = String(format: "the student of iteration %d of %d (best validation Frechet distance %.3f)", k.iteration, r.iterations, -k.validationScore)
            case .recall: line = String(format: "the student of iteration %d of %d (best validation recall %.3f)", k.iteration, r.iterations, k.validationScore)
            }
            recipe["kept"] = line
            print("keep_best: " + line)
        }
        try d.exportStudent(to: studentDir, recipe: recipe)
        print("wrote the student to \(studentDir.path)")
        let pictures = try RunPictures.writeDistillCurves(log: d.logURL, to: outDir)
        let sheet = outDir.appendingPathComponent("contact_sheet.png")
        if sheetPrompts > 0 {
            let pkg = try ModelPackage.load(studentDir)
            // Truth, the teacher at its default (100 NFE for the shipped one), the teacher at the student's
            // step count, the student: the gap and how much of it the student closes.
            try RunPictures.writeContactSheet(models: [.init("teacher", t), .init("teacher", t, steps: pkg.metadata.sampling.steps),
                                                       .init("student", pkg)],
                                              prompts: WorldSplit.quickSuite(detail: t.metadata.world).prefix(sheetPrompts).map(\.promptEn),
                                              groundTruth: true, to: sheet)
        }
        print("wrote " + (pictures.map(\.path) + (sheetPrompts > 0 ? [sheet.path] : [])).joined(separator: ", "))
        if evalSeeds > 0 {
            let pkg = try ModelPackage.load(studentDir)
            let report = try SuiteEvaluation.run(pkg, suite: WorldSplit.heldOutSuite(detail: t.metadata.world), seeds: evalSeeds)
            try SuiteEvaluation.write(report, to: studentDir.appendingPathComponent("report.json"))
            print(report.table())
        }
    }
}
