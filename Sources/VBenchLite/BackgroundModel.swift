/// A per-frame robust background model: one linear colour ramp (a + b·x + c·y per channel) plus a
/// residual scale, fitted first to the frame's border ring, then to every pixel that agrees with it.
///
/// This is the border-colour model of docs/vbench.md §4 (colour and spatial rows), made robust so that
/// plain, gradient and softly textured backgrounds all work: the ramp absorbs gradients, the residual
/// scale absorbs soft texture, and iterative refitting ignores objects (including ones touching the
/// border). It also describes the background for the scene and overall-consistency checks.
struct BackgroundModel {
    let width: Int
    let height: Int
    /// Per channel: (a, b, c) with coordinates centred on the frame and scaled to [-1, 1].
    var coefficients: [(Float, Float, Float)]
    /// Robust scale (1.4826·MAD) of the inliers' L1 RGB residual.
    var sigma: Float
    /// Fraction of pixels explained by the model.
    var inlierFraction: Float

    @inline(__always) func value(_ c: Int, _ x: Int, _ y: Int) -> Float {
        let u = (Float(x) - Float(width - 1) / 2) / max(1, Float(width - 1) / 2)
        let v = (Float(y) - Float(height - 1) / 2) / max(1, Float(height - 1) / 2)
        let k = coefficients[c]
        return k.0 + k.1 * u + k.2 * v
    }

    /// Mean colour of the ramp (its centre).
    var meanColor: (Float, Float, Float) { (coefficients[0].0, coefficients[1].0, coefficients[2].0) }

    /// Colour difference across the frame (L1 over channels, corner to corner of the ramp).
    var rampStrength: Float {
        coefficients.reduce(0) { $0 + 2 * (abs($1.1) + abs($1.2)) }
    }

    /// Fits the model to an unpadded frame.
    static func fit(_ f: FramePlanes) -> BackgroundModel {
        let w = f.width, h = f.height, n = w * h
        var weights = [Float](repeating: 0, count: n)
        let ring = max(1, min(w, h) / 16)
        for y in 0..<h {
            for x in 0..<w where x < ring || y < ring || x >= w - ring || y >= h - ring {
                weights[y * w + x] = 1
            }
        }
        var model = BackgroundModel(width: w, height: h, coefficients: [(0, 0, 0), (0, 0, 0), (0, 0, 0)],
                                    sigma: 0, inlierFraction: 0)
        var residual = [Float](repeating: 0, count: n)
        for iteration in 0..<4 {
            model.coefficients = (0..<3).map { c in Self.solve(f, c, weights) }
            f.data.withUnsafeBufferPointer { p in
                for y in 0..<h {
                    for x in 0..<w {
                        let i = y * w + x
                        residual[i] = abs(p[i] - model.value(0, x, y)) + abs(p[n + i] - model.value(1, x, y))
                            + abs(p[2 * n + i] - model.value(2, x, y))
                    }
                }
            }
            // Scale from the currently weighted pixels: the median residual, from a histogram (residuals
            // are L1 RGB distances in 0...765, so unit bins are exact enough and O(n)).
            var hist = [Int](repeating: 0, count: 768)
            var used = 0
            for i in 0..<n where weights[i] > 0 {
                hist[min(767, Int(residual[i]))] += 1
                used += 1
            }
            var mad: Float = 0
            if used > 0 {
                var acc = 0
                for (b, c) in hist.enumerated() {
                    acc += c
                    if 2 * acc >= used { mad = Float(b) + 0.5; break }
                }
            }
            model.sigma = max(2, 1.4826 * mad)
            let cut = max(24, 3.5 * model.sigma)
            var inliers = 0
            for i in 0..<n {
                let keep = residual[i] <= cut
                if keep { inliers += 1 }
                // The first fit uses only the ring; later ones every agreeing pixel, so that the ramp
                // is measured across the whole frame.
                if iteration == 0 {
                    let x = i % w, y = i / w
                    let onRing = x < ring || y < ring || x >= w - ring || y >= h - ring
                    weights[i] = keep && onRing ? 1 : 0
                } else {
                    weights[i] = keep ? 1 : 0
                }
            }
            model.inlierFraction = Float(inliers) / Float(n)
        }
        return model
    }

    /// Weighted least squares of channel c on (1, u, v).
    private static func solve(_ f: FramePlanes, _ c: Int, _ wts: [Float]) -> (Float, Float, Float) {
        let w = f.width, h = f.height, n = w * h
        var s00 = 0.0, s01 = 0.0, s02 = 0.0, s11 = 0.0, s12 = 0.0, s22 = 0.0
        var r0 = 0.0, r1 = 0.0, r2 = 0.0
        for y in 0..<h {
            let v = (Double(y) - Double(h - 1) / 2) / max(1, Double(h - 1) / 2)
            for x in 0..<w {
                let wt = Double(wts[y * w + x])
                guard wt > 0 else { continue }
                let u = (Double(x) - Double(w - 1) / 2) / max(1, Double(w - 1) / 2)
                let val = Double(f.data[c * n + y * w + x])
                s00 += wt; s01 += wt * u; s02 += wt * v; s11 += wt * u * u; s12 += wt * u * v; s22 += wt * v * v
                r0 += wt * val; r1 += wt * u * val; r2 += wt * v * val
            }
        }
        guard let sol = solve3([s00, s01, s02, s01, s11, s12, s02, s12, s22], [r0, r1, r2]) else {
            return (Float(s00 > 0 ? r0 / s00 : 0), 0, 0)
        }
        return (Float(sol[0]), Float(sol[1]), Float(sol[2]))
    }
}

/// Solves a 3x3 linear system (row-major) by Gaussian elimination with partial pivoting.
func solve3(_ m: [Double], _ rhs: [Double]) -> [Double]? {
    var a = m, b = rhs
    for col in 0..<3 {
        var piv = col
        for r in col..<3 where abs(a[r * 3 + col]) > abs(a[piv * 3 + col]) { piv = r }
        guard abs(a[piv * 3 + col]) > 1e-9 else { return nil }
        if piv != col {
            for k in 0..<3 { a.swapAt(col * 3 + k, piv * 3 + k) }
            b.swapAt(col, piv)
        }
        for r in 0..<3 where r != col {
            let f = a[r * 3 + col] / a[col * 3 + col]
            for k in 0..<3 { a[r * 3 + k] -= f * a[col * 3 + k] }
            b[r] -= f * b[col]
        }
    }
    return (0..<3).map { b[$0] / a[$0 * 3 + $0] }
}
