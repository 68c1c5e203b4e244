import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// LoRA in diffusers' format on the tiny sincos transformer, against diffusers + peft outputs.
@Suite("LoRA vs diffusers fixtures") struct LoRAFixtureTests {
    static let loraFile = Fixtures.url("cogvideox-lora-tiny/pytorch_lora_weights.safetensors")
    static let tolerance: Float = 1e-4

    static func run(_ model: CogVideoXTransformer, _ ref: SafeTensorsFile) throws -> [Float] {
        let hs = ref["hidden_states"]!, ehs = ref["encoder_hidden_states"]!
        let shape = VideoShape(batch: hs.shape[0], frames: hs.shape[1], channels: hs.shape[2], height: hs.shape[3], width: hs.shape[4])
        return try model.forward(hidden: hs.floats(), shape: shape, text: ehs.floats(), textLength: ehs.shape[1],
                                 timesteps: ref["timestep"]!.floats())
    }

    static func relErr(_ ours: [Float], _ ref: SafeTensor) -> Float { compareTensors(ours, ref.floats()).relErr }

    @Test func metadataIsRead() throws {
        let adapter = try LoRAAdapter.load(Self.loraFile)
        #expect(adapter.targets.count == 8)
        #expect(adapter.targets.allSatisfy { $0.rank == 4 && $0.scaling == 1.5 })
    }

    @Test func fusedOutputMatchesAtTwoScalesAndUnfuses() throws {
        let ref = try Fixtures.file("cogvideox-lora-tiny/reference.safetensors")
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let base = model.parameters.array
        let noLoRA = try Self.run(model, ref)
        #expect(Self.relErr(noLoRA, ref["output_no_lora"]!) <= Self.tolerance)
        let adapter = try LoRAAdapter.load(Self.loraFile)
        for (scale, key) in [(Float(1), "output"), (0.5, "output_scale_0_5")] {
            let fused = try LoRAFusion.fuse(adapter, into: model, scale: scale)
            let out = try Self.run(model, ref)
            let e = Self.relErr(out, ref[key]!)
            #expect(e <= Self.tolerance, "scale \(scale): rel_err \(e)")
            // The LoRA changes the output well beyond the tolerance, so the comparison bites.
            #expect(Self.relErr(out, ref["output_no_lora"]!) > 100 * Self.tolerance)
            try LoRAFusion.unfuse(fused, from: model)
            #expect(compareTensors(model.parameters.array, base).relErr < 1e-6)
        }
        #expect(Self.relErr(try Self.run(model, ref), ref["output_no_lora"]!) <= Self.tolerance)
    }

    @Test func referenceCheckPasses() throws {
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let before = model.parameters.array
        let lines = try LoRAReferenceCheck.run(model: model, adapter: LoRAAdapter.load(Self.loraFile),
                                               reference: Fixtures.file("cogvideox-lora-tiny/reference.safetensors"),
                                               source: "cogvideox-lora-tiny")
        #expect(lines.count == 3)
        for l in lines {
            print("LoRA \(l.name): rel_err \(l.relErr)")
            #expect(l.passed, "\(l.name) rel_err \(l.relErr)")
        }
        #expect(compareTensors(model.parameters.array, before).relErr < 1e-6)
    }

    /// The unfused low-rank path gives the fused layer's output.
    @Test func lowRankPathEqualsFusedLinear() throws {
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let adapter = try LoRAAdapter.load(Self.loraFile)
        var rng = RNG(seed: 7)
        for t in adapter.targets {
            let e = try #require(model.layout.entry(t.module + ".weight"))
            let bias = try #require(model.layout.entry(t.module + ".bias"))
            let m = 5
            let x = rng.normal(m * t.inFeatures)
            var unfused = [Float](repeating: 0, count: m * t.outFeatures)
            var fused = unfused
            x.withUnsafeBufferPointer { xp in
                unfused.withUnsafeMutableBufferPointer { y in
                    Linear.forward(y: y.baseAddress!, x: xp.baseAddress!, w: model.parameters.p + e.offset,
                                   b: model.parameters.p + bias.offset, m: m, k: t.inFeatures, n: t.outFeatures)
                    LoRALowRank.addForward(y: y.baseAddress!, x: xp.baseAddress!, m: m, target: t, scale: 0.5)
                }
            }
            let copy = try model.copy()
            LoRAFusion.addDelta(t, to: copy, factor: t.scaling * 0.5)
            x.withUnsafeBufferPointer { xp in
                fused.withUnsafeMutableBufferPointer { y in
                    Linear.forward(y: y.baseAddress!, x: xp.baseAddress!, w: copy.parameters.p + e.offset,
                                   b: copy.parameters.p + bias.offset, m: m, k: t.inFeatures, n: t.outFeatures)
                }
            }
            #expect(compareTensors(unfused, fused).relErr < 1e-5, "\(t.module)")
        }
    }

    /// Bad files: errors name the file and the key; nothing is fused when a target does not fit.
    @Test func badAdaptersAreErrors() throws {
        let file = try SafeTensorsFile.read(Self.loraFile)
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let base = model.parameters.array
        func expectError(_ tensors: [String: SafeTensor], metadata: [String: String]? = nil, _ fragments: [String],
                         fuse: Bool = false) {
            do {
                let adapter = try LoRAAdapter(file: SafeTensorsFile(tensors: tensors, metadata: metadata ?? file.metadata), source: "bad.safetensors")
                if fuse { try LoRAFusion.fuse(adapter, into: model) }
                Issue.record("expected an error mentioning \(fragments)")
            } catch {
                let m = "\(error)"
                #expect(m.contains("bad.safetensors"), "\(m)")
                for f in fragments { #expect(m.contains(f), "\(m) lacks \(f)") }
            }
        }
        var t = file.tensors
        t["transformer.transformer_blocks.0.attn1.to_q.lora_C.weight"] = t["transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"]
        expectError(t, ["lora_C"])
        t = file.tensors
        t.removeValue(forKey: "transformer.transformer_blocks.1.attn1.to_v.lora_B.weight")
        expectError(t, ["transformer_blocks.1.attn1.to_v.lora_A.weight", "lora_B"])
        t = file.tensors
        t["transformer.transformer_blocks.1.attn1.to_k.lora_B.weight"] = try SafeTensor(floats: [Float](repeating: 0, count: 16 * 3), shape: [16, 3])
        expectError(t, ["transformer_blocks.1.attn1.to_k.lora_B.weight", "rank"])
        t = file.tensors
        t["transformer.transformer_blocks.5.attn1.to_q.lora_A.weight"] = t["transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"]
        t["transformer.transformer_blocks.5.attn1.to_q.lora_B.weight"] = t["transformer.transformer_blocks.0.attn1.to_q.lora_B.weight"]
        expectError(t, ["transformer_blocks.5.attn1.to_q"], fuse: true)
        t = file.tensors
        t["transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"] = try SafeTensor(floats: [Float](repeating: 0, count: 4 * 12), shape: [4, 12])
        expectError(t, ["transformer_blocks.0.attn1.to_q", "[16, 16]"], fuse: true)
        t = file.tensors
        t["text_encoder.encoder.block.0.layer.0.SelfAttention.q.lora_A.weight"] = t["transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"]
        expectError(t, ["text_encoder.encoder.block.0"])
        expectError(file.tensors, metadata: ["lora_adapter_metadata": #"{"transformer.r": 8, "transformer.lora_alpha": 6}"#], ["r = 8"])
        expectError(file.tensors, metadata: ["lora_adapter_metadata": "{"], ["lora_adapter_metadata"])
        #expect(model.parameters.array == base)
    }

    /// rank_pattern / alpha_pattern / rsLoRA / no metadata give peft's scalings.
    @Test func scalingRules() throws {
        let file = try SafeTensorsFile.read(Self.loraFile)
        func scalings(_ metadata: [String: String]) throws -> [String: Float] {
            let a = try LoRAAdapter(file: SafeTensorsFile(tensors: file.tensors, metadata: metadata), source: "m")
            return Dictionary(uniqueKeysWithValues: a.targets.map { ($0.module, $0.scaling) })
        }
        #expect(try scalings([:]).values.allSatisfy { $0 == 1 })
        let rs = try scalings(["lora_adapter_metadata": #"{"transformer.r": 4, "transformer.lora_alpha": 6, "transformer.use_rslora": true}"#])
        #expect(rs.values.allSatisfy { $0 == 3 })
        let pattern = try scalings(["lora_adapter_metadata": #"{"transformer.r": 4, "transformer.lora_alpha": 6, "transformer.alpha_pattern": {"to_out.0": 2, "transformer_blocks.1.attn1.to_q": 8}}"#])
        #expect(pattern["transformer_blocks.0.attn1.to_out.0"] == 0.5 && pattern["transformer_blocks.1.attn1.to_out.0"] == 0.5)
        #expect(pattern["transformer_blocks.1.attn1.to_q"] == 2 && pattern["transformer_blocks.0.attn1.to_q"] == 1.5)
    }
}
