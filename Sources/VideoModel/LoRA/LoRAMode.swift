import TensorCore

/// How a LoRA is applied to the transformer: `fused` adds it into the weights (`LoRAFusion`: no extra work
/// per step, the faster); `unfused` attaches it beside them (`LoRAUnfused`: two small extra GEMMs per
/// adapted Linear per forward, base weights untouched). Both give diffusers' output.
public enum LoRAMode: String, NamedChoice {
    case fused, unfused

    /// Applies `adapter` to `model` at `scale` in this mode (validated first; nothing changes on an error).
    public func apply(_ adapter: LoRAAdapter, to model: CogVideoXTransformer, scale: Float) throws {
        switch self {
        case .fused: try LoRAFusion.fuse(adapter, into: model, scale: scale)
        case .unfused: try LoRAUnfused.attach(adapter, to: model, scale: scale)
        }
    }
}
