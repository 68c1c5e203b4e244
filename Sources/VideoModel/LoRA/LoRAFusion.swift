import Foundation
import TensorCore

/// Applying a `LoRAAdapter` to a loaded `CogVideoXTransformer`, as diffusers' `fuse_lora(lora_scale:)` /
/// `unfuse_lora()` do: each adapted weight becomes W + scaling * scale * B @ A in place, in the model's
/// parameter slab (found by diffusers name through `ParameterLayout`), so the forward pass runs at full speed
/// with no extra work per step. `scale` is the adapter weight (`set_adapters(..., adapter_weights=scale)`,
/// `attention_kwargs={"scale": scale}` or `fuse_lora(lora_scale=scale)`; all three give the same weights).
///
/// Unfusing subtracts the same product again, as peft's `unmerge` does: the weights return to within float32
/// rounding of the originals (not bit for bit), without keeping a second copy of every adapted matrix
/// (1.8 GB of Float32 for CogVideoX-2b's attention). `LoRAUnfused` applies an adapter without touching
/// the weights instead, at the price of extra work in every forward.
public enum LoRAFusion {
    /// What `fuse` changed, for `unfuse`.
    public struct Fused: Sendable {
        public var adapter: LoRAAdapter
        public var scale: Float
    }

    /// Adds scaling * scale * B @ A to every target weight of `model` (validated first: nothing is changed if
    /// any target does not fit).
    @discardableResult
    public static func fuse(_ adapter: LoRAAdapter, into model: CogVideoXTransformer, scale: Float = 1) throws -> Fused {
        guard scale.isFinite else { throw ModelError.badInput("LoRA scale must be finite, got \(scale)") }
        try adapter.validate(for: model)
        for t in adapter.targets { addDelta(t, to: model, factor: t.scaling * scale) }
        return Fused(adapter: adapter, scale: scale)
    }

    /// Removes a fused adapter again.
    public static func unfuse(_ fused: Fused, from model: CogVideoXTransformer) throws {
        try fused.adapter.validate(for: model)
        for t in fused.adapter.targets { addDelta(t, to: model, factor: -t.scaling * fused.scale) }
    }

    /// W[out, in] += factor * B[out, r] @ A[r, in].
    static func addDelta(_ t: LoRAAdapter.Target, to model: CogVideoXTransformer, factor: Float) {
        let e = model.layout.entry(t.module + ".weight")!
        t.b.withUnsafeBufferPointer { b in
            t.a.withUnsafeBufferPointer { a in
                sgemmParallelRows(m: t.outFeatures, n: t.inFeatures, k: t.rank, alpha: factor, a: b.baseAddress!, lda: t.rank,
                                  b: a.baseAddress!, ldb: t.inFeatures, beta: 1, c: model.parameters.p + e.offset,
                                  ldc: t.inFeatures)
            }
        }
    }
}
