import Foundation

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
