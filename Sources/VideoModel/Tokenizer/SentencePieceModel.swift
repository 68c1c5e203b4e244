import Foundation

/// Why a tokenizer file was refused: the file and what is wrong with it.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public var source: String
    public var reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "tokenizer \(source): \(reason)" }
}

/// The parts of SentencePiece's `ModelProto` (`sentencepiece_model.proto`) that encoding uses, decoded by
/// hand from a `spiece.model` file: the pieces with scores and types, the trainer settings that change
/// encoding (model type, byte fallback, whitespace as suffix) and the normalizer spec (precompiled
/// charsmap, dummy prefix, whitespace handling). Field numbers and defaults are the proto's.
///
/// Loading checks what `SentencePieceProcessor::Load` checks (a unigram model, non-empty unique pieces,
/// exactly one `<unk>`, byte pieces only with byte fallback, a well-formed charsmap), and every defect is a
/// `TokenizerError` naming the file.
public struct SentencePieceModel: Sendable {
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var type: PieceType
    }

    public var pieces: [Piece] = []
    /// TrainerSpec.model_type: 1 unigram (the only one supported), 2 BPE, 3 word, 4 char.
    public var modelType = 1
    public var byteFallback = false
    public var treatWhitespaceAsSuffix = false
    /// NormalizerSpec.name, e.g. "nmt_nfkc" (informational: the rules are in the charsmap).
    public var normalizerName = ""
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true
    var charsMap: PrecompiledCharsMap? = nil

    /// Reads and validates `spiece.model`.
    public static func load(_ url: URL) throws(TokenizerError) -> SentencePieceModel {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError(source: url.path, reason: "cannot read (\(error.localizedDescription))")
        }
        return try parse([UInt8](data), source: url.path)
    }

    /// Decodes a serialized `ModelProto`; `source` names it in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws(TokenizerError) -> SentencePieceModel {
        func fail(_ reason: String) -> TokenizerError { TokenizerError(source: source, reason: reason) }
        var model = SentencePieceModel()
        var charsmapBlob: [UInt8] = []
        do {
            var reader = ProtobufReader(bytes)
            while let field = try reader.next() {
                switch (field.number, field.wireType) {
                case (1, .lengthDelimited):  // repeated SentencePiece pieces
                    var piece = Piece(text: "", score: 0, type: .normal)
                    var sub = reader.message(field)
                    while let f = try sub.next() {
                        switch (f.number, f.wireType) {
                        case (1, .lengthDelimited): piece.text = try sub.string(f)
                        case (2, .fixed32): piece.score = Float(bitPattern: UInt32(truncatingIfNeeded: f.fixed))
                        case (3, .varint):
                            guard let type = PieceType(rawValue: Int(truncatingIfNeeded: f.varint)) else {
                                throw fail("piece \(model.pieces.count) has unknown type \(f.varint)")
                            }
                            piece.type = type
                        case (1, _), (2, _), (3, _):
                            throw fail("piece \(model.pieces.count): field \(f.number) has the wrong wire type")
                        default: continue
                        }
                    }
                    model.pieces.append(piece)
                case (2, .lengthDelimited):  // TrainerSpec
                    var sub = reader.message(field)
                    while let f = try sub.next() {
                        guard f.wireType == .varint else { continue }
                        switch f.number {
                        case 3: model.modelType = Int(truncatingIfNeeded: f.varint)
                        case 24: model.treatWhitespaceAsSuffix = f.varint != 0
                        case 35: model.byteFallback = f.varint != 0
                        default: continue
                        }
                    }
                case (3, .lengthDelimited):  // NormalizerSpec
                    var sub = reader.message(field)
                    while let f = try sub.next() {
                        switch (f.number, f.wireType) {
                        case (1, .lengthDelimited): model.normalizerName = try sub.string(f)
                        case (2, .lengthDelimited): charsmapBlob = Array(bytes[f.payload])
                        case (3, .varint): model.addDummyPrefix = f.varint != 0
                        case (4, .varint): model.removeExtraWhitespaces = f.varint != 0
                        case (5, .varint): model.escapeWhitespaces = f.varint != 0
                        default: continue
                        }
                    }
                case (1, _), (2, _), (3, _):
                    throw fail("ModelProto field \(field.number) has the wrong wire type")
                default:
                    continue  // self_test_data, denormalizer_spec, unknown fields
                }
            }
        } catch let error as ProtobufReader.Failure {
            throw fail("not a SentencePiece model (malformed protobuf: \(error.reason))")
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw fail("\(error)")
        }

        guard !model.pieces.isEmpty else { throw fail("not a SentencePiece model (no pieces)") }
        guard model.modelType == 1 else {
            let names = [2: "BPE", 3: "word", 4: "char"]
            throw fail("model_type is \(names[model.modelType] ?? "\(model.modelType)"); only unigram models are supported")
        }
        var seen = Set<String>()
        var unknownCount = 0
        for (i, p) in model.pieces.enumerated() {
            guard !p.text.isEmpty else { throw fail("piece \(i) is empty") }
            guard seen.insert(p.text).inserted else { throw fail("piece \(i) \"\(p.text)\" is defined twice") }
            guard p.score.isFinite else { throw fail("piece \(i) \"\(p.text)\" has a non-finite score") }
            if p.type == .unknown { unknownCount += 1 }
            if p.type == .byte {
                guard model.byteFallback else { throw fail("byte piece \(p.text) although byte_fallback is false") }
                guard Self.byteValue(p.text) != nil else { throw fail("byte piece \"\(p.text)\" is not of the form <0xXX>") }
            }
        }
        guard unknownCount == 1 else { throw fail("the model must define exactly one unknown piece, found \(unknownCount)") }
        if model.byteFallback {
            let bytes = Set(model.pieces.filter { $0.type == .byte }.compactMap { Self.byteValue($0.text) })
            guard bytes.count == 256 else { throw fail("byte_fallback is true but only \(bytes.count) of 256 byte pieces exist") }
        }
        if !charsmapBlob.isEmpty {
            do { model.charsMap = try PrecompiledCharsMap(blob: charsmapBlob) } catch {
                throw fail(error.reason)
            }
        }
        return model
    }

    /// The byte of a byte piece "<0xXX>".
    static func byteValue(_ text: String) -> UInt8? {
        guard text.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">") else { return nil }
        return UInt8(text.dropFirst(3).prefix(2), radix: 16)
    }
}
