import CFFmpeg

/// Every failure of the VideoIO module: which file, what is wrong, and FFmpeg's own words when FFmpeg
/// produced the failure.
///
/// Mirrors the design rule of the project (bad input is a thrown error naming the input, never a trap),
/// and keeps FFmpeg's `av_strerror` text because "Invalid data found when processing input" or
/// "moov atom not found" is what a user can search for.
public struct VideoIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broad class of failure, for callers that react differently (a missing file versus a bad one).
    public enum Kind: String, Sendable, Equatable {
        /// The input file does not exist.
        case missingInput
        /// The input exists but is not a decodable video or picture (corrupt, truncated, a directory...).
        case unreadableInput
        /// The output cannot be created (missing or read-only directory, the path is a directory...).
        case unwritableOutput
        /// The clip or picture handed to a writer is unusable (no frames, inconsistent sizes, bad settings).
        case invalidInput
        /// The requested encoder is not in this FFmpeg build.
        case codecUnavailable
        /// FFmpeg failed while encoding or muxing.
        case encodingFailed
        /// FFmpeg's shared libraries cannot be loaded (not installed, or of another major version).
        case libraryUnavailable
    }

    public let kind: Kind
    /// The file the operation was about (the final output path for writers, never the temporary name).
    public let path: String
    /// What is wrong, in plain words.
    public let reason: String
    /// FFmpeg's message for its error code, when FFmpeg reported the failure.
    public let ffmpegMessage: String?

    public init(_ kind: Kind, path: String, reason: String, ffmpegMessage: String? = nil) {
        self.kind = kind
        self.path = path
        self.reason = reason
        self.ffmpegMessage = ffmpegMessage
    }

    /// An error produced by an FFmpeg call that returned `code`.
    init(_ kind: Kind, path: String, reason: String, ffmpegCode code: Int32) {
        self.init(kind, path: path, reason: reason, ffmpegMessage: ffmpegErrorMessage(code))
    }

    public var description: String {
        var text = "\(path): \(reason)"
        if let ffmpegMessage { text += " (FFmpeg: \(ffmpegMessage))" }
        return text
    }
}

/// FFmpeg's text for an error code (`av_err2str` is a compound-literal macro Swift cannot import). Codes
/// come from FFmpeg calls, so the libraries are loaded by then.
func ffmpegErrorMessage(_ code: Int32) -> String {
    // libavutil's av_strerror, from the small table if it is loaded (the H.264 MP4 writer), else the whole one.
    guard let strerror = FFmpegLibrary.pixels?.av_strerror ?? (try? FFmpegLibrary.api(for: ""))?.av_strerror else {
        return "error code \(code)"
    }
    let capacity = Int(AV_ERROR_MAX_STRING_SIZE) * 2
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: 0, count: capacity)
    if strerror(code, buffer, capacity) < 0 {
        return "error code \(code)"
    }
    return String(cString: buffer)
}
