import AtomicFiles
import Foundation
import Yams

/// An error in a YAML config file, naming the file, the field and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var field: String
    public var message: String
    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
    public var description: String { "config \(file): \(field.isEmpty ? "" : "field \"\(field)\": ")\(message)" }
}

/// Strict YAML configs: unknown fields are errors (a typo must not silently fall back to a default),
/// wrong types name the field, and every config type validates its own ranges.
///
/// A section's fields are its `CodingKeys` (declared once, `CaseIterable`); the sections nested in it
/// are named in `sections`. Named choices (`NamedChoice` enums) refuse unknown spellings while decoding.
public protocol ConfigSection: Codable {
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// The defaults, used for every field the file leaves out.
    init()
    /// The nested sections by key (empty for a section of plain values).
    static var sections: [String: any ConfigSection.Type] { get }
    /// Range checks; throw `ConfigError` with the field's dotted path.
    func validate(file: String, path: String) throws
}

extension ConfigSection {
    public static var sections: [String: any ConfigSection.Type] { [:] }

    /// The keys this section accepts, and for nested sections their own schema: derived from
    /// `CodingKeys`, never written out.
    public static var fields: [String: (any ConfigSection.Type)?] {
        Dictionary(uniqueKeysWithValues: CodingKeys.allCases.map { ($0.stringValue, sections[$0.stringValue]) })
    }
}

public enum ConfigFile {
    /// Loads and validates a config of type T from a YAML file.
    public static func load<T: ConfigSection>(_ type: T.Type, from url: URL) throws -> T {
        let text: String
        if let problem = InputFile.problem(at: url.path) {
            throw ConfigError(file: url.path, field: "", message: problem == "no such file" ? "no such file" : "\(problem) (a config is a YAML file)")
        }
        if let n = InputFile.size(at: url.path), n > maxBytes {
            throw ConfigError(file: url.path, field: "", message: "the file has \(n) bytes; a config has at most \(maxBytes)")
        }
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError(file: url.path, field: "", message: "cannot read the file as UTF-8 text (\(error.localizedDescription))")
        }
        return try parse(type, yaml: text, file: url.path)
    }

    public static func parse<T: ConfigSection>(_ type: T.Type, yaml: String, file: String) throws -> T {
        // Yams parses recursively: nesting is measured on the raw text first, so that no file can drive it
        // thousands of levels deep (a stack overflow), and aliases (which expand) are refused.
        try checkShape(yaml, file: file)
        let node: Any?
        do { node = try Yams.load(yaml: yaml) } catch {
            throw ConfigError(file: file, field: "", message: "not valid YAML (\(error))")
        }
        guard let dict = node as? [String: Any] else {
            throw ConfigError(file: file, field: "", message: "the top level must be a mapping of fields")
        }
        try checkKeys(dict, schema: T.self, file: file, path: "")
        // Fields left out take the defaults: overlay the file on the encoded default value.
        let defaults = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(T()))) as? [String: Any] ?? [:]
        let merged = merge(defaults, dict)
        let value: T
        do {
            let data = try JSONSerialization.data(withJSONObject: merged)
            value = try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.typeMismatch(t, ctx) {
            throw ConfigError(file: file, field: dotted(ctx.codingPath), message: "wrong type, expected \(typeName(t))")
        } catch let DecodingError.valueNotFound(t, ctx) {
            throw ConfigError(file: file, field: dotted(ctx.codingPath), message: "missing value, expected \(typeName(t))")
        } catch let DecodingError.keyNotFound(k, ctx) {
            throw ConfigError(file: file, field: dotted(ctx.codingPath + [k]), message: "required field is missing")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw ConfigError(file: file, field: dotted(ctx.codingPath), message: ctx.debugDescription)
        } catch {
            throw ConfigError(file: file, field: "", message: "\(error)")
        }
        try value.validate(file: file, path: "")
        return value
    }

    /// The largest config file read (the shipped ones are under 2 KiB).
    public static let maxBytes = 1 << 20
    /// The deepest nesting a config may have: block indentation levels, `- ` entries and `[`/`{` flow
    /// collections together (the configs use 2).
    public static let maxDepth = 16

    /// Refuses text nested deeper than `maxDepth` or using anchors and aliases, without parsing it. The count
    /// errs only towards too deep, never too shallow, whatever the scanner makes of quotes: block depth is
    /// measured on every line (the increasing indentation levels open at it plus its leading `- `/`? `
    /// entries, in or out of flow collections and quotes), and a `[`/`{` always opens a level — even
    /// where the scanner believes it is inside a quoted string — while a `]`/`}` closes one only outside
    /// quotes. A quote is taken to start at any `"`/`'` where YAML could start one (a superset of where
    /// Yams does), ends at its matching mark (`\` escapes in double quotes) and may span lines; comments
    /// (`#` after a space, outside quotes) are skipped.
    static func checkShape(_ text: String, file: String) throws {
        var flow = 0, indents: [Int] = [], deepest = 0
        var quote: Character? = nil
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let chars = Array(line)
            var i = 0
            while i < chars.count && (chars[i] == " " || chars[i] == "\t") { i += 1 }
            if i < chars.count && (quote != nil || chars[i] != "#") {
                while let top = indents.last, top >= i { indents.removeLast() }
                indents.append(i)
                var depth = indents.count
                var j = i
                while j + 1 < chars.count, chars[j] == "-" || chars[j] == "?", chars[j + 1] == " " {
                    depth += 1
                    j += 2
                    while j < chars.count && chars[j] == " " { j += 1 }
                }
                deepest = max(deepest, depth + flow)
            }
            var previous: Character = " "
            while i < chars.count {
                let c = chars[i]
                if c == "[" || c == "{" {
                    flow += 1
                    deepest = max(deepest, indents.count + flow)
                }
                if let q = quote {
                    if q == "\"" && c == "\\" { i += 2; previous = "x"; continue }
                    if c == q { quote = nil }
                } else if c == "\"" || c == "'" {
                    if " \t[{,:-?".contains(previous) { quote = c }
                } else if c == "#" && (previous == " " || previous == "\t") {
                    break
                } else if c == "]" || c == "}" {
                    flow = max(0, flow - 1)
                } else if (c == "&" || c == "*") && " \t[{,-?:".contains(previous) && i + 1 < chars.count && chars[i + 1] != " " {
                    throw ConfigError(file: file, field: "", message: "line \(number + 1): anchors and aliases (\(c)name) are not allowed in configs")
                }
                previous = c
                i += 1
            }
            if deepest > maxDepth {
                throw ConfigError(file: file, field: "", message: "line \(number + 1): nested more than \(maxDepth) levels deep (a config needs 2 or 3)")
            }
        }
    }

    /// A config's identity for checkpoints: its JSON with sorted keys (every field, defaults included).
    public static func fingerprint<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? String(describing: value)
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is Int.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default: return "\(t)"
        }
    }

    /// The file's values over the defaults, recursively. A YAML scalar like `1e-3`, which YAML 1.1
    /// reads as a string, becomes a number where the default is a number.
    static func merge(_ base: [String: Any], _ over: [String: Any]) -> [String: Any] {
        var out = base
        for (k, v) in over {
            if let b = out[k] as? [String: Any], let o = v as? [String: Any] {
                out[k] = merge(b, o)
            } else if out[k] is NSNumber, let s = v as? String, let d = Double(s) {
                out[k] = d
            } else {
                out[k] = v
            }
        }
        return out
    }

    static func dotted(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }

    static func checkKeys(_ dict: [String: Any], schema: any ConfigSection.Type, file: String, path: String) throws {
        let allowed = schema.fields
        for (k, v) in dict {
            let field = path.isEmpty ? k : "\(path).\(k)"
            guard let sub = allowed[k] else {
                throw ConfigError(file: file, field: field,
                                  message: "unknown field (allowed here: \(allowed.keys.sorted().joined(separator: ", ")))")
            }
            if let sub {
                guard let d = v as? [String: Any] else {
                    throw ConfigError(file: file, field: field, message: "must be a mapping with fields \(sub.fields.keys.sorted().joined(separator: ", "))")
                }
                try checkKeys(d, schema: sub, file: file, path: field)
            }
        }
    }

    /// Throws unless `ok`, naming the field and the allowed values.
    public static func require(_ ok: Bool, _ file: String, _ path: String, _ field: String, _ allowed: String) throws {
        if !ok { throw ConfigError(file: file, field: path.isEmpty ? field : "\(path).\(field)", message: "must be \(allowed)") }
    }
}
