/// Which encoder `VideoWriter` uses.
///
/// `auto` follows the project notes (swift-notes.md §4): libx264 when this FFmpeg build has it, because
/// H.264 in yuv420p plays in every browser, else FFmpeg's built-in MPEG-4 Part 2 encoder, which every
/// build carries.
public enum VideoCodecChoice: String, Sendable, CaseIterable, Codable {
    case auto
    /// H.264 through libx264; an error if the build lacks libx264.
    case h264
    /// MPEG-4 Part 2 through FFmpeg's own `mpeg4` encoder.
    case mpeg4
}
