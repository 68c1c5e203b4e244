import Foundation
import TensorCore

/// Small symmetric positive semi-definite matrix functions for the Frechet distance (what scipy's
/// `sqrtm` gives it), on TensorCore's Jacobi eigen-decomposition (eigenvectors as rows).
enum PSDMatrix {
    /// The symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues,
    /// rounding noise, clipped to 0).
    static func sqrtPSD(_ a: [Double], n: Int) -> [Double] {
        let (vals, vecs) = SymmetricEigen.decompose(a, n: n)
        var out = [Double](repeating: 0, count: n * n)
        for k in 0..<n {
            let s = max(0, vals[k]).squareRoot()
            guard s > 0 else { continue }
            for i in 0..<n {
                let vi = vecs[k * n + i] * s
                guard vi != 0 else { continue }
                for j in 0..<n { out[i * n + j] += vi * vecs[k * n + j] }
            }
        }
        return out
    }

    /// Σ √λ over the eigenvalues of a symmetric positive semi-definite matrix (negatives clipped).
    static func traceSqrt(_ a: [Double], n: Int) -> Double {
        SymmetricEigen.decompose(a, n: n).values.reduce(0) { $0 + max(0, $1).squareRoot() }
    }

    /// Row-major n×n product.
    static func multiply(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for k in 0..<n {
                let aik = a[i * n + k]
                if aik == 0 { continue }
                for j in 0..<n { out[i * n + j] += aik * b[k * n + j] }
            }
        }
        return out
    }
}
