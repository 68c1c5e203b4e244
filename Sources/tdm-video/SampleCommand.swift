import ArgumentParser
import AtomicFiles
import Foundation
import ShapeWorld
import VideoInference
import TDMVideo
import TensorCore
import VBenchLite
import VideoCommon
import VideoIO
import VideoModel

/// `tdm-video sample`: render clips from prompts with a model package (teacher or student) or a diffusers
/// `CogVideoXPipeline` folder (see SamplePipeline.swift).
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Render MP4s from prompts with a model package or a diffusers CogVideoXPipeline folder, using its own sampling defaults.",
        discussion: """
        A teacher samples with the scheduler, steps and guidance its package stores (set by the `sampling`
        section of its pretrain config; the shipped teacher: 50 DDIM steps with guidance 2, 100 network
        evaluations); a TDM student with its K-step grid and no guidance (K evaluations). --steps, --guidance
        and --scheduler override the defaults.
        A diffusers CogVideoXPipeline folder (it holds model_index.json, e.g. CogVideoX-2b) renders as
        diffusers' pipeline does: frames, size and scheduler from the folder (49 frames at 480x720 for
        CogVideoX-2b), 50 steps, guidance 6, unless --frames, --height, --width, --steps, --guidance or
        --scheduler say otherwise; --lora applies a diffusers pytorch_lora_weights.safetensors (e.g. TDM's 4-step
        student: --lora ... --steps 4 --guidance 1), fused into the transformer's weights unless --lora-mode
        unfused. The text encoder, transformer and VAE are loaded in turn.
        With --prompts (a VBench *_full_info.json suite, or a text file with one prompt per line) --out is a
        folder and files are named as VBench expects: {prompt}-{i}.mp4 for i in 0..<seeds; the clips are rendered --batch at
        a time, side by side over the cores (each one bit for bit the clip rendered alone), then written. Under mpirun the clips
        are shared round-robin over the ranks, each writing its own into --out (docs/cluster.md).

        Examples:
          tdm-video sample --model models/teacher --prompt "a red circle moving left, plain background" --out clip.mp4
          tdm-video sample --model CogVideoX-2b --lora tdm_lora.safetensors --steps 4 --guidance 1 --prompt "A panda playing guitar" --out panda.mp4
          tdm-video sample --model models/student --prompts configs/suites/heldout_full_info.json --seeds 2 --out out/student
        """.paragraphs)

    @Option(help: "A model package folder.") var model: String
    @Option(help: "One prompt.") var prompt: String?
    @Option(help: "A suite JSON or a text file of prompts.") var prompts: String?
    @Option(help: "Sampling steps (default: the model's).") var steps: Int?
    @Option(help: "Classifier-free guidance scale (default: the model's; 1 disables it).") var guidance: Double?
    @Option(help: "The scheduler (default: the model's).") var scheduler: SchedulerKind?
    @Option(help: "Seed of the first clip; clip i of a prompt uses seed + i.") var seed: UInt64 = 0
    @Option(help: "Clips per prompt with --prompts.") var seeds: Int = 1
    @Option(help: "With --prompts and a model package: clips rendered side by side over the cores before their MP4s are written (each clip is the same as rendered alone).") var batch: Int = 8
    @Option(help: "Output file (.mp4/.gif/.png) for --prompt, folder for --prompts.") var out: String
    @Option(help: "With --prompts: also write a PNG contact sheet, the world's ground truth above each prompt's first clip.") var sheet: String?
    @Flag(help: "No progress line.") var quiet = false
    @Option(name: .customLong("max-memory"), help: "Refuse a model estimated to need more memory than this (e.g. 8G; default: the machine's).") var maxMemory: String?
    @Option(help: "Pipeline folders: frames (1 + a multiple of 4; default the transformer's sample_frames).") var frames: Int?
    @Option(help: "Pipeline folders: height in pixels (default sample_height x 8).") var height: Int?
    @Option(help: "Pipeline folders: width in pixels (default sample_width x 8).") var width: Int?
    @Option(help: "Pipeline folders: text tokens (default the transformer's max_text_seq_length, 226).") var maxSequenceLength: Int?
    @Option(help: "Pipeline folders: a diffusers LoRA (pytorch_lora_weights.safetensors) applied to the transformer (see --lora-mode).") var lora: String?
    @Option(help: "Pipeline folders, with --lora: the LoRA's scale (default 1).") var loraScale: Float?
    @Option(help: ArgumentHelp("Pipeline folders, with --lora: how the LoRA is applied. fused (the default, faster) adds it into the transformer's weights once; unfused leaves the weights untouched and adds the LoRA's low-rank product after each adapted layer in every step (the same output, slower).", valueName: "mode")) var loraMode: LoRAMode?

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt and --prompts") }
        if let p = prompt {
            guard !p.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--prompt is empty") }
            guard p.count <= 2000 else { throw ValidationError("--prompt is \(p.count) characters; at most 2000") }
        }
        if let s = steps { guard (1...1000).contains(s) else { throw ValidationError("--steps must be in 1...1000") } }
        if let g = guidance { guard g >= 0 && g <= 50 else { throw ValidationError("--guidance must be in [0, 50]") } }
        guard (1...100).contains(seeds) else { throw ValidationError("--seeds must be in 1...100") }
        guard (1...64).contains(batch) else { throw ValidationError("--batch must be in 1...64") }
        if loraMode != nil && lora == nil { throw ValidationError("--lora-mode says how the --lora file is applied; give --lora too, or leave --lora-mode out") }
        if loraScale != nil && lora == nil { throw ValidationError("--lora-scale scales the --lora file; give --lora too, or leave --lora-scale out") }
        _ = try memoryBudget(maxMemory)
    }

    /// Writes (clip, MP4 path) pairs side by side over the cores; throws the first failure in order.
    static func write(_ files: [(RGBVideo, URL)]) throws {
        var errors = [Error?](repeating: nil, count: files.count)
        errors.withUnsafeMutableBufferPointer { buffer in
            let out = SendablePointer(buffer.baseAddress!)
            parallelFor(files.count) { i in
                do { try VideoWriter().write(files[i].0, to: files[i].1) } catch { out[i] = error }
            }
        }
        if let error = errors.compactMap({ $0 }).first { throw error }
    }

    /// Prompts from a suite JSON or a UTF-8 text file (one per line), each checked like --prompt.
    static func readPrompts(_ path: String) throws -> [String] {
        if let problem = InputFile.problem(at: path) { throw CLIError("prompts \(path): \(problem)") }
        if let n = InputFile.size(at: path), n > 16 << 20 { throw CLIError("prompts \(path): the file has \(n) bytes; at most 16 MiB") }
        let url = URL(fileURLWithPath: path)
        let lines: [String]
        if url.pathExtension.lowercased() == "json" {
            lines = try PromptSuite.load(url).map(\.promptEn)
            guard !lines.isEmpty else { throw CLIError("prompts \(path): the suite holds no prompts") }
        } else {
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw CLIError("cannot read \(path): \(error.localizedDescription)") }
            guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path) is not UTF-8 text") }
            lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !lines.isEmpty else { throw CLIError("\(path) holds no prompts") }
        }
        guard lines.count <= 10_000 else { throw CLIError("prompts \(path): \(lines.count) prompts; at most 10000") }
        for (i, p) in lines.enumerated() {
            guard !p.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw CLIError("prompts \(path): prompt \(i + 1) is empty") }
            guard p.count <= 2000 else { throw CLIError("prompts \(path): prompt \(i + 1) is \(p.count) characters; at most 2000") }
        }
        return lines
    }

    func run() throws {
        // Every output (.mp4, .gif, .png) goes through FFmpeg or libx264: open the libraries while the model loads and
        // samples (OpenBLAS first, so the sampler's first GEMM does not wait for that dlopen). MP4s alone need only
        // libx264, libavutil and libswscale (VideoWriter's H.264 path); GIFs, PNGs and the contact sheet need FFmpeg.
        let mp4Only = prompts != nil ? sheet == nil : URL(fileURLWithPath: out).pathExtension.lowercased() == "mp4"
        FFmpegLibrary.preloadInBackground(mp4Only: mp4Only, first: { Compute.prepare() })
        if DiffusersPipelineFolder.isPipelineFolder(URL(fileURLWithPath: model)) { return try runPipeline() }
        guard frames == nil, height == nil, width == nil, maxSequenceLength == nil, lora == nil else {
            throw CLIError("--frames, --height, --width, --max-sequence-length and --lora apply to diffusers pipeline folders (model_index.json); \(model) is a tdm-video model package")
        }
        try runOnRanks(sample)
    }

    /// Under mpirun, the clips of --prompts are shared round-robin over the ranks (each writes its own
    /// into --out, which should be one shared folder); rank 0 draws the contact sheet from every rank's
    /// first clips and prints the summary. A single --prompt is rendered by rank 0.
    func sample(_ comm: Communicator) throws {
        let quiet = self.quiet || !comm.isRoot
        // Everything that can be refused is checked before the model is loaded and anything is written:
        // the prompts and the output names made from them.
        let list = try prompts.map(Self.readPrompts) ?? []
        let names = list.map { OutputName.forPrompt($0) }
        let pkg = try ModelPackage.load(URL(fileURLWithPath: model), budget: memoryBudget(maxMemory))
        let pipe = VideoPipeline(pkg)
        var o = pipe.defaults
        if let s = steps { o = pipe.options(steps: s) }
        if let g = guidance { o.guidance = g }
        if let s = scheduler { o.scheduler = s }
        let v = pkg.metadata.video
        func render(_ p: String, _ s: UInt64, _ label: String) throws -> RGBVideo {
            let progress = ProgressLine(label: label, total: o.timesteps?.count ?? o.steps, quiet: quiet)
            let px = try pipe.render(prompt: p, seed: s, options: o) { i, _ in progress.update(i) }
            progress.finish()
            return RGBVideo(floats: px, width: v.width, height: v.height, fps: v.fps)
        }
        let start = Date()
        if let p = prompt {
            guard comm.isRoot else { return }
            try writeClip(try render(p, seed, "sample"), to: out, label: p)
            print(String(format: "wrote %@ (%d network evaluations, %.2f s)", out, pipe.nfe(o), Date().timeIntervalSince(start)))
            return
        }
        let dir = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(out): \(error.localizedDescription)")
        }
        var n = 0
        var rows: [RGBVideo] = [], labels: [String] = []
        var firstClips: [Int: RGBVideo] = [:]
        let world = WorldRenderer(width: v.width, height: v.height, frames: v.frames, fps: v.fps, detail: pkg.metadata.world)
        // This rank's clips (prompt index, seed index), in order, rendered --batch at a time; a clip is the
        // same whichever batch it is in (VideoPipeline.render(batch:)). Then the batch's MP4s are written,
        // also side by side over the cores: rendering keeps every core busy, so writing in the background
        // would only slow it down by the same CPU time, and "rendering" would no longer time rendering alone.
        let jobs = list.indices.flatMap { pi in (0..<seeds).map { (pi, $0) } }.enumerated()
            .filter { $0.offset % comm.size == comm.rank }.map(\.element)
        let progress = ProgressLine(label: "sample", total: jobs.count, quiet: quiet)
        var renderSeconds = 0.0
        for first in stride(from: 0, to: jobs.count, by: batch) {
            let part = jobs[first..<min(first + batch, jobs.count)]
            let t0 = Date()
            let pixels = try pipe.render(batch: part.map { VideoPipeline.Clip(prompt: list[$0.0], seed: seed &+ UInt64($0.1)) },
                                         options: o)
            renderSeconds += Date().timeIntervalSince(t0)
            var files: [(RGBVideo, URL)] = []
            for ((pi, i), px) in zip(part, pixels) {
                let clip = RGBVideo(floats: px, width: v.width, height: v.height, fps: v.fps)
                files.append((clip, dir.appendingPathComponent(names[pi] + "-\(i).mp4")))
                if comm.size > 1 {
                    if sheet != nil && i == 0 { firstClips[pi] = clip }
                } else if sheet != nil && i == 0 {
                    if let truth = try? world.render(prompt: list[pi], seed: seed) { rows.append(truth); labels.append("TRUTH") }
                    rows.append(clip)
                    labels.append(pkg.metadata.kind.rawValue.uppercased())
                }
            }
            try Self.write(files)
            n += part.count
            progress.update(first + part.count)
        }
        progress.finish()
        let renderPerClip = jobs.isEmpty ? 0 : renderSeconds / Double(jobs.count)
        if comm.size > 1 {
            n = Int(comm.sum(Double(n)))
            if sheet != nil {
                // Every rank's first clips, as (prompt index, pixels), to rank 0 in prompt order.
                var mine = [UInt8]()
                for (pi, clip) in firstClips.sorted(by: { $0.key < $1.key }) {
                    withUnsafeBytes(of: UInt32(pi).littleEndian) { mine += $0 }
                    withUnsafeBytes(of: UInt32(clip.pixels.count).littleEndian) { mine += $0 }
                    mine += clip.pixels
                }
                func word(_ b: ArraySlice<UInt8>) -> Int { Int(b.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }) }
                for part in comm.allgather(mine) {
                    var at = 0
                    while at + 8 <= part.count {
                        let pi = word(part[at..<(at + 4)]), count = word(part[(at + 4)..<(at + 8)])
                        firstClips[pi] = RGBVideo(width: v.width, height: v.height, fps: v.fps, pixels: Array(part[(at + 8)..<(at + 8 + count)]))
                        at += 8 + count
                    }
                }
                for (pi, p) in list.enumerated() {
                    guard let clip = firstClips[pi] else { continue }
                    if let truth = try? world.render(prompt: p, seed: seed) { rows.append(truth); labels.append("TRUTH") }
                    rows.append(clip)
                    labels.append(pkg.metadata.kind.rawValue.uppercased())
                }
            }
            guard comm.isRoot else { return }
        }
        if let sheet {
            try ContactSheet.writePNG(clips: rows, columns: 8, labels: labels, gap: 2, to: URL(fileURLWithPath: sheet))
            print("wrote the contact sheet \(sheet)")
        }
        print(String(format: "wrote %d clips to %@ (%d network evaluations each, %.2f s; rendering %.4f s per clip in batches of %d)",
                     n, out, pipe.nfe(o), Date().timeIntervalSince(start), renderPerClip, batch))
    }
}
