/// A motion-compensated frame interpolator for t = 0.5, VBenchLite's stand-in for AMT-S in VBench's
/// motion smoothness (docs/vbench.md §4, predictor (b)).
///
/// 1. Bilateral block matching (`MotionSearch`, `.bilateral`): every pixel p of the missing frame picks
///    the displacement d for which `a(p - d/2)` matches `b(p + d/2)` best over a 5x5 window, with
///    half-pixel reads where d is odd. This warps both frames to the midpoint without holes.
/// 2. Where the two warped samples agree, the prediction is their average.
/// 3. Occlusion fallback: where they disagree (an object uncovers or covers background, or the match
///    failed) the average would ghost. The pixel then takes whichever of the two frames, read along the
///    frame's dominant (background) vector, agrees best with the reliable background-vector pixels
///    around it: in a covered or uncovered region the background is what is visible at t = 0.5, and it
///    is visible in exactly one of the two frames.
struct MidpointInterpolator {
    var radius: Int

    init(width: Int, height: Int) {
        // Two frame intervals of motion: up to a sixth of the short side (5 px per frame at 64x64).
        radius = max(4, min(width, height) / 6)
    }

    /// The predicted middle frame, 8-bit interleaved RGB (rounded and clamped as VBench's tensor2img).
    func interpolate(_ a: FramePlanes, _ b: FramePlanes) -> [UInt8] {
        let w = a.width, h = a.height, n = w * h
        let search = MotionSearch(radius: radius, mode: .bilateral, windowRadius: 2, penalty: 2)
        let field = search.run(a, b)
        let ua = a.unpadded(), ub = b.unpadded()
        var predicted = [Float](repeating: 0, count: 3 * n)
        var residual = [Float](repeating: 0, count: n)
        ua.data.withUnsafeBufferPointer { pa in
            ub.data.withUnsafeBufferPointer { pb in
                for y in 0..<h {
                    for x in 0..<w {
                        let i = y * w + x
                        let dx = Int(field.ix[i]), dy = Int(field.iy[i])
                        var r: Float = 0
                        for c in 0..<3 {
                            let sa = Self.sampleHalf(pa, c, w, h, 2 * x - dx, 2 * y - dy)
                            let sb = Self.sampleHalf(pb, c, w, h, 2 * x + dx, 2 * y + dy)
                            predicted[c * n + i] = 0.5 * (sa + sb)
                            r += abs(sa - sb)
                        }
                        residual[i] = r
                    }
                }
                // Reliability threshold: well above the typical matched residual (noise), and above
                // anti-aliasing differences.
                let sorted = residual.sorted()
                let median = sorted[n / 2]
                let tau = max(48, 3 * median)
                // Dominant vector among reliable pixels.
                var counts: [Int: Int] = [:]
                for i in 0..<n where residual[i] <= tau {
                    counts[Int(field.ix[i] + 64) * 256 + Int(field.iy[i] + 64), default: 0] += 1
                }
                guard let dominant = counts.max(by: { $0.value < $1.value })?.key else { return }
                let bx = dominant / 256 - 64, by = dominant % 256 - 64
                let rad = 3
                for y in 0..<h {
                    for x in 0..<w {
                        let i = y * w + x
                        guard residual[i] > tau else { continue }
                        var ref: (Float, Float, Float) = (0, 0, 0)
                        var count: Float = 0
                        for yy in max(0, y - rad)...min(h - 1, y + rad) {
                            for xx in max(0, x - rad)...min(w - 1, x + rad) {
                                let j = yy * w + xx
                                guard residual[j] <= tau, Int(field.ix[j]) == bx, Int(field.iy[j]) == by else { continue }
                                ref.0 += predicted[j]; ref.1 += predicted[n + j]; ref.2 += predicted[2 * n + j]
                                count += 1
                            }
                        }
                        guard count > 0 else { continue }
                        ref = (ref.0 / count, ref.1 / count, ref.2 / count)
                        var sa: (Float, Float, Float) = (0, 0, 0), sb: (Float, Float, Float) = (0, 0, 0)
                        sa.0 = Self.sampleHalf(pa, 0, w, h, 2 * x - bx, 2 * y - by)
                        sa.1 = Self.sampleHalf(pa, 1, w, h, 2 * x - bx, 2 * y - by)
                        sa.2 = Self.sampleHalf(pa, 2, w, h, 2 * x - bx, 2 * y - by)
                        sb.0 = Self.sampleHalf(pb, 0, w, h, 2 * x + bx, 2 * y + by)
                        sb.1 = Self.sampleHalf(pb, 1, w, h, 2 * x + bx, 2 * y + by)
                        sb.2 = Self.sampleHalf(pb, 2, w, h, 2 * x + bx, 2 * y + by)
                        let da = abs(sa.0 - ref.0) + abs(sa.1 - ref.1) + abs(sa.2 - ref.2)
                        let db = abs(sb.0 - ref.0) + abs(sb.1 - ref.1) + abs(sb.2 - ref.2)
                        let s = da <= db ? sa : sb
                        predicted[i] = s.0; predicted[n + i] = s.1; predicted[2 * n + i] = s.2
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: 3 * n)
        for i in 0..<n {
            for c in 0..<3 {
                out[i * 3 + c] = UInt8(max(0, min(255, predicted[c * n + i].rounded())))
            }
        }
        return out
    }

    /// Plane `c` of an unpadded picture at (x2/2, y2/2): coordinates in half pixels, borders clamped.
    @inline(__always)
    static func sampleHalf(_ p: UnsafeBufferPointer<Float>, _ c: Int, _ w: Int, _ h: Int, _ x2: Int, _ y2: Int) -> Float {
        let base = c * w * h
        let x0 = x2 >= 0 ? x2 / 2 : -((-x2 + 1) / 2)
        let y0 = y2 >= 0 ? y2 / 2 : -((-y2 + 1) / 2)
        let hx = x2 - 2 * x0 == 1, hy = y2 - 2 * y0 == 1
        let xa = min(max(x0, 0), w - 1), ya = min(max(y0, 0), h - 1)
        let xb = hx ? min(max(x0 + 1, 0), w - 1) : xa
        let yb = hy ? min(max(y0 + 1, 0), h - 1) : ya
        return 0.25 * (p[base + ya * w + xa] + p[base + ya * w + xb] + p[base + yb * w + xa] + p[base + yb * w + xb])
    }
}
