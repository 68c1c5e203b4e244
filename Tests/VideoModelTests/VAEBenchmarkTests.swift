import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// The benchmark entry point on the tiny fixture config (always), and the full CogVideoX-2b decode
/// (opt-in, minutes: `TDM_VAE_BENCH=1 swift test -c release --filter VAEBenchmarkTests`; set
/// `TDM_VAE_BENCH_FRAMES` for the latent frame count, default 4, and `TDM_VAE_BENCH_HW`, default 60x90).
@Suite("CogVideoX VAE benchmark") struct VAEBenchmarkTests {
    @Test func tinyBenchmarkReportsItsFigures() throws {
        let config = try CogVideoXVAEConfig.load(Fixtures.url("cogvideox-vae-tiny/config.json"))
        let r = try CogVideoXVAE.benchmarkDecode(config: config, seed: 1, latentFrames: 3, latentHeight: 4, latentWidth: 4)
        #expect(r.outputShape == [1, 3, 9, 32, 32])
        #expect(r.decodeSeconds > 0 && r.decodeFLOPs > 0)
        #expect(r.fullClipFrames == 49)
        #expect(r.fullClipFLOPs > r.decodeFLOPs)
        #expect(r.peakResidentBytes ?? 1 > 0)
        // Random weights are deterministic in the seed.
        let a = try CogVideoXVAE(config: config, seed: 7), b = try CogVideoXVAE(config: config, seed: 7)
        let z = try Tensor(shape: [1, 4, 1, 2, 2], data: (0..<16).map { Float($0) / 8 - 1 })
        #expect(try a.decode(z) == b.decode(z))
    }

    /// The FLOP count follows the reference's structure: conv_in alone, checked by hand.
    @Test func flopCountOfTheTinyDecoder() throws {
        let vae = try CogVideoXVAE.load(directory: Fixtures.url("cogvideox-vae-tiny"))
        let f = vae.decodeFLOPs(latentFrames: 3, height: 4, width: 4)
        // conv_in: 2 * (4*27) * 8 * 3*4*4 = 82944; the whole decode is far more.
        #expect(vae.decoder.convIn.flops(frames: 3, height: 4, width: 4) == 82_944)
        #expect(f > 82_944 * 10)
        #expect(vae.decodeFLOPs(latentFrames: 5, height: 4, width: 4) > f)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["TDM_VAE_BENCH"] == "1"))
    func cogVideoX2bDecode() throws {
        let env = ProcessInfo.processInfo.environment
        let frames = Int(env["TDM_VAE_BENCH_FRAMES"] ?? "") ?? 4
        let hw = (env["TDM_VAE_BENCH_HW"] ?? "60x90").split(separator: "x").compactMap { Int($0) }
        let r = try CogVideoXVAE.benchmarkDecode(latentFrames: frames, latentHeight: hw.first ?? 60, latentWidth: hw.last ?? 90)
        print("VAEBENCH " + r.summary)
        let json = try JSONEncoder().encode(r)
        print("VAEBENCH-JSON " + String(decoding: json, as: UTF8.self))
        #expect(r.outputShape[3] == 8 * (hw.first ?? 60) && r.outputShape[4] == 8 * (hw.last ?? 90))
    }
}
