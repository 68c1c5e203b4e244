import Foundation
import Testing

/// A seeded fuzz campaign against the command line: generated inputs of five kinds (clips for `score`,
/// model folders for `sample` — each JSON file and the weights —, YAML configs for `pretrain`/`distill`,
/// prompts, prompt suites), each run through the release binary of the configuration under test, as a
/// user would. Every run ends in one outcome:
/// - `ok`: exit 0; `error`: exit 1 or 64 with a message on stderr that names the input (its path, or for a
///   prompt given on the command line the option or the prompt itself, as ArgumentParser quotes a prompt
///   that looks like an option: "Invalid option: ---out...");
/// - `crash`: a signal or any other exit code; `hang`: still running at the timeout (then killed);
/// - `unclear`: exit 1/64 without naming the input; `partial`: a failed run that left an output (or any
///   run that left a temporary file) behind.
/// Case `i` of seed `s` is drawn from its own generator, so any case can be replayed alone
/// (`FUZZ_ONLY=i`). `make test` runs a bounded campaign; `make fuzz` a long one (COUNT, SEED).
enum Fuzz {
    enum Kind: String, CaseIterable, Sendable { case clip, model, config, prompt, suite }
    enum Outcome: String, CaseIterable, Sendable { case ok, error, crash, hang, unclear, partial }

    /// A small seeded generator (SplitMix64), independent of the package's own RNG.
    struct Gen {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
        mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
        mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    }

    /// What every case reuses: a tiny teacher and student, clips, suites and configs.
    struct Fixtures: Sendable {
        var root: URL
        var teacher: String, student: String
        var clips: [URL]
        var clipDir: String
        var suite: Data
        var configs: [(text: String, verb: String)]
    }

    static func run(_ args: [String], cwd: URL, timeout: Double) -> (status: Int32, signaled: Bool, hung: Bool, err: String) {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = args
        p.currentDirectoryURL = cwd
        p.environment = ProcessInfo.processInfo.environment.merging(["TDM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"]) { $1 }
        let errURL = cwd.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try? FileHandle(forWritingTo: errURL)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errHandle ?? FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch { return (-1, false, false, "could not start: \(error)") }
        var hung = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            hung = true
            kill(p.processIdentifier, SIGKILL)
            done.wait()
        }
        try? errHandle?.close()
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: errURL)
        return (p.terminationStatus, p.terminationReason == .uncaughtSignal, hung, err)
    }

    /// Builds the fixtures once (a tiny teacher and student: seconds).
    static func fixtures(in root: URL) throws -> Fixtures {
        let fm = FileManager.default
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        var r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", root.path + "/t", "--quiet", "--eval-seeds", "0"])
        guard r.status == 0 else { throw FuzzSetupError("pretrain: \(r.err)") }
        r = try CLI.run(["distill", "--config", "configs/tiny_distill.yaml", "--teacher", root.path + "/t/model", "--out", root.path + "/s",
                         "--quiet", "--eval-seeds", "0", "--sheet-prompts", "0"])
        guard r.status == 0 else { throw FuzzSetupError("distill: \(r.err)") }
        let suiteData = try Data(contentsOf: CLI.root.appendingPathComponent("configs/suites/quick_full_info.json"))
        let entries = try JSONSerialization.jsonObject(with: suiteData) as! [[String: Any]]
        let small = try JSONSerialization.data(withJSONObject: Array(entries.prefix(3)), options: [.prettyPrinted, .sortedKeys])
        let clipDir = root.appendingPathComponent("clips")
        try fm.createDirectory(at: clipDir, withIntermediateDirectories: true)
        var clips: [URL] = []
        for (i, e) in entries.prefix(2).enumerated() {
            let prompt = e["prompt_en"] as! String
            for ext in i == 0 ? ["mp4", "gif"] : ["mp4"] {
                let u = clipDir.appendingPathComponent("\(prompt)-0.\(ext)")
                r = try CLI.run(["world", "render", prompt, "--out", u.path])
                guard r.status == 0 else { throw FuzzSetupError("world render: \(r.err)") }
                clips.append(u)
            }
        }
        var configs: [(String, String)] = []
        for f in ["tiny_pretrain.yaml", "pretrain.yaml"] { configs.append((try String(contentsOf: CLI.root.appendingPathComponent("configs/" + f), encoding: .utf8), "pretrain")) }
        for f in ["tiny_distill.yaml", "distill.yaml", "distill_unify.yaml"] { configs.append((try String(contentsOf: CLI.root.appendingPathComponent("configs/" + f), encoding: .utf8), "distill")) }
        return Fixtures(root: root, teacher: root.path + "/t/model", student: root.path + "/s/student", clips: clips,
                        clipDir: clipDir.path, suite: small, configs: configs)
    }

    // MARK: - Mutations

    static let interestingNumbers: [String] = [
        "0", "-1", "1", "2", "3", "7", "16", "255", "256", "1023", "1024", "4096", "32000", "65535", "2147483647", "2147483648",
        "-2147483648", "4294967296", "9007199254740993", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
        "3000000000.0", "1e308", "-1e308", "1e-308", "1e400", "0.5", "-0.5", "1.5", "-0.0", "NaN", "Infinity", "-Infinity",
        ".nan", ".inf", "0x10", "1_000", "99999999999999999999999",
    ]
    static let interestingTokens: [String] = [
        "\"\"", "\"ddim \"", "\"DDIM\"", "null", "true", "false", "[]", "{}", "[1, 2, 3]", "[999, 999]", "[0, 999]", "[-1]",
        "\"\(String(repeating: "x", count: 300))\"", "\"../../etc/passwd\"", "\"a/b\"", "[[[[[[[[1]]]]]]]]",
    ]

    /// A JSON document with 1-3 structural mutations (a leaf set to an interesting value, a key removed or
    /// added, a container replaced), or its text mutated byte-wise.
    static func mutateJSON(_ data: Data, _ g: inout Gen) -> Data {
        if g.chance(0.25) { return mutateBytes(data, &g) }
        guard let root = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return mutateBytes(data, &g) }
        var text = String(decoding: (try? JSONSerialization.data(withJSONObject: mutateValue(root, &g, depth: 0), options: [.fragmentsAllowed, .sortedKeys])) ?? data, as: UTF8.self)
        // Values JSONSerialization cannot write go in as text, at a placeholder.
        while let r = text.range(of: "\"@@RAW@@\"") { text.replaceSubrange(r, with: g.pick(interestingNumbers + interestingTokens)) }
        return Data(text.utf8)
    }

    static func mutateValue(_ v: Any, _ g: inout Gen, depth: Int) -> Any {
        func leaf(_ old: Any) -> Any {
            switch g.int(5) {
            case 0: return "@@RAW@@"
            case 1: if let n = old as? NSNumber { return n.doubleValue * Double(g.pick([-1, 2, 10, 1000, 1e6, 0.5])) } else { return "@@RAW@@" }
            case 2: if let n = old as? NSNumber, let i = Int(exactly: n.doubleValue) { return i + g.pick([-1, 1, -2, 2]) } else { return "@@RAW@@" }
            case 3: return g.pick([[String: Any](), [Any](), NSNull(), "x", 0, -1] as [Any])
            default: return "@@RAW@@"
            }
        }
        if var d = v as? [String: Any], !d.isEmpty {
            var mutations = 1 + g.int(depth == 0 ? 3 : 1)
            while mutations > 0 {
                mutations -= 1
                let keys = d.keys.sorted()
                let k = g.pick(keys)
                switch g.int(10) {
                case 0: d.removeValue(forKey: k)
                case 1: d["fuzz_\(g.int(100))"] = 1
                default: d[k] = (d[k] is [String: Any] || d[k] is [Any]) && g.chance(0.8) ? mutateValue(d[k]!, &g, depth: depth + 1) : leaf(d[k]!)
                }
            }
            return d
        }
        if var a = v as? [Any], !a.isEmpty {
            switch g.int(8) {
            case 0: a.removeLast(g.int(a.count) + 1)
            case 1: a.append(a[g.int(a.count)])
            case 2: a.swapAt(g.int(a.count), g.int(a.count))
            default:
                let i = g.int(a.count)
                a[i] = (a[i] is [String: Any] || a[i] is [Any]) && g.chance(0.8) ? mutateValue(a[i], &g, depth: depth + 1) : leaf(a[i])
            }
            return a
        }
        return leaf(v)
    }

    /// Byte-level damage: flips, truncation, insertion, duplication, zeroed spans.
    static func mutateBytes(_ data: Data, _ g: inout Gen) -> Data {
        var b = [UInt8](data)
        for _ in 0..<(1 + g.int(4)) {
            let n = b.count
            switch g.int(8) {
            case 0, 1: if n > 0 { let i = g.int(n); b[i] ^= UInt8(1 << g.int(8)) }
            case 2: if n > 0 { b[g.int(n)] = UInt8(truncatingIfNeeded: g.next()) }
            case 3: b = Array(b.prefix(g.int(n + 1)))
            case 4: b.insert(contentsOf: (0..<(1 + g.int(64))).map { _ in UInt8(truncatingIfNeeded: g.next()) }, at: g.int(n + 1))
            case 5: if n > 1 { let i = g.int(n), len = min(n - i, 1 + g.int(256)); b.insert(contentsOf: b[i..<(i + len)], at: g.int(n + 1)) }
            case 6: if n > 1 { let i = g.int(n), len = min(n - i, 1 + g.int(512)); for j in i..<(i + len) { b[j] = 0 } }
            default: if n > 8 { let i = g.int(n - 8); for j in i..<(i + 8) { b[j] = 0xFF } }
            }
        }
        return Data(b)
    }

    /// YAML damage that stays YAML-shaped: a value replaced, a line dropped or repeated, an unknown or
    /// deeply nested field, anchors, tabs; or bytes.
    static func mutateYAML(_ text: String, _ g: inout Gen) -> String {
        if g.chance(0.15) { return String(decoding: mutateBytes(Data(text.utf8), &g), as: UTF8.self) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + g.int(3)) {
            guard !lines.isEmpty else { break }
            let i = g.int(lines.count)
            switch g.int(12) {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines.insert(g.pick(["fuzz: 1", "train: {stepz: 3}", "model: {}", "tdm: []", "optim: 7", "---", "- a", "? x"]), at: i)
            case 3:
                let n = g.pick([20, 200, 5000])
                lines.insert(g.chance(0.5) ? "model: " + String(repeating: "[", count: n) + String(repeating: "]", count: n)
                                            : "model:\n" + (1...min(n, 600)).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n"), at: i)
            case 4: lines.insert("a: &x [1, 2]\nb: *x", at: i)
            case 5: lines[i] = "\t" + lines[i]
            default:
                // Replace one value of a `key: value` (block or flow) with an interesting token.
                let line = lines[i]
                let colons = line.indices.filter { line[$0] == ":" }
                guard let c = colons.isEmpty ? nil : g.pick(colons) else { continue }
                let after = line.index(after: c)
                let end = line[after...].firstIndex(where: { $0 == "," || $0 == "}" }) ?? line.endIndex
                lines[i] = String(line[..<after]) + " " + g.pick(interestingNumbers + interestingTokens) + String(line[end...])
            }
        }
        return lines.joined(separator: "\n")
    }

    static let promptAtoms = ["a", "red", "circle", "moving", "left", "blue", "square", "and", ",", "plain", "background", "camera",
                              "/", "..", ".", "\\", "\t", "\n", "\u{7}", "\u{202E}", "é", "日本", "🎥", "\u{FEFF}", "-", "--out", "%s", "'", "\"",
                              "$(rm)", "*", "?", "crimson", "   "]

    static func prompt(_ g: inout Gen) -> String {
        switch g.int(10) {
        case 0: return String(repeating: g.pick(["a ", "red circle ", "é", "🎥", "/"]), count: g.pick([100, 200, 344, 700, 2500]))
        case 1: return g.pick(["", " ", "\n", ".", "..", "-0", "a red circle moving left, plain background"])
        default: return (0..<(1 + g.int(12))).map { _ in g.pick(promptAtoms) }.joined(separator: g.chance(0.7) ? " " : "")
        }
    }

    // MARK: - Cases

    struct Case {
        var args: [String]
        /// Text the error must contain to name its input.
        var needles: [String]
        /// Paths that must not exist after a failed run.
        var outputs: [String]
    }

    /// Writes case `index`'s input into `dir` and says how to run it.
    static func make(_ kind: Kind, _ g: inout Gen, in dir: URL, _ fx: Fixtures) throws -> Case {
        let fm = FileManager.default
        let out = dir.appendingPathComponent("out")
        // The output folder exists (a config's run folder is made by the run itself, so not for configs).
        if kind != .config { try fm.createDirectory(at: out, withIntermediateDirectories: true) }
        func special(_ url: URL) throws -> Bool {
            // Rarely: the input is not a regular file at all.
            guard g.chance(0.02) else { return false }
            switch g.int(3) {
            case 0: _ = mkfifo(url.path, 0o644)
            case 1: try fm.createDirectory(at: url, withIntermediateDirectories: true)
            default: try fm.createSymbolicLink(atPath: url.path, withDestinationPath: "/dev/zero")
            }
            return true
        }
        switch kind {
        case .clip:
            let base = g.pick(fx.clips)
            let u = dir.appendingPathComponent("clip-0." + (g.chance(0.1) ? g.pick(["mp4", "gif", "png", "webm"]) : base.pathExtension))
            if try !special(u) { try mutateBytes(try Data(contentsOf: base), &g).write(to: u) }
            return Case(args: ["score", u.path, "--out", out.path + "/r.json", "--quiet"], needles: [u.path], outputs: [out.path + "/r.json"])
        case .model:
            let m = dir.appendingPathComponent("model")
            try fm.copyItem(atPath: g.chance(0.6) ? fx.student : fx.teacher, toPath: m.path)
            let files = ["config.json", "tdm_video.json", "codec.json", "diffusion_pytorch_model.safetensors"]
            let f = m.appendingPathComponent(g.pick(files + ["tdm_video.json", "config.json"]))
            if g.chance(0.03) {
                try fm.removeItem(at: f)
                _ = try special(f) || g.chance(0.5)
            } else if f.lastPathComponent.hasSuffix(".json") {
                try mutateJSON(try Data(contentsOf: f), &g).write(to: f)
            } else {
                // Weights: the JSON header mutated structurally, or the bytes.
                var w = try Data(contentsOf: f)
                let n = Int(w.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
                if g.chance(0.5), n > 0, n + 8 <= w.count {
                    let header = mutateJSON(w.subdata(in: 8..<(8 + n)), &g)
                    var len = UInt64(header.count).littleEndian
                    w = Data(bytes: &len, count: 8) + header + w.subdata(in: (8 + n)..<w.count)
                } else {
                    w = mutateBytes(w, &g)
                }
                try w.write(to: f)
            }
            var args = ["sample", "--model", m.path, "--prompt", "a red circle moving left", "--out", out.path + "/x.mp4", "--quiet"]
            if g.chance(0.1) { args += ["--steps", String(1 + g.int(8))] }
            return Case(args: args, needles: [m.path], outputs: [out.path + "/x.mp4"])
        case .config:
            let (text, verb) = g.pick(fx.configs)
            let u = dir.appendingPathComponent("config.yaml")
            if try !special(u) { try mutateYAML(text, &g).write(to: u, atomically: false, encoding: .utf8) }
            let args = verb == "pretrain"
                ? ["pretrain", "--config", u.path, "--out", out.path, "--dry-run"]
                : ["distill", "--config", u.path, "--teacher", fx.teacher, "--out", out.path, "--dry-run"]
            return Case(args: args, needles: [u.path], outputs: [out.path])
        case .prompt:
            var p = prompt(&g)
            switch g.int(3) {
            case 0:
                p = p.replacingOccurrences(of: "\0", with: "")
                return Case(args: ["sample", "--model", fx.student, "--prompt", p, "--out", out.path + "/x.mp4", "--quiet"],
                            needles: ["--prompt"] + (p.isEmpty ? [] : [p]), outputs: [out.path + "/x.mp4"])
            case 1:
                p = p.replacingOccurrences(of: "\0", with: "")
                return Case(args: ["world", "render", p, "--out", out.path + "/w.mp4"], needles: ["prompt"] + (p.isEmpty ? [] : [p]),
                            outputs: [out.path + "/w.mp4"])
            default:
                let u = dir.appendingPathComponent("prompts.txt")
                var data = Data((0..<(1 + g.int(3))).map { _ in prompt(&g) }.joined(separator: "\n").utf8)
                if g.chance(0.2) { data = mutateBytes(data, &g) }
                if try !special(u) { try data.write(to: u) }
                return Case(args: ["sample", "--model", fx.student, "--prompts", u.path, "--out", out.path + "/clips", "--quiet"],
                            needles: [u.path], outputs: [out.path + "/clips"])
            }
        case .suite:
            let u = dir.appendingPathComponent("suite.json")
            if try !special(u) { try mutateJSON(fx.suite, &g).write(to: u) }
            if g.chance(0.5) {
                return Case(args: ["score", fx.clipDir, "--suite", u.path, "--out", out.path + "/r.json", "--quiet"],
                            needles: [u.path], outputs: [out.path + "/r.json"])
            }
            return Case(args: ["sample", "--model", fx.student, "--prompts", u.path, "--out", out.path + "/clips", "--quiet"],
                        needles: [u.path], outputs: [out.path + "/clips"])
        }
    }

    struct Finding: Sendable { var index: Int; var kind: Kind; var outcome: Outcome; var args: [String]; var err: String }

    struct Report: Sendable {
        var counts: [Kind: [Outcome: Int]] = [:]
        var findings: [Finding] = []
        var seconds = 0.0
        var cases: Int { counts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
        func count(_ o: Outcome) -> Int { counts.values.reduce(0) { $0 + ($1[o] ?? 0) } }
        var bad: Int { count(.crash) + count(.hang) + count(.unclear) + count(.partial) }

        /// The table for docs/results.md: counts per input kind and outcome.
        var table: String {
            var s = "| input kind | " + Outcome.allCases.map(\.rawValue).joined(separator: " | ") + " | total |\n"
            s += "|---|" + String(repeating: "---:|", count: Outcome.allCases.count + 1) + "\n"
            for k in Kind.allCases {
                let row = counts[k] ?? [:]
                s += "| \(k.rawValue) | " + Outcome.allCases.map { String(row[$0] ?? 0) }.joined(separator: " | ") + " | \(row.values.reduce(0, +)) |\n"
            }
            s += "| all | " + Outcome.allCases.map { String(count($0)) }.joined(separator: " | ") + " | \(cases) |\n"
            return s
        }
    }

    /// Runs cases from..<count of `seed` (kinds in turn) on `parallel` workers, stopping early (between
    /// cases) once `budget` seconds have passed. Case i depends only on (seed, i), so a long campaign can
    /// be run in ranges (`from`) whose tables add up to the whole one.
    static func campaign(count: Int, seed: UInt64, parallel: Int, timeout: Double, budget: Double, from: Int = 0, only: Int? = nil,
                         progressFile: URL? = nil, keepFindings: URL? = nil) throws -> Report {
        let work = CLI.temp()
        defer { try? FileManager.default.removeItem(at: work) }
        let fx = try fixtures(in: work.appendingPathComponent("fixtures"))
        let start = Date()
        let lock = NSLock()
        nonisolated(unsafe) var report = Report()
        nonisolated(unsafe) var next = only ?? from
        let end = only.map { $0 + 1 } ?? count
        DispatchQueue.concurrentPerform(iterations: max(1, parallel)) { worker in
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                if i >= end || Date().timeIntervalSince(start) > budget { return }
                let kind = Kind.allCases[i % Kind.allCases.count]
                var g = Gen(seed &* 0x100_0000_01B3 &+ UInt64(i))
                let dir = work.appendingPathComponent("w\(worker)-\(i)")
                try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                var outcome = Outcome.error
                var args: [String] = [], err = ""
                do {
                    let c = try make(kind, &g, in: dir, fx)
                    args = c.args
                    let r = run(c.args, cwd: dir, timeout: timeout)
                    err = r.err
                    let leftovers = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
                        .filter { $0.hasPrefix("out/") && ($0.split(separator: "/").last?.hasPrefix(".") ?? false) }
                    if r.hung { outcome = .hang }
                    else if r.signaled || ![0, 1, 3, 64].contains(r.status) { outcome = .crash }
                    else if !leftovers.isEmpty { outcome = .partial }
                    else if r.status == 0 { outcome = .ok }
                    else if c.outputs.contains(where: { FileManager.default.fileExists(atPath: $0) }) { outcome = .partial }
                    else if r.err.isEmpty || !c.needles.contains(where: { r.err.contains($0) }) { outcome = .unclear }
                    else { outcome = .error }
                } catch {
                    outcome = .crash
                    err = "the harness failed to make the case: \(error)"
                }
                if outcome != .ok && outcome != .error, let keep = keepFindings {
                    try? FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
                    try? FileManager.default.moveItem(at: dir, to: keep.appendingPathComponent("case-\(i)"))
                }
                try? FileManager.default.removeItem(at: dir)
                lock.lock()
                report.counts[kind, default: [:]][outcome, default: 0] += 1
                if outcome != .ok && outcome != .error && report.findings.count < 50 {
                    report.findings.append(Finding(index: i, kind: kind, outcome: outcome, args: args, err: String(err.prefix(500))))
                }
                let done = report.cases
                if let progressFile, done % 500 == 0 {
                    report.seconds = Date().timeIntervalSince(start)
                    try? Data("\(done) cases, \(Int(report.seconds)) s, \(report.bad) findings\n\(report.table)".utf8).write(to: progressFile)
                }
                lock.unlock()
            }
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }
}

struct FuzzSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

@Suite("Fuzzing", .serialized) struct FuzzTests {
    /// The bounded campaign of `make test`: a fixed seed, every input kind, at most about 100 s of cases.
    @Test func boundedCampaignFindsNoCrashHangUnclearErrorOrPartialOutput() throws {
        let r = try Fuzz.campaign(count: 250, seed: 24, parallel: 2, timeout: 60, budget: 90)
        let summary = "\(r.cases) cases in \(Int(r.seconds)) s\n\(r.table)" + r.findings.prefix(10)
            .map { "case \($0.index) \($0.kind.rawValue) \($0.outcome.rawValue): \($0.args.joined(separator: " "))\n  \($0.err)" }.joined(separator: "\n")
        print(summary)
        #expect(r.bad == 0, "\(summary)")
        for k in Fuzz.Kind.allCases { #expect((r.counts[k]?.values.reduce(0, +) ?? 0) >= 5, "too few \(k.rawValue) cases ran: \(summary)") }
        #expect(r.count(.ok) > 0 && r.count(.error) > 0, "the generator makes both valid and invalid inputs: \(summary)")
    }

    /// `make fuzz COUNT=... SEED=... [FROM=...]`: the long campaign, cases FROM..<COUNT (skipped unless
    /// FUZZ_COUNT is set; a campaign too long for one sitting runs as consecutive ranges). Writes the table
    /// to FUZZ_REPORT (and progress every 500 cases to FUZZ_REPORT.progress); failing inputs are kept in
    /// FUZZ_KEEP for replay with FUZZ_ONLY=<case>.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FUZZ_COUNT"] != nil, "set FUZZ_COUNT (make fuzz)"))
    func longCampaign() throws {
        let env = ProcessInfo.processInfo.environment
        let count = Int(env["FUZZ_COUNT"] ?? "") ?? 100_000
        let from = Int(env["FUZZ_FROM"] ?? "") ?? 0
        let seed = UInt64(env["FUZZ_SEED"] ?? "") ?? 1
        let parallel = Int(env["FUZZ_PARALLEL"] ?? "") ?? 2
        let timeout = Double(env["FUZZ_TIMEOUT"] ?? "") ?? 60
        let reportURL = env["FUZZ_REPORT"].map { URL(fileURLWithPath: $0) }
        let r = try Fuzz.campaign(count: count, seed: seed, parallel: parallel, timeout: timeout, budget: .infinity,
                                  from: from, only: env["FUZZ_ONLY"].flatMap { Int($0) },
                                  progressFile: reportURL.map { URL(fileURLWithPath: $0.path + ".progress") },
                                  keepFindings: env["FUZZ_KEEP"].map { URL(fileURLWithPath: $0) })
        let text = "seed \(seed), cases \(from)..<\(count): \(r.cases) run, parallel \(parallel), timeout \(Int(timeout)) s, \(Int(r.seconds)) s\n\n\(r.table)\n"
            + r.findings.map { "- case \($0.index) (\($0.kind.rawValue), \($0.outcome.rawValue)): `\($0.args.joined(separator: " "))`: \($0.err)" }.joined(separator: "\n")
        if let reportURL { try Data(text.utf8).write(to: reportURL) }
        print(text)
        #expect(r.bad == 0, "\(text)")
    }
}
