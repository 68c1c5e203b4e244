import CFFmpeg
import Foundation

/// FFmpeg (and libx264 through it) prints banners and statistics to stderr. The module keeps the console
/// quiet unless `TDM_VIDEO_FFMPEG_LOG` asks for FFmpeg's output: `1` or `info` for informational
/// messages, `debug` for everything, `error` for errors only.
///
/// The level is a process-wide FFmpeg setting; `FFmpegLibrary` applies it once, right after opening the
/// libraries and before any other FFmpeg call, so concurrent readers and writers share no other mutable state.
enum FFmpegLogging {
    /// The `av_log_set_level` level the environment asks for.
    static var requestedLevel: Int32 {
        switch ProcessInfo.processInfo.environment["TDM_VIDEO_FFMPEG_LOG"]?.lowercased() {
        case "1", "info", "true", "yes": AV_LOG_INFO
        case "debug", "verbose": AV_LOG_DEBUG
        case "error", "errors": AV_LOG_ERROR
        default: AV_LOG_QUIET
        }
    }
}
