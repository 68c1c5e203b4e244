import Foundation

/// A conditional Frechet distance on `ClipFeatures` (the FID/FVD formula of Heusel et al. 2017 on our
/// features): with μ_p the mean of prompt p's clips and Σ the covariance of the residuals x − μ_p pooled
/// over prompts (per-prompt means removed, N − P degrees of freedom),
///   cFD = mean_p |μ_p^G − μ_p^R|² + tr Σ_G + tr Σ_R − 2 tr (Σ_R^½ Σ_G Σ_R^½)^½.
/// Pooling the residuals keeps the differences between prompts (layouts, colours) out of the
/// covariances, where a plain FD over all clips lets them swamp what a model changes within a prompt
/// (blur, lost variety); the prototype ranked blurred clips above the world's own with the
/// plain FD. The mean term is the conditional part: each prompt's clips against that prompt's reference.
/// It is biased upwards at small N (as FID is); compare it with the world-against-world floor at the
/// same N, which the report gives beside it.
struct FrechetDistance {
    let dims: Int
    let refMeans: [[Double]]
    let refCov: [Double]
    let refCovSqrt: [Double]
    let refTrace: Double

    init(reference blocks: [PromptBlock]) {
        let d = blocks.first?.ref.first?.count ?? 0
        dims = d
        refMeans = blocks.map { Self.mean($0.ref, d) }
        let cov = Self.pooledCovariance(blocks.map(\.ref), d)
        refCov = cov
        refCovSqrt = SymmetricEigen.sqrtPSD(cov, n: d)
        refTrace = (0..<d).reduce(0) { $0 + cov[$1 * d + $1] }
    }

    static func mean(_ xs: [[Double]], _ d: Int) -> [Double] {
        var m = [Double](repeating: 0, count: d)
        for x in xs { for j in 0..<d { m[j] += x[j] } }
        let n = Double(max(xs.count, 1))
        return m.map { $0 / n }
    }

    /// Covariance of within-group residuals, pooled: Σ_p Σ_i (x − μ_p)(x − μ_p)ᵀ / Σ_p (n_p − 1).
    static func pooledCovariance(_ groups: [[[Double]]], _ d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: d * d)
        var dof = 0
        var r = [Double](repeating: 0, count: d)
        for g in groups where g.count >= 2 {
            let m = mean(g, d)
            for x in g {
                for j in 0..<d { r[j] = x[j] - m[j] }
                for i in 0..<d {
                    let ri = r[i]
                    if ri == 0 { continue }
                    for j in i..<d { c[i * d + j] += ri * r[j] }
                }
            }
            dof += g.count - 1
        }
        let s = 1 / Double(max(dof, 1))
        for i in 0..<d { for j in i..<d { c[i * d + j] *= s; c[j * d + i] = c[i * d + j] } }
        return c
    }

    /// The distance of evaluated clips (per prompt, the same order as the reference's blocks).
    func distance(_ gen: [[[Double]]]) -> Double {
        let d = dims
        var meanTerm = 0.0, prompts = 0.0
        for (p, g) in gen.enumerated() where !g.isEmpty {
            let m = Self.mean(g, d)
            var s = 0.0
            for j in 0..<d { let x = m[j] - refMeans[p][j]; s += x * x }
            meanTerm += s
            prompts += 1
        }
        let cg = Self.pooledCovariance(gen, d)
        let tg = (0..<d).reduce(0) { $0 + cg[$1 * d + $1] }
        let inner = SymmetricEigen.multiply(SymmetricEigen.multiply(refCovSqrt, cg, n: d), refCovSqrt, n: d)
        var sym = inner
        for i in 0..<d { for j in 0..<d { sym[i * d + j] = 0.5 * (inner[i * d + j] + inner[j * d + i]) } }
        let cross = SymmetricEigen.traceSqrt(sym, n: d)
        return meanTerm / max(prompts, 1) + max(0, tg + refTrace - 2 * cross)
    }
}
