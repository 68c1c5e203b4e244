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

    /// The floating-point types a model folder can be written in.
    enum DType: String, CaseIterable, ExpressibleByArgument {
        case f32, f16, bf16
        var safetensors: SafeTensorsDType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            }
        }
    }

    @Option(help: "The weights' floating-point type.")
    var dtype: DType = .f32

    func run() throws {
        let m = try CogVideoXTransformer.load(directory: URL(fileURLWithPath: model))
        try m.save(directory: URL(fileURLWithPath: out), dtype: dtype.safetensors)
        print("wrote \(out) (\(m.parameterCount) parameters, \(dtype.rawValue))")
    }
}
