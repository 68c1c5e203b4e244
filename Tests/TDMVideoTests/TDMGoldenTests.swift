import Foundation
import Testing
import VideoInference
@testable import TDMVideo
@testable import TensorCore
@testable import VideoModel

/// One TDM iteration against a PyTorch reference (scripts/tdm_golden.py, written from the authors'
/// train_tdm_demo.py and adapted to v-prediction): the tiny random CogVideoX of
/// ../shared/fixtures/cogvideox-tiny-sincos as the teacher, the student and the fake score perturbed
/// copies, every random draw fixed (Tests/Golden/tdm_iteration.safetensors). The Swift rollout, fake
/// step and generator step must reproduce both losses and the gradients on both networks' parameters.
@Suite("TDM: one iteration against PyTorch") struct TDMGoldenTests {
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let golden = testsRoot.appendingPathComponent("Golden/tdm_iteration.safetensors")
    static let fixture = testsRoot.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/cogvideox-tiny-sincos")

    /// A teacher package around the fixture transformer: latents [3, 4, 8, 12] through an identity-sized
    /// codec, text length 6 (the fixture's).
    static func distiller(_ extra: String = "") throws -> (Distiller, SafeTensorsFile) {
        let ref = try SafeTensorsFile.read(golden)
        let transformer = try CogVideoXTransformer.load(directory: fixture)
        let codec = PCALatentCodec(latentChannels: 4, spatialFactor: 1, temporalFactor: 1, scalingFactor: 1,
                                   mean: [0, 0, 0], components: [Float](repeating: 0, count: 12), explainedVariance: 1)
        let meta = PackageMetadata(kind: .teacher, video: .init(frames: 3, height: 8, width: 12, fps: 8),
                                   textEncoder: HashedTextEncoder(embedDim: 12, textLength: 6), snrShiftScale: 3,
                                   sampling: .init(scheduler: .ddim, steps: 50, guidance: 2, timesteps: nil))
        let teacher = ModelPackage(directory: fixture, metadata: meta, transformer: transformer, codec: codec)
        let cfg = try ConfigFile.parse(DistillConfig.self, yaml: """
            tdm: {steps: 4, time_shift: 2.0, guidance: 2.0, huber_c: 1.0e-3\(extra)}
            optim: {batch: 2, grad_clip: 1.0e6}
            """, file: "golden.yaml")
        let d = try Distiller(config: cfg, teacher: teacher, outDir: FileManager.default.temporaryDirectory)
        for (net, prefix) in [(d.student, "student."), (d.fake, "fake.")] {
            for e in net.layout.entries {
                let t = try #require(ref[prefix + e.name], "golden file lacks \(prefix + e.name)")
                #expect(t.count == e.count)
                t.floats(into: UnsafeMutableBufferPointer(start: net.parameters.p + e.offset, count: e.count))
            }
        }
        return (d, ref)
    }

    static func draws(_ ref: SafeTensorsFile, _ name: String, grid: [Int]) throws -> [Distiller.Draw] {
        let ks = try #require(ref["draws.\(name).k"]).int64s(), taus = try #require(ref["draws.\(name).tau"]).int64s()
        let noise = try #require(ref["draws.\(name).noise"]).floats(), per = noise.count / ks.count, kk = grid.count
        return ks.indices.map { b in
            let k = Int(ks[b])
            return Distiller.Draw(k: k, tg: grid[kk - k], tm: k > 1 ? grid[kk - k + 1] : -1, tau: Int(taus[b]),
                                  noise: Array(noise[(b * per)..<((b + 1) * per)]))
        }
    }

    /// max|ours − ref| / max|ref| over a whole network's gradient, with the worst tensor's name.
    static func relativeError(_ net: CogVideoXTransformer, _ ref: SafeTensorsFile, _ prefix: String) throws -> (Double, String) {
        let g = net.gradients!.array
        var maxRef = 0.0, maxErr = 0.0, worst = ""
        for e in net.layout.entries {
            let r = try #require(ref["grad." + prefix + e.name]).floats()
            for i in 0..<e.count {
                maxRef = max(maxRef, Double(abs(r[i])))
                let err = Double(abs(g[e.offset + i] - r[i]))
                if err > maxErr { maxErr = err; worst = e.name }
            }
        }
        return (maxErr / maxRef, worst)
    }

    static func scalar(_ ref: SafeTensorsFile, _ key: String) throws -> Double { Double(try #require(ref[key]).floats()[0]) }

    @Test func oneIterationMatchesThePyTorchReference() throws {
        let (d, ref) = try Self.distiller()
        let text = try #require(ref["text"]).floats(), negative = try #require(ref["negative"]).floats()
        let r = try d.rollout(text: text, negative: negative, noise: try #require(ref["x_T"]).floats(), kSteps: 4)
        #expect(r.grid == [999, 856, 665, 399])
        d.scriptedDraws = try Self.draws(ref, "fake", grid: r.grid) + Self.draws(ref, "gen", grid: r.grid)
        let state = Distiller.State(d.config.optim, parameters: d.student.parameterCount, tableSize: 0)
        var stats = Distiller.IterationStats()
        let fakeBefore = d.fake.parameters.array
        #expect(try d.fakeScoreStep(r, state, &stats, updates: 1, share: 1))
        let fakeRel = abs(stats.fakeLoss - (try Self.scalar(ref, "loss.fake"))) / abs(try Self.scalar(ref, "loss.fake"))
        let (fakeGrad, fakeWorst) = try Self.relativeError(d.fake, ref, "fake.")
        // The generator step queries the fake score as the reference did: before its update.
        d.fake.parameters.copy(from: fakeBefore)
        #expect(try d.generatorStep(r, state, &stats, iteration: 1))
        #expect(d.scriptedDraws.isEmpty, "every scripted draw was used")
        let genRel = abs(stats.generatorLoss - (try Self.scalar(ref, "loss.generator"))) / abs(try Self.scalar(ref, "loss.generator"))
        let (genGrad, genWorst) = try Self.relativeError(d.student, ref, "student.")
        print(String(format: "golden TDM iteration: fake loss rel %.2e, generator loss rel %.2e, fake grads rel %.2e (worst %@), student grads rel %.2e (worst %@)",
                     fakeRel, genRel, fakeGrad, fakeWorst, genGrad, genWorst))
        #expect(fakeRel <= 1e-4 && genRel <= 1e-4)
        #expect(fakeGrad <= 1e-4, "fake-score gradients: worst in \(fakeWorst)")
        #expect(genGrad <= 1e-4, "student gradients: worst in \(genWorst)")
    }

    /// The paper's Eq. 11 form on the same draws: the reference's vector pseudo-Huber value.
    @Test func vectorHuberMatchesThePyTorchReference() throws {
        let (d, ref) = try Self.distiller(", generator_loss: huber_vector")
        let r = try d.rollout(text: try #require(ref["text"]).floats(), negative: try #require(ref["negative"]).floats(),
                              noise: try #require(ref["x_T"]).floats(), kSteps: 4)
        d.scriptedDraws = try Self.draws(ref, "gen", grid: r.grid)
        let state = Distiller.State(d.config.optim, parameters: d.student.parameterCount, tableSize: 0)
        var stats = Distiller.IterationStats()
        #expect(try d.generatorStep(r, state, &stats, iteration: 1))
        let want = try Self.scalar(ref, "loss.generator_vector")
        #expect(abs(stats.generatorLoss - want) / want <= 1e-4, "\(stats.generatorLoss) vs \(want)")
    }
}
