import Foundation

/// Eigenvalues and eigenvectors of a small symmetric matrix by cyclic Jacobi rotations (Golub & Van
/// Loan §8.5), in Float64: what scipy's `sqrtm` does for the Frechet distance, restricted to the
/// symmetric positive semi-definite matrices that distance needs. VBenchLite keeps its own copy so that
/// it depends on nothing but VideoIO.
enum SymmetricEigen {
    /// (eigenvalues, eigenvectors as columns of a row-major n×n matrix) of the row-major symmetric `a`.
    static func decompose(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var m = a
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        guard n > 1 else { return (m, v) }
        m.withUnsafeMutableBufferPointer { A in
            v.withUnsafeMutableBufferPointer { V in
                for _ in 0..<60 {
                    var off = 0.0, diag = 0.0
                    for i in 0..<n {
                        diag += A[i * n + i] * A[i * n + i]
                        for j in (i + 1)..<n { off += A[i * n + j] * A[i * n + j] }
                    }
                    if off <= 1e-26 * max(diag, 1e-300) { break }
                    for p in 0..<(n - 1) {
                        for q in (p + 1)..<n {
                            let apq = A[p * n + q]
                            if abs(apq) < 1e-300 { continue }
                            let app = A[p * n + p], aqq = A[q * n + q]
                            let theta = (aqq - app) / (2 * apq)
                            let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                            let c = 1 / (t * t + 1).squareRoot(), s = t * c
                            // Rows and columns p and q of A.
                            for k in 0..<n {
                                let akp = A[k * n + p], akq = A[k * n + q]
                                A[k * n + p] = c * akp - s * akq
                                A[k * n + q] = s * akp + c * akq
                            }
                            for k in 0..<n {
                                let apk = A[p * n + k], aqk = A[q * n + k]
                                A[p * n + k] = c * apk - s * aqk
                                A[q * n + k] = s * apk + c * aqk
                            }
                            for k in 0..<n {
                                let vkp = V[k * n + p], vkq = V[k * n + q]
                                V[k * n + p] = c * vkp - s * vkq
                                V[k * n + q] = s * vkp + c * vkq
                            }
                        }
                    }
                }
            }
        }
        return ((0..<n).map { m[$0 * n + $0] }, v)
    }

    /// The symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues,
    /// rounding noise, clipped to 0).
    static func sqrtPSD(_ a: [Double], n: Int) -> [Double] {
        let (vals, vecs) = decompose(a, n: n)
        var out = [Double](repeating: 0, count: n * n)
        for k in 0..<n {
            let s = max(0, vals[k]).squareRoot()
            guard s > 0 else { continue }
            for i in 0..<n {
                let vi = vecs[i * n + k] * s
                guard vi != 0 else { continue }
                for j in 0..<n { out[i * n + j] += vi * vecs[j * n + k] }
            }
        }
        return out
    }

    /// Σ √λ over the eigenvalues of a symmetric positive semi-definite matrix (negatives clipped).
    static func traceSqrt(_ a: [Double], n: Int) -> Double {
        decompose(a, n: n).values.reduce(0) { $0 + max(0, $1).squareRoot() }
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
