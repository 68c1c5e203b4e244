import Foundation
import TensorCore
import Testing

/// Quality-score regression tests: each shipped model renders its fixed prompt set at its default
/// sampling, VBenchLite scores it, and `tdm-video score --baseline` (the gate users get) compares it with
/// the committed baseline. The same tests on deliberately damaged models must fail: that is what shows
/// the gate bites. `make quality` runs this suite alone.
@Suite("Quality gate on the shipped models", .serialized) struct QualityGateTests {
    /// `models/<name>/quality/gate.json`: what the gate renders and how far each score may fall.
    struct Gate: Codable {
        var suite: String
        var seeds: Int
        var maxDrop: Double
        var maxDimDrop: Double
        enum CodingKeys: String, CodingKey {
            case suite, seeds
            case maxDrop = "max_drop"
            case maxDimDrop = "max_dim_drop"
        }
    }

    static let shipped = ["teacher", "student"]

    enum Damage: String, CaseIterable, CustomStringConvertible {
        case perturbed, layerZeroed, wrongSteps
        var description: String { rawValue }
    }

    static func modelDir(_ name: String) -> URL { CLI.root.appendingPathComponent("models/\(name)") }

    static func gate(_ name: String) throws -> Gate {
        let url = modelDir(name).appendingPathComponent("quality/gate.json")
        return try JSONDecoder().decode(Gate.self, from: Data(contentsOf: url))
    }

    /// Renders the gate's prompt set with `model` and runs the gate against `name`'s baseline.
    static func runGate(_ name: String, model: URL, sampleArgs: [String] = [], work: URL) throws -> CLI.Run {
        let g = try gate(name)
        let clips = work.appendingPathComponent("clips")
        let s = try CLI.run(["sample", "--model", model.path, "--prompts", g.suite, "--seeds", "\(g.seeds)",
                             "--out", clips.path, "--quiet"] + sampleArgs)
        guard s.status == 0 else { return s }
        return try CLI.run(["score", clips.path, "--suite", g.suite,
                            "--baseline", modelDir(name).appendingPathComponent("quality/baseline.json").path,
                            "--max-drop", "\(g.maxDrop)", "--max-dim-drop", "\(g.maxDimDrop)"])
    }

    @Test(arguments: shipped) func shippedModelHoldsItsBaseline(_ name: String) throws {
        let work = CLI.temp()
        defer { try? FileManager.default.removeItem(at: work) }
        let r = try Self.runGate(name, model: Self.modelDir(name), work: work)
        print("== quality gate: models/\(name)\n\(r.out)")
        #expect(r.status == 0, "models/\(name) fell below its baseline:\n\(r.out)\(r.err)")
        #expect(r.out.contains("no regression"))
    }

    @Test(arguments: shipped, Damage.allCases) func damagedModelFailsTheGate(_ name: String, _ damage: Damage) throws {
        let work = CLI.temp()
        defer { try? FileManager.default.removeItem(at: work) }
        var model = Self.modelDir(name)
        var args: [String] = []
        switch damage {
        case .wrongSteps:
            // The sampler is given the wrong step count: the teacher 4 of its 50, the student 1 of its 4.
            args = ["--steps", name == "teacher" ? "4" : "1"]
        case .perturbed, .layerZeroed:
            model = try Self.damagedCopy(of: model, damage: damage, in: work)
        }
        let r = try Self.runGate(name, model: model, sampleArgs: args, work: work)
        print("== quality gate: models/\(name), \(damage)\n\(r.out)")
        #expect(r.status == 3, "models/\(name) \(damage): exit \(r.status), the gate let it through:\n\(r.out)\(r.err)")
        #expect(r.out.contains("REGRESSION"), "the fallen dimensions are named")
    }

    /// A copy of a model folder with its weights damaged: every tensor plus Gaussian noise of half its own
    /// RMS, or the last transformer block's attention output projection set to zero.
    static func damagedCopy(of dir: URL, damage: Damage, in work: URL) throws -> URL {
        let copy = work.appendingPathComponent("model-\(damage)")
        try FileManager.default.copyItem(at: dir, to: copy)
        let url = copy.appendingPathComponent("diffusion_pytorch_model.safetensors")
        var file = try SafeTensorsFile.read(url)
        var rng = RNG(seed: 7)
        let blocks = file.names.compactMap { n -> Int? in
            guard n.hasPrefix("transformer_blocks.") else { return nil }
            return Int(n.split(separator: ".")[1])
        }
        let last = blocks.max() ?? 0
        var changed = 0
        for name in file.names {
            guard let t = file[name] else { continue }
            var x = t.floats()
            switch damage {
            case .perturbed:
                var sumSquares = 0.0
                for v in x { sumSquares += Double(v) * Double(v) }
                let scale = Float(0.5 * (sumSquares / Double(max(x.count, 1))).squareRoot())
                let noise = rng.normal(x.count)
                for i in x.indices { x[i] += scale * noise[i] }
            case .layerZeroed:
                guard name.hasPrefix("transformer_blocks.\(last).attn1.to_out.0.") else { continue }
                x = [Float](repeating: 0, count: x.count)
            case .wrongSteps:
                continue
            }
            file.tensors[name] = try SafeTensor(floats: x, shape: t.shape, as: t.dtype)
            changed += 1
        }
        #expect(changed > 0, "\(damage) changed no tensor")
        try file.write(to: url)
        return copy
    }
}
