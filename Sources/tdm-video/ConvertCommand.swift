import ArgumentParser
import Foundation
import TensorCore
import VideoModel

/// `tdm-video convert`: re-save a diffusers model folder, optionally in half precision.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Load a diffusers CogVideoX transformer folder and save it again (F32, F16 or BF16).",
        discussion: """
        The output is a diffusers folder (config.json + diffusion_pytorch_model.safetensors) that
        CogVideoXTransformer3DModel.from_pretrained reads. Files are written atomically.

        Example:
          tdm-video convert --model ../shared/fixtures/cogvideox-tiny-rope --out /tmp/tiny-f16 --dtype f16
        """.paragraphs)

    @Option(help: "The model folder to read.")
    var model: String

    @Option(help: "The folder to write (created if needed).")
    var out: String

    @Option(help: "f32 | f16 | bf16")
    var dtype: String = "f32"

    func validate() throws {
        guard ["f32", "f16", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32, f16 or bf16, got \"\(dtype)\"") }
    }

    func run() throws {
        let m = try CogVideoXTransformer.load(directory: URL(fileURLWithPath: model))
        let t: SafeTensorsDType = dtype == "f16" ? .f16 : dtype == "bf16" ? .bf16 : .f32
        try m.save(directory: URL(fileURLWithPath: out), dtype: t)
        print("wrote \(out) (\(m.parameterCount) parameters, \(dtype))")
    }
}
