import Foundation
import VideoInference

/// The loop both trainers run (llm.c's main loop, with our reliability rules): a job's iteration does
/// its own forward, backward and update and says whether it applied the update; the loop owns the
/// step counter, the NaN policy (a non-finite loss or gradient skips the update and is counted; too
/// many in a row stop the run and keep the last good checkpoint), the log cadence, the progress line
/// and the checkpoint cadence. Resume is `TrainingLoop.resumable`: the checkpoint, if resuming and one
/// exists, after checking it was written by the same run.
public struct TrainingLoop {
    /// What one iteration did.
    public enum Outcome {
        /// The update was applied: `summary` for the progress line, `record` (called only on a log
        /// step) for the JSONL log.
        case applied(summary: String, record: () -> [String: Any])
        /// A NaN or infinity: no update; `record` holds extra fields for the log's skip line.
        case skipped(record: [String: Any])
    }

    public var label: String
    /// "step" or "iteration": in messages.
    public var unit: String
    public var total: Int
    public var logEvery: Int
    public var checkpointEvery: Int
    public var maxBadSteps: Int
    public var checkpointURL: URL
    /// Steps (iterations) done, and how many of them were skipped.
    public var step: Int
    public var badSteps: Int
    var badInARow = 0

    public init(label: String, unit: String, total: Int, logEvery: Int, checkpointEvery: Int, maxBadSteps: Int,
                checkpointURL: URL, step: Int = 0, badSteps: Int = 0) {
        self.label = label
        self.unit = unit
        self.total = total
        self.logEvery = logEvery
        self.checkpointEvery = checkpointEvery
        self.maxBadSteps = maxBadSteps
        self.checkpointURL = checkpointURL
        self.step = step
        self.badSteps = badSteps
    }

    /// The checkpoint to resume from: nil when not resuming or when there is none yet (a new run). It
    /// must carry `fingerprint` in its state (the same config, and for distillation the same teacher).
    /// Across ranks, rank 0 reads the file and every rank gets its copy.
    public static func resumable(_ url: URL, resume: Bool, fingerprint: String, what: String,
                                 communicator comm: Communicator = .single) throws -> Checkpoint? {
        guard resume else { return nil }
        let ck: Checkpoint
        if comm.size > 1 {
            guard let data = try comm.rootFile(url) else { return nil }
            ck = try Checkpoint.parse(data, url: url)
        } else {
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            ck = try Checkpoint.read(url)
        }
        guard ck.state["config"] == fingerprint else {
            throw CheckpointError(path: url.path, message: "was written by a different \(what); resume needs the same")
        }
        return ck
    }

    /// Creates the output folder.
    public static func makeOutputFolder(_ dir: URL) throws {
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw CheckpointError(path: dir.path, message: "cannot create the output folder (\(error.localizedDescription))")
        }
    }

    /// Runs iterations until `total` (or `stopAfter`). After each applied one, `afterStep` may do more
    /// (an evaluation) and returns whether a checkpoint is due now regardless of the cadence; `save`
    /// writes the checkpoint, with `step` and `badSteps` already advanced.
    public mutating func run(log: TrainingLog, progress: ProgressLine, stopAfter: Int?,
                             iteration: (_ index: Int) throws -> Outcome,
                             afterStep: (_ step: Int) throws -> Bool = { _ in false },
                             save: (_ loop: TrainingLoop) throws -> Void) throws {
        while step < total {
            if let stop = stopAfter, step >= stop { break }
            let outcome = try iteration(step)
            step += 1
            switch outcome {
            case .skipped(let extra):
                badSteps += 1
                badInARow += 1
                log.append(extra.merging(["step": step, "skipped": true]) { _, new in new })
                if badInARow >= maxBadSteps {
                    throw CheckpointError(path: checkpointURL.path, message: "\(badInARow) \(unit)s in a row had a NaN or infinite loss or gradient; stopped (the last good checkpoint is kept)")
                }
            case .applied(let summary, let record):
                badInARow = 0
                if step % logEvery == 0 || step == total {
                    log.append(record().merging(["step": step]) { _, new in new })
                }
                progress.update(step, summary)
                let due = try afterStep(step)
                if step % checkpointEvery == 0 || step == total || due { try save(self) }
            }
        }
    }
}
