import Foundation

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations, in Float64.
/// Used to fit the PCA latent codec (a 96×96 covariance); exact to rounding, no LAPACK needed.
public enum SymmetricEigen {
    /// Eigenvalues in descending order and the matching unit eigenvectors as rows ([n·n], row i is
    /// the i-th eigenvector). `a` is n×n row-major and must be symmetric.
    public static func decompose(_ a: [Double], n: Int, sweeps: Int = 100) -> (values: [Double], vectors: [Double]) {
        precondition(a.count == n * n, "SymmetricEigen: \(a.count) values for a \(n)x\(n) matrix")
        var m = a
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<sweeps {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += m[i * n + j] * m[i * n + j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = m[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let app = m[p * n + p], aqq = m[q * n + q]
                    let theta = (aqq - app) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let mkp = m[k * n + p], mkq = m[k * n + q]
                        m[k * n + p] = c * mkp - s * mkq
                        m[k * n + q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {
                        let mpk = m[p * n + k], mqk = m[q * n + k]
                        m[p * n + k] = c * mpk - s * mqk
                        m[q * n + k] = s * mpk + c * mqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { m[$0 * n + $0] > m[$1 * n + $1] }
        var vals = [Double](), vecs = [Double](repeating: 0, count: n * n)
        for (r, i) in order.enumerated() {
            vals.append(m[i * n + i])
            for k in 0..<n { vecs[r * n + k] = v[k * n + i] }
        }
        return (vals, vecs)
    }
}
