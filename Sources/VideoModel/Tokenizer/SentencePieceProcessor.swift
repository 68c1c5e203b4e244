import Foundation

/// SentencePiece's unigram encoder (`SentencePieceProcessor::Encode` with `unigram::Model::EncodeOptimized`,
/// the default encoder), over a `SentencePieceModel` read from `spiece.model`.
///
/// Encoding: normalize (`SentencePieceNormalizer`), then Viterbi over UTF-8 byte positions. Every normal or
/// user-defined piece that starts at a character boundary is a candidate edge scored by its log probability
/// (user-defined: byte length x the best normal score - 0.1); where no single-character piece starts, a
/// one-character `<unk>` edge scored min normal score - 10 keeps the lattice connected. Path scores are
/// summed in Float32 and a later candidate replaces an earlier one only if strictly better, exactly as the
/// reference, so ties resolve the same way. Adjacent `<unk>` results merge into one (a run of uncovered
/// characters is one unknown token), or, with byte fallback, become their UTF-8 byte pieces.
public struct SentencePieceProcessor: Sendable {
    public let model: SentencePieceModel
    let normalizer: SentencePieceNormalizer
    let trie: ByteTrie
    let unknownId: Int
    let minScore: Float
    let maxScore: Float
    let byteIds: [Int]
    let pieceIds: [String: Int]

    /// The reference's penalty below the worst normal piece for an unknown character.
    static let unknownPenalty: Float = 10

    public init(model: SentencePieceModel) {
        self.model = model
        var entries: [(bytes: [UInt8], id: Int)] = []
        var userDefined: [(bytes: [UInt8], id: Int)] = []
        var minScore = Float.greatestFiniteMagnitude, maxScore = Float.leastNormalMagnitude  // FLT_MAX, FLT_MIN
        var unknownId = 0
        var byteIds = [Int](repeating: -1, count: 256)
        var pieceIds: [String: Int] = [:]
        for (id, piece) in model.pieces.enumerated() {
            pieceIds[piece.text] = id
            switch piece.type {
            case .normal:
                entries.append((Array(piece.text.utf8), id))
                minScore = min(minScore, piece.score)
                maxScore = max(maxScore, piece.score)
            case .userDefined:
                entries.append((Array(piece.text.utf8), id))
                userDefined.append((Array(piece.text.utf8), id))
            case .unused:
                entries.append((Array(piece.text.utf8), id))
            case .unknown:
                unknownId = id
            case .byte:
                if let b = SentencePieceModel.byteValue(piece.text) { byteIds[Int(b)] = id }
            case .control:
                break
            }
        }
        self.trie = ByteTrie(entries)
        self.unknownId = unknownId
        self.minScore = minScore
        self.maxScore = maxScore
        self.byteIds = byteIds
        self.pieceIds = pieceIds
        self.normalizer = SentencePieceNormalizer(
            charsMap: model.charsMap, userDefined: userDefined.isEmpty ? nil : ByteTrie(userDefined),
            addDummyPrefix: model.addDummyPrefix, removeExtraWhitespaces: model.removeExtraWhitespaces,
            escapeWhitespaces: model.escapeWhitespaces, treatWhitespaceAsSuffix: model.treatWhitespaceAsSuffix)
    }

    /// Reads `spiece.model`.
    public static func load(_ url: URL) throws(TokenizerError) -> SentencePieceProcessor {
        SentencePieceProcessor(model: try SentencePieceModel.load(url))
    }

    public var pieceCount: Int { model.pieces.count }

    /// The id of a piece string (nil if no piece has that text).
    public func id(of piece: String) -> Int? { pieceIds[piece] }

    /// The piece string of an id.
    public func piece(_ id: Int) -> String? { model.pieces.indices.contains(id) ? model.pieces[id].text : nil }

    /// The normalized text (UTF-8), "▁" for spaces.
    public func normalize(_ text: String) -> String { String(decoding: normalizer.normalize(text), as: UTF8.self) }

    /// `SentencePieceProcessor.encode(text)`: the piece ids, without any control symbol.
    public func encode(_ text: String) -> [Int] {
        let normalized = normalizer.normalize(text)
        return normalized.withUnsafeBufferPointer { buffer in
            let path = viterbi(buffer)
            var ids: [Int] = []
            ids.reserveCapacity(path.count)
            var previousUnknown = false
            for (start, end, id) in path {
                let unknown = id == unknownId
                if unknown && model.byteFallback {
                    for i in start..<end { ids.append(byteIds[Int(buffer[i])]) }
                } else if !(unknown && previousUnknown) {
                    ids.append(id)
                }
                previousUnknown = unknown
            }
            return ids
        }
    }

    /// The best segmentation of `text` (normalized bytes): (start, end, id) edges in order.
    func viterbi(_ text: UnsafeBufferPointer<UInt8>) -> [(Int, Int, Int)] {
        let size = text.count
        guard size > 0 else { return [] }
        let unknownScore = minScore - Self.unknownPenalty
        var bestId = [Int](repeating: -1, count: size + 1)
        var bestScore = [Float](repeating: 0, count: size + 1)
        var bestStart = [Int](repeating: -1, count: size + 1)
        var start = 0
        while start < size {
            let scoreHere = bestScore[start]
            let charLength = min(UTF8Char.length(text[start]), size - start)
            var hasSingleCharacter = false
            trie.forEachPrefix(text, from: start) { length, id in
                let piece = model.pieces[id]
                if piece.type == .unused { return }
                let end = start + length
                let candidate: Float
                let better: Bool
                if piece.type == .userDefined {
                    // size_t * float - 0.1 is a double in the reference; compared as double, stored as float.
                    let wide = Double(Float(length) * maxScore) - 0.1 + Double(scoreHere)
                    candidate = Float(wide)
                    better = bestStart[end] == -1 || wide > Double(bestScore[end])
                } else {
                    candidate = piece.score + scoreHere
                    better = bestStart[end] == -1 || candidate > bestScore[end]
                }
                if better {
                    bestScore[end] = candidate
                    bestStart[end] = start
                    bestId[end] = id
                }
                if length == charLength { hasSingleCharacter = true }
            }
            if !hasSingleCharacter {
                let end = start + charLength
                let candidate = unknownScore + scoreHere
                if bestStart[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    bestStart[end] = start
                    bestId[end] = unknownId
                }
            }
            start += charLength
        }
        var path: [(Int, Int, Int)] = []
        var end = size
        while end > 0 {
            let s = bestStart[end]
            path.append((s, end, bestId[end]))
            end = s
        }
        return path.reversed()
    }
}
