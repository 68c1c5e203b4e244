import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS, opened with `dlopen` on first use instead of linked: a command that does no linear algebra
/// (`--help`, `score`) never loads it, and a command that does can ask it for one thread before it
/// loads (`preferSingleThread`), so that its constructor starts no idle worker threads (they spun in
/// `sched_yield` for ~0.1 s of the other core's time in every run, ~25 ms of a single-clip sample's
/// CPU). tdm-video calls only `cblas_sgemm` and pins OpenBLAS to one thread itself (`Compute`).
public enum OpenBLAS {
    /// `cblas_sgemm`'s C signature (the CBLAS enums are C ints; `blasint` is a 32-bit int in the
    /// LP64 builds Debian and Ubuntu ship).
    public typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                             UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    public static let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112

    /// The library's sonames, tried in order.
    static let names = ["libopenblas.so.0", "libopenblas.so"]

    struct Functions: @unchecked Sendable {
        var sgemm: SGEMM
        var setNumThreads: @convention(c) (Int32) -> Void
        var coreName: @convention(c) () -> UnsafeMutablePointer<CChar>?
    }

    nonisolated(unsafe) static var loaded = false

    /// Loaded once per process (a Swift static `let`: thread-safe). A machine without OpenBLAS cannot run
    /// any model; the message says which package provides it.
    static let functions: Functions = {
        var errors: [String] = []
        for name in names {
            guard let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                errors.append(dlerror().map { String(cString: $0) } ?? name)
                continue
            }
            func sym(_ s: String) -> UnsafeMutableRawPointer {
                guard let p = dlsym(h, s) else { fatalError("OpenBLAS (\(name)) has no function \(s)") }
                return p
            }
            loaded = true
            return Functions(sgemm: unsafeBitCast(sym("cblas_sgemm"), to: SGEMM.self),
                             setNumThreads: unsafeBitCast(sym("openblas_set_num_threads"), to: (@convention(c) (Int32) -> Void).self),
                             coreName: unsafeBitCast(sym("openblas_get_corename"), to: (@convention(c) () -> UnsafeMutablePointer<CChar>?).self))
        }
        fatalError("OpenBLAS could not be loaded (\(errors.joined(separator: "; "))): install libopenblas0 (`make deps` does)")
    }()

    /// `cblas_sgemm`, resolved on first use.
    @usableFromInline static let sgemm: SGEMM = functions.sgemm

    /// Asks OpenBLAS for one thread before it loads (OPENBLAS_NUM_THREADS=1), so that it starts no
    /// worker threads. Call it first thing in `main`, while the process has no other thread (the
    /// environment is not safe to change beside running threads); a no-op once OpenBLAS is loaded.
    public static func preferSingleThread() {
        if !loaded { setenv("OPENBLAS_NUM_THREADS", "1", 1) }
    }
}


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
    OpenBLAS.sgemm(OpenBLAS.rowMajor, transA ? OpenBLAS.trans : OpenBLAS.noTrans, transB ? OpenBLAS.trans : OpenBLAS.noTrans,
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
