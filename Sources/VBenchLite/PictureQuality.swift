import Foundation

/// Handcrafted per-frame picture measurements behind the aesthetic and imaging quality proxies,
/// in place of the LAION aesthetic head on CLIP ViT-L/14 and MUSIQ-SPAQ (docs/vbench.md §4).
///
/// All are computed on the frame as decoded (VBench resizes only frames whose longer side exceeds 512,
/// which ours never do).
struct PictureMeasures {
    /// Edge acutance in [0, 1]: 1 for one-pixel edges, 0 for wide ramps. From r = Σ(Δ₁I)² / Σ(Δ₂I)²
    /// (one- and two-pixel luma differences, both axes, white-noise energy 2σ² removed from each): a
    /// pixel-aligned step gives r = 1/2, an anti-aliased step at a random sub-pixel phase r ≈ 0.4 on
    /// average, a ramp much wider than two pixels r → 1/4; acutance = clamp((r − 0.25) / 0.15, 0, 1),
    /// so a crisp anti-aliased edge scores 1. Frames without edges give 0.5.
    var acutance: Double
    /// Blur width in [0, 1]: the mean edge width w over the frame's edge points in R, G and B (contrast across 8
    /// pixels / largest one-pixel step there; edges of at least 20 grey levels, so noise, shimmer and
    /// smooth gradients are not edges), blurWidth = clamp((w − 1) / 6, 0, 1). A crisp edge has w ≈ 1–1.5,
    /// a Gaussian blur of σ about 2.5σ until the 8 pixels stop spanning it, so it keeps growing to
    /// σ ≈ 3 at least, where `acutance` (a ratio of 1- and 2-pixel differences) is at its floor from
    /// σ ≈ 1.5 on. A frame without edges gives 0.5.
    var blurWidth: Double
    /// Immerkær's fast noise σ estimate (grey levels), from the Laplacian-difference mask.
    var noiseSigma: Double
    /// Ratio of luma jumps across 8x8 block boundaries to jumps elsewhere (1 = no blocking).
    var blockiness: Double
    /// Fraction of pixels with luma at most 2 or at least 253.
    var clipped: Double
    /// Hasler–Süsstrunk colourfulness M = σ_rgyb + 0.3·μ_rgyb (0 grey ... above 100 very colourful).
    var colorfulness: Double
    /// RMS contrast: standard deviation of luma / 255.
    var contrast: Double
    /// Mean luma / 255.
    var meanLuma: Double

    init(_ f: FramePlanes) {
        let w = f.width, h = f.height, ps = f.planeSize
        let luma = f.luma()
        // Immerkær noise estimate.
        var s = 0.0
        if w >= 3 && h >= 3 {
            for y in 1..<(h - 1) {
                for x in 1..<(w - 1) {
                    let c = { (dx: Int, dy: Int) -> Double in Double(luma[(y + dy) * w + x + dx]) }
                    let v = c(-1, -1) - 2 * c(0, -1) + c(1, -1) - 2 * c(-1, 0) + 4 * c(0, 0) - 2 * c(1, 0)
                        + c(-1, 1) - 2 * c(0, 1) + c(1, 1)
                    s += abs(v)
                }
            }
            noiseSigma = s * (Double.pi / 2).squareRoot() / (6 * Double(w - 2) * Double(h - 2))
        } else {
            noiseSigma = 0
        }
        // Acutance, with the expected contribution of white noise (2σ² per difference, for both
        // spacings) removed first so that noise does not pass for sharpness.
        var d1 = 0.0, d2 = 0.0, pairs = 0.0
        for y in 0..<h {
            for x in 0..<w {
                let v = Double(luma[y * w + x])
                if x + 2 < w {
                    let a = Double(luma[y * w + x + 1]) - v, b = Double(luma[y * w + x + 2]) - v
                    d1 += a * a; d2 += b * b; pairs += 1
                }
                if y + 2 < h {
                    let a = Double(luma[(y + 1) * w + x]) - v, b = Double(luma[(y + 2) * w + x]) - v
                    d1 += a * a; d2 += b * b; pairs += 1
                }
            }
        }
        let noiseEnergy = 2 * noiseSigma * noiseSigma * pairs
        d1 = max(0, d1 - noiseEnergy); d2 = max(0, d2 - noiseEnergy)
        if d2 > pairs {
            acutance = min(1, max(0, (d1 / d2 - 0.25) / 0.15))
        } else {
            acutance = 0.5
        }
        // Blur width: at each edge point (a local maximum of the one-pixel difference along a row or
        // column, with a contrast of at least 20 grey levels across the 8 pixels around it), the
        // contrast across those 8 pixels divided by the largest one-pixel step: about 1 for a crisp edge,
        // σ·√(2π) for a Gaussian-blurred one (until the 8 pixels no longer span it).
        var widthSum = 0.0, edges = 0.0
        // One line of samples: edge points are one-pixel steps that are the largest within ±3 steps
        // (strictly larger than those before), of the same sign as the contrast across the 8 pixels
        // around them, which must be at least 20 grey levels.
        var line = [Float](repeating: 0, count: max(w, h)), d = line
        func scan(_ count: Int) {
            guard count >= 9 else { return }
            for i in 0..<(count - 1) { d[i] = line[i + 1] - line[i] }
            for i in 0..<(count - 1) {
                let g = abs(d[i])
                guard g > 0.5 else { continue }
                var isMax = true
                for j in max(0, i - 3)..<i where abs(d[j]) >= g { isMax = false; break }
                if isMax { for j in (i + 1)..<min(count - 1, i + 4) where abs(d[j]) > g { isMax = false; break } }
                guard isMax else { continue }
                let span = line[min(count - 1, i + 4)] - line[max(0, i - 3)]
                guard abs(span) >= 20, (d[i] > 0) == (span > 0) else { continue }
                widthSum += Double(abs(span) / g)
                edges += 1
            }
        }
        // On each colour plane (an edge between colours of equal brightness is still an edge).
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w { line[x] = f.data[c * ps + f.index(x, y)] }
                scan(w)
            }
            for x in 0..<w {
                for y in 0..<h { line[y] = f.data[c * ps + f.index(x, y)] }
                scan(h)
            }
        }
        blurWidth = edges > 0 ? min(1, max(0, (widthSum / edges - 1) / 6)) : 0.5
        // Blockiness.
        var onB = 0.0, onN = 0.0, offB = 0.0, offN = 0.0
        for y in 0..<h {
            for x in 0..<(w - 1) {
                let j = Double(abs(luma[y * w + x + 1] - luma[y * w + x]))
                if x % 8 == 7 { onB += j; onN += 1 } else { offB += j; offN += 1 }
            }
        }
        for y in 0..<(h - 1) {
            for x in 0..<w {
                let j = Double(abs(luma[(y + 1) * w + x] - luma[y * w + x]))
                if y % 8 == 7 { onB += j; onN += 1 } else { offB += j; offN += 1 }
            }
        }
        if onN > 0, offN > 0, offB / offN > 0.5 {
            blockiness = (onB / onN) / (offB / offN)
        } else {
            blockiness = 1
        }
        // Exposure, contrast, colourfulness.
        var clip = 0, sum = 0.0, sum2 = 0.0
        var rgS = 0.0, rgS2 = 0.0, ybS = 0.0, ybS2 = 0.0
        for y in 0..<h {
            for x in 0..<w {
                let l = Double(luma[y * w + x])
                if l <= 2 || l >= 253 { clip += 1 }
                sum += l; sum2 += l * l
                let i = f.index(x, y)
                let r = Double(f.data[i]), g = Double(f.data[ps + i]), b = Double(f.data[2 * ps + i])
                let rg = r - g, yb = 0.5 * (r + g) - b
                rgS += rg; rgS2 += rg * rg; ybS += yb; ybS2 += yb * yb
            }
        }
        let n = Double(w * h)
        clipped = Double(clip) / n
        meanLuma = sum / n / 255
        contrast = max(0, sum2 / n - (sum / n) * (sum / n)).squareRoot() / 255
        let mrg = rgS / n, myb = ybS / n
        let vrg = max(0, rgS2 / n - mrg * mrg), vyb = max(0, ybS2 / n - myb * myb)
        colorfulness = (vrg + vyb).squareRoot() + 0.3 * (mrg * mrg + myb * myb).squareRoot()
    }
}

/// The imaging quality proxy for one frame, on MUSIQ's 0–100 scale as VBench's per-video results are.
///
/// Starts from 72 (the top of VBench's typical 0.55–0.72 range, a clean sharp picture) and subtracts
/// documented penalties: blur 30·blurWidth (VBenchLite 1 used 25·(1 − acutance), which stopped falling
/// at σ ≈ 1.5 and rose with faint shimmer; this one is strictly lower at Gaussian σ 0.5, 1, 1.5, 2 and
/// 3); noise 35·(1 − exp(−(σ − 1.5)/12)) for Immerkær σ
/// above 1.5 (about 2 points per grey level at first, saturating at 35: pixel-scale texture such as
/// ffmpeg's `life` is indistinguishable from noise for this estimator and must not reach 0);
/// blocking 15 per unit of blockiness above 1.1; clipping 20 per unit of clipped fraction above 0.25.
/// Clamped to [0, 100]. The constants set the scale of each defect so that a mild one (σ = 5 noise,
/// a 1-pixel Gaussian blur) costs several points; they are not fitted to MUSIQ.
enum ImagingQualityProxy {
    static func frameScore(_ m: PictureMeasures) -> Double {
        var q = 72.0
        q -= 30 * m.blurWidth
        q -= 35 * (1 - exp(-max(0, m.noiseSigma - 1.5) / 12))
        q -= 15 * max(0, m.blockiness - 1.1)
        q -= 20 * max(0, m.clipped - 0.25)
        return min(100, max(0, q))
    }
}

/// The aesthetic quality proxy for one frame, on the LAION head's /10 scale (VBench's 0–1 raw).
///
/// A linear model on handcrafted features, centred on VBench's typical 0.4–0.7 range: 0.40 plus
/// colourfulness 0.10·min(M/80, 1), contrast 0.08·min(σ/0.25, 1), exposure 0.07·(1 − 2|μ − 0.5|),
/// sharpness 0.05·(1 − blurWidth), minus a saturating noise penalty 0.12·(1 − exp(−(σ − 1.5)/12)) and 0.1 per unit of clipped
/// fraction above 0.25. Clamped to [0, 1]. It reads picture properties, not beauty: it is the weakest
/// quality proxy (docs/vbench.md §4).
enum AestheticQualityProxy {
    static func frameScore(_ m: PictureMeasures) -> Double {
        var q = 0.40
        q += 0.10 * min(m.colorfulness / 80, 1)
        q += 0.08 * min(m.contrast / 0.25, 1)
        q += 0.07 * (1 - 2 * abs(m.meanLuma - 0.5))
        q += 0.05 * (1 - m.blurWidth)
        q -= 0.12 * (1 - exp(-max(0, m.noiseSigma - 1.5) / 12))
        q -= 0.1 * max(0, m.clipped - 0.25)
        return min(1, max(0, q))
    }
}
