import Foundation

/// A minimal reader of the protocol-buffer wire format, enough to decode SentencePiece's `ModelProto`
/// (`spiece.model`) without a protobuf library: varints, fixed 32/64-bit fields and length-delimited
/// fields, with unknown fields skipped as protobuf parsers skip them.
///
/// Every read is bounds-checked and throws `Failure` on truncated or malformed input, so a damaged
/// file is an error, never an out-of-bounds read.
struct ProtobufReader {
    struct Failure: Error { var reason: String }

    enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5 }

    /// One field: its number, wire type and, for length-delimited fields, the payload's byte range.
    struct Field {
        var number: UInt64
        var wireType: WireType
        var varint: UInt64 = 0
        var fixed: UInt64 = 0
        var payload: Range<Int> = 0..<0
    }

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        self.position = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    mutating func readVarint() throws(Failure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw Failure(reason: "truncated varint at byte \(position)") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw Failure(reason: "varint longer than 10 bytes at byte \(position - 1)") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func readFixed(_ size: Int) throws(Failure) -> UInt64 {
        guard end - position >= size else { throw Failure(reason: "truncated \(size * 8)-bit field at byte \(position)") }
        var value: UInt64 = 0
        for i in 0..<size { value |= UInt64(bytes[position + i]) << UInt64(8 * i) }
        position += size
        return value
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(Failure) -> Field? {
        guard !atEnd else { return nil }
        let at = position
        let key = try readVarint()
        guard let wireType = WireType(rawValue: key & 7) else {
            throw Failure(reason: "unknown wire type \(key & 7) at byte \(at)")
        }
        let number = key >> 3
        guard number > 0 else { throw Failure(reason: "field number 0 at byte \(at)") }
        var field = Field(number: number, wireType: wireType)
        switch wireType {
        case .varint: field.varint = try readVarint()
        case .fixed64: field.fixed = try readFixed(8)
        case .fixed32: field.fixed = try readFixed(4)
        case .lengthDelimited:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw Failure(reason: "field \(number) at byte \(at) claims \(length) bytes, \(end - position) remain")
            }
            field.payload = position..<(position + Int(length))
            position += Int(length)
        case .startGroup, .endGroup:
            throw Failure(reason: "deprecated group field \(number) at byte \(at)")
        }
        return field
    }

    /// A reader over a length-delimited field's payload (an embedded message).
    func message(_ field: Field) -> ProtobufReader { ProtobufReader(bytes, range: field.payload) }

    /// A length-delimited field's payload as UTF-8 text.
    func string(_ field: Field) throws(Failure) -> String {
        guard field.wireType == .lengthDelimited else { throw Failure(reason: "field \(field.number) is not a string") }
        guard let text = String(validating: bytes[field.payload], as: UTF8.self) else {
            throw Failure(reason: "field \(field.number) at bytes \(field.payload) is not valid UTF-8")
        }
        return text
    }
}
