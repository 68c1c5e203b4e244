import Foundation
import Testing
@testable import TensorCore

/// Every backward kernel against central finite differences of its own forward (in Double sums).
@Suite("Kernel gradients") struct KernelGradTests {
    /// Scalar loss L = Σ out·g used by every check.
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    @Test func linear() {
        var rng = RNG(seed: 1)
        let m = 7, k = 5, n = 6
        let x = rng.normal(m * k), w = rng.normal(n * k), b = rng.normal(n), g = rng.normal(m * n)
        func fwd(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: m * n)
            Linear.forward(y: &y, x: x, w: w, b: b, m: m, k: k, n: n)
            return y
        }
        var dx = [Float](repeating: 0, count: m * k), dw = [Float](repeating: 0, count: n * k)
        var db = [Float](repeating: 0, count: n)
        Linear.backward(dx: &dx, dw: &dw, db: &db, dy: g, x: x, w: w, m: m, k: k, n: n)
        let ix = GradCheck.sampleIndices(x.count, count: 20, seed: 2)
        let nx = GradCheck.numeric({ Self.dot(fwd($0, w, b), g) }, at: x, indices: ix)
        #expect(GradCheck.compare(analytic: dx, numeric: nx, indices: ix).relErr < 1e-3)
        let iw = GradCheck.sampleIndices(w.count, count: 20, seed: 3)
        let nw = GradCheck.numeric({ Self.dot(fwd(x, $0, b), g) }, at: w, indices: iw)
        #expect(GradCheck.compare(analytic: dw, numeric: nw, indices: iw).relErr < 1e-3)
        let ib = Array(0..<n)
        let nb = GradCheck.numeric({ Self.dot(fwd(x, w, $0), g) }, at: b, indices: ib)
        #expect(GradCheck.compare(analytic: db, numeric: nb, indices: ib).relErr < 1e-3)
    }

    @Test(arguments: [1, 3, 80]) func layerNorm(rows: Int) {
        var rng = RNG(seed: UInt64(rows))
        let dim = 9
        let x = rng.normal(rows * dim).map { $0 * 2 + 0.5 }, w = rng.normal(dim), b = rng.normal(dim)
        let g = rng.normal(rows * dim)
        func fwd(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: rows * dim)
            var mu = [Float](repeating: 0, count: rows), rs = mu
            LayerNorm.forward(out: &y, mean: &mu, rstd: &rs, x: x, w: w, b: b, rows: rows, dim: dim, eps: 1e-5)
            return y
        }
        var mu = [Float](repeating: 0, count: rows), rs = mu
        var y = [Float](repeating: 0, count: rows * dim)
        LayerNorm.forward(out: &y, mean: &mu, rstd: &rs, x: x, w: w, b: b, rows: rows, dim: dim, eps: 1e-5)
        var dx = [Float](repeating: 0, count: rows * dim), dw = [Float](repeating: 0, count: dim), db = dw
        LayerNorm.backward(dx: &dx, dw: &dw, db: &db, dout: g, x: x, w: w, mean: mu, rstd: rs, rows: rows, dim: dim)
        let ix = GradCheck.sampleIndices(x.count, count: 30, seed: 5)
        let nx = GradCheck.numeric({ Self.dot(fwd($0, w, b), g) }, at: x, indices: ix, h: 1e-2)
        #expect(GradCheck.compare(analytic: dx, numeric: nx, indices: ix).relErr < 5e-3)
        let iw = Array(0..<dim)
        let nw = GradCheck.numeric({ Self.dot(fwd(x, $0, b), g) }, at: w, indices: iw)
        #expect(GradCheck.compare(analytic: dw, numeric: nw, indices: iw).relErr < 1e-3)
        let nb = GradCheck.numeric({ Self.dot(fwd(x, w, $0), g) }, at: b, indices: iw)
        #expect(GradCheck.compare(analytic: db, numeric: nb, indices: iw).relErr < 1e-3)
    }

    @Test func activations() {
        var rng = RNG(seed: 9)
        let x = rng.normal(64).map { $0 * 3 }, g = rng.normal(64)
        let idx = Array(0..<64)
        for (fwd, bwd) in [(Activation.geluForward, Activation.geluBackward)] {
            func f(_ x: [Float]) -> Double { var y = x; fwd(&y, x, x.count); return Self.dot(y, g) }
            var dx = [Float](repeating: 0, count: 64)
            bwd(&dx, g, x, 64, false)
            let n = GradCheck.numeric(f, at: x, indices: idx, h: 1e-3)
            #expect(GradCheck.compare(analytic: dx, numeric: n, indices: idx).relErr < 2e-3)
        }
        func fs(_ x: [Float]) -> Double { var y = x; Activation.siluForward(&y, x, x.count); return Self.dot(y, g) }
        var dx = [Float](repeating: 0, count: 64)
        Activation.siluBackward(&dx, g, x, 64)
        let n = GradCheck.numeric(fs, at: x, indices: idx, h: 1e-3)
        #expect(GradCheck.compare(analytic: dx, numeric: n, indices: idx).relErr < 2e-3)
        // The tanh GELU itself, against its formula in Double.
        for v in [-3.0, -0.5, 0.0, 0.7, 2.5] {
            let inner: Double = (2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)
            let ref: Double = 0.5 * v * (1 + tanh(inner))
            #expect(abs(Double(Activation.gelu(Float(v))) - ref) < 1e-6)
        }
    }

    /// Naive attention in Double: the reference for the tiled kernel.
    static func naiveAttention(q: [Float], k: [Float], v: [Float], seq: Int, d: Int, scale: Double) -> [Double] {
        var out = [Double](repeating: 0, count: seq * d)
        for i in 0..<seq {
            var s = [Double](repeating: 0, count: seq)
            for j in 0..<seq { for c in 0..<d { s[j] += Double(q[i * d + c]) * Double(k[j * d + c]) }; s[j] *= scale }
            let mx = s.max()!
            let e = s.map { exp($0 - mx) }, z = e.reduce(0, +)
            for j in 0..<seq { for c in 0..<d { out[i * d + c] += e[j] / z * Double(v[j * d + c]) } }
        }
        return out
    }

    /// Sequence lengths below, at and above one tile (tileRows(seq: 1100) < 1100 forces several tiles).
    @Test(arguments: [5, 33, 1100]) func attention(seq: Int) {
        var rng = RNG(seed: UInt64(seq))
        let d = 4
        let q = rng.normal(seq * d), k = rng.normal(seq * d), v = rng.normal(seq * d), g = rng.normal(seq * d)
        let scale: Float = 0.5
        func fwd(_ q: [Float], _ k: [Float], _ v: [Float]) -> [Float] {
            var o = [Float](repeating: 0, count: seq * d), lse = [Float](repeating: 0, count: seq)
            var scr = [Float](repeating: 0, count: Attention.forwardScratch(seq: seq))
            Attention.forwardHead(out: &o, ldo: d, lse: &lse, q: q, ldq: d, k: k, ldk: d, v: v, ldv: d,
                                  seq: seq, headDim: d, scale: scale, scratch: &scr)
            return o
        }
        let o = fwd(q, k, v)
        let ref = Self.naiveAttention(q: q, k: k, v: v, seq: seq, d: d, scale: Double(scale))
        var worst = 0.0
        for i in 0..<o.count { worst = max(worst, abs(Double(o[i]) - ref[i])) }
        #expect(worst < 1e-5)
        if seq > 100 { #expect(Attention.tileRows(seq: seq) < seq) }

        var lse = [Float](repeating: 0, count: seq)
        var o2 = [Float](repeating: 0, count: seq * d)
        var scr = [Float](repeating: 0, count: Attention.forwardScratch(seq: seq))
        Attention.forwardHead(out: &o2, ldo: d, lse: &lse, q: q, ldq: d, k: k, ldk: d, v: v, ldv: d,
                              seq: seq, headDim: d, scale: scale, scratch: &scr)
        var dq = [Float](repeating: 0, count: seq * d), dk = dq, dv = dq
        var bscr = [Float](repeating: 0, count: Attention.backwardScratch(seq: seq))
        Attention.backwardHead(dq: &dq, lddq: d, dk: &dk, lddk: d, dv: &dv, lddv: d, dout: g, lddo: d,
                               out: o2, ldo: d, lse: lse, q: q, ldq: d, k: k, ldk: d, v: v, ldv: d,
                               seq: seq, headDim: d, scale: scale, scratch: &bscr)
        let idx = GradCheck.sampleIndices(seq * d, count: 12, seed: 4)
        let nq = GradCheck.numeric({ Self.dot(fwd($0, k, v), g) }, at: q, indices: idx)
        let nk = GradCheck.numeric({ Self.dot(fwd(q, $0, v), g) }, at: k, indices: idx)
        let nv = GradCheck.numeric({ Self.dot(fwd(q, k, $0), g) }, at: v, indices: idx)
        #expect(GradCheck.compare(analytic: dq, numeric: nq, indices: idx).relErr < 1e-2)
        #expect(GradCheck.compare(analytic: dk, numeric: nk, indices: idx).relErr < 1e-2)
        #expect(GradCheck.compare(analytic: dv, numeric: nv, indices: idx).relErr < 1e-2)
    }

    /// The checker itself must catch a wrong gradient.
    @Test func checkerDetectsAWrongGradient() {
        let x: [Float] = [0.3, -1.2, 2.0]
        let idx = [0, 1, 2]
        let n = GradCheck.numeric({ v in v.reduce(0.0) { $0 + Double($1 * $1) } }, at: x, indices: idx)
        let right = x.map { 2 * $0 }, wrong = x.map { 2.2 * $0 }
        #expect(GradCheck.compare(analytic: right, numeric: n, indices: idx).relErr < 1e-3)
        #expect(GradCheck.compare(analytic: wrong, numeric: n, indices: idx).relErr > 0.05)
    }
}

@Suite("GEMM") struct GEMMTests {
    /// Every transpose combination, plain, row-split, column-split and batched, against naive loops.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matchesNaiveProducts(t: (Bool, Bool)) {
        var rng = RNG(seed: 5)
        let (ta, tb) = t
        let m = 130, n = 70, k = 33, batch = 3
        let a = rng.normal(batch * m * k), b = rng.normal(batch * k * n), c0 = rng.normal(batch * m * n)
        let lda = ta ? m : k, ldb = tb ? k : n
        func ref(_ i: Int) -> [Float] {
            (0..<(m * n)).map { idx in
                let r = idx / n, col = idx % n
                var s: Double = 0
                for q in 0..<k {
                    let av = ta ? a[i * m * k + q * lda + r] : a[i * m * k + r * lda + q]
                    let bv = tb ? b[i * k * n + col * ldb + q] : b[i * k * n + q * ldb + col]
                    s += Double(av) * Double(bv)
                }
                return Float(2 * s) + 0.5 * c0[i * m * n + idx]
            }
        }
        var c = c0
        sgemmBatched(count: batch, transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, a: a, lda: lda, strideA: m * k,
                     b: b, ldb: ldb, strideB: k * n, beta: 0.5, c: &c, ldc: n, strideC: m * n)
        let want = (0..<batch).flatMap(ref)
        #expect(compareTensors(c, want).relErr < 1e-5)
        var c1 = Array(c0[0..<(m * n)]), c2 = c1
        sgemmParallelRows(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, a: a, lda: lda, b: b, ldb: ldb, beta: 0.5, c: &c1, ldc: n)
        sgemmParallelCols(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, a: a, lda: lda, b: b, ldb: ldb, beta: 0.5, c: &c2, ldc: n)
        #expect(compareTensors(c1, ref(0)).relErr < 1e-5)
        #expect(compareTensors(c2, ref(0)).relErr < 1e-5)
    }
}
