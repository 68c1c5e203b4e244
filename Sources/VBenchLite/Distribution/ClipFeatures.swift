import Foundation
import VideoCommon

/// Fixed, handcrafted features of a whole clip for the distribution metrics: what FID/FVD take from
/// Inception or I3D activations, here 76 numbers that see the three things a text-to-video model of our
/// world can get wrong between seeds: where things are (layout), how crisp they are (fine texture and
/// sharpness), and how they move (motion).
///
/// Luma is BT.601 (0.299 R + 0.587 G + 0.114 B) on 0...255. Grids divide the frame into equal cells
/// by area whatever its size, so features of clips of any size have the same length; the band energies
/// are measured at the clip's own resolution, so reference and evaluated clips must share a size.
///
/// Layout (64):
/// - 48: the clip's time-mean picture on a 4×4 grid of cells, R, G, B means / 255;
/// - 16: luma on the same grid, mean of the second half of the frames minus mean of the first / 255
///   (where things went).
/// Texture and sharpness (6), per frame then averaged over frames, E = mean squared difference:
/// - log(1 + E) of one-pixel luma differences (x and y) at full, 1/2 and 1/4 resolution (2×2 box means);
/// - log(1 + mean squared discrete Laplacian) at full resolution (the finest scale);
/// - log(1 + E) of one-pixel differences of the chroma planes R − G and B − (R + G)/2 (full resolution);
/// - log(E₁) − log(E₄): the fine-to-coarse energy ratio the sharpness gap reads.
/// Motion (6), over consecutive frame pairs:
/// - log(1 + mean |ΔY|) at full and at 1/4 resolution (coarse motion);
/// - log(1 + mean squared one-pixel spatial difference of ΔY) (fine-scale temporal energy: shimmer,
///   noise, flicker of texture);
/// - log(1 + mean |Ȳ_last quarter − Ȳ_first quarter|) at 1/4 resolution (how far things went);
/// - the shift of the centroid of |ΔY| (changes above 6 grey levels only) between the clip's two
///   halves, x and y, in frame widths (the direction of travel).
public enum ClipFeatures {
    public static let layoutCount = 64
    public static let textureCount = 6
    public static let motionCount = 6
    public static let count = layoutCount + textureCount + motionCount

    /// The group of each feature: 0 layout, 1 texture/sharpness, 2 motion.
    public static let groups: [Int] = Array(repeating: 0, count: layoutCount) + Array(repeating: 1, count: textureCount)
        + Array(repeating: 2, count: motionCount)

    /// Index of the per-clip fine-to-coarse log energy ratio (the sharpness gap's input).
    public static let sharpnessIndex = layoutCount + 5
    /// Index of log(1 + mean |ΔY|) at full resolution (still-prompt motion's input).
    public static let frameChangeIndex = layoutCount + textureCount

    /// The features of one clip (a clip with no frame gives zeros).
    public static func extract(_ video: RGBVideo) -> [Double] {
        let w = video.width, h = video.height, t = video.frameCount
        var out = [Double](repeating: 0, count: count)
        guard t >= 1, w >= 4, h >= 4 else { return out }
        let n = w * h
        var luma = [Float](repeating: 0, count: n * t)
        var crg = [Float](repeating: 0, count: n * t)
        var cyb = [Float](repeating: 0, count: n * t)
        // Cell of each column and row on the 4×4 grid.
        let cellX = (0..<w).map { min(3, $0 * 4 / w) }, cellY = (0..<h).map { min(3, $0 * 4 / h) }
        var cellCount = [Double](repeating: 0, count: 16)
        for y in 0..<h { for x in 0..<w { cellCount[cellY[y] * 4 + cellX[x]] += 1 } }
        var rgbSum = [Double](repeating: 0, count: 48)
        var halfA = [Double](repeating: 0, count: 16), halfB = [Double](repeating: 0, count: 16)
        let half = t / 2
        // Per pixel: its grid cell; per frame: R, G, B and luma sums per cell (one scratch buffer).
        var cellOf = [Int](repeating: 0, count: n)
        for y in 0..<h { for x in 0..<w { cellOf[y * w + x] = cellY[y] * 4 + cellX[x] } }
        var cellSums = [Float](repeating: 0, count: 64)
        video.pixels.withUnsafeBufferPointer { px in
            luma.withUnsafeMutableBufferPointer { L in
                crg.withUnsafeMutableBufferPointer { CA in
                    cyb.withUnsafeMutableBufferPointer { CB in
                        cellOf.withUnsafeBufferPointer { cell in
                            cellSums.withUnsafeMutableBufferPointer { S in
                                for f in 0..<t {
                                    for k in 0..<64 { S[k] = 0 }
                                    let base = f * n * 3, o = f * n
                                    for i in 0..<n {
                                        let r = Float(px[base + 3 * i]), g = Float(px[base + 3 * i + 1]), b = Float(px[base + 3 * i + 2])
                                        let l = 0.299 * r + 0.587 * g + 0.114 * b
                                        L[o + i] = l
                                        CA[o + i] = r - g
                                        CB[o + i] = b - 0.5 * (r + g)
                                        let c = 4 * cell[i]
                                        S[c] += r; S[c + 1] += g; S[c + 2] += b; S[c + 3] += l
                                    }
                                    for c in 0..<16 {
                                        rgbSum[c * 3] += Double(S[4 * c]); rgbSum[c * 3 + 1] += Double(S[4 * c + 1])
                                        rgbSum[c * 3 + 2] += Double(S[4 * c + 2])
                                        if f < half || t == 1 { halfA[c] += Double(S[4 * c + 3]) } else { halfB[c] += Double(S[4 * c + 3]) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..<16 {
            for k in 0..<3 { out[c * 3 + k] = rgbSum[c * 3 + k] / (cellCount[c] * Double(t) * 255) }
            let a = halfA[c] / (cellCount[c] * Double(max(half, 1)))
            let b = t >= 2 ? halfB[c] / (cellCount[c] * Double(t - half)) : a
            out[48 + c] = (b - a) / 255
        }
        // Texture and sharpness.
        var e1 = 0.0, e2 = 0.0, e4 = 0.0, lap = 0.0, chroma = 0.0
        let w2 = w / 2, h2 = h / 2, w4 = w / 4, h4 = h / 4
        var down2 = [Float](repeating: 0, count: w2 * h2 * t)
        var down4 = [Float](repeating: 0, count: w4 * h4 * t)
        luma.withUnsafeBufferPointer { L in
            down2.withUnsafeMutableBufferPointer { D2 in
                down4.withUnsafeMutableBufferPointer { D4 in
                    for f in 0..<t {
                        let o = f * n
                        e1 += diffEnergy(L.baseAddress! + o, w, h)
                        lap += laplacianEnergy(L.baseAddress! + o, w, h)
                        for y in 0..<h2 {
                            for x in 0..<w2 {
                                let i = o + 2 * y * w + 2 * x
                                D2[f * w2 * h2 + y * w2 + x] = 0.25 * (L[i] + L[i + 1] + L[i + w] + L[i + w + 1])
                            }
                        }
                        let o2 = f * w2 * h2
                        e2 += diffEnergy(D2.baseAddress! + o2, w2, h2)
                        for y in 0..<h4 {
                            for x in 0..<w4 {
                                let i = o2 + 2 * y * w2 + 2 * x
                                D4[f * w4 * h4 + y * w4 + x] = 0.25 * (D2[i] + D2[i + 1] + D2[i + w2] + D2[i + w2 + 1])
                            }
                        }
                        e4 += diffEnergy(D4.baseAddress! + f * w4 * h4, w4, h4)
                    }
                }
            }
        }
        crg.withUnsafeBufferPointer { CA in
            cyb.withUnsafeBufferPointer { CB in
                for f in 0..<t {
                    chroma += diffEnergy(CA.baseAddress! + f * n, w, h) + diffEnergy(CB.baseAddress! + f * n, w, h)
                }
            }
        }
        let ft = Double(t)
        e1 /= ft; e2 /= ft; e4 /= ft; lap /= ft; chroma /= ft
        out[64] = log(1 + e1)
        out[65] = log(1 + e2)
        out[66] = log(1 + e4)
        out[67] = log(1 + lap)
        out[68] = log(1 + 0.5 * chroma)
        out[69] = log(e1 + 1) - log(e4 + 1)
        // Motion.
        guard t >= 2 else { return out }
        var d1 = 0.0, d4 = 0.0, dFine = 0.0
        var cx = [Double](repeating: 0, count: 2), cyS = cx, cw = cx
        var diff = [Float](repeating: 0, count: n)
        luma.withUnsafeBufferPointer { L in
            down4.withUnsafeBufferPointer { D4 in
                diff.withUnsafeMutableBufferPointer { D in
                    for f in 0..<(t - 1) {
                        let a = f * n, b = (f + 1) * n
                        var s = 0.0
                        let part = f < (t - 1) / 2 ? 0 : 1
                        for y in 0..<h {
                            var rowS: Float = 0, rowX: Float = 0, rowC: Float = 0
                            for x in 0..<w {
                                let d = L[b + y * w + x] - L[a + y * w + x]
                                D[y * w + x] = d
                                let m = abs(d)
                                rowS += m
                                // Only changes above 6 grey levels place the centroid (noise does not).
                                let c = m > 6 ? m : 0
                                rowC += c
                                rowX += c * Float(x)
                            }
                            s += Double(rowS)
                            cx[part] += Double(rowX)
                            cyS[part] += Double(rowC) * Double(y)
                            cw[part] += Double(rowC)
                        }
                        d1 += s / Double(n)
                        dFine += diffEnergy(D.baseAddress!, w, h)
                        let q = w4 * h4
                        if q > 0 {
                            var s4: Float = 0
                            for i in 0..<q { s4 += abs(D4[(f + 1) * q + i] - D4[f * q + i]) }
                            d4 += Double(s4) / Double(q)
                        }
                    }
                }
            }
        }
        let pairs = Double(t - 1)
        out[70] = log(1 + d1 / pairs)
        out[71] = log(1 + d4 / pairs)
        out[72] = log(1 + dFine / pairs)
        let q = w4 * h4
        if q > 0 {
            let quarter = max(1, t / 4)
            var s = 0.0
            down4.withUnsafeBufferPointer { D4 in
                for i in 0..<q {
                    var a: Float = 0, b: Float = 0
                    for f in 0..<quarter { a += D4[f * q + i]; b += D4[(t - 1 - f) * q + i] }
                    s += Double(abs(b - a)) / Double(quarter)
                }
            }
            out[73] = log(1 + s / Double(q))
        }
        // Centroid of change: where the first half's changes were against the second half's.
        if cw[0] > 1e-6 && cw[1] > 1e-6 {
            out[74] = (cx[1] / cw[1] - cx[0] / cw[0]) / Double(w)
            out[75] = (cyS[1] / cw[1] - cyS[0] / cw[0]) / Double(h)
        }
        return out
    }

    /// Mean squared one-pixel difference over both axes of a w×h plane.
    @inline(__always)
    static func diffEnergy(_ p: UnsafePointer<Float>, _ w: Int, _ h: Int) -> Double {
        guard w >= 2, h >= 2 else { return 0 }
        var s: Float = 0
        for y in 0..<h {
            let row = p + y * w
            for x in 0..<(w - 1) { let d = row[x + 1] - row[x]; s += d * d }
            if y + 1 < h {
                let next = p + (y + 1) * w
                for x in 0..<w { let d = next[x] - row[x]; s += d * d }
            }
        }
        return Double(s) / Double((w - 1) * h + w * (h - 1))
    }

    /// Mean squared 4-neighbour Laplacian over the interior of a w×h plane.
    @inline(__always)
    static func laplacianEnergy(_ p: UnsafePointer<Float>, _ w: Int, _ h: Int) -> Double {
        guard w >= 3, h >= 3 else { return 0 }
        var s: Float = 0
        for y in 1..<(h - 1) {
            let row = p + y * w
            for x in 1..<(w - 1) {
                let v = 4 * row[x] - row[x - 1] - row[x + 1] - row[x - w] - row[x + w]
                s += v * v
            }
        }
        return Double(s) / Double((w - 2) * (h - 2))
    }
}
