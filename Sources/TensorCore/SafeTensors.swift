import Foundation

/// The element types of the safetensors format that tdm-video reads and writes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8", bool = "BOOL"

    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .u8, .bool: return 1
        }
    }
}

/// One stored tensor: its type, shape and raw little-endian bytes.
public struct SafeTensor: Sendable, Equatable {
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Float values stored as F32, F16 or BF16.
    public init(floats: [Float], shape: [Int], as dtype: SafeTensorsDType = .f32) {
        precondition([.f32, .f16, .bf16].contains(dtype), "SafeTensor(floats:) stores F32, F16 or BF16")
        var b = [UInt8]()
        b.reserveCapacity(floats.count * dtype.size)
        for f in floats {
            switch dtype {
            case .f16: let h = HalfPrecision.f16Bits(f); b.append(UInt8(h & 0xFF)); b.append(UInt8(h >> 8))
            case .bf16: let h = HalfPrecision.bf16Bits(f); b.append(UInt8(h & 0xFF)); b.append(UInt8(h >> 8))
            default: let u = f.bitPattern; for s in stride(from: 0, to: 32, by: 8) { b.append(UInt8((u >> UInt32(s)) & 0xFF)) }
            }
        }
        self.init(dtype: dtype, shape: shape, bytes: b)
    }

    public init(doubles: [Double], shape: [Int]) {
        var b = [UInt8]()
        b.reserveCapacity(doubles.count * 8)
        for d in doubles { let u = d.bitPattern; for s in stride(from: 0, to: 64, by: 8) { b.append(UInt8((u >> UInt64(s)) & 0xFF)) } }
        self.init(dtype: .f64, shape: shape, bytes: b)
    }

    public init(int64s: [Int64], shape: [Int]) {
        var b = [UInt8]()
        b.reserveCapacity(int64s.count * 8)
        for d in int64s { let u = UInt64(bitPattern: d); for s in stride(from: 0, to: 64, by: 8) { b.append(UInt8((u >> UInt64(s)) & 0xFF)) } }
        self.init(dtype: .i64, shape: shape, bytes: b)
    }

    @inline(__always) func u16(_ i: Int) -> UInt16 { UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8 }
    @inline(__always) func u32(_ i: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[4 * i + k]) << UInt32(8 * k) }
        return v
    }
    @inline(__always) func u64(_ i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[8 * i + k]) << UInt64(8 * k) }
        return v
    }

    /// The values as Float32, converted from any stored type.
    public func floats() -> [Float] {
        let n = bytes.count / dtype.size
        switch dtype {
        case .f32: return (0..<n).map { Float(bitPattern: u32($0)) }
        case .f16: return (0..<n).map { HalfPrecision.float(f16: u16($0)) }
        case .bf16: return (0..<n).map { HalfPrecision.float(bf16: u16($0)) }
        case .f64: return (0..<n).map { Float(Double(bitPattern: u64($0))) }
        case .i64: return (0..<n).map { Float(Int64(bitPattern: u64($0))) }
        case .i32: return (0..<n).map { Float(Int32(bitPattern: u32($0))) }
        case .u8, .bool: return bytes.map { Float($0) }
        }
    }

    /// The values as Float64 (exact for F64; converted otherwise).
    public func doubles() -> [Double] {
        if dtype == .f64 { return (0..<(bytes.count / 8)).map { Double(bitPattern: u64($0)) } }
        if dtype == .i64 { return int64s().map(Double.init) }
        return floats().map(Double.init)
    }

    /// The values as Int64 (exact for integer types; floats are truncated toward zero when finite).
    public func int64s() -> [Int64] {
        switch dtype {
        case .i64: return (0..<(bytes.count / 8)).map { Int64(bitPattern: u64($0)) }
        case .i32: return (0..<(bytes.count / 4)).map { Int64(Int32(bitPattern: u32($0))) }
        case .u8, .bool: return bytes.map { Int64($0) }
        default: return doubles().map { $0.isFinite && abs($0) < 9.2e18 ? Int64($0) : 0 }
        }
    }
}

/// A malformed or unwritable safetensors file: names the file and the defect.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Defect: Equatable, Sendable {
        case unreadable(String)
        case tooShort(Int)
        case headerLength(UInt64, Int)
        case headerNotJSON(String)
        case badEntry(String, String)
        case unknownDType(String, String)
        case badShape(String, String)
        case badOffsets(String, String)
        case sizeMismatch(String, expected: Int, got: Int)
        case overlap(String, String)
        case unwritable(String)
    }
    public var source: String
    public var defect: Defect

    public var description: String {
        let what: String
        switch defect {
        case .unreadable(let m): what = "cannot read the file (\(m))"
        case .tooShort(let n): what = "file is \(n) bytes, shorter than the 8-byte header length"
        case .headerLength(let n, let size): what = "header length \(n) runs past the end of the \(size)-byte file"
        case .headerNotJSON(let m): what = "header is not a JSON object (\(m))"
        case .badEntry(let k, let m): what = "tensor \"\(k)\": \(m)"
        case .unknownDType(let k, let d): what = "tensor \"\(k)\": unknown dtype \"\(d)\""
        case .badShape(let k, let m): what = "tensor \"\(k)\": bad shape (\(m))"
        case .badOffsets(let k, let m): what = "tensor \"\(k)\": data_offsets \(m)"
        case .sizeMismatch(let k, let e, let g): what = "tensor \"\(k)\": shape x dtype needs \(e) bytes, data_offsets give \(g)"
        case .overlap(let a, let b): what = "tensors \"\(a)\" and \"\(b)\" overlap in the data section"
        case .unwritable(let m): what = "cannot write (\(m))"
        }
        return "safetensors \(source): \(what)"
    }
}

/// A safetensors file (Hugging Face's format): an 8-byte little-endian header length, a JSON header
/// mapping names to dtype, shape and byte offsets, then the data. Every field is validated; malformed
/// input throws `SafeTensorsError` and never traps.
public struct SafeTensorsFile: Sendable {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafeTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> SafeTensor? { tensors[name] }

    public static func read(_ url: URL) throws -> SafeTensorsFile {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw SafeTensorsError(source: url.path, defect: .unreadable(error.localizedDescription))
        }
        return try parse(data, source: url.path)
    }

    public static func parse(_ data: Data, source: String) throws -> SafeTensorsFile {
        func fail(_ d: SafeTensorsError.Defect) -> SafeTensorsError { SafeTensorsError(source: source, defect: d) }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw fail(.tooShort(bytes.count)) }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << UInt64(8 * k) }
        guard n <= UInt64(bytes.count - 8) else { throw fail(.headerLength(n, bytes.count)) }
        let headerEnd = 8 + Int(n)
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) } catch {
            throw fail(.headerNotJSON("invalid JSON"))
        }
        guard let header = obj as? [String: Any] else { throw fail(.headerNotJSON("top level is not an object")) }
        let dataLen = bytes.count - headerEnd
        var tensors: [String: SafeTensor] = [:]
        var metadata: [String: String] = [:]
        var spans: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail(.badEntry(name, "metadata is not an object")) }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail(.badEntry(name, "metadata value for \"\(k)\" is not a string")) }
                    metadata[k] = s
                }
                continue
            }
            guard let e = value as? [String: Any] else { throw fail(.badEntry(name, "entry is not an object")) }
            guard let ds = e["dtype"] as? String else { throw fail(.badEntry(name, "missing or non-string \"dtype\"")) }
            guard let dtype = SafeTensorsDType(rawValue: ds) else { throw fail(.unknownDType(name, ds)) }
            guard let shapeAny = e["shape"] as? [Any] else { throw fail(.badEntry(name, "missing or non-array \"shape\"")) }
            var shape: [Int] = []
            for d in shapeAny {
                guard let num = d as? NSNumber else { throw fail(.badShape(name, "non-integer dimension")) }
                let dv = num.doubleValue
                guard dv >= 0, dv == dv.rounded(), dv < 9.0e15 else { throw fail(.badShape(name, "dimension \(num)")) }
                shape.append(Int(dv))
            }
            var count = 1
            for d in shape {
                let (r, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw fail(.badShape(name, "\(shape) overflows")) }
                count = r
            }
            let (need, o2) = count.multipliedReportingOverflow(by: dtype.size)
            guard !o2 else { throw fail(.badShape(name, "\(shape) overflows")) }
            guard let offs = e["data_offsets"] as? [Any], offs.count == 2,
                  let b0 = offs[0] as? NSNumber, let b1 = offs[1] as? NSNumber,
                  b0.doubleValue >= 0, b1.doubleValue >= 0,
                  b0.doubleValue == b0.doubleValue.rounded(), b1.doubleValue == b1.doubleValue.rounded(),
                  b0.doubleValue < 9.0e15, b1.doubleValue < 9.0e15 else {
                throw fail(.badOffsets(name, "must be two non-negative integers"))
            }
            let begin = Int(b0.doubleValue), end = Int(b1.doubleValue)
            guard begin <= end else { throw fail(.badOffsets(name, "[\(begin), \(end)] begin after end")) }
            guard end <= dataLen else { throw fail(.badOffsets(name, "[\(begin), \(end)] past the \(dataLen)-byte data section")) }
            guard end - begin == need else { throw fail(.sizeMismatch(name, expected: need, got: end - begin)) }
            spans.append((begin, end, name))
            tensors[name] = SafeTensor(dtype: dtype, shape: shape,
                                       bytes: Array(bytes[(headerEnd + begin)..<(headerEnd + end)]))
        }
        spans.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        for i in 1..<max(1, spans.count) where spans[i].0 < spans[i - 1].1 && spans[i].1 > spans[i].0 {
            throw fail(.overlap(spans[i - 1].2, spans[i].2))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// The file's bytes: sorted keys, data in key order, header padded with spaces to 8 bytes.
    public static func serialize(_ tensors: [(name: String, tensor: SafeTensor)], metadata: [String: String]) -> [UInt8] {
        let sorted = tensors.sorted { $0.name < $1.name }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var off = 0
        for (name, t) in sorted {
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [off, off + t.bytes.count]] as [String: Any]
            off += t.bytes.count
        }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + off)
        let n = UInt64(json.count)
        for k in 0..<8 { out.append(UInt8((n >> UInt64(8 * k)) & 0xFF)) }
        out.append(contentsOf: json)
        for (_, t) in sorted { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Writes atomically: a temporary file in the same folder, renamed over `url` when complete.
    public static func write(_ tensors: [(name: String, tensor: SafeTensor)], metadata: [String: String], to url: URL) throws {
        try AtomicFile.write(Data(serialize(tensors, metadata: metadata)), to: url) { m in
            SafeTensorsError(source: url.path, defect: .unwritable(m))
        }
    }
}

/// Writing a file so that it is either complete or absent: temp file beside it, then rename.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL, error: (String) -> Error) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: data) else {
            throw error("cannot create a file in \(dir.path)")
        }
        if rename(tmp.path, url.path) != 0 {
            let m = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw error("cannot rename into place: \(m)")
        }
    }
}
