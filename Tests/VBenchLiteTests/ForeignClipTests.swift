import Foundation
import Testing
import VideoCommon
import VideoIO
@testable import VBenchLite

/// Clips no model made: FFmpeg's own test sources, encoded to MP4 by /usr/bin/ffmpeg and decoded by
/// VideoIO, as a user's files would be.
@Suite("Quality dimensions on ffmpeg test sources") struct ForeignClipTests {
    static func makeClip(_ source: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("\(source).mp4")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-loglevel", "error", "-y", "-f", "lavfi", "-i", "\(source)=size=64x64:rate=8", "-frames:v", "16",
                       "-pix_fmt", "yuv420p", url.path]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ScoreError("ffmpeg failed to make \(source)") }
        return url
    }

    @Test func ffmpegSourcesAreSane() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vbl-foreign-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        for s in ["testsrc2", "mandelbrot", "life"] {
            let v = try VideoReader.read(try Self.makeClip(s, in: dir))
            #expect(v.frameCount == 16 && v.width == 64)
            videos.append((name: s, video: v, prompt: nil))
        }
        let r = VBenchLite().evaluate(videos: videos)
        func v(_ d: VBenchDimension, _ n: String) -> Double { r[d]?.videos.first { $0.videoPath == n }?.videoResults?.doubleValue ?? .nan }
        for n in ["testsrc2", "mandelbrot", "life"] {
            for d in VBenchDimension.allCases where d.group == .quality {
                let x = v(d, n)
                #expect(x.isFinite && x >= 0 && x <= (d == .imagingQuality ? 100 : 1), "\(d.rawValue) \(n) \(x)")
            }
        }
        // testsrc2 scrolls and life changes every frame: dynamic, far above VBench's threshold (1.5 px at
        // 64x64). The Mandelbrot zoom is slow: its top-5 % flow stays near the threshold.
        #expect(v(.dynamicDegree, "testsrc2") == 1 && v(.dynamicDegree, "life") == 1)
        func topFlow(_ n: String) -> Double { r[.dynamicDegree]?.videos.first { $0.videoPath == n }?.detail?["max_pair_score"] ?? .nan }
        #expect(topFlow("testsrc2") > 3 && topFlow("life") > 3 && topFlow("mandelbrot") < 2.5)
        // Life replaces many 1-pixel cells per frame: the most flicker, the least smoothness and the
        // lowest picture scores (its pixel-scale texture reads as noise).
        #expect(v(.temporalFlickering, "life") < v(.temporalFlickering, "testsrc2"))
        #expect(v(.temporalFlickering, "life") < v(.temporalFlickering, "mandelbrot"))
        #expect(v(.motionSmoothness, "life") < min(v(.motionSmoothness, "testsrc2"), v(.motionSmoothness, "mandelbrot")))
        #expect(v(.imagingQuality, "life") < min(v(.imagingQuality, "testsrc2"), v(.imagingQuality, "mandelbrot")))
        #expect(v(.imagingQuality, "life") > 10)
        #expect(v(.subjectConsistency, "life") < v(.subjectConsistency, "testsrc2"))
        // The slow zoom keeps the smoothest motion and the most consistent background.
        #expect(v(.motionSmoothness, "mandelbrot") > 0.98)
        #expect(v(.backgroundConsistency, "mandelbrot") > 0.98)
    }
}
