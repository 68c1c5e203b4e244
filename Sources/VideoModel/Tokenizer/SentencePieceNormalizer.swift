import Foundation

/// SentencePiece's `Normalizer::Normalize`: the text as the unigram model sees it.
///
/// Left to right, each step takes the longest prefix that is a user-defined symbol (kept as is), else the
/// longest charsmap rule (replaced, e.g. full-width "Ａ" -> "A", "ﬁ" -> "fi", tab -> " "), else one UTF-8
/// character (kept). With remove_extra_whitespaces, leading spaces are dropped, runs of spaces collapse to
/// one and trailing spaces are dropped; with escape_whitespaces every space becomes "▁" (U+2581); with
/// add_dummy_prefix a "▁" goes in front (or at the end with treat_whitespace_as_suffix). Works on UTF-8
/// bytes exactly as the reference does, so the output is byte-identical.
struct SentencePieceNormalizer: Sendable {
    let charsMap: PrecompiledCharsMap?
    let userDefined: ByteTrie?
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    let treatWhitespaceAsSuffix: Bool

    static let spaceSymbol: [UInt8] = [0xE2, 0x96, 0x81]  // "▁"

    /// The bytes of the longest normalization step at `start`: what it produces and how many bytes it consumes.
    func normalizePrefix(_ input: UnsafeBufferPointer<UInt8>, _ start: Int) -> (output: ArraySlice<UInt8>, consumed: Int) {
        if let userDefined, let length = userDefined.longestPrefix(input, from: start) {
            return (ArraySlice(input[start..<(start + length)]), length)
        }
        if let charsMap, let match = charsMap.longestMatch(input, from: start) {
            return (match.replacement, match.length)
        }
        let length = min(UTF8Char.length(input[start]), input.count - start)
        return (ArraySlice(input[start..<(start + length)]), length)
    }

    /// The normalized UTF-8 bytes of `text`.
    func normalize(_ text: String) -> [UInt8] {
        Array(text.utf8).withUnsafeBufferPointer { normalize($0) }
    }

    func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var position = 0
        if removeExtraWhitespaces {
            while position < input.count {
                let step = normalizePrefix(input, position)
                guard step.output.elementsEqual([0x20]) else { break }
                position += step.consumed
            }
        }
        guard position < input.count else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(3 * (input.count - position))
        func addSpace() { if escapeWhitespaces { out += Self.spaceSymbol } else { out.append(0x20) } }
        if !treatWhitespaceAsSuffix && addDummyPrefix { addSpace() }
        var previousIsSpace = removeExtraWhitespaces
        while position < input.count {
            let step = normalizePrefix(input, position)
            var piece = step.output
            // Drop the leading spaces of this step if the text so far ends in one.
            while previousIsSpace, piece.first == 0x20 { piece = piece.dropFirst() }
            if !piece.isEmpty {
                for byte in piece {
                    if escapeWhitespaces && byte == 0x20 { out += Self.spaceSymbol } else { out.append(byte) }
                }
                previousIsSpace = piece.last == 0x20
            }
            position += step.consumed
            if !removeExtraWhitespaces { previousIsSpace = false }
        }
        if removeExtraWhitespaces {
            let space: [UInt8] = escapeWhitespaces ? Self.spaceSymbol : [0x20]
            while out.count >= space.count, out.suffix(space.count).elementsEqual(space) { out.removeLast(space.count) }
        }
        if treatWhitespaceAsSuffix && addDummyPrefix { addSpace() }
        return out
    }
}

/// UTF-8 helpers with SentencePiece's conventions.
enum UTF8Char {
    /// `string_util::OneCharLen`: the length a lead byte announces (continuation bytes count as 1).
    @inline(__always) static func length(_ lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }
}

/// A byte-level trie mapping UTF-8 strings to ids, for the unigram model's pieces and user-defined symbols.
/// Children are kept in one dictionary keyed by (node, byte), so building 32 000 T5 pieces is quick.
struct ByteTrie: Sendable {
    private var children: [Int: Int32] = [:]
    /// The id stored at each node, or -1.
    private var values: [Int32] = [-1]

    init() {}

    init(_ entries: [(bytes: [UInt8], id: Int)]) {
        for e in entries { insert(e.bytes, id: e.id) }
    }

    mutating func insert(_ key: [UInt8], id: Int) {
        var node = 0
        for byte in key {
            let slot = node << 8 | Int(byte)
            if let next = children[slot] {
                node = Int(next)
            } else {
                values.append(-1)
                let next = values.count - 1
                children[slot] = Int32(next)
                node = next
            }
        }
        values[node] = Int32(id)
    }

    /// Calls `body(length, id)` for every stored key that is a prefix of `input[start...]`, shortest first.
    @inline(__always)
    func forEachPrefix(_ input: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (Int, Int) -> Void) {
        var node = 0
        var i = start
        while i < input.count, let next = children[node << 8 | Int(input[i])] {
            node = Int(next)
            i += 1
            if values[node] >= 0 { body(i - start, Int(values[node])) }
        }
    }

    /// The length of the longest stored key that prefixes `input[start...]`.
    func longestPrefix(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var best: Int? = nil
        forEachPrefix(input, from: start) { length, _ in best = length }
        return best
    }
}
