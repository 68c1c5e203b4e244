import Foundation
import Testing
@testable import VideoIO

@Suite("VideoWriter and VideoReader round trips") struct RoundTripTests {
    @Test func defaultQualityRoundTripIsFaithfulAndComplete() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip()
        let url = dir.appendingPathComponent("clip.mp4")
        try VideoWriter().write(clip, to: url)
        let back = try VideoReader.read(url)
        #expect(back.width == 64 && back.height == 64)
        #expect(back.frameCount == 16)
        #expect(back.fps == 8)
        let psnr = TestSupport.psnr(clip.pixels, back.pixels)
        #expect(psnr >= 38, "PSNR \(psnr) dB")
        // Only the finished file: no temporary left behind.
        #expect(TestSupport.contents(of: dir) == ["clip.mp4"])
    }

    @Test func ffprobeSeesH264YUV420PWithEveryFrame() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("clip.mp4")
        try VideoWriter().write(TestSupport.movingClip(), to: url)
        let probe = try TestSupport.probe(url)
        #expect(probe["codec_name"] == "h264")
        #expect(probe["pix_fmt"] == "yuv420p")
        #expect(probe["nb_read_frames"] == "16")
        #expect(probe["r_frame_rate"] == "8/1")
        #expect(probe["width"] == "64" && probe["height"] == "64")
        let duration = Double(probe["duration"] ?? "") ?? -1
        #expect(abs(duration - 2.0) < 1e-3, "stream duration \(duration) s for 16 frames at 8 fps")
    }

    @Test func externalDecoderAgreesOnColours() throws {
        // FFmpeg's command line honours the colour tags the writer sets; if tags and matrix disagreed,
        // its decode would be visibly off even though our own reader round-trips.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip()
        let url = dir.appendingPathComponent("clip.mp4"), raw = dir.appendingPathComponent("frames.rgb")
        try VideoWriter().write(clip, to: url)
        try TestSupport.run("/usr/bin/ffmpeg", ["-v", "error", "-i", url.path, "-f", "rawvideo", "-pix_fmt", "rgb24",
                                                raw.path])
        let decoded = [UInt8](try Data(contentsOf: raw))
        #expect(decoded.count == clip.pixels.count)
        if decoded.count == clip.pixels.count {
            let psnr = TestSupport.psnr(clip.pixels, decoded)
            #expect(psnr >= 36, "ffmpeg CLI decode PSNR \(psnr) dB")
        }
    }

    @Test func oddSizeRoundTripsToTheOriginalSize() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip(width: 63, height: 47)
        let url = dir.appendingPathComponent("odd.mp4")
        try VideoWriter().write(clip, to: url)
        let back = try VideoReader.read(url)
        #expect(back.width == 63 && back.height == 47)
        #expect(back.frameCount == 16)
        let psnr = TestSupport.psnr(clip.pixels, back.pixels)
        #expect(psnr >= 38, "PSNR \(psnr) dB")
        // Stored padded to even, as yuv420p requires; other players see the padded picture.
        let probe = try TestSupport.probe(url)
        #expect(probe["width"] == "64" && probe["height"] == "48")
        #expect(probe["nb_read_frames"] == "16")
    }

    @Test func mpeg4FallbackWritesEveryFrame() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip()
        let url = dir.appendingPathComponent("clip.mp4")
        try VideoWriter(codec: .mpeg4).write(clip, to: url)
        let probe = try TestSupport.probe(url)
        #expect(probe["codec_name"] == "mpeg4")
        #expect(probe["pix_fmt"] == "yuv420p")
        #expect(probe["nb_read_frames"] == "16")
        let back = try VideoReader.read(url)
        #expect(back.frameCount == 16 && back.fps == 8)
        let psnr = TestSupport.psnr(clip.pixels, back.pixels)
        #expect(psnr >= 34, "MPEG-4 Part 2 at q3: PSNR \(psnr) dB")
    }

    @Test func hardEdgesLoseLittleBeyondChromaSubsampling() throws {
        // Saturated hard edges are limited by 4:2:0 chroma itself (about 33 dB even when lossless here);
        // the encoder at the default CRF must add little on top of that bound.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.hardEdgedClip()
        let lossless = dir.appendingPathComponent("lossless.mp4"), standard = dir.appendingPathComponent("crf18.mp4")
        try VideoWriter(crf: 0).write(clip, to: lossless)
        try VideoWriter().write(clip, to: standard)
        let bound = TestSupport.psnr(clip.pixels, try VideoReader.read(lossless).pixels)
        let actual = TestSupport.psnr(clip.pixels, try VideoReader.read(standard).pixels)
        #expect(bound >= 32, "4:2:0 bound \(bound) dB")
        #expect(actual >= bound - 1, "CRF 18 \(actual) dB against the 4:2:0 bound \(bound) dB")
    }

    @Test func fractionalFrameRatesComeBack() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        for fps in [12.5, 30000.0 / 1001.0] {
            let url = dir.appendingPathComponent("rate.mp4")
            try VideoWriter().write(TestSupport.movingClip(width: 32, height: 32, frames: 10, fps: fps), to: url)
            let back = try VideoReader.read(url)
            #expect(back.frameCount == 10)
            #expect(abs(back.fps - fps) < 1e-6, "wrote \(fps) fps, read \(back.fps)")
        }
    }

    @Test func frameListsAndMaxFrames() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip(width: 32, height: 24, frames: 6, fps: 6)
        let frames = (0..<clip.frameCount).map { Array(clip.frame($0)) }
        let url = dir.appendingPathComponent("list.mp4")
        try VideoWriter().write(frames: frames, width: 32, height: 24, fps: 6, to: url)
        #expect(try VideoReader.read(url).frameCount == 6)
        let firstThree = try VideoReader.read(url, maxFrames: 3)
        #expect(firstThree.frameCount == 3)
        #expect(TestSupport.psnr(Array(clip.pixels.prefix(3 * clip.frameSize)), firstThree.pixels) >= 38)
    }

    @Test func writerFallsBackToItsFrameRateOnlyForInvalidClipRates() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        var clip = TestSupport.movingClip(width: 16, height: 16, frames: 4, fps: 10)
        let url = dir.appendingPathComponent("rate.mp4")
        try VideoWriter(fps: 5).write(clip, to: url)
        #expect(try VideoReader.read(url).fps == 10)
        clip.fps = 0
        try VideoWriter(fps: 5).write(clip, to: url)
        #expect(try VideoReader.read(url).fps == 5)
    }

    @Test func sameClipGivesTheSameBytes() throws {
        // Reproducible renders: libx264's macroblock tree (off in the writer) made tiny clips vary.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip()
        var files: [Data] = []
        for i in 0..<4 {
            let url = dir.appendingPathComponent("same\(i).mp4")
            try VideoWriter().write(clip, to: url)
            files.append(try Data(contentsOf: url))
        }
        #expect(Set(files).count == 1, "sizes \(files.map(\.count))")
    }

    @Test func concurrentWritesAndReadsAreIndependent() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let count = 6
        let clips = (0..<count).map { TestSupport.movingClip(width: 32 + 2 * $0, height: 32, frames: 8 + $0, fps: 8) }
        let results = ResultBox(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            let url = dir.appendingPathComponent("clip\(i).mp4")
            do {
                try VideoWriter().write(clips[i], to: url)
                let back = try VideoReader.read(url)
                results.set(i, back.frameCount == clips[i].frameCount && back.width == clips[i].width
                                && TestSupport.psnr(clips[i].pixels, back.pixels) >= 38)
            } catch {
                results.set(i, false)
            }
        }
        #expect(results.values == Array(repeating: true, count: count))
    }
}

/// Collects per-iteration outcomes from `concurrentPerform`.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Bool]
    init(count: Int) { storage = Array(repeating: false, count: count) }
    func set(_ i: Int, _ value: Bool) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [Bool] { lock.lock(); defer { lock.unlock() }; return storage }
}
