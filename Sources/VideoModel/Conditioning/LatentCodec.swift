import Foundation
import TensorCore

/// Maps RGB clips to the latents the transformer denoises and back: the role of CogVideoX's 3D VAE.
/// Pixels are Float in [0, 1], laid out [frames, height, width, 3]; latents [frames', channels, h', w']
/// (frames before channels, as the transformer takes them), already multiplied by `scalingFactor`.
public protocol LatentCodec: Sendable {
    var latentChannels: Int { get }
    /// Pixels per latent position along height and width.
    var spatialFactor: Int { get }
    /// Frames per latent frame.
    var temporalFactor: Int { get }
    /// Multiplies raw codes into roughly unit-variance latents (the VAE's `scaling_factor`).
    var scalingFactor: Float { get }
    func encode(_ pixels: [Float], frames: Int, height: Int, width: Int) throws -> [Float]
    func decode(_ latents: [Float], frames: Int, height: Int, width: Int) throws -> [Float]
}

extension LatentCodec {
    /// The latent size [frames', channels, h', w'] of a clip.
    public func latentShape(frames: Int, height: Int, width: Int) -> (frames: Int, channels: Int, height: Int, width: Int) {
        (frames / temporalFactor, latentChannels, height / spatialFactor, width / spatialFactor)
    }

    /// Pixel values per latent value: the compression ratio.
    public var compression: Double {
        Double(temporalFactor * spatialFactor * spatialFactor * 3) / Double(latentChannels)
    }
}

public struct CodecError: Error, CustomStringConvertible {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { "latent codec: \(message)" }
}

/// tdm-video's default codec: a linear (PCA) code of each temporalFactor × spatialFactor² × RGB block.
///
/// Fitted by our own code to clips of the embedded world: the mean block and the leading principal
/// directions of the block covariance (Jacobi eigen-decomposition), then a scaling factor that gives
/// the latents unit variance. Linear and exact to invert on its subspace, so decoding a latent never
/// invents structure, and a clip's energy outside the kept directions is what it loses (its PSNR).
///
/// With `perChannel` fitting, each channel is also scaled to unit variance on its own (`channelScales`,
/// like the per-channel `latents_std` of newer diffusers VAEs): the principal directions' variances span
/// two orders of magnitude, and with one global factor the weak (edge) directions drown in the diffusion
/// noise long before the strong ones, so a sampler decides them only in its last, low-noise steps.
public struct PCALatentCodec: LatentCodec, Codable, Equatable {
    public var latentChannels: Int
    public var spatialFactor: Int
    public var temporalFactor: Int
    public var scalingFactor: Float
    /// Mean block, [blockSize].
    public var mean: [Float]
    /// Principal directions as rows, [latentChannels, blockSize].
    public var components: [Float]
    /// Fraction of the block variance the kept directions explain (on the fitting data).
    public var explainedVariance: Double
    /// Per-channel multipliers applied after `scalingFactor` (nil: all 1, one global scale).
    public var channelScales: [Float]? = nil

    /// The multiplier from a raw code of channel `ch` to its latent value.
    func scale(_ ch: Int) -> Float { scalingFactor * (channelScales?[ch] ?? 1) }

    /// Checks a decoded codec for consistency (sizes, finite and positive scales).
    public func validate() throws {
        // The documented ranges (docs/formats.md), checked before any product of them is formed.
        guard (1...64).contains(spatialFactor) else { throw CodecError("spatialFactor is \(spatialFactor); allowed: an integer in 1...64") }
        guard (1...64).contains(temporalFactor) else { throw CodecError("temporalFactor is \(temporalFactor); allowed: an integer in 1...64") }
        guard (1...blockSize).contains(latentChannels) else {
            throw CodecError("latentChannels is \(latentChannels); allowed: an integer in 1...\(blockSize) (the block size)")
        }
        guard mean.count == blockSize, components.count == latentChannels * blockSize else {
            throw CodecError("mean has \(mean.count) values and components \(components.count); blocks of \(blockSize) values and \(latentChannels) channels need \(blockSize) and \(latentChannels * blockSize)")
        }
        guard scalingFactor.isFinite, scalingFactor > 0 else { throw CodecError("scalingFactor is \(scalingFactor); allowed: a positive finite number") }
        guard mean.allSatisfy(\.isFinite), components.allSatisfy(\.isFinite) else { throw CodecError("mean or components hold NaN or infinite values") }
        guard explainedVariance.isFinite, (0...1.0001).contains(explainedVariance) else {
            throw CodecError("explainedVariance is \(explainedVariance); allowed: a number in [0, 1]")
        }
        if let cs = channelScales {
            guard cs.count == latentChannels else { throw CodecError("channelScales has \(cs.count) values for \(latentChannels) channels") }
            guard cs.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw CodecError("channelScales must be positive numbers") }
        }
    }

    public var blockSize: Int { temporalFactor * spatialFactor * spatialFactor * 3 }

    func checkPixels(_ n: Int, _ f: Int, _ h: Int, _ w: Int) throws {
        guard f > 0, h > 0, w > 0, f % temporalFactor == 0, h % spatialFactor == 0, w % spatialFactor == 0 else {
            throw CodecError("clip of \(f) frames of \(w)x\(h) does not tile into \(temporalFactor)x\(spatialFactor)x\(spatialFactor) blocks")
        }
        guard n == f * h * w * 3 else { throw CodecError("\(n) pixel values for \(f) frames of \(w)x\(h) RGB") }
    }

    /// Visits the blocks of a clip: for block (t, y, x), `body(blockIndex, pixelOffsets)`.
    func forEachBlock(_ f: Int, _ h: Int, _ w: Int, _ body: (Int, Int, Int, [Int]) -> Void) {
        let tf = temporalFactor, sf = spatialFactor
        var offs = [Int](repeating: 0, count: blockSize)
        for t in 0..<(f / tf) { for y in 0..<(h / sf) { for x in 0..<(w / sf) {
            var k = 0
            for dt in 0..<tf { for dy in 0..<sf { for dx in 0..<sf { for c in 0..<3 {
                offs[k] = (((t * tf + dt) * h + y * sf + dy) * w + x * sf + dx) * 3 + c
                k += 1
            } } } }
            body(t, y, x, offs)
        } } }
    }

    /// The clip's blocks as rows [blocks, blockSize] minus the mean block, blocks in (t, y, x) order.
    func blockRows(_ pixels: [Float], _ f: Int, _ h: Int, _ w: Int) -> [Float] {
        let k = blockSize
        var rows = [Float](repeating: 0, count: (f / temporalFactor) * (h / spatialFactor) * (w / spatialFactor) * k)
        var r = 0
        forEachBlock(f, h, w) { _, _, _, offs in
            for i in 0..<k { rows[r + i] = pixels[offs[i]] - mean[i] }
            r += k
        }
        return rows
    }

    /// Pixels to latents: each block's projection on the kept directions (one GEMM over all blocks),
    /// scaled, laid out [frames/tf, channels, height/sf, width/sf].
    public func encode(_ pixels: [Float], frames f: Int, height h: Int, width w: Int) throws -> [Float] {
        try checkPixels(pixels.count, f, h, w)
        let lf = f / temporalFactor, lh = h / spatialFactor, lw = w / spatialFactor, c = latentChannels, k = blockSize
        let rows = blockRows(pixels, f, h, w), nb = lf * lh * lw
        var codes = [Float](repeating: 0, count: nb * c)
        rows.withUnsafeBufferPointer { rp in components.withUnsafeBufferPointer { cp in codes.withUnsafeMutableBufferPointer { op in
            sgemm(transB: true, m: nb, n: c, k: k, a: rp.baseAddress!, lda: k, b: cp.baseAddress!, ldb: k, c: op.baseAddress!, ldc: c)
        } } }
        var out = [Float](repeating: 0, count: lf * c * lh * lw)
        let scales = (0..<c).map(scale), plane = lh * lw
        for t in 0..<lf { for p in 0..<plane {
            let src = (t * plane + p) * c
            for ch in 0..<c { out[(t * c + ch) * plane + p] = codes[src + ch] * scales[ch] }
        } }
        return out
    }

    /// Latents to pixels in [0, 1]: each block is the mean plus its codes along the kept directions.
    public func decode(_ latents: [Float], frames f: Int, height h: Int, width w: Int) throws -> [Float] {
        let lf = f / temporalFactor, lh = h / spatialFactor, lw = w / spatialFactor, c = latentChannels, k = blockSize
        guard f % temporalFactor == 0, h % spatialFactor == 0, w % spatialFactor == 0, latents.count == lf * c * lh * lw else {
            throw CodecError("\(latents.count) latent values do not make \(f) frames of \(w)x\(h)")
        }
        let nb = lf * lh * lw, plane = lh * lw
        var codes = [Float](repeating: 0, count: nb * c)
        let inv = (0..<c).map { 1 / scale($0) }
        for t in 0..<lf { for p in 0..<plane {
            let dst = (t * plane + p) * c
            for ch in 0..<c { codes[dst + ch] = latents[(t * c + ch) * plane + p] * inv[ch] }
        } }
        var rows = [Float](repeating: 0, count: nb * k)
        codes.withUnsafeBufferPointer { cp in components.withUnsafeBufferPointer { vp in rows.withUnsafeMutableBufferPointer { rp in
            sgemm(m: nb, n: k, k: c, a: cp.baseAddress!, lda: c, b: vp.baseAddress!, ldb: k, c: rp.baseAddress!, ldc: k)
        } } }
        var out = [Float](repeating: 0, count: f * h * w * 3)
        var r = 0
        forEachBlock(f, h, w) { _, _, _, offs in
            for i in 0..<k { out[offs[i]] = min(1, max(0, rows[r + i] + mean[i])) }
            r += k
        }
        return out
    }

    /// Fits the codec to clips ([frames, height, width, 3] each, all the same size). With `perChannel`,
    /// every channel gets unit variance on the fitting data; otherwise the latents as a whole do.
    ///
    /// With `hfWeight` w > 0 the kept directions are the leading eigenvectors of C + w·P C P instead of the
    /// block covariance C, where P projects a block onto its fine detail (per frame and colour, the
    /// spatial DCT-II frequencies of radius above a quarter cycle per pixel, the band `SpectralFidelity`
    /// calls high): the subspace then trades some of the total variance (PSNR) for more of the detail's.
    /// The directions stay orthonormal, so the codec is the same kind of linear projection; w = 0 is plain PCA.
    public static func fit(clips: [[Float]], frames: Int, height: Int, width: Int, channels: Int,
                           spatialFactor: Int, temporalFactor: Int, perChannel: Bool = false,
                           hfWeight: Double = 0) throws -> PCALatentCodec {
        guard hfWeight.isFinite, hfWeight >= 0 else { throw CodecError("hfWeight is \(hfWeight); allowed: a finite number >= 0") }
        var codec = PCALatentCodec(latentChannels: channels, spatialFactor: spatialFactor, temporalFactor: temporalFactor,
                                   scalingFactor: 1, mean: [], components: [], explainedVariance: 0)
        let k = codec.blockSize
        guard channels >= 1, channels <= k else { throw CodecError("\(channels) channels for blocks of \(k) values") }
        guard !clips.isEmpty else { throw CodecError("no clips to fit") }
        var sum = [Double](repeating: 0, count: k), cov = [Double](repeating: 0, count: k * k)
        var count = 0.0
        var block = [Double](repeating: 0, count: k)
        for clip in clips {
            try codec.checkPixels(clip.count, frames, height, width)
            codec.forEachBlock(frames, height, width) { _, _, _, offs in
                for i in 0..<k { block[i] = Double(clip[offs[i]]) }
                for i in 0..<k {
                    sum[i] += block[i]
                    let bi = block[i]
                    for j in i..<k { cov[i * k + j] += bi * block[j] }
                }
                count += 1
            }
        }
        let mu = sum.map { $0 / count }
        for i in 0..<k { for j in i..<k {
            let v = cov[i * k + j] / count - mu[i] * mu[j]
            cov[i * k + j] = v
            cov[j * k + i] = v
        } }
        // The variances of the kept directions: the eigenvalues for plain PCA, vᵀCv for the weighted fit.
        var vecs: [Double], variances: [Double], total: Double
        if hfWeight == 0 {
            let (vals, v) = SymmetricEigen.decompose(cov, n: k)
            vecs = v
            variances = Array(vals.prefix(channels))
            total = vals.reduce(0, +)
        } else {
            total = (0..<k).reduce(0.0) { $0 + cov[$1 * k + $1] }
            let p = detailProjector(spatialFactor: spatialFactor, temporalFactor: temporalFactor)
            let pcp = matmul(matmul(p, cov, k), p, k)
            // C + w·PCP, symmetrised against the products' rounding.
            let weighted = (0..<(k * k)).map { i in cov[i] + hfWeight * 0.5 * (pcp[i] + pcp[(i % k) * k + i / k]) }
            vecs = SymmetricEigen.decompose(weighted, n: k).vectors
            variances = (0..<channels).map { i in
                var s = 0.0
                for a in 0..<k { var row = 0.0; for b in 0..<k { row += cov[a * k + b] * vecs[i * k + b] }; s += vecs[i * k + a] * row }
                return max(s, 0)
            }
        }
        let kept = variances.reduce(0, +)
        codec.mean = mu.map(Float.init)
        codec.components = Array(vecs.prefix(channels * k)).map(Float.init)
        codec.explainedVariance = total > 0 ? min(1, kept / total) : 1
        // Unit variance over all latent values: the mean of the kept directions' variances is the raw variance.
        let rawVar = kept / Double(channels)
        codec.scalingFactor = Float(1 / max(rawVar, 1e-12).squareRoot())
        if perChannel {
            codec.channelScales = variances.map { Float((rawVar / max($0, rawVar * 1e-6)).squareRoot()) }
        }
        return codec
    }

    /// The orthogonal projector [blockSize, blockSize] onto a block's fine detail: for every frame and colour
    /// of the block, the orthonormal 2D DCT-II basis images whose frequency (u, v) / (2·spatialFactor) cycles
    /// per pixel has a radius above 1/4 (u² + v² > (spatialFactor / 2)²).
    static func detailProjector(spatialFactor sf: Int, temporalFactor tf: Int) -> [Double] {
        let k = tf * sf * sf * 3
        func basis(_ u: Int, _ x: Int) -> Double {
            (u == 0 ? (1 / Double(sf)).squareRoot() : (2 / Double(sf)).squareRoot()) * cos(Double.pi * Double((2 * x + 1) * u) / Double(2 * sf))
        }
        var p = [Double](repeating: 0, count: k * k)
        for u in 0..<sf { for v in 0..<sf where 4 * (u * u + v * v) > sf * sf {
            // The basis image of (u, v): b[y, x] = basis(u, y)·basis(v, x), placed at every (frame, colour).
            for dt in 0..<tf { for c in 0..<3 {
                var idx = [Int](), val = [Double]()
                for y in 0..<sf { for x in 0..<sf {
                    idx.append(((dt * sf + y) * sf + x) * 3 + c)
                    val.append(basis(u, y) * basis(v, x))
                } }
                for (i, a) in idx.enumerated() { for (j, b) in idx.enumerated() { p[a * k + b] += val[i] * val[j] } }
            } }
        } }
        return p
    }

    static func matmul(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for l in 0..<n { let x = a[i * n + l]; if x == 0 { continue }; for j in 0..<n { c[i * n + j] += x * b[l * n + j] } } }
        return c
    }
}
