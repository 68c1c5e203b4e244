import ArgumentParser
import Foundation
import TensorCore
import VideoModel
import ShapeWorld
import VideoCommon

/// `tdm-video bench`: timings of the model (and of the I/O and scorer) in this release build.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the transformer's training step and forward pass on a preset shape.",
        discussion: """
        Presets: cogvideox-2b — CogVideoX-2b-shaped random weights in memory: one transformer forward and one VAE decode
        at 13 frames 480x720, peak memory, and the cost of a 49-frame clip extrapolated by FLOPs (minutes, ~10 GB). vbench — decode and score 16-frame 64x64 MP4 clips with VBenchLite (clips per second). world — render 16-frame 32x32 training clips of the embedded world (median ms per clip). videoio — write and read back a 16-frame 64x64 MP4 (median). small — design.md's peer shape (6 layers, 6 heads x 32, time_embed_dim 128, text_embed_dim 64,
        16 channels, latent 8x8x8, 16 text tokens): a batch-8 AdamW training step (forward + backward + update)
        and a batch-1 forward, median of repeated runs. tiny — the same at 2 layers for a quick check.
        teacher — the shipped teacher's training shape (models/teacher/config.json: 4 layers, 4 heads x 32,
        12 latent channels, latent 8x8x8, 24 text tokens, 152 tokens): a batch-32 AdamW step, data excluded.
        Every transformer preset also times sgemm at n = 1024 on all workers in the same run and reports
        the fraction of that peak the step reaches.

        Example:
          tdm-video bench --preset small --json
        """.paragraphs)

    @Option(help: "small | teacher | tiny | videoio | world | vbench | cogvideox-2b")
    var preset: String = "small"

    @Option(help: "Timed repetitions of each measurement (the median is reported).")
    var repeats: Int = 10

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "With --preset world: the world to render, coarse or fine.")
    var detail: WorldDetail = .coarse

    func validate() throws {
        guard ["small", "teacher", "tiny", "videoio", "world", "vbench", "cogvideox-2b"].contains(preset) else {
            throw ValidationError("unknown preset \"\(preset)\" (allowed: small, teacher, tiny, videoio, world, vbench, cogvideox-2b)")
        }
        guard repeats >= 1 && repeats <= 1000 else { throw ValidationError("--repeats must be in 1...1000") }
    }

    func run() throws {
        if preset == "cogvideox-2b" {
            let r = try benchCogVideoX2b()
            return try report(r.result, text: r.text)
        }
        if preset == "vbench" {
            let r = try benchVBench(clips: max(repeats, 20) * 3)
            try report(["preset": preset, "clips_per_second": r.clipsPerSecond].merging(r.detail.mapValues { $0 as Any }) { a, _ in a },
                       text: String(format: "VBenchLite: %.1f clips/s (16-frame 64x64 MP4s, decoding included)", r.clipsPerSecond))
            return
        }
        if preset == "world" {
            let source = WorldClipSource(renderer: WorldRenderer(detail: detail))
            var rng = RNG(seed: 1)
            var times: [Double] = []
            for _ in 0..<(max(repeats, 20) * 10) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = source.sample(&rng)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            let med = times[times.count / 2]
            try report(["preset": preset, "detail": detail.rawValue, "render_ms": med, "clips": times.count],
                       text: String(format: "render one 16-frame 32x32 %@ world clip: %.3f ms (median of %d)", detail.rawValue, med, times.count))
            return
        }
        if preset == "videoio" {
            let r = try benchVideoIO(repeats: max(repeats, 20))
            try report(["preset": preset, "write_read_ms": r.writeReadMs].merging(r.detail.mapValues { $0 as Any }) { a, _ in a },
                       text: String(format: "write + read back a 16-frame 64x64 MP4: %.2f ms (median of %d); loading FFmpeg's libraries once: %.1f ms",
                                    r.writeReadMs, max(repeats, 20), r.detail["ffmpegLoadMs"] ?? 0))
            return
        }
        let spec = TransformerBenchSpec.preset(preset)
        let r = try runTransformerBench(spec, repeats: repeats)
        let result: [String: Any] = [
            "preset": preset, "batch": spec.trainBatch, "tokens": r.tokens, "params": r.parameters,
            "threads": Compute.threads, "blas_core": Compute.blasCore,
            "train_step_ms": r.trainMs, "forward_ms": r.forwardMs,
            "gflops_train": r.gflopsTrain, "gflops_forward": r.gflopsForward,
            "sgemm_peak_gflops": r.sgemmPeak,
            "peak_fraction_train": r.gflopsTrain / r.sgemmPeak, "peak_fraction_forward": r.gflopsForward / r.sgemmPeak,
        ]
        try report(result, text: """
            preset \(preset): \(r.parameters) parameters, \(r.tokens) tokens (\(r.textTokens) text + \(r.tokens - r.textTokens) video), \(Compute.threads) threads, OpenBLAS \(Compute.blasCore) kernels
            \(String(format: "train step (batch %d, AdamW): %8.2f ms  %6.1f GFLOP/s  %4.2f of sgemm peak", spec.trainBatch, r.trainMs, r.gflopsTrain, r.gflopsTrain / r.sgemmPeak))
            \(String(format: "forward    (batch 1):        %8.2f ms  %6.1f GFLOP/s  %4.2f of sgemm peak", r.forwardMs, r.gflopsForward, r.gflopsForward / r.sgemmPeak))
            \(String(format: "sgemm n=1024 on %d threads (this run's peak): %6.1f GFLOP/s", Compute.threads, r.sgemmPeak))
            """)
    }

    func report(_ result: [String: Any], text: String) throws {
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(text)
        }
    }
}
