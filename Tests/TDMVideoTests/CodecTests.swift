import Foundation
import Testing
@testable import ShapeWorld
@testable import TDMVideo
@testable import TensorCore
@testable import VideoModel
import VBenchLite
import VideoIO

/// The default latent codec on the embedded world (issue 5: ≥ 8 pixel values per latent value,
/// PSNR ≥ 30 dB on held-out clips, unit-variance latents).
@Suite("Latent codec") struct CodecTests {
    @Test func pcaCodecOnHeldOutWorldClips() throws {
        let r = WorldRenderer()
        let source = WorldClipSource(renderer: r)
        var rng = RNG(seed: 0xC0DEC)
        let train = (0..<256).map { _ in source.sample(&rng).pixels }
        let codec = try PCALatentCodec.fit(clips: train, frames: 16, height: 32, width: 32, channels: 12, spatialFactor: 4, temporalFactor: 2)
        #expect(codec.compression >= 8)
        var sse = 0.0, n = 0.0, lat = [Float]()
        var originals: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = [], decoded = originals
        for (i, e) in WorldSplit.heldOutSuite().enumerated() {
            let px = r.renderFloats(try Grammar.parse(e.promptEn), seed: UInt64(100 + i))
            let z = try codec.encode(px, frames: 16, height: 32, width: 32)
            lat += z
            let back = try codec.decode(z, frames: 16, height: 32, width: 32)
            originals.append((e.promptEn, WorldRenderer.toVideo(px, width: 32, height: 32, fps: 8), e))
            decoded.append((e.promptEn, WorldRenderer.toVideo(back, width: 32, height: 32, fps: 8), e))
            for j in 0..<px.count { let d = Double(px[j] - back[j]); sse += d * d }
            n += Double(px.count)
        }
        let psnr = 10 * log10(1 / (sse / n))
        let variance = lat.reduce(0.0) { $0 + Double($1 * $1) } / Double(lat.count)
        print("codec: \(codec.compression) px/latent, explained \(codec.explainedVariance), held-out PSNR \(psnr) dB, latent variance \(variance)")
        #expect(psnr >= 30, "held-out PSNR \(psnr) dB")
        // What the codec keeps is what a teacher can learn: the semantic checks must still see the truth
        // through an encode-decode round trip.
        let before = VBenchLite().evaluate(videos: originals), after = VBenchLite().evaluate(videos: decoded)
        for d in [VBenchDimension.objectClass, .multipleObjects, .color, .spatialRelationship] {
            let a = before[d]?.score ?? 0, b = after[d]?.score ?? 0
            print("codec round trip: \(d.rawValue) \(a) -> \(b)")
            #expect(b >= a - 0.1, "\(d.rawValue): \(a) on the renders, \(b) after the codec")
        }
        #expect(variance > 0.5 && variance < 2, "latent variance \(variance)")
    }
}
