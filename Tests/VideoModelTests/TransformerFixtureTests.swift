import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// The transformer against diffusers' own outputs, activations and gradients.
@Suite("Transformer vs diffusers fixtures") struct TransformerFixtureTests {
    @Test(arguments: ["cogvideox-tiny-sincos", "cogvideox-tiny-rope"])
    func forwardAndBackwardMatch(folder: String) throws {
        let model = try CogVideoXTransformer.load(directory: Fixtures.url(folder))
        let ref = try Fixtures.file("\(folder)/reference.safetensors")
        let lines = try ReferenceCheck.run(model: model, reference: ref, source: folder)
        #expect(lines.contains { $0.name == "output" })
        #expect(lines.filter { $0.name.hasPrefix("grad.") }.count == model.layout.entries.count + 2)
        if folder.hasSuffix("rope") { #expect(lines.contains { $0.name == "rotary.cos" }) }
        for l in lines { #expect(l.passed, "\(folder): \(l.name) rel_err \(l.relErr) > \(l.tolerance)") }
    }

    /// The comparison bites: a small change to one weight puts the output out of tolerance.
    @Test func aPerturbedWeightFails() throws {
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let e = try #require(model.layout.entry("transformer_blocks.1.attn1.to_v.weight"))
        model.parameters[e.offset + 3] += 0.05
        let ref = try Fixtures.file("cogvideox-tiny-sincos/reference.safetensors")
        let lines = try ReferenceCheck.run(model: model, reference: ref, source: "perturbed")
        #expect(lines.first { $0.name == "output" }?.passed == false)
    }

    /// Saving writes diffusers' folder back: reloading gives identical weights and config.
    @Test func saveAndReloadRoundTrips() throws {
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-rope"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-save-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.save(directory: dir)
        let back = try CogVideoXTransformer.load(directory: dir)
        #expect(back.config == model.config)
        #expect(back.parameters.array == model.parameters.array)
        let names = try SafeTensorsFile.read(dir.appendingPathComponent(CogVideoXTransformer.weightsFileName)).tensors.keys.sorted()
        let fixtureNames = try SafeTensorsFile.read(Fixtures.url("cogvideox-tiny-rope/diffusion_pytorch_model.safetensors")).tensors.keys.sorted()
        #expect(names == fixtureNames)
        // Half precision keeps every weight within F16 rounding.
        try model.save(directory: dir, dtype: .f16)
        let half = try CogVideoXTransformer.load(directory: dir)
        let c = compareTensors(half.parameters.array, model.parameters.array)
        #expect(c.relErr < 1e-3)
    }

    @Test func badWeightsAreListedTogether() throws {
        let src = try Fixtures.file("cogvideox-tiny-sincos/diffusion_pytorch_model.safetensors")
        var tensors = src.tensors
        tensors.removeValue(forKey: "proj_out.bias")
        tensors.removeValue(forKey: "norm_final.weight")
        tensors["extra.weight"] = SafeTensor(floats: [1, 2], shape: [2], as: .f32)
        tensors["patch_embed.proj.bias"] = SafeTensor(floats: [1, 2, 3], shape: [3], as: .f32)
        let model = try CogVideoXTransformer(config: CogVideoXConfig.load(Fixtures.url("cogvideox-tiny-sincos/config.json")))
        do {
            try model.loadWeights(tensors, source: "mutated")
            Issue.record("loading mutated weights should fail")
        } catch let e as ModelError {
            let m = e.description
            #expect(m.contains("missing 2") && m.contains("proj_out.bias") && m.contains("norm_final.weight"))
            #expect(m.contains("unexpected 1") && m.contains("extra.weight"))
            #expect(m.contains("mis-shaped 1") && m.contains("patch_embed.proj.bias"))
        }
    }

    @Test func configRefusesUnsupportedSettingsAndUnknownKeys() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("cogvideox-tiny-sincos/config.json"))) as! [String: Any]
        let cases: [(String, Any, String)] = [
            ("patch_size_t", 2, "patch_size_t"),
            ("use_learned_positional_embeddings", true, "use_learned_positional_embeddings"),
            ("activation_fn", "relu", "activation_fn"),
            ("num_layers", "two", "num_layers"),
            ("mystery_key", 1, "mystery_key"),
        ]
        for (key, value, expected) in cases {
            var obj = base
            obj[key] = value
            let url = dir.appendingPathComponent("\(key).json")
            try JSONSerialization.data(withJSONObject: obj).write(to: url)
            do {
                _ = try CogVideoXConfig.load(url)
                Issue.record("config with \(key)=\(value) should be refused")
            } catch let e as ModelError {
                #expect(e.description.contains(expected) && e.description.contains(url.path), "\(e)")
            }
        }
        // Every key of the fixtures round-trips.
        let cfg = try CogVideoXConfig.load(Fixtures.url("cogvideox-tiny-rope/config.json"))
        #expect(cfg.useRotaryPositionalEmbeddings && cfg.attentionHeadDim == 16 && cfg.textEmbedDim == 10)
        let again = try JSONDecoder().decode(CogVideoXConfig.self, from: cfg.jsonData())
        #expect(again == cfg)
    }
}
