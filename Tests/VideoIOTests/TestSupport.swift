import Foundation
@testable import VideoIO

/// Helpers shared by the VideoIO tests: synthetic clips, PSNR, temporary directories, external tools.
enum TestSupport {
    /// A clip with moving content: a smooth gradient background, a square sliding right and a disc
    /// sliding down, both in saturated colours.
    static func movingClip(width: Int = 64, height: Int = 64, frames: Int = 16, fps: Double = 8) -> RGBVideo {
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
