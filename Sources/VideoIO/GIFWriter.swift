import CFFmpeg
import Foundation
import VideoCommon

/// Writes `video` as an endlessly looping animated GIF at `url` (see `GIFWriter`).
public func writeGIF(_ video: RGBVideo, to url: URL) throws {
    try GIFWriter().write(video, to: url)
}

/// Animated GIF previews through FFmpeg's `gif` encoder and muxer, for a quick look in any browser or
/// chat window without a video player.
///
/// GIF holds at most 256 colours. Rather than FFmpeg's two-pass palettegen/paletteuse filters (which
/// need libavfilter), one palette is fitted to the whole clip by median cut (`MedianCutPalette`) and
/// every pixel takes its nearest palette colour, without dithering. One palette for all frames keeps
/// still areas identical from frame to frame, so the preview does not shimmer and the encoder's
/// inter-frame transparency works. Frame delays are in GIF's centiseconds, rounded so the total
/// duration tracks `frameCount / fps`.
public struct GIFWriter: Sendable {
    /// Used only when the clip's own `fps` is not a positive finite number.
    public var fallbackFPS: Double

    public init(fallbackFPS: Double = 8) { self.fallbackFPS = fallbackFPS }

    public func write(_ video: RGBVideo, to url: URL) throws {
        let path = url.path
        guard video.width > 0, video.height > 0, video.width <= 65535, video.height <= 65535,
              video.pixels.count % video.frameSize == 0 else {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "the clip (\(video.width)x\(video.height), \(video.pixels.count) bytes) "
                                   + "does not hold whole RGB frames")
        }
        guard video.frameCount > 0 else {
            throw VideoIOError(.invalidInput, path: path, reason: "the clip has no frames")
        }
        let fps = video.fps.isFinite && video.fps > 0 ? video.fps : fallbackFPS
        guard fps.isFinite, fps > 0 else {
            throw VideoIOError(.invalidInput, path: path, reason: "frame rate \(video.fps) is not positive")
        }
        let ff = try FFmpegLibrary.api(for: path)
        guard let codec = ff.avcodec_find_encoder(AV_CODEC_ID_GIF), let format = ff.av_guess_format("gif", nil, nil) else {
            throw VideoIOError(.codecUnavailable, path: path, reason: "this FFmpeg build has no GIF encoder or muxer")
        }
        let output = try AtomicOutputFile(url)
        do {
            try encode(ff, video, fps: fps, codec: codec, format: format, output: output)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    private func encode(_ ff: cffmpeg_api, _ video: RGBVideo, fps: Double, codec: UnsafePointer<AVCodec>,
                        format: UnsafePointer<AVOutputFormat>, output: AtomicOutputFile) throws {
        let path = output.finalURL.path
        let ticks = GIFWriter.presentationTicks(frames: video.frameCount, fps: fps)
        // The muxer otherwise repeats the previous delay for the last frame.
        let lastDelay = ticks[video.frameCount] - ticks[video.frameCount - 1]
        let muxer = try MuxedEncoder(ff, path: output.temporaryPath, displayPath: path, format: format, codec: codec,
                                     options: [], muxerOptions: [("final_delay", String(lastDelay))],
                                     metadata: []) { c in
            c.pointee.width = Int32(video.width)
            c.pointee.height = Int32(video.height)
            c.pointee.pix_fmt = AV_PIX_FMT_PAL8
            c.pointee.time_base = AVRational(num: 1, den: 100)
            c.pointee.framerate = ff.av_d2q(fps, 100_000)
        }
        let frame = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: AV_PIX_FMT_PAL8, width: video.width,
                                                     height: video.height))
        guard let picture = frame.pointer else {
            throw VideoIOError(.encodingFailed, path: path, reason: "cannot allocate a palette frame")
        }
        let palette = MedianCutPalette(fitting: video)
        try video.pixels.withUnsafeBufferPointer { pixels in
            for index in 0..<video.frameCount {
                let writable = ff.av_frame_make_writable(picture)
                if writable < 0 {
                    throw VideoIOError(.encodingFailed, path: path, reason: "cannot reuse the frame buffer",
                                       ffmpegCode: writable)
                }
                GIFWriter.fill(picture, from: pixels.baseAddress! + index * video.frameSize, width: video.width,
                               height: video.height, palette: palette)
                picture.pointee.pts = ticks[index]
                try muxer.encode(picture, duration: ticks[index + 1] - ticks[index])
            }
        }
        try muxer.finish()
    }

    /// Start times in centiseconds of each frame plus the end time, strictly increasing.
    static func presentationTicks(frames: Int, fps: Double) -> [Int64] {
        var ticks: [Int64] = []
        ticks.reserveCapacity(frames + 1)
        for index in 0...frames {
            let ideal = Int64((Double(index) * 100 / fps).rounded())
            ticks.append(max(ideal, (ticks.last ?? -1) + 1))
        }
        return ticks
    }

    /// Writes the palette (ARGB words, opaque) into `frame.data[1]` and the indices of one RGB frame into
    /// plane 0, row by row at the frame's stride.
    static func fill(_ frame: UnsafeMutablePointer<AVFrame>, from rgb: UnsafePointer<UInt8>, width: Int, height: Int,
                     palette: MedianCutPalette) {
        guard let indices = frame.pointee.data.0, let paletteBytes = frame.pointee.data.1 else { return }
        let stride = Int(frame.pointee.linesize.0)
        paletteBytes.withMemoryRebound(to: UInt32.self, capacity: 256) { words in
            for i in 0..<256 {
                guard i < palette.colours.count else { words[i] = 0xFF00_0000; continue }
                let (r, g, b) = palette.colours[i]
                words[i] = 0xFF00_0000 | UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
            }
        }
        for y in 0..<height {
            palette.map(rgb + y * width * 3, count: width, into: indices + y * stride)
        }
    }
}
