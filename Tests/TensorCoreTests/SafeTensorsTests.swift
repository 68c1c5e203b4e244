import Foundation
import Testing
@testable import TensorCore

/// safetensors: the fixtures read, every format defect named, random damage never crashes.
@Suite("safetensors") struct SafeTensorsTests {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    static func fixtureFiles() -> [URL] {
        let e = FileManager.default.enumerator(at: shared, includingPropertiesForKeys: nil)
        return (e?.allObjects as? [URL] ?? []).filter { $0.pathExtension == "safetensors" }.sorted { $0.path < $1.path }
    }

    @Test func readsEveryFixture() throws {
        let files = Self.fixtureFiles()
        #expect(files.count == 6)
        for f in files { _ = try SafeTensorsFile.read(f) }
        let sched = try SafeTensorsFile.read(Self.shared.appendingPathComponent("scheduler-cogvideox-2b/reference.safetensors"))
        let acp = try #require(sched["alphas_cumprod"])
        #expect(acp.dtype == .f64 && acp.shape == [1000])
        let v = acp.doubles()
        #expect(v[0] == 0.9974543276430069 && v[999] == 0)
        #expect(try #require(sched["ddim.timesteps.50"]).int64s().first == 999)
    }

    @Test func roundTripsEveryType() throws {
        let vals: [Float] = [1, -2, 65504, 6.103515625e-05, 5.96e-08, 0.1, .infinity, -.infinity, 3.14159, 1e-3]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.safetensors")
        try SafeTensorsFile.write([("a", SafeTensor(floats: vals, shape: [2, 5], as: .f32)),
                                   ("h", SafeTensor(floats: vals, shape: [10], as: .f16)),
                                   ("b", SafeTensor(floats: vals, shape: [10], as: .bf16)),
                                   ("d", SafeTensor(doubles: [1.5, -2.25e-300], shape: [2])),
                                   ("i", SafeTensor(int64s: [Int64.min, 7], shape: [2])),
                                   ("e", SafeTensor(floats: [], shape: [0, 3], as: .f32))],
                                  metadata: ["format": "pt"], to: url)
        let back = try SafeTensorsFile.read(url)
        #expect(back.metadata == ["format": "pt"])
        #expect(back["a"]!.floats() == vals)
        let h = back["h"]!.floats()
        // F16: exact for representable values, correctly rounded otherwise.
        #expect(h[0] == 1 && h[1] == -2 && h[2] == 65504 && h[3] == 6.103515625e-05 && h[6] == .infinity && h[7] == -.infinity)
        #expect(abs(h[4] - 5.96e-08) < 3e-8)   // a subnormal half
        #expect(abs(h[8] - 3.14159) < 1e-3)
        #expect(HalfPrecision.f16Bits(1) == 0x3C00 && HalfPrecision.f16Bits(-2) == 0xC000 && HalfPrecision.f16Bits(65520) == 0x7C00)
        #expect(HalfPrecision.float(f16: HalfPrecision.f16Bits(.nan)).isNaN)
        // BF16 ties round to even: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
        #expect(HalfPrecision.bf16Bits(1 + 1.0 / 256) == 0x3F80)
        #expect(HalfPrecision.bf16Bits(1 + 3.0 / 256) == 0x3F82)
        #expect(back["b"]!.floats()[0] == 1 && abs(back["b"]!.floats()[8] - 3.14159) < 2e-2)
        #expect(back["d"]!.doubles() == [1.5, -2.25e-300])
        #expect(back["i"]!.int64s() == [Int64.min, 7])
        #expect(back["e"]!.shape == [0, 3])
        // No temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["t.safetensors"])
    }

    static func file(header: String, data: [UInt8] = []) -> Data {
        var b = [UInt8]()
        let h = Array(header.utf8)
        for k in 0..<8 { b.append(UInt8((UInt64(h.count) >> UInt64(8 * k)) & 0xFF)) }
        return Data(b + h + data)
    }

    @Test func namesEveryDefect() {
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "shorter than"),
            (Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0x7B]), "runs past the end"),
            (Self.file(header: "{not json"), "not a JSON object"),
            (Self.file(header: "[1,2]"), "not a JSON object"),
            (Self.file(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "missing or non-string \"dtype\""),
            (Self.file(header: #"{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "unknown dtype"),
            (Self.file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "bad shape"),
            (Self.file(header: #"{"a":{"dtype":"F32","shape":[4000000000000,4000000000000],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "overflows"),
            (Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), "past the"),
            (Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]), "begin after end"),
            (Self.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "needs 8 bytes"),
            (Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, data: [UInt8](repeating: 0, count: 8)), "overlap"),
            (Self.file(header: #"{"__metadata__":{"k":1}}"#), "not a string"),
        ]
        for (data, expected) in cases {
            do {
                _ = try SafeTensorsFile.parse(data, source: "case.safetensors")
                Issue.record("expected an error containing \(expected)")
            } catch let e as SafeTensorsError {
                #expect(e.description.contains(expected) && e.description.contains("case.safetensors"), "\(e)")
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile.read(URL(fileURLWithPath: "/nonexistent/x.safetensors")) }
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsFile.write([], metadata: [:], to: URL(fileURLWithPath: "/nonexistent-dir/x.safetensors"))
        }
    }

    /// 12,000 random mutations of the fixture files: each parses or throws SafeTensorsError, never crashes.
    @Test func survivesRandomDamage() throws {
        let sources = try Self.fixtureFiles().map { try Data(contentsOf: $0) }
        var rng = RNG(seed: 2024)
        var parsed = 0, rejected = 0
        for i in 0..<12_000 {
            var b = [UInt8](sources[i % sources.count])
            let headerLen = Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16
            switch rng.int(0, 6) {
            case 0:  // flip bytes anywhere in the header
                for _ in 0..<rng.int(1, 4) { b[rng.int(0, min(b.count, 8 + headerLen))] ^= UInt8(rng.int(1, 256)) }
            case 1:  // truncate
                b = Array(b.prefix(rng.int(0, b.count)))
            case 2:  // corrupt the header length
                b[rng.int(0, 8)] = UInt8(rng.int(0, 256))
            case 3:  // replace a digit in the header (shapes, offsets)
                let digits = (8..<(8 + headerLen)).filter { b[$0] >= 48 && b[$0] <= 57 }
                if let d = digits.isEmpty ? nil : digits[rng.int(0, digits.count)] { b[d] = UInt8(rng.int(48, 58)) }
            case 4:  // insert a character into the header
                let at = rng.int(8, 8 + headerLen)
                b.insert([UInt8(ascii: "\""), UInt8(ascii: "9"), UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "-")][rng.int(0, 5)], at: at)
            default:  // swap a dtype name
                if let r = String(data: Data(b[8..<(8 + headerLen)]), encoding: .utf8) {
                    let swapped = r.replacingOccurrences(of: ["F32", "I64", "F64"][rng.int(0, 3)], with: ["F16", "BF16", "U8", "XX"][rng.int(0, 4)])
                    b = Array(b[0..<8]) + Array(swapped.utf8) + Array(b[(8 + headerLen)...])
                }
            }
            do { _ = try SafeTensorsFile.parse(Data(b), source: "mutant \(i)"); parsed += 1 } catch is SafeTensorsError { rejected += 1 }
        }
        #expect(parsed + rejected == 12_000)
        #expect(rejected > 6_000)
    }
}
