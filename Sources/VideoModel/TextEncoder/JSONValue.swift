import Foundation

/// A decoded JSON document that keeps booleans, numbers and strings apart, for reading the
/// `config.json`, `tokenizer_config.json` and LoRA metadata written by transformers / diffusers / peft.
///
/// `JSONSerialization` on Linux turns `true` into a number and `1` into a boolean on request, which would let
/// `"num_layers": true` through; decoding into this enum does not (JSONDecoder refuses a number as a Bool and
/// a Bool as a number), so every field can be checked for its exact type and the error can name it.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Double.self) { self = .number(value); return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([JSONValue].self) { self = .array(value); return }
        self = .object(try container.decode([String: JSONValue].self))
    }

    /// Parses `data`; nil when it is not JSON.
    public static func parse(_ data: Data) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: data) }

    public var object: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var number: Double? { if case .number(let n) = self { return n } else { return nil } }
    public var isNull: Bool { self == .null }

    /// The value as an exact integer (a JSON number without a fractional part within ±2^53), else nil.
    public var integer: Int? {
        guard case .number(let n) = self, n.rounded() == n, abs(n) <= 0x1p53 else { return nil }
        return Int(n)
    }

    /// A short rendering for error messages.
    public var brief: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? "\(Int(n))" : "\(n)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "an array of \(a.count)"
        case .object(let o): return "an object of \(o.count) keys"
        }
    }
}
