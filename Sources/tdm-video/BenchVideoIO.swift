import Foundation
import VideoCommon
import VideoIO

/// Times VideoIO the way a render-then-score loop uses it: write a 16-frame 64×64 clip to MP4 at the
/// default settings, then read it back, in a fresh temporary directory. The target is under
/// 30 ms for both together. One untimed warm-up run loads the codecs; the figure is the median over
/// `repeats` runs (the median shrugs off the other jobs sharing this machine's two cores).
///
/// - Returns: `writeReadMs`, the median of write plus read; `detail` holds the medians of each half
///   (`writeMs`, `readMs`), the best total (`minWriteReadMs`), the file size (`bytes`), the
///   round-trip fidelity (`psnrDb`) and the one-time loading of FFmpeg's libraries (`ffmpegLoadMs`).
func benchVideoIO(repeats: Int) throws -> (writeReadMs: Double, detail: [String: Double]) {
    let clip = benchVideoIOClip(width: 64, height: 64, frames: 16, fps: 8)
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("tdm-video-bench-videoio-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("bench.mp4")
    let writer = VideoWriter()

    // The one-time cost every video command pays (off its critical path when it preloads): dlopen of
    // FFmpeg's libraries and their dependencies, constructors included.
    let loadStart = DispatchTime.now().uptimeNanoseconds
    try FFmpegLibrary.load(for: url)
    let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
    try writer.write(clip, to: url)
    var back = try VideoReader.read(url)
    var writes: [Double] = [], reads: [Double] = [], totals: [Double] = []
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now().uptimeNanoseconds
        try writer.write(clip, to: url)
        let written = DispatchTime.now().uptimeNanoseconds
        back = try VideoReader.read(url)
        let read = DispatchTime.now().uptimeNanoseconds
        writes.append(Double(written - start) / 1e6)
        reads.append(Double(read - written) / 1e6)
        totals.append(Double(read - start) / 1e6)
    }
    guard back.frameCount == clip.frameCount, back.width == clip.width, back.height == clip.height else {
        throw BenchVideoIOFailure(message: "\(url.path): wrote \(clip.frameCount) frames of "
                                      + "\(clip.width)x\(clip.height), read back \(back.frameCount) of "
                                      + "\(back.width)x\(back.height)")
    }
    var squared = 0.0
    for i in 0..<clip.pixels.count {
        let d = Double(clip.pixels[i]) - Double(back.pixels[i])
        squared += d * d
    }
    let mse = squared / Double(clip.pixels.count)
    let bytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    return (median(totals), [
        "writeMs": median(writes),
        "readMs": median(reads),
        "minWriteReadMs": totals.min() ?? 0,
        "ffmpegLoadMs": loadMs,
        "bytes": Double(bytes),
        "psnrDb": mse == 0 ? 99 : 10 * log10(255 * 255 / mse),
    ])
}

/// A read-back that does not match what was written.
struct BenchVideoIOFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// Smooth moving content like a model's output: a gradient with two soft blobs travelling across it.
private func benchVideoIOClip(width: Int, height: Int, frames: Int, fps: Double) -> RGBVideo {
    var pixels = [UInt8](repeating: 0, count: width * height * 3 * frames)
    let w = Double(width), h = Double(height)
    for f in 0..<frames {
        let t = Double(f)
        let blobs: [(x: Double, y: Double, sigma: Double, r: Double, g: Double, b: Double)] = [
            (w * 0.12 + t * w * 0.04, h * 0.3 + t * h * 0.012, w * 0.11, 230, 60, 40),
            (w * 0.75 - t * w * 0.02, h * 0.15 + t * h * 0.03, w * 0.09, 40, 90, 230),
        ]
        for y in 0..<height {
            for x in 0..<width {
                var r = 40 + Double(x) * 150 / max(1, w - 1)
                var g = 60 + Double(y) * 120 / max(1, h - 1)
                var b = 170 - Double(x + y) / 2 * 64 / max(w, h)
                for blob in blobs {
                    let dx = Double(x) - blob.x, dy = Double(y) - blob.y
                    let a = 0.9 * exp(-(dx * dx + dy * dy) / (2 * blob.sigma * blob.sigma))
                    r = r * (1 - a) + blob.r * a
                    g = g * (1 - a) + blob.g * a
                    b = b * (1 - a) + blob.b * a
                }
                let i = ((f * height + y) * width + x) * 3
                pixels[i] = UInt8(r.rounded()); pixels[i + 1] = UInt8(g.rounded()); pixels[i + 2] = UInt8(b.rounded())
            }
        }
    }
    return RGBVideo(width: width, height: height, fps: fps, pixels: pixels)
}
