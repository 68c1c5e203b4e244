import Foundation
import Testing
@testable import TensorCore

/// Random mutations of the real fixture files, parsed from memory. The parser's typed `throws` already
/// guarantees that only `SafeTensorsError` can escape; this test shows that no input traps, that whatever is
/// accepted satisfies the tensor invariants and survives a write/read round trip, and that the mutations reach
/// most of the validation paths.
@Suite("SafeTensors fuzz") struct SafeTensorsFuzzTests {
    static let iterations = 20_000

    @Test func randomMutationsOfFixturesNeverCrash() throws {
        let originals = try SafeTensorsFixtures.allFiles().map { try [UInt8](Data(contentsOf: $0)) }
        try #require(originals.count >= 4)
        var rng = SafeTensorsTestRNG(seed: 0x5AFE_7E45)
        var accepted = 0
        var defectKinds: [String: Int] = [:]
        var mutationKinds = [Int](repeating: 0, count: SafeTensorsFuzzMutator.kindCount)
        let clock = ContinuousClock()
        let start = clock.now
        for iteration in 0..<Self.iterations {
            let original = originals[iteration % originals.count]
            let (kind, mutated) = SafeTensorsFuzzMutator.mutate(original, using: &rng)
            mutationKinds[kind] += 1
            let source = "fuzz-\(iteration).safetensors"
            let file: SafeTensorsFile
            do {
                file = try SafeTensorsFile.parse(Data(mutated), source: source)
            } catch {
                #expect(error.source == source)
                #expect(error.description.contains(source))
                let kind = String(String(describing: error.defect).prefix { $0 != "(" })
                defectKinds[kind, default: 0] += 1
                continue
            }
            accepted += 1
            try checkInvariants(file, bytes: mutated, source: source, roundTrip: accepted % 8 == 0)
        }
        let elapsed = clock.now - start
        print("safetensors fuzz: \(Self.iterations) mutations in \(elapsed), \(accepted) accepted; "
              + "defects: \(defectKinds.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        #expect(accepted > 100, "mutations that keep a file valid should parse")
        #expect(Self.iterations - accepted > Self.iterations / 2)
        #expect(mutationKinds.allSatisfy { $0 > 0 })
        // The mutations must exercise the validation broadly, not just one early check.
        for expected in ["fileTooShort", "headerTooLarge", "headerPastEnd", "headerNotUTF8", "invalidJSON",
                         "unknownDType", "negativeDimension", "shapeOverflow", "offsetsOutOfRange", "beginAfterEnd",
                         "sizeMismatch", "overlappingTensors", "unusedBytes", "duplicateName", "wrongFieldType"] {
            #expect(defectKinds[expected, default: 0] > 0, "no mutation produced \(expected)")
        }
    }

    private func checkInvariants(_ file: SafeTensorsFile, bytes: [UInt8], source: String, roundTrip: Bool) throws {
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var total = 0
        for (name, tensor) in file.tensors {
            var product = 1
            for dimension in tensor.shape { product = product.multipliedReportingOverflow(by: dimension).partialValue }
            #expect(tensor.shape.allSatisfy { $0 >= 0 }, "\(source) \(name)")
            #expect(tensor.count == (tensor.shape.contains(0) ? 0 : product), "\(source) \(name)")
            #expect(tensor.byteCount == tensor.count * tensor.dtype.size, "\(source) \(name)")
            #expect(tensor.floats().count == tensor.count)
            #expect(tensor.int64s().count == tensor.count)
            total += tensor.byteCount
        }
        #expect(total == bytes.count - 8 - headerLength, "\(source): tensors do not tile the data region")
        if roundTrip {
            let again = try SafeTensorsFile.parse(try file.serialized(), source: "rewritten \(source)")
            #expect(again.tensors == file.tensors && again.metadata == file.metadata, "\(source)")
        }
    }
}

/// The mutation strategies: raw byte damage, truncation, forged lengths, and edits of the header text that keep
/// the length prefix consistent so the deeper checks (dtype, shape, offsets, layout) are reached.
private enum SafeTensorsFuzzMutator {
    static let kindCount = 9

    static func mutate(_ original: [UInt8], using rng: inout SafeTensorsTestRNG) -> (Int, [UInt8]) {
        var bytes = original
        let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let headerEnd = 8 + headerLength
        let kind = Int.random(in: 0..<kindCount, using: &rng)
        switch kind {
        case 0:  // random bytes anywhere
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 1:  // bit flips inside the header (including the length prefix)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<headerEnd, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            }
        case 2:  // truncation
            let limit = Bool.random(using: &rng) ? headerEnd + 16 : bytes.count
            bytes.removeLast(bytes.count - Int.random(in: 0..<min(limit, bytes.count), using: &rng))
        case 3:  // forged header length
            let forged: UInt64 = switch Int.random(in: 0..<6, using: &rng) {
            case 0: rng.next()
            case 1: UInt64(headerLength) &+ UInt64.random(in: 1...16, using: &rng)
            case 2: UInt64(headerLength) &- UInt64.random(in: 1...16, using: &rng)
            case 3: UInt64(bytes.count - 8) &+ UInt64.random(in: 0...2, using: &rng)
            case 4: [0, UInt64.max, 1 << 63, 100_000_001, 99_999_999][Int.random(in: 0..<5, using: &rng)]
            default: UInt64.random(in: 0...UInt64(bytes.count), using: &rng)
            }
            withUnsafeBytes(of: forged.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        case 4:  // JSON punctuation spliced into the header text, length kept or adjusted
            var header = Array(bytes[8..<headerEnd])
            let tokens = ["{", "}", "[", "]", "\"", ",", ":", "-", "0", "9", "e", ".", "\\", " ", "null", "\"F16\"",
                          "-1", "99999999999999999999", "\u{FF}", "\"a\":", "[0,0]", "\"__metadata__\""]
            let token = Array(tokens[Int.random(in: 0..<tokens.count, using: &rng)].utf8)
            let position = Int.random(in: 0..<header.count, using: &rng)
            let removed = min(Int.random(in: 0...3, using: &rng), header.count - position)
            header.replaceSubrange(position..<(position + removed), with: token)
            bytes = rebuild(bytes, header: header, headerEnd: headerEnd, keepLength: Bool.random(using: &rng))
        case 5:  // a number in the header (shape or offset) replaced by another
            var header = Array(bytes[8..<headerEnd])
            let numbers = digitRuns(header)
            guard let run = numbers.randomElement(using: &rng) else { break }
            let value = Int(String(decoding: header[run], as: UTF8.self)) ?? 0
            let replacements = [
                "\(value + 1)", "\(value - 1)", "\(value * 2)", "\(value / 2)", "0", "-\(value)", "\(value)0",
                "\(Int.random(in: 0...1_000_000, using: &rng))", "9223372036854775807", "18446744073709551616",
                "4611686018427387904", "\(value).5", "1e3", "-0",
            ]
            header.replaceSubrange(run, with: Array(replacements[Int.random(in: 0..<replacements.count, using: &rng)].utf8))
            bytes = rebuild(bytes, header: header, headerEnd: headerEnd, keepLength: false)
        case 6:  // a dtype replaced
            var header = Array(bytes[8..<headerEnd])
            let runs = dtypeRuns(header)
            guard let run = runs.randomElement(using: &rng) else { break }
            let names = SafeTensorsDType.allCases.map(\.rawValue) + ["F128", "f32", "", "I64 ", "BF16\\u0000"]
            header.replaceSubrange(run, with: Array(names[Int.random(in: 0..<names.count, using: &rng)].utf8))
            bytes = rebuild(bytes, header: header, headerEnd: headerEnd, keepLength: false)
        case 7:  // two tensors' data_offsets swapped, or one copied onto another
            var header = Array(bytes[8..<headerEnd])
            let runs = offsetRuns(header)
            guard runs.count >= 2 else { break }
            let first = runs[Int.random(in: 0..<runs.count, using: &rng)]
            let second = runs[Int.random(in: 0..<runs.count, using: &rng)]
            guard first != second else { break }
            let (early, late) = first.lowerBound < second.lowerBound ? (first, second) : (second, first)
            let earlyText = Array(header[early]), lateText = Array(header[late])
            let copyOnly = Bool.random(using: &rng)
            header.replaceSubrange(late, with: earlyText)
            if !copyOnly { header.replaceSubrange(early, with: lateText) }
            bytes = rebuild(bytes, header: header, headerEnd: headerEnd, keepLength: false)
        default:  // an entry duplicated or deleted, by splicing the text between two top-level separators
            var header = Array(bytes[8..<headerEnd])
            let boundaries = entryBoundaries(header)
            guard boundaries.count >= 2 else { break }
            let index = Int.random(in: 0..<(boundaries.count - 1), using: &rng)
            let entry = Array(header[boundaries[index]..<boundaries[index + 1]])
            if Bool.random(using: &rng) {
                header.insert(contentsOf: entry, at: boundaries[index])
            } else {
                header.removeSubrange(boundaries[index]..<boundaries[index + 1])
            }
            bytes = rebuild(bytes, header: header, headerEnd: headerEnd, keepLength: false)
        }
        return (kind, bytes)
    }

    /// Replaces the header, updating the length prefix unless `keepLength`.
    private static func rebuild(_ bytes: [UInt8], header: [UInt8], headerEnd: Int, keepLength: Bool) -> [UInt8] {
        var result = Array(bytes[0..<8])
        if !keepLength {
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { result.replaceSubrange(0..<8, with: $0) }
        }
        result.append(contentsOf: header)
        result.append(contentsOf: bytes[headerEnd...])
        return result
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Ranges of digit runs that are JSON numbers (not inside key strings): preceded by `[` or `,`.
    private static func digitRuns(_ header: [UInt8]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var index = 1
        while index < header.count {
            if isDigit(header[index]) && (header[index - 1] == UInt8(ascii: "[") || header[index - 1] == UInt8(ascii: ",")) {
                let start = index
                while index < header.count && isDigit(header[index]) { index += 1 }
                runs.append(start..<index)
            } else {
                index += 1
            }
        }
        return runs
    }

    /// Ranges of the text between the quotes of each `"dtype":"..."` value.
    private static func dtypeRuns(_ header: [UInt8]) -> [Range<Int>] {
        ranges(of: Array(#""dtype":""#.utf8), in: header).compactMap { match in
            guard let close = header[match.upperBound...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return match.upperBound..<close
        }
    }

    /// Ranges of each `[begin,end]` after `"data_offsets":`.
    private static func offsetRuns(_ header: [UInt8]) -> [Range<Int>] {
        ranges(of: Array(#""data_offsets":"#.utf8), in: header).compactMap { match in
            guard let close = header[match.upperBound...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
            return match.upperBound..<(close + 1)
        }
    }

    /// Start positions of each top-level member `"name":{...},` (just after `{` or `},`), plus the final `}`.
    private static func entryBoundaries(_ header: [UInt8]) -> [Int] {
        var boundaries: [Int] = []
        var depth = 0
        var inString = false
        var escaped = false
        for (index, byte) in header.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 1 { boundaries.append(index + 1) }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 1 { boundaries.append(index + 1) }
            default: break
            }
        }
        return boundaries
    }

    private static func ranges(of needle: [UInt8], in haystack: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        guard haystack.count >= needle.count, let first = needle.first else { return result }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first && Array(haystack[index..<(index + needle.count)]) == needle {
                result.append(index..<(index + needle.count))
                index += needle.count
            } else {
                index += 1
            }
        }
        return result
    }
}
