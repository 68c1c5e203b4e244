import Foundation
import TensorCore

/// diffusers' `AutoencoderKLCogVideoX` (CogVideoX's causal 3D VAE) at inference, read from a diffusers
/// `vae/` folder. Tensors use diffusers' layout [B, C, F, H, W].
///
/// Like diffusers (its default "framewise" mode), `decode` cuts the latent frames into batches of
/// `latentFrameBatchSize` (2) and `encode` the video frames into batches of `sampleFrameBatchSize` (8),
/// the remainder F mod batch going into the first batch; every batch is a separate decoder/encoder call
/// (its group norms see only its own frames) and only the causal convs' caches connect the batches.
/// Samples of a batch are independent and run one after another. Memory: weights, the caches, and the
/// activations of one frame batch, freed as they are consumed; the 3D convolutions are GEMMs over
/// blocks of output rows of one frame, never a whole clip's im2col.
public final class CogVideoXVAE: @unchecked Sendable {
    public let config: CogVideoXVAEConfig
    let encoder: Encoder3D
    let decoder: Decoder3D
    let cacheSlots: Int
    /// Parameters held (Float32).
    public let parameterCount: Int

    /// diffusers' `num_latent_frames_batch_size`.
    public var latentFrameBatchSize = 2
    /// diffusers' `num_sample_frames_batch_size`.
    public var sampleFrameBatchSize = 8

    public static let weightsFileName = "diffusion_pytorch_model.safetensors"

    private init(config: CogVideoXVAEConfig, weights: VAEWeightSource) throws {
        try config.validate(source: weights.source)
        self.config = config
        encoder = Encoder3D(config: config, weights: weights)
        decoder = Decoder3D(config: config, weights: weights)
        cacheSlots = weights.causalConvCount
        parameterCount = weights.parameterCount
        try weights.finish()
    }

    /// A VAE over named tensors (diffusers' names; F32, F16 or BF16, widened to Float32). Missing,
    /// unexpected, mis-shaped and non-finite tensors are reported together; `source` names them.
    public convenience init(config: CogVideoXVAEConfig, tensors: [String: SafeTensor], source: String) throws {
        try self.init(config: config, weights: VAEWeightSource(tensors: tensors, source: source))
    }

    /// A VAE with seeded random weights (PyTorch's default init scale), built in memory: for full-size
    /// benchmarks without a download, e.g. `CogVideoXVAE(config: .cogVideoX2b, seed: 0)`.
    public convenience init(config: CogVideoXVAEConfig, seed: UInt64) throws {
        try self.init(config: config, weights: VAEWeightSource(seed: seed))
    }

    /// Loads `config.json` and `diffusion_pytorch_model.safetensors` from a diffusers `vae/` folder.
    public static func load(directory: URL) throws -> CogVideoXVAE {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelError.badWeights(directory.path, "no such VAE folder")
        }
        let config = try CogVideoXVAEConfig.load(directory.appendingPathComponent("config.json"))
        let url = directory.appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelError.badWeights(directory.path, "no \(weightsFileName) in the folder")
        }
        let file = try SafeTensorsFile.read(url)
        return try CogVideoXVAE(config: config, tensors: file.tensors, source: url.path)
    }

    // MARK: frame batches

    /// diffusers' frame batches: max(F / size, 1) batches of `size`, the first one also taking F mod size.
    public static func frameBatches(frames: Int, size: Int) -> [Range<Int>] {
        let n = max(frames / size, 1), rem = frames % size
        return (0..<n).map { i in
            let start = size * i + (i == 0 ? 0 : rem)
            return start..<min(frames, size * (i + 1) + rem)
        }
    }

    /// Frames that `decode` produces for `latentFrames` latent frames.
    public func decodedFrames(latentFrames: Int) -> Int {
        Self.frameBatches(frames: latentFrames, size: latentFrameBatchSize).reduce(0) { n, r in
            var t = r.count
            for b in decoder.upBlocks { if let u = b.upsampler { t = Upsample3D.sourceFrames(t, compressTime: u.compressTime).count } }
            return n + t
        }
    }

    // MARK: decode

    private func checkLatents(_ z: Tensor) throws {
        guard z.shape.count == 5 else { throw ModelError.badInput("VAE latents must be [B, C, F, H, W], got \(z.shape)") }
        guard z.shape[1] == config.latentChannels else {
            throw ModelError.badInput("VAE latents have \(z.shape[1]) channels, the VAE takes \(config.latentChannels) (latents [B, C, F, H, W]; a transformer's [B, F, C, H, W] must be permuted)")
        }
        guard z.shape.allSatisfy({ $0 > 0 }) else { throw ModelError.badInput("VAE latents have an empty dimension: \(z.shape)") }
        guard latentFrameBatchSize > 0, sampleFrameBatchSize > 0 else { throw ModelError.badInput("frame batch sizes must be positive") }
    }

    /// Decodes sample `b`, rows `rows`, columns `cols` of `z` through its frame batches; the output
    /// frames of every batch are handed to `body` in order ([T][out_channels][H][W]).
    func decodeFrames(_ z: Tensor, sample b: Int, rows: Range<Int>, cols: Range<Int>, observe: VAEObserver?,
                      _ body: (FrameTensor) -> Void) {
        let cache = ConvCacheState(count: cacheSlots)
        let batches = Self.frameBatches(frames: z.shape[2], size: latentFrameBatchSize)
        for (k, batch) in batches.enumerated() {
            cache.storeNext = k < batches.count - 1
            let chunk = FrameTensor.fromBCTHW(z, sample: b, frames: batch, rows: rows, columns: cols)
            body(decoder.forward(chunk, cache: cache, observe: observe))
        }
    }

    /// `vae.decode(z).sample` (tiling off): latents [B, latent_channels, F, h, w] to video
    /// [B, out_channels, F', 8h, 8w], F' = `decodedFrames(latentFrames: F)`; not clamped. Pipelines pass
    /// latents / `config.scalingFactor`. `observe` receives the decoder's block outputs per frame batch.
    public func decode(_ z: Tensor, observe: VAEObserver? = nil) throws -> Tensor {
        try checkLatents(z)
        let (B, F, h, w) = (z.shape[0], z.shape[2], z.shape[3], z.shape[4])
        let s = config.spatialCompressionRatio
        let shape = [B, config.outChannels, decodedFrames(latentFrames: F), h * s, w * s]
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        out.withUnsafeMutableBufferPointer { o in
            for b in 0..<B {
                var t0 = 0
                decodeFrames(z, sample: b, rows: 0..<h, cols: 0..<w, observe: observe) { frames in
                    frames.writeBCTHW(into: o.baseAddress!, shape: shape, sample: b, frameOffset: t0)
                    t0 += frames.frames
                }
            }
        }
        return try Tensor(shape: shape, data: out)
    }

    // MARK: encode

    /// `vae.encode(x).latent_dist` (tiling off): video [B, in_channels, F, H, W] (values in [-1, 1]) to
    /// the posterior's `mean` and `logvar` (clamped to [-30, 20]), each [B, latent_channels, F', H/8, W/8].
    /// Nothing is sampled; a pipeline takes `mean` (or mean + exp(logvar/2)·noise) times `scalingFactor`.
    public func encode(_ x: Tensor, observe: VAEObserver? = nil) throws -> (mean: Tensor, logvar: Tensor) {
        guard x.shape.count == 5 else { throw ModelError.badInput("VAE input video must be [B, C, F, H, W], got \(x.shape)") }
        guard x.shape[1] == config.inChannels else {
            throw ModelError.badInput("VAE input video has \(x.shape[1]) channels, the VAE takes \(config.inChannels)")
        }
        guard x.shape.allSatisfy({ $0 > 0 }) else { throw ModelError.badInput("VAE input video has an empty dimension: \(x.shape)") }
        guard latentFrameBatchSize > 0, sampleFrameBatchSize > 0 else { throw ModelError.badInput("frame batch sizes must be positive") }
        let (B, F, H, W) = (x.shape[0], x.shape[2], x.shape[3], x.shape[4])
        var (ho, wo) = (H, W)
        for block in encoder.downBlocks where block.downsampler != nil {
            ho = Downsample3D.outputSize(ho)
            wo = Downsample3D.outputSize(wo)
        }
        guard ho > 0, wo > 0 else {
            throw ModelError.badInput("VAE input video \(H)x\(W) is too small for \(config.blockOutChannels.count - 1) stride-2 downsamplers")
        }
        let batches = Self.frameBatches(frames: F, size: sampleFrameBatchSize)
        var tOut = 0
        for r in batches {
            var t = r.count
            for block in encoder.downBlocks { if let d = block.downsampler { t = Downsample3D.outputFrames(t, compressTime: d.compressTime) } }
            tOut += t
        }
        let L = config.latentChannels
        let shape = [B, L, tOut, ho, wo]
        var mean = [Float](repeating: 0, count: shape.reduce(1, *)), logvar = mean
        for b in 0..<B {
            let cache = ConvCacheState(count: cacheSlots)
            var t0 = 0
            for (k, batch) in batches.enumerated() {
                cache.storeNext = k < batches.count - 1
                let chunk = FrameTensor.fromBCTHW(x, sample: b, frames: batch, rows: 0..<H, columns: 0..<W)
                let moments = encoder.forward(chunk, cache: cache, observe: observe)
                let plane = moments.plane
                for t in 0..<moments.frames {
                    let f = moments.frame(t)
                    for c in 0..<L {
                        let dst = ((b * L + c) * tOut + t0 + t) * plane
                        for i in 0..<plane {
                            mean[dst + i] = f[c * plane + i]
                            logvar[dst + i] = min(max(f[(L + c) * plane + i], -30), 20)
                        }
                    }
                }
                t0 += moments.frames
            }
        }
        return (try Tensor(shape: shape, data: mean), try Tensor(shape: shape, data: logvar))
    }
}
