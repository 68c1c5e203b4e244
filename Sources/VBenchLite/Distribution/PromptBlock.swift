import Foundation

/// One prompt's clips in the feature space, with everything the metrics reuse across bootstrap
/// resamples precomputed: pairwise Euclidean distances and polynomial-kernel values between the
/// evaluated clips (G) and the reference clips (R), the reference's k-NN radii, its mean pairwise
/// distance and mean kernel value.
///
/// A resample is a list of indices into G that may repeat; metrics never pair a clip with a copy of
/// itself (a repeated seed is not a second sample of the model).
struct PromptBlock: Sendable {
    let prompt: String
    /// Whether the prompt asks for no motion at all (object and camera still).
    let still: Bool
    let gen: [[Double]]
    let ref: [[Double]]
    /// Raw (unscaled) features, for the sharpness gap and still-prompt motion.
    let genRaw: [[Double]]
    let refRaw: [[Double]]
    let dGG: [Double], dGR: [Double]
    let kGG: [Double], kGR: [Double]
    /// Distance from each reference clip to its k-th nearest other reference clip.
    let refRadius: [Double]
    let refMeanDistance: Double
    /// Mean of k(r, r') over pairs of different reference clips.
    let refKernelMean: Double

    /// Neighbours for the k-NN manifolds (Kynkäänniemi et al. 2019 use 3).
    static let k = 3

    /// KID's kernel (Bińkowski et al. 2018): k(x, y) = (x·y / d + 1)³.
    @inline(__always) static func kernel(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for j in 0..<a.count { s += a[j] * b[j] }
        let v = s / Double(a.count) + 1
        return v * v * v
    }

    @inline(__always) static func distance(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for j in 0..<a.count { let d = a[j] - b[j]; s += d * d }
        return s.squareRoot()
    }

    init(prompt: String, still: Bool, gen: [[Double]], ref: [[Double]], genRaw: [[Double]], refRaw: [[Double]]) {
        self.prompt = prompt
        self.still = still
        self.gen = gen
        self.ref = ref
        self.genRaw = genRaw
        self.refRaw = refRaw
        let ng = gen.count, nr = ref.count
        var dgg = [Double](repeating: 0, count: ng * ng), kgg = dgg
        for a in 0..<ng {
            for b in a..<ng {
                let d = Self.distance(gen[a], gen[b]), k = Self.kernel(gen[a], gen[b])
                dgg[a * ng + b] = d; dgg[b * ng + a] = d
                kgg[a * ng + b] = k; kgg[b * ng + a] = k
            }
        }
        var dgr = [Double](repeating: 0, count: ng * nr), kgr = dgr
        for a in 0..<ng {
            for r in 0..<nr {
                dgr[a * nr + r] = Self.distance(gen[a], ref[r])
                kgr[a * nr + r] = Self.kernel(gen[a], ref[r])
            }
        }
        var drr = [Double](repeating: 0, count: nr * nr)
        var kSum = 0.0, dSum = 0.0, pairs = 0.0
        for r in 0..<nr {
            for s in 0..<nr where s != r {
                let d = Self.distance(ref[r], ref[s])
                drr[r * nr + s] = d
                dSum += d
                kSum += Self.kernel(ref[r], ref[s])
                pairs += 1
            }
        }
        var radius = [Double](repeating: 0, count: nr)
        let kk = min(Self.k, nr - 1)
        if kk >= 1 {
            for r in 0..<nr {
                var ds = (0..<nr).filter { $0 != r }.map { drr[r * nr + $0] }
                ds.sort()
                radius[r] = ds[kk - 1]
            }
        }
        dGG = dgg; dGR = dgr; kGG = kgg; kGR = kgr
        refRadius = radius
        refMeanDistance = pairs > 0 ? dSum / pairs : 0
        refKernelMean = pairs > 0 ? kSum / pairs : 0
    }

    var genCount: Int { gen.count }
    var refCount: Int { ref.count }
}
