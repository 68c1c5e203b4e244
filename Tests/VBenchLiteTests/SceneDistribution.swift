import Foundation
import VideoCommon
import VideoIO
@testable import VBenchLite

/// A world-like distribution of clips per prompt for the distribution tests: each seed draws the
/// object's position (±3 px), size (±12 %) and a tint of the whole clip (±12 grey levels per channel),
/// as the world's seeds draw layout and background colours. 32×32, 16 frames, 8 fps.
struct SceneDistribution {
    var name: String
    var base: Scene
    var still: Bool

    static func prompts() -> [SceneDistribution] {
        var moving = Scene()
        moving.width = 32; moving.height = 32
        moving.backgroundKind = "gradient"; moving.backgroundColor = "blue"
        moving.objects = [SceneObject(color: "yellow", shape: "circle", x: 10, y: 16, size: 10, vx: 0.77, vy: 0, motion: "moving right")]
        var still = Scene()
        still.width = 32; still.height = 32
        still.backgroundKind = "texture"; still.backgroundColor = "grey"
        still.objects = [SceneObject(color: "red", shape: "square", x: 16, y: 16, size: 10)]
        var pair = Scene()
        pair.width = 32; pair.height = 32
        pair.backgroundKind = "plain"; pair.backgroundColor = "grey"
        pair.objects = [SceneObject(color: "green", shape: "diamond", x: 9, y: 16, size: 9),
                        SceneObject(color: "white", shape: "circle", x: 23, y: 16, size: 9)]
        pair.relationship = "on the left of"
        return [SceneDistribution(name: "moving", base: moving, still: false),
                SceneDistribution(name: "still", base: still, still: true),
                SceneDistribution(name: "pair", base: pair, still: true)]
    }

    func clip(seed: UInt64) -> RGBVideo {
        var rng = SplitMix(seed &* 7919 &+ UInt64(name.count))
        var s = base
        for i in s.objects.indices {
            s.objects[i].x += 6 * (rng.unit() - 0.5)
            s.objects[i].y += 6 * (rng.unit() - 0.5)
            s.objects[i].size *= 1 + 0.24 * (rng.unit() - 0.5)
        }
        let tint = (0..<3).map { _ in 24 * (rng.unit() - 0.5) }
        var v = s.render()
        for i in v.pixels.indices {
            v.pixels[i] = UInt8(max(0, min(255, (Double(v.pixels[i]) + tint[i % 3]).rounded())))
        }
        return v
    }

    func clips(_ seeds: Range<UInt64>) -> [RGBVideo] { seeds.map { clip(seed: $0) } }
}

/// More degradations for the distribution and dynamic degree tests.
enum Disturb {
    /// Block shimmer: every `block`×`block` block gets a uniform offset of ±`amplitude` grey levels
    /// (random sign), redrawn every `period` frames, as the student's codec artefacts look.
    static func shimmer(_ v: RGBVideo, amplitude: Double, block: Int = 4, period: Int = 2, seed: UInt64 = 11) -> RGBVideo {
        var rng = SplitMix(seed)
        var out = v
        let bw = (v.width + block - 1) / block, bh = (v.height + block - 1) / block
        var offsets = [Double](repeating: 0, count: bw * bh)
        var acc = [Double](repeating: 0, count: v.pixels.count)
        for t in 0..<v.frameCount {
            if t % period == 0 { for i in offsets.indices { offsets[i] = rng.unit() < 0.5 ? -amplitude : amplitude } }
            for y in 0..<v.height {
                for x in 0..<v.width {
                    let o = offsets[(y / block) * bw + x / block]
                    for c in 0..<3 {
                        let i = ((t * v.height + y) * v.width + x) * 3 + c
                        acc[i] = Double(v.pixels[i]) + o
                    }
                }
            }
        }
        // Dither the rounding with a fixed pattern so sub-level offsets survive 8 bits.
        for i in acc.indices { out.pixels[i] = UInt8(max(0, min(255, (acc[i] + 0.5 * (Double((i * 7) % 11) / 11 - 0.5)).rounded()))) }
        return out
    }

    /// A uniform brightness change of each whole frame, ±`amplitude` grey levels at random.
    static func globalFlicker(_ v: RGBVideo, amplitude: Double, seed: UInt64 = 5) -> RGBVideo {
        var rng = SplitMix(seed)
        var out = v
        for t in 0..<v.frameCount {
            let o = amplitude * (2 * rng.unit() - 1)
            for i in (t * v.frameSize)..<((t + 1) * v.frameSize) {
                out.pixels[i] = UInt8(max(0, min(255, (Double(v.pixels[i]) + o).rounded())))
            }
        }
        return out
    }

    /// One clip repeated `count` times, each copy with its own faint noise when `noise` > 0.
    static func collapsed(_ v: RGBVideo, count: Int, noise: Double) -> [RGBVideo] {
        (0..<count).map { noise > 0 ? Degrade.noise(v, sigma: noise, seed: UInt64(100 + $0)) : v }
    }
}
