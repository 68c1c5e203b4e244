import CFFmpeg
import Foundation
import VideoCommon

/// Writes an `RGBVideo` as a video file (MP4 unless the extension names another container FFmpeg knows)
/// through libavformat/libavcodec, following the write sequence of swift-notes.md §4; H.264 in a `.mp4`
/// (the default) goes through libx264 directly and our own MP4 writer instead (`H264MP4Writer`: the same
/// H.264 samples and decoded frames, without loading libavcodec's ~130 libraries).
///
/// Rules, chosen once and kept:
/// - **Frame rate:** the clip's own `video.fps` is used. The writer's `fps` applies only to clips whose
///   `fps` is not a positive finite number.
/// - **Codec:** H.264 (libx264, `preset veryfast`, the given CRF, macroblock-tree rate control off so
///   output bytes are reproducible) when available, else MPEG-4 Part 2 at a
///   fixed quantiser derived from the CRF (`max(2, crf / 6)`, so CRF 18 gives q 3). Pixels are yuv420p
///   with BT.709 limited-range colour, tagged as such, so browsers and players agree on colours.
/// - **Odd sizes:** yuv420p needs even dimensions, so the picture is padded to even by repeating the last
///   column/row. The original size is stored in the container's `comment` tag (`tdm-video:size=WxH`);
///   `VideoReader` crops back to it, other players show the extra edge row/column.
/// - **Completeness:** each packet carries its duration (so the last frame survives the MP4 edit list),
///   the encoder is flushed, and the file is written under a hidden temporary name in the same directory,
///   renamed only when complete and removed on any error.
public struct VideoWriter: Sendable {
    public var fps: Double
    public var crf: Int
    public var codec: VideoCodecChoice
    /// Whether H.264 MP4s may be written without libavcodec/libavformat (`H264MP4Writer`); tests turn it off
    /// to compare the two paths.
    var directH264 = true

    public init(fps: Double = 8, crf: Int = 18, codec: VideoCodecChoice = .auto) {
        self.fps = fps
        self.crf = crf
        self.codec = codec
    }

    /// Writes `video` to `url`, replacing any file there.
    public func write(_ video: RGBVideo, to url: URL) throws {
        let path = url.path
        try validate(video, path: path)
        if directH264, H264MP4Writer.handles(url, codec: codec), let pixels = FFmpegLibrary.pixels,
           case let rate = try frameRate(pixels.av_d2q, for: video, path: path),
           MP4File.durations(frames: video.frameCount, rate: (Int(rate.num), Int(rate.den))) != nil {
            // H.264 in MP4 without libavcodec/libavformat: the same frames, ~30 ms less loading (H264MP4Writer).
            // A clip whose duration needs 64-bit boxes goes through libavformat below.
            let output = try AtomicOutputFile(url)
            do {
                try H264MP4Writer.encode(video, rate: rate, crf: crf, metadata: sizeTag(video), to: output)
                try output.commit()
            } catch {
                output.discard()
                throw error
            }
            return
        }
        let ff = try FFmpegLibrary.api(for: path)
        let rate = try frameRate(ff.av_d2q, for: video, path: path)
        let encoder = try selectEncoder(ff, path: path)
        let output = try AtomicOutputFile(url)
        do {
            try encode(ff, video, rate: rate, encoder: encoder, to: output)
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    /// Writes a list of equally sized RGB frames (each `width*height*3` bytes, rows top to bottom) at `fps`.
    public func write(frames: [[UInt8]], width: Int, height: Int, fps: Double, to url: URL) throws {
        let path = url.path
        guard width > 0, height > 0 else {
            throw VideoIOError(.invalidInput, path: path, reason: "frame size \(width)x\(height) is not positive")
        }
        guard !frames.isEmpty else {
            throw VideoIOError(.invalidInput, path: path, reason: "there are no frames to write")
        }
        let expected = width * height * 3
        var pixels = [UInt8]()
        pixels.reserveCapacity(expected * frames.count)
        for (index, frame) in frames.enumerated() {
            guard frame.count == expected else {
                throw VideoIOError(.invalidInput, path: path,
                                   reason: "frame \(index) holds \(frame.count) bytes but a \(width)x\(height) "
                                       + "RGB frame needs \(expected): frames must all have the same size")
            }
            pixels.append(contentsOf: frame)
        }
        try write(RGBVideo(width: width, height: height, fps: fps, pixels: pixels), to: url)
    }

    // MARK: - Steps

    private func validate(_ video: RGBVideo, path: String) throws {
        guard video.width > 0, video.height > 0 else {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "the clip size \(video.width)x\(video.height) is not positive")
        }
        guard video.width <= 16384, video.height <= 16384 else {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "the clip size \(video.width)x\(video.height) is too large to encode")
        }
        guard video.pixels.count % video.frameSize == 0 else {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "the clip holds \(video.pixels.count) bytes, not a whole number of "
                                   + "\(video.width)x\(video.height) RGB frames")
        }
        guard video.frameCount > 0 else {
            throw VideoIOError(.invalidInput, path: path, reason: "the clip has no frames")
        }
        guard (0...51).contains(crf) else {
            throw VideoIOError(.invalidInput, path: path, reason: "CRF \(crf) is outside 0...51")
        }
    }

    /// The frame rate as a rational (the encoder time base is its inverse).
    private func frameRate(_ d2q: @convention(c) (Double, Int32) -> AVRational, for video: RGBVideo, path: String) throws -> AVRational {
        let chosen = video.fps.isFinite && video.fps > 0 ? video.fps : fps
        guard chosen.isFinite, chosen > 0, chosen <= 1000 else {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "frame rate \(video.fps) (fallback \(fps)) is not in (0, 1000]")
        }
        let rate = d2q(chosen, 100_000)
        guard rate.num > 0, rate.den > 0 else {
            throw VideoIOError(.invalidInput, path: path, reason: "frame rate \(chosen) has no rational form")
        }
        return rate
    }

    private enum Encoder { case h264(UnsafePointer<AVCodec>), mpeg4(UnsafePointer<AVCodec>) }

    private func selectEncoder(_ ff: cffmpeg_api, path: String) throws -> Encoder {
        let x264 = codec == .mpeg4 ? nil : ff.avcodec_find_encoder_by_name("libx264")
        if let x264 { return .h264(x264) }
        if codec == .h264 {
            throw VideoIOError(.codecUnavailable, path: path, reason: "this FFmpeg build has no libx264 encoder")
        }
        guard let mpeg4 = ff.avcodec_find_encoder(AV_CODEC_ID_MPEG4) else {
            throw VideoIOError(.codecUnavailable, path: path, reason: "this FFmpeg build has no MPEG-4 encoder")
        }
        return .mpeg4(mpeg4)
    }

    private func encode(_ ff: cffmpeg_api, _ video: RGBVideo, rate: AVRational, encoder: Encoder, to output: AtomicOutputFile) throws {
        let path = output.finalURL.path
        let format = ff.av_guess_format(nil, output.finalURL.lastPathComponent, nil) ?? ff.av_guess_format("mp4", nil, nil)
        guard let format else {
            throw VideoIOError(.codecUnavailable, path: path, reason: "this FFmpeg build has no MP4 muxer")
        }
        let evenWidth = (video.width + 1) & ~1, evenHeight = (video.height + 1) & ~1
        let codec: UnsafePointer<AVCodec>
        var options: [(String, String)] = []
        var quantiser: Int32? = nil
        switch encoder {
        case .h264(let c):
            codec = c
            // mbtree off: on tiny frames libx264's macroblock-tree rate control reads uninitialised memory
            // (the ffmpeg command line's own 64x64 output changes with MALLOC_PERTURB_), so the same clip
            // could encode to different bytes. Without it, equal clips give equal files.
            options = [("preset", "veryfast"), ("crf", String(crf)), ("x264-params", "mbtree=0")]
        case .mpeg4(let c):
            codec = c
            quantiser = Int32(max(2, crf / 6))
        }
        // 0 means the container definitely cannot carry the codec (e.g. a `.wav` name); a negative answer
        // means the muxer does not say, and the header write below will tell.
        if ff.avformat_query_codec(format, codec.pointee.id, FF_COMPLIANCE_NORMAL) == 0 {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "the \(String(cString: format.pointee.name)) container chosen from the file "
                                   + "name cannot hold \(String(cString: codec.pointee.name)) video; use .mp4")
        }
        let metadata = sizeTag(video)
        let small = evenWidth * evenHeight <= 256 * 256
        let muxer = try MuxedEncoder(
            ff, path: output.temporaryPath, displayPath: path, format: format, codec: codec, options: options,
            metadata: metadata
        ) { c in
            c.pointee.width = Int32(evenWidth)
            c.pointee.height = Int32(evenHeight)
            c.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            c.pointee.framerate = rate
            c.pointee.time_base = AVRational(num: rate.den, den: rate.num)
            c.pointee.gop_size = Int32(max(1, min(250, (Double(rate.num) / Double(rate.den) * 2).rounded())))
            c.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
            c.pointee.color_range = AVCOL_RANGE_MPEG
            c.pointee.colorspace = AVCOL_SPC_BT709
            c.pointee.color_primaries = AVCOL_PRI_BT709
            c.pointee.color_trc = AVCOL_TRC_BT709
            // Tiny frames encode faster on one thread than with x264's frame threads and lookahead.
            c.pointee.thread_count = small ? 1 : 0
            if let quantiser {
                c.pointee.flags |= AV_CODEC_FLAG_QSCALE
                c.pointee.global_quality = FF_QP2LAMBDA * quantiser
            }
        }
        let context = muxer.context
        let rgb = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: AV_PIX_FMT_RGB24, width: evenWidth, height: evenHeight))
        let yuv = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: context.pointee.pix_fmt, width: evenWidth,
                                                   height: evenHeight))
        let scaler = OwnedScaler(ff, ff.sws_getContext(Int32(evenWidth), Int32(evenHeight), AV_PIX_FMT_RGB24,
                                                Int32(evenWidth), Int32(evenHeight), context.pointee.pix_fmt,
                                                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP,
                                                nil, nil, nil))
        guard let rgbFrame = rgb.pointer, let yuvFrame = yuv.pointer, let sws = scaler.context else {
            throw VideoIOError(.encodingFailed, path: path, reason: "cannot allocate conversion buffers")
        }
        let bt709 = ff.sws_getCoefficients(SWS_CS_ITU709)
        _ = ff.sws_setColorspaceDetails(sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16)
        try video.pixels.withUnsafeBufferPointer { pixels in
            guard let base = pixels.baseAddress else { return }
            for index in 0..<video.frameCount {
                FFmpegFrames.copyPadded(rgb: base + index * video.frameSize, width: video.width,
                                        height: video.height, into: rgbFrame)
                let writable = ff.av_frame_make_writable(yuvFrame)
                if writable < 0 {
                    throw VideoIOError(.encodingFailed, path: path, reason: "cannot reuse the frame buffer",
                                       ffmpegCode: writable)
                }
                FFmpegFrames.scale(ff, sws, from: rgbFrame, rows: Int32(evenHeight), into: yuvFrame)
                yuvFrame.pointee.pts = Int64(index)
                yuvFrame.pointee.color_range = AVCOL_RANGE_MPEG
                yuvFrame.pointee.colorspace = AVCOL_SPC_BT709
                try muxer.encode(yuvFrame, duration: 1)
            }
        }
        try muxer.finish()
    }

    /// The container tag recording an odd size before padding to even (none for even sizes).
    private func sizeTag(_ video: RGBVideo) -> [(String, String)] {
        let evenWidth = (video.width + 1) & ~1, evenHeight = (video.height + 1) & ~1
        guard evenWidth != video.width || evenHeight != video.height else { return [] }
        return [("comment", "\(VideoWriter.sizeTagPrefix)\(video.width)x\(video.height)")]
    }

    /// Prefix of the container `comment` tag that records the size before padding to even.
    static let sizeTagPrefix = "tdm-video:size="
}
