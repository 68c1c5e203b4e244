import CFFmpeg
import Foundation

/// FFmpeg (and libx264 through it) prints banners and statistics to stderr. The module keeps the console
/// quiet unless `TDM_VIDEO_FFMPEG_LOG` asks for FFmpeg's output: `1` or `info` for informational
/// messages, `debug` for everything, `error` for errors only.
///
/// The level is a process-wide FFmpeg setting; it is applied once, through a Swift `static let`, whose
/// initialisation is thread-safe, so concurrent readers and writers share no other mutable state.
enum FFmpegLogging {
    private static let applied: Bool = {
        let request = ProcessInfo.processInfo.environment["TDM_VIDEO_FFMPEG_LOG"]?.lowercased()
        let level: Int32
        switch request {
        case "1", "info", "true", "yes": level = AV_LOG_INFO
        case "debug", "verbose": level = AV_LOG_DEBUG
        case "error", "errors": level = AV_LOG_ERROR
        default: level = AV_LOG_QUIET
        }
        av_log_set_level(level)
        return true
    }()

    /// Call at the start of every public entry point.
    static func configure() { _ = applied }
}
