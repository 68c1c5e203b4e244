import TensorCore

/// The conv caches of one encoder or decoder run: slot i holds the last kt - 1 frames of the padded
/// input that causal conv i saw in the previous frame batch. A fresh state is made per video (and per
/// tile), so one model can serve several runs.
final class ConvCacheState {
    var slots: [FrameTensor?]
    /// False for the last frame batch: each conv then frees its slot after reading it instead of
    /// storing caches nobody will read (the last batch runs with less memory).
    var storeNext = true
    init(count: Int) { slots = Array(repeating: nil, count: count) }
}

/// Mirrors diffusers' `CogVideoXCausalConv3d` (pad_mode "constant", the one CogVideoX uses): a Conv3d
/// with kernel kt x kh x kw, stride 1, whose input is prefixed in time with the previous frame batch's
/// cache, or in the first batch with kt - 1 copies of frame 0, then zero padded by (kh-1)/2 and (kw-1)/2
/// in H and W; nothing is appended at the end, so T frames in give T frames out. The new cache is the
/// last kt - 1 frames of that time-padded input.
struct CausalConv3d {
    let conv: ConvWeights
    /// Index into `ConvCacheState.slots`.
    let slot: Int

    func forward(_ x: FrameTensor, cache: ConvCacheState) -> FrameTensor {
        let ctx = conv.kt - 1
        var inputs: [UnsafePointer<Float>] = []
        inputs.reserveCapacity(x.frames + ctx)
        if ctx > 0 {
            if let prev = cache.slots[slot] {
                for i in 0..<ctx { inputs.append(UnsafePointer(prev.frame(i))) }
            } else {
                for _ in 0..<ctx { inputs.append(UnsafePointer(x.frame(0))) }
            }
        }
        for t in 0..<x.frames { inputs.append(UnsafePointer(x.frame(t))) }
        let out = FrameTensor(channels: conv.outChannels, frames: x.frames, height: x.height, width: x.width)
        let g = ConvGeometry(inHeight: x.height, inWidth: x.width, padTop: (conv.kh - 1) / 2, padLeft: (conv.kw - 1) / 2,
                             outHeight: x.height, outWidth: x.width)
        conv.apply(inputs: inputs, geometry: g, outputs: (0..<x.frames).map { out.frame($0) })
        if ctx > 0 && !cache.storeNext {
            cache.slots[slot] = nil
        } else if ctx > 0 {
            let next = FrameTensor(channels: x.channels, frames: ctx, height: x.height, width: x.width)
            for i in 0..<ctx {
                next.frame(i).update(from: inputs[inputs.count - ctx + i], count: x.frameSize)
            }
            cache.slots[slot] = next
        }
        return out
    }

    /// FLOPs for `frames` output frames of `height` x `width`.
    func flops(frames: Int, height: Int, width: Int) -> Double {
        conv.flopsPerPosition * Double(frames * height * width)
    }
}

/// A 1x1x1 convolution (diffusers' `CogVideoXSafeConv3d` with kernel 1: the resnet `conv_shortcut`, the
/// spatial norm's `conv_y`/`conv_b`): a plain GEMM per frame, no temporal context.
struct PointwiseConv3d {
    let conv: ConvWeights

    func forward(_ x: FrameTensor) -> FrameTensor {
        let out = FrameTensor(channels: conv.outChannels, frames: x.frames, height: x.height, width: x.width)
        let g = ConvGeometry(inHeight: x.height, inWidth: x.width, padTop: 0, padLeft: 0, outHeight: x.height, outWidth: x.width)
        conv.apply(inputs: (0..<x.frames).map { UnsafePointer(x.frame($0)) }, geometry: g,
                   outputs: (0..<x.frames).map { out.frame($0) })
        return out
    }
}
