import TensorCore

/// The encoder's plain group norm or the decoder's latent-conditioned spatial norm.
enum VAENorm {
    case group(GroupNorm3D)
    case spatial(SpatialNorm3D)

    /// dst = silu(norm(x)) (`dst` may be `x`); `zq` is the decoder's latent frame batch.
    func applySiLU(_ x: FrameTensor, zq: FrameTensor?, into dst: FrameTensor) {
        switch self {
        case .group(let n): n.apply(x, into: dst, silu: true)
        case .spatial(let n):
            guard let zq else { preconditionFailure("a spatial norm needs the latent zq") }
            n.apply(x, zq: zq, into: dst, silu: true)
        }
    }
}

/// Mirrors diffusers' `CogVideoXResnetBlock3D` at inference (no time embedding, dropout off):
/// norm1, SiLU, conv1, norm2, SiLU, conv2, plus the input, through the 1x1x1 `conv_shortcut` when the
/// channel count changes. Memory: the input is consumed; at most three activations of the block's size
/// are alive at once (input or shortcut, normalised input, conv output).
struct ResnetBlock3D {
    let norm1: VAENorm
    let conv1: CausalConv3d
    let norm2: VAENorm
    let conv2: CausalConv3d
    let shortcut: PointwiseConv3d?

    /// Consumes `input` (pass it with `consume` so its memory is reused or freed inside the block).
    func forward(_ input: consuming FrameTensor, zq: FrameTensor?, cache: ConvCacheState) -> FrameTensor {
        var x: FrameTensor? = consume input
        let residual: FrameTensor
        if let shortcut {
            // The input is only needed through the shortcut: take it first, then normalise in place.
            residual = shortcut.forward(x!)
            norm1.applySiLU(x!, zq: zq, into: x!)
        } else {
            let n = FrameTensor(channels: x!.channels, frames: x!.frames, height: x!.height, width: x!.width)
            norm1.applySiLU(x!, zq: zq, into: n)
            residual = x!
            x = n
        }
        var a: FrameTensor? = conv1.forward(x!, cache: cache)
        x = nil
        norm2.applySiLU(a!, zq: zq, into: a!)
        let out = conv2.forward(a!, cache: cache)
        a = nil
        let op = SendablePointer(out.p), rp = SendablePointer(residual.p)
        parallelChunks(out.count, minChunk: 1 << 16) { _, lo, hi in
            for i in lo..<hi { op[i] += rp[i] }
        }
        return out
    }

    /// FLOPs of the three convolutions for `frames` frames of `height` x `width` (the spatial norms'
    /// 1x1x1 convs run at the latent's size and are counted by the decoder).
    func flops(frames: Int, height: Int, width: Int) -> Double {
        let n = Double(frames * height * width)
        var f = conv1.conv.flopsPerPosition * n + conv2.conv.flopsPerPosition * n
        if let shortcut { f += shortcut.conv.flopsPerPosition * n }
        return f
    }
}
