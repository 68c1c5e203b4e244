import TensorCore

/// The settings of diffusers' `AutoencoderKLCogVideoX.enable_tiling` and the integer sizes it derives
/// from them, with diffusers' arithmetic (Python `int()` of float products).
public struct VAETiling: Sendable, Equatable {
    public var tileSampleMinHeight: Int
    public var tileSampleMinWidth: Int
    public var overlapFactorHeight: Double
    public var overlapFactorWidth: Double

    public init(tileSampleMinHeight: Int, tileSampleMinWidth: Int, overlapFactorHeight: Double = 1.0 / 6, overlapFactorWidth: Double = 1.0 / 5) {
        self.tileSampleMinHeight = tileSampleMinHeight
        self.tileSampleMinWidth = tileSampleMinWidth
        self.overlapFactorHeight = overlapFactorHeight
        self.overlapFactorWidth = overlapFactorWidth
    }

    /// diffusers' defaults: half the config's sample size, overlap 1/6 in height and 1/5 in width.
    public static func defaults(for config: CogVideoXVAEConfig) -> VAETiling {
        VAETiling(tileSampleMinHeight: config.sampleHeight / 2, tileSampleMinWidth: config.sampleWidth / 2)
    }

    /// The sizes diffusers derives, for a VAE with `spatialRatio` (8 for CogVideoX).
    public struct Derived: Sendable, Equatable {
        public var tileLatentMinHeight: Int, tileLatentMinWidth: Int
        public var latentStrideHeight: Int, latentStrideWidth: Int
        public var blendExtentHeight: Int, blendExtentWidth: Int
        public var rowLimitHeight: Int, rowLimitWidth: Int
    }

    public func derived(spatialRatio: Int) throws -> Derived {
        guard tileSampleMinHeight > 0, tileSampleMinWidth > 0,
              (0.0..<1.0).contains(overlapFactorHeight), (0.0..<1.0).contains(overlapFactorWidth) else {
            throw ModelError.badInput("VAE tiling: tile sizes must be positive and overlap factors in [0, 1), got \(self)")
        }
        let lh = Int(Double(tileSampleMinHeight) / Double(spatialRatio))
        let lw = Int(Double(tileSampleMinWidth) / Double(spatialRatio))
        let d = Derived(tileLatentMinHeight: lh, tileLatentMinWidth: lw,
                        latentStrideHeight: Int(Double(lh) * (1 - overlapFactorHeight)),
                        latentStrideWidth: Int(Double(lw) * (1 - overlapFactorWidth)),
                        blendExtentHeight: Int(Double(tileSampleMinHeight) * overlapFactorHeight),
                        blendExtentWidth: Int(Double(tileSampleMinWidth) * overlapFactorWidth),
                        rowLimitHeight: 0, rowLimitWidth: 0)
        var r = d
        r.rowLimitHeight = tileSampleMinHeight - d.blendExtentHeight
        r.rowLimitWidth = tileSampleMinWidth - d.blendExtentWidth
        guard r.tileLatentMinHeight > 0, r.tileLatentMinWidth > 0, r.latentStrideHeight > 0, r.latentStrideWidth > 0 else {
            throw ModelError.badInput("VAE tiling: \(self) gives latent tiles \(lh)x\(lw) with strides \(r.latentStrideHeight)x\(r.latentStrideWidth); both must be at least 1")
        }
        return r
    }
}

extension CogVideoXVAE {
    /// `vae.decode(z).sample` after `vae.enable_tiling(...)`. When the latent is larger than one tile
    /// (h > tile_latent_min_height or w > tile_latent_min_width), tiles of tile_latent_min rows and columns
    /// (cut at the border) start every latent stride, each decoded on its own (own frame batches and
    /// caches); in raster order each is blended in place with the (already blended) tile above over
    /// E = min(both heights, blend extent) rows, b[y] = a[-E + y]·(1 - y/E) + b[y]·(y/E), then with the one
    /// on its left likewise in width, cut to the row limits, and the pieces are concatenated. Otherwise
    /// it is `decode`.
    public func tiledDecode(_ z: Tensor, tiling: VAETiling? = nil, observe: VAEObserver? = nil) throws -> Tensor {
        let tiling = tiling ?? VAETiling.defaults(for: config)
        let d = try tiling.derived(spatialRatio: config.spatialCompressionRatio)
        guard z.shape.count == 5 else { throw ModelError.badInput("VAE latents must be [B, C, F, H, W], got \(z.shape)") }
        let (B, h, w) = (z.shape[0], z.shape[3], z.shape[4])
        guard w > d.tileLatentMinWidth || h > d.tileLatentMinHeight else { return try decode(z, observe: observe) }
        guard z.shape[1] == config.latentChannels, z.shape.allSatisfy({ $0 > 0 }) else { return try decode(z, observe: observe) }

        let rowStarts = Array(stride(from: 0, to: h, by: d.latentStrideHeight))
        let colStarts = Array(stride(from: 0, to: w, by: d.latentStrideWidth))
        var shape: [Int] = []
        var out: [Float] = []
        for b in 0..<B {
            // Decode every tile (frames concatenated over the frame batches).
            var tiles: [[FrameTensor]] = []
            for i in rowStarts {
                var row: [FrameTensor] = []
                for j in colStarts {
                    var pieces: [FrameTensor] = []
                    decodeFrames(z, sample: b, rows: i..<min(h, i + d.tileLatentMinHeight),
                                 cols: j..<min(w, j + d.tileLatentMinWidth), observe: observe) { pieces.append($0) }
                    row.append(Self.concatFrames(pieces))
                }
                tiles.append(row)
            }
            // Blend in raster order, in place, then cut and place.
            let heights = tiles.map { min($0[0].height, d.rowLimitHeight) }
            let widths = tiles[0].map { min($0.width, d.rowLimitWidth) }
            if shape.isEmpty {
                shape = [B, config.outChannels, tiles[0][0].frames, heights.reduce(0, +), widths.reduce(0, +)]
                out = [Float](repeating: 0, count: shape.reduce(1, *))
            }
            var y0 = 0
            for (ri, row) in tiles.enumerated() {
                var x0 = 0
                for (cj, tile) in row.enumerated() {
                    if ri > 0 { Self.blendVertical(tiles[ri - 1][cj], tile, extent: d.blendExtentHeight) }
                    if cj > 0 { Self.blendHorizontal(row[cj - 1], tile, extent: d.blendExtentWidth) }
                    out.withUnsafeMutableBufferPointer { o in
                        tile.writeBCTHW(into: o.baseAddress!, shape: shape, sample: b, frameOffset: 0,
                                        rowOffset: y0, columnOffset: x0, rows: heights[ri], cols: widths[cj])
                    }
                    x0 += widths[cj]
                }
                y0 += heights[ri]
            }
        }
        return try Tensor(shape: shape, data: out)
    }

    static func concatFrames(_ pieces: [FrameTensor]) -> FrameTensor {
        if pieces.count == 1 { return pieces[0] }
        let f = pieces[0]
        let out = FrameTensor(channels: f.channels, frames: pieces.reduce(0) { $0 + $1.frames }, height: f.height, width: f.width)
        var t = 0
        for p in pieces {
            out.frame(t).update(from: p.p, count: p.count)
            t += p.frames
        }
        return out
    }

    /// diffusers' `blend_v`: b's first E rows fade in from a's last E rows.
    static func blendVertical(_ a: FrameTensor, _ b: FrameTensor, extent: Int) {
        let e = min(a.height, b.height, extent)
        guard e > 0 else { return }
        let W = b.width
        for y in 0..<e {
            let wa = Float(1 - Double(y) / Double(e)), wb = Float(Double(y) / Double(e))
            for t in 0..<b.frames {
                for c in 0..<b.channels {
                    let pa = a.frame(t) + c * a.plane + (a.height - e + y) * a.width
                    let pb = b.frame(t) + c * b.plane + y * W
                    for x in 0..<W { pb[x] = pa[x] * wa + pb[x] * wb }
                }
            }
        }
    }

    /// diffusers' `blend_h`: b's first E columns fade in from a's last E columns.
    static func blendHorizontal(_ a: FrameTensor, _ b: FrameTensor, extent: Int) {
        let e = min(a.width, b.width, extent)
        guard e > 0 else { return }
        for x in 0..<e {
            let wa = Float(1 - Double(x) / Double(e)), wb = Float(Double(x) / Double(e))
            for t in 0..<b.frames {
                for c in 0..<b.channels {
                    let pa = a.frame(t) + c * a.plane + a.width - e + x
                    let pb = b.frame(t) + c * b.plane + x
                    for y in 0..<b.height { pb[y * b.width] = pa[y * a.width] * wa + pb[y * b.width] * wb }
                }
            }
        }
    }
}
