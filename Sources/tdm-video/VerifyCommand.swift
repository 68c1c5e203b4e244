import ArgumentParser
import Foundation
import TensorCore
import VideoModel

/// `tdm-video verify`: the model against golden tensors from diffusers.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the transformer against golden tensors dumped from diffusers (forward and backward).",
        discussion: """
        Loads a diffusers model folder, runs the forward pass on the reference inputs and, when the reference
        holds grad_output, the backward pass; prints one line per compared tensor (name max_abs_err rel_err),
        then `verify: PASS` or `verify: FAIL (n tensors out of tolerance)`. rel_err = max|ours - ref| / max|ref|;
        tolerances: outputs and activations 1e-4, gradients 1e-3. A gradient whose reference is below 1e-3 of the
        largest reference gradient (the key-norm bias: exactly zero in exact arithmetic) holds only float32 rounding
        noise; it is marked "near-zero reference" and its error is divided by that 1e-3 floor instead.

        Example:
          tdm-video verify --model ../shared/fixtures/cogvideox-tiny-sincos \\
                           --reference ../shared/fixtures/cogvideox-tiny-sincos/reference.safetensors
        """.paragraphs)

    @Option(help: "A diffusers model folder (config.json + diffusion_pytorch_model.safetensors).")
    var model: String

    @Option(help: "A reference.safetensors with inputs, output and optionally grad_output and grad.* tensors.")
    var reference: String

    @Flag(help: "Print only the last line.")
    var quiet = false

    func run() throws {
        let m = try CogVideoXTransformer.load(directory: URL(fileURLWithPath: model))
        let ref = try SafeTensorsFile.read(URL(fileURLWithPath: reference))
        let lines = try ReferenceCheck.run(model: m, reference: ref, source: reference)
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
