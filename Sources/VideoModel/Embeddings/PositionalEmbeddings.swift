import Foundation

/// Position and time tables of CogVideoX, computed as diffusers computes them (cogvideox.md §2.1–2.4).
public enum PositionalEmbeddings {
    /// `get_timestep_embedding` in float32: [cos | sin] when flipSinToCos, frequencies
    /// exp(−ln(10000)·i/(half − shift)). Returns [timesteps.count, dim].
    public static func timestep(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, freqShift: Int) -> [Float] {
        let half = dim / 2
        var freqs = [Float](repeating: 0, count: half)
        let c = Float(-Foundation.log(10000.0))
        for i in 0..<half { freqs[i] = expf(c * Float(i) / Float(half - freqShift)) }
        var out = [Float](repeating: 0, count: timesteps.count * dim)
        for (b, t) in timesteps.enumerated() {
            for i in 0..<half {
                let a = t * freqs[i]
                let s = sinf(a), co = cosf(a)
                out[b * dim + i] = flipSinToCos ? co : s
                out[b * dim + half + i] = flipSinToCos ? s : co
            }
        }
        return out
    }

    /// `get_1d_sincos_pos_embed_from_grid`: [sin(p·ω) | cos(p·ω)], ω_k = 10000^(−k/(d/2)), in Double.
    static func sincos1D(_ dim: Int, _ pos: Double, into out: UnsafeMutablePointer<Float>) {
        let half = dim / 2
        for k in 0..<half {
            let omega = 1.0 / Foundation.pow(10000.0, Double(k) / Double(half))
            let a = pos * omega
            out[k] = Float(Foundation.sin(a))
            out[half + k] = Float(Foundation.cos(a))
        }
    }

    /// The 2B 3D sincos table for the video tokens, [frames·gridH·gridW, dim] in token order (f, h, w):
    /// channels [t: dim/4 | w: 3dim/8 | h: 3dim/8]. Positions are float32 `i/scale`, trig in Double.
    public static func sincos3D(dim: Int, frames: Int, gridH: Int, gridW: Int,
                                spatialScale: Double, temporalScale: Double) -> [Float] {
        let dt = dim / 4, ds = dim * 3 / 4, dh = ds / 2
        var out = [Float](repeating: 0, count: frames * gridH * gridW * dim)
        out.withUnsafeMutableBufferPointer { o in
            for f in 0..<frames {
                let pt = Double(Float(f) / Float(temporalScale))
                for h in 0..<gridH {
                    let ph = Double(Float(h) / Float(spatialScale))
                    for w in 0..<gridW {
                        let pw = Double(Float(w) / Float(spatialScale))
                        let row = o.baseAddress! + ((f * gridH + h) * gridW + w) * dim
                        sincos1D(dt, pt, into: row)
                        sincos1D(dh, pw, into: row + dt)
                        sincos1D(dh, ph, into: row + dt + dh)
                    }
                }
            }
        }
        return out
    }

    /// `get_resize_crop_region_for_grid`: the crop of the base grid that a (h, w) grid is stretched over.
    public static func resizeCropRegion(gridH: Int, gridW: Int, baseW: Int, baseH: Int) -> (top: Double, left: Double, bottom: Double, right: Double) {
        let r = Double(gridH) / Double(gridW)
        var rh: Int, rw: Int
        if r > Double(baseH) / Double(baseW) {
            rh = baseH
            rw = Int((Double(baseH) / Double(gridH) * Double(gridW)).rounded(.toNearestOrEven))
        } else {
            rw = baseW
            rh = Int((Double(baseW) / Double(gridW) * Double(gridH)).rounded(.toNearestOrEven))
        }
        let top = Int((Double(baseH - rh) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(baseW - rw) / 2).rounded(.toNearestOrEven))
        return (Double(top), Double(left), Double(top + rh), Double(left + rw))
    }

    /// `torch.linspace(start, end, steps)` in float32 (diffusers' RoPE grids).
    static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        if steps == 1 { return [start] }
        let step = (end - start) / Float(steps - 1)
        // torch fills the first half from start and the second half from end, for symmetry.
        let halfway = steps / 2
        return (0..<steps).map { i in i < halfway ? start + step * Float(i) : end - step * Float(steps - 1 - i) }
    }

    /// The 5B 3D RoPE tables as the pipeline builds them (`_prepare_rotary_positional_embeddings` with
    /// grid_type "linspace"): (cos, sin), each [frames·gridH·gridW, headDim], channels [t | h | w],
    /// every frequency repeated twice (interleaved pairs).
    public static func rope3D(headDim: Int, frames: Int, gridH: Int, gridW: Int, baseH: Int, baseW: Int,
                              theta: Double = 10000) -> (cos: [Float], sin: [Float]) {
        let crop = resizeCropRegion(gridH: gridH, gridW: gridW, baseW: baseW, baseH: baseH)
        let gh = linspace(Float(crop.top), Float(crop.bottom) * Float(gridH - 1) / Float(gridH), gridH)
        let gw = linspace(Float(crop.left), Float(crop.right) * Float(gridW - 1) / Float(gridW), gridW)
        let gt = linspace(0, Float(frames) * Float(frames - 1) / Float(frames), frames)
        let dt = headDim / 4, dh = headDim / 8 * 3, dw = headDim / 8 * 3
        func freqs(_ d: Int) -> [Float] {
            (0..<(d / 2)).map { j in Float(1.0 / Foundation.pow(theta, Double(Float(2 * j) / Float(d)))) }
        }
        let ft = freqs(dt), fh = freqs(dh), fw = freqs(dw)
        let n = frames * gridH * gridW
        var c = [Float](repeating: 0, count: n * headDim), s = c
        for f in 0..<frames {
            for h in 0..<gridH {
                for w in 0..<gridW {
                    let base = ((f * gridH + h) * gridW + w) * headDim
                    var o = 0
                    for (pos, fr) in [(gt[f], ft), (gh[h], fh), (gw[w], fw)] {
                        for j in 0..<fr.count {
                            let a = pos * fr[j]
                            let cv = cosf(a), sv = sinf(a)
                            c[base + o + 2 * j] = cv
                            c[base + o + 2 * j + 1] = cv
                            s[base + o + 2 * j] = sv
                            s[base + o + 2 * j + 1] = sv
                        }
                        o += 2 * fr.count
                    }
                }
            }
        }
        return (c, s)
    }
}
