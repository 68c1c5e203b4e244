import Foundation
import Testing
@testable import TensorCore

/// Locates the shared golden fixtures: the package root is three levels above this file, `shared/` beside it.
enum SafeTensorsFixtures {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/fixtures").standardizedFileURL

    /// Every `*.safetensors` file under the fixture directory, sorted by path.
    static func allFiles() -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
            return []
        }
        return enumerator.compactMap { $0 as? URL }
            .filter { $0.pathExtension == "safetensors" }
            .sorted { $0.path < $1.path }
    }

    static func url(_ relative: String) -> URL { directory.appendingPathComponent(relative) }
}

/// SplitMix64: a tiny seeded generator so the randomized tests are reproducible.
struct SafeTensorsTestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("SafeTensors fixtures") struct SafeTensorsFixtureTests {
    @Test func everyFixtureFileReads() throws {
        let files = SafeTensorsFixtures.allFiles()
        // The transformer folders (weights + reference), the sampler and the scheduler, and the real stack's
        // VAE, T5, LoRA and pipeline folders: every one of them reads.
        let names = Set(files.map { $0.deletingLastPathComponent().lastPathComponent + "/" + $0.lastPathComponent })
        for required in ["cogvideox-tiny-sincos/reference.safetensors", "cogvideox-tiny-rope/diffusion_pytorch_model.safetensors",
                         "sampling-cfg-ddim/reference.safetensors", "scheduler-cogvideox-2b/reference.safetensors",
                         "cogvideox-vae-tiny/diffusion_pytorch_model.safetensors", "t5-encoder-tiny/model.safetensors"] {
            #expect(names.contains(required), "fixture files found: \(names.sorted())")
        }
        for url in files {
            let file = try SafeTensorsFile.read(url)
            #expect(!file.tensors.isEmpty, "\(url.path) has no tensors")
            for (name, tensor) in file.tensors {
                #expect(tensor.count == tensor.shape.reduce(1, *), "\(name)")
                #expect(tensor.byteCount == tensor.count * tensor.dtype.size, "\(name)")
                let values = tensor.floats()
                #expect(values.count == tensor.count)
                if tensor.dtype.isFloatingPoint {
                    let finite = values.allSatisfy { $0.isFinite }
                    #expect(finite, "\(url.lastPathComponent) \(name) holds non-finite values")
                }
            }
        }
    }

    @Test func schedulerTablesMatchTheDocumentedValues() throws {
        let file = try SafeTensorsFile.read(SafeTensorsFixtures.url("scheduler-cogvideox-2b/reference.safetensors"))
        #expect(file.names.contains("alphas_cumprod"), "keys: \(file.names.prefix(20))")
        let table = try #require(file["alphas_cumprod"])
        #expect(table.dtype == .f64)
        #expect(table.shape == [1000])
        let alphas = table.doubles()
        #expect(alphas.count == 1000)
        // cogvideox.md §4.2, reference values checked against diffusers.
        #expect(alphas[0] == 0.9974543276430069)
        #expect(abs(alphas[1] - 0.99480062642697986) <= 1e-15)
        #expect(abs(alphas[19] - 0.94657297923775474) <= 1e-15)
        #expect(abs(alphas[499] - 0.095969561690735408) <= 1e-15)
        #expect(abs(alphas[979] - 2.7194360400217652e-05) <= 1e-18)
        #expect(alphas[999] == 0)
        for index in 1..<1000 { #expect(alphas[index] < alphas[index - 1], "not decreasing at \(index)") }

        // Trailing timesteps for 50 steps: 999, 979, ..., 19 (cogvideox.md §4.3), stored as int64.
        let steps = try #require(file["ddim.timesteps.50"])
        #expect(steps.dtype == .i64)
        #expect(steps.int64s() == Array(stride(from: Int64(999), through: 19, by: -20)))
        #expect(steps.doubles() == steps.int64s().map(Double.init))
        // The float accessor converts int64 and float64 too.
        #expect(table.floats()[1] == Float(alphas[1]))
    }

    @Test(arguments: ["cogvideox-tiny-sincos", "cogvideox-tiny-rope"])
    func modelWeightShapesMatchConfig(folder: String) throws {
        let configData = try Data(contentsOf: SafeTensorsFixtures.url("\(folder)/config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: configData) as? [String: Any])
        func integer(_ key: String) throws -> Int { try #require(config[key] as? Int, "config key \(key)") }
        let heads = try integer("num_attention_heads"), headDim = try integer("attention_head_dim")
        let inner = heads * headDim
        let layers = try integer("num_layers"), patch = try integer("patch_size")
        let inChannels = try integer("in_channels"), outChannels = try integer("out_channels")
        let textDim = try integer("text_embed_dim"), timeDim = try integer("time_embed_dim")

        let weights = try SafeTensorsFile.read(SafeTensorsFixtures.url("\(folder)/diffusion_pytorch_model.safetensors"))
        #expect(weights.metadata == ["format": "pt"])
        func shape(_ key: String) -> [Int]? { weights[key]?.shape }
        #expect(shape("patch_embed.proj.weight") == [inner, inChannels, patch, patch])
        #expect(shape("patch_embed.text_proj.weight") == [inner, textDim])
        #expect(shape("time_embedding.linear_1.weight") == [timeDim, inner])
        #expect(shape("time_embedding.linear_2.weight") == [timeDim, timeDim])
        #expect(shape("proj_out.weight") == [patch * patch * outChannels, inner])
        #expect(shape("norm_out.linear.weight") == [2 * inner, timeDim])
        for layer in 0..<layers {
            let block = "transformer_blocks.\(layer)"
            #expect(shape("\(block).attn1.to_q.weight") == [inner, inner])
            #expect(shape("\(block).attn1.norm_q.weight") == [headDim])
            #expect(shape("\(block).norm1.linear.weight") == [6 * inner, timeDim])
            #expect(shape("\(block).ff.net.0.proj.weight") == [4 * inner, inner])
            #expect(shape("\(block).ff.net.2.weight") == [inner, 4 * inner])
        }
        let blockIndices = Set(weights.names.compactMap { name -> Int? in
            let parts = name.split(separator: ".")
            return parts.first == "transformer_blocks" && parts.count > 1 ? Int(parts[1]) : nil
        })
        #expect(blockIndices == Set(0..<layers))
        #expect(weights.tensors.values.allSatisfy { $0.dtype == .f32 })

        let reference = try SafeTensorsFile.read(SafeTensorsFixtures.url("\(folder)/reference.safetensors"))
        let timestep = try #require(reference["timestep"])
        #expect(timestep.dtype == .i64)
        let hidden = try #require(reference["hidden_states"]?.shape)
        #expect(hidden.count == 5 && hidden[2] == inChannels)
        var outputShape = hidden
        outputShape[2] = outChannels
        #expect(reference["output"]?.shape == outputShape)
        #expect(reference["encoder_hidden_states"]?.shape.last == textDim)
        #expect(reference["grad.patch_embed.proj.weight"]?.shape == shape("patch_embed.proj.weight"))
    }

    /// Our writer lays files out exactly as the reference library: re-serializing a fixture reproduces it byte for
    /// byte (files whose metadata has at most one key; with more, the reference's order is a hash order).
    @Test func reserializingFixturesReproducesTheirBytes() throws {
        var identical = 0
        for url in SafeTensorsFixtures.allFiles() {
            let original = try Data(contentsOf: url)
            let file = try SafeTensorsFile.parse(original, source: url.path)
            let rewritten = try file.serialized()
            let reparsed = try SafeTensorsFile.parse(rewritten, source: "rewritten \(url.lastPathComponent)")
            #expect(reparsed.tensors == file.tensors)
            #expect(reparsed.metadata == file.metadata)
            if file.metadata.count <= 1 {
                #expect(rewritten == original, "\(url.path) differs after a round trip")
                identical += 1
            }
        }
        #expect(identical >= 3, "byte-for-byte round trips checked: \(identical)")
    }
}
