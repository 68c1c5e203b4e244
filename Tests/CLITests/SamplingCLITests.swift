import Foundation
import Testing

/// `sample` as issue 21 asks for it: no FFmpeg at start-up, and suites rendered in batches whose clips
/// are the clips rendered one at a time.
@Suite("Sampling from the command line", .serialized) struct SamplingCLITests {
    /// FFmpeg is opened on first use (VideoIO's FFmpegLibrary), so the binary must not need it to start:
    /// `ldd` lists no libavcodec, libavformat, libavutil or libswscale; nor OpenBLAS, which TensorCore
    /// opens on first use too (after `main` asks it for one thread).
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
        for lib in ["libavcodec", "libavformat", "libavutil", "libswscale", "libopenblas"] {
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

    /// `sample --prompts` in batches writes the same files as one clip at a time, byte for byte, and
    /// reports the render time per clip.
    @Test func batchesWriteTheSameClipsAsOneAtATime() throws {
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let prompts = dir.appendingPathComponent("prompts.txt")
        try "a red circle moving left, plain background\na blue square moving up\na green triangle, camera panning right\n"
            .write(to: prompts, atomically: true, encoding: .utf8)
        var listings: [[String: Data]] = []
        for batch in ["1", "4"] {
            let out = dir.appendingPathComponent("b\(batch)")
            let r = try CLI.run(["sample", "--model", "models/student", "--prompts", prompts.path, "--seeds", "3",
                                 "--batch", batch, "--out", out.path, "--quiet"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.contains("wrote 9 clips") && r.out.contains("per clip in batches of \(batch)"), "\(r.out)")
            let names = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".mp4") }
            listings.append(Dictionary(uniqueKeysWithValues: try names.map { ($0, try Data(contentsOf: out.appendingPathComponent($0))) }))
        }
        #expect(listings[0].count == 9)
        #expect(listings[0] == listings[1], "batch 4 wrote other clips than batch 1")
        let bad = try CLI.run(["sample", "--model", "models/student", "--prompts", prompts.path, "--batch", "0", "--out", dir.path])
        #expect(bad.status == 64 && bad.err.contains("--batch"), "\(bad.err)")
    }
}
