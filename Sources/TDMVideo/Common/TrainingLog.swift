import Foundation

/// A JSONL training log (one JSON object per line) that a resumed run continues: on resume the lines
/// past the checkpoint's step are dropped, so the log always describes the run that produced the model.
public final class TrainingLog {
    public let url: URL
    private var handle: FileHandle?

    public init(url: URL, resumeAtStep: Int?) throws {
        self.url = url
        let fm = FileManager.default
        if let step = resumeAtStep, let text = try? String(contentsOf: url, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let d = line.data(using: .utf8),
                      let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
                      let s = o["step"] as? Int else { return false }
                return s <= step
            }
            try (kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).write(to: url, atomically: true, encoding: .utf8)
        } else {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw CheckpointError(path: url.path, message: "cannot create the training log")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        handle?.seekToEndOfFile()
    }

    public func append(_ record: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        handle?.write(data + Data("\n".utf8))
    }

    /// Every record in a log file.
    public static func read(_ url: URL) -> [[String: Any]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { l in
            l.data(using: .utf8).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
    }

    deinit { try? handle?.close() }
}

/// A one-line progress display for long jobs (step, rate, ETA and job-specific fields), redrawn in
/// place on a terminal and printed every `every` seconds otherwise. Silent when `quiet`.
public final class ProgressLine {
    let total: Int
    let label: String
    let quiet: Bool
    let start = Date()
    var lastPrint = Date.distantPast
    let isTTY = isatty(STDERR_FILENO) != 0
    var startStep: Int

    public init(label: String, total: Int, startStep: Int = 0, quiet: Bool = false) {
        self.label = label
        self.total = total
        self.quiet = quiet
        self.startStep = startStep
    }

    public func update(_ step: Int, _ fields: String = "", force: Bool = false) {
        guard !quiet else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastPrint) >= (isTTY ? 0.25 : 10) else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let done = max(0, step - startStep)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - step) / rate : 0
        let line = "\(label) \(step)/\(total) \(fields) \(String(format: "%.2f", rate)) it/s ETA \(Self.duration(eta))"
        let out = isTTY ? "\r\u{1B}[K" + line : line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }

    public func finish() {
        guard !quiet else { return }
        if isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    public static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" : t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}
