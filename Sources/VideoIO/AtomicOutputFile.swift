import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file that appears at its final path only once it is complete: writers fill a hidden temporary file
/// in the same directory (so the final `rename(2)` is atomic, on the same file system) and either
/// commit it or delete it. A crash leaves at most a hidden `.name.partial-UUID` file, never a
/// truncated file under the real name.
struct AtomicOutputFile {
    let finalURL: URL
    let temporaryPath: String

    /// Checks that the output can live at `url` (its directory exists and the path is not a directory).
    init(_ url: URL) throws {
        let path = url.path
        finalURL = url
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw VideoIOError(.unwritableOutput, path: path, reason: "the output path is a directory")
        }
        let directory = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            throw VideoIOError(.unwritableOutput, path: path,
                               reason: "the output directory \(directory.path) does not exist")
        }
        if !isDirectory.boolValue {
            throw VideoIOError(.unwritableOutput, path: path,
                               reason: "the output's parent \(directory.path) is not a directory")
        }
        let name = url.lastPathComponent
        temporaryPath = directory.appendingPathComponent(".\(name).partial-\(UUID().uuidString)").path
    }

    /// Moves the finished temporary file to the final name, replacing any old file there.
    func commit() throws {
        if rename(temporaryPath, finalURL.path) != 0 {
            let message = String(cString: strerror(errno))
            discard()
            throw VideoIOError(.unwritableOutput, path: finalURL.path,
                               reason: "could not move the finished file into place", ffmpegMessage: nil)
                .withSystemMessage(message)
        }
    }

    /// Removes the temporary file if it exists. Never throws: it runs on failure paths.
    func discard() {
        unlink(temporaryPath)
    }

    /// Writes `bytes` to the temporary file, then commits it.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let message = String(cString: strerror(errno))
            throw VideoIOError(.unwritableOutput, path: finalURL.path, reason: "cannot create the file")
                .withSystemMessage(message)
        }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                close(fd)
                discard()
                throw VideoIOError(.unwritableOutput, path: finalURL.path, reason: "writing failed")
                    .withSystemMessage(message)
            }
            offset += written
        }
        if close(fd) != 0 {
            let message = String(cString: strerror(errno))
            discard()
            throw VideoIOError(.unwritableOutput, path: finalURL.path, reason: "closing the file failed")
                .withSystemMessage(message)
        }
        try commit()
    }
}

extension VideoIOError {
    /// The same error with the operating system's message in place of FFmpeg's.
    func withSystemMessage(_ message: String) -> VideoIOError {
        VideoIOError(kind, path: path, reason: "\(reason): \(message)", ffmpegMessage: ffmpegMessage)
    }
}
