import Foundation
import Testing
@testable import TensorCore

@Suite("SafeTensors malformed input") struct SafeTensorsMalformedTests {
    typealias Defect = SafeTensorsError.Defect
    static let source = "bad-model.safetensors"

    /// A file with the given header text, data bytes, and optionally a forged header length.
    static func file(_ header: String, data: Int = 0, length: UInt64? = nil) -> Data {
        file(bytes: Array(header.utf8), data: data, length: length)
    }

    static func file(bytes header: [UInt8], data: Int = 0, length: UInt64? = nil) -> Data {
        var result = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.count)).littleEndian) { result.append(contentsOf: $0) }
        result.append(contentsOf: header)
        result.append(contentsOf: (0..<data).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        return result
    }

    /// The defect `parse` reports, after checking the message names the source and states the defect.
    static func defect(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> Defect? {
        do {
            _ = try SafeTensorsFile.parse(data, source: source)
            Issue.record("parsed without error", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.source == source, sourceLocation: sourceLocation)
            #expect(error.description.contains(source), sourceLocation: sourceLocation)
            #expect(error.description.contains(error.defect.message), sourceLocation: sourceLocation)
            return error.defect
        }
    }

    static func entry(_ dtype: String = "F32", shape: String = "[1]", offsets: String = "[0,4]") -> String {
        #"{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    @Test func validEdgeCasesParse() throws {
        // Whitespace around the JSON, unknown fields, a zero-size tensor between two others, null metadata.
        let header = #"  {"__metadata__":null,"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[1,{"x":null}]},"#
            + #""z":{"dtype":"F16","shape":[0,9223372036854775807],"data_offsets":[4,4]},"b":\#(Self.entry(offsets: "[4,8]"))}   "#
        let file = try SafeTensorsFile.parse(Self.file(header, data: 8), source: Self.source)
        #expect(file.names == ["a", "b", "z"])
        #expect(file["z"]?.count == 0)
        #expect(file.metadata.isEmpty)
        // A slice of a larger buffer (non-zero start index) parses the same.
        let embedded = Data([9, 9, 9]) + Self.file(header, data: 8) + Data([7])
        let slice = try SafeTensorsFile.parse(embedded[3..<(embedded.count - 1)], source: Self.source)
        #expect(slice.tensors == file.tensors)
        // Empty file: header {} and no data.
        #expect(try SafeTensorsFile.parse(Self.file("{}"), source: Self.source).tensors.isEmpty)
    }

    @Test func lengthPrefixDefects() {
        #expect(Self.defect(Data()) == .fileTooShort(byteCount: 0))
        #expect(Self.defect(Data([1, 2, 3, 4, 5, 6, 7])) == .fileTooShort(byteCount: 7))
        #expect(Self.defect(Self.file("{}", length: .max))
                == .headerTooLarge(length: .max, limit: SafeTensorsFile.maximumHeaderLength))
        #expect(Self.defect(Self.file("{}", length: 100_000_001))
                == .headerTooLarge(length: 100_000_001, limit: 100_000_000))
        #expect(Self.defect(Self.file("{}", length: 100)) == .headerPastEnd(length: 100, available: 2))
        #expect(Self.defect(Self.file("{}", data: 10, length: 13)) == .headerPastEnd(length: 13, available: 12))
    }

    @Test func headerTextDefects() {
        #expect(Self.defect(Self.file(bytes: [0x7B, 0xFF, 0x7D])) == .headerNotUTF8)
        #expect(Self.defect(Self.file(bytes: [0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D])) == .headerNotUTF8)
        #expect(Self.defect(Self.file(#"{"a":"#)) == .invalidJSON(reason: "unexpected end of header", offset: 5))
        for broken in [#"{"a" 1}"#, #"{"a":1,}"#, "{} x", #"{"a":tru}"#, #"{"a":"\ud800"}"#, #"{"a":"\q"}"#,
                       "{\"a\":\"line\nbreak\"}", #"{"a":01}"#, #"{"a":-}"#, #"{"a":1.}"#, #"{'a':1}"#, "",
                       String(repeating: "[", count: 100_000), "{\"a\":" + String(repeating: "{\"b\":", count: 70)] {
            guard case .invalidJSON = Self.defect(Self.file(broken)) else {
                Issue.record("not reported as invalid JSON: \(broken.prefix(40))")
                continue
            }
        }
        #expect(Self.defect(Self.file("[]")) == .headerNotObject)
        #expect(Self.defect(Self.file(#""text""#)) == .headerNotObject)
        #expect(Self.defect(Self.file("12")) == .headerNotObject)
    }

    @Test func metadataAndNameDefects() {
        guard case .invalidMetadata = Self.defect(Self.file(#"{"__metadata__":{"a":1}}"#)) else {
            Issue.record("numeric metadata value accepted"); return
        }
        guard case .invalidMetadata = Self.defect(Self.file(#"{"__metadata__":["a"]}"#)) else {
            Issue.record("array metadata accepted"); return
        }
        guard case .invalidMetadata = Self.defect(Self.file(#"{"__metadata__":{"a":"1","a":"2"}}"#)) else {
            Issue.record("repeated metadata key accepted"); return
        }
        let twice = #"{"w":\#(Self.entry()),"w":\#(Self.entry(offsets: "[4,8]"))}"#
        #expect(Self.defect(Self.file(twice, data: 8)) == .duplicateName("w"))
        #expect(Self.defect(Self.file(#"{"__metadata__":{},"__metadata__":{}}"#)) == .duplicateName("__metadata__"))
    }

    @Test func entryFieldDefects() {
        func one(_ entry: String, data: Int = 4) -> Defect? { Self.defect(Self.file(#"{"w":\#(entry)}"#, data: data)) }
        #expect(one("[1]") == .entryNotObject(tensor: "w"))
        #expect(one(#"{"shape":[1],"data_offsets":[0,4]}"#) == .missingField(tensor: "w", field: "dtype"))
        #expect(one(#"{"dtype":"F32","data_offsets":[0,4]}"#) == .missingField(tensor: "w", field: "shape"))
        #expect(one(#"{"dtype":"F32","shape":[1]}"#) == .missingField(tensor: "w", field: "data_offsets"))
        #expect(one(#"{"dtype":32,"shape":[1],"data_offsets":[0,4]}"#)
                == .wrongFieldType(tensor: "w", field: "dtype", expected: "a string"))
        let integers = "an array of integers"
        #expect(one(Self.entry(shape: #""1""#)) == .wrongFieldType(tensor: "w", field: "shape", expected: integers))
        #expect(one(Self.entry(shape: "[1.0]")) == .wrongFieldType(tensor: "w", field: "shape", expected: integers))
        #expect(one(Self.entry(shape: "[1e0]")) == .wrongFieldType(tensor: "w", field: "shape", expected: integers))
        #expect(one(Self.entry(shape: "[null]")) == .wrongFieldType(tensor: "w", field: "shape", expected: integers))
        let pair = "an array of two integers [begin, end]"
        for offsets in ["[0]", "[0,4,4]", #"[0,"4"]"#, "[0,4.0]", "{}", "4"] {
            #expect(one(Self.entry(offsets: offsets))
                    == .wrongFieldType(tensor: "w", field: "data_offsets", expected: pair), "\(offsets)")
        }
        #expect(one(#"{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}"#)
                == .wrongFieldType(tensor: "w", field: "dtype", expected: "given once, not repeated"))
    }

    @Test func dtypeAndShapeDefects() throws {
        func one(_ entry: String, data: Int = 4) -> Defect? { Self.defect(Self.file(#"{"w":\#(entry)}"#, data: data)) }
        #expect(one(Self.entry("F128")) == .unknownDType(tensor: "w", dtype: "F128"))
        #expect(one(Self.entry("f32")) == .unknownDType(tensor: "w", dtype: "f32"))
        #expect(one(Self.entry(shape: "[2,-1]")) == .negativeDimension(tensor: "w", shape: "[2, -1]"))
        #expect(one(Self.entry(shape: "[-99999999999999999999]"))
                == .negativeDimension(tensor: "w", shape: "[-99999999999999999999]"))
        #expect(one(Self.entry(shape: "[99999999999999999999]"))
                == .shapeOverflow(tensor: "w", shape: "[99999999999999999999]"))
        #expect(one(Self.entry(shape: "[4294967296,4294967296]"))
                == .shapeOverflow(tensor: "w", shape: "[4294967296, 4294967296]"))
        // The element count fits, the byte size (x 4) does not.
        #expect(one(Self.entry(shape: "[4611686018427387904]"))
                == .shapeOverflow(tensor: "w", shape: "[4611686018427387904]"))
        // -0 is zero, not negative.
        let negativeZero = Self.file(#"{"w":\#(Self.entry(shape: "[3,-0]", offsets: "[0,0]"))}"#)
        #expect(try SafeTensorsFile.parse(negativeZero, source: Self.source)["w"]?.shape == [3, 0])
    }

    @Test func offsetDefects() {
        func one(_ entry: String, data: Int = 4) -> Defect? { Self.defect(Self.file(#"{"w":\#(entry)}"#, data: data)) }
        #expect(one(Self.entry(offsets: "[0,8]")) == .offsetsOutOfRange(tensor: "w", offsets: "[0, 8]", dataLength: 4))
        #expect(one(Self.entry(offsets: "[-4,0]")) == .offsetsOutOfRange(tensor: "w", offsets: "[-4, 0]", dataLength: 4))
        #expect(one(Self.entry(offsets: "[0,99999999999999999999]"))
                == .offsetsOutOfRange(tensor: "w", offsets: "[0, 99999999999999999999]", dataLength: 4))
        #expect(one(Self.entry(offsets: "[4,0]")) == .beginAfterEnd(tensor: "w", begin: 4, end: 0))
        #expect(one(Self.entry(shape: "[2]", offsets: "[0,4]")) == .sizeMismatch(tensor: "w", expectedBytes: 8, actualBytes: 4))
        #expect(one(Self.entry("I64", offsets: "[0,4]")) == .sizeMismatch(tensor: "w", expectedBytes: 8, actualBytes: 4))
    }

    @Test func layoutDefects() {
        let overlap = #"{"a":\#(Self.entry(shape: "[2]", offsets: "[0,8]")),"b":\#(Self.entry(shape: "[2]", offsets: "[4,12]"))}"#
        #expect(Self.defect(Self.file(overlap, data: 12)) == .overlappingTensors(first: "a", second: "b"))
        let same = #"{"a":\#(Self.entry()),"b":\#(Self.entry())}"#
        #expect(Self.defect(Self.file(same, data: 4)) == .overlappingTensors(first: "a", second: "b"))
        let gap = #"{"b":\#(Self.entry(offsets: "[8,12]")),"a":\#(Self.entry())}"#
        #expect(Self.defect(Self.file(gap, data: 12)) == .unusedBytes(after: "a", begin: 4, end: 8))
        let late = #"{"a":\#(Self.entry(offsets: "[4,8]"))}"#
        #expect(Self.defect(Self.file(late, data: 8)) == .unusedBytes(after: nil, begin: 0, end: 4))
        #expect(Self.defect(Self.file(#"{"a":\#(Self.entry())}"#, data: 9)) == .unusedBytes(after: "a", begin: 4, end: 9))
        #expect(Self.defect(Self.file("{}", data: 3)) == .unusedBytes(after: nil, begin: 0, end: 3))
    }

    @Test func readNamesThePathAndReportsSystemErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("truncated.safetensors")
        let whole = try Data(contentsOf: SafeTensorsFixtures.url("sampling-cfg-ddim/reference.safetensors"))
        try whole.prefix(whole.count - 1).write(to: url)
        do {
            _ = try SafeTensorsFile.read(url)
            Issue.record("a truncated file was accepted")
        } catch {
            #expect(error.source == url.path)
            #expect(error.description.contains("truncated.safetensors"))
            guard case .offsetsOutOfRange = error.defect else { Issue.record("\(error)"); return }
        }
        for missing in [directory.appendingPathComponent("absent.safetensors"), directory] {
            do {
                _ = try SafeTensorsFile.read(missing)
                Issue.record("\(missing.path) was read")
            } catch {
                #expect(error.description.contains(missing.path))
                guard case .ioFailure = error.defect else { Issue.record("\(error)"); continue }
            }
        }
    }
}
