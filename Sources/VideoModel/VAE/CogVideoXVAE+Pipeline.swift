import TensorCore

extension CogVideoXVAE {
    /// What `CogVideoXPipeline` does with its final latents for `output_type="pt"`: latents in the
    /// transformer's layout [B, F, C, h, w] are permuted to [B, C, F, h, w], multiplied by
    /// 1 / scaling_factor, decoded (tiled when `tiling` is given), mapped to clamp(x / 2 + 0.5, 0, 1) and
    /// permuted to frames [B, F', 3, 8h, 8w] in [0, 1].
    public func decodePipelineLatents(_ latents: Tensor, tiling: VAETiling? = nil) throws -> Tensor {
        guard latents.shape.count == 5 else {
            throw ModelError.badInput("pipeline latents must be [B, F, C, H, W], got \(latents.shape)")
        }
        let (B, F, C, h, w) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3], latents.shape[4])
        let inv = Float(1 / config.scalingFactor)
        var z = [Float](repeating: 0, count: latents.count)
        for b in 0..<B {
            for f in 0..<F {
                for c in 0..<C {
                    let src = (((b * F + f) * C + c) * h) * w, dst = (((b * C + c) * F + f) * h) * w
                    for i in 0..<(h * w) { z[dst + i] = inv * latents.data[src + i] }
                }
            }
        }
        let zt = try Tensor(shape: [B, C, F, h, w], data: z)
        let video = try tiling.map { try tiledDecode(zt, tiling: $0) } ?? decode(zt)
        let (Co, T, H, W) = (video.shape[1], video.shape[2], video.shape[3], video.shape[4])
        var frames = [Float](repeating: 0, count: video.count)
        for b in 0..<B {
            for c in 0..<Co {
                for t in 0..<T {
                    let src = (((b * Co + c) * T + t) * H) * W, dst = (((b * T + t) * Co + c) * H) * W
                    for i in 0..<(H * W) { frames[dst + i] = min(max(video.data[src + i] / 2 + 0.5, 0), 1) }
                }
            }
        }
        return try Tensor(shape: [B, T, Co, H, W], data: frames)
    }
}
