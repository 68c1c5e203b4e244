import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// `AutoencoderKLCogVideoX` against diffusers' own outputs (`cogvideox-vae-tiny`): decode over one and
/// two frame batches, encode (posterior mean and log-variance) over one and two, tiled decode, and the
/// block outputs. Tolerance: 1e-4 relative to the reference tensor's largest magnitude (README).
@Suite("CogVideoX VAE vs diffusers fixtures") struct VAEFixtureTests {
    static let folder = "cogvideox-vae-tiny"
    static let tolerance: Float = 1e-4

    static func reference() throws -> SafeTensorsFile { try Fixtures.file("\(folder)/reference.safetensors") }
    static func tensor(_ ref: SafeTensorsFile, _ key: String) throws -> Tensor {
        let t = try #require(ref[key], "missing \(key)")
        return try Tensor(shape: t.shape, data: t.floats())
    }

    static func expectClose(_ ours: Tensor, _ ref: Tensor, _ name: String) {
        #expect(ours.shape == ref.shape, "\(name): shape \(ours.shape) vs \(ref.shape)")
        guard ours.shape == ref.shape else { return }
        let c = compareTensors(ours.data, ref.data)
        #expect(c.relErr <= tolerance, "\(name): rel_err \(c.relErr) (max abs \(c.maxAbs), ref max \(c.refMax))")
    }

    @Test func decodeAndBlockOutputsMatch() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url(Self.folder))
        let ref = try Self.reference()
        var acts: [String: Tensor] = [:]
        let out = try vae.decode(Self.tensor(ref, "decode.latents")) { name, t in acts[name] = t }
        Self.expectClose(out, try Self.tensor(ref, "decode.output"), "decode.output")
        for key in ["conv_in", "mid_block", "up_block0"] {
            let got = try #require(acts["decode.\(key)"], "no activation decode.\(key)")
            Self.expectClose(got, try Self.tensor(ref, "act.decode.\(key)"), "act.decode.\(key)")
        }
    }

    @Test func decodeOverTwoFrameBatchesMatches() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url(Self.folder))
        let ref = try Self.reference()
        let out = try vae.decode(Self.tensor(ref, "decode_long.latents"))
        Self.expectClose(out, try Self.tensor(ref, "decode_long.output"), "decode_long.output")
        #expect(vae.decodedFrames(latentFrames: 5) == 17)
    }

    @Test func encodeAndBlockOutputsMatch() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url(Self.folder))
        let ref = try Self.reference()
        var acts: [String: Tensor] = [:]
        let (mean, logvar) = try vae.encode(Self.tensor(ref, "encode.video")) { name, t in acts[name] = t }
        Self.expectClose(mean, try Self.tensor(ref, "encode.mean"), "encode.mean")
        Self.expectClose(logvar, try Self.tensor(ref, "encode.logvar"), "encode.logvar")
        for key in ["down_block0", "down_block1", "down_block2", "down_block3", "mid_block"] {
            let got = try #require(acts["encode.\(key)"], "no activation encode.\(key)")
            Self.expectClose(got, try Self.tensor(ref, "act.encode.\(key)"), "act.encode.\(key)")
        }
    }

    @Test func encodeOverTwoFrameBatchesMatches() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url(Self.folder))
        let ref = try Self.reference()
        let (mean, logvar) = try vae.encode(Self.tensor(ref, "encode_long.video"))
        Self.expectClose(mean, try Self.tensor(ref, "encode_long.mean"), "encode_long.mean")
        Self.expectClose(logvar, try Self.tensor(ref, "encode_long.logvar"), "encode_long.logvar")
    }

    @Test func tiledDecodeMatches() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url(Self.folder))
        let ref = try Self.reference()
        let m = ref.metadata
        let tiling = VAETiling(tileSampleMinHeight: Int(m["tiling.tile_sample_min_height"]!)!,
                               tileSampleMinWidth: Int(m["tiling.tile_sample_min_width"]!)!,
                               overlapFactorHeight: Double(m["tiling.tile_overlap_factor_height"]!)!,
                               overlapFactorWidth: Double(m["tiling.tile_overlap_factor_width"]!)!)
        let d = try tiling.derived(spatialRatio: vae.config.spatialCompressionRatio)
        #expect(d.tileLatentMinHeight == Int(m["tiling.tile_latent_min_height"]!)!)
        #expect(d.tileLatentMinWidth == Int(m["tiling.tile_latent_min_width"]!)!)
        #expect(d.latentStrideHeight == Int(m["tiling.latent_stride_height"]!)!)
        #expect(d.latentStrideWidth == Int(m["tiling.latent_stride_width"]!)!)
        #expect(d.blendExtentHeight == Int(m["tiling.blend_extent_height"]!)!)
        #expect(d.blendExtentWidth == Int(m["tiling.blend_extent_width"]!)!)
        #expect(d.rowLimitHeight == Int(m["tiling.row_limit_height"]!)!)
        #expect(d.rowLimitWidth == Int(m["tiling.row_limit_width"]!)!)
        let z = try Self.tensor(ref, "decode_tiled.latents")
        let out = try vae.tiledDecode(z, tiling: tiling)
        Self.expectClose(out, try Self.tensor(ref, "decode_tiled.output"), "decode_tiled.output")
        // The tiling matters: the untiled decode of the same latents is far off.
        let plain = try vae.decode(z)
        #expect(compareTensors(plain.data, out.data).maxAbs > 0.5)
    }

    /// The pipeline's last stage on the tiny pipeline's final latents reproduces its frames (1e-4 absolute).
    @Test(arguments: [4, 8]) func pipelineFramesFromFinalLatents(steps: Int) throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url("cogvideox-pipeline-tiny/vae"))
        let ref = try Fixtures.file("cogvideox-pipeline-tiny/reference.safetensors")
        let frames = try vae.decodePipelineLatents(Self.tensor(ref, "steps\(steps).latents"))
        let want = try Self.tensor(ref, "steps\(steps).frames")
        #expect(frames.shape == want.shape)
        #expect(compareTensors(frames.data, want.data).maxAbs <= 1e-4)
    }

    /// The comparison bites: a small change to one decoder weight puts the output out of tolerance.
    @Test func aPerturbedWeightFails() throws {
        let file = try Fixtures.file("\(Self.folder)/diffusion_pytorch_model.safetensors")
        var tensors = file.tensors
        let key = "decoder.up_blocks.2.resnets.1.conv2.conv.weight"
        var w = try #require(tensors[key]).floats()
        w[5] += 0.05
        tensors[key] = try SafeTensor(floats: w, shape: tensors[key]!.shape, as: .f32)
        let config = try CogVideoXVAEConfig.load(Fixtures.url("\(Self.folder)/config.json"))
        let vae = try CogVideoXVAE(config: config, tensors: tensors, source: "perturbed")
        let ref = try Self.reference()
        let out = try vae.decode(Self.tensor(ref, "decode.latents"))
        #expect(compareTensors(out.data, try Self.tensor(ref, "decode.output").data).relErr > Self.tolerance)
    }

    /// Half-precision files load through the same reader (values widened to Float32).
    @Test(arguments: [SafeTensorsDType.f16, .bf16])
    func halfPrecisionWeightsLoad(dtype: SafeTensorsDType) throws {
        let file = try Fixtures.file("\(Self.folder)/diffusion_pytorch_model.safetensors")
        var tensors: [String: SafeTensor] = [:]
        for (k, v) in file.tensors { tensors[k] = try SafeTensor(floats: v.floats(), shape: v.shape, as: dtype) }
        let config = try CogVideoXVAEConfig.load(Fixtures.url("\(Self.folder)/config.json"))
        let vae = try CogVideoXVAE(config: config, tensors: tensors, source: "half")
        let ref = try Self.reference()
        let out = try vae.decode(Self.tensor(ref, "decode.latents"))
        let c = compareTensors(out.data, try Self.tensor(ref, "decode.output").data)
        #expect(c.relErr < (dtype == .f16 ? 2e-2 : 1e-1) && c.relErr > 0)
    }

    @Test func frameBatchesFollowDiffusers() {
        #expect(CogVideoXVAE.frameBatches(frames: 3, size: 2) == [0..<3])
        #expect(CogVideoXVAE.frameBatches(frames: 5, size: 2) == [0..<3, 3..<5])
        #expect(CogVideoXVAE.frameBatches(frames: 13, size: 2) == [0..<3, 3..<5, 5..<7, 7..<9, 9..<11, 11..<13])
        #expect(CogVideoXVAE.frameBatches(frames: 1, size: 2) == [0..<1])
        #expect(CogVideoXVAE.frameBatches(frames: 9, size: 8) == [0..<9])
        #expect(CogVideoXVAE.frameBatches(frames: 17, size: 8) == [0..<9, 9..<17])
        #expect(CogVideoXVAE.frameBatches(frames: 4, size: 8) == [0..<4])
    }

    @Test func badWeightsAreListedTogether() throws {
        let file = try Fixtures.file("\(Self.folder)/diffusion_pytorch_model.safetensors")
        var tensors = file.tensors
        tensors.removeValue(forKey: "decoder.conv_out.conv.bias")
        tensors["decoder.extra.weight"] = try SafeTensor(floats: [1], shape: [1], as: .f32)
        tensors["encoder.norm_out.weight"] = try SafeTensor(floats: [1, 2, 3], shape: [3], as: .f32)
        let config = try CogVideoXVAEConfig.load(Fixtures.url("\(Self.folder)/config.json"))
        do {
            _ = try CogVideoXVAE(config: config, tensors: tensors, source: "mutated")
            Issue.record("loading mutated weights should fail")
        } catch let e as ModelError {
            let m = e.description
            #expect(m.contains("mutated"))
            #expect(m.contains("missing 1") && m.contains("decoder.conv_out.conv.bias"))
            #expect(m.contains("unexpected 1") && m.contains("decoder.extra.weight"))
            #expect(m.contains("mis-shaped 1") && m.contains("encoder.norm_out.weight"))
        }
    }

    @Test func configErrorsNameTheFileAndField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-vae-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(Self.folder)/config.json"))) as! [String: Any]
        let cases: [(String, Any)] = [
            ("latent_channels", 0), ("layers_per_block", 100), ("norm_num_groups", 3), ("block_out_channels", [4, 8, 8, 100000]),
            ("temporal_compression_ratio", 3), ("act_fn", "relu"), ("use_quant_conv", true), ("sample_height", -1),
            ("down_block_types", ["DownEncoderBlock2D"]), ("in_channels", "three"), ("mystery", 1),
        ]
        for (key, value) in cases {
            var obj = base
            obj[key] = value
            let url = dir.appendingPathComponent("config.json")
            try JSONSerialization.data(withJSONObject: obj).write(to: url)
            do {
                _ = try CogVideoXVAEConfig.load(url)
                Issue.record("\(key) = \(value) should be refused")
            } catch let e as ModelError {
                #expect(e.description.contains(url.path) && e.description.contains(key), "\(e.description)")
            }
        }
        // The 2b preset is a valid config and round-trips through JSON.
        try CogVideoXVAEConfig.cogVideoX2b.validate()
        let back = try JSONDecoder().decode(CogVideoXVAEConfig.self, from: CogVideoXVAEConfig.cogVideoX2b.jsonData())
        #expect(back == .cogVideoX2b)
    }

    @Test func badInputsAreErrors() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url(Self.folder))
        #expect(throws: ModelError.self) { try vae.decode(Tensor(zeros: [1, 3, 2, 4, 4])) }
        #expect(throws: ModelError.self) { try vae.decode(Tensor(zeros: [1, 4, 2, 4])) }
        #expect(throws: ModelError.self) { try vae.encode(Tensor(zeros: [1, 3, 9, 4, 4])) }
        #expect(throws: ModelError.self) { try CogVideoXVAE.load(directory: Fixtures.url("no-such-vae")) }
    }
}
