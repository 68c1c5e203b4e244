import Foundation
import TensorCore
import VideoModel

/// A transformer shape `tdm-video bench` times: the model configuration, the latent grid and the
/// training batch. The peer script (scripts/peer_pytorch_bench.py) builds the same shapes.
struct TransformerBenchSpec {
    var config: CogVideoXConfig
    var frames: Int, height: Int, width: Int, textLength: Int
    var trainBatch: Int

    static func preset(_ name: String) -> TransformerBenchSpec {
        var cfg = CogVideoXConfig()
        cfg.attentionHeadDim = 32
        cfg.timeEmbedDim = 128
        cfg.textEmbedDim = 64
        cfg.sampleFrames = 29
        cfg.sampleHeight = 8
        cfg.sampleWidth = 8
        if name == "teacher" {
            // models/teacher/config.json; latent grid of configs/pretrain.yaml's 16x32x32 clips through
            // the 12-channel codec (temporal factor 2, spatial 4): 8 frames of 8x8.
            cfg.numLayers = 4
            cfg.numAttentionHeads = 4
            cfg.inChannels = 12
            cfg.outChannels = 12
            cfg.maxTextSeqLength = 24
            return TransformerBenchSpec(config: cfg, frames: 8, height: 8, width: 8, textLength: 24, trainBatch: 32)
        }
        // design.md's peer shape (small), or the same at 2 layers (tiny).
        cfg.numLayers = name == "tiny" ? 2 : 6
        cfg.numAttentionHeads = 6
        cfg.inChannels = 16
        cfg.outChannels = 16
        cfg.maxTextSeqLength = 16
        return TransformerBenchSpec(config: cfg, frames: 8, height: 8, width: 8, textLength: 16, trainBatch: 8)
    }
}

struct TransformerBenchResult {
    var parameters: Int, tokens: Int, textTokens: Int
    var trainMs: Double, forwardMs: Double
    var gflopsTrain: Double, gflopsForward: Double
    var sgemmPeak: Double
}

/// Median wall time in ms of `n` runs of `f` after `warmup` untimed ones.
func medianMs(_ f: () throws -> Void, warmup: Int, n: Int) rethrows -> Double {
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

/// This machine's sgemm rate in GFLOP/s: C = A·B at n = 1024 split over the workers (how the
/// kernels use OpenBLAS), median of 5.
func measureSgemmPeak() -> Double {
    let n = 1024
    var rng = RNG(seed: 7)
    let a = FloatBuffer(rng.normal(n * n)), b = FloatBuffer(rng.normal(n * n)), c = FloatBuffer(count: n * n)
    let ms = medianMs({
        sgemmParallelRows(m: n, n: n, k: n, a: a.p, lda: n, b: b.p, ldb: n, c: c.p, ldc: n)
    }, warmup: 1, n: 5)
    return 2 * Double(n * n * n) / (ms * 1e6)
}

/// A batch-`trainBatch` AdamW step (forward, MSE backward, clip, update) and a batch-1 forward of a
/// randomly initialised model, medians of `repeats` (the forward 3× as many).
func runTransformerBench(_ spec: TransformerBenchSpec, repeats: Int) throws -> TransformerBenchResult {
    let cfg = spec.config
    let model = try CogVideoXTransformer(config: cfg)
    model.initializeRandom(seed: 1)
    var rng = RNG(seed: 2)
    let textLen = spec.textLength
    func inputs(_ b: Int) -> (VideoShape, [Float], [Float], [Float]) {
        let shape = VideoShape(batch: b, frames: spec.frames, channels: cfg.inChannels, height: spec.height, width: spec.width)
        return (shape, rng.normal(shape.count), rng.normal(b * textLen * cfg.textEmbedDim),
                (0..<b).map { _ in Float(rng.int(0, 1000)) })
    }
    let (shapeT, xT, tT, tsT) = inputs(spec.trainBatch)
    let target = rng.normal(shapeT.count)
    var opt = AdamW(count: model.parameterCount, beta1: 0.9, beta2: 0.999, weightDecay: 0.01)
    var dOut = [Float](repeating: 0, count: shapeT.count)
    func trainStep() throws {
        model.zeroGradients()
        let cache = try model.forwardTraining(hidden: xT, shape: shapeT, text: tT, textLength: textLen, timesteps: tsT)
        let out = cache.output.p
        let scale = 2 / Float(dOut.count)
        for i in 0..<dOut.count { dOut[i] = scale * (out[i] - target[i]) }
        try model.backward(cache, dOutput: dOut, inputGradients: false)
        model.releaseTrainingCache(cache)
        clipGradientNorm(model.gradients!.p, count: model.parameterCount, maxNorm: 1)
        opt.update(params: model.parameters.p, grads: model.gradients!.p, count: model.parameterCount, lr: 1e-4)
    }
    let (shape1, x1, t1, ts1) = inputs(1)
    func forward1() throws { _ = try model.forward(hidden: x1, shape: shape1, text: t1, textLength: textLen, timesteps: ts1) }

    let peak = measureSgemmPeak()
    let trainMs = try medianMs(trainStep, warmup: 2, n: repeats)
    let fwdMs = try medianMs(forward1, warmup: 3, n: max(repeats, 3) * 3)
    let dmT = try model.dims(shapeT, textLength: textLen), dm1 = try model.dims(shape1, textLength: textLen)
    let flopsTrain = 3 * model.forwardFLOPs(dmT), flopsFwd = model.forwardFLOPs(dm1)
    return TransformerBenchResult(parameters: model.parameterCount, tokens: dmT.s, textTokens: dmT.l,
                                  trainMs: trainMs, forwardMs: fwdMs,
                                  gflopsTrain: flopsTrain / (trainMs * 1e6), gflopsForward: flopsFwd / (fwdMs * 1e6),
                                  sgemmPeak: peak)
}
