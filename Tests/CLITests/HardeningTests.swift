import Foundation
import Testing

/// Every case of issue 24, through the binary: each ran into a signal, a hang, a silent fallback or an
/// error that did not name its input before the fix. Runs are bounded (a timeout, then SIGKILL), so an
/// undone fix fails the test instead of hanging it.
@Suite("Hardening (issue 24)", .serialized) struct HardeningTests {
    struct Outcome: CustomStringConvertible {
        var status: Int32, signaled: Bool, hung: Bool, err: String
        var description: String { hung ? "hung" : signaled ? "signal \(status)" : "exit \(status): \(err.prefix(300))" }
    }

    static func run(_ args: [String], in dir: URL, timeout: Double = 30) -> Outcome {
        let r = Fuzz.run(args, cwd: dir, timeout: timeout)
        return Outcome(status: r.status, signaled: r.signaled, hung: r.hung, err: r.err)
    }

    /// A refusal: exit 1 (or `code`), within the timeout, with every needle in the message.
    static func expectRefused(_ args: [String], in dir: URL, _ needles: [String], code: Int32 = 1,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let r = run(args, in: dir)
        #expect(!r.hung && !r.signaled && r.status == code, "\(args.suffix(6)): \(r)", sourceLocation: sourceLocation)
        for n in needles { #expect(r.err.contains(n), "\(args.suffix(6)) should say \"\(n)\": \(r)", sourceLocation: sourceLocation) }
    }

    /// A tiny teacher and student, made once per test that needs them.
    static func models(_ d: URL) throws -> (teacher: URL, student: URL) {
        var r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet", "--eval-seeds", "0"])
        #expect(r.status == 0, "\(r.err)")
        r = try CLI.run(["distill", "--config", "configs/tiny_distill.yaml", "--teacher", d.path + "/t/model", "--out", d.path + "/s",
                         "--quiet", "--eval-seeds", "0", "--sheet-prompts", "0"])
        #expect(r.status == 0, "\(r.err)")
        return (d.appendingPathComponent("t/model"), d.appendingPathComponent("s/student"))
    }

    /// A copy of `model` with one JSON file edited.
    static func variant(_ model: URL, _ file: String, in d: URL, _ edit: (inout [String: Any]) -> Void) throws -> URL {
        let v = d.appendingPathComponent("v-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: model, to: v)
        let f = v.appendingPathComponent(file)
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: f)) as! [String: Any]
        edit(&obj)
        try JSONSerialization.data(withJSONObject: obj).write(to: f)
        return v
    }

    static func sample(_ model: URL, _ d: URL) -> [String] {
        ["sample", "--model", model.path, "--prompt", "a red circle moving left", "--out", d.path + "/x.mp4", "--quiet"]
    }

    @Test func modelSizeFieldsAreBoundedBeforeAllocation() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let (_, student) = try Self.models(d)
        // config.json: each used to become a fatal allocation (SIGABRT) or minutes at tens of GB.
        for (key, value) in [("in_channels", 100_000_000 as Any), ("num_attention_heads", 2_000_000), ("time_embed_dim", 1_000_000_000_000),
                             ("out_channels", 1_000_000_000), ("num_layers", 3_000_000_000.0)] {
            let v = try Self.variant(student, "config.json", in: d) { $0[key] = value }
            Self.expectRefused(Self.sample(v, d), in: d, [v.path + "/config.json", key, "allowed"])
        }
        // tdm_video.json video.width: absurd, and merely huge.
        for width in [1_000_000_000, 32_000] {
            let v = try Self.variant(student, "tdm_video.json", in: d) { o in
                var video = o["video"] as! [String: Any]; video["width"] = width; o["video"] = video
            }
            Self.expectRefused(Self.sample(v, d), in: d, [v.path + "/tdm_video.json", "video.width", "1...4096"])
        }
        // Within every bound, but too large together: refused with the figure.
        let big = try Self.variant(student, "tdm_video.json", in: d) { o in
            o["video"] = ["frames": 1024, "height": 2048, "width": 2048, "fps": 8.0]
        }
        Self.expectRefused(Self.sample(big, d), in: d, [big.path, "needs about", "GiB of memory"])
        // --max-memory below what even the tiny student needs.
        let shipped = CLI.root.appendingPathComponent("models/student")
        Self.expectRefused(Self.sample(shipped, d) + ["--max-memory", "4M"], in: d, ["needs about", "--max-memory 4M"])
        Self.expectRefused(Self.sample(student, d) + ["--max-memory", "lots"], in: d, ["--max-memory"], code: 64)
        #expect(!FileManager.default.fileExists(atPath: d.path + "/x.mp4"))
    }

    @Test func studentGridAndVideoFieldsAreCheckedNotTrusted() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let (_, student) = try Self.models(d)
        func edit(_ path: [String], _ value: Any) throws -> URL {
            try Self.variant(student, "tdm_video.json", in: d) { o in
                var section = o[path[0]] as! [String: Any]
                section[path[1]] = value
                o[path[0]] = section
            }
        }
        let grid = (try JSONSerialization.jsonObject(with: Data(contentsOf: student.appendingPathComponent("tdm_video.json"))) as! [String: Any])
        let timesteps = (grid["sampling"] as! [String: Any])["timesteps"] as! [Int]
        // 2147483648 was a SIGSEGV; -1 and 100000 were accepted silently.
        for bad in [2_147_483_648, -1, 100_000] {
            let v = try edit(["sampling", "timesteps"], [bad] + timesteps.dropFirst())
            Self.expectRefused(Self.sample(v, d), in: d, [v.path + "/tdm_video.json", "sampling.timesteps", "[0, 999]"])
        }
        let rising = try edit(["sampling", "timesteps"], Array(timesteps.reversed()))
        Self.expectRefused(Self.sample(rising, d), in: d, ["sampling.timesteps", "strictly decreasing"])
        // A negative height was a SIGSEGV; frames 0 blamed "model input".
        let negative = try edit(["video", "height"], -2_147_483_648)
        Self.expectRefused(Self.sample(negative, d), in: d, [negative.path + "/tdm_video.json", "video.height"])
        let noFrames = try edit(["video", "frames"], 0)
        Self.expectRefused(Self.sample(noFrames, d), in: d, [noFrames.path + "/tdm_video.json", "video.frames"])
        // "ddim " named no field; fps 1e308 blamed the output MP4; fps 0 fell back to 8.
        let scheduler = try edit(["sampling", "scheduler"], "ddim ")
        Self.expectRefused(Self.sample(scheduler, d), in: d, [scheduler.path + "/tdm_video.json", "sampling.scheduler", "ddim, dpm"])
        for fps in [1e308, 0.0] {
            let v = try edit(["video", "fps"], fps)
            Self.expectRefused(Self.sample(v, d), in: d, [v.path + "/tdm_video.json", "video.fps", "(0, 1000]"])
        }
        // codec.json: factors bounded before their product is formed.
        let codec = try Self.variant(student, "codec.json", in: d) { $0["spatialFactor"] = 1 << 40 }
        Self.expectRefused(Self.sample(codec, d), in: d, [codec.path + "/codec.json", "spatialFactor", "1...64"])
        #expect(!FileManager.default.fileExists(atPath: d.path + "/x.mp4"))
    }

    @Test func yamlConfigsAreBoundedAndNotParsedTooDeep() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let (teacher, _) = try Self.models(d)
        func write(_ name: String, _ text: String) throws -> String {
            let u = d.appendingPathComponent(name)
            try text.write(to: u, atomically: true, encoding: .utf8)
            return u.path
        }
        let pretrain = { (c: String) in ["pretrain", "--config", c, "--out", d.path + "/o", "--quiet", "--stop-after", "1", "--eval-seeds", "0"] }
        let distill = { (c: String) in ["distill", "--config", c, "--teacher", teacher.path, "--out", d.path + "/o", "--quiet", "--eval-seeds", "0", "--sheet-prompts", "0"] }
        // model.head_dim was a fatal allocation.
        let hd = try write("hd.yaml", "model: {head_dim: 100000000}\n")
        Self.expectRefused(pretrain(hd), in: d, [hd, "model.head_dim", "1...256"])
        // 10,000 levels deep overflowed the stack in both verbs: flow, block sequences, and indentation.
        let deep = [
            try write("flow.yaml", "model: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n"),
            try write("dash.yaml", String(repeating: "- ", count: 10_000) + "a\n"),
            try write("hidden.yaml", "fuzz: [a \"b, " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_001) + "\n"),
            try write("apostrophe.yaml", "fuzz: it 's\nmodel: " + String(repeating: "{a: ", count: 10_000) + String(repeating: "}", count: 10_000) + "\n"),
            try write("indent.yaml", "optim:\n" + (1...1_300).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + "\n"),
        ]
        for f in deep {
            Self.expectRefused(pretrain(f), in: d, [f, "nested more than"])
            Self.expectRefused(distill(f), in: d, [f, "nested more than"])
        }
        let alias = try write("alias.yaml", "a: &x [1, 2]\nb: [*x, *x]\n")
        Self.expectRefused(pretrain(alias), in: d, [alias, "aliases"])
        // Unbounded counts and sizes now have ranges; a run too large for the memory is refused with the figure.
        let steps = try write("steps.yaml", "train: {steps: 1000000000000}\n")
        Self.expectRefused(pretrain(steps), in: d, [steps, "train.steps"])
        let big = try write("big.yaml", "data: {width: 256, height: 256, frames: 128}\ntrain: {batch: 4096}\n")
        Self.expectRefused(pretrain(big), in: d, [big, "needs about", "GiB of memory"])
        let unify = try write("unify.yaml", "tdm: {steps: 3, unify: [1, 2, 4]}\n")
        Self.expectRefused(distill(unify), in: d, [unify, "tdm.steps"])
        // --dry-run checks and estimates without training or writing.
        let r = Self.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/o", "--dry-run"], in: CLI.root)
        #expect(r.status == 0, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: d.path + "/o"))
    }

    @Test func nonRegularInputsAreRefusedNotOpened() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let fifo = d.appendingPathComponent("f.mp4")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        // `score f.mp4` on a FIFO blocked forever.
        Self.expectRefused(["score", fifo.path], in: d, [fifo.path, "FIFO"])
        Self.expectRefused(["score", "/dev/zero"], in: d, ["/dev/zero", "device"])
        Self.expectRefused(["pretrain", "--config", fifo.path, "--out", d.path + "/o"], in: d, [fifo.path, "FIFO"])
        Self.expectRefused(["pretrain", "--config", "/dev/zero", "--out", d.path + "/o"], in: d, ["/dev/zero", "device"])
        let clips = d.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        #expect(try CLI.run(["world", "render", "a red circle moving left", "--out", clips.path + "/a-0.mp4"]).status == 0)
        Self.expectRefused(["score", clips.path, "--suite", fifo.path], in: d, ["--suite", fifo.path, "FIFO"])
        let model = d.appendingPathComponent("m")
        try FileManager.default.copyItem(at: CLI.root.appendingPathComponent("models/student"), to: model)
        try FileManager.default.removeItem(at: model.appendingPathComponent("codec.json"))
        #expect(mkfifo(model.appendingPathComponent("codec.json").path, 0o644) == 0)
        Self.expectRefused(Self.sample(model, d), in: d, [model.path + "/codec.json", "FIFO"])
        // `score ''` printed "Error: : no such file or directory".
        Self.expectRefused(["score", ""], in: d, ["argument 1", "empty"])
    }

    @Test func promptOutputNamesAreMadeSafeAndShortBeforeRendering() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let (_, student) = try Self.models(d)
        // A 344-character prompt failed only at its output name, after rendering.
        let long = String(repeating: "a red circle moving left ", count: 14).prefix(344)
        try (long + "\nup/down: a blue square\n").write(to: d.appendingPathComponent("p.txt"), atomically: true, encoding: .utf8)
        let r = Self.run(["sample", "--model", student.path, "--prompts", d.path + "/p.txt", "--out", d.path + "/c", "--quiet"], in: d)
        #expect(r.status == 0, "\(r)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: d.path + "/c")) ?? []
        #expect(names.count == 2, "\(names)")
        #expect(names.allSatisfy { $0.utf8.count <= 200 && !$0.contains("/") }, "\(names)")
        #expect(names.contains("up down: a blue square-0.mp4"), "\(names)")
        // A prompt the --prompt check refuses is refused in a file too, before any output exists.
        try (String(repeating: "a", count: 2001) + "\n").write(to: d.appendingPathComponent("q.txt"), atomically: true, encoding: .utf8)
        Self.expectRefused(["sample", "--model", student.path, "--prompts", d.path + "/q.txt", "--out", d.path + "/c2"], in: d,
                           [d.path + "/q.txt", "prompt 1", "2001 characters"])
        #expect(!FileManager.default.fileExists(atPath: d.path + "/c2"))
    }
}
