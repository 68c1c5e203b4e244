import Foundation
import TensorCore
import VideoModel

/// Compares `CogVideoXPipeline` with diffusers' `CogVideoXPipeline` on the golden tensors of
/// `cogvideox-pipeline-tiny/reference.safetensors`: from the given `latents`, with the prompts, guidance and
/// max_sequence_length in its metadata, for each step count n with `timesteps.{n}`: the timesteps and token
/// ids exactly; the prompt and negative embeddings, the latents after every step and the final latents within
/// 1e-4 relative to their largest magnitude; the decoded frames (in [0, 1]) within 1e-4 absolute.
/// For the tests and `tdm-video verify`.
public enum PipelineReferenceCheck {
    public static let frameTolerance: Float = 1e-4

    public static func run(folder: URL, reference: SafeTensorsFile, source: String, stepCounts: [Int]? = nil,
                           log: ((String) -> Void)? = nil) throws -> [ReferenceCheck.Line] {
        func need(_ key: String) throws -> SafeTensor {
            guard let t = reference[key] else { throw ModelError.badInput("reference \(source) has no tensor \"\(key)\"") }
            return t
        }
        func meta(_ key: String) throws -> String {
            guard let v = reference.metadata[key] else { throw ModelError.badInput("reference \(source) has no metadata \"\(key)\"") }
            return v
        }
        guard let prompts = try? JSONDecoder().decode([String].self, from: Data(meta("prompts").utf8)) else {
            throw ModelError.badInput("reference \(source): metadata \"prompts\" is not a JSON list of strings")
        }
        let negative = (try? JSONDecoder().decode(String.self, from: Data(meta("negative_prompt").utf8))) ?? ""
        guard let frames = Int(try meta("num_frames")), let height = Int(try meta("height")), let width = Int(try meta("width")),
              let length = Int(try meta("max_sequence_length")), let guidance = Double(try meta("guidance_scale")) else {
            throw ModelError.badInput("reference \(source): num_frames, height, width, max_sequence_length and guidance_scale must be numbers")
        }
        let pipeline = try CogVideoXPipeline(directory: folder)
        let counts = stepCounts ?? reference.tensors.keys.compactMap { k in
            k.hasPrefix("timesteps.") ? Int(k.dropFirst("timesteps.".count)) : nil
        }.sorted()
        guard !counts.isEmpty else { throw ModelError.badInput("reference \(source) has no timesteps.{n} tensor") }
        let start = try need("latents").floats()

        var lines: [ReferenceCheck.Line] = []
        func add(_ name: String, _ ours: [Float], _ ref: SafeTensor, absolute: Bool = false) {
            let r = ref.floats()
            let tolerance = absolute ? frameTolerance : ReferenceCheck.outputTolerance
            guard r.count == ours.count else {
                lines.append(.init(name: name + " (size \(ours.count) vs \(r.count))", maxAbsErr: .infinity, relErr: .infinity, tolerance: tolerance))
                return
            }
            let c = compareTensors(ours, r)
            // Frames: the absolute error is what is judged (reported in the rel_err column).
            lines.append(.init(name: name, maxAbsErr: c.maxAbs, relErr: absolute ? c.maxAbs : c.relErr, tolerance: tolerance))
        }
        func addExact(_ name: String, _ ours: [Int], _ ref: SafeTensor) {
            let r = ref.int64s().map { Int($0) }
            let differing = r.count == ours.count ? zip(ours, r).filter { $0 != $1 }.count : max(r.count, ours.count)
            lines.append(.init(name: name, maxAbsErr: Float(differing), relErr: Float(differing), tolerance: 0))
        }

        // Token ids, as the pipeline makes them.
        let tokenizer = try T5Tokenizer.load(directory: folder.appendingPathComponent("tokenizer"))
        if let ref = reference["text.input_ids"] {
            addExact("text.input_ids", prompts.flatMap { tokenizer.encode($0, maxLength: length).inputIds }, ref)
        }
        if let ref = reference["text.negative_input_ids"] {
            addExact("text.negative_input_ids", prompts.flatMap { _ in tokenizer.encode(negative, maxLength: length).inputIds }, ref)
        }
        for (i, n) in counts.enumerated() {
            var o = pipeline.defaults
            o.frames = frames
            o.height = height
            o.width = width
            o.steps = n
            o.guidance = guidance
            o.maxSequenceLength = length
            o.negativePrompt = negative
            let out = try pipeline(prompts: prompts, options: o, latents: start, log: log)
            addExact("timesteps.\(n)", out.timesteps, try need("timesteps.\(n)"))
            if i == 0 {
                if let ref = reference["prompt_embeds"] { add("prompt_embeds", out.promptEmbeds, ref) }
                if let ref = reference["negative_prompt_embeds"] { add("negative_prompt_embeds", out.negativePromptEmbeds, ref) }
            }
            for (s, x) in out.latentsAfterStep.enumerated() {
                if let ref = reference["steps\(n).latents_after_step\(s)"] { add("steps\(n).latents_after_step\(s)", x, ref) }
            }
            add("steps\(n).latents", out.latents, try need("steps\(n).latents"))
            if let ref = reference["steps\(n).frames"] { add("steps\(n).frames (absolute)", out.frames?.data ?? [], ref, absolute: true) }
        }
        return lines
    }
}
