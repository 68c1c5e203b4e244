import Foundation
import VideoCommon
import VideoIO

/// Writes a clip by the output's extension: .mp4 (H.264), .gif (animated), .png (a contact sheet).
func writeClip(_ video: RGBVideo, to path: String, label: String? = nil) throws {
    let url = URL(fileURLWithPath: path)
    switch url.pathExtension.lowercased() {
    case "gif": try writeGIF(video, to: url)
    case "png": try ContactSheet.writePNG(clips: [video], columns: min(8, video.frameCount), labels: nil, gap: 2, to: url)
    default: try VideoWriter().write(video, to: url)
    }
}
