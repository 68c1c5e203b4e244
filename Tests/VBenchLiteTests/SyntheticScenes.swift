import Foundation
import VideoCommon
import VideoIO
@testable import VBenchLite

/// A small renderer of the world the scorer expects (coloured anti-aliased shapes moving on plain,
/// gradient or softly textured backgrounds, seen by a panning/tilting/zooming camera), written for the
/// tests only so that no model and no other module is involved. Also the degradations the tests apply.
struct SceneObject {
    var color: String
    var shape: String
    /// Centre at frame 0, world pixels.
    var x: Double
    var y: Double
    var size: Double
    /// World motion per frame.
    var vx: Double = 0
    var vy: Double = 0
    /// Size factor per frame.
    var growth: Double = 1
    var motion: String = "still"
}

struct Scene {
    var width = 64
    var height = 64
    var frames = 16
    var fps = 8.0
    /// "plain", "gradient" or "texture".
    var backgroundKind = "plain"
    var backgroundColor = "grey"
    var objects: [SceneObject] = []
    /// Camera motion per frame: translation of the camera (world px) and zoom factor.
    var cameraDX = 0.0
    var cameraDY = 0.0
    var cameraZoom = 1.0
    var cameraName = "still"
    var relationship: String? = nil

    static let palette: [String: (Double, Double, Double)] = [
        "red": (220, 40, 40), "orange": (245, 140, 20), "yellow": (240, 220, 40), "green": (40, 170, 70),
        "blue": (40, 90, 220), "purple": (140, 60, 190), "pink": (250, 140, 200), "black": (25, 25, 25),
        "white": (245, 245, 245), "grey": (128, 128, 128),
    ]

    func backgroundDescription() -> String {
        switch backgroundKind {
        case "gradient": return "\(backgroundColor) gradient"
        case "texture": return "soft \(backgroundColor) texture"
        default: return "plain \(backgroundColor)"
        }
    }

    func background(_ wx: Double, _ wy: Double) -> (Double, Double, Double) {
        let base = Scene.palette[backgroundColor] ?? (128, 128, 128)
        switch backgroundKind {
        case "gradient":
            let t = (wx + wy) / Double(width + height) - 0.5
            return (base.0 + 90 * t, base.1 + 90 * t, base.2 + 90 * t)
        case "texture":
            let n = 7 * sin(wx * 0.9 + 1.3) * sin(wy * 0.7 + 0.4) + 5 * sin(wx * 0.37 - wy * 0.53 + 2.0)
            return (base.0 + n, base.1 + n, base.2 + n)
        default:
            return base
        }
    }

    static func inside(_ shape: String, _ x: Double, _ y: Double, _ s: Double) -> Bool {
        switch shape {
        case "circle": return x * x + y * y <= s * s
        case "square": return abs(x) <= s && abs(y) <= s
        case "triangle": return y >= -s && y <= s && abs(x) <= (y + s) / 2
        case "diamond": return abs(x) + abs(y) <= s
        default: return false
        }
    }

    func render() -> RGBVideo {
        var px = [UInt8](repeating: 0, count: width * height * 3 * frames)
        let ss = 4
        for t in 0..<frames {
            let zoom = pow(cameraZoom, Double(t))
            let camX = Double(width) / 2 + cameraDX * Double(t), camY = Double(height) / 2 + cameraDY * Double(t)
            for y in 0..<height {
                for x in 0..<width {
                    var acc = (0.0, 0.0, 0.0)
                    for sy in 0..<ss {
                        for sx in 0..<ss {
                            let sxp = Double(x) + (Double(sx) + 0.5) / Double(ss)
                            let syp = Double(y) + (Double(sy) + 0.5) / Double(ss)
                            let wx = (sxp - Double(width) / 2) / zoom + camX
                            let wy = (syp - Double(height) / 2) / zoom + camY
                            var c = background(wx, wy)
                            for o in objects {
                                let ox = o.x + o.vx * Double(t), oy = o.y + o.vy * Double(t)
                                let s = o.size * pow(o.growth, Double(t)) / 2
                                if Scene.inside(o.shape, wx - ox, wy - oy, s) { c = Scene.palette[o.color]! }
                            }
                            acc.0 += c.0; acc.1 += c.1; acc.2 += c.2
                        }
                    }
                    let k = Double(ss * ss)
                    let i = ((t * height + y) * width + x) * 3
                    px[i] = UInt8(max(0, min(255, (acc.0 / k).rounded())))
                    px[i + 1] = UInt8(max(0, min(255, (acc.1 / k).rounded())))
                    px[i + 2] = UInt8(max(0, min(255, (acc.2 / k).rounded())))
                }
            }
        }
        return RGBVideo(width: width, height: height, fps: fps, pixels: px)
    }

    /// The prompt and auxiliary info of this scene, in the suite's layout.
    func prompt() -> PromptEntry {
        let o = objects[0]
        var text = "a \(o.color) \(o.shape) \(o.motion)"
        if objects.count > 1, let rel = relationship {
            text = "a \(o.color) \(o.shape) \(rel) a \(objects[1].color) \(objects[1].shape)"
        }
        text += " on a \(backgroundDescription()) background, camera \(cameraName)"
        var aux = AuxiliaryInfo(
            color: ColorInfo(color: o.color),
            objectClass: ObjectInfo(object: o.shape),
            scene: SceneInfo(scene: backgroundDescription()),
            temporalStyle: TemporalStyleInfo(cameraMotion: cameraName, objectMotion: o.motion),
            world: WorldFacts(objects: objects.map { .init(color: $0.color, shape: $0.shape, motion: $0.motion) },
                              relationship: relationship, cameraMotion: cameraName, background: backgroundDescription()))
        if objects.count > 1 {
            aux.multipleObjects = ObjectInfo(object: "\(objects[0].shape) and \(objects[1].shape)")
            if let rel = relationship {
                aux.spatialRelationship = SpatialInfo(.init(objectA: objects[0].shape, objectB: objects[1].shape, relationship: rel))
            }
        }
        var dims = ["subject_consistency", "background_consistency", "temporal_flickering", "motion_smoothness",
                    "dynamic_degree", "aesthetic_quality", "imaging_quality",
                    "color", "object_class", "scene", "temporal_style", "overall_consistency"]
        if aux.multipleObjects != nil { dims.append("multiple_objects") }
        if aux.spatialRelationship != nil { dims.append("spatial_relationship") }
        return PromptEntry(promptEn: text, dimension: dims, auxiliaryInfo: aux)
    }
}

/// Degradations of a clip.
enum Degrade {
    /// Seeded Gaussian noise of standard deviation sigma, independent per frame.
    static func noise(_ v: RGBVideo, sigma: Double, seed: UInt64 = 7) -> RGBVideo {
        var rng = SplitMix(seed)
        var out = v
        for i in out.pixels.indices {
            let u1 = max(1e-12, rng.unit()), u2 = rng.unit()
            let g = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            out.pixels[i] = UInt8(max(0, min(255, (Double(v.pixels[i]) + sigma * g).rounded())))
        }
        return out
    }

    /// Separable Gaussian blur of each frame.
    static func blur(_ v: RGBVideo, sigma: Double) -> RGBVideo {
        let r = Int((3 * sigma).rounded(.up))
        let k = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let ks = k.reduce(0, +)
        var out = v
        let w = v.width, h = v.height
        for t in 0..<v.frameCount {
            var tmp = [Double](repeating: 0, count: w * h * 3)
            for y in 0..<h { for x in 0..<w { for c in 0..<3 {
                var s = 0.0
                for j in -r...r { s += k[j + r] * Double(v.pixels[((t * h + y) * w + min(w - 1, max(0, x + j))) * 3 + c]) }
                tmp[(y * w + x) * 3 + c] = s / ks
            } } }
            for y in 0..<h { for x in 0..<w { for c in 0..<3 {
                var s = 0.0
                for j in -r...r { s += k[j + r] * tmp[(min(h - 1, max(0, y + j)) * w + x) * 3 + c] }
                out.pixels[((t * h + y) * w + x) * 3 + c] = UInt8(max(0, min(255, (s / ks).rounded())))
            } } }
        }
        return out
    }

    /// Frames in a fixed shuffled order.
    static func shuffled(_ v: RGBVideo, seed: UInt64 = 3) -> RGBVideo {
        var order = Array(0..<v.frameCount)
        var rng = SplitMix(seed)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return reorder(v, order)
    }

    static func reversed(_ v: RGBVideo) -> RGBVideo { reorder(v, Array((0..<v.frameCount).reversed())) }

    static func reorder(_ v: RGBVideo, _ order: [Int]) -> RGBVideo {
        var px: [UInt8] = []
        for f in order { px.append(contentsOf: v.frame(f)) }
        return RGBVideo(width: v.width, height: v.height, fps: v.fps, pixels: px)
    }
}

struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
