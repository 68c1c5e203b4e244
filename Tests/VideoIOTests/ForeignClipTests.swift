import Foundation
import Testing
@testable import VideoIO

/// Clips made by other software (the `ffmpeg` command line's test sources) must read back whole.
@Suite("Reading clips from other encoders") struct ForeignClipTests {
    /// Generates a clip with the ffmpeg command line from a lavfi `source` and encoder arguments.
    private func make(_ source: String, frames: Int, encoder: [String], name: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try TestSupport.run("/usr/bin/ffmpeg", ["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source,
                                                "-frames:v", String(frames)] + encoder + [url.path])
        return url
    }

    /// The command line's own RGB decode of `url`, converted with the scaler settings the reader uses, so
    /// any difference comes from how frames are read (strides, order, cropping), not from filter choices.
    private func referenceDecode(_ url: URL, in dir: URL) throws -> [UInt8] {
        let raw = dir.appendingPathComponent("reference.rgb")
        try TestSupport.run("/usr/bin/ffmpeg", ["-v", "error", "-nostdin", "-y", "-i", url.path,
                                                "-vf", "scale=flags=bicubic+full_chroma_int+accurate_rnd,format=rgb24",
                                                "-f", "rawvideo", raw.path])
        return [UInt8](try Data(contentsOf: raw))
    }

    @Test func vp9WebMFromTestsrc2() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        // 90 pixels wide: decoder lines are padded beyond 270 bytes, so strides must be honoured.
        let url = try make("testsrc2=size=90x50:rate=10", frames: 12,
                           encoder: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"],
                           name: "testsrc2.webm", in: dir)
        let clip = try VideoReader.read(url)
        #expect(clip.frameCount == 12)
        #expect(clip.width == 90 && clip.height == 50)
        #expect(clip.fps == 10)
        let reference = try referenceDecode(url, in: dir)
        #expect(reference.count == clip.pixels.count)
        if reference.count == clip.pixels.count {
            let psnr = TestSupport.psnr(reference, clip.pixels)
            #expect(psnr >= 50, "against ffmpeg's own decode: \(psnr) dB")
        }
    }

    @Test func mpeg4AVIFromMandelbrot() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = try make("mandelbrot=size=80x60:rate=12", frames: 10, encoder: ["-c:v", "mpeg4", "-q:v", "3"],
                           name: "mandelbrot.avi", in: dir)
        let clip = try VideoReader.read(url)
        #expect(clip.frameCount == 10)
        #expect(clip.width == 80 && clip.height == 60)
        #expect(clip.fps == 12)
        let reference = try referenceDecode(url, in: dir)
        #expect(reference.count == clip.pixels.count)
        if reference.count == clip.pixels.count {
            let psnr = TestSupport.psnr(reference, clip.pixels)
            #expect(psnr >= 50, "against ffmpeg's own decode: \(psnr) dB")
        }
    }

    @Test func h264WithBFramesFromTestsrc2() throws {
        // The command line's MP4s use B-frames and an edit list: the frame-count check must not misfire.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = try make("testsrc2=size=64x48:rate=25", frames: 20,
                           encoder: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
                           name: "testsrc2.mp4", in: dir)
        let clip = try VideoReader.read(url)
        #expect(clip.frameCount == 20)
        #expect(clip.fps == 25)
    }

    @Test func editListTrimmedMP4ReadsLikeFFprobe() throws {
        // A stream copy that starts between keyframes keeps the earlier frames and hides them with an
        // edit list: fewer frames decode than the index lists, and that is not damage.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let source = try make("testsrc2=size=64x48:rate=10", frames: 40,
                              encoder: ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "40"],
                              name: "source.mp4", in: dir)
        let trimmed = dir.appendingPathComponent("trimmed.mp4")
        try TestSupport.run("/usr/bin/ffmpeg", ["-v", "error", "-nostdin", "-y", "-ss", "1.5", "-i", source.path,
                                                "-c", "copy", trimmed.path])
        let probe = try TestSupport.probe(trimmed)
        let expected = Int(probe["nb_read_frames"] ?? "") ?? -1
        let clip = try VideoReader.read(trimmed)
        #expect(expected > 0 && expected < 40)
        #expect(clip.frameCount == expected, "ffprobe decodes \(expected) frames")
    }

    @Test func animatedGIFFromTestsrc2() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = try make("testsrc2=size=48x32:rate=10", frames: 9, encoder: [], name: "testsrc2.gif", in: dir)
        let clip = try VideoReader.read(url)
        #expect(clip.frameCount == 9)
        #expect(clip.width == 48 && clip.height == 32)
        #expect(abs(clip.fps - 10) < 1e-9, "fps \(clip.fps)")
    }
}
