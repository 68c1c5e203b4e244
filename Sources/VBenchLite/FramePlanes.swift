import VideoCommon

/// One frame as three Float planes (R, G, B; 0...255), the working form of every metric.
///
/// VBench's metrics read uint8 frames into float tensors; planar Float keeps our hot loops simple
/// and vectorisable. `pad` replicated border pixels surround the picture so that displaced reads in
/// the motion search need no bounds checks.
struct FramePlanes: Sendable {
    let width: Int
    let height: Int
    let pad: Int
    /// Row stride of the padded planes.
    var stride: Int { width + 2 * pad }
    var planeSize: Int { (width + 2 * pad) * (height + 2 * pad) }
    /// Three padded planes one after another.
    var data: [Float]

    /// Index of picture pixel (x, y) inside one padded plane.
    @inline(__always) func index(_ x: Int, _ y: Int) -> Int { (y + pad) * stride + x + pad }

    init(width: Int, height: Int, pad: Int, data: [Float]) {
        self.width = width
        self.height = height
        self.pad = pad
        self.data = data
    }

    /// Frame `f` of `video`, with `pad` replicated border pixels.
    init(video: RGBVideo, frame f: Int, pad: Int = 0) {
        let w = video.width, h = video.height
        let pw = w + 2 * pad, ph = h + 2 * pad
        var out = [Float](repeating: 0, count: 3 * pw * ph)
        video.pixels.withUnsafeBufferPointer { src in
            let base = f * w * h * 3
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    let plane = c * pw * ph
                    for py in 0..<ph {
                        let y = min(max(py - pad, 0), h - 1)
                        for px in 0..<pw {
                            let x = min(max(px - pad, 0), w - 1)
                            dst[plane + py * pw + px] = Float(src[base + (y * w + x) * 3 + c])
                        }
                    }
                }
            }
        }
        self.init(width: w, height: h, pad: pad, data: out)
    }

    /// The unpadded picture as interleaved-free planes (pad 0).
    func unpadded() -> FramePlanes {
        if pad == 0 { return self }
        var out = [Float](repeating: 0, count: 3 * width * height)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    out[c * width * height + y * width + x] = data[c * planeSize + index(x, y)]
                }
            }
        }
        return FramePlanes(width: width, height: height, pad: 0, data: out)
    }

    /// The same picture with a different padding (borders replicated).
    func repadded(_ newPad: Int) -> FramePlanes {
        let src = unpadded()
        let pw = width + 2 * newPad, ph = height + 2 * newPad
        var out = [Float](repeating: 0, count: 3 * pw * ph)
        for c in 0..<3 {
            for py in 0..<ph {
                let y = min(max(py - newPad, 0), height - 1)
                for px in 0..<pw {
                    let x = min(max(px - newPad, 0), width - 1)
                    out[c * pw * ph + py * pw + px] = src.data[c * width * height + y * width + x]
                }
            }
        }
        return FramePlanes(width: width, height: height, pad: newPad, data: out)
    }

    /// A 2x box-downsampled copy (odd trailing rows/columns dropped), unpadded.
    func downsampled2x() -> FramePlanes {
        let src = unpadded()
        let w2 = width / 2, h2 = height / 2
        var out = [Float](repeating: 0, count: 3 * w2 * h2)
        let n = width * height
        for c in 0..<3 {
            for y in 0..<h2 {
                for x in 0..<w2 {
                    let i = c * n + 2 * y * width + 2 * x
                    out[c * w2 * h2 + y * w2 + x] =
                        0.25 * (src.data[i] + src.data[i + 1] + src.data[i + width] + src.data[i + width + 1])
                }
            }
        }
        return FramePlanes(width: w2, height: h2, pad: 0, data: out)
    }

    /// The picture sampled half a pixel to the right (`dx`), down (`dy`), or both, by averaging
    /// neighbours; same padding. Used for half-pixel displacements in the bilateral search.
    func halfShifted(dx: Bool, dy: Bool) -> FramePlanes {
        if !dx && !dy { return self }
        let pw = stride, ph = height + 2 * pad
        var out = data
        data.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                for c in 0..<3 {
                    let p = c * pw * ph
                    for y in 0..<ph {
                        let y1 = dy ? min(y + 1, ph - 1) : y
                        for x in 0..<pw {
                            let x1 = dx ? min(x + 1, pw - 1) : x
                            d[p + y * pw + x] = 0.25 * (s[p + y * pw + x] + s[p + y * pw + x1]
                                + s[p + y1 * pw + x] + s[p + y1 * pw + x1])
                        }
                    }
                }
            }
        }
        return FramePlanes(width: width, height: height, pad: pad, data: out)
    }

    /// Luma (BT.601 weights) of the picture, unpadded, row-major.
    func luma() -> [Float] {
        var out = [Float](repeating: 0, count: width * height)
        let ps = planeSize
        for y in 0..<height {
            for x in 0..<width {
                let i = index(x, y)
                out[y * width + x] = 0.299 * data[i] + 0.587 * data[ps + i] + 0.114 * data[2 * ps + i]
            }
        }
        return out
    }
}
