/// The element types a safetensors header may name, spelled exactly as the format's `dtype` strings.
///
/// The list and its order mirror the reference `safetensors` library's `Dtype` enum: the writer uses that order
/// (largest rank first) to lay tensors out, which keeps every tensor aligned to its element size as the
/// reference library does, and lets our output match its byte for byte.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Whether the elements are floating-point numbers.
    public var isFloatingPoint: Bool {
        switch self {
        case .f8e5m2, .f8e4m3, .f16, .bf16, .f32, .f64: return true
        default: return false
        }
    }

    /// Position in the reference library's enum; the writer places higher ranks first.
    var rank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 1
        case .i8: return 2
        case .f8e5m2: return 3
        case .f8e4m3: return 4
        case .i16: return 5
        case .u16: return 6
        case .f16: return 7
        case .bf16: return 8
        case .i32: return 9
        case .u32: return 10
        case .f32: return 11
        case .f64: return 12
        case .i64: return 13
        case .u64: return 14
        }
    }
}
