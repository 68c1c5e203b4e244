import Foundation
import TensorCore

/// Compares a transformer with a LoRA against diffusers + peft outputs (`cogvideox-lora-tiny/
/// reference.safetensors`: the base fixture's inputs, `output` at adapter weight 1, `output_scale_0_5` at 0.5,
/// `output_no_lora`), at each scale fused into the weights (`LoRAFusion`) and attached unfused
/// (`LoRAUnfused`). The model is left as it was given (each fused adapter is unfused again, each attached one
/// detached). For `tdm-video verify`.
public enum LoRAReferenceCheck {
    public static func run(model: CogVideoXTransformer, adapter: LoRAAdapter, reference: SafeTensorsFile,
                           source: String) throws -> [ReferenceCheck.Line] {
        func need(_ key: String) throws -> SafeTensor {
            guard let t = reference[key] else { throw ModelError.badInput("reference \(source) has no tensor \"\(key)\"") }
            return t
        }
        let hs = try need("hidden_states"), ehs = try need("encoder_hidden_states"), ts = try need("timestep")
        guard hs.shape.count == 5, ehs.shape.count == 3 else {
            throw ModelError.badInput("reference \(source): hidden_states must be [B,F,C,H,W] and encoder_hidden_states [B,L,D]")
        }
        let shape = VideoShape(batch: hs.shape[0], frames: hs.shape[1], channels: hs.shape[2], height: hs.shape[3], width: hs.shape[4])
        func forward() throws -> [Float] {
            try model.forward(hidden: hs.floats(), shape: shape, text: ehs.floats(), textLength: ehs.shape[1], timesteps: ts.floats())
        }
        var lines: [ReferenceCheck.Line] = []
        func add(_ name: String, _ ours: [Float], _ ref: SafeTensor) {
            let c = compareTensors(ours, ref.floats())
            lines.append(.init(name: name, maxAbsErr: c.maxAbs, relErr: c.relErr, tolerance: ReferenceCheck.outputTolerance))
        }
        if let ref = reference["output_no_lora"] { add("output_no_lora", try forward(), ref) }
        for (scale, key) in [(Float(1), "output"), (0.5, "output_scale_0_5")] {
            guard let ref = reference[key] else { continue }
            let fused = try LoRAFusion.fuse(adapter, into: model, scale: scale)
            let out: [Float]
            do { out = try forward() } catch {
                try LoRAFusion.unfuse(fused, from: model)
                throw error
            }
            try LoRAFusion.unfuse(fused, from: model)
            add("\(key) (scale \(scale), fused)", out, ref)

            let attached = try LoRAUnfused.attach(adapter, to: model, scale: scale)
            let unfusedOut: [Float]
            do { unfusedOut = try forward() } catch {
                try LoRAUnfused.detach(attached, from: model)
                throw error
            }
            try LoRAUnfused.detach(attached, from: model)
            add("\(key) (scale \(scale), unfused)", unfusedOut, ref)
        }
        return lines
    }
}
