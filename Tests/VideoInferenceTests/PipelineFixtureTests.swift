import Foundation
import Testing
import TensorCore
import VideoInference
import VideoModel

/// The whole `CogVideoXPipeline` (tokenizer, T5, transformer with CFG, DDIM, VAE decode) read from a diffusers
/// pipeline folder, against diffusers' run of the same folder from the same latents at 4 and 8 steps.
@Suite("CogVideoXPipeline vs diffusers") struct PipelineFixtureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    static let folder = root.appendingPathComponent("cogvideox-pipeline-tiny")

    @Test("4 and 8 steps: ids, timesteps, embeddings, latents after every step, frames")
    func endToEnd() throws {
        let url = Self.folder.appendingPathComponent("reference.safetensors")
        let ref = try SafeTensorsFile.read(url)
        let lines = try PipelineReferenceCheck.run(folder: Self.folder, reference: ref, source: url.path)
        for n in [4, 8] {
            #expect(lines.contains { $0.name == "steps\(n).latents" })
            #expect(lines.contains { $0.name == "steps\(n).frames (absolute)" })
            #expect(lines.filter { $0.name.hasPrefix("steps\(n).latents_after_step") }.count == n)
        }
        #expect(lines.contains { $0.name == "prompt_embeds" } && lines.contains { $0.name == "negative_prompt_embeds" })
        for l in lines {
            #expect(l.passed, "\(l.name): error \(l.relErr) > \(l.tolerance)")
            print("pipeline \(l.name) max_abs \(l.maxAbsErr) err \(l.relErr)")
        }
    }

    /// `loraMode` fused and unfused give the same denoised latents (the fixture LoRA fits this transformer:
    /// 2 blocks of width 16), and both differ from the run without the LoRA.
    @Test func pipelineWithLoRAFusedOrUnfused() throws {
        let pipeline = try CogVideoXPipeline(directory: Self.folder)
        var o = pipeline.defaults
        o.steps = 4
        func latents(_ mode: LoRAMode?) throws -> [Float] {
            var p = o
            if let mode {
                p.lora = Self.root.appendingPathComponent("cogvideox-lora-tiny/pytorch_lora_weights.safetensors")
                p.loraScale = 0.8
                p.loraMode = mode
            }
            var lines: [String] = []
            let out = try pipeline(prompts: ["a red ball"], options: p, seed: 3, decode: false) { lines.append($0) }
            if let mode {
                #expect(lines.contains { $0.hasPrefix("LoRA: 8 modules") && $0.hasSuffix(", \(mode.rawValue)") }, "\(lines)")
            }
            return out.latents
        }
        let fused = try latents(.fused), unfused = try latents(.unfused), none = try latents(nil)
        let d = compareTensors(unfused, fused).relErr
        print("pipeline LoRA unfused vs fused latents: rel_err \(d)")
        #expect(d < 1e-5, "unfused vs fused: rel_err \(d)")
        #expect(compareTensors(fused, none).relErr > 1e-2)
    }

    @Test("the folder's defaults and scheduler")
    func folderDefaults() throws {
        let f = try DiffusersPipelineFolder.load(Self.folder)
        #expect(f.scheduler.kind == .ddim)
        #expect(f.scheduler.schedule == NoiseSchedule(snrShiftScale: 3))
        let d = CogVideoXPipeline(folder: f).defaults
        #expect(d.frames == 9 && d.height == 32 && d.width == 32 && d.maxSequenceLength == 16)
        #expect(DiffusersPipelineFolder.isPipelineFolder(Self.folder))
    }

    @Test("bad folders and scheduler configs are refused, naming the field")
    func refusals() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        #expect(throws: ModelPackageError.self) { try DiffusersPipelineFolder.load(tmp) }
        try Data(#"{"_class_name": "CogVideoXPipeline", "vae": ["diffusers", "AutoencoderKL"]}"#.utf8)
            .write(to: tmp.appendingPathComponent("model_index.json"))
        do { _ = try DiffusersPipelineFolder.load(tmp); Issue.record("accepted AutoencoderKL") } catch {
            #expect("\(error)".contains("AutoencoderKL"))
        }
        let good: [String: Any] = ["_class_name": "CogVideoXDDIMScheduler", "prediction_type": "v_prediction",
                                   "timestep_spacing": "trailing", "clip_sample": false, "snr_shift_scale": 1.0]
        let parsed = try DiffusersSchedulerConfig.parse(good, source: "s")
        #expect(parsed.schedule.snrShiftScale == 1 && parsed.kind == .ddim)
        for (key, value) in [("timestep_spacing", "leading" as Any), ("prediction_type", "epsilon"), ("beta_schedule", "linear"),
                             ("set_alpha_to_one", false), ("_class_name", "DDIMScheduler")] {
            var bad = good
            bad[key] = value
            do { _ = try DiffusersSchedulerConfig.parse(bad, source: "s"); Issue.record("accepted \(key) = \(value)") } catch {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
    }
}
