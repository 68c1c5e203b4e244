import Foundation

/// SentencePiece's precompiled normalization rules (`NormalizerSpec.precompiled_charsmap`): a darts-clone
/// double-array trie over UTF-8 byte strings whose leaves point into a block of NUL-terminated replacement
/// strings. Layout: a little-endian UInt32 trie size in bytes, the trie's 32-bit units, then the strings.
///
/// `longestMatch` is `Normalizer::NormalizePrefix`'s lookup: every rule that is a prefix of the input is
/// found by `commonPrefixSearch` (at most 32, as the reference's result buffer holds), and the longest wins.
/// Loading walks the whole trie once and checks that every reachable unit and every leaf's string lies inside
/// the blob, so a damaged `spiece.model` fails when it is opened instead of misbehaving while tokenizing;
/// the lookup is bounds-checked as well.
struct PrecompiledCharsMap: Sendable {
    struct Failure: Error { var reason: String }

    /// The double-array units.
    let units: [UInt32]
    /// The replacement strings, NUL-terminated, indexed by leaf values.
    let strings: [UInt8]

    /// The reference's limit on prefix matches per lookup (`Normalizer::kMaxTrieResultsSize`).
    static let maxResults = 32

    init(blob: [UInt8]) throws(Failure) {
        guard blob.count > 4 else { throw Failure(reason: "precompiled_charsmap is \(blob.count) bytes, too short for its header") }
        let trieSize = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard trieSize < blob.count, trieSize <= blob.count - 4 else {
            throw Failure(reason: "precompiled_charsmap trie size \(trieSize) exceeds the blob (\(blob.count) bytes)")
        }
        guard trieSize % 4 == 0, trieSize >= 4 else {
            throw Failure(reason: "precompiled_charsmap trie size \(trieSize) is not a positive multiple of 4")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<units.count {
            let o = 4 + 4 * i
            units[i] = UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        self.units = units
        self.strings = Array(blob[(4 + trieSize)...])
        try validate()
    }

    // darts-clone unit fields.
    @inline(__always) static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) static func value(_ u: UInt32) -> Int { Int(u & 0x7FFF_FFFF) }
    @inline(__always) static func label(_ u: UInt32) -> UInt32 { u & (0x8000_0000 | 0xFF) }
    @inline(__always) static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// The replacement string starting at `value`, if it lies inside the strings block and is terminated.
    func replacement(at value: Int) -> ArraySlice<UInt8>? {
        guard value >= 0, value < strings.count else { return nil }
        guard let end = strings[value...].firstIndex(of: 0) else { return nil }
        return strings[value..<end]
    }

    /// The longest rule matching a prefix of `input[start..<end]`: its byte length and replacement.
    func longestMatch(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> (length: Int, replacement: ArraySlice<UInt8>)? {
        guard !units.isEmpty else { return nil }
        var node = Self.offset(units[0])
        var found = 0
        var best: (length: Int, value: Int)? = nil
        var i = start
        while i < input.count {
            let byte = input[i]
            node ^= Int(byte)
            guard node < units.count else { break }
            let unit = units[node]
            guard Self.label(unit) == UInt32(byte) else { break }
            node ^= Self.offset(unit)
            guard node < units.count else { break }
            if Self.hasLeaf(unit) {
                if found < Self.maxResults {
                    let length = i + 1 - start
                    if best == nil || length > best!.length { best = (length, Self.value(units[node])) }
                }
                found += 1
            }
            i += 1
        }
        guard let best, let text = replacement(at: best.value) else { return nil }
        return (best.length, text)
    }

    /// Walks every path of the trie from the root, checking unit indices and leaf strings.
    private func validate() throws(Failure) {
        var visited = Set<Int>()
        var stack: [(node: Int, depth: Int)] = [(Self.offset(units[0]), 0)]
        while let (base, depth) = stack.popLast() {
            guard depth <= 256 else { throw Failure(reason: "precompiled_charsmap trie has a path longer than 256 bytes") }
            guard visited.insert(base).inserted else { continue }
            for byte in 0..<256 {
                let child = base ^ byte
                guard child < units.count else { continue }
                let unit = units[child]
                guard Self.label(unit) == UInt32(byte) else { continue }
                let next = child ^ Self.offset(unit)
                guard next < units.count else {
                    throw Failure(reason: "precompiled_charsmap trie unit \(child) points outside the trie")
                }
                if Self.hasLeaf(unit) && replacement(at: Self.value(units[next])) == nil {
                    throw Failure(reason: "precompiled_charsmap rule at unit \(child) points outside its strings")
                }
                stack.append((next, depth + 1))
            }
        }
    }
}
