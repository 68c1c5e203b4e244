import TensorCore

/// Mirrors diffusers' `CogVideoXDecoder3D`: conv_in, the mid block, the up blocks (channels reversed),
/// a spatial norm, SiLU and conv_out. Every norm is a spatial norm conditioned on `zq`, the latent frame
/// batch given to this call. One call decodes one frame batch; `ConvCacheState` carries the causal
/// context to the next.
struct Decoder3D {
    let convIn: CausalConv3d
    let midBlock: MidBlock3D
    let upBlocks: [UpBlock3D]
    let normOut: SpatialNorm3D
    let convOut: CausalConv3d
    let causalConvCount: Int
    let latentChannels: Int

    init(config c: CogVideoXVAEConfig, weights w: VAEWeightSource) {
        let start = w.causalConvCount
        let ch = Array(c.blockOutChannels.reversed()), groups = c.normNumGroups, zc = c.latentChannels
        func resnet(_ p: String, _ cin: Int, _ cout: Int) -> ResnetBlock3D {
            ResnetBlock3D(norm1: .spatial(w.spatialNorm(p + ".norm1", channels: cin, latentChannels: zc, groups: groups)),
                          conv1: w.causalConv(p + ".conv1", out: cout, in: cin),
                          norm2: .spatial(w.spatialNorm(p + ".norm2", channels: cout, latentChannels: zc, groups: groups)),
                          conv2: w.causalConv(p + ".conv2", out: cout, in: cout),
                          shortcut: cin == cout ? nil : PointwiseConv3d(conv: w.conv(p + ".conv_shortcut", out: cout, in: cin, kt: 1, kh: 1, kw: 1)))
        }
        latentChannels = zc
        convIn = w.causalConv("decoder.conv_in", out: ch[0], in: zc)
        midBlock = MidBlock3D(resnets: (0..<2).map { resnet("decoder.mid_block.resnets.\($0)", ch[0], ch[0]) })
        var blocks: [UpBlock3D] = []
        var cout = ch[0]
        for i in 0..<ch.count {
            let cin = cout
            cout = ch[i]
            let p = "decoder.up_blocks.\(i)"
            let resnets = (0...c.layersPerBlock).map { j in resnet("\(p).resnets.\(j)", j == 0 ? cin : cout, cout) }
            let up: Upsample3D? = i == ch.count - 1 ? nil
                : Upsample3D(conv: w.conv("\(p).upsamplers.0.conv", out: cout, in: cout, kt: 1, kh: 3, kw: 3, conv2d: true),
                             compressTime: i < c.temporalCompressLevel)
            blocks.append(UpBlock3D(resnets: resnets, upsampler: up))
        }
        upBlocks = blocks
        normOut = w.spatialNorm("decoder.norm_out", channels: cout, latentChannels: zc, groups: groups)
        convOut = w.causalConv("decoder.conv_out", out: c.outChannels, in: cout)
        causalConvCount = w.causalConvCount - start
    }

    /// Decodes one latent frame batch [Tz][latent][h][w] to [T][out_channels][8h][8w].
    func forward(_ z: FrameTensor, cache: ConvCacheState, observe: VAEObserver?) -> FrameTensor {
        var h = convIn.forward(z, cache: cache)
        observe?("decode.conv_in", h.bcthw())
        h = midBlock.forward(consume h, zq: z, cache: cache)
        observe?("decode.mid_block", h.bcthw())
        for (i, block) in upBlocks.enumerated() {
            h = block.forward(consume h, zq: z, cache: cache)
            observe?("decode.up_block\(i)", h.bcthw())
        }
        normOut.apply(h, zq: z, into: h, silu: true)
        return convOut.forward(h, cache: cache)
    }
}
