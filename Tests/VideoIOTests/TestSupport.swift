import Foundation
import VideoCommon
@testable import VideoIO

/// Helpers shared by the VideoIO tests: synthetic clips, PSNR, temporary directories, external tools.
enum TestSupport {
    /// A clip with moving content: a smooth gradient background with two soft coloured blobs (like the
    /// output of a video model) travelling in different directions.
    static func movingClip(width: Int = 64, height: Int = 64, frames: Int = 16, fps: Double = 8) -> RGBVideo {
        var pixels = [UInt8](repeating: 0, count: width * height * 3 * frames)
        let w = Double(width), h = Double(height)
        for f in 0..<frames {
            let t = Double(f)
            let blobs: [(x: Double, y: Double, sigma: Double, colour: (Double, Double, Double))] = [
                (w * 0.12 + t * w * 0.04, h * 0.3 + t * h * 0.012, w * 0.11, (230, 60, 40)),
                (w * 0.75 - t * w * 0.02, h * 0.15 + t * h * 0.03, w * 0.09, (40, 90, 230)),
            ]
            for y in 0..<height {
                for x in 0..<width {
                    var c = (40 + Double(x) * 150 / max(1, w - 1), 60 + Double(y) * 120 / max(1, h - 1),
                             170 - Double(x + y) / 2 * 64 / max(w, h))
                    for blob in blobs {
                        let dx = Double(x) - blob.x, dy = Double(y) - blob.y
                        let a = 0.9 * exp(-(dx * dx + dy * dy) / (2 * blob.sigma * blob.sigma))
                        c = (c.0 * (1 - a) + blob.colour.0 * a, c.1 * (1 - a) + blob.colour.1 * a,
                             c.2 * (1 - a) + blob.colour.2 * a)
                    }
                    let i = ((f * height + y) * width + x) * 3
                    pixels[i] = UInt8(c.0.rounded()); pixels[i + 1] = UInt8(c.1.rounded())
                    pixels[i + 2] = UInt8(c.2.rounded())
                }
            }
        }
        return RGBVideo(width: width, height: height, fps: fps, pixels: pixels)
    }

    /// A harsh clip for 4:2:0 chroma: hard-edged, fully saturated shapes (a square sliding right, a disc
    /// sliding down) on a gradient.
    static func hardEdgedClip(width: Int = 64, height: Int = 64, frames: Int = 16, fps: Double = 8) -> RGBVideo {
        var pixels = [UInt8](repeating: 0, count: width * height * 3 * frames)
        for f in 0..<frames {
            let squareX = 4 + f * 2, squareY = height / 4
            let discX = Double(width) * 0.7, discY = 6.0 + Double(f) * 1.5, radius = Double(min(width, height)) / 8
            for y in 0..<height {
                for x in 0..<width {
                    var r = 40 + (x * 150) / max(1, width - 1)
                    var g = 60 + (y * 120) / max(1, height - 1)
                    var b = 170 - (x + y) / 2
                    if x >= squareX && x < squareX + width / 5 && y >= squareY && y < squareY + height / 5 {
                        (r, g, b) = (220, 50, 40)
                    }
                    let dx = Double(x) - discX, dy = Double(y) - discY
                    if dx * dx + dy * dy <= radius * radius { (r, g, b) = (40, 90, 220) }
                    let i = ((f * height + y) * width + x) * 3
                    pixels[i] = UInt8(clamping: r); pixels[i + 1] = UInt8(clamping: g); pixels[i + 2] = UInt8(clamping: b)
                }
            }
        }
        return RGBVideo(width: width, height: height, fps: fps, pixels: pixels)
    }

    /// Peak signal-to-noise ratio in dB over all pixels of two equally sized buffers.
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "PSNR needs equal, non-empty buffers")
        var sum = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            sum += d * d
        }
        let mse = sum / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// Means of each 4x4 block of every frame and channel (partial blocks at the edges dropped), rounded.
    static func blockMeans(_ video: RGBVideo) -> [UInt8] {
        var out: [UInt8] = []
        for f in 0..<video.frameCount {
            for by in 0..<(video.height / 4) {
                for bx in 0..<(video.width / 4) {
                    for c in 0..<3 {
                        var sum = 0
                        for y in 0..<4 {
                            for x in 0..<4 {
                                sum += Int(video.pixels[((f * video.height + by * 4 + y) * video.width + bx * 4 + x) * 3 + c])
                            }
                        }
                        out.append(UInt8((sum + 8) / 16))
                    }
                }
            }
        }
        return out
    }

    /// A fresh temporary directory, removed by the caller through `defer { cleanup(dir) }`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("videoio-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func cleanup(_ url: URL) { try? FileManager.default.removeItem(at: url) }

    /// Names in `directory`, hidden ones included (to catch left-over temporary files).
    static func contents(of directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    /// Runs an external tool, returning its standard output; throws with its stderr when it fails.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolFailure(message: "\(tool) \(arguments.joined(separator: " ")): "
                                  + (String(data: errors, encoding: .utf8) ?? ""))
        }
        return String(data: output, encoding: .utf8) ?? ""
    }

    struct ToolFailure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// ffprobe's `key=value` answers for the first video stream.
    static func probe(_ url: URL) throws -> [String: String] {
        let text = try run("/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v:0", "-count_frames",
                                               "-show_entries",
                                               "stream=codec_name,pix_fmt,width,height,nb_read_frames,r_frame_rate,avg_frame_rate,duration:format=duration",
                                               "-of", "default=noprint_wrappers=1", url.path])
        var answers: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2, answers[String(parts[0])] == nil { answers[String(parts[0])] = String(parts[1]) }
        }
        return answers
    }
}
