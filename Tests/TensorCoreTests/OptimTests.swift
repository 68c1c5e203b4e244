import Foundation
import Testing
@testable import TensorCore

@Suite("Optimiser and RNG") struct OptimTests {
    /// AdamW against the update written out by hand from PyTorch's documented algorithm, in Double.
    @Test(arguments: [Float(0.9), Float(0)]) func adamwMatchesTheFormula(beta1: Float) {
        var p: [Float] = [0.5, -1.0, 2.0]
        var opt = AdamW(count: 3, beta1: beta1, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)
        var rp = p.map(Double.init), m = [0.0, 0, 0], v = [0.0, 0, 0]
        let lr: Float = 0.01
        for t in 1...5 {
            let g: [Float] = p.map { $0 * $0 - 0.3 }
            opt.update(params: &p, grads: g, count: 3, lr: lr)
            for i in 0..<3 {
                let gi = Double(rp[i] * rp[i] - 0.3)
                rp[i] *= 1 - Double(lr) * 0.1
                m[i] = Double(beta1) * m[i] + (1 - Double(beta1)) * gi
                v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let mh = m[i] / (1 - pow(Double(beta1), Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                rp[i] -= Double(lr) * mh / (vh.squareRoot() + 1e-8)
            }
        }
        for i in 0..<3 { #expect(abs(Double(p[i]) - rp[i]) < 1e-5) }
    }

    @Test func clipping() {
        var g: [Float] = [3, 4]
        let n = clipGradientNorm(&g, count: 2, maxNorm: 1)
        #expect(abs(n - 5) < 1e-9)
        #expect(abs(gradientNorm(g, count: 2) - 1) < 1e-5)
        var small: [Float] = [0.3, 0.4]
        clipGradientNorm(&small, count: 2, maxNorm: 1)
        #expect(small == [0.3, 0.4])
    }

    @Test func rngIsReproducibleAndNormal() throws {
        var a = RNG(seed: 42), b = RNG(seed: 42)
        #expect(a.normal(100) == b.normal(100))
        let saved = a.state
        let x = a.normal(10)
        var c = try RNG(state: saved)
        #expect(c.normal(10) == x)
        var r = RNG(seed: 7)
        let z = r.normal(200_000)
        let mean = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
        let varc = z.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(z.count) - mean * mean
        #expect(abs(mean) < 0.01)
        #expect(abs(varc - 1) < 0.01)
        #expect(throws: (any Error).self) { try RNG(state: [0, 0, 0, 0]) }
    }
}

@Suite("Fast math") struct FastMathTests {
    /// A fill of normals is `normalPair` after `normalPair`, bit for bit, whether it transforms on the
    /// workers (large fills) or one pair at a time, and leaves the stream where the pairs leave it.
    @Test(arguments: [1, 2, 7, 2 * RNG.parallelNormalPairs - 1, 2 * RNG.parallelNormalPairs, 5 * RNG.parallelNormalPairs + 3])
    func normalFillIsPairAfterPair(count: Int) {
        var a = RNG(seed: 42), b = RNG(seed: 42)
        let fill = a.normal(count, std: 0.5)
        var expected: [Float] = []
        while expected.count < count {
            let (x, y) = b.normalPair()
            expected.append(Float(x) * 0.5)
            if expected.count < count { expected.append(Float(y) * 0.5) }
        }
        #expect(fill == expected)
        #expect(a.uniform() == b.uniform())
    }

    @Test func expAndTanhAreAccurate() {
        var worstExp = 0.0, worstTanh = 0.0
        var x: Float = -80
        while x < 80 {
            let ref = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(Double(FastMath.exp(x)) - ref) / ref)
            worstTanh = max(worstTanh, abs(Double(FastMath.tanh(x)) - Foundation.tanh(Double(x))))
            x += 0.0137
        }
        #expect(worstExp < 5e-7)
        #expect(worstTanh < 5e-7)
        #expect(FastMath.exp(-1000) < 1e-37 && FastMath.exp(-1000) >= 0)
        #expect(FastMath.tanh(50) == 1 && FastMath.tanh(-50) == -1)
    }
}
