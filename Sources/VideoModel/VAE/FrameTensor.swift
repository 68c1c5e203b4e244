import TensorCore

/// Heap memory for one activation, left uninitialised (every kernel writes what it reads later) and
/// freed when the last `FrameTensor` holding it goes away, so the VAE releases activations as it goes.
final class FrameStorage: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
    }
    deinit { p.deallocate() }
}

/// One video's activation inside the VAE, frames outermost: [T][C][H][W].
///
/// diffusers works on [B, C, T, H, W]; putting time first here makes every frame (the unit of the
/// causal convolution, its cache and the per-frame 2D resamplers) one contiguous [C][H][W] block, and
/// lets the convolution write each output frame as a GEMM result with the plane size as row stride.
struct FrameTensor {
    let storage: FrameStorage
    let channels: Int
    /// May shrink in place (the encoder's temporal average pooling compacts frames forward).
    var frames: Int
    let height: Int
    let width: Int

    init(channels: Int, frames: Int, height: Int, width: Int) {
        self.channels = channels
        self.frames = frames
        self.height = height
        self.width = width
        storage = FrameStorage(count: channels * frames * height * width)
    }

    var plane: Int { height * width }
    var frameSize: Int { channels * height * width }
    var count: Int { frames * frameSize }
    var p: UnsafeMutablePointer<Float> { storage.p }

    @inline(__always) func frame(_ t: Int) -> UnsafeMutablePointer<Float> { storage.p + t * frameSize }

    /// A copy of frames `range` (used for the conv caches and for frame batches).
    func copyFrames(_ range: Range<Int>) -> FrameTensor {
        let out = FrameTensor(channels: channels, frames: range.count, height: height, width: width)
        out.p.update(from: frame(range.lowerBound), count: range.count * frameSize)
        return out
    }

    /// Sample `b` of a [B, C, T, H, W] tensor, frames `t0..<t1`, rows `y0..<y1`, columns `x0..<x1`.
    static func fromBCTHW(_ x: Tensor, sample b: Int, frames t: Range<Int>, rows y: Range<Int>, columns xr: Range<Int>) -> FrameTensor {
        let (C, T, H, W) = (x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let out = FrameTensor(channels: C, frames: t.count, height: y.count, width: xr.count)
        x.data.withUnsafeBufferPointer { src in
            let s = src.baseAddress!
            for (ti, tt) in t.enumerated() {
                for c in 0..<C {
                    let dst = out.frame(ti) + c * out.plane
                    let base = s + (((b * C + c) * T + tt) * H) * W
                    for (yi, yy) in y.enumerated() {
                        (dst + yi * xr.count).update(from: base + yy * W + xr.lowerBound, count: xr.count)
                    }
                }
            }
        }
        return out
    }

    /// Writes this tensor into sample `b` of a [B, C, T, H, W] array starting at frame `t0`, row `y0`,
    /// column `x0`, taking rows `0..<rows` and columns `0..<cols` of each plane.
    func writeBCTHW(into dst: UnsafeMutablePointer<Float>, shape: [Int], sample b: Int, frameOffset t0: Int,
                    rowOffset y0: Int = 0, columnOffset x0: Int = 0, rows: Int? = nil, cols: Int? = nil) {
        let (C, T, H, W) = (shape[1], shape[2], shape[3], shape[4])
        let r = rows ?? height, w = cols ?? width
        for t in 0..<frames {
            for c in 0..<channels {
                let src = frame(t) + c * plane
                let base = dst + (((b * C + c) * T + t0 + t) * H + y0) * W + x0
                for y in 0..<r { (base + y * W).update(from: src + y * width, count: w) }
            }
        }
    }

    /// As a [1, C, T, H, W] tensor (for activation checks).
    func bcthw() -> Tensor {
        var data = [Float](repeating: 0, count: count)
        data.withUnsafeMutableBufferPointer { d in
            writeBCTHW(into: d.baseAddress!, shape: [1, channels, frames, height, width], sample: 0, frameOffset: 0)
        }
        return try! Tensor(shape: [1, channels, frames, height, width], data: data)
    }
}
