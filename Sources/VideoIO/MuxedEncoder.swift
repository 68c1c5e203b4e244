import CFFmpeg

/// One encoder feeding one muxer, writing to a (temporary) path: the libavformat/libavcodec write
/// sequence of swift-notes.md §4 (mirroring the structure of FFmpeg's `doc/examples/mux.c`: add a
/// stream, open the encoder, write header, send frames, drain packets, flush, trailer).
///
/// Used by `VideoWriter` (MP4) and `GIFWriter` (GIF), through the loaded FFmpeg `ff`. Every frame carries a duration: packets that come
/// out without one get the duration of the frame with the same pts, since without it the MP4 edit list
/// cuts the last frame (the pitfall recorded in the notes).
final class MuxedEncoder {
    private let ff: cffmpeg_api
    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var ioOpen = false
    private var durations: [Int64: Int64] = [:]
    /// The path reported in errors (the final name, not the temporary one).
    private let displayPath: String

    /// Opens the muxer `format` on `path`, adds a stream and opens `codec` with `configure` and `options`.
    /// - Parameters:
    ///   - options: encoder options (e.g. `crf`).
    ///   - muxerOptions: container options (e.g. the GIF muxer's `final_delay`).
    ///   - metadata: container-level tags (e.g. `comment`).
    init(_ ff: cffmpeg_api, path: String, displayPath: String, format: UnsafePointer<AVOutputFormat>,
         codec: UnsafePointer<AVCodec>, options: [(String, String)], muxerOptions: [(String, String)] = [],
         metadata: [(String, String)], configure: (UnsafeMutablePointer<AVCodecContext>) -> Void) throws {
        self.ff = ff
        self.displayPath = displayPath
        var result = ff.avformat_alloc_output_context2(&formatContext, format, nil, path)
        guard result >= 0, let oc = formatContext else {
            throw VideoIOError(.encodingFailed, path: displayPath, reason: "cannot create the output container",
                               ffmpegCode: result)
        }
        guard let st = ff.avformat_new_stream(oc, nil), let c = ff.avcodec_alloc_context3(codec),
              let pkt = ff.av_packet_alloc() else {
            throw VideoIOError(.encodingFailed, path: displayPath, reason: "out of memory setting up the encoder")
        }
        stream = st
        codecContext = c
        packet = pkt
        configure(c)
        if (oc.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            c.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var dictionary: OpaquePointer? = nil
        for (key, value) in options { _ = ff.av_dict_set(&dictionary, key, value, 0) }
        result = ff.avcodec_open2(c, codec, &dictionary)
        let ignored = MuxedEncoder.keys(ff, of: dictionary)
        ff.av_dict_free(&dictionary)
        let name = String(cString: codec.pointee.name)
        if result < 0 {
            throw VideoIOError(.encodingFailed, path: displayPath,
                               reason: "cannot open the \(name) encoder at \(c.pointee.width)x\(c.pointee.height)",
                               ffmpegCode: result)
        }
        if !ignored.isEmpty {
            throw VideoIOError(.encodingFailed, path: displayPath,
                               reason: "the \(name) encoder does not know the options \(ignored)")
        }
        st.pointee.time_base = c.pointee.time_base
        st.pointee.avg_frame_rate = c.pointee.framerate
        result = ff.avcodec_parameters_from_context(st.pointee.codecpar, c)
        if result < 0 {
            throw VideoIOError(.encodingFailed, path: displayPath, reason: "cannot copy encoder parameters",
                               ffmpegCode: result)
        }
        for (key, value) in metadata { _ = ff.av_dict_set(&oc.pointee.metadata, key, value, 0) }
        if (oc.pointee.oformat.pointee.flags & AVFMT_NOFILE) == 0 {
            result = ff.avio_open(&oc.pointee.pb, path, AVIO_FLAG_WRITE)
            if result < 0 {
                throw VideoIOError(.unwritableOutput, path: displayPath, reason: "cannot create the file",
                                   ffmpegCode: result)
            }
            ioOpen = true
        }
        var muxerDictionary: OpaquePointer? = nil
        for (key, value) in muxerOptions { _ = ff.av_dict_set(&muxerDictionary, key, value, 0) }
        result = ff.avformat_write_header(oc, &muxerDictionary)
        let ignoredMuxerOptions = MuxedEncoder.keys(ff, of: muxerDictionary)
        ff.av_dict_free(&muxerDictionary)
        if result < 0 {
            let container = String(cString: oc.pointee.oformat.pointee.name)
            throw VideoIOError(.encodingFailed, path: displayPath,
                               reason: "cannot start the \(container) container with \(String(cString: codec.pointee.name)) "
                                   + "video (does the file name's container accept it?)",
                               ffmpegCode: result)
        }
        if !ignoredMuxerOptions.isEmpty {
            throw VideoIOError(.encodingFailed, path: displayPath,
                               reason: "the muxer does not know the options \(ignoredMuxerOptions)")
        }
    }

    /// The keys FFmpeg left in an options dictionary, i.e. the options it did not recognise.
    private static func keys(_ ff: cffmpeg_api, of dictionary: OpaquePointer?) -> [String] {
        var keys: [String] = []
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let next = ff.av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            keys.append(String(cString: next.pointee.key))
            entry = next
        }
        return keys
    }

    /// The encoder context, for callers that need its pixel format or frame size.
    var context: UnsafeMutablePointer<AVCodecContext> { codecContext! }

    /// Encodes `frame` (its pts in the encoder time base) lasting `duration` ticks, and muxes what comes out.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>, duration: Int64) throws {
        durations[frame.pointee.pts] = duration
        let result = ff.avcodec_send_frame(codecContext, frame)
        if result < 0 {
            throw VideoIOError(.encodingFailed, path: displayPath,
                               reason: "the encoder refused frame \(frame.pointee.pts)", ffmpegCode: result)
        }
        try drain()
    }

    /// Flushes the encoder (libx264 holds back frames for B-frame decisions), writes the trailer and
    /// closes the file.
    func finish() throws {
        let result = ff.avcodec_send_frame(codecContext, nil)
        if result < 0 && result != cffmpeg_averror_eof() {
            throw VideoIOError(.encodingFailed, path: displayPath, reason: "cannot flush the encoder",
                               ffmpegCode: result)
        }
        try drain()
        guard let oc = formatContext else { return }
        let trailer = ff.av_write_trailer(oc)
        if trailer < 0 {
            throw VideoIOError(.encodingFailed, path: displayPath, reason: "cannot write the container trailer",
                               ffmpegCode: trailer)
        }
        if ioOpen {
            ioOpen = false
            let closed = ff.avio_closep(&oc.pointee.pb)
            if closed < 0 {
                throw VideoIOError(.unwritableOutput, path: displayPath, reason: "cannot finish writing the file",
                                   ffmpegCode: closed)
            }
        }
    }

    private func drain() throws {
        guard let c = codecContext, let pkt = packet, let st = stream, let oc = formatContext else { return }
        let again = cffmpeg_eagain(), end = cffmpeg_averror_eof()
        while true {
            let received = ff.avcodec_receive_packet(c, pkt)
            if received == again || received == end { return }
            if received < 0 {
                throw VideoIOError(.encodingFailed, path: displayPath, reason: "the encoder failed",
                                   ffmpegCode: received)
            }
            if pkt.pointee.duration <= 0 {
                pkt.pointee.duration = durations[pkt.pointee.pts] ?? 1
            }
            durations[pkt.pointee.pts] = nil
            ff.av_packet_rescale_ts(pkt, c.pointee.time_base, st.pointee.time_base)
            pkt.pointee.stream_index = st.pointee.index
            let written = ff.av_interleaved_write_frame(oc, pkt)
            if written < 0 {
                throw VideoIOError(.encodingFailed, path: displayPath, reason: "cannot write a packet",
                                   ffmpegCode: written)
            }
        }
    }

    deinit {
        if ioOpen, let oc = formatContext { _ = ff.avio_closep(&oc.pointee.pb) }
        ff.avformat_free_context(formatContext)
        ff.avcodec_free_context(&codecContext)
        ff.av_packet_free(&packet)
    }
}
