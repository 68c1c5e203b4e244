import Foundation

/// A closed set of named choices that files and the command line spell as strings (a scheduler, a
/// loss, a matching rule): an enum whose raw values are the spellings. Decoding an unknown spelling
/// fails with the allowed ones named, so a config or model file that says `"ddim "` is refused with
/// "must be one of ddim, dpm".
public protocol NamedChoice: CaseIterable, RawRepresentable, Codable, Sendable where RawValue == String {}

extension NamedChoice {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be one of \(Self.names) (got \"\(text)\")")
        }
        self = value
    }

    /// The spellings, "a, b, c": for messages and help.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
