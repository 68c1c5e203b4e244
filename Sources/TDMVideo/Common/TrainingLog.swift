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

    /// A log that writes nothing: the ranks other than 0 of a data-parallel run.
    public init(discarding url: URL) {
        self.url = url
        handle = nil
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
