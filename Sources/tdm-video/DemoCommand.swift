import ArgumentParser
import AtomicFiles
import Foundation
import ShapeWorld
import TDMVideo
import VideoInference
import TensorCore
import VBenchLite
import VideoCommon
import VideoIO

/// `tdm-video demo`: the main job end to end — teacher, TDM student, clips side by side, scores, timings.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Distil a student from the teacher, render the demo prompts with both, score them, write a report.",
        discussion: """
        Uses the shipped teacher in models/teacher when present; otherwise trains a tiny one first
        (configs/tiny_pretrain.yaml), which exercises the whole pipeline in seconds but makes no useful video.
        Distils a student with a short schedule (configs/demo_distill.yaml), renders the quick suite with the
        world (ground truth), the teacher (100 network evaluations) and the student (4), scores all three with
        VBenchLite and writes to --out: index.html (clips side by side, scores, loss curves, timings), the
        clips, contact_sheet.png, the three score reports and the student package.

        Example:
          tdm-video demo --out out/demo
        """.paragraphs)

    @Option(help: "Output folder.") var out: String = "out/demo"
    @Option(help: "Teacher package (default: models/teacher, else a tiny one trained now).") var teacher: String?
    @Option(help: "Distillation config.") var config: String = "configs/demo_distill.yaml"
    @Flag(help: "No progress lines.") var quiet = false

    func run() throws {
        FFmpegLibrary.preloadInBackground(first: { Compute.prepare() })
        let outDir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(out): \(error.localizedDescription)")
        }
        // A page from an earlier run must not pass for this one's if this run fails part-way.
        try? FileManager.default.removeItem(at: outDir.appendingPathComponent("index.html"))
        let started = Date()
        var teacherDir = URL(fileURLWithPath: teacher ?? "models/teacher")
        var distillConfig = config
        var tinyNote: String?
        if teacher == nil && !FileManager.default.fileExists(atPath: teacherDir.appendingPathComponent("tdm_video.json").path) {
            print("no shipped teacher in models/teacher: training a tiny one (configs/tiny_pretrain.yaml) to run the pipeline")
            let cfg = try ConfigFile.load(PretrainConfig.self, from: URL(fileURLWithPath: "configs/tiny_pretrain.yaml"))
            let p = try Pretrainer(config: cfg, outDir: outDir.appendingPathComponent("teacher-run"))
            p.quiet = quiet
            let r = WorldRenderer(width: cfg.data.width, height: cfg.data.height, frames: cfg.data.frames, fps: cfg.data.fps, detail: cfg.data.detail)
            _ = try p.run(source: WorldClipSource(renderer: r), resume: false)
            teacherDir = outDir.appendingPathComponent("teacher")
            try p.exportPackage(to: teacherDir, recipe: ["config": "configs/tiny_pretrain.yaml"])
            distillConfig = "configs/tiny_distill.yaml"
            tinyNote = "No shipped teacher was found, so a tiny one was trained for seconds: the pipeline ran end to end, but these clips are not meant to look like anything."
        }
        let t = try ModelPackage.load(teacherDir)
        let v = t.metadata.video
        let dcfg = try ConfigFile.load(DistillConfig.self, from: URL(fileURLWithPath: distillConfig))
        let distillDir = outDir.appendingPathComponent("distill")
        try? FileManager.default.removeItem(at: distillDir)
        let d = try Distiller(config: dcfg, teacher: t, outDir: distillDir)
        d.quiet = quiet
        if dcfg.optim.evalEvery > 0 {
            d.evaluator = SuiteEvaluation.worldStudentEvaluator(seeds: dcfg.optim.evalSeeds, referenceSeeds: dcfg.optim.evalReferenceSeeds,
                                                                detail: t.metadata.world)
        }
        let world = WorldRenderer(width: v.width, height: v.height, frames: v.frames, fps: v.fps, detail: t.metadata.world)
        let dr = try d.run(prompts: WorldClipSource(renderer: world), resume: false)
        let studentDir = outDir.appendingPathComponent("student")
        try d.exportStudent(to: studentDir, recipe: ["config": distillConfig])
        try RunPictures.writeDistillCurves(log: d.logURL, to: distillDir)
        let student = try ModelPackage.load(studentDir)

        let suite = WorldSplit.quickSuite(detail: t.metadata.world)
        let columns = ["truth", "teacher", "student"]
        var scored: [String: [(name: String, video: RGBVideo, prompt: PromptEntry?)]] = [:]
        var sheet: [RGBVideo] = [], labels: [String] = []
        var seconds: [String: Double] = [:]
        var rows: [DemoPage.Row] = []
        // Each model renders the whole suite as one batch shared over the cores (the clips are the ones
        // rendered one at a time, bit for bit), timed from text to decoded pixels: not MP4 encoding, not scoring.
        var rendered: [String: [[Float]]] = [:]
        for (name, package) in [("teacher", t), ("student", student)] {
            let pipe = VideoPipeline(package)
            let t0 = Date()
            rendered[name] = try pipe.render(batch: suite.indices.map { VideoPipeline.Clip(prompt: suite[$0].promptEn, seed: UInt64($0)) },
                                             options: pipe.defaults)
            seconds[name] = Date().timeIntervalSince(t0)
        }
        let progress = ProgressLine(label: "render", total: suite.count, quiet: quiet)
        for (i, entry) in suite.enumerated() {
            let p = entry.promptEn
            let file = p.replacingOccurrences(of: "/", with: " ") + "-0.mp4"
            var row = DemoPage.Row(prompt: p, clips: [:])
            for name in columns {
                let clip: RGBVideo
                if name == "truth" {
                    clip = try world.render(prompt: p, seed: UInt64(i))
                } else {
                    clip = RGBVideo(floats: rendered[name]![i], width: v.width, height: v.height, fps: v.fps)
                }
                let dir = outDir.appendingPathComponent("\(name)/clips")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let url = dir.appendingPathComponent(file)
                try VideoWriter().write(clip, to: url)
                row.clips[name] = "\(name)/clips/\(file)"
                // Scored as delivered: the MP4 read back, as `tdm-video score` reads it.
                scored[name, default: []].append((p, try VideoReader.read(url), entry))
                sheet.append(clip)
                labels.append(name.uppercased() + (name == "truth" ? ": " + p.uppercased() : ""))
            }
            rows.append(row)
            progress.update(i + 1)
        }
        progress.finish()
        let sheetURL = outDir.appendingPathComponent("contact_sheet.png")
        try ContactSheet.writePNG(clips: sheet, columns: 8, labels: labels, gap: 2, to: sheetURL)

        var reports: [(name: String, report: ScoreReport)] = []
        for name in columns {
            let r = VBenchLite().evaluate(videos: scored[name]!)
            try AtomicFile.write(try r.jsonData(), to: outDir.appendingPathComponent("\(name)_report.json"))
            reports.append((name == "truth" ? "ground truth" : name, r))
        }
        let tp = VideoPipeline(t), sp = VideoPipeline(student)
        let n = Double(suite.count)
        let timings = [DemoPage.Timing(name: "teacher", nfe: tp.nfe(tp.defaults), secondsPerClip: seconds["teacher", default: 0] / n),
                       DemoPage.Timing(name: "student", nfe: sp.nfe(sp.defaults), secondsPerClip: seconds["student", default: 0] / n)]
        let speedUp = timings[0].secondsPerClip / max(timings[1].secondsPerClip, 1e-9)

        var page = DemoPage(columns: columns, rows: rows, reports: reports, timings: timings)
        page.subtitle = "\(suite.count) prompts of the world's quick suite, \(v.frames) frames of \(v.width)x\(v.height) at \(Int(v.fps)) fps, "
            + "seed = prompt index. Teacher: \(t.directory.path). Student: TDM with \(distillConfig), "
            + "\(dr.iterations) iterations in \(ProgressLine.duration(dr.seconds))."
        page.notes.append("Seconds per clip: rendering only (text encoding, sampling, latent decoding; not MP4 encoding or scoring), "
            + "each model's \(suite.count) clips rendered as one batch shared over \(Compute.threads) cores, "
            + "each clip identical to the clip rendered alone.")
        if let tinyNote { page.notes.append(tinyNote) }
        let curves = LossCurves.distillSVGs(log: d.logURL)
        page.figures.append(("Distillation losses", curves.losses))
        if let e = curves.eval { page.figures.append(("Student during distillation", e)) }
        page.images.append(("Contact sheet: ground truth, teacher, student (8 frames each)", "contact_sheet.png"))
        let index = outDir.appendingPathComponent("index.html")
        try AtomicFile.write(Data(page.html().utf8), to: index)

        var table = "  VBenchLite (0-100)   quality  semantic   total\n"
        for (name, r) in reports {
            func f(_ x: Double?) -> String { x.map { String(format: "%8.2f", $0 * 100) } ?? "       -" }
            table += "  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(f(r.qualityScore))  \(f(r.semanticScore))  \(f(r.totalScore))\n"
        }
        print(table, terminator: "")
        print("""
            demo: \(suite.count) prompts, \(v.frames) frames of \(v.width)x\(v.height)
              teacher: \(timings[0].nfe) network evaluations per clip, \(String(format: "%.3f", timings[0].secondsPerClip)) s per clip
              student: \(timings[1].nfe) network evaluations per clip, \(String(format: "%.3f", timings[1].secondsPerClip)) s per clip
              (rendering only, each model's \(suite.count) clips as one batch over \(Compute.threads) cores; not MP4 encoding or scoring)
              speed-up: \(String(format: "%.1f", speedUp))x; distillation \(dr.iterations) iterations in \(ProgressLine.duration(dr.seconds))
              report: \(index.path) (\(ProgressLine.duration(Date().timeIntervalSince(started))) in all)
            """)
    }
}
