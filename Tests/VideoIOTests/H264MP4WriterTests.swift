import Foundation
import Testing
import VideoCommon
@testable import VideoIO

/// VideoWriter's H.264 MP4 path without libavcodec/libavformat (`H264MP4Writer`, `MP4File`) against the
/// libavformat/libavcodec path it replaces: the same H.264 samples byte for byte, the same decoded frames
/// (by our reader and by the ffmpeg command line), the same size, frame count, rate and duration.
@Suite("H.264 MP4 writer without libavcodec") struct H264MP4WriterTests {
    /// Clips covering the cases that change the stream or the container: one and two frames (B-frame
    /// delay longer than the clip), several GOPs (keyframes beyond the first), odd sizes (the comment tag),
    /// a frame rate that is not an integer, and frames large enough for x264's own thread count.
    static let cases: [(String, RGBVideo)] = [
        ("student-size", TestSupport.movingClip(width: 32, height: 32, frames: 16)),
        ("one-frame", TestSupport.movingClip(width: 16, height: 16, frames: 1)),
        ("two-frames", TestSupport.movingClip(width: 16, height: 16, frames: 2)),
        ("three-gops", TestSupport.hardEdgedClip(width: 64, height: 48, frames: 40)),
        ("odd-size", TestSupport.movingClip(width: 63, height: 47, frames: 9)),
        ("ntsc-rate", TestSupport.movingClip(width: 48, height: 32, frames: 20, fps: 30000.0 / 1001.0)),
        ("threaded", TestSupport.movingClip(width: 320, height: 256, frames: 12, fps: 24)),
    ]

    @Test func theLibrariesLoadWithoutLibavcodec() {
        #expect(H264MP4Writer.isAvailable, "libx264 of the header's version, libavutil and libswscale should load here")
        #expect(H264MP4Writer.handles(URL(fileURLWithPath: "/tmp/a.MP4"), codec: .auto))
        #expect(!H264MP4Writer.handles(URL(fileURLWithPath: "/tmp/a.mp4"), codec: .mpeg4))
        #expect(!H264MP4Writer.handles(URL(fileURLWithPath: "/tmp/a.mkv"), codec: .h264))
    }

    /// The version-0 boxes hold 32-bit durations: a clip too long for them (300 frames at 0.001 fps is
    /// 4.9e9 track ticks) is not given to MP4File, but written through libavformat, and reads back whole;
    /// a clip at the same rate that fits (16 frames) still takes the direct path (the encoder tag says which).
    @Test func aClipTooLongForThirtyTwoBitBoxesGoesThroughFFmpeg() throws {
        #expect(MP4File.durations(frames: 16, rate: (8, 1)) != nil)
        #expect(MP4File.durations(frames: 300, rate: (1, 1000)) == nil)
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        for (frames, direct) in [(16, true), (300, false)] {
            let url = dir.appendingPathComponent("slow-\(frames).mp4")
            try VideoWriter().write(TestSupport.movingClip(width: 16, height: 16, frames: frames, fps: 0.001), to: url)
            let back = try VideoReader.read(url)
            #expect(back.frameCount == frames)
            #expect(abs(back.fps - 0.001) < 1e-6, "\(frames) frames read back at \(back.fps) fps")
            let tag = try TestSupport.run("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "format_tags=encoder",
                                                              "-of", "default=noprint_wrappers=1:nokey=1", url.path])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect((tag == "tdm-video") == direct, "\(frames) frames: encoder tag \(tag)")
        }
    }

    @Test(arguments: cases.map(\.0))
    func samplesAndFramesMatchTheFFmpegPath(_ name: String) throws {
        let clip = Self.cases.first { $0.0 == name }!.1
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let direct = dir.appendingPathComponent("direct.mp4"), viaFFmpeg = dir.appendingPathComponent("ffmpeg.mp4")
        try VideoWriter().write(clip, to: direct)
        var old = VideoWriter()
        old.directH264 = false
        try old.write(clip, to: viaFFmpeg)

        // The H.264 samples and the decoder configuration (SPS and PPS) are the same bytes.
        let ours = try Data(contentsOf: direct), theirs = try Data(contentsOf: viaFFmpeg)
        // (Each comparison is made to a Bool first: swift-testing would diff large collections element by element.
        // stsz is not compared: FFmpeg writes one size instead of a table when every sample has the same size.)
        for box in ["mdat", "avcC", "stts", "ctts"] {
            let same = Self.payload(of: box, in: ours) == Self.payload(of: box, in: theirs)
            #expect(same, "\(name): the \(box) boxes differ")
        }
        #expect(String(decoding: ours, as: UTF8.self).contains("tdm-video"), "our files name their writer")

        // Our reader decodes the same frames at the same size, count and rate.
        let a = try VideoReader.read(direct), b = try VideoReader.read(viaFFmpeg)
        #expect(a.width == clip.width && a.height == clip.height, "\(name): \(a.width)x\(a.height)")
        #expect(a.frameCount == clip.frameCount && b.frameCount == clip.frameCount)
        #expect(a.fps == b.fps)
        let samePixels = a.pixels == b.pixels
        #expect(samePixels, "\(name): decoded pixels differ")

        // So does the ffmpeg command line, with the same timestamps and durations.
        let hashes = try Self.frameHashes(direct), reference = try Self.frameHashes(viaFFmpeg)
        let sameHashes = hashes == reference
        #expect(sameHashes, "\(name): ffmpeg's framemd5 \(hashes.prefix(3)) against \(reference.prefix(3))")
        #expect(hashes.count == clip.frameCount)
        let keys = ["codec_name", "profile", "level", "pix_fmt", "width", "height", "r_frame_rate", "avg_frame_rate",
                    "nb_read_frames", "duration", "start_time", "has_b_frames", "color_range", "color_space",
                    "color_primaries", "color_transfer", "sample_aspect_ratio"]
        let p = try Self.probe(direct, keys), q = try Self.probe(viaFFmpeg, keys)
        #expect(p.count == keys.count, "\(name): ffprobe answered \(p)")
        for key in keys {
            #expect(p[key] == q[key], "\(name): ffprobe \(key) \(p[key] ?? "-") against \(q[key] ?? "-")")
        }
    }

    /// The body of the first box of type `type` found by a scan of the bytes (enough for these files).
    static func payload(of type: String, in data: Data) -> Data? {
        let bytes = [UInt8](data), tag = [UInt8](type.utf8)
        guard bytes.count >= 8 else { return nil }
        for i in 4...(bytes.count - 4) where Array(bytes[i..<(i + 4)]) == tag {
            let size = bytes[(i - 4)..<i].reduce(0) { $0 << 8 | Int($1) }
            guard size >= 8, i - 4 + size <= bytes.count else { continue }
            return Data(bytes[(i + 4)..<(i - 4 + size)])
        }
        return nil
    }

    /// ffprobe's answers for `keys` of the video stream.
    static func probe(_ url: URL, _ keys: [String]) throws -> [String: String] {
        let text = try TestSupport.run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v:0", "-count_frames",
                                                           "-show_entries", "stream=" + keys.joined(separator: ","),
                                                           "-of", "default=noprint_wrappers=1", url.path])
        var answers: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { answers[String(parts[0])] = String(parts[1]) }
        }
        return answers
    }

    /// ffmpeg's per-frame timestamps, durations and MD5s of the decoded pictures.
    static func frameHashes(_ url: URL) throws -> [String] {
        try TestSupport.run("/usr/bin/ffmpeg", ["-v", "error", "-i", url.path, "-f", "framemd5", "-"])
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }
}
