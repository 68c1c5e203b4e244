/// Why a safetensors file (or a tensor about to be written) was refused.
///
/// The cases follow the checks the reference `safetensors` library makes before it hands out a tensor (header
/// length, JSON, dtype, shape, offsets that tile the data region exactly), with one case per defect so tests and
/// callers can tell them apart; `source` names the file (or in-memory buffer) so the message is actionable.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Defect: Equatable, Sendable {
        /// The file could not be opened, read or written at the operating-system level.
        case ioFailure(reason: String)
        /// Fewer than the 8 bytes of the header-length prefix.
        case fileTooShort(byteCount: Int)
        /// The header length is beyond any sane header (the reference library's 100 MB limit).
        case headerTooLarge(length: UInt64, limit: Int)
        /// The header length points past the end of the file.
        case headerPastEnd(length: UInt64, available: Int)
        /// The header bytes are not valid UTF-8.
        case headerNotUTF8
        /// The header is not valid JSON (`offset` is the byte offset within the header).
        case invalidJSON(reason: String, offset: Int)
        /// The header is valid JSON but not an object.
        case headerNotObject
        /// `__metadata__` is not an object of string values.
        case invalidMetadata(reason: String)
        /// Two tensors share a name (in the header or in the list given to the writer).
        case duplicateName(String)
        /// A tensor entry is not a JSON object.
        case entryNotObject(tensor: String)
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
        case missingField(tensor: String, field: String)
        /// A tensor entry field has the wrong JSON type or form.
        case wrongFieldType(tensor: String, field: String, expected: String)
        /// The `dtype` string is not one of the format's element types.
        case unknownDType(tensor: String, dtype: String)
        /// A dimension is negative (`shape` is the header's text for it).
        case negativeDimension(tensor: String, shape: String)
        /// The element count or byte size of the shape does not fit in an `Int`.
        case shapeOverflow(tensor: String, shape: String)
        /// `data_offsets` reach outside the data region (negative, too large, or past its end).
        case offsetsOutOfRange(tensor: String, offsets: String, dataLength: Int)
        /// `data_offsets` begin after they end.
        case beginAfterEnd(tensor: String, begin: Int, end: Int)
        /// The byte range does not hold shape x dtype size bytes.
        case sizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int)
        /// Two tensors' byte ranges overlap.
        case overlappingTensors(first: String, second: String)
        /// Bytes `begin..<end` of the data region belong to no tensor (`after` is the tensor before them).
        case unusedBytes(after: String?, begin: Int, end: Int)
        /// A tensor given to the writer or built in memory has inconsistent element count, shape or dtype.
        case invalidTensor(tensor: String, reason: String)
    }

    /// The file path (or the caller's name for an in-memory buffer) the defect was found in.
    public var source: String
    public var defect: Defect

    public init(source: String, defect: Defect) {
        self.source = source
        self.defect = defect
    }

    public var description: String { "safetensors \(source): \(defect.message)" }
}

extension SafeTensorsError.Defect {
    /// A human sentence naming the defect.
    public var message: String {
        switch self {
        case .ioFailure(let reason):
            return "I/O error: \(reason)"
        case .fileTooShort(let byteCount):
            return "file is \(byteCount) bytes, shorter than the 8-byte header length"
        case .headerTooLarge(let length, let limit):
            return "header length \(length) exceeds the limit of \(limit) bytes"
        case .headerPastEnd(let length, let available):
            return "header length \(length) runs past the end of the file (\(available) bytes after the length)"
        case .headerNotUTF8:
            return "header is not valid UTF-8"
        case .invalidJSON(let reason, let offset):
            return "header is not valid JSON at byte \(offset): \(reason)"
        case .headerNotObject:
            return "header JSON is not an object"
        case .invalidMetadata(let reason):
            return "__metadata__ is invalid: \(reason)"
        case .duplicateName(let name):
            return "tensor name \"\(name)\" appears more than once"
        case .entryNotObject(let tensor):
            return "tensor \"\(tensor)\": entry is not a JSON object"
        case .missingField(let tensor, let field):
            return "tensor \"\(tensor)\": missing field \"\(field)\""
        case .wrongFieldType(let tensor, let field, let expected):
            return "tensor \"\(tensor)\": field \"\(field)\" must be \(expected)"
        case .unknownDType(let tensor, let dtype):
            return "tensor \"\(tensor)\": unknown dtype \"\(dtype)\""
        case .negativeDimension(let tensor, let shape):
            return "tensor \"\(tensor)\": shape \(shape) has a negative dimension"
        case .shapeOverflow(let tensor, let shape):
            return "tensor \"\(tensor)\": shape \(shape) overflows the addressable size"
        case .offsetsOutOfRange(let tensor, let offsets, let dataLength):
            return "tensor \"\(tensor)\": data_offsets \(offsets) are outside the data region of \(dataLength) bytes"
        case .beginAfterEnd(let tensor, let begin, let end):
            return "tensor \"\(tensor)\": data_offsets begin \(begin) is after end \(end)"
        case .sizeMismatch(let tensor, let expectedBytes, let actualBytes):
            return "tensor \"\(tensor)\": shape x dtype size is \(expectedBytes) bytes but data_offsets span \(actualBytes)"
        case .overlappingTensors(let first, let second):
            return "tensors \"\(first)\" and \"\(second)\" overlap"
        case .unusedBytes(let after, let begin, let end):
            let place = after.map { "after tensor \"\($0)\"" } ?? "at the start of the data region"
            return "data bytes \(begin)..<\(end) \(place) belong to no tensor"
        case .invalidTensor(let tensor, let reason):
            return tensor.isEmpty ? "invalid tensor: \(reason)" : "tensor \"\(tensor)\": \(reason)"
        }
    }
}
