import Foundation

/// transformers' `T5Tokenizer` as `CogVideoXPipeline._get_t5_prompt_embeds` calls it
/// (`padding="max_length", max_length=226, truncation=True, add_special_tokens=True`), read from a
/// `tokenizer/` folder: `spiece.model` and, if present, `tokenizer_config.json`.
///
/// Special tokens (`</s>`, `<pad>`, `<unk>`, `<extra_id_N>` and any other listed special token) written
/// literally in the text are found first, leftmost and longest, and give their own ids; each stretch of
/// text between them is encoded by SentencePiece on its own (so each gets its own leading "▁"). The ids are
/// cut to max_length - 1, `</s>` is appended and `<pad>` fills up to max_length; the attention mask is 1
/// through the `</s>` and 0 on the padding. `<extra_id_i>` is id piece_count + extra_ids - 1 - i, as in
/// T5 (`<extra_id_0>` is the last id).
///
/// One difference between transformers versions, where this follows transformers 5 (which made the
/// fixtures): if the truncated ids already end in `</s>` (a literal "</s>" at the cut), transformers 4's
/// slow tokenizer does not append a second one; transformers 5 always appends it. transformers 4's
/// `legacy=False` mode (prefix handling around special tokens and leading spaces) is not implemented: the
/// `legacy` key of `tokenizer_config.json` is ignored and the legacy behaviour above is used.
public struct T5Tokenizer: Sendable {
    public let sentencePiece: SentencePieceProcessor
    public let extraIds: Int
    public let eosId: Int
    public let padId: Int
    public let unknownId: Int
    /// Literal special-token strings and their ids.
    public let specialTokens: [String: Int]
    private let specialTrie: ByteTrie

    /// One tokenized prompt.
    public struct Encoding: Sendable, Equatable {
        /// max_length ids: pieces (cut to max_length - 1), `</s>`, `<pad>`s.
        public var inputIds: [Int]
        /// 1 through the `</s>`, 0 on padding.
        public var attentionMask: [Int]
        /// All ids before truncation, with the `</s>`.
        public var untruncatedIds: [Int]
    }

    /// The CogVideoX pipelines' default `max_sequence_length`.
    public static let cogVideoXMaxLength = 226

    public init(sentencePiece: SentencePieceProcessor, extraIds: Int = 100, eosToken: String = "</s>",
                padToken: String = "<pad>", unknownToken: String = "<unk>", additionalSpecialTokens: [String] = [],
                source: String = "tokenizer") throws(TokenizerError) {
        func fail(_ reason: String) -> TokenizerError { TokenizerError(source: source, reason: reason) }
        guard extraIds >= 0 else { throw fail("extra_ids must be >= 0, got \(extraIds)") }
        self.sentencePiece = sentencePiece
        self.extraIds = extraIds
        let count = sentencePiece.pieceCount
        func idOf(_ token: String) -> Int? {
            if token.hasPrefix("<extra_id_"), token.hasSuffix(">"),
               let n = Int(token.dropFirst("<extra_id_".count).dropLast()), n >= 0, n < extraIds,
               token == "<extra_id_\(n)>" {
                return count + extraIds - 1 - n
            }
            return sentencePiece.id(of: token)
        }
        var special: [String: Int] = [:]
        for (field, token) in [("eos_token", eosToken), ("pad_token", padToken), ("unk_token", unknownToken)] {
            guard let id = idOf(token) else { throw fail("\(field) \"\(token)\" is not a piece of spiece.model") }
            special[token] = id
        }
        for n in 0..<extraIds { special["<extra_id_\(n)>"] = count + extraIds - 1 - n }
        for token in additionalSpecialTokens {
            guard let id = idOf(token) else {
                throw fail("special token \"\(token)\" is neither a piece of spiece.model nor one of the \(extraIds) <extra_id_N>")
            }
            special[token] = id
        }
        eosId = special[eosToken]!
        padId = special[padToken]!
        unknownId = special[unknownToken]!
        specialTokens = special
        specialTrie = ByteTrie(special.map { (Array($0.key.utf8), $0.value) })
    }

    /// Reads `spiece.model` and, if present, `tokenizer_config.json` (`extra_ids`, `eos_token`, `pad_token`,
    /// `unk_token`, `additional_special_tokens` / `extra_special_tokens`) from a tokenizer folder.
    public static func load(directory: URL) throws(TokenizerError) -> T5Tokenizer {
        let spiece = try SentencePieceProcessor.load(directory.appendingPathComponent("spiece.model"))
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            return try T5Tokenizer(sentencePiece: spiece, source: directory.path)
        }
        let source = configURL.path
        func fail(_ reason: String) -> TokenizerError { TokenizerError(source: source, reason: reason) }
        guard let data = try? Data(contentsOf: configURL), let json = JSONValue.parse(data)?.object else {
            throw fail("not a JSON object")
        }
        /// A token is written as a string or as an AddedToken object {"content": ...}.
        func token(_ value: JSONValue, _ field: String) throws(TokenizerError) -> String {
            if let s = value.string { return s }
            if let s = value.object?["content"]?.string { return s }
            throw fail("\"\(field)\" must be a string or an object with \"content\", got \(value.brief)")
        }
        var extraIds = 100
        if let value = json["extra_ids"], !value.isNull {
            guard let n = value.integer, n >= 0 else { throw fail("\"extra_ids\" must be a non-negative integer, got \(value.brief)") }
            extraIds = n
        }
        var names: [String: String] = ["eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"]
        for field in names.keys.sorted() {
            if let value = json[field], !value.isNull { names[field] = try token(value, field) }
        }
        var additional: [String] = []
        for field in ["additional_special_tokens", "extra_special_tokens"] {
            guard let value = json[field], !value.isNull else { continue }
            guard case .array(let items) = value else { throw fail("\"\(field)\" must be an array, got \(value.brief)") }
            for item in items { additional.append(try token(item, field)) }
        }
        return try T5Tokenizer(sentencePiece: spiece, extraIds: extraIds, eosToken: names["eos_token"]!,
                               padToken: names["pad_token"]!, unknownToken: names["unk_token"]!,
                               additionalSpecialTokens: additional, source: source)
    }

    /// Number of ids (pieces plus extra ids): T5's `len(tokenizer)`.
    public var count: Int { sentencePiece.pieceCount + extraIds }

    /// The token string of an id (a piece, or `<extra_id_N>`).
    public func token(_ id: Int) -> String? {
        let pieces = sentencePiece.pieceCount
        if id >= pieces && id < pieces + extraIds { return "<extra_id_\(pieces + extraIds - 1 - id)>" }
        return sentencePiece.piece(id)
    }

    /// The ids of `text` without `</s>`, special tokens split out first.
    public func tokenize(_ text: String) -> [Int] {
        let bytes = Array(text.utf8)
        var ids: [Int] = []
        bytes.withUnsafeBufferPointer { buffer in
            var stretchStart = 0, i = 0
            func flush(_ end: Int) {
                guard end > stretchStart else { return }
                let stretch = String(decoding: buffer[stretchStart..<end], as: UTF8.self)
                ids += sentencePiece.encode(stretch)
            }
            while i < buffer.count {
                var match: (length: Int, id: Int)? = nil
                specialTrie.forEachPrefix(buffer, from: i) { length, id in match = (length, id) }
                if let match {
                    flush(i)
                    ids.append(match.id)
                    i += match.length
                    stretchStart = i
                } else {
                    i += 1
                }
            }
            flush(buffer.count)
        }
        return ids
    }

    /// `tokenizer(text, padding="max_length", max_length=maxLength, truncation=True, add_special_tokens=True)`.
    public func encode(_ text: String, maxLength: Int = T5Tokenizer.cogVideoXMaxLength) -> Encoding {
        let ids = tokenize(text)
        let kept = Array(ids.prefix(max(maxLength - 1, 0))) + [eosId]
        let padding = max(maxLength - kept.count, 0)
        return Encoding(inputIds: kept + [Int](repeating: padId, count: padding),
                        attentionMask: [Int](repeating: 1, count: kept.count) + [Int](repeating: 0, count: padding),
                        untruncatedIds: ids + [eosId])
    }
}
