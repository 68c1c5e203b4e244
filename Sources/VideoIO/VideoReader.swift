import AtomicFiles
import CFFmpeg
import Foundation
import VideoCommon

/// Reads any video or picture file FFmpeg can demux and decode (MP4/H.264, WebM/VP9, AVI/MPEG-4,
/// animated GIF, PNG...) into an `RGBVideo`, following the read-back sequence of swift-notes.md §4.
///
/// - Frames are converted to RGB24 from the decoder's own line strides (which include padding), using the
///   colour matrix and range the frame is tagged with (BT.601 when untagged, as FFmpeg assumes).
/// - The frame rate is measured from the packets read: their count over the time they span (first start
///   to last end, from packet timestamps and durations). This is exact for constant-rate files and the
///   true average for variable-delay ones such as GIFs. When packets carry no durations (some WebM and
///   raw streams), the stream's average rate is used, else its base rate, else 25 (FFmpeg's default).
/// - Files written by `VideoWriter` from odd-sized clips are cropped back to their recorded size.
/// - If a stream changes size midway, later frames are scaled to the first frame's size.
/// - A packet the decoder rejects, or an MP4 whose index lists more frames than can be read, is an
///   error: a corrupt clip should not be scored as if it were whole.
public enum VideoReader {
    /// Decodes the best video stream of `url`, at most `maxFrames` frames when given.
    public static func read(_ url: URL, maxFrames: Int? = nil) throws -> RGBVideo {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VideoIOError(.missingInput, path: path, reason: "the file does not exist")
        }
        if isDirectory.boolValue {
            throw VideoIOError(.unreadableInput, path: path, reason: "this is a directory, not a video file")
        }
        // stat, never open, anything that is not a regular file: opening a FIFO blocks until a writer comes,
        // and a device (/dev/zero) never ends.
        if let problem = InputFile.problem(at: path) {
            throw VideoIOError(.unreadableInput, path: path, reason: problem)
        }
        if let maxFrames, maxFrames < 1 {
            throw VideoIOError(.invalidInput, path: path, reason: "maxFrames must be at least 1, not \(maxFrames)")
        }
        let decoder = try DemuxedDecoder(try FFmpegLibrary.api(for: path), path: path)
        return try decoder.decodeAll(maxFrames: maxFrames)
    }
}

/// The demuxer, decoder and scaler state for one read; freed when the read ends.
private final class DemuxedDecoder {
    private let ff: cffmpeg_api
    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private let decoded: OwnedFrame<cffmpeg_api>
    private var rgb: OwnedFrame<cffmpeg_api>
    private let scaler: OwnedScaler<cffmpeg_api>
    private let streamIndex: Int32
    private let path: String
    private let cropWidth: Int?
    private let cropHeight: Int?

    // Output state.
    private var width = 0, height = 0
    private var pixels: [UInt8] = []
    private var frames = 0
    // Packet timing, in stream time base, for the frame-rate measurement.
    private var timedPackets = 0
    private var firstStart = Int64.max, lastEnd = Int64.min
    private var untimedPackets = false

    init(_ ff: cffmpeg_api, path: String) throws {
        self.ff = ff
        self.path = path
        decoded = OwnedFrame(ff, ff.av_frame_alloc())
        rgb = OwnedFrame(ff, nil)
        scaler = OwnedScaler(ff)
        var result = ff.avformat_open_input(&formatContext, path, nil, nil)
        guard result >= 0, let ic = formatContext else {
            throw VideoIOError(.unreadableInput, path: path, reason: "not a video file FFmpeg can open",
                               ffmpegCode: result)
        }
        result = ff.avformat_find_stream_info(ic, nil)
        if result < 0 {
            throw VideoIOError(.unreadableInput, path: path, reason: "cannot find the streams in the file",
                               ffmpegCode: result)
        }
        var codec: UnsafePointer<AVCodec>? = nil
        let index = ff.av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)
        guard index >= 0, let codec else {
            throw VideoIOError(.unreadableInput, path: path,
                               reason: index >= 0 ? "no decoder for its video stream" : "the file has no video stream",
                               ffmpegCode: index >= 0 ? cffmpeg_averror(ENOSYS) : index)
        }
        streamIndex = index
        guard let c = ff.avcodec_alloc_context3(codec), let pkt = ff.av_packet_alloc(), decoded.pointer != nil else {
            throw VideoIOError(.unreadableInput, path: path, reason: "out of memory setting up the decoder")
        }
        codecContext = c
        packet = pkt
        guard let stream = ic.pointee.streams[Int(index)] else {
            throw VideoIOError(.unreadableInput, path: path, reason: "the video stream has no parameters")
        }
        result = ff.avcodec_parameters_to_context(c, stream.pointee.codecpar)
        if result < 0 {
            throw VideoIOError(.unreadableInput, path: path, reason: "bad codec parameters", ffmpegCode: result)
        }
        let area = Int(c.pointee.width) * Int(c.pointee.height)
        c.pointee.thread_count = area > 0 && area <= 256 * 256 ? 1 : 0
        result = ff.avcodec_open2(c, codec, nil)
        if result < 0 {
            throw VideoIOError(.unreadableInput, path: path,
                               reason: "cannot open the \(String(cString: codec.pointee.name)) decoder",
                               ffmpegCode: result)
        }
        (cropWidth, cropHeight) = DemuxedDecoder.recordedSize(ff, ic.pointee.metadata)
    }

    deinit {
        ff.avcodec_free_context(&codecContext)
        ff.avformat_close_input(&formatContext)
        ff.av_packet_free(&packet)
    }

    /// The `tdm-video:size=WxH` tag `VideoWriter` leaves on clips it padded to even size.
    private static func recordedSize(_ ff: cffmpeg_api, _ metadata: OpaquePointer?) -> (Int?, Int?) {
        guard let entry = ff.av_dict_get(metadata, "comment", nil, 0), let value = entry.pointee.value else {
            return (nil, nil)
        }
        let text = String(cString: value)
        guard text.hasPrefix(VideoWriter.sizeTagPrefix) else { return (nil, nil) }
        let parts = text.dropFirst(VideoWriter.sizeTagPrefix.count).split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return (nil, nil) }
        return (w, h)
    }

    func decodeAll(maxFrames: Int?) throws -> RGBVideo {
        guard let ic = formatContext, let c = codecContext, let pkt = packet,
              let stream = ic.pointee.streams[Int(streamIndex)] else {
            throw VideoIOError(.unreadableInput, path: path, reason: "decoder not set up")
        }
        let promised = Int(stream.pointee.nb_frames)
        // Reserve what the header promises, but never trust a (possibly corrupt) header for more than 256 MB.
        let frameBytes = 3 * max(1, Int(c.pointee.width)) * max(1, Int(c.pointee.height))
        let expectedFrames = min(max(0, promised), maxFrames ?? Int.max)
        if expectedFrames > 0, frameBytes <= (1 << 28) / expectedFrames {
            pixels.reserveCapacity(expectedFrames * frameBytes)
        }
        let end = cffmpeg_averror_eof()
        var packets = 0
        reading: while maxFrames.map({ frames < $0 }) ?? true {
            let result = ff.av_read_frame(ic, pkt)
            if result == end { break reading }
            if result < 0 {
                throw VideoIOError(.unreadableInput, path: path,
                                   reason: "reading failed after \(frames) frames (corrupt or truncated file?)",
                                   ffmpegCode: result)
            }
            defer { ff.av_packet_unref(pkt) }
            guard pkt.pointee.stream_index == streamIndex else { continue }
            packets += 1
            recordTiming(pkt)
            var sent = ff.avcodec_send_packet(c, pkt)
            if sent == cffmpeg_eagain() {
                // The decoder wants its output taken first; then it accepts the packet.
                try receiveFrames(maxFrames: maxFrames)
                if let maxFrames, frames >= maxFrames { break reading }
                sent = ff.avcodec_send_packet(c, pkt)
            }
            if sent < 0 {
                throw VideoIOError(.unreadableInput, path: path,
                                   reason: "the decoder rejected packet \(packets) (corrupt data?)", ffmpegCode: sent)
            }
            try receiveFrames(maxFrames: maxFrames)
        }
        if maxFrames.map({ frames < $0 }) ?? true {
            let flushed = ff.avcodec_send_packet(c, nil)
            if flushed < 0 && flushed != end {
                throw VideoIOError(.unreadableInput, path: path, reason: "cannot flush the decoder", ffmpegCode: flushed)
            }
            try receiveFrames(maxFrames: maxFrames)
        }
        guard frames > 0 else {
            throw VideoIOError(.unreadableInput, path: path, reason: "the file contains no decodable video frames")
        }
        // The MP4 index knows exactly how many frames (samples) the file holds; the demuxer skips the ones
        // whose bytes are missing, so fewer packets means a damaged file. Packets, not decoded frames, are
        // compared: an edit list may legitimately hide decoded frames.
        let isMP4 = String(cString: ic.pointee.iformat.pointee.name).contains("mp4")
        if isMP4, maxFrames == nil, promised > 0, packets < promised {
            throw VideoIOError(.unreadableInput, path: path,
                               reason: "only \(packets) of the \(promised) frames the file lists could be read "
                                   + "(truncated or corrupt file?)")
        }
        return RGBVideo(width: width, height: height, fps: frameRate(stream), pixels: pixels)
    }

    private func recordTiming(_ pkt: UnsafeMutablePointer<AVPacket>) {
        let pts = pkt.pointee.pts, duration = pkt.pointee.duration
        guard pts != cffmpeg_nopts_value(), duration > 0 else {
            untimedPackets = true
            return
        }
        timedPackets += 1
        firstStart = min(firstStart, pts)
        lastEnd = max(lastEnd, pts + duration)
    }

    private func frameRate(_ stream: UnsafeMutablePointer<AVStream>) -> Double {
        let base = stream.pointee.time_base
        if !untimedPackets, timedPackets > 0, lastEnd > firstStart, base.num > 0, base.den > 0 {
            return Double(timedPackets) * Double(base.den) / (Double(lastEnd - firstStart) * Double(base.num))
        }
        for rate in [stream.pointee.avg_frame_rate, stream.pointee.r_frame_rate] where rate.num > 0 && rate.den > 0 {
            return Double(rate.num) / Double(rate.den)
        }
        return 25
    }

    private func receiveFrames(maxFrames: Int?) throws {
        guard let c = codecContext, let frame = decoded.pointer else { return }
        let again = cffmpeg_eagain(), end = cffmpeg_averror_eof()
        while maxFrames.map({ frames < $0 }) ?? true {
            let result = ff.avcodec_receive_frame(c, frame)
            if result == again || result == end { return }
            if result < 0 {
                throw VideoIOError(.unreadableInput, path: path,
                                   reason: "decoding failed after \(frames) frames", ffmpegCode: result)
            }
            defer { ff.av_frame_unref(frame) }
            try append(frame)
        }
    }

    /// Converts `frame` to RGB24 and appends it (cropped to the recorded size if there is one).
    private func append(_ frame: UnsafeMutablePointer<AVFrame>) throws {
        let frameWidth = Int(frame.pointee.width), frameHeight = Int(frame.pointee.height)
        guard frameWidth > 0, frameHeight > 0 else {
            throw VideoIOError(.unreadableInput, path: path, reason: "the decoder produced an empty frame")
        }
        if rgb.pointer == nil {
            rgb = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: AV_PIX_FMT_RGB24, width: frameWidth, height: frameHeight))
            guard rgb.pointer != nil else {
                throw VideoIOError(.unreadableInput, path: path, reason: "cannot allocate a \(frameWidth)x\(frameHeight) frame")
            }
            width = min(cropWidth ?? frameWidth, frameWidth)
            height = min(cropHeight ?? frameHeight, frameHeight)
        }
        guard let target = rgb.pointer else { return }
        let targetWidth = target.pointee.width, targetHeight = target.pointee.height
        let format = AVPixelFormat(rawValue: frame.pointee.format)
        scaler.context = ff.sws_getCachedContext(scaler.context, Int32(frameWidth), Int32(frameHeight), format,
                                              targetWidth, targetHeight, AV_PIX_FMT_RGB24,
                                              SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
        guard let sws = scaler.context else {
            throw VideoIOError(.unreadableInput, path: path,
                               reason: "cannot convert \(FFmpegFrames.name(ff, of: format)) frames to RGB")
        }
        applyColourDetails(sws, frame: frame, format: format)
        FFmpegFrames.scale(ff, sws, from: frame, rows: Int32(frameHeight), into: target)

        let rowBytes = width * 3
        let start = pixels.count
        pixels.append(contentsOf: repeatElement(0, count: rowBytes * height))
        guard let source = target.pointee.data.0 else { return }
        let stride = Int(target.pointee.linesize.0)
        pixels.withUnsafeMutableBufferPointer { buffer in
            let destination = buffer.baseAddress! + start
            for y in 0..<height {
                (destination + y * rowBytes).update(from: source + y * stride, count: rowBytes)
            }
        }
        frames += 1
    }

    /// Uses the matrix and range the frame declares (YUV inputs only; RGB and palette inputs need none).
    private func applyColourDetails(_ sws: OpaquePointer, frame: UnsafeMutablePointer<AVFrame>, format: AVPixelFormat) {
        guard let descriptor = ff.av_pix_fmt_desc_get(format),
              (descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) == 0,
              descriptor.pointee.nb_components >= 3 else { return }
        let matrix: Int32
        switch frame.pointee.colorspace {
        case AVCOL_SPC_BT709: matrix = SWS_CS_ITU709
        case AVCOL_SPC_FCC: matrix = SWS_CS_FCC
        case AVCOL_SPC_SMPTE240M: matrix = SWS_CS_SMPTE240M
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: matrix = SWS_CS_BT2020
        default: matrix = SWS_CS_DEFAULT
        }
        let fullRange: Int32 = frame.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
        var inverse: UnsafeMutablePointer<Int32>? = nil, table: UnsafeMutablePointer<Int32>? = nil
        var sourceRange: Int32 = 0, destinationRange: Int32 = 0
        var brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        guard ff.sws_getColorspaceDetails(sws, &inverse, &sourceRange, &table, &destinationRange,
                                       &brightness, &contrast, &saturation) >= 0 else { return }
        // Deprecated yuvj* formats already imply full range; keep what the scaler chose for them.
        let range = sourceRange == 1 ? 1 : fullRange
        let coefficients = ff.sws_getCoefficients(matrix)
        _ = ff.sws_setColorspaceDetails(sws, coefficients, range, table, 1, brightness, contrast, saturation)
    }
}
