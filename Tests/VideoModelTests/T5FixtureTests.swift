import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// `T5EncoderModel` against transformers' own outputs on the tiny T5 v1.1 fixture.
@Suite("T5 encoder vs transformers fixtures") struct T5FixtureTests {
    static let folder = "t5-encoder-tiny"
    static let tolerance: Float = 1e-4

    static func reference() throws -> SafeTensorsFile { try Fixtures.file("\(folder)/reference.safetensors") }

    static func relErr(_ ours: [Float], _ ref: SafeTensor) -> Float {
        let r = ref.floats()
        guard r.count == ours.count else { return .infinity }
        return compareTensors(ours, r).relErr
    }

    /// The check `tdm-video verify` runs: every line passes; the figures are printed for docs/results.md.
    @Test func referenceCheckPasses() throws {
        let model = try T5EncoderModel.load(directory: Fixtures.url(Self.folder))
        let lines = try T5ReferenceCheck.run(model: model, reference: Self.reference(), source: Self.folder)
        #expect(lines.count == 8)
        for l in lines {
            print("T5 \(l.name): rel_err \(l.relErr)")
            #expect(l.passed, "\(l.name) rel_err \(l.relErr)")
        }
    }

    @Test func bucketsMatchExactly() throws {
        let ref = try Self.reference()
        let model = try T5EncoderModel.load(directory: Fixtures.url(Self.folder))
        let c = model.config
        let grid = T5RelativePosition.buckets(queryLength: 16, keyLength: 16, numBuckets: c.relativeAttentionNumBuckets,
                                              maxDistance: c.relativeAttentionMaxDistance)
        #expect(grid.map(Int64.init) == ref["relative_position_bucket"]!.int64s())
        let long = (-200...200).map {
            Int64(T5RelativePosition.bucket($0, numBuckets: c.relativeAttentionNumBuckets, maxDistance: c.relativeAttentionMaxDistance))
        }
        #expect(long == ref["relative_position_bucket_long"]!.int64s())
        // The float32 boundaries the README pins down.
        #expect([16, 32, 64].map { T5RelativePosition.bucket(-$0, numBuckets: 32, maxDistance: 128) } == [10, 12, 14])
        #expect(Self.relErr(model.positionBias(length: 16), ref["position_bias"]!) <= Self.tolerance)
    }

    @Test func outputWithoutAndWithMaskMatches() throws {
        let ref = try Self.reference()
        let model = try T5EncoderModel.load(directory: Fixtures.url(Self.folder))
        let ids = ref["input_ids"]!.int64s().map { Int($0) }, mask = ref["attention_mask"]!.int64s().map { Int($0) }
        let batch = ref["input_ids"]!.shape[0]
        let plain = try model.run(inputIds: ids, batch: batch, capture: true)
        let e = Self.relErr(plain.lastHiddenState, ref["output"]!)
        #expect(e <= Self.tolerance, "output rel_err \(e)")
        for key in ["act.embed", "act.block0", "act.block1"] {
            let a = Self.relErr(try #require(plain.activations[key]), ref[key]!)
            #expect(a <= Self.tolerance, "\(key) rel_err \(a)")
        }
        let masked = try model.forward(inputIds: ids, batch: batch, attentionMask: mask)
        let m = Self.relErr(masked, ref["output_masked"]!)
        #expect(m <= Self.tolerance, "output_masked rel_err \(m)")
        // The mask matters on this input (row 0 is padded), so the two references differ.
        #expect(Self.relErr(plain.lastHiddenState, ref["output_masked"]!) > 1e-2)
    }

    /// Half-precision storage: the same weights stored as BF16 give the BF16-rounded model's output, which
    /// stays close to the F32 reference (the widening is exact; only the stored rounding differs).
    @Test func halfPrecisionWeightsAreWidened() throws {
        let ref = try Self.reference()
        let file = try Fixtures.file("\(Self.folder)/model.safetensors")
        let config = try T5Config.load(Fixtures.url("\(Self.folder)/config.json"))
        for dtype in [SafeTensorsDType.bf16, .f16] {
            var half: [String: SafeTensor] = [:]
            for (k, t) in file.tensors { half[k] = try SafeTensor(floats: t.floats(), shape: t.shape, as: dtype) }
            // An old-style checkpoint also carries the tied encoder.embed_tokens.weight.
            half["encoder.embed_tokens.weight"] = half["shared.weight"]
            let model = try T5EncoderModel(config: config, tensors: half, source: "half")
            let ids = ref["input_ids"]!.int64s().map { Int($0) }
            let out = try model.forward(inputIds: ids, batch: 2)
            let e = Self.relErr(out, ref["output"]!)
            #expect(e < (dtype == .bf16 ? 3e-2 : 3e-3), "\(dtype) rel_err \(e)")
            #expect(e > 0)
        }
    }

    @Test func perturbedWeightFails() throws {
        let ref = try Self.reference()
        let file = try Fixtures.file("\(Self.folder)/model.safetensors")
        var tensors = file.tensors
        let key = "encoder.block.1.layer.1.DenseReluDense.wi_1.weight"
        var w = tensors[key]!.floats()
        w[5] += 0.05
        tensors[key] = try SafeTensor(floats: w, shape: tensors[key]!.shape)
        let model = try T5EncoderModel(config: T5Config.load(Fixtures.url("\(Self.folder)/config.json")), tensors: tensors, source: "perturbed")
        let out = try model.forward(inputIds: ref["input_ids"]!.int64s().map { Int($0) }, batch: 2)
        #expect(Self.relErr(out, ref["output"]!) > Self.tolerance)
    }

    /// A sharded folder (`model.safetensors.index.json`, as T5-XXL ships) loads the same model.
    @Test func shardedFolderLoads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-t5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("\(Self.folder)/config.json"), to: dir.appendingPathComponent("config.json"))
        let file = try Fixtures.file("\(Self.folder)/model.safetensors")
        let names = file.names
        let halves = [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))]
        var map: [String: String] = [:]
        for (i, part) in halves.enumerated() {
            let shard = "model-0000\(i + 1)-of-00002.safetensors"
            try SafeTensorsFile.write(part.map { ($0, file[$0]!) }, metadata: ["format": "pt"], to: dir.appendingPathComponent(shard))
            for n in part { map[n] = shard }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [:] as [String: Any], "weight_map": map])
        try index.write(to: dir.appendingPathComponent(T5EncoderModel.weightsIndexFileName))
        let model = try T5EncoderModel.load(directory: dir)
        let ref = try Self.reference()
        let out = try model.forward(inputIds: ref["input_ids"]!.int64s().map { Int($0) }, batch: 2)
        #expect(Self.relErr(out, ref["output"]!) <= Self.tolerance)
    }

    @Test func badConfigNamesFileAndField() throws {
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(Self.folder)/config.json"))) as! [String: Any]
        let cases: [(String, Any?, String)] = [
            ("d_model", nil, "d_model"),
            ("num_heads", "four", "num_heads"),
            ("num_layers", true, "num_layers"),
            ("d_ff", 0, "d_ff"),
            ("feed_forward_proj", "relu", "feed_forward_proj"),
            ("dense_act_fn", "relu", "dense_act_fn"),
            ("model_type", "umt5", "model_type"),
            ("relative_attention_num_buckets", 7, "relative_attention_num_buckets"),
        ]
        for (key, value, field) in cases {
            var obj = base
            obj[key] = value
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("t5-config-\(UUID().uuidString).json")
            defer { try? FileManager.default.removeItem(at: url) }
            try JSONSerialization.data(withJSONObject: obj).write(to: url)
            do {
                _ = try T5Config.load(url)
                Issue.record("\(key) = \(String(describing: value)) should be refused")
            } catch let e as ModelError {
                #expect(e.description.contains(url.path) && e.description.contains("\"\(field)\""), "\(e)")
            }
        }
    }

    @Test func badWeightsAndInputsAreErrors() throws {
        let file = try Fixtures.file("\(Self.folder)/model.safetensors")
        let config = try T5Config.load(Fixtures.url("\(Self.folder)/config.json"))
        var tensors = file.tensors
        tensors.removeValue(forKey: "encoder.block.1.layer.0.SelfAttention.q.weight")
        tensors["encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"] = tensors["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        tensors["encoder.final_layer_norm.weight"] = try SafeTensor(floats: [1, 2], shape: [2])
        tensors["decoder.block.0.layer.0.SelfAttention.q.weight"] = try SafeTensor(floats: [1], shape: [1])
        do {
            _ = try T5EncoderModel(config: config, tensors: tensors, source: "mutated")
            Issue.record("mutated weights should be refused")
        } catch let e as ModelError {
            let m = e.description
            #expect(m.contains("mutated") && m.contains("missing 1") && m.contains("block.1.layer.0.SelfAttention.q.weight"))
            #expect(m.contains("unexpected 1") && m.contains("block.1.layer.0.SelfAttention.relative_attention_bias"))
            #expect(m.contains("mis-shaped 1") && m.contains("final_layer_norm"))
            #expect(!m.contains("decoder."))
        }
        let model = try T5EncoderModel(config: config, tensors: file.tensors, source: "fixture")
        #expect(throws: ModelError.self) { try model.forward(inputIds: [1, 2, 420], batch: 1) }
        #expect(throws: ModelError.self) { try model.forward(inputIds: [1, 2, 3], batch: 2) }
        #expect(throws: ModelError.self) { try model.forward(inputIds: [1, 2], batch: 1, attentionMask: [1]) }
        #expect(throws: ModelError.self) { try T5EncoderModel.load(directory: Fixtures.url("t5-tokenizer-tiny")) }
    }
}

/// The random full-size builder and the bench, at a tiny size in the normal run; at T5-XXL size only when
/// `TDM_BENCH_T5_XXL=1` (9.5 GB of bf16 weights, about a minute on 2 cores; see docs/results.md).
@Suite("T5 encoder bench") struct T5EncoderBenchTests {
    @Test func randomEncoderIsSeededAndFinite() throws {
        let config = T5Config(vocabSize: 50, dModel: 16, dKV: 4, numHeads: 2, dFF: 24, numLayers: 2)
        let a = try T5EncoderBench.run(config: config, tokens: 9, batch: 2, repeats: 2, seed: 5)
        #expect(a.parameterCount == 50 * 16 + 2 * (16 + 3 * 8 * 16 + 16 * 8 + 16 + 3 * 24 * 16) + 32 * 2 + 16)
        #expect(a.storedBytes == 2 * a.parameterCount)
        #expect(a.outputMaxAbs.isFinite && a.outputMaxAbs > 0 && a.forwardSeconds.count == 2)
        #if os(Linux)
        #expect((a.peakResidentBytes ?? 0) > 1 << 20 && (a.residentAfterBuildBytes ?? 0) > 1 << 20)
        #endif
        let m1 = try T5EncoderModel.randomlyInitialized(config: config, seed: 5)
        let m2 = try T5EncoderModel.randomlyInitialized(config: config, seed: 5)
        let m3 = try T5EncoderModel.randomlyInitialized(config: config, seed: 6)
        let ids = [1, 2, 3, 4, 0, 0]
        #expect(try m1.forward(inputIds: ids, batch: 1) == m2.forward(inputIds: ids, batch: 1))
        #expect(try m1.forward(inputIds: ids, batch: 1) != m3.forward(inputIds: ids, batch: 1))
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["TDM_BENCH_T5_XXL"] == "1"))
    func t5XXLForward() throws {
        let repeats = Int(ProcessInfo.processInfo.environment["TDM_BENCH_REPEATS"] ?? "") ?? 3
        let report = try T5EncoderBench.run(repeats: repeats)
        print(report.summary)
        #expect(report.parameterCount == 4_762_310_656)
        #expect(report.outputMaxAbs.isFinite)
    }
}

/// Prompt to embeddings through the pipeline folder, as `CogVideoXPipeline` encodes its prompts.
@Suite("T5 prompt encoder vs the pipeline fixture") struct T5PromptEncoderTests {
    @Test func pipelinePromptEmbeddingsMatch() throws {
        let ref = try Fixtures.file("cogvideox-pipeline-tiny/reference.safetensors")
        let prompts = try JSONDecoder().decode([String].self, from: Data(ref.metadata["prompts"]!.utf8))
        let encoder = try T5PromptEncoder.load(pipelineFolder: Fixtures.url("cogvideox-pipeline-tiny"), textLength: 16)
        #expect(encoder.embedDim == 32 && encoder.textLength == 16)
        #expect(prompts.flatMap { encoder.inputIds($0) }.map(Int64.init) == ref["text.input_ids"]!.int64s())
        #expect(Array(repeating: encoder.inputIds(""), count: 2).flatMap { $0 }.map(Int64.init) == ref["text.negative_input_ids"]!.int64s())
        let embeds = encoder.encode(prompts)
        let e = compareTensors(embeds, ref["prompt_embeds"]!.floats()).relErr
        #expect(e <= 1e-4, "prompt_embeds rel_err \(e)")
        let negative = encoder.encode(["", ""])
        let n = compareTensors(negative, ref["negative_prompt_embeds"]!.floats()).relErr
        #expect(n <= 1e-4, "negative_prompt_embeds rel_err \(n)")
        print("T5 pipeline prompt_embeds rel_err \(e), negative_prompt_embeds \(n)")
    }
}

/// The memory-mapped safetensors reader the T5 loader uses gives what the reading one gives.
@Suite("Memory-mapped safetensors") struct SafeTensorsMappedTests {
    @Test func mappedEqualsRead() throws {
        let files = FileManager.default.enumerator(at: Fixtures.root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "safetensors" }
        #expect(files.count >= 10)
        for url in files {
            let mapped = try SafeTensorsFile.readMapped(url), read = try SafeTensorsFile.read(url)
            #expect(mapped.tensors == read.tensors && mapped.metadata == read.metadata, "\(url.lastPathComponent)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-mmap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: short)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile.readMapped(short) }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile.readMapped(dir.appendingPathComponent("missing.safetensors")) }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile.readMapped(dir) }
    }
}
