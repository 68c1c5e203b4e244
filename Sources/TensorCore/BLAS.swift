import CBLAS

/// Row-major single-precision GEMM through OpenBLAS: C = alpha·op(A)·op(B) + beta·C.
///
/// op(A) is m×k, op(B) is k×n, C is m×n. Leading dimensions are row strides in elements.
/// Runs on the calling thread (OpenBLAS is single-threaded here; see `Compute`).
@inlinable
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C·beta; make the k = 0 case explicit for clarity.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The same product split over the rows of C across the workers (for large m).
@inlinable
public func sgemmParallelRows(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                              alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int,
                              beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let ap = SendablePointer(a), bp = SendablePointer(b), cp = SendablePointer(c)
    // Aim for chunks of at least ~64 rows so each GEMM stays efficient.
    parallelChunks(m, minChunk: 64) { _, lo, hi in
        let aOff = transA ? lo : lo * lda
        sgemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
              a: ap.p + aOff, lda: lda, b: bp.p, ldb: ldb, beta: beta, c: cp.p + lo * ldc, ldc: ldc)
    }
}

/// The same product split over the columns of C across the workers (for weight gradients, whose
/// m is small and whose reduction dimension k is large).
@inlinable
public func sgemmParallelCols(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                              alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int,
                              beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let ap = SendablePointer(a), bp = SendablePointer(b), cp = SendablePointer(c)
    parallelChunks(n, minChunk: 32) { _, lo, hi in
        let bOff = transB ? lo * ldb : lo
        sgemm(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha,
              a: ap.p, lda: lda, b: bp.p + bOff, ldb: ldb, beta: beta, c: cp.p + lo, ldc: ldc)
    }
}

/// A batch of equally shaped products C_i = alpha·op(A_i)·op(B_i) + beta·C_i, where the i-th operands
/// start `strideA`, `strideB`, `strideC` elements after the previous ones (a stride of 0 shares an
/// operand across the batch). The batch is spread over the workers, one GEMM per task.
@inlinable
public func sgemmBatched(count: Int, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                         alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, strideA: Int,
                         b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                         beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
    let ap = SendablePointer(a), bp = SendablePointer(b), cp = SendablePointer(c)
    parallelFor(count) { i in
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ap.p + i * strideA, lda: lda,
              b: bp.p + i * strideB, ldb: ldb, beta: beta, c: cp.p + i * strideC, ldc: ldc)
    }
}
