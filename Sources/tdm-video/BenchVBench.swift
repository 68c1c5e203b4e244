import Dispatch
import Foundation
import ShapeWorld
import VBenchLite
import VideoCommon
import VideoIO

/// Times VBenchLite the way `tdm-video score` runs: `clips` MP4 files of 16 frames at 64×64 (the world's
/// held-out prompts rendered at that size, so the semantic dimensions run too) are written untimed,
/// then decoded and scored on all cores, which is what is timed. The target is at least 20
/// clips per second on this two-core machine, decoding included. One untimed warm-up pass first.
///
/// - Returns: `clipsPerSecond` for decode plus score; `detail` holds the decode and score shares
///   (`decodeMs`, `scoreMs` per clip, wall time over all clips), `clips`, and the Total of the set
///   (`totalScore`, 0-100) as a check that the work was real.
func benchVBench(clips: Int) throws -> (clipsPerSecond: Double, detail: [String: Double]) {
    let count = max(1, clips)
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("tdm-video-bench-vbench-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let suite = WorldSplit.heldOutSuite()
    let renderer = WorldRenderer(width: 64, height: 64, frames: 16, fps: 8)
    let writer = VideoWriter(fps: 8, crf: 18)
    var files: [(URL, PromptEntry)] = []
    for i in 0..<count {
        let entry = suite[i % suite.count]
        let url = directory.appendingPathComponent("clip\(i).mp4")
        try writer.write(try renderer.render(prompt: entry.promptEn, seed: UInt64(i)), to: url)
        files.append((url, entry))
    }
    func pass() throws -> (decode: Double, score: Double, report: ScoreReport) {
        let start = DispatchTime.now().uptimeNanoseconds
        let results = UnsafeMutableBufferPointer<Result<RGBVideo, Error>?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results
        let urls = files.map(\.0)
        DispatchQueue.concurrentPerform(iterations: count) { i in slots[i] = Result { try VideoReader.read(urls[i]) } }
        var videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        for i in 0..<count {
            guard let r = results[i] else { throw ScoreError("\(urls[i].path): not decoded") }
            videos.append((name: urls[i].lastPathComponent, video: try r.get(), prompt: files[i].1))
        }
        let decoded = DispatchTime.now().uptimeNanoseconds
        let report = VBenchLite().evaluate(videos: videos)
        let scored = DispatchTime.now().uptimeNanoseconds
        return (Double(decoded - start) / 1e9, Double(scored - decoded) / 1e9, report)
    }
    _ = try pass()
    let timed = try pass()
    let total = timed.decode + timed.score
    return (Double(count) / total, [
        "clips": Double(count),
        "decodeMs": timed.decode * 1000 / Double(count),
        "scoreMs": timed.score * 1000 / Double(count),
        "totalScore": (timed.report.totalScore ?? .nan) * 100,
    ])
}
