import Foundation
import Testing
import TensorCore
@testable import VBenchLite

/// `SpectralFidelity`: the DFT against Parseval and known spectra, and the two high-frequency fractions
/// on a copy, a blur and added noise.
@Suite("Spectral fidelity: power above half Nyquist, PSNR") struct SpectralFidelityTests {
    static func randomClip(_ seed: UInt64, frames: Int = 2, h: Int = 16, w: Int = 12) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<(frames * h * w * 3)).map { _ in Float(rng.uniform()) }
    }

    /// A 3-tap box blur along x and y of every frame and channel.
    static func blur(_ x: [Float], frames: Int, h: Int, w: Int) -> [Float] {
        var out = x
        for f in 0..<frames { for c in 0..<3 { for y in 0..<h { for xx in 0..<w {
            var s: Float = 0, n: Float = 0
            for dy in -1...1 { for dx in -1...1 {
                let yy = y + dy, xs = xx + dx
                if yy >= 0 && yy < h && xs >= 0 && xs < w { s += x[((f * h + yy) * w + xs) * 3 + c]; n += 1 }
            } }
            out[((f * h + y) * w + xx) * 3 + c] = s / n
        } } } }
        return out
    }

    @Test func dftAgreesWithParsevalAndKnownSpectra() {
        let h = 16, w = 12
        var rng = RNG(seed: 5)
        let x = (0..<(h * w)).map { _ in rng.uniform() - 0.5 }
        // With every frequency counted, the power is Σ x².
        var all = SpatialDFT(height: h, width: w)
        all = SpatialDFT(copying: all, mask: [Bool](repeating: true, count: h * w))
        let total = all.highFrequencyPower(x), direct = x.reduce(0) { $0 + $1 * $1 }
        #expect(abs(total - direct) < 1e-9 * direct)
        // A checkerboard sits at (1/2, 1/2) cycles per pixel: all of its power is high; a constant has none.
        let hf = SpatialDFT(height: h, width: w)
        let checker = (0..<(h * w)).map { Double(((($0 / w) + ($0 % w)) % 2) * 2 - 1) }
        #expect(abs(hf.highFrequencyPower(checker) - Double(h * w)) < 1e-6)
        #expect(hf.highFrequencyPower([Double](repeating: 0.7, count: h * w)) < 1e-12)
        // A slow cosine (1/12 cycle per pixel along x) has none either.
        let slow = (0..<(h * w)).map { cos(2 * Double.pi * Double($0 % w) / 12) }
        #expect(hf.highFrequencyPower(slow) < 1e-9)
        // The split is at a radius of exactly 1/4 cycle per pixel: a wave at radius 0.205 (3/16 along y,
        // 1/12 along x) and one at 0.25 (4/16 along y) are low; one at 0.3125 (5/16 along y) is high.
        func wave(_ ky: Int, _ kx: Int) -> [Double] {
            (0..<(h * w)).map { cos(2 * Double.pi * (Double(ky * ($0 / w)) / Double(h) + Double(kx * ($0 % w)) / Double(w))) }
        }
        #expect(hf.highFrequencyPower(wave(3, 1)) < 1e-9)
        #expect(hf.highFrequencyPower(wave(4, 0)) < 1e-9)
        let high = wave(5, 0)
        #expect(abs(hf.highFrequencyPower(high) - high.reduce(0) { $0 + $1 * $1 }) < 1e-6)
    }

    @Test func copyBlurAndNoise() {
        let frames = 2, h = 16, w = 12
        let clips = (0..<3).map { Self.randomClip(UInt64($0), frames: frames, h: h, w: w) }
        let same = SpectralFidelity.measure(original: clips, reconstructed: clips, frames: frames, height: h, width: w)
        #expect(same.hfPowerRatio == 1 && same.hfFidelity == 1 && same.psnr == 99)
        let blurred = clips.map { Self.blur($0, frames: frames, h: h, w: w) }
        let b = SpectralFidelity.measure(original: clips, reconstructed: blurred, frames: frames, height: h, width: w)
        #expect(b.hfPowerRatio < 0.3 && b.hfFidelity < 0.5, "blur: \(b)")
        var rng = RNG(seed: 9)
        let noisy = clips.map { $0.map { $0 + 0.2 * Float(rng.uniform() - 0.5) } }
        let n = SpectralFidelity.measure(original: clips, reconstructed: noisy, frames: frames, height: h, width: w)
        // Added noise raises the high-frequency power but is not the original's detail.
        #expect(n.hfPowerRatio > 1 && n.hfFidelity < 1 && n.hfFidelity > 0.8, "noise: \(n)")
        #expect(n.psnr > 20 && n.psnr < 30, "noise PSNR \(n.psnr)")
    }
}
