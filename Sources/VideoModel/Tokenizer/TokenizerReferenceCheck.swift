import Foundation

/// Runs a `T5Tokenizer` over the cases of a tokenizer fixture (`t5-tokenizer-tiny/reference.json`: max_length
/// and `cases` of text, input_ids, attention_mask, untruncated_ids, pieces, raw_sentencepiece_ids) and reports
/// every case that differs in any field. Token ids must match exactly. For `tdm-video verify`.
public enum TokenizerReferenceCheck {
    public struct Result: Sendable {
        public var cases: Int
        /// One line per mismatching case: the text and what differed.
        public var mismatches: [String]
        public var passed: Bool { mismatches.isEmpty && cases > 0 }
    }

    public static func run(tokenizer: T5Tokenizer, reference url: URL) throws -> Result {
        struct Case: Decodable {
            var text: String
            var input_ids: [Int], attention_mask: [Int], untruncated_ids: [Int], pieces: [String]
            var raw_sentencepiece_ids: [Int]?
        }
        struct Reference: Decodable { var max_length: Int; var cases: [Case] }
        let reference: Reference
        do { reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)) } catch {
            throw TokenizerError(source: url.path, reason: "not a tokenizer reference (\(error))")
        }
        var mismatches: [String] = []
        for c in reference.cases {
            let e = tokenizer.encode(c.text, maxLength: reference.max_length)
            var wrong: [String] = []
            if e.inputIds != c.input_ids { wrong.append("input_ids \(e.inputIds) vs \(c.input_ids)") }
            if e.attentionMask != c.attention_mask { wrong.append("attention_mask") }
            if e.untruncatedIds != c.untruncated_ids { wrong.append("untruncated_ids \(e.untruncatedIds) vs \(c.untruncated_ids)") }
            let pieces = e.untruncatedIds.map { tokenizer.token($0) ?? "?" }
            if pieces != c.pieces { wrong.append("pieces \(pieces) vs \(c.pieces)") }
            if let raw = c.raw_sentencepiece_ids, tokenizer.sentencePiece.encode(c.text) + [tokenizer.eosId] != raw {
                wrong.append("raw_sentencepiece_ids")
            }
            if !wrong.isEmpty { mismatches.append("\(c.text.debugDescription): " + wrong.joined(separator: "; ")) }
        }
        return Result(cases: reference.cases.count, mismatches: mismatches)
    }
}
