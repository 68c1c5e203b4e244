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

    /// A single clip written as MP4 needs libx264, libavutil and libswscale only (VideoWriter's H.264 path),
    /// not libavcodec and libavformat with their ~130 codec and protocol libraries (~30 ms of a ~90 ms
    /// command): the loader's own list of the files it opened (`LD_DEBUG=files`) must not name them, and
    /// the clip decodes with every frame. A GIF still goes through FFmpeg.
    @Test func aSingleMP4ClipLoadsNoLibavcodec() throws {
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        /// The files the loader opened for `sample --out name` (LD_DEBUG_OUTPUT: a file, since the list of a
        /// command that loads FFmpeg is larger than a pipe holds).
        func loaded(writing name: String) throws -> String {
            let log = dir.appendingPathComponent("ld-" + name).path
            let r = try CLI.run(["sample", "--model", "models/student", "--prompt", "a red circle moving left, plain background",
                                 "--out", dir.appendingPathComponent(name).path, "--quiet"],
                                environment: ["LD_DEBUG": "files", "LD_DEBUG_OUTPUT": log])
            #expect(r.status == 0, "\(r.err)")
            let logs = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("ld-" + name + ".") }
            return try logs.map { try String(contentsOfFile: dir.appendingPathComponent($0).path, encoding: .utf8) }.joined()
        }
        let mp4 = try loaded(writing: "a.mp4")
        #expect(mp4.contains("file=libx264.so") && mp4.contains("file=libswscale.so"), "the loader's list: \(mp4.suffix(3000))")
        for lib in ["libavcodec.so", "libavformat.so"] {
            #expect(!mp4.contains("file=" + lib), "\(lib) was loaded for one MP4")
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=codec_name,nb_read_frames",
                           "-of", "csv=p=0", dir.appendingPathComponent("a.mp4").path]
        let o = Pipe()
        probe.standardOutput = o
        try probe.run()
        let answer = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "h264,16", "ffprobe: \(answer)")
        // A GIF is still written by FFmpeg (so the check above can see libavcodec when it is loaded).
        #expect(try loaded(writing: "a.gif").contains("file=libavcodec.so"))
    }

    /// `--lora-mode` says how a `--lora` is applied and `--lora-scale` scales it: either alone is a usage error
    /// (exit 64) naming both options; an unknown mode names the allowed ones.
    @Test func sampleLoRAModeNeedsLoRA() throws {
        let pipeline = CLI.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/cogvideox-pipeline-tiny").path
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("a.mp4").path
        let alone = try CLI.run(["sample", "--model", pipeline, "--prompt", "a red ball", "--out", out, "--lora-mode", "unfused"])
        #expect(alone.status == 64 && alone.err.contains("--lora-mode") && alone.err.contains("--lora too"), "\(alone.err)")
        let scaleAlone = try CLI.run(["sample", "--model", pipeline, "--prompt", "a red ball", "--out", out, "--lora-scale", "0.5"])
        #expect(scaleAlone.status == 64 && scaleAlone.err.contains("--lora-scale") && scaleAlone.err.contains("--lora too"), "\(scaleAlone.err)")
        let lora = CLI.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/cogvideox-lora-tiny/pytorch_lora_weights.safetensors").path
        let bad = try CLI.run(["sample", "--model", pipeline, "--prompt", "a red ball", "--out", out, "--lora", lora, "--lora-mode", "half"])
        #expect(bad.status == 64 && bad.err.contains("fused") && bad.err.contains("unfused"), "\(bad.err)")
        #expect(!FileManager.default.fileExists(atPath: out))
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
