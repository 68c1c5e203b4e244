import Foundation
import TensorCore
import Testing

/// Data-parallel training under Open MPI, as a cluster runs it: `mpirun -np 2` of the built binary
/// (oversubscribed, and allowed to run as root as CI does). Two ranks of one thread must reproduce one
/// process of two threads up to summation order, and a run stopped under MPI resumes with any rank
/// count that divides the batch.
@Suite("MPI data parallelism", .serialized) struct MPICLITests {
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs the binary under `mpirun -np ranks`, one thread per rank.
    static func mpi(_ ranks: Int, _ args: [String]) throws -> CLI.Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(mpirun, "mpirun is missing: `make deps` installs openmpi-bin"))
        p.arguments = ["-np", "\(ranks)", "--oversubscribe", "--allow-run-as-root", "-x", "TDM_THREADS=1", CLI.binary.path] + args
        p.currentDirectoryURL = CLI.root
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Run(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self), err: String(decoding: ed, as: UTF8.self))
    }

    static func losses(_ url: URL) throws -> [(step: Int, loss: Double)] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = o["step"] as? Int, let l = o["loss"] as? Double else { return nil }
            return (s, l)
        }
    }

    static func weights(_ dir: URL) throws -> [String: [Float]] {
        let f = try SafeTensorsFile.read(dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        return f.tensors.mapValues { $0.floats() }
    }

    /// The weights agree as allclose(rtol 1e-4, atol 1e-6): the largest |a − b| / (1e-4·|b| + 1e-6), at
    /// most 1. The absolute term is for tensors whose exact gradient is zero (the key norm's bias:
    /// softmax ignores a shift shared by all keys), which hold only rounding noise near 1e-7.
    static func closeness(_ a: [String: [Float]], _ b: [String: [Float]]) -> Double {
        guard a.count == b.count else { return .infinity }
        var worst = 0.0
        for (k, x) in a {
            guard let y = b[k], y.count == x.count else { return .infinity }
            for i in 0..<x.count { worst = max(worst, Double(abs(x[i] - y[i])) / (1e-4 * Double(abs(y[i])) + 1e-6)) }
        }
        return worst
    }

    @Test func twoRanksReproduceOneProcessAndResumeWithAnyRankCount() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        let cfg = "configs/tiny_pretrain.yaml"
        var r = try Self.mpi(2, ["pretrain", "--config", cfg, "--out", d.path + "/m", "--quiet", "--eval-seeds", "0"])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        r = try CLI.run(["pretrain", "--config", cfg, "--out", d.path + "/s", "--quiet", "--eval-seeds", "0"], environment: ["TDM_THREADS": "2"])
        #expect(r.status == 0, "\(r.err)")
        // Rank 0 alone wrote the log: one line per step, not one per rank.
        let lm = try Self.losses(d.appendingPathComponent("m/train_log.jsonl")), ls = try Self.losses(d.appendingPathComponent("s/train_log.jsonl"))
        #expect(lm.count == 6 && ls.count == 6)
        for (a, b) in zip(lm, ls) {
            #expect(a.step == b.step && abs(a.loss - b.loss) <= 1e-5 * abs(b.loss), "step \(a.step): \(a.loss) vs \(b.loss)")
        }
        let wm = try Self.weights(d.appendingPathComponent("m/model")), ws = try Self.weights(d.appendingPathComponent("s/model"))
        #expect(Self.closeness(wm, ws) <= 1)

        // Stopped under two ranks at step 4 (checkpoint at 3), resumed by one process and by two ranks.
        r = try Self.mpi(2, ["pretrain", "--config", cfg, "--out", d.path + "/k1", "--quiet", "--stop-after", "4"])
        #expect(r.status == 0 && r.out.contains("stopped early"), "\(r.out) \(r.err)")
        try FileManager.default.copyItem(at: d.appendingPathComponent("k1"), to: d.appendingPathComponent("k2"))
        r = try CLI.run(["pretrain", "--config", cfg, "--out", d.path + "/k1", "--quiet", "--resume", "--eval-seeds", "0"], environment: ["TDM_THREADS": "2"])
        #expect(r.status == 0, "\(r.err)")
        r = try Self.mpi(2, ["pretrain", "--config", cfg, "--out", d.path + "/k2", "--quiet", "--resume", "--eval-seeds", "0"])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        #expect(Self.closeness(try Self.weights(d.appendingPathComponent("k1/model")), wm) <= 1)
        // The same rank count resumes bit for bit.
        let a = try Data(contentsOf: d.appendingPathComponent("m/model/diffusion_pytorch_model.safetensors"))
        let b = try Data(contentsOf: d.appendingPathComponent("k2/model/diffusion_pytorch_model.safetensors"))
        #expect(a == b)
        #expect(try Self.losses(d.appendingPathComponent("k2/train_log.jsonl")).map(\.loss) == lm.map(\.loss))
    }

    /// TDM under two ranks against one process, from the same tiny teacher: both losses (and the teacher
    /// anchor's, with it) at every iteration, and the student's weights.
    @Test(arguments: ["", ", anchor_weight: 10, anchor_pairs: 4"]) func twoRanksDistilLikeOneProcess(extra: String) throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        var r = try CLI.run(["pretrain", "--config", "configs/tiny_pretrain.yaml", "--out", d.path + "/t", "--quiet", "--eval-seeds", "0"])
        #expect(r.status == 0, "\(r.err)")
        let text = try String(contentsOf: CLI.root.appendingPathComponent("configs/tiny_distill.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "guidance: 4.5}", with: "guidance: 4.5\(extra)}")
        try text.write(to: d.appendingPathComponent("distill.yaml"), atomically: true, encoding: .utf8)
        let args = ["distill", "--config", d.path + "/distill.yaml", "--teacher", d.path + "/t/model", "--quiet",
                    "--eval-seeds", "0", "--sheet-prompts", "0", "--out"]
        r = try Self.mpi(2, args + [d.path + "/m"])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        r = try CLI.run(args + [d.path + "/s"], environment: ["TDM_THREADS": "2"])
        #expect(r.status == 0, "\(r.err)")
        func losses(_ run: String) throws -> [[Double]] {
            try String(contentsOf: d.appendingPathComponent(run + "/distill_log.jsonl"), encoding: .utf8).split(separator: "\n").compactMap { line in
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let g = o["generator_loss"] as? Double, let f = o["fake_loss"] as? Double else { return nil }
                return [g, f] + ((o["anchor_loss"] as? Double).map { [$0] } ?? [])
            }
        }
        let lm = try losses("m"), ls = try losses("s")
        #expect(lm.count == 4 && ls.count == 4)
        #expect(ls.allSatisfy { $0.count == (extra.isEmpty ? 2 : 3) }, "the anchor's loss is logged when it is on")
        for (a, b) in zip(lm, ls) {
            for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * abs(y), "\(x) vs \(y)") }
        }
        #expect(Self.closeness(try Self.weights(d.appendingPathComponent("m/student")), try Self.weights(d.appendingPathComponent("s/student"))) <= 1)
    }

    /// A rank count that does not divide the batch is refused with the field named, on every rank.
    @Test func aBatchTheRanksCannotShareIsRefused() throws {
        let d = CLI.temp()
        defer { try? FileManager.default.removeItem(at: d) }
        var text = try String(contentsOf: CLI.root.appendingPathComponent("configs/tiny_pretrain.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "batch: 2", with: "batch: 3")
        try text.write(to: d.appendingPathComponent("odd.yaml"), atomically: true, encoding: .utf8)
        let r = try Self.mpi(2, ["pretrain", "--config", d.path + "/odd.yaml", "--out", d.path + "/o", "--quiet"])
        #expect(r.status != 0)
        #expect(r.err.contains("train.batch") && r.err.contains("2 ranks"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: d.path + "/o/checkpoint.safetensors"))
    }
}
