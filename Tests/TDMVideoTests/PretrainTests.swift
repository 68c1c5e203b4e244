import Foundation
import Testing
import VideoInference
import VideoCommon
@testable import TDMVideo
@testable import TensorCore
@testable import VideoModel

/// A deterministic stand-in for the world: a coloured square moving across a grey field.
struct MovingSquares: ClipSource {
    let frames = 4, height = 16, width = 16
    func sample(_ rng: inout RNG) -> (pixels: [Float], prompt: String) {
        let colours: [(String, [Float])] = [("red", [1, 0, 0]), ("green", [0, 1, 0]), ("blue", [0, 0, 1])]
        let (name, rgb) = colours[rng.int(0, 3)]
        let dir = rng.int(0, 2)
        let y0 = rng.int(2, 10)
        var px = [Float](repeating: 0.5, count: frames * height * width * 3)
        for f in 0..<frames {
            let x0 = dir == 0 ? 2 + 2 * f : 10 - 2 * f
            for y in y0..<(y0 + 4) { for x in x0..<(x0 + 4) { for c in 0..<3 { px[((f * height + y) * width + x) * 3 + c] = rgb[c] } } }
        }
        return (px, "a \(name) square moving \(dir == 0 ? "right" : "left")")
    }
}

@Suite("Pretraining") struct PretrainTests {
    static func tinyConfig(steps: Int) throws -> PretrainConfig {
        try ConfigFile.parse(PretrainConfig.self, yaml: """
            data: {width: 16, height: 16, frames: 4}
            model: {layers: 1, heads: 2, head_dim: 8, time_embed_dim: 16, text_embed_dim: 8, text_length: 6}
            codec: {channels: 6, spatial_factor: 4, temporal_factor: 2, fit_clips: 8}
            train: {steps: \(steps), batch: 2, lr: 1e-3, warmup_steps: 2, checkpoint_every: 2, log_every: 1}
            """, file: "tiny.yaml")
    }

    static func tempDir() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("tdm-pretrain-\(UUID().uuidString)")
    }

    /// A NaN loss skips the step and is counted; `max_bad_steps` in a row stop the run with a message,
    /// keeping the last good checkpoint.
    @Test func nonFiniteLossIsSkippedCountedAndStopsTheRun() throws {
        let a = Self.tempDir(), b = Self.tempDir()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let p = try Pretrainer(config: try Self.tinyConfig(steps: 6), outDir: a)
        p.quiet = true
        p.injectNonFiniteLoss = { $0 == 2 || $0 == 5 }
        let r = try p.run(source: MovingSquares(), resume: false)
        #expect(r.steps == 6 && r.badSteps == 2)
        var cfg = try Self.tinyConfig(steps: 12)
        cfg.train.maxBadSteps = 3
        let q = try Pretrainer(config: cfg, outDir: b)
        q.quiet = true
        q.injectNonFiniteLoss = { $0 >= 5 }
        let error = #expect(throws: CheckpointError.self) { try q.run(source: MovingSquares(), resume: false) }
        #expect(error?.description.contains("3 steps in a row") == true, "\(String(describing: error))")
        #expect(try Checkpoint.read(q.checkpointURL).int("step", source: "") == 4, "the last good checkpoint is kept")
    }

    /// A run stopped between checkpoints and resumed ends with exactly the weights of an uninterrupted run
    /// (with input perturbation too: its noise stream is checkpointed).
    @Test(arguments: [0.0, 0.1]) func resumeContinuesTheSameRun(inputPerturbation: Double) throws {
        let a = Self.tempDir(), b = Self.tempDir()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        var cfg = try Self.tinyConfig(steps: 6)
        cfg.train.inputPerturbation = inputPerturbation
        let full = try Pretrainer(config: cfg, outDir: a)
        full.quiet = true
        let r = try full.run(source: MovingSquares(), resume: false)
        #expect(r.steps == 6 && r.finalLoss.isFinite)

        let first = try Pretrainer(config: cfg, outDir: b)
        first.quiet = true
        first.stopAfterStep = 3   // killed after step 3; the last checkpoint is step 2
        _ = try first.run(source: MovingSquares(), resume: false)
        let second = try Pretrainer(config: cfg, outDir: b)
        second.quiet = true
        _ = try second.run(source: MovingSquares(), resume: true)
        let c = compareTensors(second.model.parameters.array, full.model.parameters.array)
        #expect(c.maxAbs <= 1e-6, "max abs diff \(c.maxAbs)")
        // The log describes one run: steps 1...6 once each.
        let steps = TrainingLog.read(second.logURL).compactMap { $0["step"] as? Int }
        #expect(steps == [1, 2, 3, 4, 5, 6])
        // The resumed run's speed counts its own steps (from the step-2 checkpoint), not the whole schedule's.
        for r in TrainingLog.read(second.logURL) {
            guard let step = r["step"] as? Int, step >= 3, let rate = r["it_per_s"] as? Double,
                  let elapsed = r["elapsed_s"] as? Double else { continue }
            #expect(abs(rate * max(elapsed, 1e-9) - Double(step - 2)) < 1e-6, "step \(step): \(rate) it/s over \(elapsed) s")
        }
    }

    /// Input perturbation changes what the network sees (so the weights), not the clips, timesteps or ε:
    /// the first step's loss, taken by a zero-output network (adaLN-zero) on the same v targets, is equal.
    @Test func inputPerturbationChangesTheInputsOnly() throws {
        let a = Self.tempDir(), b = Self.tempDir()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        var cfg = try Self.tinyConfig(steps: 4)
        let plain = try Pretrainer(config: cfg, outDir: a)
        plain.quiet = true
        _ = try plain.run(source: MovingSquares(), resume: false)
        cfg.train.inputPerturbation = 0.1
        let perturbed = try Pretrainer(config: cfg, outDir: b)
        perturbed.quiet = true
        _ = try perturbed.run(source: MovingSquares(), resume: false)
        let l0 = TrainingLog.read(plain.logURL).compactMap { $0["loss"] as? Double }
        let l1 = TrainingLog.read(perturbed.logURL).compactMap { $0["loss"] as? Double }
        #expect(l0.count == 4 && l1.count == 4)
        #expect(l0.first == l1.first, "same targets at step 1: \(l0) vs \(l1)")
        let c = compareTensors(plain.model.parameters.array, perturbed.model.parameters.array)
        #expect(c.maxAbs > 1e-5, "the perturbation must reach the weights (max abs diff \(c.maxAbs))")
    }

    /// One clip, one prompt: x0 is then known, v is a function of x_t, and the loss must go to ~0
    /// (from ~1 for the zero predictor). Broken gradients, schedule or targets cannot get there.
    struct OneClip: ClipSource {
        let frames = 4, height = 16, width = 16
        func sample(_ rng: inout RNG) -> (pixels: [Float], prompt: String) {
            var r = RNG(seed: 99)
            return (MovingSquares().sample(&r).pixels, "the clip")
        }
    }

    @Test func lossFallsOnASimpleSource() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = try Self.tinyConfig(steps: 1200)
        cfg.train.batch = 8
        cfg.train.lr = 3e-3
        cfg.train.logEvery = 200
        cfg.train.promptDropout = 0
        let p = try Pretrainer(config: cfg, outDir: dir)
        p.quiet = true
        _ = try p.run(source: OneClip(), resume: false)
        let losses = TrainingLog.read(p.logURL).compactMap { $0["loss"] as? Double }
        #expect(losses.count == 6)
        // The zero predictor's loss on this clip, E_t[ᾱ_t·E ε² + (1 − ᾱ_t)·mean x0²], computed exactly.
        var r = RNG(seed: 0)
        let x0 = try p.codec.encode(OneClip().sample(&r).pixels, frames: 4, height: 16, width: 16)
        let m2 = x0.reduce(0.0) { $0 + Double($1 * $1) } / Double(x0.count)
        let acp = NoiseSchedule(snrShiftScale: cfg.train.snrShiftScale).alphasCumprod()
        let zeroLoss = acp.reduce(0.0) { $0 + $1 + (1 - $1) * m2 } / Double(acp.count)
        #expect(losses.last! < 0.25 * zeroLoss, "losses \(losses), zero predictor \(zeroLoss)")
    }

    @Test func configErrorsNameTheField() throws {
        let cases: [(String, String)] = [
            ("train: {stepz: 3}", "train.stepz"),
            ("train: {steps: many}", "train.steps"),
            ("model: {layers: 0}", "model.layers"),
            ("codec: {channels: 500}", "codec.channels"),
            ("data: {frames: 5}", "data.frames"),
            ("codec: {normalize: whiten}", "codec.normalize"),
            ("train: {input_perturbation: 1.5}", "train.input_perturbation"),
            ("sampling: {guidance: 0.5}", "sampling.guidance"),
            ("sampling: {scheduler: euler}", "sampling.scheduler"),
            ("sampling: {cfg: 3}", "sampling.cfg"),
            ("extra: 1", "extra"),
            ("- a list", ""),
        ]
        for (yaml, field) in cases {
            do {
                _ = try ConfigFile.parse(PretrainConfig.self, yaml: yaml, file: "bad.yaml")
                Issue.record("\(yaml) should be refused")
            } catch let e as ConfigError {
                #expect(e.field == field && e.description.contains("bad.yaml"), "\(e)")
            }
        }
        // Scientific notation reads as a number; omitted fields keep their defaults.
        let c = try ConfigFile.parse(PretrainConfig.self, yaml: "train: {lr: 3e-4}", file: "ok.yaml")
        #expect(c.train.lr == 3e-4 && c.train.batch == PretrainConfig.Train().batch)
        #expect(c.codec.normalize == .global && c.sampling.guidance == 6 && c.sampling.steps == 50)
    }

    /// The `sampling` section goes into the package and does not tie a checkpoint to it: a run trained
    /// with one guidance exports (and resumes) under a config that only changes the sampling.
    @Test func samplingSectionIsThePackagesDefault() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = try Self.tinyConfig(steps: 2)
        cfg.codec.normalize = .perChannel
        let p = try Pretrainer(config: cfg, outDir: dir.appendingPathComponent("run"))
        p.quiet = true
        _ = try p.run(source: MovingSquares(), resume: false)
        cfg.sampling.guidance = 2.5
        cfg.sampling.steps = 30
        let q = try Pretrainer(config: cfg, outDir: dir.appendingPathComponent("run"))
        q.quiet = true
        #expect(try q.exportSnapshot(to: dir.appendingPathComponent("pkg"), recipe: [:]) == 2)
        let pkg = try ModelPackage.load(dir.appendingPathComponent("pkg"))
        #expect(pkg.metadata.sampling.guidance == 2.5 && pkg.metadata.sampling.steps == 30)
        #expect(pkg.codec.channelScales?.count == 6)
        // A change that does matter for training is still refused.
        cfg.train.lr = 5e-4
        let r = try Pretrainer(config: cfg, outDir: dir.appendingPathComponent("run"))
        #expect(throws: CheckpointError.self) { _ = try r.exportSnapshot(to: dir.appendingPathComponent("pkg2"), recipe: [:]) }
    }
}

@Suite("Model package") struct ModelPackageTests {
    /// A trained package saves, reloads and renders through the pipeline with its own defaults.
    @Test func exportLoadRender() throws {
        let dir = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfg = try PretrainTests.tinyConfig(steps: 4)
        let p = try Pretrainer(config: cfg, outDir: dir.appendingPathComponent("run"))
        p.quiet = true
        _ = try p.run(source: MovingSquares(), resume: false)
        let pkgDir = dir.appendingPathComponent("model")
        try p.exportPackage(to: pkgDir, recipe: ["command": "test"])
        let pkg = try ModelPackage.load(pkgDir)
        #expect(pkg.transformer.parameters.array == p.model.parameters.array)
        let pipe = VideoPipeline(pkg)
        var o = pipe.defaults
        #expect(o.steps == 50 && o.guidance == 6 && pipe.nfe(o) == 100)
        o.steps = 3
        var calls = 0
        let a = try pipe.render(prompt: "a red square moving left", seed: 7, options: o) { _, _ in calls += 1 }
        let b = try pipe.render(prompt: "a red square moving left", seed: 7, options: o)
        #expect(calls == 3 && a == b && a.count == 4 * 16 * 16 * 3)
        // The seed and the prompt decide the clip.
        let c = try pipe.render(prompt: "a red square moving left", seed: 8, options: o)
        let d = try pipe.render(prompt: "a blue circle", seed: 7, options: o)
        #expect(a != c && a != d)
        // The DPM scheduler samples another path from the same noise.
        o.scheduler = .dpm
        #expect(try pipe.render(prompt: "a red square moving left", seed: 7, options: o) != a)
        // A contact-sheet row at another step count renders the model at that step count.
        let sheet = try RunPictures.contactSheetClips(models: [.init("teacher", pkg), .init("teacher", pkg, steps: 3)],
                                                      prompts: ["a red square moving left"], groundTruth: false)
        #expect(sheet.labels == ["teacher (100 NFE)", "teacher (6 NFE)"])
        let mv = pkg.metadata.video
        let at3 = try pipe.render(prompt: "a red square moving left", seed: 0, options: pipe.options(steps: 3))
        #expect(sheet.clips[1] == RGBVideo(floats: at3, width: mv.width, height: mv.height, fps: mv.fps))
        #expect(sheet.clips[0] != sheet.clips[1])
        // A package naming an unknown scheduler is refused with the allowed ones, naming the file.
        let metaURL = pkgDir.appendingPathComponent(PackageMetadata.fileName)
        let meta = try String(contentsOf: metaURL, encoding: .utf8)
        try meta.replacingOccurrences(of: "\"scheduler\" : \"ddim\"", with: "\"scheduler\" : \"euler\"").write(to: metaURL, atomically: true, encoding: .utf8)
        let bad = #expect(throws: ModelPackageError.self) { _ = try ModelPackage.load(pkgDir) }
        #expect(bad?.description.contains(PackageMetadata.fileName) == true && bad?.description.contains("ddim, dpm") == true, "\(String(describing: bad))")
        try meta.write(to: metaURL, atomically: true, encoding: .utf8)
        // A package with a codec that does not fit the transformer is refused by name.
        try Data("{}".utf8).write(to: pkgDir.appendingPathComponent("codec.json"))
        #expect(throws: ModelPackageError.self) { _ = try ModelPackage.load(pkgDir) }
    }
}

@Suite("Shipped configs") struct ShippedConfigTests {
    /// Every config in configs/ loads and validates.
    @Test func everyConfigLoads() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 9)
        for f in files {
            let url = dir.appendingPathComponent(f)
            if f.contains("distill") { _ = try ConfigFile.load(DistillConfig.self, from: url) } else { _ = try ConfigFile.load(PretrainConfig.self, from: url) }
        }
    }
}

@Suite("Pretraining from a package") struct PretrainInitTests {
    /// `initFrom` starts a new run at the package's weights and codec (and its EMA there); a package of
    /// another recipe is refused naming what differs; a resumed run ignores it.
    @Test func newRunStartsFromThePackage() throws {
        let dir = PretrainTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for d in ["b", "c"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(d), withIntermediateDirectories: true) }
        let first = try Pretrainer(config: try PretrainTests.tinyConfig(steps: 4), outDir: dir.appendingPathComponent("a"))
        first.quiet = true
        _ = try first.run(source: MovingSquares(), resume: false)
        let pkgDir = dir.appendingPathComponent("model")
        try first.exportPackage(to: pkgDir, recipe: [:])
        let pkg = try ModelPackage.load(pkgDir)

        var cfg = try PretrainTests.tinyConfig(steps: 4)
        cfg.train.seed = 9   // another seed: a random start and a fitted codec would differ from the package's
        let second = try Pretrainer(config: cfg, outDir: dir.appendingPathComponent("b"))
        second.quiet = true
        second.initFrom = pkg
        second.stopAfterStep = 1
        let before = second.model.parameters.array
        try second.initializeNewRun(source: MovingSquares())
        #expect(second.model.parameters.array == pkg.transformer.parameters.array && before != pkg.transformer.parameters.array)
        #expect(second.codec.components == pkg.codec.components && second.codec.mean == pkg.codec.mean)
        let written = try JSONDecoder().decode(PCALatentCodec.self, from: Data(contentsOf: second.codecURL))
        #expect(written.components == pkg.codec.components)
        // Without initFrom the same config starts elsewhere.
        let fresh = try Pretrainer(config: cfg, outDir: dir.appendingPathComponent("c"))
        try fresh.initializeNewRun(source: MovingSquares())
        #expect(fresh.model.parameters.array != pkg.transformer.parameters.array)

        // A package of another shape is refused by name.
        var wider = try PretrainTests.tinyConfig(steps: 4)
        wider.model.heads = 4
        let third = try Pretrainer(config: wider, outDir: dir.appendingPathComponent("d"))
        third.initFrom = pkg
        let error = #expect(throws: ModelPackageError.self) { try third.initializeNewRun(source: MovingSquares()) }
        #expect(error?.description.contains(pkgDir.path) == true && error?.description.contains("transformer config") == true,
                "\(String(describing: error))")
        var otherCodec = try PretrainTests.tinyConfig(steps: 4)
        otherCodec.codec.channels = 8
        let fourth = try Pretrainer(config: otherCodec, outDir: dir.appendingPathComponent("e"))
        fourth.initFrom = pkg
        #expect(throws: ModelPackageError.self) { try fourth.initializeNewRun(source: MovingSquares()) }
    }
}
