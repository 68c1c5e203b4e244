import CFFmpeg
import Foundation

/// Writes `video` as an endlessly looping animated GIF at `url` (see `GIFWriter`).
public func writeGIF(_ video: RGBVideo, to url: URL) throws {
    try GIFWriter().write(video, to: url)
}

/// Animated GIF previews through FFmpeg's `gif` encoder and muxer, for a quick look in any browser or
/// chat window without a video player.
///
/// GIF holds at most 256 colours. Rather than FFmpeg's two-pass palettegen/paletteuse filters (which
/// need libavfilter), frames are mapped to one fixed 6×7×6 colour cube (252 colours, green finest
/// because the eye is most sensitive to it) with 4×4 ordered dithering. A fixed palette and ordered
/// dither keep still areas identical from frame to frame, so the preview does not shimmer and the
/// encoder's inter-frame transparency works. Frame delays are in GIF's centiseconds, rounded so the
/// total duration tracks `frameCount / fps`.
public struct GIFWriter: Sendable {
    /// Used only when the clip's own `fps` is not a positive finite number.
    public var fallbackFPS: Double

    public init(fallbackFPS: Double = 8) { self.fallbackFPS = fallbackFPS }

    public func write(_ video: RGBVideo, to url: URL) throws {
        FFmpegLogging.configure()
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
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_GIF), let format = av_guess_format("gif", nil, nil) else {
            throw VideoIOError(.codecUnavailable, path: path, reason: "this FFmpeg build has no GIF encoder or muxer")
        }
        let output = try AtomicOutputFile(url)
        do {
            try encode(video, fps: fps, codec: codec, format: format, output: output)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    private func encode(_ video: RGBVideo, fps: Double, codec: UnsafePointer<AVCodec>,
                        format: UnsafePointer<AVOutputFormat>, output: AtomicOutputFile) throws {
        let path = output.finalURL.path
        let ticks = GIFWriter.presentationTicks(frames: video.frameCount, fps: fps)
        // The muxer otherwise repeats the previous delay for the last frame.
        let lastDelay = ticks[video.frameCount] - ticks[video.frameCount - 1]
        let muxer = try MuxedEncoder(path: output.temporaryPath, displayPath: path, format: format, codec: codec,
                                     options: [], muxerOptions: [("final_delay", String(lastDelay))],
                                     metadata: []) { c in
            c.pointee.width = Int32(video.width)
            c.pointee.height = Int32(video.height)
            c.pointee.pix_fmt = AV_PIX_FMT_PAL8
            c.pointee.time_base = AVRational(num: 1, den: 100)
            c.pointee.framerate = av_d2q(fps, 100_000)
        }
        let frame = OwnedFrame(FFmpegFrames.allocate(format: AV_PIX_FMT_PAL8, width: video.width,
                                                     height: video.height))
        guard let picture = frame.pointer else {
            throw VideoIOError(.encodingFailed, path: path, reason: "cannot allocate a palette frame")
        }
        try video.pixels.withUnsafeBufferPointer { pixels in
            for index in 0..<video.frameCount {
                let writable = av_frame_make_writable(picture)
                if writable < 0 {
                    throw VideoIOError(.encodingFailed, path: path, reason: "cannot reuse the frame buffer",
                                       ffmpegCode: writable)
                }
                GIFWriter.quantise(pixels.baseAddress! + index * video.frameSize, width: video.width,
                                   height: video.height, into: picture)
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

    static let levels = (red: 6, green: 7, blue: 6)

    /// 4×4 Bayer thresholds in (0, 1).
    private static let bayer: [Float] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5].map { ($0 + 0.5) / 16 }

    /// Per channel, per Bayer cell, per 8-bit value: the dithered level index.
    private static let tables: (red: [UInt8], green: [UInt8], blue: [UInt8]) = (
        table(levels.red), table(levels.green), table(levels.blue))

    private static func table(_ count: Int) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 16 * 256)
        for cell in 0..<16 {
            for value in 0..<256 {
                let scaled = Float(value) * Float(count - 1) / 255
                table[cell * 256 + value] = UInt8(min(count - 1, Int(scaled + bayer[cell])))
            }
        }
        return table
    }

    /// Maps one RGB frame to palette indices and writes the palette (ARGB words) into `frame.data[1]`.
    static func quantise(_ rgb: UnsafePointer<UInt8>, width: Int, height: Int, into frame: UnsafeMutablePointer<AVFrame>) {
        guard let indices = frame.pointee.data.0, let paletteBytes = frame.pointee.data.1 else { return }
        let stride = Int(frame.pointee.linesize.0)
        let (nr, ng, nb) = levels
        paletteBytes.withMemoryRebound(to: UInt32.self, capacity: 256) { palette in
            for i in 0..<256 {
                let r = i / (ng * nb), g = (i / nb) % ng, b = i % nb
                guard r < nr else { palette[i] = 0xFF00_0000; continue }
                let red = UInt32((r * 255 + (nr - 1) / 2) / (nr - 1))
                let green = UInt32((g * 255 + (ng - 1) / 2) / (ng - 1))
                let blue = UInt32((b * 255 + (nb - 1) / 2) / (nb - 1))
                palette[i] = 0xFF00_0000 | red << 16 | green << 8 | blue
            }
        }
        tables.red.withUnsafeBufferPointer { redTable in
            tables.green.withUnsafeBufferPointer { greenTable in
                tables.blue.withUnsafeBufferPointer { blueTable in
                    for y in 0..<height {
                        let source = rgb + y * width * 3
                        let row = indices + y * stride
                        for x in 0..<width {
                            let cell = ((y & 3) << 2 | (x & 3)) << 8
                            let r = Int(redTable[cell + Int(source[x * 3])])
                            let g = Int(greenTable[cell + Int(source[x * 3 + 1])])
                            let b = Int(blueTable[cell + Int(source[x * 3 + 2])])
                            row[x] = UInt8((r * ng + g) * nb + b)
                        }
                    }
                }
            }
        }
    }
}
