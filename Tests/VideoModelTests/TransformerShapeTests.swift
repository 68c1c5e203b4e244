import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// Shapes beyond the fixtures: layers, heads, channels, frames, odd patch grids, batch sizes, both
/// position schemes. Forward against the naive Float64 reference; backward against finite differences.
@Suite("Transformer on other shapes") struct TransformerShapeTests {
    struct Case: Sendable, CustomStringConvertible {
        var rope: Bool, layers: Int, heads: Int, hd: Int, cin: Int, cout: Int, batch: Int, frames: Int, h: Int, w: Int, text: Int, patch: Int
        var description: String { "\(rope ? "rope" : "sincos") L\(layers) h\(heads)x\(hd) c\(cin)->\(cout) b\(batch) f\(frames) \(h)x\(w) p\(patch) t\(text)" }
    }

    static let cases: [Case] = [
        Case(rope: false, layers: 3, heads: 1, hd: 16, cin: 3, cout: 5, batch: 3, frames: 2, h: 6, w: 10, text: 4, patch: 2),
        Case(rope: true, layers: 1, heads: 3, hd: 16, cin: 2, cout: 2, batch: 2, frames: 4, h: 6, w: 2, text: 3, patch: 2),
        Case(rope: true, layers: 2, heads: 2, hd: 16, cin: 4, cout: 4, batch: 1, frames: 1, h: 3, w: 9, text: 2, patch: 3),
        Case(rope: false, layers: 1, heads: 2, hd: 8, cin: 1, cout: 1, batch: 2, frames: 3, h: 5, w: 7, text: 5, patch: 1),
    ]

    static func model(_ c: Case, seed: UInt64) throws -> CogVideoXTransformer {
        var cfg = CogVideoXConfig()
        cfg.useRotaryPositionalEmbeddings = c.rope
        cfg.numLayers = c.layers
        cfg.numAttentionHeads = c.heads
        cfg.attentionHeadDim = c.hd
        cfg.inChannels = c.cin
        cfg.outChannels = c.cout
        cfg.timeEmbedDim = 12
        cfg.textEmbedDim = 7
        cfg.patchSize = c.patch
        cfg.maxTextSeqLength = c.text
        cfg.sampleHeight = c.h * 2
        cfg.sampleWidth = c.w
        let m = try CogVideoXTransformer(config: cfg)
        m.initializeRandom(seed: seed)
        // Random (not identity) norm affines and larger modulation, so every term matters.
        var rng = RNG(seed: seed + 1)
        for e in m.layout.entries where e.shape.count == 1 {
            let r = rng.normal(e.count, std: 0.3)
            for j in 0..<e.count { m.parameters[e.offset + j] += r[j] }
        }
        return m
    }

    @Test(arguments: cases) func forwardMatchesNaiveReference(c: Case) throws {
        let m = try Self.model(c, seed: 11)
        var rng = RNG(seed: 12)
        let shape = VideoShape(batch: c.batch, frames: c.frames, channels: c.cin, height: c.h, width: c.w)
        let x = rng.normal(shape.count), text = rng.normal(c.batch * c.text * 7)
        let ts: [Float] = (0..<c.batch).map { Float(97 + 301 * $0) }
        let out = try m.forward(hidden: x, shape: shape, text: text, textLength: c.text, timesteps: ts)
        let naive = NaiveCogVideoX(m)
        var ref: [Float] = []
        let per = c.frames * c.cin * c.h * c.w
        for b in 0..<c.batch {
            ref += naive.forward(hidden: x[(b * per)..<((b + 1) * per)].map(Double.init), f: c.frames, h: c.h, w: c.w,
                                 text: text[(b * c.text * 7)..<((b + 1) * c.text * 7)].map(Double.init), l: c.text,
                                 t: Double(ts[b])).map(Float.init)
        }
        let cmp = compareTensors(out, ref)
        #expect(cmp.relErr < 1e-4, "\(c): rel_err \(cmp.relErr)")
    }

    @Test(arguments: cases) func backwardMatchesFiniteDifferences(c: Case) throws {
        let m = try Self.model(c, seed: 21)
        var rng = RNG(seed: 22)
        let shape = VideoShape(batch: c.batch, frames: c.frames, channels: c.cin, height: c.h, width: c.w)
        let x = rng.normal(shape.count), text = rng.normal(c.batch * c.text * 7)
        let ts: [Float] = (0..<c.batch).map { Float(500 + 37 * $0) }
        let g = rng.normal(c.batch * c.frames * c.cout * c.h * c.w)
        func loss(_ out: [Float]) -> Double { zip(out, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        m.zeroGradients()
        let cache = try m.forwardTraining(hidden: x, shape: shape, text: text, textLength: c.text, timesteps: ts)
        let grads = try m.backward(cache, dOutput: g)
        let params = m.parameters.array
        let analytic = m.gradients!.array
        let idx = GradCheck.sampleIndices(params.count, count: 40, seed: 23)
        let num = GradCheck.numeric({ p in
            m.parameters.copy(from: p)
            return loss(try! m.forward(hidden: x, shape: shape, text: text, textLength: c.text, timesteps: ts))
        }, at: params, indices: idx, h: 3e-3)
        m.parameters.copy(from: params)
        #expect(GradCheck.compare(analytic: analytic, numeric: num, indices: idx).relErr < 2e-2, "\(c) parameters")
        // Input gradients against central differences of the independent Float64 forward (NaiveCogVideoX):
        // Float32 differences of our own forward carry ~2e-2 of rounding noise at these sizes, the
        // Float64 ones ~1e-6, so the bound can be 1e-3.
        let naive = NaiveCogVideoX(m)
        let per = c.frames * c.cin * c.h * c.w, perText = c.text * 7, perOut = c.frames * c.cout * c.h * c.w
        func naiveLoss(_ xd: [Double], _ td: [Double]) -> Double {
            var s = 0.0
            for b in 0..<c.batch {
                let o = naive.forward(hidden: Array(xd[(b * per)..<((b + 1) * per)]), f: c.frames, h: c.h, w: c.w,
                                      text: Array(td[(b * perText)..<((b + 1) * perText)]), l: c.text, t: Double(ts[b]))
                for i in 0..<perOut { s += o[i] * Double(g[b * perOut + i]) }
            }
            return s
        }
        func central(_ v: [Double], _ i: Int, _ f: ([Double]) -> Double) -> Double {
            var p = v, q = v
            p[i] += 1e-5
            q[i] -= 1e-5
            return (f(p) - f(q)) / 2e-5
        }
        let xd = x.map(Double.init), td = text.map(Double.init)
        let ix = GradCheck.sampleIndices(x.count, count: 15, seed: 24)
        let nx = ix.map { central(xd, $0) { naiveLoss($0, td) } }
        #expect(GradCheck.compare(analytic: grads.hidden!, numeric: nx, indices: ix).relErr < 1e-3, "\(c) hidden")
        let it = GradCheck.sampleIndices(text.count, count: 15, seed: 25)
        let nt = it.map { central(td, $0) { naiveLoss(xd, $0) } }
        #expect(GradCheck.compare(analytic: grads.text!, numeric: nt, indices: it).relErr < 1e-3, "\(c) text")
    }

    @Test func badInputsAreRefused() throws {
        let m = try Self.model(Self.cases[0], seed: 1)
        let shape = VideoShape(batch: 1, frames: 2, channels: 3, height: 6, width: 10)
        #expect(throws: ModelError.self) { _ = try m.forward(hidden: [1], shape: shape, text: [Float](repeating: 0, count: 28), textLength: 4, timesteps: [1]) }
        #expect(throws: ModelError.self) { _ = try m.forward(hidden: [Float](repeating: 0, count: shape.count), shape: shape, text: [Float](repeating: 0, count: 21), textLength: 3, timesteps: [1]) }
        let odd = VideoShape(batch: 1, frames: 2, channels: 3, height: 5, width: 10)
        #expect(throws: ModelError.self) { _ = try m.forward(hidden: [Float](repeating: 0, count: odd.count), shape: odd, text: [Float](repeating: 0, count: 28), textLength: 4, timesteps: [1]) }
    }
}
