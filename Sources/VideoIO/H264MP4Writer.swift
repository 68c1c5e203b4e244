import CFFmpeg
import CX264
import Foundation
import VideoCommon

/// `VideoWriter`'s path for H.264 in MP4 (the default output): libx264 driven directly and our own MP4
/// writer (`MP4File`), without libavcodec and libavformat.
///
/// Why: opening libavcodec and libavformat loads ~130 shared libraries (every codec Debian's FFmpeg
/// carries) whose relocation took ~30 ms of CPU, a third of a single-clip `sample`; libx264, libavutil
/// and libswscale together load in ~2 ms. Nothing else changes: the pictures are converted to yuv420p by
/// the same libswscale call as before, libx264 gets the parameters FFmpeg's libx264 wrapper gave it for
/// VideoWriter's settings (Sources/CX264/shim.h), and the NAL units are stored as FFmpeg's MP4 muxer stored
/// them (the first frame's sample led by x264's version SEI), so the frames decode to the same pixels and
/// the samples are the same bytes (H264MP4WriterTests compares both paths). The container around them
/// is ours (see `MP4File`).
///
/// The path is taken for `.mp4` names when the codec is `.auto` or `.h264` and libx264 of the header's
/// version, libavutil and libswscale can be opened; otherwise VideoWriter uses libavformat/libavcodec as
/// before (MPEG-4 Part 2, other containers, a libx264 of another version).
enum H264MP4Writer {
    /// libx264, opened once (thread-safe `static let`).
    private static let x264: Result<cx264_api, FFmpegLibrary.LoadFailure> = {
        let name = String(cString: cx264_soname())
        guard let handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL) else {
            return .failure(.init(library: name, reason: dlerror().map { String(cString: $0) } ?? "dlopen failed"))
        }
        let table = UnsafeMutablePointer<cx264_api>.allocate(capacity: 1)
        defer { table.deallocate() }
        if let missing = cx264_resolve(table, handle) {
            return .failure(.init(library: name, reason: "it has no function \(String(cString: missing))"))
        }
        return .success(table.pointee)
    }()

    /// The libraries this path needs, or nil when it cannot run here.
    static var libraries: (pixels: cffmpeg_pixels_api, x264: cx264_api)? {
        guard case .success(let x) = x264, let pixels = FFmpegLibrary.pixels else { return nil }
        return (pixels, x)
    }

    /// Opens the libraries now (if not done yet) and reports whether this path can run.
    static var isAvailable: Bool { libraries != nil }

    /// Whether `VideoWriter` with `codec` takes this path for `url`.
    static func handles(_ url: URL, codec: VideoCodecChoice) -> Bool {
        codec != .mpeg4 && url.pathExtension.lowercased() == "mp4" && isAvailable
    }

    /// One encoded frame: its NAL units with 4-byte lengths, times in frames (1/fps).
    struct Packet {
        var bytes: [UInt8]
        var pts: Int64
        var dts: Int64
        var keyframe: Bool
    }

    /// Encodes `video` (already validated) at `rate` with CRF `crf` and writes the MP4 to `output`'s temporary
    /// path. `metadata` are container tags (the odd-size `comment`).
    static func encode(_ video: RGBVideo, rate: AVRational, crf: Int, metadata: [(String, String)],
                       to output: AtomicOutputFile) throws {
        let path = output.finalURL.path
        guard let (ff, x) = libraries else {
            throw VideoIOError(.libraryUnavailable, path: path, reason: "libx264, libavutil or libswscale cannot be loaded")
        }
        let evenWidth = (video.width + 1) & ~1, evenHeight = (video.height + 1) & ~1
        let keyint = Int32(max(1, min(250, (Double(rate.num) / Double(rate.den) * 2).rounded())))
        // Tiny frames encode faster on one thread than with x264's frame threads and lookahead (0: x264's own count).
        let threads: Int32 = evenWidth * evenHeight <= 256 * 256 ? 1 : 0
        var api = x
        guard let encoder = cx264_open(&api, Int32(evenWidth), Int32(evenHeight), rate.num, rate.den, Int32(crf), keyint, threads) else {
            throw VideoIOError(.encodingFailed, path: path, reason: "libx264 refused a \(evenWidth)x\(evenHeight) encoder at CRF \(crf)")
        }
        defer { api.encoder_close(encoder) }

        // SPS and PPS go to the sample description; x264's SEI (its version and options) leads the first frame.
        var nals: UnsafeMutablePointer<x264_nal_t>? = nil
        var count: Int32 = 0
        guard api.encoder_headers(encoder, &nals, &count) >= 0, let headerNALs = nals else {
            throw VideoIOError(.encodingFailed, path: path, reason: "libx264 gave no stream headers")
        }
        var sps: [UInt8] = [], pps: [UInt8] = [], sei: [UInt8] = []
        for i in 0..<Int(count) {
            let nal = headerNALs[i]
            let bytes = Array(UnsafeBufferPointer(start: nal.p_payload, count: Int(nal.i_payload)))
            switch nal.i_type {
            case Int32(NAL_SPS.rawValue): sps = Array(bytes.dropFirst(4))
            case Int32(NAL_PPS.rawValue): pps = Array(bytes.dropFirst(4))
            case Int32(NAL_SEI.rawValue): sei = bytes
            default: break
            }
        }
        guard sps.count >= 4, !pps.isEmpty else {
            throw VideoIOError(.encodingFailed, path: path, reason: "libx264's stream headers lack an SPS or PPS")
        }

        let rgb = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: AV_PIX_FMT_RGB24, width: evenWidth, height: evenHeight))
        let yuv = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: AV_PIX_FMT_YUV420P, width: evenWidth, height: evenHeight))
        let scaler = OwnedScaler(ff, ff.sws_getContext(Int32(evenWidth), Int32(evenHeight), AV_PIX_FMT_RGB24,
                                                       Int32(evenWidth), Int32(evenHeight), AV_PIX_FMT_YUV420P,
                                                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nil, nil, nil))
        guard let rgbFrame = rgb.pointer, let yuvFrame = yuv.pointer, let sws = scaler.context else {
            throw VideoIOError(.encodingFailed, path: path, reason: "cannot allocate conversion buffers")
        }
        let bt709 = ff.sws_getCoefficients(SWS_CS_ITU709)
        _ = ff.sws_setColorspaceDetails(sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16)

        var packets: [Packet] = []
        packets.reserveCapacity(video.frameCount)
        /// Collects what one call of the encoder gave (nothing, or one frame).
        func collect(_ size: Int32, _ nals: UnsafeMutablePointer<x264_nal_t>?, _ count: Int32,
                     pts: Int64, dts: Int64, keyframe: Int32, frame: Int) throws {
            if size < 0 {
                throw VideoIOError(.encodingFailed, path: path, reason: "libx264 failed on frame \(frame)")
            }
            guard size > 0, let nals else { return }
            var bytes = packets.isEmpty ? sei : []
            for i in 0..<Int(count) {
                bytes.append(contentsOf: UnsafeBufferPointer(start: nals[i].p_payload, count: Int(nals[i].i_payload)))
            }
            packets.append(Packet(bytes: bytes, pts: pts, dts: dts, keyframe: keyframe != 0))
        }
        try video.pixels.withUnsafeBufferPointer { pixels in
            guard let base = pixels.baseAddress else { return }
            for index in 0..<video.frameCount {
                FFmpegFrames.copyPadded(rgb: base + index * video.frameSize, width: video.width, height: video.height, into: rgbFrame)
                let writable = ff.av_frame_make_writable(yuvFrame)
                if writable < 0 {
                    throw VideoIOError(.encodingFailed, path: path, reason: "cannot reuse the frame buffer", ffmpegCode: writable)
                }
                FFmpegFrames.scale(ff, sws, from: rgbFrame, rows: Int32(evenHeight), into: yuvFrame)
                var planes: [UnsafeMutablePointer<UInt8>?] = [yuvFrame.pointee.data.0, yuvFrame.pointee.data.1, yuvFrame.pointee.data.2]
                var strides: [Int32] = [yuvFrame.pointee.linesize.0, yuvFrame.pointee.linesize.1, yuvFrame.pointee.linesize.2]
                var out: UnsafeMutablePointer<x264_nal_t>? = nil
                var n: Int32 = 0, pts: Int64 = 0, dts: Int64 = 0, key: Int32 = 0
                let size = planes.withUnsafeMutableBufferPointer { p in
                    strides.withUnsafeMutableBufferPointer { s in
                        cx264_encode(&api, encoder, p.baseAddress, s.baseAddress, Int64(index), &out, &n, &pts, &dts, &key)
                    }
                }
                try collect(size, out, n, pts: pts, dts: dts, keyframe: key, frame: index)
            }
        }
        // Flush: x264 holds frames back for its B-frame decisions and lookahead; one comes out per call.
        var calls = 0
        while api.encoder_delayed_frames(encoder) > 0 && calls <= video.frameCount {
            var out: UnsafeMutablePointer<x264_nal_t>? = nil
            var n: Int32 = 0, pts: Int64 = 0, dts: Int64 = 0, key: Int32 = 0
            let size = cx264_encode(&api, encoder, nil, nil, 0, &out, &n, &pts, &dts, &key)
            try collect(size, out, n, pts: pts, dts: dts, keyframe: key, frame: packets.count)
            calls += 1
        }
        guard packets.count == video.frameCount else {
            throw VideoIOError(.encodingFailed, path: path,
                               reason: "libx264 returned \(packets.count) frames for \(video.frameCount)")
        }
        let file = try MP4File.h264(sps: sps, pps: pps, packets: packets, width: evenWidth, height: evenHeight,
                                    rate: (Int(rate.num), Int(rate.den)), tags: metadata, path: path)
        try write(file, to: output.temporaryPath, displayPath: path)
    }

    /// Writes `bytes` to the temporary file at `path` (renamed into place by the caller).
    private static func write(_ bytes: [UInt8], to path: String, displayPath: String) throws {
        // Failures carry the system's error as FFmpeg's AVERROR(errno), with av_strerror's words, as the
        // libavformat path reports them.
        guard let file = fopen(path, "wb") else {
            throw VideoIOError(.unwritableOutput, path: displayPath, reason: "cannot create the file", ffmpegCode: cffmpeg_averror(errno))
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let writeErrno = written == bytes.count ? 0 : errno
        let closeErrno = fclose(file) == 0 ? 0 : errno
        if writeErrno != 0 || closeErrno != 0 {
            throw VideoIOError(.unwritableOutput, path: displayPath, reason: "cannot finish writing the file",
                               ffmpegCode: cffmpeg_averror(writeErrno != 0 ? writeErrno : closeErrno))
        }
    }
}
