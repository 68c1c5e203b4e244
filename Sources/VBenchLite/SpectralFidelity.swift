import Foundation

/// How much of a clip's fine detail survives a round trip (a codec, a blur, a sampler): the spatial
/// power spectrum of every frame and colour channel, split at half the Nyquist frequency (a radial
/// frequency of 1/4 cycle per pixel), and the PSNR.
///
/// Two fractions of the original's power above that frequency are reported, because a round trip can
/// lose detail and also invent some: `hfPowerRatio` = P(reconstruction) / P(original) (what "keeps 90 %
/// of the spectral power" reads literally: a blur lowers it, added noise raises it) and `hfFidelity` =
/// 1 − P(reconstruction − original) / P(original) (1 for an exact copy, 0 when the detail is lost or
/// replaced by unrelated detail of the same power). Sums run over all clips before dividing, so clips
/// with more detail weigh more, as in a pooled spectrum.
public struct SpectralFidelity: Sendable {
    public var hfPowerRatio: Double
    public var hfFidelity: Double
    public var psnr: Double
    /// The lowest per-clip `hfFidelity` and PSNR.
    public var worstHFFidelity: Double
    public var worstPSNR: Double
    public var clips: Int

    /// `original[i]` and `reconstructed[i]` are [frames, height, width, 3] in [0, 1].
    public static func measure(original: [[Float]], reconstructed: [[Float]], frames: Int, height: Int, width: Int) -> SpectralFidelity {
        precondition(original.count == reconstructed.count && !original.isEmpty, "one reconstruction per clip")
        let dft = SpatialDFT(height: height, width: width)
        var pO = 0.0, pR = 0.0, pE = 0.0, se = 0.0, n = 0.0
        var worstF = Double.infinity, worstP = Double.infinity
        for (o, r) in zip(original, reconstructed) {
            precondition(o.count == frames * height * width * 3 && r.count == o.count, "clip sizes")
            var co = 0.0, cr = 0.0, ce = 0.0, cse = 0.0
            var a = [Double](repeating: 0, count: height * width), b = a, e = a
            for f in 0..<frames { for ch in 0..<3 {
                for i in 0..<(height * width) {
                    let x = Double(o[(f * height * width + i) * 3 + ch]), y = Double(r[(f * height * width + i) * 3 + ch])
                    a[i] = x; b[i] = y; e[i] = y - x
                    cse += (y - x) * (y - x)
                }
                co += dft.highFrequencyPower(a)
                cr += dft.highFrequencyPower(b)
                ce += dft.highFrequencyPower(e)
            } }
            let count = Double(o.count)
            worstF = min(worstF, co > 0 ? 1 - ce / co : 1)
            worstP = min(worstP, Self.psnr(mse: cse / count))
            pO += co; pR += cr; pE += ce; se += cse; n += count
        }
        return SpectralFidelity(hfPowerRatio: pO > 0 ? pR / pO : 1, hfFidelity: pO > 0 ? 1 - pE / pO : 1,
                                psnr: psnr(mse: se / n), worstHFFidelity: worstF, worstPSNR: worstP, clips: original.count)
    }

    static func psnr(mse: Double) -> Double { mse > 0 ? 10 * log10(1 / mse) : 99 }
}

/// A plain 2D discrete Fourier transform of one [height, width] plane, separable, with cosine and sine
/// tables: clips here are at most a few hundred pixels a side, so O(hw(h+w)) is cheap and exact.
struct SpatialDFT {
    let height: Int, width: Int
    let cosH: [Double], sinH: [Double], cosW: [Double], sinW: [Double]
    /// mask[ky * width + kx]: the frequency's radius exceeds 1/4 cycle per pixel (half of Nyquist).
    let highMask: [Bool]

    init(height: Int, width: Int) {
        self.height = height
        self.width = width
        func tables(_ n: Int) -> ([Double], [Double]) {
            var c = [Double](repeating: 0, count: n * n), s = c
            for k in 0..<n { for x in 0..<n {
                let a = 2 * Double.pi * Double(k * x % n) / Double(n)
                c[k * n + x] = cos(a); s[k * n + x] = sin(a)
            } }
            return (c, s)
        }
        (cosH, sinH) = tables(height)
        (cosW, sinW) = tables(width)
        var m = [Bool](repeating: false, count: height * width)
        for ky in 0..<height { for kx in 0..<width {
            let fy = Double(ky <= height / 2 ? ky : ky - height) / Double(height)
            let fx = Double(kx <= width / 2 ? kx : kx - width) / Double(width)
            m[ky * width + kx] = (fx * fx + fy * fy).squareRoot() > 0.25
        } }
        highMask = m
    }

    /// The same transform counting the frequencies `mask` selects (tests use it to check Parseval).
    init(copying d: SpatialDFT, mask: [Bool]) {
        height = d.height; width = d.width
        cosH = d.cosH; sinH = d.sinH; cosW = d.cosW; sinW = d.sinW
        highMask = mask
    }

    /// Σ |X(k)|² / (h·w) over the high frequencies (Parseval's normalisation: over all k it equals Σ x²).
    func highFrequencyPower(_ x: [Double]) -> Double {
        let h = height, w = width
        // Rows: R[y, kx] = Σ_x x[y, x] e^{-2πi kx x / w}.
        var rr = [Double](repeating: 0, count: h * w), ri = rr
        for y in 0..<h { for kx in 0..<w {
            var re = 0.0, im = 0.0
            for xx in 0..<w { let v = x[y * w + xx]; re += v * cosW[kx * w + xx]; im -= v * sinW[kx * w + xx] }
            rr[y * w + kx] = re; ri[y * w + kx] = im
        } }
        var power = 0.0
        for ky in 0..<h { for kx in 0..<w where highMask[ky * w + kx] {
            var re = 0.0, im = 0.0
            for y in 0..<h {
                let c = cosH[ky * h + y], s = sinH[ky * h + y], a = rr[y * w + kx], b = ri[y * w + kx]
                // (a + ib)(c − is)
                re += a * c + b * s
                im += b * c - a * s
            }
            power += re * re + im * im
        } }
        return power / Double(h * w)
    }
}
