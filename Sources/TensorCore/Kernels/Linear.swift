/// Fully connected layer in PyTorch's layout (`nn.Linear`): y = x·Wᵀ + b with W stored [out, in].
///
/// Forward and backward are a pair (llm.c style): forward needs nothing saved beyond its input x;
/// backward accumulates into dW and db and writes (or accumulates) dx.
public enum Linear {
    /// y[m, n] = x[m, k]·W[n, k]ᵀ + b[n]. Row strides default to the dense ones.
    public static func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                               w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                               m: Int, k: Int, n: Int, ldx: Int? = nil, ldy: Int? = nil) {
        let ldx = ldx ?? k, ldy = ldy ?? n
        let yp = SendablePointer(y), bp = b.map { SendablePointer($0) }
        if let bp {
            for i in 0..<m { (yp.p + i * ldy).update(from: bp.p, count: n) }
        }
        sgemmParallelRows(transB: true, m: m, n: n, k: k, a: x, lda: ldx, b: w, ldb: k,
                          beta: b == nil ? 0 : 1, c: y, ldc: ldy)
    }

    /// Given dy[m, n]: dW[n, k] += dyᵀ·x, db[n] += Σ_rows dy, and dx[m, k] = dy·W (or += with `accumulateDx`).
    /// Pass nil for dx when the input needs no gradient.
    public static func backward(dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>,
                                db: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                m: Int, k: Int, n: Int, ldx: Int? = nil, ldy: Int? = nil,
                                ldDx: Int? = nil, accumulateDx: Bool = false) {
        let ldx = ldx ?? k, ldy = ldy ?? n
        if let dx {
            sgemmParallelRows(m: m, n: k, k: n, a: dy, lda: ldy, b: w, ldb: k,
                              beta: accumulateDx ? 1 : 0, c: dx, ldc: ldDx ?? k)
        }
        // dW[n, k] += dy[m, n]ᵀ · x[m, k]: split over dW's rows (the n outputs).
        let dyp = SendablePointer(dy), xp = SendablePointer(x), dwp = SendablePointer(dw)
        parallelChunks(n, minChunk: 16) { _, lo, hi in
            sgemm(transA: true, m: hi - lo, n: k, k: m, a: dyp.p + lo, lda: ldy,
                  b: xp.p, ldb: ldx, beta: 1, c: dwp.p + lo * k, ldc: k)
        }
        if let db {
            let dbp = SendablePointer(db)
            parallelChunks(n, minChunk: 64) { _, lo, hi in
                for i in 0..<m { RowMath.add(dbp.p + lo, dyp.p + i * ldy + lo, hi - lo) }
            }
        }
    }
}
