import Foundation

/// Improved precision and recall (Kynkäänniemi et al. 2019), per prompt: each set's manifold is the
/// union of balls around its clips reaching each clip's k-th nearest neighbour in the same set (k = 3,
/// fewer when the set is smaller). Precision is the fraction of evaluated clips inside the reference's
/// manifold (blur, artefacts and wrong content lower it); recall the fraction of reference clips inside
/// the evaluated set's manifold (mode collapse lowers it: the balls of a set of near-identical clips are
/// tiny). Averaged over prompts.
enum PrecisionRecall {
    static func precision(_ b: PromptBlock, _ idx: [Int]) -> Double? {
        let nr = b.refCount
        guard nr >= 2, !idx.isEmpty else { return nil }
        var inside = 0
        for i in idx {
            for r in 0..<nr where b.dGR[i * nr + r] <= b.refRadius[r] { inside += 1; break }
        }
        return Double(inside) / Double(idx.count)
    }

    static func recall(_ b: PromptBlock, _ idx: [Int]) -> Double? {
        let ng = b.genCount, nr = b.refCount
        guard nr >= 1 else { return nil }
        // The evaluated set's radii, over neighbours from other seeds (a repeated seed is one clip).
        let distinct = Array(Set(idx)).sorted()
        let kk = min(PromptBlock.k, distinct.count - 1)
        guard kk >= 1 else { return distinct.isEmpty ? nil : 0 }
        var radius: [Double] = []
        for a in distinct {
            var ds: [Double] = []
            for j in idx where j != a { ds.append(b.dGG[a * ng + j]) }
            ds.sort()
            radius.append(ds[min(kk, ds.count) - 1])
        }
        var covered = 0
        for r in 0..<nr {
            for (t, a) in distinct.enumerated() where b.dGR[a * nr + r] <= radius[t] { covered += 1; break }
        }
        return Double(covered) / Double(nr)
    }
}
