import Foundation

/// Foundation's `DecodingError` as one sentence that names the field by its dotted path and says what was
/// expected, for messages about JSON files ("field \"sampling.timesteps.2\": wrong type, expected Int").
public enum DecodingErrorText {
    public static func describe(_ error: Error) -> String {
        func path(_ p: [CodingKey]) -> String {
            p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        func field(_ p: [CodingKey]) -> String { p.isEmpty ? "" : "field \"\(path(p))\": " }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .typeMismatch(let t, let c): return field(c.codingPath) + "wrong type, expected \(t)"
        case .valueNotFound(let t, let c): return field(c.codingPath) + "missing value, expected \(t)"
        case .keyNotFound(let k, let c): return field(c.codingPath + [k]) + "required field is missing"
        case .dataCorrupted(let c):
            let underlying = (c.underlyingError as NSError?).map { " (\($0.localizedDescription))" } ?? ""
            return field(c.codingPath) + c.debugDescription + (c.codingPath.isEmpty ? underlying : "")
        @unknown default: return "\(error)"
        }
    }
}
