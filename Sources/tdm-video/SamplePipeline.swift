import Foundation
import TensorCore
import VideoCommon
import VideoInference
import VideoIO
import VideoModel

/// `tdm-video sample --model <a diffusers CogVideoXPipeline folder>`: diffusers' pipeline, components loaded
/// in turn, a progress line per denoising step, the peak resident memory printed at the end.
extension SampleCommand {
    func runPipeline() throws {
        let pipeline = try CogVideoXPipeline(directory: URL(fileURLWithPath: model))
        var o = pipeline.defaults
        if let frames { o.frames = frames }
        if let height { o.height = height }
        if let width { o.width = width }
        if let steps { o.steps = steps }
        if let guidance { o.guidance = guidance }
        if let scheduler { o.scheduler = scheduler }
        if let maxSequenceLength { o.maxSequenceLength = maxSequenceLength }
        if let lora {
            guard FileManager.default.fileExists(atPath: lora) else { throw CLIError("--lora \(lora): no such file") }
            o.lora = URL(fileURLWithPath: lora)
        }
        let scale = loraScale ?? 1
        guard scale.isFinite else { throw CLIError("--lora-scale must be finite") }
        o.loraScale = scale
        if let loraMode { o.loraMode = loraMode }
        if sheet != nil { throw CLIError("--sheet applies to tdm-video model packages (it draws the world's ground truth)") }
        let shape = try pipeline.latentShape(batch: 1, options: o)
        let nfe = CogVideoXPipeline.nfe(o)
        let log: (String) -> Void = { line in if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        log("pipeline \(model): \(o.frames) frames at \(o.width)x\(o.height) (latents \(shape.frames)x\(shape.channels)x\(shape.height)x\(shape.width)), \(o.steps) \(o.scheduler.rawValue) steps, guidance \(o.guidance), \(nfe) network evaluations")
        func render(_ p: String, _ s: UInt64, _ label: String) throws -> (RGBVideo, CogVideoXPipeline.Output) {
            let progress = ProgressLine(label: label, total: o.steps, quiet: quiet)
            let out = try pipeline(prompts: [p], options: o, seed: s, log: log) { i, _ in progress.update(i, force: true) }
            progress.finish()
            let f = out.frames!
            return (RGBVideo(floats: CogVideoXPipeline.pixels(f), width: f.shape[4], height: f.shape[3], fps: o.fps), out)
        }
        func report(_ out: CogVideoXPipeline.Output) {
            let stages = out.stageSeconds.map { String(format: "%@ %.1f s", $0.stage, $0.seconds) }.joined(separator: ", ")
            let peaks = out.peakResidentBytes.map { "\($0.stage) \($0.bytes.map { String(format: "%.2f GB", Double($0) / 1e9) } ?? "?")" }.joined(separator: ", ")
            print("stages: \(stages); peak memory (VmHWM) after \(peaks)")
        }
        let start = Date()
        if let p = prompt {
            let (clip, out) = try render(p, seed, "sample")
            try writeClip(clip, to: self.out, label: p)
            report(out)
            print(String(format: "wrote %@ (%d network evaluations, %.2f s, peak memory %@)", self.out, nfe,
                         Date().timeIntervalSince(start), Self.peakString()))
            return
        }
        let list = try Self.readPrompts(prompts!)
        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(out): \(error.localizedDescription)")
        }
        var n = 0
        for (pi, p) in list.enumerated() {
            for i in 0..<seeds {
                let name = p.replacingOccurrences(of: "/", with: " ") + "-\(i).mp4"
                let (clip, _) = try render(p, seed + UInt64(i), "[\(pi + 1)/\(list.count)]")
                try VideoWriter().write(clip, to: dir.appendingPathComponent(name))
                n += 1
            }
        }
        print(String(format: "wrote %d clips to %@ (%d network evaluations each, %.1f s, peak memory %@)", n, out, nfe,
                     Date().timeIntervalSince(start), Self.peakString()))
    }

    static func peakString() -> String {
        ProcessMemory.peakResidentBytes().map { String(format: "%.2f GB", Double($0) / 1e9) } ?? "unknown"
    }
}
