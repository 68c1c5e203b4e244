import ArgumentParser
import Foundation
import ShapeWorld
import TDMVideo
import VideoInference
import TensorCore
import VBenchLite
import VideoModel

/// `tdm-video pretrain`: train a CogVideoX-architecture teacher on the embedded world.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Train a teacher on the embedded world (v-prediction on the CogVideoX-2b schedule).",
        discussion: """
        Writes DIR/checkpoint.safetensors every train.checkpoint_every steps (atomically), DIR/train_log.jsonl,
        DIR/codec.json, and at the end the model package DIR/model (diffusers folder + codec + tdm_video.json,
        EMA weights) with a VBenchLite report of its samples on the held-out suite (DIR/model/report.json). --resume continues a killed run exactly (same data and noise streams).

        Under mpirun (`mpirun -np N tdm-video pretrain ...`) the N ranks share every global batch (N must divide
        train.batch), average their gradients with MPI_Allreduce and apply the same update; rank 0 alone writes DIR,
        and --resume works with any such N. See docs/cluster.md.

        Example:
          tdm-video pretrain --config configs/pretrain.yaml --out runs/teacher
          tdm-video pretrain --config configs/pretrain.yaml --out runs/teacher --resume
          tdm-video pretrain --config configs/pretrain.yaml --out runs/teacher --snapshot /tmp/now   # sample a run in progress
          tdm-video pretrain --config configs/pretrain_fine_cont.yaml --out runs/fine3 --init-from models/teacher-fine   # train a teacher further
        """.paragraphs)

    @Option(help: "A pretraining config (YAML).") var config: String
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Continue from DIR/checkpoint.safetensors if present.") var resume = false
    @Flag(help: "No progress line.") var quiet = false
    @Option(help: "Stop after this many steps of the schedule (for trials; the run can be resumed).") var stopAfter: Int?
    @Option(help: "Seeds per held-out prompt for the closing VBenchLite report (0 skips it).") var evalSeeds: Int = 2
    @Option(help: "Do not train: write a model package from the last checkpoint's EMA weights to this folder.") var snapshot: String?
    @Option(name: .customLong("max-memory"), help: "Refuse a run estimated to need more memory than this (e.g. 8G; default: the machine's).") var maxMemory: String?
    @Option(name: .customLong("init-from"), help: ArgumentHelp("A new run starts from this teacher package's weights and codec instead of random weights (the package must be this config's model on this config's data); the schedule starts again. A resumed run ignores it.", valueName: "package")) var initFrom: String?
    @Flag(name: .customLong("dry-run"), help: "Check the config and the memory estimate, print the estimate, and stop.") var dryRun = false

    func validate() throws {
        _ = try memoryBudget(maxMemory)
        if initFrom != nil && snapshot != nil { throw ValidationError("--init-from starts a training run; --snapshot does not train: give one of them") }
        if let s = stopAfter { guard s >= 1 else { throw ValidationError("--stop-after must be at least 1") } }
        guard (0...100).contains(evalSeeds) else { throw ValidationError("--eval-seeds must be in 0...100") }
    }

    func run() throws { try runOnRanks(train) }

    func train(_ comm: Communicator) throws {
        let cfg = try ConfigFile.load(PretrainConfig.self, from: URL(fileURLWithPath: config))
        try Pretrainer.modelConfig(cfg).validate(source: config)
        let need = RunMemory.pretrain(cfg)
        try memoryBudget(maxMemory).check(need, for: "config \(config): the run (model, batch \(cfg.train.batch), \(cfg.codec.fitClips) codec clips)")
        if dryRun {
            print("pretrain: \(config) is valid; the run needs about \(MemoryBudget.describe(need)) of memory")
            return
        }
        let outDir = URL(fileURLWithPath: out)
        let trainer = try Pretrainer(config: cfg, outDir: outDir)
        trainer.quiet = quiet
        trainer.stopAfterStep = stopAfter
        if let snap = snapshot {
            guard comm.isRoot else { return }
            let step = try trainer.exportSnapshot(to: URL(fileURLWithPath: snap), recipe: ["config": config, "snapshot_of": out])
            print("wrote a snapshot of step \(step) to \(snap)")
            return
        }
        if let i = initFrom { trainer.initFrom = try ModelPackage.load(URL(fileURLWithPath: i)) }
        let source = WorldClipSource(renderer: WorldRenderer(width: cfg.data.width, height: cfg.data.height,
                                                             frames: cfg.data.frames, fps: cfg.data.fps, detail: cfg.data.detail))
        let heldOut = WorldSplit.heldOutSuite(detail: cfg.data.detail)
        trainer.communicator = comm
        let r = try trainer.run(source: source, resume: resume)
        if comm.size > 1 && !comm.isRoot {
            // The other ranks write nothing; they render their share of the closing evaluation.
            if r.steps >= cfg.train.steps && evalSeeds > 0 {
                _ = try SuiteEvaluation.run(try trainer.packageInMemory(), suite: heldOut, seeds: evalSeeds, communicator: comm)
            }
            return
        }
        print(String(format: "pretrain: %d steps, final loss %.4f, %d skipped, %.0f s", r.steps, r.finalLoss, r.badSteps, r.seconds))
        guard r.steps >= cfg.train.steps else {
            print("stopped early at step \(r.steps); continue with --resume")
            return
        }
        let text = (try? String(contentsOfFile: config, encoding: .utf8)) ?? ""
        let modelDir = outDir.appendingPathComponent("model")
        try trainer.exportPackage(to: modelDir, recipe: ["config": text, "command": "tdm-video pretrain --config \(config) --out \(out)" + (initFrom.map { " --init-from \($0)" } ?? "")])
        print("wrote the teacher to \(modelDir.path)")
        let curve = try RunPictures.writePretrainCurve(log: trainer.logURL, to: outDir)
        print("wrote \(curve.path)")
        if evalSeeds > 0 {
            let pkg = comm.size > 1 ? try trainer.packageInMemory() : try ModelPackage.load(modelDir)
            let progress = ProgressLine(label: "evaluate", total: heldOut.count * evalSeeds, quiet: quiet)
            let report = try SuiteEvaluation.run(pkg, suite: heldOut, seeds: evalSeeds, communicator: comm) { i, _ in progress.update(i) }
            progress.finish()
            try SuiteEvaluation.write(report, to: modelDir.appendingPathComponent("report.json"))
            print(report.table())
        }
    }
}
