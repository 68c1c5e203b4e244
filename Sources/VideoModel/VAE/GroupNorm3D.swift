import TensorCore

/// `nn.GroupNorm` over one video's frame batch: each group's mean and (biased) variance are taken over
/// its C/G channels and every frame, row and column of the batch, then the per-channel affine applies.
/// Statistics are accumulated in Float64 (two passes), so the chunk size never degrades them.
/// `silu` fuses the SiLU that follows every norm in the VAE.
struct GroupNorm3D {
    let channels: Int
    let groups: Int
    let eps: Double
    let gamma: FloatBuffer
    let beta: FloatBuffer

    /// Per-channel (scale, shift) with norm(x)·γ + β = x·scale + shift.
    func affine(_ x: FrameTensor) -> (scale: [Float], shift: [Float]) {
        let cpg = channels / groups
        let block = cpg * x.plane
        let n = Double(block * x.frames)
        var mean = [Double](repeating: 0, count: groups), rstd = [Double](repeating: 0, count: groups)
        let xp = SendablePointer(x.p)
        mean.withUnsafeMutableBufferPointer { mb in
            rstd.withUnsafeMutableBufferPointer { rb in
                let mp = SendablePointer(mb.baseAddress!), rp = SendablePointer(rb.baseAddress!)
                parallelFor(groups) { g in
                    var s = 0.0
                    for t in 0..<x.frames {
                        let p = xp.p + t * x.frameSize + g * block
                        s += Self.sum(p, block)
                    }
                    let m = s / n
                    var q = 0.0
                    for t in 0..<x.frames {
                        let p = xp.p + t * x.frameSize + g * block
                        q += Self.squaredDeviation(p, block, Float(m))
                    }
                    // Var about the Float mean, corrected to the exact mean: E[(x-mf)^2] - (m-mf)^2.
                    let d = m - Double(Float(m))
                    let v = max(0, q / n - d * d)
                    mp[g] = m
                    rp[g] = 1 / (v + eps).squareRoot()
                }
            }
        }
        var scale = [Float](repeating: 0, count: channels), shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let g = c / cpg
            let s = Double(gamma[c]) * rstd[g]
            scale[c] = Float(s)
            shift[c] = Float(Double(beta[c]) - mean[g] * s)
        }
        return (scale, shift)
    }

    /// dst = [silu](norm(x)); `dst` may be `x` itself.
    func apply(_ x: FrameTensor, into dst: FrameTensor, silu: Bool) {
        let (scale, shift) = affine(x)
        let xp = SendablePointer(x.p), dp = SendablePointer(dst.p)
        let plane = x.plane
        parallelFor(x.frames * channels) { i in
            let src = xp.p + i * plane, out = dp.p + i * plane
            let a = scale[i % channels], b = shift[i % channels]
            if silu {
                for j in 0..<plane { out[j] = Self.silu(src[j] * a + b) }
            } else {
                for j in 0..<plane { out[j] = src[j] * a + b }
            }
        }
    }

    @inline(__always) static func silu(_ v: Float) -> Float { v / (1 + FastMath.exp(-v)) }

    /// Σ p[0..<n] in Float64 (Float partial sums over short runs).
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0, i = 0
        while i < n {
            let e = min(n, i + 512)
            var acc = SIMD8<Float>(repeating: 0)
            var j = i
            while j + 8 <= e { acc += FastMath.load(p + j); j += 8 }
            var r = acc.sum()
            while j < e { r += p[j]; j += 1 }
            total += Double(r)
            i = e
        }
        return total
    }

    /// Σ (p[i] - m)^2 in Float64 (Float partial sums over short runs).
    static func squaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, _ m: Float) -> Double {
        var total = 0.0, i = 0
        let mv = SIMD8<Float>(repeating: m)
        while i < n {
            let e = min(n, i + 512)
            var acc = SIMD8<Float>(repeating: 0)
            var j = i
            while j + 8 <= e { let d = FastMath.load(p + j) - mv; acc += d * d; j += 8 }
            var r = acc.sum()
            while j < e { let d = p[j] - m; r += d * d; j += 1 }
            total += Double(r)
            i = e
        }
        return total
    }
}

/// Mirrors diffusers' `CogVideoXSpatialNorm3D` (the decoder's norms, conditioned on the latent):
/// `GroupNorm(f) · conv_y(zq) + conv_b(zq)` with zq, the latent frame batch given to that decoder call,
/// resized (nearest) to f's (T, H, W); when T > 1 is odd, zq frame 0 goes to f frame 0 and zq frames 1...
/// are resized to f frames 1... separately. The 1x1x1 convs commute with nearest resizing, so they run
/// at the latent's size and are looked up per output position: the enlarged zq is never stored.
struct SpatialNorm3D {
    let norm: GroupNorm3D
    let convY: PointwiseConv3d
    let convB: PointwiseConv3d

    /// PyTorch's legacy "nearest" source index: min(floor(dst · (in/out)), in − 1), in Float.
    static func nearestIndex(_ dst: Int, input: Int, output: Int) -> Int {
        let scale = Float(input) / Float(output)
        return min(Int((Float(dst) * scale).rounded(.down)), input - 1)
    }

    /// The zq frame that f frame `t` reads (of `Tz` zq frames for `T` f frames).
    static func latentFrame(_ t: Int, latentFrames tz: Int, frames T: Int) -> Int {
        if T > 1 && T % 2 == 1 {
            if t == 0 || tz <= 1 { return 0 }
            return 1 + nearestIndex(t - 1, input: tz - 1, output: T - 1)
        }
        return nearestIndex(t, input: tz, output: T)
    }

    /// dst = [silu](norm(f)·conv_y(zq)↑ + conv_b(zq)↑); `dst` may be `f`.
    func apply(_ f: FrameTensor, zq: FrameTensor, into dst: FrameTensor, silu: Bool) {
        let (scale, shift) = norm.affine(f)
        let zy = convY.forward(zq), zb = convB.forward(zq)
        let C = f.channels, H = f.height, W = f.width, h = zq.height, w = zq.width
        let tmap = (0..<f.frames).map { Self.latentFrame($0, latentFrames: zq.frames, frames: f.frames) }
        let ymap = (0..<H).map { Self.nearestIndex($0, input: h, output: H) }
        let xmap = (0..<W).map { Self.nearestIndex($0, input: w, output: W) }
        let fp = SendablePointer(f.p), dp = SendablePointer(dst.p)
        let yp = SendablePointer(zy.p), bp = SendablePointer(zb.p)
        let plane = f.plane, zplane = h * w
        parallelFor(f.frames * C) { i in
            let t = i / C, c = i % C
            let src = fp.p + i * plane, out = dp.p + i * plane
            let zoff = (tmap[t] * C + c) * zplane
            let a = scale[c], b = shift[c]
            xmap.withUnsafeBufferPointer { xm in
                for y in 0..<H {
                    let yrow = yp.p + zoff + ymap[y] * w, brow = bp.p + zoff + ymap[y] * w
                    let s = src + y * W, o = out + y * W
                    if silu {
                        for x in 0..<W {
                            let sx = xm[x]
                            o[x] = GroupNorm3D.silu((s[x] * a + b) * yrow[sx] + brow[sx])
                        }
                    } else {
                        for x in 0..<W {
                            let sx = xm[x]
                            o[x] = (s[x] * a + b) * yrow[sx] + brow[sx]
                        }
                    }
                }
            }
        }
    }
}
