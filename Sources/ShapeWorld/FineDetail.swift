import Foundation
import TensorCore
import VideoCommon

/// The fine world's detail, and the fills of objects in either world. Every detail is a deterministic
/// function of a few random numbers per clip (a phase, an angle, a period, a handful of positions),
/// drawn from the clip's seed on a stream of its own (the coarse layout's draws are untouched), and it
/// moves rigidly: a fill with its object (and scales with it when it grows), the texture and the specks
/// with the world under the camera. Nothing is re-randomised per frame. Contrast is moderate, so objects
/// stay segmentable and colour names hold.
///
/// Sizes are in world units (the frame is [0, 1]²); "px" below means pixels of the default 32-pixel frame.
struct FineDetail {
    /// A fill pattern in an object's own coordinates: stripes are one sinusoid (one orientation), checks
    /// the product of two at right angles (two orientations), solid none.
    struct Fill {
        var kind: ObjectFill
        /// Angular frequency (radians per world unit): a period of 3-5 px.
        var k: Float
        /// Unit normal of the first stripe family.
        var c: Float, s: Float
        var phase: Float, phase2: Float

        /// Brightness modulation in [-1, 1] at offset (lx, ly) from the object's centre, in the object's
        /// units at its first frame.
        @inline(__always) func modulation(_ lx: Float, _ ly: Float) -> Float {
            switch kind {
            case .solid: return 0
            case .striped: return sin(k * (lx * c + ly * s) + phase)
            case .checked: return sin(k * (lx * c + ly * s) + phase) * sin(k * (ly * c - lx * s) + phase2)
            }
        }

        /// The colour under modulation m: brightness x (1 +/- 20 %) plus a small offset so dark colours
        /// carry the pattern too; clamped by the renderer.
        @inline(__always) static func apply(_ col: (Float, Float, Float), _ m: Float) -> (Float, Float, Float) {
            let g = 1 + 0.2 * m, o = 0.05 * m
            return (col.0 * g + o, col.1 * g + o, col.2 * g + o)
        }
    }

    /// One oriented sinusoid of the background texture, in world coordinates.
    struct Wave { var kx: Float, ky: Float, phase: Float, amp: Float }
    /// A small soft dot fixed in the world: centre, Gaussian radius, grey offset (darker or lighter).
    struct Speck { var x: Float, y: Float, sigma: Float, delta: Float }

    /// Per object: its fill (solid where the prompt names none, in the coarse world).
    var fills: [Fill]
    /// Fine world only (empty in the coarse one).
    var waves: [Wave]
    var specks: [Speck]
    /// Fine world, two objects: the second object's size factor and both objects' offsets across the
    /// relation's axis.
    var sizeFactor: Float = 1
    var across: (Float, Float) = (0, 0)

    static let px: Float = 1 / 32

    init(_ s: SceneSpec, seed: UInt64, detail: WorldDetail) {
        var rng = RNG(seed: seed ^ 0xF1E_DE7A_1100_5EED)
        func u(_ a: Float, _ b: Float) -> Float { a + (b - a) * Float(rng.uniform()) }
        let fine = detail == .fine
        fills = s.objects.map { o in
            // Every number is drawn whatever the kind, so one object's choice does not shift the others'.
            let pick = ObjectFill.allCases[rng.int(0, ObjectFill.allCases.count)]
            let period = u(3, 5) * Self.px, angle = u(0, Float.pi), p1 = u(0, 2 * Float.pi), p2 = u(0, 2 * Float.pi)
            let kind = o.fill ?? (fine ? pick : .solid)
            return Fill(kind: kind, k: 2 * Float.pi / period, c: cos(angle), s: sin(angle), phase: p1, phase2: p2)
        }
        guard fine else { waves = []; specks = []; return }
        // Background texture: three oriented sinusoids of 3-8 px period, +/-0.05 together at most.
        waves = (0..<3).map { _ in
            let period = u(3, 8) * Self.px, angle = u(0, Float.pi)
            let k = 2 * Float.pi / period
            return Wave(kx: k * cos(angle), ky: k * sin(angle), phase: u(0, 2 * Float.pi), amp: u(0.010, 0.017))
        }
        // 0-4 specks anywhere a panning camera can see, 1-2 px across, muted.
        let count = rng.int(0, 5)
        specks = (0..<count).map { _ in
            Speck(x: u(-0.15, 1.15), y: u(-0.15, 1.15), sigma: u(0.45, 0.75) * Self.px,
                  delta: (rng.uniform() < 0.5 ? -1 : 1) * u(0.07, 0.13))
        }
        sizeFactor = u(0.85, 1.15)
        across = (u(-0.04, 0.04), u(-0.04, 0.04))
    }

    /// The fine background's offset at world point (wx, wy): texture plus specks (grey).
    @inline(__always) func background(_ wx: Float, _ wy: Float) -> Float {
        var n: Float = 0
        for w in waves { n += w.amp * sin(w.kx * wx + w.ky * wy + w.phase) }
        for sp in specks {
            let dx = wx - sp.x, dy = wy - sp.y
            let d2 = dx * dx + dy * dy, s2 = sp.sigma * sp.sigma
            if d2 < 9 * s2 { n += sp.delta * exp(-d2 / (2 * s2)) }
        }
        return n
    }
}
