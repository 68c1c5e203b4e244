import Foundation
import TensorCore

/// Memory estimates for a transformer, made from a validated config before anything is allocated, so that
/// `MemoryBudget` can refuse a model or run that would not fit. They count what the implementation
/// allocates: the parameter slab (and, for training, gradients, AdamW's two moments and the EMA), and the
/// activations of `ForwardCache` — per block its inputs of every GEMM and norm (about 17 × D plus 2 × the
/// 4D feed-forward per token); inference keeps one block's, training every block's. Attention is computed
/// in tiles with a log-sum-exp, so no S × S score matrix is held. In Double: an absurd size gives a huge
/// estimate, never an overflow.
extension CogVideoXConfig {
    /// Parameters of the model (the layout is a list of shapes: cheap to build from a validated config).
    public var parameterCount: Int { ParameterLayout(config: self).total }

    /// Bytes of one forward pass's activations at this latent size ([frames, channels, height, width]).
    public func activationBytes(batch: Int, latentFrames f: Int, latentHeight h: Int, latentWidth w: Int,
                                textLength: Int, training: Bool) -> Double {
        let p = Double(max(patchSize, 1)), d = Double(innerDim), b = Double(batch)
        let tokens = Double(f) * (Double(h) / p).rounded(.down) * (Double(w) / p).rounded(.down)
        let rows = b * (tokens + Double(textLength))
        let perBlock = rows * (17 * d + 8 * d + 4 * Double(numAttentionHeads) + 2) + b * 12 * d
        let latent = b * Double(f) * Double(max(inChannels, outChannels)) * Double(h) * Double(w)
        let top = rows * d * 4 + 4 * latent + b * Double(textLength) * Double(textEmbedDim)
        let blocks = training ? Double(numLayers) + 2 : 1
        return 4 * (perBlock * blocks + top)
    }
}
