import TensorCore

/// Hands the VAE's modules their parameters by diffusers' names while they are built: either from a
/// safetensors file's tensors (any float dtype, widened to Float32) or, for benchmarks without a file,
/// seeded random values with PyTorch's default initialisation scale (conv weights and biases uniform in
/// ±1/sqrt(fan_in), norm weights 1 and biases 0). Missing, mis-shaped, non-finite and unexpected
/// tensors are collected and reported together by `finish`.
final class VAEWeightSource {
    private enum Mode {
        case tensors([String: SafeTensor])
        case random(RNG)
    }
    private var mode: Mode
    let source: String
    private var used = Set<String>()
    private var missing: [String] = []
    private var misshaped: [String] = []
    private var nonFinite: [String] = []
    /// Conv slots handed out so far (one per causal conv).
    private(set) var causalConvCount = 0
    private(set) var parameterCount = 0

    init(tensors: [String: SafeTensor], source: String) {
        mode = .tensors(tensors)
        self.source = source
    }

    init(seed: UInt64) {
        mode = .random(RNG(seed: seed))
        source = "random weights (seed \(seed))"
    }

    private func take(_ name: String, _ shape: [Int], fill: (inout RNG, Int) -> Float) -> FloatBuffer {
        let count = shape.reduce(1, *)
        parameterCount += count
        let buf = FloatBuffer(count: count)
        switch mode {
        case .tensors(let tensors):
            used.insert(name)
            guard let t = tensors[name] else { missing.append(name); return buf }
            guard t.shape == shape else { misshaped.append("\(name) is \(t.shape), expected \(shape)"); return buf }
            t.floats(into: UnsafeMutableBufferPointer(start: buf.p, count: count))
            for i in 0..<count where !buf.p[i].isFinite { nonFinite.append(name); break }
        case .random(var rng):
            for i in 0..<count { buf.p[i] = fill(&rng, i) }
            mode = .random(rng)
        }
        return buf
    }

    /// `prefix.weight` [Cout, Cin, (kt,) kh, kw] and `prefix.bias` [Cout]; `conv2d` drops kt from the shape.
    func conv(_ prefix: String, out: Int, in cin: Int, kt: Int, kh: Int, kw: Int, conv2d: Bool = false) -> ConvWeights {
        let fanIn = cin * kt * kh * kw
        let bound = Float(1 / Double(fanIn).squareRoot())
        let uniform: (inout RNG, Int) -> Float = { rng, _ in Float(rng.uniform() * 2 - 1) * bound }
        let shape = conv2d ? [out, cin, kh, kw] : [out, cin, kt, kh, kw]
        let w = take(prefix + ".weight", shape, fill: uniform)
        let b = take(prefix + ".bias", [out], fill: uniform)
        return ConvWeights(outChannels: out, inChannels: cin, kt: kt, kh: kh, kw: kw, weight: w, bias: b)
    }

    /// A causal conv with kernel k x k x k at `prefix` (its Conv3d is `prefix.conv`), given a cache slot.
    func causalConv(_ prefix: String, out: Int, in cin: Int, kernel: Int = 3) -> CausalConv3d {
        let c = conv(prefix + ".conv", out: out, in: cin, kt: kernel, kh: kernel, kw: kernel)
        defer { causalConvCount += 1 }
        return CausalConv3d(conv: c, slot: causalConvCount)
    }

    func groupNorm(_ prefix: String, channels: Int, groups: Int, eps: Double) -> GroupNorm3D {
        let g = take(prefix + ".weight", [channels], fill: { _, _ in 1 })
        let b = take(prefix + ".bias", [channels], fill: { _, _ in 0 })
        return GroupNorm3D(channels: channels, groups: groups, eps: eps, gamma: g, beta: b)
    }

    /// `CogVideoXSpatialNorm3D` at `prefix`: `norm_layer` (eps 1e-6 as diffusers fixes it), and the
    /// 1x1x1 causal convs `conv_y`, `conv_b` from the latent's channels.
    func spatialNorm(_ prefix: String, channels: Int, latentChannels: Int, groups: Int) -> SpatialNorm3D {
        let n = groupNorm(prefix + ".norm_layer", channels: channels, groups: groups, eps: 1e-6)
        let y = conv(prefix + ".conv_y.conv", out: channels, in: latentChannels, kt: 1, kh: 1, kw: 1)
        let b = conv(prefix + ".conv_b.conv", out: channels, in: latentChannels, kt: 1, kh: 1, kw: 1)
        return SpatialNorm3D(norm: n, convY: PointwiseConv3d(conv: y), convB: PointwiseConv3d(conv: b))
    }

    /// Throws one `ModelError.badWeights` listing every problem, or returns when all is well.
    func finish() throws {
        var unexpected: [String] = []
        if case .tensors(let tensors) = mode {
            unexpected = tensors.keys.filter { !used.contains($0) }.sorted()
        }
        guard missing.isEmpty, misshaped.isEmpty, nonFinite.isEmpty, unexpected.isEmpty else {
            func list(_ kind: String, _ items: [String], _ separator: String) -> String? {
                guard !items.isEmpty else { return nil }
                let more = items.count > 5 ? "\(separator)... and \(items.count - 5) more" : ""
                return "\(kind) \(items.count): " + items.prefix(5).joined(separator: separator) + more
            }
            var parts = [list("missing", missing, ", "), list("unexpected", unexpected, ", "),
                         list("mis-shaped", misshaped, "; "), list("non-finite", nonFinite, ", ")].compactMap { $0 }
            if !misshaped.isEmpty || !missing.isEmpty { parts.append("does config.json describe these weights?") }
            throw ModelError.badWeights(source, parts.joined(separator: "; "))
        }
    }
}
