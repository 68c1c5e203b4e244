import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// The batched CFG forward against two separate forwards, and the data-parallel split against the
/// same samples run one at a time.
@Suite("Batched forward") struct GuidedForwardTests {
    static func model() throws -> CogVideoXTransformer {
        try TransformerShapeTests.model(TransformerShapeTests.cases[0], seed: 31)
    }

    @Test func guidedEqualsTwoForwards() throws {
        let c = TransformerShapeTests.cases[0]
        let m = try Self.model()
        var rng = RNG(seed: 32)
        let shape = VideoShape(batch: 2, frames: c.frames, channels: c.cin, height: c.h, width: c.w)
        let x = rng.normal(shape.count), cond = rng.normal(2 * c.text * 7), uncond = rng.normal(2 * c.text * 7)
        let ts: [Float] = [900, 250]
        let g: Float = 2.5
        let v = try m.forwardGuided(hidden: x, shape: shape, text: cond, negativeText: uncond, textLength: c.text,
                                    timesteps: ts, guidance: g)
        let vc = try m.forward(hidden: x, shape: shape, text: cond, textLength: c.text, timesteps: ts)
        let vu = try m.forward(hidden: x, shape: shape, text: uncond, textLength: c.text, timesteps: ts)
        let ref = (0..<vc.count).map { vu[$0] + g * (vc[$0] - vu[$0]) }
        #expect(compareTensors(v, ref).relErr < 1e-5)
        #expect(throws: ModelError.self) {
            _ = try m.forwardGuided(hidden: x, shape: shape, text: cond, negativeText: [1], textLength: c.text,
                                    timesteps: ts, guidance: g)
        }
    }

    @Test func batchEqualsSamplesOneByOne() throws {
        let c = TransformerShapeTests.cases[0]
        let m = try Self.model()
        var rng = RNG(seed: 33)
        let b = 3
        let shape = VideoShape(batch: b, frames: c.frames, channels: c.cin, height: c.h, width: c.w)
        let x = rng.normal(shape.count), text = rng.normal(b * c.text * 7)
        let ts: [Float] = [10, 500, 990]
        let whole = try m.forward(hidden: x, shape: shape, text: text, textLength: c.text, timesteps: ts)
        var one = VideoShape(batch: 1, frames: c.frames, channels: c.cin, height: c.h, width: c.w)
        one.batch = 1
        let per = one.count, perOut = whole.count / b, perText = c.text * 7
        for i in 0..<b {
            let o = try m.forward(hidden: Array(x[(i * per)..<((i + 1) * per)]), shape: one,
                                  text: Array(text[(i * perText)..<((i + 1) * perText)]), textLength: c.text,
                                  timesteps: [ts[i]])
            #expect(compareTensors(Array(whole[(i * perOut)..<((i + 1) * perOut)]), o).relErr < 1e-5, "sample \(i)")
        }
    }
}
