import Foundation
@testable import VideoModel

/// An independent, deliberately naive Float64 transformer written straight from cogvideox.md
/// (per-token loops, weights looked up by diffusers name, no shared kernels). The Swift model must
/// agree with it on shapes the fixtures do not cover.
struct NaiveCogVideoX {
    let cfg: CogVideoXConfig
    let w: [String: [Double]]

    init(_ model: CogVideoXTransformer) {
        cfg = model.config
        var d: [String: [Double]] = [:]
        for e in model.layout.entries {
            d[e.name] = (0..<e.count).map { Double(model.parameters[e.offset + $0]) }
        }
        w = d
    }

    func linear(_ x: [Double], _ name: String, out: Int) -> [Double] {
        let W = w[name + ".weight"]!, b = w[name + ".bias"]!
        let inp = x.count
        return (0..<out).map { o in (0..<inp).reduce(b[o]) { $0 + W[o * inp + $1] * x[$1] } }
    }

    func layerNorm(_ x: [Double], _ wt: [Double], _ b: [Double], eps: Double) -> [Double] {
        let mu = x.reduce(0, +) / Double(x.count)
        let v = x.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(x.count)
        return x.indices.map { (x[$0] - mu) / (v + eps).squareRoot() * wt[$0] + b[$0] }
    }

    func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }
    func gelu(_ x: Double) -> Double { 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) }

    /// One sample: hidden [F, C, H, W], text [L, Dt], timestep t → [F, Cout, H, W].
    func forward(hidden: [Double], f F: Int, h H: Int, w W: Int, text: [Double], l L: Int, t: Double) -> [Double] {
        let C = cfg.inChannels, p = cfg.patchSize, D = cfg.innerDim, nh = cfg.numAttentionHeads, hd = cfg.attentionHeadDim
        let Hp = H / p, Wp = W / p, N = F * Hp * Wp, Dt = cfg.textEmbedDim
        // Timestep sinusoid: [cos | sin], exponent −ln(10000)·i/half.
        let half = D / 2
        var temb = [Double](repeating: 0, count: D)
        for i in 0..<half {
            let a = t * exp(-log(10000.0) * Double(i) / Double(half))
            temb[i] = cos(a)
            temb[half + i] = sin(a)
        }
        let emb = linear(linear(temb, "time_embedding.linear_1", out: cfg.timeEmbedDim).map(silu),
                         "time_embedding.linear_2", out: cfg.timeEmbedDim)
        let semb = emb.map(silu)
        // Tokens: text first, then video (f, h, w).
        var tokens: [[Double]] = (0..<L).map { linear(Array(text[($0 * Dt)..<(($0 + 1) * Dt)]), "patch_embed.text_proj", out: D) }
        for f in 0..<F { for hh in 0..<Hp { for ww in 0..<Wp {
            var patch: [Double] = []
            for c in 0..<C { for ky in 0..<p { for kx in 0..<p {
                patch.append(hidden[((f * C + c) * H + hh * p + ky) * W + ww * p + kx])
            } } }
            var tok = linear(patch, "patch_embed.proj", out: D)
            if !cfg.useRotaryPositionalEmbeddings {
                // [t: D/4 | w: 3D/8 | h: 3D/8], sin block then cos block, positions /1.875 for space.
                func sc(_ dim: Int, _ pos: Double) -> [Double] {
                    let k = dim / 2
                    let om = (0..<k).map { 1 / pow(10000.0, Double($0) / Double(k)) }
                    return om.map { sin(pos * $0) } + om.map { cos(pos * $0) }
                }
                let pe = sc(D / 4, Double(f) / cfg.temporalInterpolationScale)
                    + sc(D * 3 / 8, Double(ww) / cfg.spatialInterpolationScale)
                    + sc(D * 3 / 8, Double(hh) / cfg.spatialInterpolationScale)
                tok = zip(tok, pe).map { $0 + $1 }
            }
            tokens.append(tok)
        } } }
        // RoPE angles per video token and head channel (pairs share an angle).
        var angle: [[Double]] = []
        if cfg.useRotaryPositionalEmbeddings {
            let crop = PositionalEmbeddings.resizeCropRegion(gridH: Hp, gridW: Wp, baseW: cfg.sampleWidth / p, baseH: cfg.sampleHeight / p)
            func lin(_ a: Double, _ b: Double, _ n: Int) -> [Double] { n == 1 ? [a] : (0..<n).map { a + (b - a) * Double($0) / Double(n - 1) } }
            let gh = lin(crop.top, crop.bottom * Double(Hp - 1) / Double(Hp), Hp)
            let gw = lin(crop.left, crop.right * Double(Wp - 1) / Double(Wp), Wp)
            let dt = hd / 4, dh = hd / 8 * 3
            for f in 0..<F { for hh in 0..<Hp { for ww in 0..<Wp {
                var a: [Double] = []
                for (pos, d) in [(Double(f), dt), (gh[hh], dh), (gw[ww], dh)] {
                    for j in 0..<(d / 2) { let th = pos / pow(10000.0, Double(2 * j) / Double(d)); a += [th, th] }
                }
                angle.append(a)
            } } }
        }
        let S = L + N
        for i in 0..<cfg.numLayers {
            let pre = "transformer_blocks.\(i)."
            let m1 = linear(semb, pre + "norm1.linear", out: 6 * D)
            func chunk(_ m: [Double], _ k: Int) -> [Double] { Array(m[(k * D)..<((k + 1) * D)]) }
            func modulated(_ name: String, _ m: [Double]) -> [[Double]] {
                (0..<S).map { s in
                    let ln = layerNorm(tokens[s], w[pre + name + ".norm.weight"]!, w[pre + name + ".norm.bias"]!, eps: cfg.normEps)
                    let (sh, sc) = s < L ? (chunk(m, 3), chunk(m, 4)) : (chunk(m, 0), chunk(m, 1))
                    return ln.indices.map { ln[$0] * (1 + sc[$0]) + sh[$0] }
                }
            }
            let n1 = modulated("norm1", m1)
            var q = n1.map { linear($0, pre + "attn1.to_q", out: D) }
            var k = n1.map { linear($0, pre + "attn1.to_k", out: D) }
            let v = n1.map { linear($0, pre + "attn1.to_v", out: D) }
            for s in 0..<S { for h in 0..<nh {
                let r = (h * hd)..<((h + 1) * hd)
                var qs = layerNorm(Array(q[s][r]), w[pre + "attn1.norm_q.weight"]!, w[pre + "attn1.norm_q.bias"]!, eps: 1e-6)
                var ks = layerNorm(Array(k[s][r]), w[pre + "attn1.norm_k.weight"]!, w[pre + "attn1.norm_k.bias"]!, eps: 1e-6)
                if cfg.useRotaryPositionalEmbeddings && s >= L {
                    let a = angle[s - L]
                    for j in stride(from: 0, to: hd, by: 2) {
                        (qs[j], qs[j + 1]) = (qs[j] * cos(a[j]) - qs[j + 1] * sin(a[j]), qs[j + 1] * cos(a[j]) + qs[j] * sin(a[j]))
                        (ks[j], ks[j + 1]) = (ks[j] * cos(a[j]) - ks[j + 1] * sin(a[j]), ks[j + 1] * cos(a[j]) + ks[j] * sin(a[j]))
                    }
                }
                q[s].replaceSubrange(r, with: qs)
                k[s].replaceSubrange(r, with: ks)
            } }
            var o = [[Double]](repeating: [Double](repeating: 0, count: D), count: S)
            for h in 0..<nh {
                let r = (h * hd)..<((h + 1) * hd)
                for s in 0..<S {
                    let sc = (0..<S).map { j in zip(q[s][r], k[j][r]).map { $0 * $1 }.reduce(0, +) / Double(hd).squareRoot() }
                    let mx = sc.max()!, e = sc.map { exp($0 - mx) }, z = e.reduce(0, +)
                    for c in r { o[s][c] = (0..<S).reduce(0) { $0 + e[$1] / z * v[$1][c] } }
                }
            }
            for s in 0..<S {
                let a = linear(o[s], pre + "attn1.to_out.0", out: D)
                let g = s < L ? chunk(m1, 5) : chunk(m1, 2)
                tokens[s] = tokens[s].indices.map { tokens[s][$0] + g[$0] * a[$0] }
            }
            let m2 = linear(semb, pre + "norm2.linear", out: 6 * D)
            let n2 = modulated("norm2", m2)
            for s in 0..<S {
                let ff = linear(linear(n2[s], pre + "ff.net.0.proj", out: 4 * D).map(gelu), pre + "ff.net.2", out: D)
                let g = s < L ? chunk(m2, 5) : chunk(m2, 2)
                tokens[s] = tokens[s].indices.map { tokens[s][$0] + g[$0] * ff[$0] }
            }
        }
        let mo = linear(semb, "norm_out.linear", out: 2 * D)
        let Cout = cfg.outChannels
        var out = [Double](repeating: 0, count: F * Cout * H * W)
        for n in 0..<N {
            let y = layerNorm(tokens[L + n], w["norm_final.weight"]!, w["norm_final.bias"]!, eps: cfg.normEps)
            let y2 = layerNorm(y, w["norm_out.norm.weight"]!, w["norm_out.norm.bias"]!, eps: cfg.normEps)
            let z = y2.indices.map { y2[$0] * (1 + mo[D + $0]) + mo[$0] }
            let tok = linear(z, "proj_out", out: p * p * Cout)
            let f = n / (Hp * Wp), hh = (n / Wp) % Hp, ww = n % Wp
            var j = 0
            for c in 0..<Cout { for py in 0..<p { for px in 0..<p {
                out[((f * Cout + c) * H + hh * p + py) * W + ww * p + px] = tok[j]
                j += 1
            } } }
        }
        return out
    }
}
