import TensorCore

/// Mirrors diffusers' `CogVideoXDownBlock3D` (encoder): `layers_per_block` resnets, then a downsampler
/// unless it is the last block; the first log2(temporal_compression_ratio) blocks also pool time.
struct DownBlock3D {
    let resnets: [ResnetBlock3D]
    let downsampler: Downsample3D?

    func forward(_ x: consuming FrameTensor, cache: ConvCacheState) -> FrameTensor {
        var h = consume x
        for r in resnets { h = r.forward(consume h, zq: nil, cache: cache) }
        if let downsampler { h = downsampler.forward(consume h) }
        return h
    }
}

/// Mirrors diffusers' `CogVideoXMidBlock3D`: two resnets at the deepest width (spatial norms in the
/// decoder, group norms in the encoder).
struct MidBlock3D {
    let resnets: [ResnetBlock3D]

    func forward(_ x: consuming FrameTensor, zq: FrameTensor?, cache: ConvCacheState) -> FrameTensor {
        var h = consume x
        for r in resnets { h = r.forward(consume h, zq: zq, cache: cache) }
        return h
    }
}

/// Mirrors diffusers' `CogVideoXUpBlock3D` (decoder): `layers_per_block + 1` spatially normed resnets,
/// then an upsampler unless it is the last block; the first log2(temporal_compression_ratio) blocks
/// also upsample time.
struct UpBlock3D {
    let resnets: [ResnetBlock3D]
    let upsampler: Upsample3D?

    func forward(_ x: consuming FrameTensor, zq: FrameTensor, cache: ConvCacheState) -> FrameTensor {
        var h = consume x
        for r in resnets { h = r.forward(consume h, zq: zq, cache: cache) }
        if let upsampler { h = upsampler.forward(h) }
        return h
    }
}
