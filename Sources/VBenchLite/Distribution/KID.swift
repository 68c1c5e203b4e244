import Foundation

/// Kernel Inception Distance (Bińkowski et al. 2018) on `ClipFeatures`: the unbiased estimate of the
/// squared maximum mean discrepancy with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³,
///   MMD² = mean_{i≠j} k(g_i, g_j) + mean_{r≠s} k(r_r, r_s) − 2 mean_{i,r} k(g_i, r_r),
/// computed per prompt (conditional, as the Frechet distance is) and averaged over prompts. Unlike FID
/// it has no bias at small N: its expectation is 0 when both sets come from one distribution, so the
/// world against itself scores about 0 (negative values are sampling noise, kept as they are).
enum KID {
    static func mmd2(_ b: PromptBlock, _ idx: [Int]) -> Double? {
        let ng = b.genCount, nr = b.refCount
        guard nr >= 2, idx.count >= 2 else { return nil }
        var kgg = 0.0, pairs = 0.0
        for i in 0..<idx.count {
            for j in 0..<idx.count where i != j && idx[i] != idx[j] {
                kgg += b.kGG[idx[i] * ng + idx[j]]
                pairs += 1
            }
        }
        guard pairs > 0 else { return nil }
        var kgr = 0.0
        for i in idx { for r in 0..<nr { kgr += b.kGR[i * nr + r] } }
        return kgg / pairs + b.refKernelMean - 2 * kgr / Double(idx.count * nr)
    }
}
