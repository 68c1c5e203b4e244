extension CogVideoXTransformer {
    /// Floating-point operations (2 per multiply-add) of one forward pass's matrix products, the
    /// convention PyTorch profilers and llm.c use; a training step is counted as 3× this
    /// (backward ≈ 2× forward). Pointwise work is not counted.
    public func forwardFLOPs(_ dm: Dims) -> Double {
        let b = Double(dm.b), s = Double(dm.s), d = Double(dm.d), n = Double(dm.n), te = Double(dm.te)
        var macs = b * n * Double(dm.cpp) * d + b * Double(dm.l) * Double(dm.dt) * d   // embeddings
        macs += b * (d * te + te * te)                                                 // time embedding
        let perBlock = 2 * b * te * 6 * d                                             // norm1, norm2 linears
            + b * s * d * 3 * d                                                        // q, k, v
            + b * Double(dm.heads) * 2 * s * s * Double(dm.hd)                         // QKᵀ and PV
            + b * s * d * d                                                            // to_out
            + 2 * b * s * d * Double(dm.ff)                                            // feed-forward
        macs += Double(config.numLayers) * perBlock
        macs += b * te * 2 * d + b * n * d * Double(dm.pOut)                           // head
        return 2 * macs
    }
}
