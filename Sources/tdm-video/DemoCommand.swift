import ArgumentParser
import Foundation
import ShapeWorld
import TDMVideo
import TensorCore
import VBenchLite
import VideoIO

/// `tdm-video demo`: the main job end to end — teacher, TDM student, clips side by side, timings.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Distil a student from the teacher, render the demo prompts with both, and compare them.",
        discussion: """
        Uses the shipped teacher in models/teacher when present; otherwise trains a tiny one first
        (configs/tiny_pretrain.yaml), which exercises the whole pipeline in seconds but makes no useful video.
        Writes the teacher and student clips, a contact sheet (ground truth / teacher / student per prompt)
        and a summary to --out.

        Example:
          tdm-video demo --out out/demo
        """)

    @Option(help: "Output folder.") var out: String = "out/demo"
    @Option(help: "Teacher package (default: models/teacher, else a tiny one trained now).") var teacher: String?
    @Option(help: "Distillation config.") var config: String = "configs/distill.yaml"
    @Flag(help: "No progress lines.") var quiet = false

    func run() throws {
        let outDir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(out): \(error.localizedDescription)")
        }
        var teacherDir = URL(fileURLWithPath: teacher ?? "models/teacher")
        var distillConfig = config
        if teacher == nil && !FileManager.default.fileExists(atPath: teacherDir.appendingPathComponent("tdm_video.json").path) {
            print("no shipped teacher in models/teacher: training a tiny one (configs/tiny_pretrain.yaml) to run the pipeline")
            let cfg = try ConfigFile.load(PretrainConfig.self, from: URL(fileURLWithPath: "configs/tiny_pretrain.yaml"))
            let p = try Pretrainer(config: cfg, outDir: outDir.appendingPathComponent("teacher-run"))
            p.quiet = quiet
            let r = WorldRenderer(width: cfg.data.width, height: cfg.data.height, frames: cfg.data.frames, fps: cfg.data.fps)
            _ = try p.run(source: WorldClipSource(renderer: r), resume: false)
            teacherDir = outDir.appendingPathComponent("teacher")
            try p.exportPackage(to: teacherDir, recipe: ["config": "configs/tiny_pretrain.yaml"])
            distillConfig = "configs/tiny_distill.yaml"
        }
        let t = try ModelPackage.load(teacherDir)
        let v = t.metadata.video
        let dcfg = try ConfigFile.load(DistillConfig.self, from: URL(fileURLWithPath: distillConfig))
        let d = try Distiller(config: dcfg, teacher: t, outDir: outDir.appendingPathComponent("distill"))
        d.quiet = quiet
        let world = WorldRenderer(width: v.width, height: v.height, frames: v.frames, fps: v.fps)
        let dr = try d.run(prompts: WorldClipSource(renderer: world), resume: false)
        let studentDir = outDir.appendingPathComponent("student")
        try d.exportStudent(to: studentDir, recipe: ["config": distillConfig])
        let student = try ModelPackage.load(studentDir)

        let suite = WorldSplit.quickSuite()
        let prompts = suite.map(\.promptEn)
        var scored: [String: [(name: String, video: RGBVideo, prompt: PromptEntry?)]] = ["truth": [], "teacher": [], "student": []]
        var sheet: [RGBVideo] = [], labels: [String] = []
        var tTeacher = 0.0, tStudent = 0.0
        for (i, p) in prompts.enumerated() {
            let truth = try world.render(prompt: p, seed: UInt64(i))
            scored["truth"]!.append((p, truth, suite[i]))
            var clips: [RGBVideo] = [truth]
            for (pkg, name) in [(t, "teacher"), (student, "student")] {
                let pipe = VideoPipeline(pkg)
                let t0 = Date()
                let px = try pipe.render(prompt: p, seed: UInt64(i), options: pipe.defaults)
                let dt = Date().timeIntervalSince(t0)
                if name == "teacher" { tTeacher += dt } else { tStudent += dt }
                let clip = WorldRenderer.toVideo(px, width: v.width, height: v.height, fps: v.fps)
                let dir = outDir.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: dir.appendingPathComponent("clips"), withIntermediateDirectories: true)
                try VideoWriter().write(clip, to: dir.appendingPathComponent("clips/\(p)-0.mp4"))
                clips.append(clip)
                scored[name]!.append((p, clip, suite[i]))
            }
            sheet += clips
            labels += ["TRUTH", "TEACHER", "STUDENT"]
        }
        let sheetURL = outDir.appendingPathComponent("contact_sheet.png")
        try ContactSheet.writePNG(clips: sheet, columns: 8, labels: labels, gap: 2, to: sheetURL)
        let tp = VideoPipeline(t), sp = VideoPipeline(student)
        var table = "  VBenchLite (0-100)   quality  semantic   total\n"
        for name in ["truth", "teacher", "student"] {
            let r = VBenchLite().evaluate(videos: scored[name]!)
            try AtomicFile.write(try r.jsonData(), to: outDir.appendingPathComponent("\(name)_report.json")) { CLIError("cannot write the report: \($0)") }
            func f(_ x: Double?) -> String { x.map { String(format: "%8.2f", $0 * 100) } ?? "       -" }
            table += "  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(f(r.qualityScore))  \(f(r.semanticScore))  \(f(r.totalScore))\n"
        }
        print(table, terminator: "")
        print("""
            demo: \(prompts.count) prompts, \(v.frames) frames of \(v.width)x\(v.height)
              teacher: \(tp.nfe(tp.defaults)) network evaluations per clip, \(String(format: "%.3f", tTeacher / Double(prompts.count))) s per clip
              student: \(sp.nfe(sp.defaults)) network evaluations per clip, \(String(format: "%.3f", tStudent / Double(prompts.count))) s per clip
              speed-up: \(String(format: "%.1f", tTeacher / max(tStudent, 1e-9)))x; distillation \(dr.iterations) iterations in \(String(format: "%.0f", dr.seconds)) s
              contact sheet: \(sheetURL.path)
            """)
    }
}
