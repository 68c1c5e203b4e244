import ArgumentParser
import Foundation
import TensorCore
import VideoModel
import ShapeWorld

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

        Example:
          tdm-video bench --preset small --json
        """.paragraphs)

    @Option(help: "small | tiny | videoio | world | vbench | cogvideox-2b")
    var preset: String = "small"

    @Option(help: "Timed repetitions of each measurement (the median is reported).")
    var repeats: Int = 10

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard ["small", "tiny", "videoio", "world", "vbench", "cogvideox-2b"].contains(preset) else {
            throw ValidationError("unknown preset \"\(preset)\" (allowed: small, tiny, videoio, world, vbench, cogvideox-2b)")
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
            let source = WorldClipSource(renderer: WorldRenderer())
            var rng = RNG(seed: 1)
            var times: [Double] = []
            for _ in 0..<(max(repeats, 20) * 10) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = source.sample(&rng)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            let med = times[times.count / 2]
            try report(["preset": preset, "render_ms": med, "clips": times.count],
                       text: String(format: "render one 16-frame 32x32 world clip: %.3f ms (median of %d)", med, times.count))
            return
        }
        if preset == "videoio" {
            let r = try benchVideoIO(repeats: max(repeats, 20))
            try report(["preset": preset, "write_read_ms": r.writeReadMs].merging(r.detail.mapValues { $0 as Any }) { a, _ in a },
                       text: String(format: "write + read back a 16-frame 64x64 MP4: %.2f ms (median of %d)", r.writeReadMs, max(repeats, 20)))
            return
        }
        var cfg = CogVideoXConfig()
        cfg.numLayers = preset == "tiny" ? 2 : 6
        cfg.numAttentionHeads = 6
        cfg.attentionHeadDim = 32
        cfg.timeEmbedDim = 128
        cfg.textEmbedDim = 64
        cfg.inChannels = 16
        cfg.outChannels = 16
        cfg.maxTextSeqLength = 16
        cfg.sampleFrames = 29
        cfg.sampleHeight = 8
        cfg.sampleWidth = 8
        let model = try CogVideoXTransformer(config: cfg)
        model.initializeRandom(seed: 1)
        var rng = RNG(seed: 2)
        let trainBatch = 8, textLen = 16
        func inputs(_ b: Int) -> (VideoShape, [Float], [Float], [Float]) {
            let shape = VideoShape(batch: b, frames: 8, channels: 16, height: 8, width: 8)
            return (shape, rng.normal(shape.count), rng.normal(b * textLen * 64), (0..<b).map { _ in Float(rng.int(0, 1000)) })
        }
        let (shape8, x8, t8, ts8) = inputs(trainBatch)
        let target = rng.normal(shape8.count)
        var opt = AdamW(count: model.parameterCount, beta1: 0.9, beta2: 0.999, weightDecay: 0.01)
        func trainStep() throws {
            model.zeroGradients()
            let cache = try model.forwardTraining(hidden: x8, shape: shape8, text: t8, textLength: textLen, timesteps: ts8)
            let out = cache.output.array
            var dOut = [Float](repeating: 0, count: out.count)
            let scale = 2 / Float(out.count)
            for i in 0..<out.count { dOut[i] = scale * (out[i] - target[i]) }
            try model.backward(cache, dOutput: dOut, inputGradients: false)
            clipGradientNorm(model.gradients!.p, count: model.parameterCount, maxNorm: 1)
            opt.update(params: model.parameters.p, grads: model.gradients!.p, count: model.parameterCount, lr: 1e-4)
        }
        let (shape1, x1, t1, ts1) = inputs(1)
        func forward1() throws { _ = try model.forward(hidden: x1, shape: shape1, text: t1, textLength: textLen, timesteps: ts1) }

        func median(_ f: () throws -> Void, warmup: Int, n: Int) rethrows -> Double {
            for _ in 0..<warmup { try f() }
            var times: [Double] = []
            for _ in 0..<n {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try f()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            return times[times.count / 2]
        }
        let trainMs = try median(trainStep, warmup: 2, n: repeats)
        let fwdMs = try median(forward1, warmup: 3, n: max(repeats, 3) * 3)
        let dm8 = try model.dims(shape8, textLength: textLen), dm1 = try model.dims(shape1, textLength: textLen)
        let flopsTrain = 3 * model.forwardFLOPs(dm8), flopsFwd = model.forwardFLOPs(dm1)
        let result: [String: Any] = [
            "preset": preset, "batch": trainBatch, "tokens": dm8.s, "params": model.parameterCount,
            "threads": Compute.threads, "blas_core": Compute.blasCore,
            "train_step_ms": trainMs, "forward_ms": fwdMs,
            "gflops_train": flopsTrain / (trainMs * 1e6), "gflops_forward": flopsFwd / (fwdMs * 1e6),
        ]
        try report(result, text: """
            preset \(preset): \(model.parameterCount) parameters, \(dm8.s) tokens (\(dm8.l) text + \(dm8.n) video), \(Compute.threads) threads, OpenBLAS \(Compute.blasCore) kernels
            \(String(format: "train step (batch %d, AdamW): %8.2f ms  %6.1f GFLOP/s", trainBatch, trainMs, flopsTrain / (trainMs * 1e6)))
            \(String(format: "forward    (batch 1):        %8.2f ms  %6.1f GFLOP/s", fwdMs, flopsFwd / (fwdMs * 1e6)))
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
