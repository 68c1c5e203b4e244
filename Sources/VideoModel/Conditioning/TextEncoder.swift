import Foundation
import TensorCore

/// Turns a prompt into per-token embeddings [textLength, embedDim], the role T5-XXL plays for
/// CogVideoX: padded to a fixed length, no attention mask, the empty string as the negative prompt.
public protocol TextEncoder: Sendable {
    var embedDim: Int { get }
    var textLength: Int { get }
    /// Embeddings for one prompt, [textLength · embedDim], row-major by token.
    func encode(_ prompt: String) -> [Float]
}

extension TextEncoder {
    /// Embeddings for several prompts, stacked [count, textLength, embedDim].
    public func encode(_ prompts: [String]) -> [Float] { prompts.flatMap { encode($0) } }
}

/// tdm-video's default text encoder: a deterministic hashed word embedding with position codes.
///
/// How it works: the prompt is lower-cased and split into words (Unicode letters and digits; every
/// other character separates words). Each word's vector is drawn from a normal distribution seeded by
/// the FNV-1a hash of its UTF-8 bytes (and the encoder's seed), so every word, known or not, gets a
/// fixed embedding without a vocabulary; an end-of-sequence token follows the words and pad tokens
/// fill the rest, as T5 pads to 226. A sinusoidal position code is added to every token, so word order
/// (which colour goes with which shape) is visible. Prompts longer than textLength − 1 words are
/// truncated, as T5 truncates.
///
/// What it cannot do: it knows nothing of meaning. Synonyms ("crimson" vs "red"), inflections
/// ("circles") and paraphrases get unrelated vectors; only words the model saw in training mean
/// anything to it. It is a stand-in that lets the real CogVideoX architecture be trained on the
/// embedded world, not a language model.
public struct HashedTextEncoder: TextEncoder, Codable, Equatable {
    public var embedDim: Int
    public var textLength: Int
    public var seed: UInt64
    /// Scale of the position code relative to the unit-variance word vectors.
    public var positionScale: Float

    public init(embedDim: Int, textLength: Int, seed: UInt64 = 0x7D3_7EC7, positionScale: Float = 0.5) {
        self.embedDim = embedDim
        self.textLength = textLength
        self.seed = seed
        self.positionScale = positionScale
    }

    public static let endOfSequence = "</s>"
    public static let pad = "<pad>"

    /// The tokens the prompt becomes (words, then end-of-sequence, then padding).
    public func tokens(_ prompt: String) -> [String] {
        var words: [String] = []
        var cur = ""
        for ch in prompt.lowercased() {
            if ch.isLetter || ch.isNumber { cur.append(ch) } else if !cur.isEmpty { words.append(cur); cur = "" }
        }
        if !cur.isEmpty { words.append(cur) }
        words = Array(words.prefix(max(0, textLength - 1)))
        words.append(Self.endOfSequence)
        while words.count < textLength { words.append(Self.pad) }
        return words
    }

    /// FNV-1a, 64 bit.
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    public func wordVector(_ word: String) -> [Float] {
        var rng = RNG(seed: Self.fnv1a(word) ^ seed)
        return rng.normal(embedDim)
    }

    public func encode(_ prompt: String) -> [Float] {
        let toks = tokens(prompt)
        var out = [Float](repeating: 0, count: textLength * embedDim)
        let half = embedDim / 2
        for (i, t) in toks.enumerated() {
            let v = wordVector(t)
            for j in 0..<embedDim {
                let k = j < half ? j : j - half
                let freq = Foundation.pow(100.0, -Double(k) / Double(max(half, 1)))
                let a = Double(i) * freq
                let pos = Float(j < half ? Foundation.sin(a) : Foundation.cos(a))
                out[i * embedDim + j] = v[j] + positionScale * pos
            }
        }
        return out
    }
}
