import Foundation
import Testing
import VideoCommon
@testable import VideoIO

/// Every failure is a thrown `VideoIOError` naming the file and the problem, and leaves nothing behind.
@Suite("VideoIO errors") struct ErrorTests {
    /// Runs `body`, expecting a `VideoIOError` of `kind`; returns it for further checks.
    private func expectError(_ kind: VideoIOError.Kind, _ body: () throws -> Void,
                             sourceLocation: SourceLocation = #_sourceLocation) -> VideoIOError? {
        do {
            try body()
            Issue.record("expected a \(kind) error, got success", sourceLocation: sourceLocation)
        } catch let error as VideoIOError {
            #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected a VideoIOError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    // MARK: Reading

    @Test func missingInput() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("nowhere.mp4")
        let error = expectError(.missingInput) { _ = try VideoReader.read(url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.description.contains("does not exist") == true)
    }

    @Test func randomBytesAreNotAVideo() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("noise.mp4")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: url)
        let error = expectError(.unreadableInput) { _ = try VideoReader.read(url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.ffmpegMessage?.isEmpty == false, "FFmpeg's own words: \(String(describing: error))")
    }

    @Test func emptyFileAndDirectory() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let empty = dir.appendingPathComponent("empty.mp4")
        try Data().write(to: empty)
        let error = expectError(.unreadableInput) { _ = try VideoReader.read(empty) }
        #expect(error?.description.contains(empty.path) == true)
        let folder = expectError(.unreadableInput) { _ = try VideoReader.read(dir) }
        #expect(folder?.reason.contains("directory") == true)
        _ = expectError(.invalidInput) { _ = try VideoReader.read(empty, maxFrames: 0) }
    }

    @Test func truncatedMP4WithIndexAtTheEnd() throws {
        // Our writer puts the index (moov) last, so a cut file has none.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("cut.mp4")
        try VideoWriter().write(TestSupport.movingClip(), to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        let error = expectError(.unreadableInput) { _ = try VideoReader.read(url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.ffmpegMessage?.isEmpty == false, "\(String(describing: error))")
    }

    @Test func truncatedMP4WithIndexAtTheStart() throws {
        // A "faststart" MP4 keeps its index when cut: the missing frames must be noticed.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("faststart.mp4")
        try TestSupport.run("/usr/bin/ffmpeg", ["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                                                "testsrc2=size=128x96:rate=8", "-frames:v", "24", "-c:v", "libx264",
                                                "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                                                url.path])
        #expect(try VideoReader.read(url).frameCount == 24)
        let bytes = try Data(contentsOf: url)
        for percent in [60, 95] {
            let cut = dir.appendingPathComponent("cut\(percent).mp4")
            try bytes.prefix(bytes.count * percent / 100).write(to: cut)
            let error = expectError(.unreadableInput) { _ = try VideoReader.read(cut) }
            #expect(error?.description.contains(cut.path) == true)
            // Either whole packets are missing (the index promised 24 frames) or one is cut short and the
            // decoder says so in its own words.
            let noticed = error.map { $0.reason.contains("of the 24 frames") || $0.ffmpegMessage != nil } ?? false
            #expect(noticed, "\(error?.description ?? "")")
        }
    }

    // MARK: Writing

    @Test func missingOutputDirectory() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("absent/clip.mp4")
        let error = expectError(.unwritableOutput) { try VideoWriter().write(TestSupport.movingClip(), to: url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.reason.contains("does not exist") == true)
        #expect(TestSupport.contents(of: dir).isEmpty)
        _ = expectError(.unwritableOutput) { try writeGIF(TestSupport.movingClip(), to: url) }
        _ = expectError(.unwritableOutput) { try ImageIO.writePNG(width: 1, height: 1, rgb: [0, 0, 0], to: url) }
        #expect(TestSupport.contents(of: dir).isEmpty)
    }

    @Test func outputParentIsAFileOrOutputIsADirectory() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let file = dir.appendingPathComponent("plain")
        try Data([1]).write(to: file)
        let underFile = expectError(.unwritableOutput) {
            try VideoWriter().write(TestSupport.movingClip(), to: file.appendingPathComponent("clip.mp4"))
        }
        #expect(underFile?.reason.contains("not a directory") == true)
        let folder = dir.appendingPathComponent("folder.mp4")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        let onFolder = expectError(.unwritableOutput) { try VideoWriter().write(TestSupport.movingClip(), to: folder) }
        #expect(onFolder?.reason.contains("is a directory") == true)
        #expect(TestSupport.contents(of: dir) == ["folder.mp4", "plain"])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/kernel")))
    func directoryRefusingNewFiles() throws {
        // sysfs refuses new files even to root: FFmpeg's open fails and its message is passed on.
        let url = URL(fileURLWithPath: "/sys/kernel/tdm-video-test.mp4")
        let error = expectError(.unwritableOutput) { try VideoWriter().write(TestSupport.movingClip(), to: url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.ffmpegMessage?.isEmpty == false, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func zeroFrames() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let empty = RGBVideo(width: 8, height: 8, fps: 8, pixels: [])
        let url = dir.appendingPathComponent("empty.mp4")
        let error = expectError(.invalidInput) { try VideoWriter().write(empty, to: url) }
        #expect(error?.reason.contains("no frames") == true)
        #expect(error?.description.contains(url.path) == true)
        _ = expectError(.invalidInput) { try writeGIF(empty, to: dir.appendingPathComponent("empty.gif")) }
        _ = expectError(.invalidInput) {
            try VideoWriter().write(frames: [], width: 8, height: 8, fps: 8, to: url)
        }
        #expect(TestSupport.contents(of: dir).isEmpty)
    }

    @Test func framesOfDifferentSizes() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("mixed.mp4")
        let frames = [[UInt8](repeating: 9, count: 8 * 8 * 3), [UInt8](repeating: 9, count: 8 * 6 * 3)]
        let error = expectError(.invalidInput) { try VideoWriter().write(frames: frames, width: 8, height: 8, fps: 8, to: url) }
        #expect(error?.reason.contains("frame 1") == true)
        #expect(error?.reason.contains("same size") == true)
        // A clip whose buffer no longer holds whole frames.
        var clip = TestSupport.movingClip(width: 8, height: 8, frames: 2)
        clip.pixels.removeLast()
        let ragged = expectError(.invalidInput) { try VideoWriter().write(clip, to: url) }
        #expect(ragged?.reason.contains("whole number") == true)
        _ = expectError(.invalidInput) { try writeGIF(clip, to: url) }
        _ = expectError(.invalidInput) { try ImageIO.writePNG(width: 4, height: 4, rgb: [1, 2, 3], to: url) }
        #expect(TestSupport.contents(of: dir).isEmpty)
    }

    @Test func badSettings() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("clip.mp4")
        let error = expectError(.invalidInput) { try VideoWriter(crf: 60).write(TestSupport.movingClip(), to: url) }
        #expect(error?.reason.contains("CRF 60") == true)
        var clip = TestSupport.movingClip(width: 8, height: 8, frames: 2)
        clip.fps = .nan
        _ = expectError(.invalidInput) { try VideoWriter(fps: -1).write(clip, to: url) }
        #expect(TestSupport.contents(of: dir).isEmpty)
    }

    @Test func containerThatCannotHoldVideo() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("clip.wav")
        let error = expectError(.invalidInput) { try VideoWriter().write(TestSupport.movingClip(), to: url) }
        #expect(error?.reason.contains("cannot hold") == true, "\(error?.description ?? "")")
        #expect(TestSupport.contents(of: dir).isEmpty)
    }

    @Test func failureAfterStartingLeavesTheOldFileAndNoPartialFile() throws {
        // The GIF muxer refuses H.264 only once the temporary file exists: it must be removed and a
        // previous file under the final name must survive untouched.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let url = dir.appendingPathComponent("preview.gif")
        try writeGIF(TestSupport.movingClip(width: 16, height: 16, frames: 3), to: url)
        let before = try Data(contentsOf: url)
        let error = expectError(.encodingFailed) { try VideoWriter().write(TestSupport.movingClip(), to: url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.ffmpegMessage != nil)
        #expect(error?.reason.contains("gif container") == true, "\(error?.description ?? "")")
        #expect(try Data(contentsOf: url) == before)
        #expect(TestSupport.contents(of: dir) == ["preview.gif"])
    }
}
