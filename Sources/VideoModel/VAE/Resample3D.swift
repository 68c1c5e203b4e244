import TensorCore

/// Mirrors diffusers' `CogVideoXDownsample3D`. With `compressTime`, frames are first pooled in pairs:
/// an odd count keeps frame 0 and averages pairs of the rest (T -> 1 + (T-1)/2), an even count averages
/// pairs (T -> T/2). Then each frame is zero padded by 1 on the right and bottom and goes through a 3x3
/// stride-2 Conv2d.
struct Downsample3D {
    let conv: ConvWeights
    let compressTime: Bool

    static func outputFrames(_ t: Int, compressTime: Bool) -> Int {
        guard compressTime else { return t }
        return t % 2 == 1 ? 1 + (t - 1) / 2 : t / 2
    }

    /// (H + 1 - 3) / 2 + 1, or 0 when the plane is too small for the kernel.
    static func outputSize(_ n: Int) -> Int { n + 1 < 3 ? 0 : (n + 1 - 3) / 2 + 1 }

    /// Consumes `x` (its frames are pooled in place).
    func forward(_ input: consuming FrameTensor) -> FrameTensor {
        var x = consume input
        if compressTime {
            let T = x.frames, size = x.frameSize
            let odd = T % 2 == 1
            let tOut = Self.outputFrames(T, compressTime: true)
            for j in (odd ? 1 : 0)..<tOut {
                let a = odd ? 2 * j - 1 : 2 * j
                let pa = SendablePointer(x.frame(a)), pb = SendablePointer(x.frame(a + 1)), po = SendablePointer(x.frame(j))
                parallelChunks(size, minChunk: 1 << 16) { _, lo, hi in
                    for i in lo..<hi { po[i] = (pa[i] + pb[i]) * 0.5 }
                }
            }
            x.frames = tOut
        }
        let Ho = Self.outputSize(x.height), Wo = Self.outputSize(x.width)
        let out = FrameTensor(channels: conv.outChannels, frames: x.frames, height: Ho, width: Wo)
        let g = ConvGeometry(inHeight: x.height, inWidth: x.width, stride: 2, padTop: 0, padLeft: 0, outHeight: Ho, outWidth: Wo)
        conv.apply(inputs: (0..<x.frames).map { UnsafePointer(x.frame($0)) }, geometry: g,
                   outputs: (0..<x.frames).map { out.frame($0) })
        return out
    }
}

/// Mirrors diffusers' `CogVideoXUpsample3D`: nearest 2x in H and W, and with `compressTime` also in time
/// (an odd T > 1 keeps frame 0 single and doubles frames 1... so T -> 2T - 1; an even T doubles every
/// frame; T = 1 stays one frame), then a 3x3 Conv2d (padding 1) per frame. Frames that are copies of the
/// same input frame give the same output, so each distinct frame is convolved once and copied.
struct Upsample3D {
    let conv: ConvWeights
    let compressTime: Bool

    /// For each output frame, the input frame it repeats.
    static func sourceFrames(_ t: Int, compressTime: Bool) -> [Int] {
        guard compressTime, t > 1 else { return Array(0..<t) }
        if t % 2 == 1 { return [0] + (1..<t).flatMap { [$0, $0] } }
        return (0..<t).flatMap { [$0, $0] }
    }

    func forward(_ x: FrameTensor) -> FrameTensor {
        let src = Self.sourceFrames(x.frames, compressTime: compressTime)
        let out = FrameTensor(channels: conv.outChannels, frames: src.count, height: 2 * x.height, width: 2 * x.width)
        var first: [Int: Int] = [:]  // input frame -> first output frame showing it
        var unique: [Int] = []
        for (t, s) in src.enumerated() where first[s] == nil { first[s] = t; unique.append(s) }
        let g = ConvGeometry(inHeight: x.height, inWidth: x.width, upsample: 2, padTop: 1, padLeft: 1,
                             outHeight: out.height, outWidth: out.width)
        conv.apply(inputs: unique.map { UnsafePointer(x.frame($0)) }, geometry: g,
                   outputs: unique.map { out.frame(first[$0]!) })
        for (t, s) in src.enumerated() where first[s]! != t {
            out.frame(t).update(from: out.frame(first[s]!), count: out.frameSize)
        }
        return out
    }
}
