import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file in memory: named tensors plus the `__metadata__` string map.
///
/// This is the format diffusers' `save_pretrained` writes (`diffusion_pytorch_model.safetensors`) and the one
/// the reference fixtures use: an 8-byte little-endian header length N, N bytes of JSON header naming each
/// tensor's dtype, shape and byte range, then the data region. Reading validates everything the reference
/// `safetensors` library validates (and refuses what it refuses: gaps, overlaps, trailing bytes, duplicate
/// names), so a file we accept is one PyTorch accepts, and a hostile file only ever yields a `SafeTensorsError`.
public struct SafeTensorsFile: Sendable {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    /// The header-length limit of the reference library; a longer header is refused before any allocation.
    public static let maximumHeaderLength = 100_000_000

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> SafeTensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    /// The tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    // MARK: reading

    /// Reads and validates the file at `url`. Errors name `url.path`.
    public static func read(_ url: URL) throws(SafeTensorsError) -> SafeTensorsFile {
        let path = url.path
        let data = try readFile(path: path)
        return try parse(data, source: path)
    }

    /// Parses and validates a whole safetensors file held in `data`; `source` names it in errors. The tensors
    /// share `data`'s buffer (no copy of the tensor bytes).
    public static func parse(_ data: Data, source: String) throws(SafeTensorsError) -> SafeTensorsFile {
        func failure(_ defect: SafeTensorsError.Defect) -> SafeTensorsError {
            SafeTensorsError(source: source, defect: defect)
        }
        let total = data.count
        guard total >= 8 else { throw failure(.fileTooShort(byteCount: total)) }
        let start = data.startIndex
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw failure(.headerTooLarge(length: headerLength, limit: maximumHeaderLength))
        }
        let length = Int(headerLength)
        guard length <= total - 8 else {
            throw failure(.headerPastEnd(length: headerLength, available: total - 8))
        }
        let header = Array(data[(start + 8)..<(start + 8 + length)])
        let dataStart = start + 8 + length
        let dataLength = total - 8 - length
        let parsed = header.withUnsafeBytes { raw in
            Result { () throws(SafeTensorsError) in try parseHeader(raw, dataLength: dataLength, source: source) }
        }
        let (entries, metadata) = try parsed.get()

        var tensors: [String: SafeTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let bytes = data[(dataStart + entry.begin)..<(dataStart + entry.end)]
            tensors[entry.name] = SafeTensor(validated: entry.dtype, shape: entry.shape, count: entry.count, storage: bytes)
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// One validated header entry.
    struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var count: Int
        var begin: Int
        var end: Int
    }

    /// Validates the JSON header against a data region of `dataLength` bytes.
    static func parseHeader(
        _ raw: UnsafeRawBufferPointer, dataLength: Int, source: String
    ) throws(SafeTensorsError) -> (entries: [Entry], metadata: [String: String]) {
        func failure(_ defect: SafeTensorsError.Defect) -> SafeTensorsError {
            SafeTensorsError(source: source, defect: defect)
        }
        guard String(validating: raw, as: UTF8.self) != nil else { throw failure(.headerNotUTF8) }
        let json: SafeTensorsJSON.Value
        do {
            json = try SafeTensorsJSON.parse(raw)
        } catch {
            throw failure(.invalidJSON(reason: error.reason, offset: error.offset))
        }
        guard case .object(let members) = json else { throw failure(.headerNotObject) }

        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        for member in members {
            let name = member.key, value = member.value
            guard seen.insert(name).inserted else { throw failure(.duplicateName(name)) }
            if name == "__metadata__" {
                metadata = try parseMetadata(value, failure: failure)
                continue
            }
            entries.append(try parseEntry(name: name, value: value, dataLength: dataLength, failure: failure))
        }
        try checkLayout(entries, dataLength: dataLength, failure: failure)
        return (entries, metadata)
    }

    private static func parseMetadata(
        _ value: SafeTensorsJSON.Value, failure: (SafeTensorsError.Defect) -> SafeTensorsError
    ) throws(SafeTensorsError) -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var metadata: [String: String] = [:]
            for member in members {
                let key = member.key, item = member.value
                guard case .string(let text) = item else {
                    throw failure(.invalidMetadata(reason: "value of \"\(key)\" is not a string"))
                }
                guard metadata.updateValue(text, forKey: key) == nil else {
                    throw failure(.invalidMetadata(reason: "key \"\(key)\" appears more than once"))
                }
            }
            return metadata
        default:
            throw failure(.invalidMetadata(reason: "not an object of strings"))
        }
    }

    private static func parseEntry(
        name: String, value: SafeTensorsJSON.Value, dataLength: Int,
        failure: (SafeTensorsError.Defect) -> SafeTensorsError
    ) throws(SafeTensorsError) -> Entry {
        guard case .object(let fields) = value else { throw failure(.entryNotObject(tensor: name)) }
        var dtypeValue: SafeTensorsJSON.Value?
        var shapeValue: SafeTensorsJSON.Value?
        var offsetsValue: SafeTensorsJSON.Value?
        for member in fields {
            let field = member.key, item = member.value
            switch field {
            case "dtype", "shape", "data_offsets":
                let repeated: Bool
                switch field {
                case "dtype": repeated = dtypeValue != nil; dtypeValue = item
                case "shape": repeated = shapeValue != nil; shapeValue = item
                default: repeated = offsetsValue != nil; offsetsValue = item
                }
                if repeated {
                    throw failure(.wrongFieldType(tensor: name, field: field, expected: "given once, not repeated"))
                }
            default:
                continue  // unknown fields are ignored, as serde does for the reference library
            }
        }

        // dtype
        guard let dtypeValue else { throw failure(.missingField(tensor: name, field: "dtype")) }
        guard case .string(let dtypeText) = dtypeValue else {
            throw failure(.wrongFieldType(tensor: name, field: "dtype", expected: "a string"))
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeText) else {
            throw failure(.unknownDType(tensor: name, dtype: dtypeText))
        }

        // shape
        guard let shapeValue else { throw failure(.missingField(tensor: name, field: "shape")) }
        guard case .array(let shapeItems) = shapeValue else {
            throw failure(.wrongFieldType(tensor: name, field: "shape", expected: "an array of integers"))
        }
        var numbers: [SafeTensorsJSON.Number] = []
        numbers.reserveCapacity(shapeItems.count)
        for item in shapeItems {
            guard case .number(let number) = item, number.isIntegerLiteral else {
                throw failure(.wrongFieldType(tensor: name, field: "shape", expected: "an array of integers"))
            }
            numbers.append(number)
        }
        let shapeText = "[" + numbers.map(\.text).joined(separator: ", ") + "]"
        var shape: [Int] = []
        shape.reserveCapacity(numbers.count)
        for number in numbers {
            if number.text.hasPrefix("-") && number.integer.map({ $0 != 0 }) ?? true {
                throw failure(.negativeDimension(tensor: name, shape: shapeText))
            }
        }
        for number in numbers {
            guard let dimension = number.integer else { throw failure(.shapeOverflow(tensor: name, shape: shapeText)) }
            shape.append(dimension)
        }
        var count = 1
        var overflowed = false
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { overflowed = true } else { count = product }
        }
        if shape.contains(0) {
            count = 0
            overflowed = false
        }
        let (byteSize, sizeOverflow) = count.multipliedReportingOverflow(by: dtype.size)
        if overflowed || sizeOverflow { throw failure(.shapeOverflow(tensor: name, shape: shapeText)) }

        // data_offsets
        guard let offsetsValue else { throw failure(.missingField(tensor: name, field: "data_offsets")) }
        let offsetsExpectation = "an array of two integers [begin, end]"
        guard case .array(let offsetItems) = offsetsValue, offsetItems.count == 2,
              case .number(let beginNumber) = offsetItems[0], beginNumber.isIntegerLiteral,
              case .number(let endNumber) = offsetItems[1], endNumber.isIntegerLiteral else {
            throw failure(.wrongFieldType(tensor: name, field: "data_offsets", expected: offsetsExpectation))
        }
        let offsetsText = "[\(beginNumber.text), \(endNumber.text)]"
        guard let begin = beginNumber.integer, let end = endNumber.integer, begin >= 0, end >= 0 else {
            throw failure(.offsetsOutOfRange(tensor: name, offsets: offsetsText, dataLength: dataLength))
        }
        guard begin <= end else { throw failure(.beginAfterEnd(tensor: name, begin: begin, end: end)) }
        guard end <= dataLength else {
            throw failure(.offsetsOutOfRange(tensor: name, offsets: offsetsText, dataLength: dataLength))
        }
        guard end - begin == byteSize else {
            throw failure(.sizeMismatch(tensor: name, expectedBytes: byteSize, actualBytes: end - begin))
        }
        return Entry(name: name, dtype: dtype, shape: shape, count: count, begin: begin, end: end)
    }

    /// The byte ranges must tile the data region exactly, as the reference library requires.
    private static func checkLayout(
        _ entries: [Entry], dataLength: Int, failure: (SafeTensorsError.Defect) -> SafeTensorsError
    ) throws(SafeTensorsError) {
        let ordered = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        var previous: String? = nil
        for entry in ordered {
            if entry.begin < position, let previous {
                throw failure(.overlappingTensors(first: previous, second: entry.name))
            }
            if entry.begin > position {
                throw failure(.unusedBytes(after: previous, begin: position, end: entry.begin))
            }
            position = entry.end
            previous = entry.name
        }
        if position < dataLength {
            throw failure(.unusedBytes(after: previous, begin: position, end: dataLength))
        }
    }

    /// Reads a whole regular file with POSIX calls, so failures carry the system's reason and the path.
    private static func readFile(path: String) throws(SafeTensorsError) -> Data {
        func failure(_ what: String) -> SafeTensorsError {
            SafeTensorsError(source: path, defect: .ioFailure(reason: "\(what): \(String(cString: strerror(errno)))"))
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // a FIFO must not block the open
        guard descriptor >= 0 else { throw failure("cannot open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("cannot stat") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(source: path, defect: .ioFailure(reason: "not a regular file"))
        }
        let size = Int(status.st_size)
        var data = Data(count: size)
        var filled = 0
        var readError: Int32 = 0
        data.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while filled < size {
                let got = systemRead(descriptor, base + filled, min(size - filled, 1 << 30))
                if got < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if got == 0 { break }  // the file shrank while reading; parse what is there
                filled += got
            }
        }
        if readError != 0 {
            errno = readError
            throw failure("cannot read")
        }
        if filled < size { data.count = filled }
        return data
    }
}

/// `read(2)`, named apart from `SafeTensorsFile.read`.
@inline(__always)
func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(descriptor, buffer, count)
    #else
    return Darwin.read(descriptor, buffer, count)
    #endif
}
