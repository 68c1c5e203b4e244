import Foundation
import Testing

/// The command line as a user meets it: the built `tdm-video` binary, run as a process. Every test that
/// runs the binary lives in this target and runs the binary of the configuration under test: `swift
/// test` builds the executable beside the test bundle (.build/<triple>/<config>/), so a debug test run
/// never asks a stale release binary, nor the reverse.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder of the running test bundle, where `swift test` put the executable of the same build.
    static let buildFolder: URL = {
        let bundle = Bundle.main.bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent(), URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()] {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("tdm-video").path) { return dir }
        }
        return bundle.deletingLastPathComponent()
    }()

    static var binary: URL { buildFolder.appendingPathComponent("tdm-video") }

    struct Run { var status: Int32; var out: String; var err: String }

    static func run(_ args: [String], environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = root
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self), err: String(decoding: ed, as: UTF8.self))
    }

    /// Starts the binary without waiting (output discarded), for tests that kill it.
    static func start(_ args: [String], environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = root
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    static func temp() -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

@Suite("Command line", .serialized) struct CLITests {
    @Test func everyVerbHasHelpWithAnExample() throws {
        for verb in ["pretrain", "distill", "sample", "verify", "bench", "convert", "world render", "world suite"] {
            let r = try CLI.run(verb.split(separator: " ").map(String.init) + ["--help"])
            #expect(r.status == 0, "\(verb)")
            #expect(r.out.contains("tdm-video \(verb.split(separator: " ")[0])"), "\(verb) --help shows an example")
            // Prose is re-flowed, not hard-wrapped inside ArgumentParser's own wrapping: no short prose line
            // is followed by more prose of the same paragraph.
            let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (a, b) in zip(lines, lines.dropFirst()) where !a.isEmpty && !a.hasPrefix(" ") && !a.hasSuffix(":") && !b.isEmpty && !b.hasPrefix(" ") {
                #expect(a.count >= 40 || b.hasPrefix("USAGE") || b.hasPrefix("OPTIONS"), "\(verb) --help: ragged line \"\(a)\" before \"\(b)\"")
            }
        }
    }

    @Test func verifyPassesOnTheFixtures() throws {
        for f in ["cogvideox-tiny-sincos", "cogvideox-tiny-rope"] {
            let fx = CLI.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/\(f)").path
            let r = try CLI.run(["verify", "--model", fx, "--reference", fx + "/reference.safetensors"])
            #expect(r.status == 0 && r.out.hasSuffix("verify: PASS\n"), "\(f): \(r.out.suffix(200))")
        }
    }

    /// pretrain → distill → sample on tiny shapes, then a kill-and-resume of pretraining.
    @Test func endToEndOnTinyShapes() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        var r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        r = try CLI.run(["distill", "--config", "configs/tiny_distill.yaml", "--teacher", d.path + "/t/model", "--out", d.path + "/s", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        r = try CLI.run(["sample", "--model", d.path + "/s/student", "--prompt", "a red circle moving left", "--out", d.path + "/a.mp4", "--quiet"])
        #expect(r.status == 0 && r.out.contains("4 network evaluations"), "\(r.out) \(r.err)")
        #expect(FileManager.default.fileExists(atPath: d.path + "/a.mp4"))
        r = try CLI.run(["sample", "--model", d.path + "/t/model", "--prompts", "configs/suites/quick_full_info.json", "--steps", "2",
                         "--out", d.path + "/clips", "--quiet"])
        #expect(r.status == 0 && r.out.contains("wrote 8 clips"), "\(r.out) \(r.err)")
        // Resume: a run stopped at step 4 (checkpoint at 3) and resumed reproduces the uninterrupted teacher.
        r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/r", "--quiet", "--stop-after", "4"])
        #expect(r.status == 0 && r.out.contains("stopped early"))
        r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/r", "--quiet", "--resume"])
        #expect(r.status == 0)
        let a = try Data(contentsOf: d.appendingPathComponent("t/model/diffusion_pytorch_model.safetensors"))
        let b = try Data(contentsOf: d.appendingPathComponent("r/model/diffusion_pytorch_model.safetensors"))
        #expect(a == b)
    }

    /// Bad input: a clear message naming the input, exit code 1 (2 for usage), no partial output.
    @Test func badInputGetsAClearErrorAndNoPartialFile() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        func expectFailure(_ args: [String], _ needle: String, code: Int32 = 1, _ line: Int = #line) throws {
            let r = try CLI.run(args)
            #expect(r.status == code, "line \(line): exit \(r.status), \(r.err)")
            #expect(r.err.contains(needle), "line \(line): \(r.err)")
        }
        // Configs: unknown field, wrong type.
        try "train: {stepz: 3}\n".write(to: d.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try expectFailure(["pretrain", "--config", d.path + "/a.yaml", "--out", d.path + "/o"], "train.stepz")
        try "optim: {batch: lots}\n".write(to: d.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        try expectFailure(["distill", "--config", d.path + "/b.yaml", "--teacher", d.path, "--out", d.path + "/o"], "optim.batch")
        // Models: missing folder, truncated weights.
        try expectFailure(["sample", "--model", d.path + "/none", "--prompt", "a red circle", "--out", d.path + "/x.mp4"], d.path + "/none: no such folder")
        try expectFailure(["distill", "--config", "configs/tiny_distill.yaml", "--teacher", d.path + "/none", "--out", d.path + "/o"],
                          d.path + "/none: no such folder")
        let fx = CLI.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/cogvideox-tiny-sincos")
        let broken = d.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fx.appendingPathComponent("config.json"), to: broken.appendingPathComponent("config.json"))
        let w = try Data(contentsOf: fx.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        try w.prefix(w.count / 2).write(to: broken.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        try expectFailure(["verify", "--model", broken.path, "--reference", fx.path + "/reference.safetensors"], "diffusion_pytorch_model.safetensors")
        // A diffusers folder without tdm-video's own metadata is not a model package.
        try expectFailure(["sample", "--model", broken.path, "--prompt", "a red circle", "--out", d.path + "/x.mp4"],
                          "broken: not a tdm-video model package: the folder has no tdm_video.json")
        // Mis-shaped: whole weights under a config.json that describes a wider model.
        let wide = d.appendingPathComponent("wide")
        try FileManager.default.createDirectory(at: wide, withIntermediateDirectories: true)
        try w.write(to: wide.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: fx.appendingPathComponent("config.json"))) as! [String: Any]
        cfg["attention_head_dim"] = (cfg["attention_head_dim"] as! Int) * 2
        try JSONSerialization.data(withJSONObject: cfg).write(to: wide.appendingPathComponent("config.json"))
        try expectFailure(["verify", "--model", wide.path, "--reference", fx.path + "/reference.safetensors"],
                          "mis-shaped 60: patch_embed.proj.weight is [16, 4, 2, 2], expected [32, 4, 2, 2]")
        // Prompts: empty, 10,000 characters, non-UTF-8 prompt file, outside the world's grammar.
        try expectFailure(["sample", "--model", broken.path, "--prompt", "  ", "--out", d.path + "/x.mp4"], "empty", code: 64)
        try expectFailure(["sample", "--model", broken.path, "--prompt", String(repeating: "a", count: 10_000), "--out", d.path + "/x.mp4"],
                          "10000 characters", code: 64)
        try Data([0x61, 0xFF, 0xFE, 0x0A]).write(to: d.appendingPathComponent("p.txt"))
        let t = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet"])
        #expect(t.status == 0)
        try expectFailure(["sample", "--model", d.path + "/t/model", "--prompts", d.path + "/p.txt", "--out", d.path + "/c"], "not UTF-8")
        // A training checkpoint cut in half: --resume names it instead of starting over or trapping.
        let ck = d.appendingPathComponent("t/checkpoint.safetensors"), whole = try Data(contentsOf: ck)
        try whole.prefix(whole.count / 2).write(to: ck)
        try expectFailure(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--resume", "--quiet"],
                          "checkpoint.safetensors: tensor")
        #expect(try Data(contentsOf: ck).count == whole.count / 2, "the damaged checkpoint is left as it was, not overwritten")
        try expectFailure(["world", "render", "a crimson blob", "--out", d.path + "/w.mp4"], "outside the world's grammar")
        // Scoring: a clip cut short is named, and no report is written.
        let clips = d.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        #expect(try CLI.run(["world", "render", "a red circle moving left", "--out", clips.path + "/a-0.mp4"]).status == 0)
        let clip = try Data(contentsOf: clips.appendingPathComponent("a-0.mp4"))
        try clip.prefix(clip.count / 2).write(to: clips.appendingPathComponent("a-1.mp4"))
        try expectFailure(["score", clips.path, "--out", d.path + "/r.json"], "a-1.mp4: not a video file")
        // Output: an unwritable place.
        try expectFailure(["world", "render", "a red circle", "--out", "/proc/none/w.mp4"], "/proc/none")
        try expectFailure(["world", "suite", "--out", "/proc/none/s.json"], "/proc/none")
        // Nothing that looks complete was left behind.
        for f in ["x.mp4", "w.mp4", "o/model", "c", "r.json"] { #expect(!FileManager.default.fileExists(atPath: d.path + "/" + f), "\(f)") }
    }

    /// SIGKILL at several moments of a distillation (checkpointing every iteration, so kills also land
    /// inside checkpoint writes), each followed by --resume, ends with the same student, bit for bit, as an
    /// uninterrupted run with the same seed and thread count.
    @Test func distillationKilledAtRandomMomentsResumesToTheSameStudent() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let env = ["TDM_THREADS": "2"]
        var r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet", "--eval-seeds", "0"])
        #expect(r.status == 0, "\(r.err)")
        let config = d.appendingPathComponent("kill.yaml")
        try """
            tdm: {steps: 4, guidance: 4.5}
            optim: {iterations: 30, batch: 2, student_lr: 1.0e-4, fake_lr: 5.0e-4, checkpoint_every: 1, log_every: 1}
            """.write(to: config, atomically: true, encoding: .utf8)
        func args(_ out: String, resume: Bool) -> [String] {
            ["distill", "--config", config.path, "--teacher", d.path + "/t/model", "--out", d.path + "/" + out, "--quiet",
             "--eval-seeds", "0", "--sheet-prompts", "0"] + (resume ? ["--resume"] : [])
        }
        r = try CLI.run(args("ref", resume: false), environment: env)
        #expect(r.status == 0, "\(r.err)")
        let reference = try Data(contentsOf: d.appendingPathComponent("ref/student/diffusion_pytorch_model.safetensors"))
        /// Iterations the run's log has recorded so far.
        func logged(_ out: String) -> Int {
            let text = (try? String(contentsOf: d.appendingPathComponent("\(out)/distill_log.jsonl"), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line -> Int? in
                guard let r = line.range(of: "\"step\":") else { return nil }
                return Int(line[r.upperBound...].prefix { $0.isNumber })
            }.max() ?? 0
        }
        // Moments spread over the run, from a fixed seed so a failure can be replayed: wait until the log
        // reaches a drawn iteration, then a drawn few milliseconds more (inside compute or a checkpoint write).
        var state: UInt64 = 0x9E3779B97F4A7C15
        func uniform() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) }
        var killedMidRun = 0
        for trial in 0..<3 {
            let out = "k\(trial)"
            var resume = false
            var kills: [String] = []
            for round in 0..<2 {
                let target = Int(uniform() * 12) + 1 + round * 14
                let extra = uniform() * 0.02
                let p = try CLI.start(args(out, resume: resume), environment: env)
                let deadline = Date().addingTimeInterval(60)
                while p.isRunning && logged(out) < target && Date() < deadline { usleep(500) }
                Thread.sleep(forTimeInterval: extra)
                let at = logged(out)
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    killedMidRun += 1
                }
                p.waitUntilExit()
                kills.append("after iteration \(at) + \(String(format: "%.0f", extra * 1000)) ms")
                resume = true
            }
            r = try CLI.run(args(out, resume: true), environment: env)
            #expect(r.status == 0, "trial \(trial), kills \(kills): \(r.err)")
            let resumed = try Data(contentsOf: d.appendingPathComponent("\(out)/student/diffusion_pytorch_model.safetensors"))
            #expect(resumed == reference, "trial \(trial), kills \(kills): the resumed student differs")
        }
        #expect(killedMidRun >= 4, "most kills must land while the run is going (\(killedMidRun) of 6 did)")
    }

    /// A full disk: a 48 KiB tmpfs. The run stops with a message naming the file and the cause, and leaves
    /// no checkpoint, model or temporary file that could pass for a complete one.
    @Test(.enabled(if: FullDisk.canMount, "needs permission to mount a tmpfs (root)"))
    func fullDiskGivesAClearErrorAndNoPartialFile() throws {
        let d = CLI.temp()
        defer { FullDisk.unmount(d); try? FileManager.default.removeItem(at: d) }
        try #require(FullDisk.mount(d, bytes: 48 * 1024))
        let r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/run", "--quiet"])
        #expect(r.status == 1, "exit \(r.status): \(r.err)")
        #expect(r.err.lowercased().contains("space"), "the cause is named: \(r.err)")
        let left = (FileManager.default.enumerator(atPath: d.path)?.allObjects as? [String]) ?? []
        for f in left {
            #expect(!f.hasSuffix("checkpoint.safetensors") && !f.contains("model/") && !f.contains(".tmp"), "left behind: \(f)")
        }
        // Fill what is left, then write a video: the same clear failure, and no clip.
        if let h = FileHandle(forWritingAtPath: { FileManager.default.createFile(atPath: d.path + "/filler", contents: nil); return d.path + "/filler" }()) {
            while (try? h.write(contentsOf: Data(count: 4096))) != nil {}
            try? h.close()
        }
        let v = try CLI.run(["world", "render", "a red circle moving left", "--out", d.path + "/w.mp4"])
        #expect(v.status == 1 && v.err.lowercased().contains("space"), "exit \(v.status): \(v.err)")
        #expect(!FileManager.default.fileExists(atPath: d.path + "/w.mp4"))
    }

    /// The demo on a tiny teacher: every clip, the page that shows them, the reports and the curves.
    @Test func demoWritesAPageThatShowsEveryClip() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        var r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet", "--eval-seeds", "0"])
        #expect(r.status == 0, "\(r.err)")
        r = try CLI.run(["demo", "--teacher", d.path + "/t/model", "--config", "configs/tiny_distill.yaml", "--out", d.path + "/demo", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("speed-up") && r.out.contains("student"), "\(r.out)")
        let html = try String(contentsOf: d.appendingPathComponent("demo/index.html"), encoding: .utf8)
        let sources = html.components(separatedBy: "<video src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(sources.count == 24, "8 prompts x truth, teacher, student")
        for s in sources {
            let path = s.removingPercentEncoding ?? s
            #expect(FileManager.default.fileExists(atPath: d.path + "/demo/" + path), "\(path)")
        }
        for f in ["contact_sheet.png", "truth_report.json", "teacher_report.json", "student_report.json", "distill/loss_curves.svg"] {
            #expect(FileManager.default.fileExists(atPath: d.path + "/demo/" + f), "\(f)")
        }
        #expect(html.contains("<svg") && html.contains("Total"))
    }
}

/// Mounting a small tmpfs to simulate a full disk (Linux, root).
enum FullDisk {
    static let canMount: Bool = {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        guard mount(d, bytes: 4096) else { return false }
        unmount(d)
        return true
    }()

    static func mount(_ dir: URL, bytes: Int) -> Bool {
        shell("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", dir.path]) == 0
    }

    static func unmount(_ dir: URL) { _ = shell("/bin/umount", [dir.path]) }

    static func shell(_ exe: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
