import Foundation

/// One tensor of a safetensors file: element type, shape and the raw little-endian bytes, exactly as stored.
///
/// It mirrors the reference library's `TensorView` (dtype, shape, bytes) rather than a typed array, so a file is
/// read without converting anything and written back bit for bit; the typed accessors convert on demand.
/// The invariant `count == product(shape)` and `byteCount == count * dtype.size` holds for every value (the
/// initializers check it), so the accessors never read out of bounds.
public struct SafeTensor: Sendable, Equatable {
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Number of elements, the product of `shape` (1 for a scalar, `shape == []`).
    public let count: Int
    /// The raw bytes; after a read this is a slice sharing the file's buffer (no copy).
    private let storage: Data

    /// Size of the raw data in bytes (`count * dtype.size`).
    public var byteCount: Int { storage.count }

    /// A zero-based copy of the raw little-endian bytes.
    public var bytes: Data { Data(storage) }

    /// Calls `body` with the raw little-endian bytes (`byteCount` of them) without copying.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// Wraps raw little-endian bytes, checking that they hold exactly `product(shape) * dtype.size` bytes.
    public init(dtype: SafeTensorsDType, shape: [Int], bytes: Data) throws(SafeTensorsError) {
        let count = try Self.elementCount(shape, source: "SafeTensor(dtype:shape:bytes:)")
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else {
            throw SafeTensorsError(source: "SafeTensor(dtype:shape:bytes:)",
                                   defect: .shapeOverflow(tensor: "", shape: "\(shape)"))
        }
        guard expected == bytes.count else {
            throw SafeTensorsError(source: "SafeTensor(dtype:shape:bytes:)",
                                   defect: .sizeMismatch(tensor: "", expectedBytes: expected, actualBytes: bytes.count))
        }
        self.init(validated: dtype, shape: shape, count: count, storage: bytes)
    }

    /// For callers that already checked the invariant (the parser).
    init(validated dtype: SafeTensorsDType, shape: [Int], count: Int, storage: Data) {
        self.dtype = dtype
        self.shape = shape
        self.count = count
        self.storage = storage
    }

    /// Stores `floats` as `F32` (bit exact), or rounded to nearest-even as `F16` or `BF16`, or widened to `F64`.
    public init(floats: [Float], shape: [Int], as dtype: SafeTensorsDType = .f32) throws(SafeTensorsError) {
        let source = "SafeTensor(floats:shape:as:)"
        try Self.checkCount(floats.count, shape: shape, source: source)
        let storage: Data
        switch dtype {
        case .f32: storage = floats.withUnsafeBufferPointer { Self.encode($0, as: UInt32.self) { $0.bitPattern } }
        case .f16: storage = floats.withUnsafeBufferPointer { Self.encode($0, as: UInt16.self) { HalfPrecision.f16Bits(from: $0) } }
        case .bf16: storage = floats.withUnsafeBufferPointer { Self.encode($0, as: UInt16.self) { HalfPrecision.bf16Bits(from: $0) } }
        case .f64: storage = floats.withUnsafeBufferPointer { Self.encode($0, as: UInt64.self) { Double($0).bitPattern } }
        default:
            throw SafeTensorsError(source: source, defect: .invalidTensor(
                tensor: "", reason: "Float values can be stored as F32, F16, BF16 or F64, not \(dtype.rawValue)"))
        }
        self.init(validated: dtype, shape: shape, count: floats.count, storage: storage)
    }

    /// Stores `doubles` as `F64` (bit exact), or rounded to `F32` / `F16` / `BF16`.
    public init(doubles: [Double], shape: [Int], as dtype: SafeTensorsDType = .f64) throws(SafeTensorsError) {
        let source = "SafeTensor(doubles:shape:as:)"
        if dtype != .f64 {
            try self.init(floats: doubles.map { Float($0) }, shape: shape, as: dtype)
            return
        }
        try Self.checkCount(doubles.count, shape: shape, source: source)
        let storage = doubles.withUnsafeBufferPointer { Self.encode($0, as: UInt64.self) { $0.bitPattern } }
        self.init(validated: .f64, shape: shape, count: doubles.count, storage: storage)
    }

    /// Stores `int64s` as `I64`.
    public init(int64s: [Int64], shape: [Int]) throws(SafeTensorsError) {
        try Self.checkCount(int64s.count, shape: shape, source: "SafeTensor(int64s:shape:)")
        let storage = int64s.withUnsafeBufferPointer { Self.encode($0, as: UInt64.self) { UInt64(bitPattern: $0) } }
        self.init(validated: .i64, shape: shape, count: int64s.count, storage: storage)
    }

    // MARK: typed access

    /// The elements as `Float`: exact for F32/F16/BF16/F8 and small integers, rounded to nearest for F64 and
    /// large integers; BOOL gives 0 or 1.
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { output, initialized in
            floats(into: output)
            initialized = count
        }
    }

    /// Writes the elements as `Float` into `output`, which must hold at least `count` elements (only the first
    /// `min(count, output.count)` are written).
    public func floats(into output: UnsafeMutableBufferPointer<Float>) {
        let output = UnsafeMutableBufferPointer(rebasing: output[0..<min(count, output.count)])
        storage.withUnsafeBytes { raw in
            switch dtype {
            case .f32:
                #if _endian(little)
                if let base = output.baseAddress, let source = raw.baseAddress {
                    UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: output.count * 4)
                }
                #else
                Self.decode(raw, into: output, as: UInt32.self) { Float(bitPattern: $0) }
                #endif
            case .f16:
                HalfPrecision.f16Table.withUnsafeBufferPointer { table in
                    Self.decode(raw, into: output, as: UInt16.self) { table[Int($0)] }
                }
            case .bf16: Self.decode(raw, into: output, as: UInt16.self) { HalfPrecision.float(fromBF16: $0) }
            case .f64: Self.decode(raw, into: output, as: UInt64.self) { Float(Double(bitPattern: $0)) }
            case .f8e4m3: Self.decode(raw, into: output, as: UInt8.self) { HalfPrecision.float(fromF8E4M3: $0) }
            case .f8e5m2: Self.decode(raw, into: output, as: UInt8.self) { HalfPrecision.float(fromF8E5M2: $0) }
            case .bool: Self.decode(raw, into: output, as: UInt8.self) { $0 != 0 ? 1 : 0 }
            case .u8: Self.decode(raw, into: output, as: UInt8.self) { Float($0) }
            case .i8: Self.decode(raw, into: output, as: UInt8.self) { Float(Int8(bitPattern: $0)) }
            case .u16: Self.decode(raw, into: output, as: UInt16.self) { Float($0) }
            case .i16: Self.decode(raw, into: output, as: UInt16.self) { Float(Int16(bitPattern: $0)) }
            case .u32: Self.decode(raw, into: output, as: UInt32.self) { Float($0) }
            case .i32: Self.decode(raw, into: output, as: UInt32.self) { Float(Int32(bitPattern: $0)) }
            case .u64: Self.decode(raw, into: output, as: UInt64.self) { Float($0) }
            case .i64: Self.decode(raw, into: output, as: UInt64.self) { Float(Int64(bitPattern: $0)) }
            }
        }
    }

    /// The elements as `Double`: exact for every type except 64-bit integers beyond 2^53 (rounded to nearest).
    public func doubles() -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { output, initialized in
            storage.withUnsafeBytes { raw in
                switch dtype {
                case .f64: Self.decode(raw, into: output, as: UInt64.self) { Double(bitPattern: $0) }
                case .f32: Self.decode(raw, into: output, as: UInt32.self) { Double(Float(bitPattern: $0)) }
                case .f16: Self.decode(raw, into: output, as: UInt16.self) { Double(HalfPrecision.float(fromF16: $0)) }
                case .bf16: Self.decode(raw, into: output, as: UInt16.self) { Double(HalfPrecision.float(fromBF16: $0)) }
                case .f8e4m3: Self.decode(raw, into: output, as: UInt8.self) { Double(HalfPrecision.float(fromF8E4M3: $0)) }
                case .f8e5m2: Self.decode(raw, into: output, as: UInt8.self) { Double(HalfPrecision.float(fromF8E5M2: $0)) }
                case .bool: Self.decode(raw, into: output, as: UInt8.self) { $0 != 0 ? 1 : 0 }
                case .u8: Self.decode(raw, into: output, as: UInt8.self) { Double($0) }
                case .i8: Self.decode(raw, into: output, as: UInt8.self) { Double(Int8(bitPattern: $0)) }
                case .u16: Self.decode(raw, into: output, as: UInt16.self) { Double($0) }
                case .i16: Self.decode(raw, into: output, as: UInt16.self) { Double(Int16(bitPattern: $0)) }
                case .u32: Self.decode(raw, into: output, as: UInt32.self) { Double($0) }
                case .i32: Self.decode(raw, into: output, as: UInt32.self) { Double(Int32(bitPattern: $0)) }
                case .u64: Self.decode(raw, into: output, as: UInt64.self) { Double($0) }
                case .i64: Self.decode(raw, into: output, as: UInt64.self) { Double(Int64(bitPattern: $0)) }
                }
            }
            initialized = count
        }
    }

    /// The elements as `Int64`: exact for every integer type and BOOL (U64 beyond `Int64.max` saturates);
    /// floating-point values are truncated toward zero, saturating at the `Int64` range, NaN giving 0.
    public func int64s() -> [Int64] {
        [Int64](unsafeUninitializedCapacity: count) { output, initialized in
            storage.withUnsafeBytes { raw in
                switch dtype {
                case .i64: Self.decode(raw, into: output, as: UInt64.self) { Int64(bitPattern: $0) }
                case .u64: Self.decode(raw, into: output, as: UInt64.self) { $0 > UInt64(Int64.max) ? .max : Int64($0) }
                case .i32: Self.decode(raw, into: output, as: UInt32.self) { Int64(Int32(bitPattern: $0)) }
                case .u32: Self.decode(raw, into: output, as: UInt32.self) { Int64($0) }
                case .i16: Self.decode(raw, into: output, as: UInt16.self) { Int64(Int16(bitPattern: $0)) }
                case .u16: Self.decode(raw, into: output, as: UInt16.self) { Int64($0) }
                case .i8: Self.decode(raw, into: output, as: UInt8.self) { Int64(Int8(bitPattern: $0)) }
                case .u8: Self.decode(raw, into: output, as: UInt8.self) { Int64($0) }
                case .bool: Self.decode(raw, into: output, as: UInt8.self) { $0 != 0 ? 1 : 0 }
                case .f64: Self.decode(raw, into: output, as: UInt64.self) { Self.saturatingInt64(Double(bitPattern: $0)) }
                case .f32: Self.decode(raw, into: output, as: UInt32.self) { Self.saturatingInt64(Double(Float(bitPattern: $0))) }
                case .f16, .bf16, .f8e4m3, .f8e5m2:
                    let widened = floats()
                    for index in 0..<output.count { output[index] = Self.saturatingInt64(Double(widened[index])) }
                }
            }
            initialized = count
        }
    }

    // MARK: helpers

    /// Truncates toward zero, clamping to the `Int64` range; NaN becomes 0.
    static func saturatingInt64(_ value: Double) -> Int64 {
        if value.isNaN { return 0 }
        if value >= 0x1p63 { return .max }
        if value < -0x1p63 { return .min }
        return Int64(value)
    }

    /// The element count of `shape`, or a thrown error for a negative or overflowing shape.
    static func elementCount(_ shape: [Int], source: String, tensor: String = "") throws(SafeTensorsError) -> Int {
        var count = 1
        var overflowed = false
        for dimension in shape {
            if dimension < 0 {
                throw SafeTensorsError(source: source, defect: .negativeDimension(tensor: tensor, shape: "\(shape)"))
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { overflowed = true } else { count = product }
        }
        // A zero dimension makes the true product 0 even if a partial product overflowed.
        if shape.contains(0) { return 0 }
        if overflowed { throw SafeTensorsError(source: source, defect: .shapeOverflow(tensor: tensor, shape: "\(shape)")) }
        return count
    }

    private static func checkCount(_ count: Int, shape: [Int], source: String) throws(SafeTensorsError) {
        let expected = try elementCount(shape, source: source)
        guard expected == count else {
            throw SafeTensorsError(source: source, defect: .invalidTensor(
                tensor: "", reason: "\(count) values do not fill shape \(shape) (\(expected) elements)"))
        }
    }

    @inline(__always)
    private static func decode<Raw: FixedWidthInteger, Output>(
        _ raw: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Output>, as _: Raw.Type,
        _ transform: (Raw) -> Output
    ) {
        let size = MemoryLayout<Raw>.size
        for index in 0..<output.count {
            output[index] = transform(Raw(littleEndian: raw.loadUnaligned(fromByteOffset: index &* size, as: Raw.self)))
        }
    }

    @inline(__always)
    private static func encode<Element, Raw: FixedWidthInteger>(
        _ values: UnsafeBufferPointer<Element>, as _: Raw.Type, _ transform: (Element) -> Raw
    ) -> Data {
        let size = MemoryLayout<Raw>.size
        var data = Data(count: values.count * size)
        data.withUnsafeMutableBytes { raw in
            for index in 0..<values.count {
                raw.storeBytes(of: transform(values[index]).littleEndian, toByteOffset: index &* size, as: Raw.self)
            }
        }
        return data
    }
}
