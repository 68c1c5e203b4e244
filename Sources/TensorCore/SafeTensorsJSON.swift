/// The small JSON reader and writer the safetensors header needs.
///
/// Foundation's `JSONSerialization` would silently keep the last of two equal keys (the format forbids duplicate
/// tensor names), loses integer precision past 2^53, and recurses without limit on hostile nesting; this reader
/// keeps object keys in order, keeps integer literals exact, and bounds nesting. The writer emits the compact
/// form the reference `safetensors` library writes (serde_json escaping), so our files match its byte for byte.
enum SafeTensorsJSON {
    enum Value {
        case object([Member])
        case array([Value])
        case string(String)
        case number(Number)
        case bool(Bool)
        case null
    }

    /// One `"key": value` pair of an object, in document order.
    struct Member {
        var key: String
        var value: Value
    }

    /// A JSON number literal kept as text, with its exact integer value when it is an integer literal that fits.
    struct Number {
        var text: String
        /// Whether the literal has neither fraction nor exponent.
        var isIntegerLiteral: Bool
        /// The value when `isIntegerLiteral` and it fits in `Int`.
        var integer: Int?
    }

    struct ParseError: Error {
        var reason: String
        var offset: Int
    }

    /// Deepest nesting accepted; a safetensors header needs 3 levels.
    static let maximumDepth = 64

    /// Parses one JSON document from `bytes`, allowing surrounding whitespace (the header's space padding).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> Value {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        if reader.index != bytes.count {
            throw ParseError(reason: "unexpected data after the JSON value", offset: reader.index)
        }
        return value
    }

    // MARK: reading

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        private func fail(_ reason: String) -> ParseError { ParseError(reason: reason, offset: index) }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(ParseError) -> Value {
            guard let byte = current else { throw fail("unexpected end of header") }
            switch byte {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectWord("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw fail("unexpected character \(Self.describe(byte))")
            }
        }

        private mutating func expectWord(_ word: StaticString) throws(ParseError) {
            let start = index
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw fail("invalid literal") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                index = start + offset
                throw fail("invalid literal")
            }
            index += count
        }

        private mutating func parseObject(depth: Int) throws(ParseError) -> Value {
            if depth > SafeTensorsJSON.maximumDepth { throw fail("nesting deeper than \(SafeTensorsJSON.maximumDepth)") }
            index += 1  // {
            var members: [Member] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                members.append(Member(key: key, value: value))
                skipWhitespace()
                guard let separator = current else { throw fail("unterminated object") }
                index += 1
                if separator == UInt8(ascii: "}") { return .object(members) }
                if separator != UInt8(ascii: ",") {
                    index -= 1
                    throw fail("expected ',' or '}' in object")
                }
            }
        }

        private mutating func parseArray(depth: Int) throws(ParseError) -> Value {
            if depth > SafeTensorsJSON.maximumDepth { throw fail("nesting deeper than \(SafeTensorsJSON.maximumDepth)") }
            index += 1  // [
            var elements: [Value] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard let separator = current else { throw fail("unterminated array") }
                index += 1
                if separator == UInt8(ascii: "]") { return .array(elements) }
                if separator != UInt8(ascii: ",") {
                    index -= 1
                    throw fail("expected ',' or ']' in array")
                }
            }
        }

        private mutating func parseString() throws(ParseError) -> String {
            index += 1  // opening quote
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw fail("control character in string") }
                index += 1
            }
            var utf8 = Array(bytes[start..<index])
            while true {
                guard let byte = current else { throw fail("unterminated string") }
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: utf8, as: UTF8.self)
                }
                if byte < 0x20 { throw fail("control character in string") }
                if byte != UInt8(ascii: "\\") {
                    utf8.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard let escape = current else { throw fail("unterminated escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = UInt32(try parseHex4())
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"),
                              bytes[index + 1] == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                        index += 2
                        let low = UInt32(try parseHex4())
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("unpaired surrogate")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    utf8.append(contentsOf: String(unicode).utf8)
                default:
                    index -= 1
                    throw fail("invalid escape \\\(Self.describe(escape))")
                }
            }
        }

        private mutating func parseHex4() throws(ParseError) -> UInt16 {
            guard bytes.count - index >= 4 else { throw fail("truncated \\u escape") }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("invalid hex digit in \\u escape")
                }
                value = value << 4 | UInt16(digit)
                index += 1
            }
            return value
        }

        private mutating func parseNumber() throws(ParseError) -> Number {
            let start = index
            var negative = false
            if current == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            guard let first = current, isDigit(first) else { throw fail("expected a digit") }
            // Accumulate negatively so Int.min parses; nil once it no longer fits.
            var accumulator: Int? = 0
            if first == UInt8(ascii: "0") {
                index += 1
            } else {
                while let byte = current, isDigit(byte) {
                    if let value = accumulator {
                        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                        let (next, o2) = times10.subtractingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                        accumulator = (o1 || o2) ? nil : next
                    }
                    index += 1
                }
            }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard let byte = current, isDigit(byte) else { throw fail("expected a digit after '.'") }
                while let byte = current, isDigit(byte) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let byte = current, isDigit(byte) else { throw fail("expected a digit in exponent") }
                while let byte = current, isDigit(byte) { index += 1 }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            var integer: Int? = nil
            if isInteger, let value = accumulator {
                if negative {
                    integer = value
                } else if value != Int.min {
                    integer = -value
                }
            }
            return Number(text: text, isIntegerLiteral: isInteger, integer: integer)
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        static func describe(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
        }
    }

    // MARK: writing

    /// Appends `text` as a JSON string literal, escaped the way serde_json does (quote, backslash and control
    /// characters only; other characters verbatim as UTF-8).
    static func appendString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Appends `[a,b,c]` for integers.
    static func appendIntegers(_ values: [Int], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        for (position, value) in values.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: String(value).utf8)
        }
        output.append(UInt8(ascii: "]"))
    }
}
