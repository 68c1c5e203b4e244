import Foundation
import TensorCore
import VideoCommon

/// Renders a scene into a clip: seeded layout, analytic anti-aliasing (coverage from the signed
/// distance, one pixel wide), the camera as a transform of the whole world. In the fine world
/// (`detail`), also a fine background texture and specks fixed in the world, random fills on objects
/// and wider layouts (`FineDetail`); a fill the prompt names is drawn in either world.
///
/// Coordinates: the frame is [0, 1]², x to the right, y DOWN. An object's size is its half-extent.
/// Pixels: `renderFloats` returns [frames, height, width, 3] in [0, 1], frame-major then row, column,
/// channel (RGBVideo's layout, as floats).
public struct WorldRenderer: Sendable {
    public var width: Int
    public var height: Int
    public var frames: Int
    public var fps: Double
    /// Which world: `coarse` (the original world, bit for bit; the default) or `fine` (see `FineDetail`).
    public var detail: WorldDetail

    public init(width: Int = 32, height: Int = 32, frames: Int = 16, fps: Double = 8, detail: WorldDetail = .coarse) {
        self.width = width
        self.height = height
        self.frames = frames
        self.fps = fps
        self.detail = detail
    }

    /// Distance the moving objects and the panning camera travel over a clip (fraction of the frame).
    public static let travel: Float = 0.36
    public static let zoomRange: Float = 0.5

    /// One object's placement, drawn from the seed.
    struct Placement {
        var x: Float, y: Float, size: Float
    }

    struct Layout {
        var placements: [Placement]
        var bg0: (Float, Float, Float)
        var bg1: (Float, Float, Float)
        var gradDir: (Float, Float)
        var waves: [(fx: Float, fy: Float, phase: Float, amp: Float)]
    }

    func layout(_ s: SceneSpec, seed: UInt64) -> Layout {
        var rng = RNG(seed: seed ^ 0x5EED_0F_3A7E)
        func u(_ a: Float, _ b: Float) -> Float { a + (b - a) * Float(rng.uniform()) }
        func muted() -> (Float, Float, Float) {
            let g = u(0.38, 0.62)
            return (g + u(-0.07, 0.07), g + u(-0.07, 0.07), g + u(-0.07, 0.07))
        }
        var places: [Placement] = []
        let half = Self.travel / 2
        // The fine world leaves the layout more open (wider ranges, drawn in the same order, so the coarse
        // world's draws are untouched).
        let fine = detail == .fine
        if s.objects.count == 2, let r = s.relation {
            let size = fine ? u(0.12, 0.16) : u(0.13, 0.16), jitter = fine ? u(-0.09, 0.09) : u(-0.05, 0.05)
            let c = fine ? u(0.32, 0.68) : u(0.42, 0.58)
            let (a, b): (Placement, Placement)
            switch r {
            case .leftOf: a = Placement(x: 0.27 + jitter, y: c, size: size); b = Placement(x: 0.73 + jitter, y: c, size: size)
            case .rightOf: a = Placement(x: 0.73 + jitter, y: c, size: size); b = Placement(x: 0.27 + jitter, y: c, size: size)
            case .above: a = Placement(x: c, y: 0.27 + jitter, size: size); b = Placement(x: c, y: 0.73 + jitter, size: size)
            case .below: a = Placement(x: c, y: 0.73 + jitter, size: size); b = Placement(x: c, y: 0.27 + jitter, size: size)
            }
            places = [a, b]
        } else {
            let o = s.objects[0]
            // Coarse: within +/-0.08 of the centre. Fine: +/-0.22 for a still object under a still camera,
            // +/-0.16 for one that moves (across its path) or grows, +/-0.12 under a moving camera.
            let (lo, hi): (Float, Float) = !fine ? (0.42, 0.58) : (s.camera != .still ? (0.38, 0.62) : (o.motion == .still ? (0.28, 0.72) : (0.34, 0.66)))
            var x = u(lo, hi), y = u(lo, hi)
            switch o.motion {
            case .left: x = u(0.5 + half - 0.03, 0.5 + half + 0.03)
            case .right: x = u(0.5 - half - 0.03, 0.5 - half + 0.03)
            case .up: y = u(0.5 + half - 0.03, 0.5 + half + 0.03)
            case .down: y = u(0.5 - half - 0.03, 0.5 - half + 0.03)
            default: break
            }
            // Fine: 0.12-0.2, but 0.14-0.2 for an object that grows or shrinks (its smallest frame stays
            // a shape, not a blob).
            let small: Float = o.motion == .growing || o.motion == .shrinking ? 0.14 : 0.12
            places = [Placement(x: x, y: y, size: fine ? u(small, 0.2) : u(0.15, 0.2))]
        }
        let ang = u(0, 2 * Float.pi)
        let waves = (0..<3).map { _ in (fx: u(-9, 9), fy: u(-9, 9), phase: u(0, 2 * Float.pi), amp: u(0.03, 0.06)) }
        return Layout(placements: places, bg0: muted(), bg1: muted(), gradDir: (cos(ang), sin(ang)), waves: waves)
    }

    /// Signed distance (world units) from p to a shape of half-extent r centred at the origin.
    @inline(__always)
    static func sdf(_ shape: WorldShape, _ px: Float, _ py: Float, _ r: Float) -> Float {
        switch shape {
        case .circle:
            return (px * px + py * py).squareRoot() - r
        case .square:
            let qx = abs(px) - r, qy = abs(py) - r
            let ox = max(qx, 0), oy = max(qy, 0)
            return (ox * ox + oy * oy).squareRoot() + min(max(qx, qy), 0)
        case .diamond:
            return (abs(px) + abs(py) - r) * 0.707_106_78
        case .triangle:
            // Equilateral, pointing up (y down in the frame, so flip), half-side r, centred on its centroid.
            let k: Float = 1.732_050_8
            var x = abs(px) - r, y = -py + r / k
            if x + k * y > 0 { (x, y) = ((x - k * y) / 2, (-k * x - y) / 2) }
            x -= min(max(x, -2 * r), 0)
            let len = (x * x + y * y).squareRoot()
            return y < 0 ? len : -len
        }
    }

    /// The clip as floats [frames, height, width, 3].
    public func renderFloats(_ s: SceneSpec, seed: UInt64) -> [Float] {
        var lay = layout(s, seed: seed)
        let fine = FineDetail(s, seed: seed, detail: detail)
        if detail == .fine, s.objects.count == 2, let r = s.relation {
            // Two objects of different sizes, each a little off the relation's axis.
            lay.placements[1].size *= fine.sizeFactor
            for i in 0..<2 {
                let off = i == 0 ? fine.across.0 : fine.across.1
                if r == .leftOf || r == .rightOf { lay.placements[i].y += off } else { lay.placements[i].x += off }
            }
        }
        let textured = !fine.waves.isEmpty || !fine.specks.isEmpty
        var out = [Float](repeating: 0, count: frames * height * width * 3)
        let denom = Float(max(frames - 1, 1))
        let half = Self.travel / 2
        out.withUnsafeMutableBufferPointer { o in
            for f in 0..<frames {
                let t = Float(f) / denom
                // Camera: offset of the view centre in world units, and zoom.
                var camX: Float = 0, camY: Float = 0, zoom: Float = 1
                switch s.camera {
                case .panLeft: camX = half - Self.travel * t
                case .panRight: camX = -half + Self.travel * t
                case .tiltUp: camY = half - Self.travel * t
                case .tiltDown: camY = -half + Self.travel * t
                case .zoomIn: zoom = 1 + Self.zoomRange * t
                case .zoomOut: zoom = 1 + Self.zoomRange * (1 - t)
                case .still: break
                }
                // Objects at this frame.
                var objs: [(WorldShape, Float, Float, Float, (Float, Float, Float), FineDetail.Fill, Float)] = []
                for (i, ob) in s.objects.enumerated() {
                    var p = lay.placements[i]
                    switch ob.motion {
                    case .left: p.x -= Self.travel * t
                    case .right: p.x += Self.travel * t
                    case .up: p.y -= Self.travel * t
                    case .down: p.y += Self.travel * t
                    case .growing: p.size *= 0.65 + 0.6 * t
                    case .shrinking: p.size *= 1.25 - 0.6 * t
                    case .still: break
                    }
                    // The fill is drawn in the object's own units at its first placement, so it moves and
                    // scales with the object.
                    objs.append((ob.shape, p.x, p.y, p.size, ob.color.rgb, fine.fills[i], lay.placements[i].size / p.size))
                }
                let pix = 1 / (Float(width) * zoom)
                for yy in 0..<height {
                    for xx in 0..<width {
                        let u = (Float(xx) + 0.5) / Float(width), v = (Float(yy) + 0.5) / Float(height)
                        let wx = 0.5 + (u - 0.5) / zoom + camX, wy = 0.5 + (v - 0.5) / zoom + camY
                        var (r, g, b) = lay.bg0
                        switch s.background {
                        case .plain: break
                        case .gradient:
                            let a = min(1, max(0, 0.5 + 0.9 * ((wx - 0.5) * lay.gradDir.0 + (wy - 0.5) * lay.gradDir.1)))
                            r += (lay.bg1.0 - r) * a
                            g += (lay.bg1.1 - g) * a
                            b += (lay.bg1.2 - b) * a
                        case .textured:
                            var n: Float = 0
                            for w in lay.waves { n += w.amp * sin(w.fx * wx + w.fy * wy + w.phase) }
                            r += n
                            g += n * 0.8
                            b += n * 0.6
                        }
                        if textured {
                            let n = fine.background(wx, wy)
                            r += n
                            g += n
                            b += n * 0.9
                        }
                        for (shape, ox, oy, size, plain, fill, unit) in objs {
                            let d = Self.sdf(shape, wx - ox, wy - oy, size)
                            let alpha = min(1, max(0, 0.5 - d / pix))
                            if alpha > 0 {
                                let col = fill.kind == .solid ? plain
                                    : FineDetail.Fill.apply(plain, fill.modulation((wx - ox) * unit, (wy - oy) * unit))
                                r += (col.0 - r) * alpha
                                g += (col.1 - g) * alpha
                                b += (col.2 - b) * alpha
                            }
                        }
                        let i = ((f * height + yy) * width + xx) * 3
                        o[i] = min(1, max(0, r))
                        o[i + 1] = min(1, max(0, g))
                        o[i + 2] = min(1, max(0, b))
                    }
                }
            }
        }
        return out
    }

    /// The clip as 8-bit RGB.
    public func render(_ s: SceneSpec, seed: UInt64) -> RGBVideo {
        RGBVideo(floats: renderFloats(s, seed: seed), width: width, height: height, fps: fps)
    }

    /// Renders the clip a prompt describes (the prompt must be in the grammar).
    public func render(prompt: String, seed: UInt64) throws -> RGBVideo {
        render(try Grammar.parse(prompt), seed: seed)
    }
}
