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
        #expect(lines.count == 5)
        #expect(lines.filter { $0.name.hasSuffix(", unfused)") }.count == 2)
        for l in lines {
            print("LoRA \(l.name): rel_err \(l.relErr)")
            #expect(l.passed, "\(l.name) rel_err \(l.relErr)")
        }
        #expect(compareTensors(model.parameters.array, before).relErr < 1e-6)
    }

    /// Attached unfused, the LoRA gives diffusers' output at both scales, the fused model's output to float
    /// rounding, and leaves the weights bit for bit as loaded; detaching restores the output exactly.
    @Test func unfusedLoRAMatchesAtTwoScalesAndDetaches() throws {
        let ref = try Fixtures.file("cogvideox-lora-tiny/reference.safetensors")
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let base = model.parameters.array
        let noLoRA = try Self.run(model, ref)
        #expect(Self.relErr(noLoRA, ref["output_no_lora"]!) <= Self.tolerance)
        let adapter = try LoRAAdapter.load(Self.loraFile)
        for (scale, key) in [(Float(1), "output"), (0.5, "output_scale_0_5")] {
            let attached = try LoRAUnfused.attach(adapter, to: model, scale: scale)
            #expect(model.attachedLoRA.count == 1)
            let out = try Self.run(model, ref)
            let e = Self.relErr(out, ref[key]!)
            print("LoRA unfused scale \(scale): rel_err \(e)")
            #expect(e <= Self.tolerance, "scale \(scale): rel_err \(e)")
            #expect(Self.relErr(out, ref["output_no_lora"]!) > 100 * Self.tolerance)
            let untouched = model.parameters.array == base
            #expect(untouched, "an unfused forward changed the weights")
            // The same adapter fused into a copy: the same output up to float32 rounding.
            let fusedModel = try model.copy()
            #expect(fusedModel.attachedLoRA.isEmpty)
            try LoRAFusion.fuse(adapter, into: fusedModel, scale: scale)
            let fused = try Self.run(fusedModel, ref)
            let d = compareTensors(out, fused).relErr
            print("LoRA unfused vs fused scale \(scale): rel_err \(d)")
            #expect(d < 1e-6, "scale \(scale): unfused vs fused rel_err \(d)")
            try LoRAUnfused.detach(attached, from: model)
            #expect(model.attachedLoRA.isEmpty)
            let restored = try Self.run(model, ref) == noLoRA
            #expect(restored, "detaching did not restore the output exactly")
        }
        // Two adapters at once add up: 0.5 + 0.5 is the adapter at 1.
        let halves = [try LoRAUnfused.attach(adapter, to: model, scale: 0.5), try LoRAUnfused.attach(adapter, to: model, scale: 0.5)]
        #expect(Self.relErr(try Self.run(model, ref), ref["output"]!) <= Self.tolerance)
        try LoRAUnfused.detach(halves[0], from: model)
        #expect(Self.relErr(try Self.run(model, ref), ref["output_scale_0_5"]!) <= Self.tolerance)
        try LoRAUnfused.detach(halves[1], from: model)
        #expect(throws: ModelError.self) { try LoRAUnfused.detach(halves[1], from: model) }
        let restored = try Self.run(model, ref) == noLoRA, untouched = model.parameters.array == base
        #expect(restored && untouched, "after detaching both: output restored \(restored), weights untouched \(untouched)")
    }

    /// Every Linear the forward pass calls has its unfused hook: a LoRA on all of them (time embedding, text
    /// projection, every block Linear, norm_out, proj_out), with other sizes than the fixture's, equals it fused.
    @Test func unfusedLoRAOnEveryLinearEqualsFused() throws {
        let ref = try Fixtures.file("cogvideox-lora-tiny/reference.safetensors")
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        var rng = RNG(seed: 11)
        var tensors: [String: SafeTensor] = [:]
        let linears = model.layout.entries.filter { $0.name.hasSuffix(".weight") && $0.shape.count == 2 }
        #expect(linears.count == 5 + 8 * model.config.numLayers)
        for e in linears {
            let module = String(e.name.dropLast(".weight".count)), r = 3
            tensors["transformer.\(module).lora_A.weight"] = try SafeTensor(floats: rng.normal(r * e.shape[1]).map { 0.2 * $0 }, shape: [r, e.shape[1]])
            tensors["transformer.\(module).lora_B.weight"] = try SafeTensor(floats: rng.normal(e.shape[0] * r).map { 0.2 * $0 }, shape: [e.shape[0], r])
        }
        let adapter = try LoRAAdapter(file: SafeTensorsFile(tensors: tensors), source: "every-linear")
        let noLoRA = try Self.run(model, ref)
        try LoRAUnfused.attach(adapter, to: model, scale: 0.7)
        let unfused = try Self.run(model, ref)
        let fusedModel = try model.copy()
        try LoRAFusion.fuse(adapter, into: fusedModel, scale: 0.7)
        let fused = try Self.run(fusedModel, ref)
        #expect(compareTensors(unfused, noLoRA).relErr > 1e-2)
        let d = compareTensors(unfused, fused).relErr
        #expect(d < 1e-5, "unfused vs fused on every Linear: rel_err \(d)")
        // Each module alone, so that a missing hook cannot hide behind the others.
        LoRAUnfused.detachAll(from: model)
        for e in linears {
            let module = String(e.name.dropLast(".weight".count))
            let one = try LoRAAdapter(file: SafeTensorsFile(tensors: tensors.filter { $0.key.hasPrefix("transformer.\(module).lora_") }), source: module)
            let attached = try LoRAUnfused.attach(one, to: model, scale: 0.7)
            let u = try Self.run(model, ref)
            try LoRAUnfused.detach(attached, from: model)
            let f = try model.copy()
            try LoRAFusion.fuse(one, into: f, scale: 0.7)
            let fo = try Self.run(f, ref)
            #expect(compareTensors(u, noLoRA).relErr > 1e-5, "\(module): the LoRA changed nothing")
            #expect(compareTensors(u, fo).relErr < 1e-5, "\(module): unfused vs fused rel_err \(compareTensors(u, fo).relErr)")
        }
    }

    /// Training and backward refuse while adapters are attached; attach validates like fuse and attaches
    /// nothing on an error.
    @Test func unfusedLoRARefusesTrainingAndBadAdapters() throws {
        let ref = try Fixtures.file("cogvideox-lora-tiny/reference.safetensors")
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let hs = ref["hidden_states"]!, ehs = ref["encoder_hidden_states"]!
        let shape = VideoShape(batch: hs.shape[0], frames: hs.shape[1], channels: hs.shape[2], height: hs.shape[3], width: hs.shape[4])
        func train() throws -> ForwardCache {
            try model.forwardTraining(hidden: hs.floats(), shape: shape, text: ehs.floats(), textLength: ehs.shape[1],
                                      timesteps: ref["timestep"]!.floats())
        }
        let cache = try train()
        let attached = try LoRAUnfused.attach(LoRAAdapter.load(Self.loraFile), to: model)
        for (what, call) in [("forwardTraining", { _ = try train() }),
                             ("backward", { try model.backward(cache, dOutput: [Float](repeating: 1, count: shape.count)) })] {
            do {
                try call()
                Issue.record("\(what) ran with an unfused LoRA attached")
            } catch {
                #expect("\(error)".contains(what) && "\(error)".contains("unfused LoRA"), "\(error)")
            }
        }
        try LoRAUnfused.detach(attached, from: model)
        #expect(throws: Never.self) { try model.backward(try train(), dOutput: [Float](repeating: 1, count: shape.count)) }

        let file = try SafeTensorsFile.read(Self.loraFile)
        var t = file.tensors
        t["transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"] = try SafeTensor(floats: [Float](repeating: 0, count: 4 * 12), shape: [4, 12])
        let bad = try LoRAAdapter(file: SafeTensorsFile(tensors: t, metadata: file.metadata), source: "bad.safetensors")
        do {
            try LoRAUnfused.attach(bad, to: model)
            Issue.record("a mis-shaped LoRA was attached")
        } catch {
            #expect("\(error)".contains("bad.safetensors") && "\(error)".contains("[16, 16]"), "\(error)")
        }
        #expect(throws: ModelError.self) { try LoRAUnfused.attach(LoRAAdapter.load(Self.loraFile), to: model, scale: .nan) }
        #expect(model.attachedLoRA.isEmpty)

        // The pipeline's switch: unfused attaches, fused changes the weights.
        let base = model.parameters.array
        try LoRAMode.unfused.apply(LoRAAdapter.load(Self.loraFile), to: model, scale: 1)
        let unchanged = model.parameters.array == base
        #expect(model.attachedLoRA.count == 1 && unchanged, "unfused: \(model.attachedLoRA.count) attached, weights unchanged \(unchanged)")
        LoRAUnfused.detachAll(from: model)
        try LoRAMode.fused.apply(LoRAAdapter.load(Self.loraFile), to: model, scale: 1)
        let changed = model.parameters.array != base
        #expect(model.attachedLoRA.isEmpty && changed, "fused: \(model.attachedLoRA.count) attached, weights changed \(changed)")
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
