import Foundation
import Testing
@testable import TensorCore

@Suite("SafeTensors round trips") struct SafeTensorsRoundTripTests {
    /// Awkward Float values: signed zeros, subnormals, extremes, infinities, NaN with a payload.
    static let specialFloats: [Float] = [
        0, -0.0, 1, -2, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
        .infinity, -.infinity, Float(bitPattern: 0x7FC1_2345), Float(bitPattern: 0xFF80_0001), 0.1, 65504, 6.1e-5,
    ]

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func f32IsBitExactThroughAFile() throws {
        var rng = SafeTensorsTestRNG(seed: 1)
        let random = (0..<600).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        let values = Self.specialFloats + random
        let tensor = try SafeTensor(floats: values, shape: [2, values.count / 2])
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("f32.safetensors")
        try SafeTensorsFile.write([("x", tensor)], metadata: ["format": "pt"], to: url)

        let back = try SafeTensorsFile.read(url)
        let read = try #require(back["x"])
        #expect(read.dtype == .f32 && read.shape == [2, values.count / 2])
        #expect(read.floats().map(\.bitPattern) == values.map(\.bitPattern))
        #expect(back.metadata == ["format": "pt"])
        #expect(read == tensor)
        // The zero-copy accessor sees the same bytes.
        var viaPointer = [Float](repeating: 0, count: values.count)
        viaPointer.withUnsafeMutableBufferPointer { read.floats(into: $0) }
        #expect(viaPointer.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func f16AndBF16RoundTripWithinTheirRounding() throws {
        var rng = SafeTensorsTestRNG(seed: 2)
        let random = (0..<2000).map { _ in Float.random(in: -70000...70000, using: &rng) }
            + (0..<2000).map { _ in Float.random(in: -1...1, using: &rng) * 1e-4 }
        let values = Self.specialFloats + random
        for dtype in [SafeTensorsDType.f16, .bf16] {
            let data = try SafeTensorsFile.serialize([("h", try SafeTensor(floats: values, shape: [values.count], as: dtype))])
            let read = try #require(try SafeTensorsFile.parse(data, source: "memory").tensors["h"])
            #expect(read.dtype == dtype && read.byteCount == 2 * values.count)
            let back = read.floats()
            for (original, restored) in zip(values, back) {
                if original.isNaN { #expect(restored.isNaN); continue }
                let bits = dtype == .f16 ? HalfPrecision.f16Bits(from: original) : HalfPrecision.bf16Bits(from: original)
                let expected = dtype == .f16 ? HalfPrecision.float(fromF16: bits) : HalfPrecision.float(fromBF16: bits)
                #expect(restored.bitPattern == expected.bitPattern)
                // Relative error bound of round-to-nearest: 2^-11 (F16) or 2^-8 (BF16), for normal results.
                let bound: Float = dtype == .f16 ? 0x1p-11 : 0x1p-8
                let smallestNormal: Float = dtype == .f16 ? 0x1p-14 : .leastNormalMagnitude
                let largest: Float = dtype == .f16 ? 65504 : Float(bitPattern: 0x7F7F_0000)
                if original.isFinite, original.magnitude >= smallestNormal, original.magnitude <= largest {
                    #expect((restored - original).magnitude <= bound * original.magnitude, "\(dtype) \(original)")
                }
            }
            // Exactly representable values come back unchanged.
            #expect(Array(back[0..<4]).map(\.bitPattern) == Array(values[0..<4]).map(\.bitPattern))
        }
        // Known encodings land in the file as little-endian half words.
        let f16 = try SafeTensor(floats: [1, -2, 65504, 6.1e-5, .infinity], shape: [5], as: .f16)
        #expect([UInt8](f16.bytes) == [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0xFF, 0x03, 0x00, 0x7C])
        let bf16 = try SafeTensor(floats: [1, -2, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000)],
                                  shape: [2, 2], as: .bf16)
        #expect([UInt8](bf16.bytes) == [0x80, 0x3F, 0x00, 0xC0, 0x80, 0x3F, 0x82, 0x3F])
    }

    @Test func f64AndI64RoundTripExactly() throws {
        var rng = SafeTensorsTestRNG(seed: 3)
        let doubles = [0, -0.0, .pi, Double.leastNormalMagnitude / 4, -.greatestFiniteMagnitude, .infinity]
            + (0..<100).map { _ in Double(bitPattern: rng.next()) }.filter { !$0.isNaN }
        let integers: [Int64] = [0, 1, -1, .max, .min, 1 << 53 + 1] + (0..<100).map { _ in Int64(bitPattern: rng.next()) }
        let data = try SafeTensorsFile.serialize([
            ("d", try SafeTensor(doubles: doubles, shape: [doubles.count])),
            ("i", try SafeTensor(int64s: integers, shape: [2, integers.count / 2])),
            ("scalar", try SafeTensor(int64s: [42], shape: [])),
            ("empty", try SafeTensor(floats: [], shape: [3, 0, 2])),
        ])
        let file = try SafeTensorsFile.parse(data, source: "memory")
        #expect(file["d"]?.doubles().map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(file["i"]?.int64s() == integers)
        #expect(file["i"]?.shape == [2, integers.count / 2])
        #expect(file["scalar"]?.int64s() == [42] && file["scalar"]?.shape == [] && file["scalar"]?.count == 1)
        #expect(file["empty"]?.count == 0 && file["empty"]?.floats() == [])
        // Conversions between the accessors.
        #expect(file["i"]?.doubles() == integers.map(Double.init))
        #expect(file["d"]?.floats() == doubles.map(Float.init))
        let truncated = try SafeTensor(doubles: [2.9, -2.9, .nan, 1e300, -1e300], shape: [5])
        #expect(truncated.int64s() == [2, -2, 0, .max, .min])
    }

    @Test func otherIntegerAndBoolTypesDecode() throws {
        let bytes = Data([0x01, 0x00, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF])
        #expect(try SafeTensor(dtype: .i32, shape: [2], bytes: bytes).int64s() == [-65535, -2])
        #expect(try SafeTensor(dtype: .u16, shape: [4], bytes: bytes).int64s() == [1, 65535, 65534, 65535])
        #expect(try SafeTensor(dtype: .i8, shape: [8], bytes: bytes).floats() == [1, 0, -1, -1, -2, -1, -1, -1])
        #expect(try SafeTensor(dtype: .bool, shape: [8], bytes: bytes).floats() == [1, 0, 1, 1, 1, 1, 1, 1])
        #expect(try SafeTensor(dtype: .u64, shape: [1], bytes: bytes).int64s() == [.max])
        #expect(throws: SafeTensorsError.self) { try SafeTensor(dtype: .i64, shape: [2], bytes: bytes) }
    }

    @Test func writerMirrorsTheReferenceLayout() throws {
        let data = try SafeTensorsFile.serialize([
            ("b.half", try SafeTensor(floats: [1, 2, 3], shape: [3], as: .f16)),
            ("a.float", try SafeTensor(floats: [1], shape: [1])),
            ("c.long", try SafeTensor(int64s: [7], shape: [1])),
            ("z\"q\\\n\u{1}é", try SafeTensor(doubles: [0.5], shape: [1])),
        ], metadata: ["k2": "v2", "k1": "ü \"quoted\""])
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(length % 8 == 0)
        let header = try #require(String(data: data[8..<(8 + length)], encoding: .utf8))
        let expected = #"{"__metadata__":{"k1":"ü \"quoted\"","k2":"v2"},"c.long":{"dtype":"I64","shape":[1],"#
            + #""data_offsets":[0,8]},"z\"q\\\n\u0001é":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"#
            + #""a.float":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"b.half":{"dtype":"F16","shape":[3],"#
            + #""data_offsets":[20,26]}}"#
        #expect(header.trimmingCharacters(in: .whitespaces) == expected)
        #expect(header.count - expected.count < 8 && header.hasPrefix(expected))
        #expect(data.count == 8 + length + 26)
        let file = try SafeTensorsFile.parse(data, source: "memory")
        #expect(file.names == ["a.float", "b.half", "c.long", "z\"q\\\n\u{1}é"])
        #expect(file.metadata == ["k2": "v2", "k1": "ü \"quoted\""])
        #expect(file["b.half"]?.floats() == [1, 2, 3])
    }

    @Test func constructorsRefuseInconsistentInput() {
        #expect(throws: SafeTensorsError.self) { try SafeTensor(floats: [1, 2, 3], shape: [2, 2]) }
        #expect(throws: SafeTensorsError.self) { try SafeTensor(floats: [1], shape: [-1]) }
        #expect(throws: SafeTensorsError.self) { try SafeTensor(floats: [1], shape: [1], as: .i64) }
        #expect(throws: SafeTensorsError.self) { try SafeTensor(int64s: [], shape: [Int.max, 2]) }
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsFile.serialize([("a", try SafeTensor(floats: [1], shape: [1])),
                                           ("a", try SafeTensor(floats: [2], shape: [1]))])
        }
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsFile.serialize([("__metadata__", try SafeTensor(floats: [1], shape: [1]))])
        }
    }
}
