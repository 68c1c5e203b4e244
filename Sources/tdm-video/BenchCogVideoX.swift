import Foundation
import TensorCore
import VideoModel

/// `tdm-video bench --preset cogvideox-2b`: a full-size check without downloads. CogVideoX-2b-shaped random
/// weights are built in memory (transformer: 30 layers, 30 heads x 64, 16 channels, patch 2, 226 text tokens,
/// text_embed_dim 4096; VAE: the 2b config), then one transformer forward (batch 1) and one VAE decode are
/// timed at a reduced clip (13 frames at 480x720: 4 latent frames of 60x90), with peak memory (VmHWM). The
/// cost of a 49-frame clip (13 latent frames) is extrapolated by FLOP count: the transformer's forward FLOPs
/// (attention included) and the VAE's convolution FLOPs at both sizes.
func benchCogVideoX2b(latentFrames: Int = 4) throws -> (result: [String: Any], text: String) {
    let clock = ContinuousClock()
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
    let cfg = CogVideoXConfig() // diffusers' defaults are CogVideoX-2b's transformer config.
    let full = VideoShape(batch: 1, frames: 13, channels: cfg.inChannels, height: cfg.sampleHeight, width: cfg.sampleWidth)
    var reduced = full
    reduced.frames = latentFrames
    var rng = RNG(seed: 2)
    let textEmbeds = rng.normal(cfg.maxTextSeqLength * cfg.textEmbedDim), x = rng.normal(reduced.count)

    var transformerSeconds = 0.0, transformerCPU = 0.0, params = 0, flopsReduced = 0.0, flopsFull = 0.0, buildSeconds = 0.0
    var peakTransformer: Int?
    do {
        var model: CogVideoXTransformer!
        buildSeconds = seconds(try clock.measure {
            model = try CogVideoXTransformer(config: cfg)
            model.initializeRandom(seed: 1)
        })
        params = model.parameterCount
        let cpu0 = ProcessMemory.processCPUSeconds()
        transformerSeconds = seconds(try clock.measure {
            _ = try model.forward(hidden: x, shape: reduced, text: textEmbeds, textLength: cfg.maxTextSeqLength, timesteps: [500])
        })
        transformerCPU = ProcessMemory.processCPUSeconds() - cpu0
        flopsReduced = model.forwardFLOPs(try model.dims(reduced, textLength: cfg.maxTextSeqLength))
        flopsFull = model.forwardFLOPs(try model.dims(full, textLength: cfg.maxTextSeqLength))
        peakTransformer = ProcessMemory.peakResidentBytes()
    }
    // The transformer is freed here, as the pipeline frees it before the VAE.
    let vae = try CogVideoXVAE.benchmarkDecode(config: .cogVideoX2b, seed: 3, latentFrames: latentFrames,
                                               latentHeight: cfg.sampleHeight, latentWidth: cfg.sampleWidth)
    let fwdFull = transformerSeconds * flopsFull / flopsReduced
    // A 49-frame clip: the student's 4 evaluations (no guidance) or the teacher's 50 steps x 2 (CFG), then one decode.
    let student = 4 * fwdFull + vae.fullClipSecondsEstimate, teacher = 100 * fwdFull + vae.fullClipSecondsEstimate
    func gb(_ b: Int?) -> String { b.map { String(format: "%.2f GB", Double($0) / 1e9) } ?? "n/a" }
    let result: [String: Any] = [
        "preset": "cogvideox-2b", "transformer_params": params, "transformer_build_s": buildSeconds,
        "transformer_forward_s": transformerSeconds, "transformer_forward_cpu_s": transformerCPU,
        "transformer_tokens": 226 + latentFrames * (cfg.sampleHeight / 2) * (cfg.sampleWidth / 2),
        "transformer_gflops": flopsReduced / 1e9, "transformer_gflop_per_s": flopsReduced / transformerSeconds / 1e9,
        "transformer_forward_49_frames_s_estimate": fwdFull, "peak_after_transformer_bytes": peakTransformer ?? -1,
        "vae_decode_s": vae.decodeSeconds, "vae_decode_49_frames_s_estimate": vae.fullClipSecondsEstimate,
        "vae_peak_bytes": vae.peakResidentBytes ?? -1, "student_4_nfe_clip_s_estimate": student,
        "teacher_100_nfe_clip_s_estimate": teacher, "threads": Compute.threads, "blas_core": Compute.blasCore,
        "load_average": ProcessMemory.loadAverage() ?? -1,
    ]
    let text = """
        cogvideox-2b, random weights, \(Compute.threads) threads, OpenBLAS \(Compute.blasCore), load \(String(format: "%.1f", ProcessMemory.loadAverage() ?? -1))
        transformer: \(params) parameters (built in \(String(format: "%.1f", buildSeconds)) s); one forward at 13 frames 480x720 (\(latentFrames) latent frames, \(226 + latentFrames * 1350) tokens): \(String(format: "%.1f s, %.1f GFLOP/s", transformerSeconds, flopsReduced / transformerSeconds / 1e9)); peak memory \(gb(peakTransformer))
          49 frames (13 latent frames): \(String(format: "%.1f", flopsFull / flopsReduced))x the FLOPs -> ~\(String(format: "%.0f", fwdFull)) s per forward
        \(vae.summary)
        a 49-frame 480x720 clip: 4-step student (4 forwards) ~\(String(format: "%.0f", student)) s; 100-NFE teacher ~\(String(format: "%.0f", teacher)) s (T5 encoding not included)
        """
    return (result, text)
}
