import CFFmpeg
import Foundation
import VideoCommon

/// Still pictures through FFmpeg's own PNG encoder and decoders, so the project needs no image library.
///
/// PNG is lossless and universally viewable; it is what a person opens to look at a frame or a contact
/// sheet. Reading accepts any single picture FFmpeg decodes (PNG, JPEG, BMP...) and returns its first frame.
public enum ImageIO {
    /// Encodes a `width`×`height` RGB picture (`rgb.count == width*height*3`, rows top to bottom) as PNG at
    /// `url`, through a temporary file renamed when complete.
    public static func writePNG(width: Int, height: Int, rgb: [UInt8], to url: URL) throws {
        let bytes = try encodePNG(width: width, height: height, rgb: rgb, path: url.path)
        let output = try AtomicOutputFile(url)
        try bytes.withUnsafeBytes { try output.write($0) }
    }

    /// Writes frame `index` of `video` as PNG.
    public static func writePNG(_ video: RGBVideo, frame index: Int = 0, to url: URL) throws {
        guard video.frameCount > 0, (0..<video.frameCount).contains(index) else {
            throw VideoIOError(.invalidInput, path: url.path,
                               reason: "frame \(index) does not exist in a clip of \(video.frameCount) frames")
        }
        try writePNG(width: video.width, height: video.height, rgb: Array(video.frame(index)), to: url)
    }

    /// Reads the first frame of a picture file as RGB.
    public static func readPNG(_ url: URL) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let picture = try VideoReader.read(url, maxFrames: 1)
        return (picture.width, picture.height, picture.pixels)
    }

    /// The PNG file bytes for a picture, produced by FFmpeg's `png` encoder.
    static func encodePNG(width: Int, height: Int, rgb: [UInt8], path: String) throws -> [UInt8] {
        guard width > 0, height > 0, width <= 32768, height <= 32768 else {
            throw VideoIOError(.invalidInput, path: path, reason: "picture size \(width)x\(height) is not usable")
        }
        guard rgb.count == width * height * 3 else {
            throw VideoIOError(.invalidInput, path: path,
                               reason: "a \(width)x\(height) RGB picture needs \(width * height * 3) bytes, not \(rgb.count)")
        }
        let ff = try FFmpegLibrary.api(for: path)
        guard let codec = ff.avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw VideoIOError(.codecUnavailable, path: path, reason: "this FFmpeg build has no PNG encoder")
        }
        let encoder = OwnedCodecContext(ff, ff.avcodec_alloc_context3(codec))
        let packet = OwnedPacket(ff, ff.av_packet_alloc())
        let frame = OwnedFrame(ff, FFmpegFrames.allocate(ff, format: AV_PIX_FMT_RGB24, width: width, height: height))
        guard let c = encoder.context, let pkt = packet.pointer, let picture = frame.pointer else {
            throw VideoIOError(.encodingFailed, path: path, reason: "out of memory setting up the PNG encoder")
        }
        c.pointee.width = Int32(width)
        c.pointee.height = Int32(height)
        c.pointee.pix_fmt = AV_PIX_FMT_RGB24
        c.pointee.time_base = AVRational(num: 1, den: 1)
        var result = ff.avcodec_open2(c, codec, nil)
        if result < 0 {
            throw VideoIOError(.encodingFailed, path: path, reason: "cannot open the PNG encoder", ffmpegCode: result)
        }
        rgb.withUnsafeBufferPointer { pixels in
            FFmpegFrames.copyPadded(rgb: pixels.baseAddress!, width: width, height: height, into: picture)
        }
        picture.pointee.pts = 0
        result = ff.avcodec_send_frame(c, picture)
        if result >= 0 { result = ff.avcodec_send_frame(c, nil) }
        if result < 0 {
            throw VideoIOError(.encodingFailed, path: path, reason: "the PNG encoder refused the picture",
                               ffmpegCode: result)
        }
        var bytes: [UInt8] = []
        while true {
            result = ff.avcodec_receive_packet(c, pkt)
            if result == cffmpeg_averror_eof() || result == cffmpeg_eagain() { break }
            if result < 0 {
                throw VideoIOError(.encodingFailed, path: path, reason: "PNG encoding failed", ffmpegCode: result)
            }
            if let data = pkt.pointee.data {
                bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(pkt.pointee.size)))
            }
            ff.av_packet_unref(pkt)
        }
        guard !bytes.isEmpty else {
            throw VideoIOError(.encodingFailed, path: path, reason: "the PNG encoder produced no data")
        }
        return bytes
    }
}

/// Owns a codec context and frees it at the end of its scope.
final class OwnedCodecContext {
    let ff: cffmpeg_api
    var context: UnsafeMutablePointer<AVCodecContext>?
    init(_ ff: cffmpeg_api, _ context: UnsafeMutablePointer<AVCodecContext>?) { self.ff = ff; self.context = context }
    deinit { ff.avcodec_free_context(&context) }
}

/// Owns a packet and frees it at the end of its scope.
final class OwnedPacket {
    let ff: cffmpeg_api
    var pointer: UnsafeMutablePointer<AVPacket>?
    init(_ ff: cffmpeg_api, _ pointer: UnsafeMutablePointer<AVPacket>?) { self.ff = ff; self.pointer = pointer }
    deinit { ff.av_packet_free(&pointer) }
}
