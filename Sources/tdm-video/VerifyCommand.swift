import ArgumentParser
import Foundation
import TensorCore
import VideoInference
import VideoModel

/// `tdm-video verify`: the model against golden tensors from diffusers.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the transformer, VAE, T5 encoder, tokenizer, LoRA or a whole pipeline folder against golden tensors from diffusers and transformers.",
        discussion: """
        Loads a diffusers model folder, runs the forward pass on the reference inputs and, when the reference
        holds grad_output, the backward pass; prints one line per compared tensor (name max_abs_err rel_err),
        then `verify: PASS` or `verify: FAIL (n tensors out of tolerance)`. rel_err = max|ours - ref| / max|ref|;
        tolerances: outputs and activations 1e-4, gradients 1e-3. A gradient whose reference is below 1e-3 of the
        largest reference gradient (the key-norm bias: exactly zero in exact arithmetic) holds only float32 rounding
        noise; it is marked "near-zero reference" and its error is divided by that 1e-3 floor instead.

        The folder's kind decides the check: a diffusers CogVideoXPipeline folder (model_index.json) runs the
        whole pipeline from the reference's latents at each of its step counts (token ids and timesteps exactly;
        prompt embeddings and latents after every step 1e-4 relative; frames 1e-4 absolute); a VAE folder
        (AutoencoderKLCogVideoX) decode, encode and tiled decode; a T5 text_encoder folder its output with and
        without mask, position buckets and block outputs; a tokenizer folder (spiece.model) every case of a
        reference.json exactly; a transformer folder with --lora the LoRA at scales 1 and 0.5, fused into the weights
        and attached unfused. --reference
        defaults to the folder's reference.safetensors (reference.json for a tokenizer).

        Examples:
          tdm-video verify --model ../shared/fixtures/cogvideox-tiny-sincos \\
                           --reference ../shared/fixtures/cogvideox-tiny-sincos/reference.safetensors
          tdm-video verify --model ../shared/fixtures/cogvideox-pipeline-tiny
          tdm-video verify --model ../shared/fixtures/cogvideox-vae-tiny
          tdm-video verify --model ../shared/fixtures/t5-encoder-tiny
          tdm-video verify --model ../shared/fixtures/t5-tokenizer-tiny
          tdm-video verify --model ../shared/fixtures/cogvideox-tiny-sincos \\
                           --lora ../shared/fixtures/cogvideox-lora-tiny/pytorch_lora_weights.safetensors \\
                           --reference ../shared/fixtures/cogvideox-lora-tiny/reference.safetensors
        """.paragraphs)

    @Option(help: "A diffusers model folder (transformer, VAE, T5 text encoder, tokenizer) or a CogVideoXPipeline folder.")
    var model: String

    @Option(help: "The golden tensors (default: the folder's reference.safetensors, or reference.json for a tokenizer).")
    var reference: String?

    @Option(help: "A diffusers LoRA file to check on the transformer (with the LoRA fixture's reference).")
    var lora: String?

    @Flag(help: "Print only the last line.")
    var quiet = false

    /// What the folder holds, by its marker files.
    enum Kind: String { case pipeline, vae, t5, tokenizer, transformer, lora }

    func kind(_ dir: URL) -> Kind {
        let fm = FileManager.default
        if DiffusersPipelineFolder.isPipelineFolder(dir) { return .pipeline }
        if fm.fileExists(atPath: dir.appendingPathComponent("spiece.model").path) { return .tokenizer }
        if let data = try? Data(contentsOf: dir.appendingPathComponent("config.json")),
           let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if obj["_class_name"] as? String == "AutoencoderKLCogVideoX" { return .vae }
            if obj["model_type"] as? String == "t5" { return .t5 }
        }
        return lora == nil ? .transformer : .lora
    }

    func run() throws {
        let dir = URL(fileURLWithPath: model)
        let k = kind(dir)
        if lora != nil && k != .lora { throw CLIError("--lora applies to a transformer folder; \(model) is a \(k.rawValue) folder") }
        let reference = self.reference ?? dir.appendingPathComponent(k == .tokenizer ? "reference.json" : "reference.safetensors").path
        guard FileManager.default.fileExists(atPath: reference) else { throw CLIError("no reference file \(reference) (give --reference)") }
        let lines: [ReferenceCheck.Line]
        switch k {
        case .tokenizer:
            let r = try TokenizerReferenceCheck.run(tokenizer: T5Tokenizer.load(directory: dir), reference: URL(fileURLWithPath: reference))
            if !quiet { for m in r.mismatches { print("mismatch \(m)") } }
            lines = [ReferenceCheck.Line(name: "tokenizer cases (\(r.cases); error = mismatching cases)", maxAbsErr: Float(r.mismatches.count),
                                         relErr: r.cases > 0 ? Float(r.mismatches.count) : .infinity, tolerance: 0)]
        case .pipeline:
            let ref = try SafeTensorsFile.read(URL(fileURLWithPath: reference))
            lines = try PipelineReferenceCheck.run(folder: dir, reference: ref, source: reference)
        case .vae:
            let ref = try SafeTensorsFile.read(URL(fileURLWithPath: reference))
            lines = try VAEReferenceCheck.run(vae: CogVideoXVAE.load(directory: dir), reference: ref, source: reference)
        case .t5:
            let ref = try SafeTensorsFile.read(URL(fileURLWithPath: reference))
            lines = try T5ReferenceCheck.run(model: T5EncoderModel.load(directory: dir), reference: ref, source: reference)
        case .lora:
            let ref = try SafeTensorsFile.read(URL(fileURLWithPath: reference))
            lines = try LoRAReferenceCheck.run(model: CogVideoXTransformer.load(directory: dir),
                                               adapter: LoRAAdapter.load(URL(fileURLWithPath: lora!)), reference: ref, source: reference)
        case .transformer:
            let ref = try SafeTensorsFile.read(URL(fileURLWithPath: reference))
            lines = try ReferenceCheck.run(model: CogVideoXTransformer.load(directory: dir), reference: ref, source: reference)
        }
        if !quiet {
            let width = max(40, lines.map(\.name.count).max() ?? 0)
            for l in lines {
                let name = l.name.padding(toLength: width, withPad: " ", startingAt: 0)
                print("\(name) \(String(format: "%.3e", l.maxAbsErr)) \(String(format: "%.3e", l.relErr))\(l.nearZeroReference ? "  (near-zero reference)" : "")\(l.passed ? "" : "  FAIL (tolerance \(l.tolerance))")")
            }
        }
        let failed = lines.filter { !$0.passed }.count
        if failed == 0 {
            print("verify: PASS")
        } else {
            print("verify: FAIL (\(failed) tensors out of tolerance)")
            throw ExitCode(1)
        }
    }
}
