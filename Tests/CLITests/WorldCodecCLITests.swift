import Foundation
import Testing

/// `tdm-video world codec`: a fit measured on a suite, and its bad inputs refused with the option named.
@Suite("world codec from the command line", .serialized) struct WorldCodecCLITests {
    @Test func fitsAndMeasures() throws {
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("codec.json").path
        let r = try CLI.run(["world", "codec", "--channels", "12,96", "--fit-clips", "16", "--seeds", "1",
                             "--suite", "configs/suites/quick_full_info.json", "--out", out])
        #expect(r.status == 0, "\(r.err)")
        let rows = r.out.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.contains(" channels") }
        #expect(rows.count == 2, "\(r.out)")
        // Each row's numbers: channels, explained variance, PSNR, worst PSNR, HF power ratio, HF fidelity,
        // worst HF fidelity. 96 channels of 96-value blocks is lossless: every high-frequency figure is 1;
        // 12 keep well under 90 % of the power above half Nyquist.
        func numbers(_ row: Substring) -> [Double] {
            row.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "()"))) }
        }
        let lossless = numbers(rows.last ?? ""), twelve = numbers(rows.first ?? "")
        #expect(lossless.count == 7 && lossless[4] == 1 && lossless[5] == 1 && lossless[6] == 1, "\(r.out)")
        #expect(twelve.count == 7 && twelve[4] < 0.9 && twelve[5] < 0.9 && twelve[2] < 40, "\(r.out)")
        #expect(FileManager.default.fileExists(atPath: out))
        // The written codec measures the same as its row.
        let again = try CLI.run(["world", "codec", "--codec", out, "--seeds", "1", "--suite", "configs/suites/quick_full_info.json"])
        #expect(again.status == 0, "\(again.err)")
        let row = again.out.split(separator: "\n").first { $0.hasPrefix("  ") && $0.contains(out) }
        #expect(row.map(numbers).map { $0.suffix(3) == [1, 1, 1] } == true, "\(again.out)")
    }

    @Test func badInputsNameTheOption() throws {
        let dir = CLI.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("f.json").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let empty = dir.appendingPathComponent("e.json")
        try Data("{}".utf8).write(to: empty)
        let cases: [([String], Int32, String)] = [
            (["--channels", "97"], 64, "--channels"),
            (["--fit-clips", "4096", "--width", "256", "--height", "256", "--frames", "64"], 64, "GB in memory"),
            (["--codec", fifo], 1, "FIFO"),
            (["--suite", fifo], 1, "FIFO"),
            (["--codec", empty.path], 1, "not a codec.json"),
            (["--codec", dir.appendingPathComponent("none.json").path], 1, "no such file"),
        ]
        for (args, status, words) in cases {
            let r = try CLI.run(["world", "codec"] + args)
            #expect(r.status == status && r.err.contains(words), "\(args): status \(r.status), \(r.err)")
        }
    }
}
