import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An atomic write that failed: the file it was for and what went wrong. The target is left as it was
/// and no temporary file remains.
public struct AtomicFileError: Error, CustomStringConvertible, Equatable {
    /// The file that was to be written.
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// The one way this package writes a file that matters (checkpoint, model, report, suite, video,
/// picture): the bytes go to a hidden temporary file in the target's own folder (so that `rename(2)`
/// stays on one file system and is atomic), which is flushed and then renamed over the target. On any
/// failure the temporary file is removed: a file is either complete under its name or absent.
public enum AtomicFile {
    /// A temporary file waiting to become `finalURL`: for writers that cannot hand over bytes (FFmpeg's
    /// muxers open a path themselves). Fill `temporaryPath`, then `commit()`, or `discard()` on failure.
    public struct Pending: Sendable {
        public let finalURL: URL
        public let temporaryPath: String

        /// Checks that a file can live at `url` (its folder exists, the path is not a folder) and names
        /// the temporary file beside it. Nothing is created yet.
        public init(_ url: URL) throws(AtomicFileError) {
            let path = url.path
            guard !path.isEmpty, !url.lastPathComponent.isEmpty, url.lastPathComponent != "/" else {
                throw AtomicFileError(path: path, reason: "the output path is empty")
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw AtomicFileError(path: path, reason: "the output path is a directory")
            }
            let directory = url.deletingLastPathComponent()
            if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
                throw AtomicFileError(path: path, reason: "the output directory \(directory.path) does not exist")
            }
            guard isDirectory.boolValue else {
                throw AtomicFileError(path: path, reason: "the output's parent \(directory.path) is not a directory")
            }
            finalURL = url
            temporaryPath = directory.appendingPathComponent(
                ".\(url.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        }

        /// Moves the finished temporary file to the final name, replacing any old file there.
        public func commit() throws(AtomicFileError) {
            if rename(temporaryPath, finalURL.path) != 0 {
                let message = String(cString: strerror(errno))
                discard()
                throw AtomicFileError(path: finalURL.path, reason: "cannot move the finished file into place: \(message)")
            }
        }

        /// Removes the temporary file if it exists. Never throws: it runs on failure paths.
        public func discard() { unlink(temporaryPath) }
    }

    /// Streams content into the file: `produce` calls the sink as often as it likes; the file is
    /// flushed to disk and renamed into place when `produce` returns. An error thrown by `produce` is
    /// rethrown as it is (after cleaning up); I/O failures throw `AtomicFileError`.
    public static func write(to url: URL, _ produce: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let pending = try Pending(url)
        let temporary = pending.temporaryPath
        func failure(_ what: String, code: Int32 = errno) -> AtomicFileError {
            AtomicFileError(path: url.path, reason: "\(what): \(String(cString: strerror(code)))")
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("cannot create the temporary file \(temporary)") }
        var isOpen = true
        do {
            try produce { buffer in
                guard var next = buffer.baseAddress else { return }
                var remaining = buffer.count
                while remaining > 0 {
                    let written = systemWrite(descriptor, next, min(remaining, 1 << 30))
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("cannot write")
                    }
                    remaining -= written
                    next += written
                }
            }
            guard fsync(descriptor) == 0 else { throw failure("cannot flush") }
            isOpen = false
            guard close(descriptor) == 0 else { throw failure("cannot close") }
            try pending.commit()
        } catch {
            if isOpen { close(descriptor) }
            pending.discard()
            throw error
        }
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to url: URL) throws(AtomicFileError) {
        do {
            try write(to: url) { sink in try data.withUnsafeBytes { try sink($0) } }
        } catch let e as AtomicFileError {
            throw e
        } catch {
            throw AtomicFileError(path: url.path, reason: "\(error)")
        }
    }
}

/// `write(2)`, named apart from the `write` methods.
@inline(__always)
func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, buffer, count)
    #else
    return Darwin.write(descriptor, buffer, count)
    #endif
}
