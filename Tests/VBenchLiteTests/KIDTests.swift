import Foundation
import Testing
import TensorCore
@testable import VBenchLite

/// KID (`KID.mmd2` on a `PromptBlock`) against MMD² written out from its definition, its lack of bias
/// at small N, its growth with a shift between the sets, and resamples that repeat a clip.
@Suite("KID: unbiased MMD² with the cubic kernel") struct KIDTests {
    static func gaussian(_ n: Int, dim: Int, shift: Double, _ rng: inout RNG) -> [[Double]] {
        (0..<n).map { _ in (0..<dim).map { _ in Double(rng.normal(1)[0]) + shift } }
    }

    static func block(_ gen: [[Double]], _ ref: [[Double]]) -> PromptBlock {
        PromptBlock(prompt: "p", still: false, gen: gen, ref: ref, genRaw: gen, refRaw: ref)
    }

    /// MMD² from its definition, with its own kernel (x·y/d + 1)³, over distinct pairs.
    static func definition(_ g: [[Double]], _ r: [[Double]]) -> Double {
        func k(_ a: [Double], _ b: [Double]) -> Double { pow(zip(a, b).map { $0 * $1 }.reduce(0, +) / Double(a.count) + 1, 3) }
        var gg = 0.0, rr = 0.0, gr = 0.0
        for i in g.indices { for j in g.indices where i != j { gg += k(g[i], g[j]) } }
        for i in r.indices { for j in r.indices where i != j { rr += k(r[i], r[j]) } }
        for a in g { for b in r { gr += k(a, b) } }
        return gg / Double(g.count * (g.count - 1)) + rr / Double(r.count * (r.count - 1)) - 2 * gr / Double(g.count * r.count)
    }

    @Test func equalsTheDefinition() throws {
        var rng = RNG(seed: 1)
        let g = Self.gaussian(9, dim: 5, shift: 0.3, &rng), r = Self.gaussian(14, dim: 5, shift: 0, &rng)
        let ours = try #require(KID.mmd2(Self.block(g, r), Array(0..<9)))
        #expect(abs(ours - Self.definition(g, r)) < 1e-12 * max(1, abs(ours)))
    }

    /// Two sets from one distribution: the mean over many draws is about 0 (the biased estimate, with
    /// the i = j terms, sits well above it at N = 8); a shift makes it grow monotonically.
    @Test func unbiasedAtSmallNAndGrowsWithShift() throws {
        var rng = RNG(seed: 2)
        var sum = 0.0, sumSq = 0.0, biased = 0.0
        let trials = 200
        for _ in 0..<trials {
            let g = Self.gaussian(8, dim: 6, shift: 0, &rng), r = Self.gaussian(16, dim: 6, shift: 0, &rng)
            let v = try #require(KID.mmd2(Self.block(g, r), Array(0..<8)))
            sum += v; sumSq += v * v
            // The biased (V-statistic) estimate for comparison: every i, j including i = j.
            func k(_ a: [Double], _ b: [Double]) -> Double { pow(zip(a, b).map { $0 * $1 }.reduce(0, +) / 6 + 1, 3) }
            var gg = 0.0, rr = 0.0, gr = 0.0
            for a in g { for b in g { gg += k(a, b) } }
            for a in r { for b in r { rr += k(a, b) } }
            for a in g { for b in r { gr += k(a, b) } }
            biased += gg / 64 + rr / 256 - 2 * gr / 128
        }
        let mean = sum / Double(trials), se = ((sumSq / Double(trials) - mean * mean) / Double(trials)).squareRoot()
        print("KID same distribution: mean \(mean) ± \(se); biased estimate mean \(biased / Double(trials))")
        #expect(abs(mean) < 3 * se, "mean \(mean), standard error \(se)")
        #expect(biased / Double(trials) > 10 * se, "the biased estimate should sit above 0")
        var last = -Double.infinity
        var r2 = RNG(seed: 3)
        for shift in [0.0, 0.5, 1.0, 2.0] {
            // The mean of 10 draws of 32 against 32, so the steps stand above the estimate's noise.
            var v = 0.0
            for _ in 0..<10 {
                let g = Self.gaussian(32, dim: 6, shift: shift, &r2), r = Self.gaussian(32, dim: 6, shift: 0, &r2)
                v += try #require(KID.mmd2(Self.block(g, r), Array(0..<32))) / 10
            }
            #expect(v > last, "shift \(shift): \(v) after \(last)")
            last = v
        }
    }

    /// A bootstrap resample that repeats a clip never pairs it with its own copy: one clip repeated
    /// has no distinct pairs (no value), and two clips each repeated give the two-clip value.
    @Test func repeatsAreNotPairs() throws {
        var rng = RNG(seed: 4)
        let g = Self.gaussian(4, dim: 5, shift: 0, &rng), r = Self.gaussian(6, dim: 5, shift: 0, &rng)
        let b = Self.block(g, r)
        #expect(KID.mmd2(b, [2, 2, 2]) == nil)
        let two = try #require(KID.mmd2(b, [0, 1]))
        let twoRepeated = try #require(KID.mmd2(b, [0, 0, 1, 1]))
        #expect(abs(two - twoRepeated) < 1e-12)
    }
}
