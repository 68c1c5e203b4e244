import Foundation
import Testing
import CFFmpeg
import VideoCommon
@testable import VideoIO

/// FFmpeg is opened with dlopen on first use (`FFmpegLibrary`): every function resolves from the
/// libraries of the headers' major versions, and a missing library or function is a clear error naming
/// it, never a trap.
@Suite("FFmpeg loading") struct LibraryLoadingTests {
    @Test func theInstalledLibrariesProvideEveryFunction() throws {
        #expect(FFmpegLibrary.libraryNames.count == 4)
        #expect(FFmpegLibrary.libraryNames.allSatisfy { $0.hasPrefix("lib") })
        #expect(FFmpegLibrary.functionCount == 50)
        let loaded = FFmpegLibrary.load(FFmpegLibrary.libraryNames)
        guard case .success(let ff) = loaded else {
            Issue.record("FFmpeg did not load: \(loaded)")
            return
        }
        // A call through the table reaches the real library.
        #expect(ff.av_get_pix_fmt_name(AV_PIX_FMT_YUV420P).map { String(cString: $0) } == "yuv420p")
        #expect(FFmpegLibrary.isAvailable)
    }

    @Test func aMissingLibraryIsNamedInAnError() throws {
        var names = FFmpegLibrary.libraryNames
        names[2] = "libtdm-video-no-such-codec.so.59"
        guard case .failure(let failure) = FFmpegLibrary.load(names) else {
            Issue.record("a library that does not exist was loaded")
            return
        }
        #expect(failure.library == "libtdm-video-no-such-codec.so.59")
        #expect(failure.reason.contains("libtdm-video-no-such-codec.so.59"), "dlerror's words: \(failure.reason)")
        let error = FFmpegLibrary.error(failure, path: "/tmp/clip.mp4")
        #expect(error.kind == .libraryUnavailable)
        #expect(error.description.hasPrefix("/tmp/clip.mp4: "))
        #expect(error.description.contains("libtdm-video-no-such-codec.so.59"))
        #expect(error.description.contains("make deps"))
    }

    @Test func aLibraryWithoutTheFunctionsIsNamedInAnError() throws {
        // The C library opens fine but exports none of libavformat's functions: the first one is named.
        var names = FFmpegLibrary.libraryNames
        names[3] = "libc.so.6"
        guard case .failure(let failure) = FFmpegLibrary.load(names) else {
            Issue.record("libc passed for libavformat")
            return
        }
        #expect(failure.library == "libc.so.6")
        #expect(failure.reason == "it has no function av_find_best_stream")
    }

    @Test func concurrentFirstUsesShareOneLoad() throws {
        // Readers and writers started at once on several threads (the preload among them) all succeed.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        FFmpegLibrary.preloadInBackground()
        let clip = TestSupport.movingClip(width: 16, height: 16, frames: 4)
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            do {
                let url = dir.appendingPathComponent("c\(i).mp4")
                try VideoWriter().write(clip, to: url)
                _ = try VideoReader.read(url)
            } catch {
                failures.add()
            }
        }
        #expect(failures.value == 0)
    }
}

private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
