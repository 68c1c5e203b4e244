import Foundation
import Testing

/// `sample` as issue 21 asks for it: no FFmpeg at start-up, and suites rendered in batches whose clips
/// are the clips rendered one at a time.
@Suite("Sampling from the command line", .serialized) struct SamplingCLITests {
    /// FFmpeg is opened on first use (VideoIO's FFmpegLibrary), so the binary must not need it to start:
    /// `ldd` lists no libavcodec, libavformat, libavutil or libswscale.
    @Test func theBinaryDoesNotLinkFFmpeg() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        p.arguments = [CLI.binary.path]
        let o = Pipe()
        p.standardOutput = o
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && text.contains("libc.so"), "ldd \(CLI.binary.path): \(text)")
        for lib in ["libavcodec", "libavformat", "libavutil", "libswscale"] {
            #expect(!text.contains(lib), "\(lib) is linked: \(text)")
        }
        // And the command still writes video.
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("a.mp4").path
        let r = try CLI.run(["sample", "--model", "models/student", "--prompt", "a red circle moving left, plain background",
                             "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: out))
    }
}
