import Dispatch
import Foundation
import VideoCommon
import VideoIO

/// Writes the MP4s of `sample --prompts` on one background thread, in order, while the next batch
/// renders: encoding (~1-4 ms a clip) then fills the moments the sampler leaves a core idle (its serial
/// scheduler steps and text encoding) instead of adding to the wall clock. At most `maxPending` batches
/// wait, so memory stays bounded. The first failure stops further writes and is thrown by the next
/// `write` or by `finish`.
final class BackgroundClipWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "tdm-video.clip-writer")
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var failure: Error?

    init(maxPending: Int = 2) { slots = DispatchSemaphore(value: max(1, maxPending)) }

    /// Queues `files` (clip, destination) for writing; throws an earlier write's error.
    func write(_ files: [(RGBVideo, URL)]) throws {
        try check()
        slots.wait()
        queue.async {
            defer { self.slots.signal() }
            for (clip, url) in files {
                guard self.currentFailure == nil else { return }
                do { try VideoWriter().write(clip, to: url) } catch {
                    self.lock.lock()
                    if self.failure == nil { self.failure = error }
                    self.lock.unlock()
                }
            }
        }
    }

    /// Waits for every queued write; throws the first error.
    func finish() throws {
        queue.sync {}
        try check()
    }

    private var currentFailure: Error? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    private func check() throws {
        if let failure = currentFailure { throw failure }
    }
}
