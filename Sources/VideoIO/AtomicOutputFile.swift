import AtomicFiles
import Foundation

/// VideoIO's view of the package's one atomic writer (`AtomicFile`): FFmpeg's muxers fill the pending
/// temporary file by path, then it is committed or discarded; failures become `VideoIOError`s.
struct AtomicOutputFile {
    let pending: AtomicFile.Pending
    var finalURL: URL { pending.finalURL }
    var temporaryPath: String { pending.temporaryPath }

    /// Checks that the output can live at `url` (its directory exists and the path is not a directory).
    init(_ url: URL) throws {
        do { pending = try AtomicFile.Pending(url) } catch {
            throw VideoIOError(.unwritableOutput, path: url.path, reason: error.reason)
        }
    }

    /// Moves the finished temporary file to the final name, replacing any old file there.
    func commit() throws {
        do { try pending.commit() } catch {
            throw VideoIOError(.unwritableOutput, path: finalURL.path, reason: error.reason)
        }
    }

    /// Removes the temporary file if it exists. Never throws: it runs on failure paths.
    func discard() { pending.discard() }

    /// Writes `bytes` to the final path atomically.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do { try AtomicFile.write(to: finalURL) { try $0(bytes) } } catch let e as AtomicFileError {
            throw VideoIOError(.unwritableOutput, path: finalURL.path, reason: e.reason)
        }
    }
}
