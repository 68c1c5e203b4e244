import TensorCore

extension CogVideoXTransformer {
    /// Classifier-free guidance in one network evaluation: the batch [uncond ; cond] of 2·B samples
    /// runs as one forward (every GEMM over both halves at once), and the result is
    /// v = v_u + guidance·(v_c − v_u) (`CogVideoXPipeline`'s `noise_pred_uncond + guidance_scale *
    /// (noise_pred_text - noise_pred_uncond)`).
    ///
    /// `hidden` [B, F, C, H, W] is shared by both halves; `text` and `negativeText` are [B, L, Dt];
    /// `timesteps` [B]; `timeEmbeddingOffset` [B, time_embed_dim], if given, applies to both halves.
    public func forwardGuided(hidden: [Float], shape: VideoShape, text: [Float], negativeText: [Float],
                              textLength: Int, timesteps: [Float], guidance: Float,
                              timeEmbeddingOffset: [Float]? = nil) throws -> [Float] {
        guard negativeText.count == text.count else {
            throw ModelError.badInput("negative text embeddings have \(negativeText.count) values, the prompt's have \(text.count)")
        }
        guard timesteps.count == shape.batch else {
            throw ModelError.badInput("\(timesteps.count) timesteps for a batch of \(shape.batch)")
        }
        var doubled = shape
        doubled.batch = 2 * shape.batch
        let cache = try run(hidden: hidden + hidden, shape: doubled, text: negativeText + text, textLength: textLength,
                            timesteps: timesteps + timesteps, timeEmbeddingOffset: timeEmbeddingOffset.map { $0 + $0 },
                            training: false, capture: false)
        defer { releaseInferenceCache(cache) }
        let half = cache.output.count / 2, out = cache.output.p
        var v = [Float](repeating: 0, count: half)
        for j in 0..<half { v[j] = out[j] + guidance * (out[half + j] - out[j]) }
        return v
    }
}
