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
        /// Distribution limits (docs/vbenchlite.md): largest allowed fall of recall and diversity, rise
        /// of the conditional Frechet distance.
        var maxRecallDrop: Double?
        var maxDiversityDrop: Double?
        var maxFDRise: Double?
        enum CodingKeys: String, CodingKey {
            case suite, seeds
            case maxDrop = "max_drop"
            case maxDimDrop = "max_dim_drop"
            case maxRecallDrop = "max_recall_drop"
            case maxDiversityDrop = "max_diversity_drop"
            case maxFDRise = "max_fd_rise"
        }
        var distributionArgs: [String] {
            var a: [String] = []
            if let v = maxRecallDrop { a += ["--max-recall-drop", "\(v)"] }
            if let v = maxDiversityDrop { a += ["--max-diversity-drop", "\(v)"] }
            if let v = maxFDRise { a += ["--max-fd-rise", "\(v)"] }
            return a
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
    /// `collapse`: keep only each prompt's first clip and copy it over the others, as a model that
    /// ignores its noise would draw them (the same clip for every seed).
    static func runGate(_ name: String, model: URL, sampleArgs: [String] = [], work: URL, collapse: Bool = false) throws -> CLI.Run {
        let g = try gate(name)
        let clips = work.appendingPathComponent("clips")
        let s = try CLI.run(["sample", "--model", model.path, "--prompts", g.suite, "--seeds", "\(collapse ? 1 : g.seeds)",
                             "--out", clips.path, "--quiet"] + sampleArgs)
        guard s.status == 0 else { return s }
        if collapse {
            for file in try FileManager.default.contentsOfDirectory(atPath: clips.path) where file.hasSuffix("-0.mp4") {
                let stem = String(file.dropLast("-0.mp4".count))
                for i in 1..<g.seeds {
                    try FileManager.default.copyItem(at: clips.appendingPathComponent(file),
                                                     to: clips.appendingPathComponent("\(stem)-\(i).mp4"))
                }
            }
        }
        return try CLI.run(["score", clips.path, "--suite", g.suite,
                            "--baseline", modelDir(name).appendingPathComponent("quality/baseline.json").path,
                            "--max-drop", "\(g.maxDrop)", "--max-dim-drop", "\(g.maxDimDrop)"] + g.distributionArgs)
    }

    /// A model made to collapse (every seed gives the same clip) keeps its per-clip scores within the
    /// Total gate but fails on the distribution: diversity and recall fall to 0.
    @Test(arguments: shipped) func collapsedModelFailsTheDistributionGate(_ name: String) throws {
        let work = CLI.temp()
        defer { try? FileManager.default.removeItem(at: work) }
        let g = try Self.gate(name)
        #expect(!g.distributionArgs.isEmpty, "models/\(name)/quality/gate.json sets no distribution limit")
        let r = try Self.runGate(name, model: Self.modelDir(name), work: work, collapse: true)
        print("== quality gate: models/\(name), collapsed\n\(r.out)")
        #expect(r.status == 3, "models/\(name) collapsed: exit \(r.status), the gate let it through:\n\(r.out)\(r.err)")
        #expect(r.out.contains("distribution figure(s) beyond their limits"), "the distribution gate names the collapse")
        #expect(!r.out.contains("REGRESSION: Total fell"), "the per-clip Total gate holds for the collapsed model:\n\(r.out)")
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
