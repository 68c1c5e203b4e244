import Foundation
import TensorCore

extension CogVideoXVAE {
    /// Convolution FLOPs (2 per multiply-add) of `decode` for latents [1, C, latentFrames, height, width],
    /// counted as the reference computes them: every conv of every frame batch, the upsamplers' Conv2d on
    /// every output frame, the spatial norms' 1x1x1 convs at the enlarged size. (This implementation runs
    /// those 1x1x1 convs at the latent's size and convolves repeated upsampled frames once, so it performs
    /// slightly fewer.) Norms, activations and resizing are not counted.
    public func decodeFLOPs(latentFrames: Int, height: Int, width: Int) -> Double {
        var total = 0.0
        for batch in Self.frameBatches(frames: latentFrames, size: latentFrameBatchSize) {
            var (t, h, w) = (batch.count, height, width)
            func spatialNorm(_ n: VAENorm) {
                if case .spatial(let s) = n {
                    total += (s.convY.conv.flopsPerPosition + s.convB.conv.flopsPerPosition) * Double(t * h * w)
                }
            }
            total += decoder.convIn.flops(frames: t, height: h, width: w)
            for r in decoder.midBlock.resnets {
                total += r.flops(frames: t, height: h, width: w)
                spatialNorm(r.norm1)
                spatialNorm(r.norm2)
            }
            for block in decoder.upBlocks {
                for r in block.resnets {
                    total += r.flops(frames: t, height: h, width: w)
                    spatialNorm(r.norm1)
                    spatialNorm(r.norm2)
                }
                if let u = block.upsampler {
                    t = Upsample3D.sourceFrames(t, compressTime: u.compressTime).count
                    h *= 2
                    w *= 2
                    total += u.conv.flopsPerPosition * Double(t * h * w)
                }
            }
            spatialNorm(.spatial(decoder.normOut))
            total += decoder.convOut.flops(frames: t, height: h, width: w)
        }
        return total
    }
}

/// One timed VAE decode (see `CogVideoXVAE.benchmarkDecode`).
public struct VAEDecodeBenchmark: Sendable, Codable {
    /// The latents decoded, [1, C, F, h, w], and the video produced, [1, 3, F', 8h, 8w].
    public var latentShape: [Int]
    public var outputShape: [Int]
    public var parameterCount: Int
    /// Seconds to build the random weights in memory (not part of the decode).
    public var buildSeconds: Double
    /// Wall-clock seconds of the one decode.
    public var decodeSeconds: Double
    /// Peak resident memory of the process over the decode (VmHWM after a reset to the post-build RSS,
    /// so it includes the weights); nil where /proc is unavailable.
    public var peakResidentBytes: Int?
    /// Whether VmHWM could be reset before the decode (otherwise it is the whole process's peak).
    public var peakResetBeforeDecode: Bool
    public var residentBytesBeforeDecode: Int?
    /// CPU seconds the process spent in the decode (all threads): unlike wall time, it does not grow
    /// when other jobs share the cores.
    public var decodeCPUSeconds: Double
    /// The machine's 1-minute load average before and after the decode (a shared machine shows here).
    public var loadAverageBefore: Double?
    public var loadAverageAfter: Double?
    public var blasCore: String
    /// Reference conv FLOPs of this decode and the rate achieved.
    public var decodeFLOPs: Double
    public var gflopsPerSecond: Double
    /// A full CogVideoX clip at the same size: 13 latent frames -> 49 frames (one 3-frame batch + five
    /// 2-frame batches); its FLOPs and time extrapolated at the measured rate.
    public var fullClipLatentFrames: Int
    public var fullClipFrames: Int
    public var fullClipFLOPs: Double
    public var fullClipSecondsEstimate: Double
    public var fullClipCPUSecondsEstimate: Double
    public var threads: Int

    public var summary: String {
        func gb(_ b: Int?) -> String { b.map { String(format: "%.2f GB", Double($0) / 1e9) } ?? "n/a" }
        return """
        VAE decode \(latentShape) -> \(outputShape): \(String(format: "%.1f", decodeSeconds)) s wall, \
        \(String(format: "%.1f", decodeCPUSeconds)) CPU s, \(String(format: "%.3g", decodeFLOPs)) FLOPs \
        (\(String(format: "%.1f", gflopsPerSecond)) GFLOP/s wall, \(String(format: "%.1f", decodeFLOPs / decodeCPUSeconds / 1e9)) per CPU s; \
        \(threads) threads, OpenBLAS \(blasCore), load \(loadAverageBefore.map { String(format: "%.1f", $0) } ?? "?") -> \
        \(loadAverageAfter.map { String(format: "%.1f", $0) } ?? "?")), \
        peak RSS \(gb(peakResidentBytes))\(peakResetBeforeDecode ? "" : " (process peak)"), RSS before \(gb(residentBytesBeforeDecode)); \
        \(parameterCount) parameters built in \(String(format: "%.1f", buildSeconds)) s; \
        full clip \(fullClipLatentFrames) -> \(fullClipFrames) frames: \(String(format: "%.3g", fullClipFLOPs)) FLOPs, \
        ~\(String(format: "%.0f", fullClipSecondsEstimate)) s wall / \(String(format: "%.0f", fullClipCPUSecondsEstimate)) CPU s at the measured rates
        """
    }
}

extension CogVideoXVAE {
    /// Builds a VAE with `config` (CogVideoX-2b's by default) and seeded random weights in memory, and
    /// times one `decode` of seeded standard-normal latents [1, latent_channels, latentFrames, latentHeight,
    /// latentWidth] (default 4 x 60 x 90: two frame batches, 16 frames at 480x720), reporting seconds, peak
    /// resident memory (VmHWM), FLOPs and the extrapolated cost of a full 49-frame clip at that size.
    /// This is what `tdm-video bench --preset cogvideox-2b` runs for the VAE.
    public static func benchmarkDecode(config: CogVideoXVAEConfig = .cogVideoX2b, seed: UInt64 = 0,
                                       latentFrames: Int = 4, latentHeight: Int = 60, latentWidth: Int = 90) throws -> VAEDecodeBenchmark {
        guard latentFrames > 0, latentHeight > 0, latentWidth > 0 else {
            throw ModelError.badInput("VAE benchmark latent size must be positive, got \(latentFrames)x\(latentHeight)x\(latentWidth)")
        }
        let clock = ContinuousClock()
        var vae: CogVideoXVAE!
        let build = try clock.measure { vae = try CogVideoXVAE(config: config, seed: seed) }
        var rng = RNG(seed: seed &+ 1)
        let shape = [1, config.latentChannels, latentFrames, latentHeight, latentWidth]
        let z = try Tensor(shape: shape, data: rng.normal(shape.reduce(1, *)))
        let reset = ProcessMemory.resetPeak()
        let before = ProcessMemory.residentBytes()
        let load0 = ProcessMemory.loadAverage()
        var out: Tensor!
        let cpu0 = ProcessMemory.processCPUSeconds()
        let elapsed = try clock.measure { out = try vae.decode(z) }
        let cpu = ProcessMemory.processCPUSeconds() - cpu0
        let peak = ProcessMemory.peakResidentBytes()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        let flops = vae.decodeFLOPs(latentFrames: latentFrames, height: latentHeight, width: latentWidth)
        let fullLatent = 13
        let fullFLOPs = vae.decodeFLOPs(latentFrames: fullLatent, height: latentHeight, width: latentWidth)
        let secs = seconds(elapsed)
        return VAEDecodeBenchmark(
            latentShape: shape, outputShape: out.shape, parameterCount: vae.parameterCount,
            buildSeconds: seconds(build), decodeSeconds: secs, peakResidentBytes: peak, peakResetBeforeDecode: reset,
            residentBytesBeforeDecode: before, decodeCPUSeconds: cpu, loadAverageBefore: load0,
            loadAverageAfter: ProcessMemory.loadAverage(), blasCore: Compute.blasCore,
            decodeFLOPs: flops, gflopsPerSecond: flops / secs / 1e9,
            fullClipLatentFrames: fullLatent, fullClipFrames: vae.decodedFrames(latentFrames: fullLatent),
            fullClipFLOPs: fullFLOPs, fullClipSecondsEstimate: secs * fullFLOPs / flops,
            fullClipCPUSecondsEstimate: cpu * fullFLOPs / flops, threads: Compute.threads)
    }
}
