import Foundation
import Testing

/// The command line as a user meets it: the built `tdm-video` binary, run as a process.
/// `swift test` builds the executable with the tests, at .build/<config>/tdm-video.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        for config in ["release", "debug"] {
            let u = root.appendingPathComponent(".build/\(config)/tdm-video")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        return root.appendingPathComponent(".build/release/tdm-video")
    }

    struct Run { var status: Int32; var out: String; var err: String }

    static func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = root
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self), err: String(decoding: ed, as: UTF8.self))
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
        try expectFailure(["sample", "--model", d.path + "/none", "--prompt", "a red circle", "--out", d.path + "/x.mp4"], "none")
        let fx = CLI.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/cogvideox-tiny-sincos")
        let broken = d.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fx.appendingPathComponent("config.json"), to: broken.appendingPathComponent("config.json"))
        let w = try Data(contentsOf: fx.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        try w.prefix(w.count / 2).write(to: broken.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        try expectFailure(["verify", "--model", broken.path, "--reference", fx.path + "/reference.safetensors"], "diffusion_pytorch_model.safetensors")
        // Prompts: empty, 10,000 characters, non-UTF-8 prompt file, outside the world's grammar.
        try expectFailure(["sample", "--model", broken.path, "--prompt", "  ", "--out", d.path + "/x.mp4"], "empty", code: 64)
        try expectFailure(["sample", "--model", broken.path, "--prompt", String(repeating: "a", count: 10_000), "--out", d.path + "/x.mp4"],
                          "10000 characters", code: 64)
        try Data([0x61, 0xFF, 0xFE, 0x0A]).write(to: d.appendingPathComponent("p.txt"))
        let t = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet"])
        #expect(t.status == 0)
        try expectFailure(["sample", "--model", d.path + "/t/model", "--prompts", d.path + "/p.txt", "--out", d.path + "/c"], "not UTF-8")
        try expectFailure(["world", "render", "a crimson blob", "--out", d.path + "/w.mp4"], "outside the world's grammar")
        // Output: an unwritable place.
        try expectFailure(["world", "render", "a red circle", "--out", "/proc/none/w.mp4"], "/proc/none")
        try expectFailure(["world", "suite", "--out", "/proc/none/s.json"], "/proc/none")
        // Nothing that looks complete was left behind.
        for f in ["x.mp4", "w.mp4", "o/model", "c"] { #expect(!FileManager.default.fileExists(atPath: d.path + "/" + f), "\(f)") }
    }
}
