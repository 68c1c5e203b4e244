import CFFmpeg

/// Small helpers over `AVFrame` and `SwsContext` shared by the writers and the reader.
///
/// `AVFrame.data` and `.linesize` import as 8-tuples; `sws_scale` wants C arrays, so the tuples are
/// rebound in place (they have exactly that layout). `ff` is the loaded FFmpeg (`FFmpegLibrary`).
enum FFmpegFrames {
    /// Allocates a frame of `format` and size with its own (aligned, padded) buffers.
    static func allocate<F: FFmpegPixelFunctions>(_ ff: F, format: AVPixelFormat, width: Int, height: Int) -> UnsafeMutablePointer<AVFrame>? {
        guard let frame = ff.av_frame_alloc() else { return nil }
        frame.pointee.format = format.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        if ff.av_frame_get_buffer(frame, 0) < 0 {
            var optional: UnsafeMutablePointer<AVFrame>? = frame
            ff.av_frame_free(&optional)
            return nil
        }
        // Start from zeros, padding included, so nothing downstream can depend on stale memory.
        withUnsafeMutablePointer(to: &frame.pointee.buf) { buffers in
            buffers.withMemoryRebound(to: UnsafeMutablePointer<AVBufferRef>?.self, capacity: 8) { list in
                for i in 0..<8 {
                    if let buffer = list[i], let data = buffer.pointee.data {
                        data.initialize(repeating: 0, count: buffer.pointee.size)
                    }
                }
            }
        }
        return frame
    }

    /// Converts all `rows` rows of `source` into `destination` with `context`.
    @discardableResult
    static func scale<F: FFmpegPixelFunctions>(_ ff: F, _ context: OpaquePointer, from source: UnsafeMutablePointer<AVFrame>, rows: Int32,
                      into destination: UnsafeMutablePointer<AVFrame>) -> Int32 {
        withUnsafeMutablePointer(to: &source.pointee.data) { sourceData in
            withUnsafeMutablePointer(to: &source.pointee.linesize) { sourceLines in
                withUnsafeMutablePointer(to: &destination.pointee.data) { destinationData in
                    withUnsafeMutablePointer(to: &destination.pointee.linesize) { destinationLines in
                        sourceData.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                            sourceLines.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                                destinationData.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self,
                                                                  capacity: 8) { dst in
                                    destinationLines.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                                        ff.sws_scale(context, src, srcStride, 0, rows, dst, dstStride)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Copies a `width`×`height` RGB24 picture stored contiguously at `rgb` into plane 0 of `frame`,
    /// replicating the last column and row into any extra width or height the frame has.
    static func copyPadded(rgb: UnsafePointer<UInt8>, width: Int, height: Int,
                           into frame: UnsafeMutablePointer<AVFrame>) {
        guard let base = frame.pointee.data.0 else { return }
        let stride = Int(frame.pointee.linesize.0)
        let frameWidth = Int(frame.pointee.width)
        let frameHeight = Int(frame.pointee.height)
        let rowBytes = width * 3
        for y in 0..<frameHeight {
            let sourceRow = rgb + min(y, height - 1) * rowBytes
            let destinationRow = base + y * stride
            destinationRow.update(from: sourceRow, count: rowBytes)
            if frameWidth > width {
                let last = sourceRow + (width - 1) * 3
                for x in width..<frameWidth {
                    destinationRow[x * 3] = last[0]
                    destinationRow[x * 3 + 1] = last[1]
                    destinationRow[x * 3 + 2] = last[2]
                }
            }
        }
    }

    /// The pixel-format name FFmpeg uses, for messages.
    static func name(_ ff: cffmpeg_api, of format: AVPixelFormat) -> String {
        guard let name = ff.av_get_pix_fmt_name(format) else { return "pixel format \(format.rawValue)" }
        return String(cString: name)
    }
}

/// Owns an FFmpeg frame and frees it at the end of its scope.
final class OwnedFrame<F: FFmpegPixelFunctions> {
    let ff: F
    var pointer: UnsafeMutablePointer<AVFrame>?
    init(_ ff: F, _ pointer: UnsafeMutablePointer<AVFrame>?) { self.ff = ff; self.pointer = pointer }
    deinit { ff.av_frame_free(&pointer) }
}

/// Owns a scaler context and frees it at the end of its scope.
final class OwnedScaler<F: FFmpegPixelFunctions> {
    let ff: F
    var context: OpaquePointer?
    init(_ ff: F, _ context: OpaquePointer? = nil) { self.ff = ff; self.context = context }
    deinit { ff.sws_freeContext(context) }
}

/// The frame and scaler functions, from either table: the whole of FFmpeg (`cffmpeg_api`) or libavutil and
/// libswscale alone (`cffmpeg_pixels_api`, the H.264 MP4 writer's). Both tables hold them with these names.
protocol FFmpegPixelFunctions {
    var av_frame_alloc: @convention(c) () -> UnsafeMutablePointer<AVFrame>? { get }
    var av_frame_free: @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<AVFrame>?>?) -> Void { get }
    var av_frame_get_buffer: @convention(c) (UnsafeMutablePointer<AVFrame>?, Int32) -> Int32 { get }
    var sws_freeContext: @convention(c) (OpaquePointer?) -> Void { get }
    var sws_scale: @convention(c) (OpaquePointer?, UnsafePointer<UnsafePointer<UInt8>?>?, UnsafePointer<Int32>?, Int32, Int32,
                                   UnsafePointer<UnsafeMutablePointer<UInt8>?>?, UnsafePointer<Int32>?) -> Int32 { get }
}

extension cffmpeg_api: FFmpegPixelFunctions {}
extension cffmpeg_pixels_api: FFmpegPixelFunctions {}
