import TensorCore

/// Mirrors diffusers' `CogVideoXEncoder3D`: conv_in, the down blocks, the mid block, GroupNorm, SiLU and
/// conv_out to 2 x latent_channels (posterior mean, then log-variance). One call encodes one frame
/// batch; the conv caches in `ConvCacheState` carry the causal context to the next batch.
struct Encoder3D {
    let convIn: CausalConv3d
    let downBlocks: [DownBlock3D]
    let midBlock: MidBlock3D
    let normOut: GroupNorm3D
    let convOut: CausalConv3d
    let causalConvCount: Int

    init(config c: CogVideoXVAEConfig, weights w: VAEWeightSource) {
        let start = w.causalConvCount
        let ch = c.blockOutChannels, groups = c.normNumGroups, eps = c.normEps
        func resnet(_ p: String, _ cin: Int, _ cout: Int) -> ResnetBlock3D {
            ResnetBlock3D(norm1: .group(w.groupNorm(p + ".norm1", channels: cin, groups: groups, eps: eps)),
                          conv1: w.causalConv(p + ".conv1", out: cout, in: cin),
                          norm2: .group(w.groupNorm(p + ".norm2", channels: cout, groups: groups, eps: eps)),
                          conv2: w.causalConv(p + ".conv2", out: cout, in: cout),
                          shortcut: cin == cout ? nil : PointwiseConv3d(conv: w.conv(p + ".conv_shortcut", out: cout, in: cin, kt: 1, kh: 1, kw: 1)))
        }
        convIn = w.causalConv("encoder.conv_in", out: ch[0], in: c.inChannels)
        var blocks: [DownBlock3D] = []
        var cout = ch[0]
        for i in 0..<ch.count {
            let cin = cout
            cout = ch[i]
            let p = "encoder.down_blocks.\(i)"
            let resnets = (0..<c.layersPerBlock).map { j in resnet("\(p).resnets.\(j)", j == 0 ? cin : cout, cout) }
            let down: Downsample3D? = i == ch.count - 1 ? nil
                : Downsample3D(conv: w.conv("\(p).downsamplers.0.conv", out: cout, in: cout, kt: 1, kh: 3, kw: 3, conv2d: true),
                               compressTime: i < c.temporalCompressLevel)
            blocks.append(DownBlock3D(resnets: resnets, downsampler: down))
        }
        downBlocks = blocks
        midBlock = MidBlock3D(resnets: (0..<2).map { resnet("encoder.mid_block.resnets.\($0)", cout, cout) })
        normOut = w.groupNorm("encoder.norm_out", channels: cout, groups: groups, eps: 1e-6)
        convOut = w.causalConv("encoder.conv_out", out: 2 * c.latentChannels, in: cout)
        causalConvCount = w.causalConvCount - start
    }

    /// Encodes one frame batch [T][in_channels][H][W] to [T'][2·latent][H/8][W/8].
    func forward(_ x: FrameTensor, cache: ConvCacheState, observe: VAEObserver?) -> FrameTensor {
        var h = convIn.forward(x, cache: cache)
        for (i, block) in downBlocks.enumerated() {
            h = block.forward(consume h, cache: cache)
            observe?("encode.down_block\(i)", h.bcthw())
        }
        h = midBlock.forward(consume h, zq: nil, cache: cache)
        observe?("encode.mid_block", h.bcthw())
        normOut.apply(h, into: h, silu: true)
        return convOut.forward(h, cache: cache)
    }
}

/// Receives named block outputs ([1, C, T, H, W]) of each encoder/decoder call, for locating a mismatch
/// against diffusers' activations.
public typealias VAEObserver = (String, Tensor) -> Void
