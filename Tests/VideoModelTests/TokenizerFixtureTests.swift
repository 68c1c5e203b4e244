import Foundation
import Testing
import TensorCore
@testable import VideoModel

/// The SentencePiece unigram tokenizer against `T5Tokenizer` / `sentencepiece` on the fixture's 31 texts.
@Suite("T5 tokenizer vs transformers fixtures") struct TokenizerFixtureTests {
    struct Case: Decodable {
        var text: String
        var input_ids: [Int]
        var attention_mask: [Int]
        var untruncated_ids: [Int]
        var pieces: [String]
        var raw_sentencepiece_ids: [Int]?
    }
    struct Reference: Decodable {
        var max_length: Int
        var pad_id: Int, eos_id: Int, unk_id: Int
        var spiece_vocab_size: Int
        var extra_ids: Int
        var cases: [Case]
    }

    static let folder = Fixtures.url("t5-tokenizer-tiny")

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: folder.appendingPathComponent("reference.json")))
    }

    @Test func everyCaseMatchesExactly() throws {
        let ref = try Self.reference()
        #expect(ref.cases.count == 31)
        let tokenizer = try T5Tokenizer.load(directory: Self.folder)
        #expect(tokenizer.sentencePiece.pieceCount == ref.spiece_vocab_size)
        #expect(tokenizer.count == ref.spiece_vocab_size + ref.extra_ids)
        #expect(tokenizer.eosId == ref.eos_id && tokenizer.padId == ref.pad_id && tokenizer.unknownId == ref.unk_id)
        var failures = 0
        for c in ref.cases {
            let e = tokenizer.encode(c.text, maxLength: ref.max_length)
            let pieces = e.untruncatedIds.map { tokenizer.token($0) ?? "?" }
            let ok = e.inputIds == c.input_ids && e.attentionMask == c.attention_mask
                && e.untruncatedIds == c.untruncated_ids && pieces == c.pieces
            #expect(ok, "\(c.text.debugDescription): ids \(e.untruncatedIds) pieces \(pieces), expected \(c.untruncated_ids) \(c.pieces)")
            if let raw = c.raw_sentencepiece_ids {
                let ours = tokenizer.sentencePiece.encode(c.text) + [tokenizer.eosId]
                #expect(ours == raw, "raw \(c.text.debugDescription): \(ours) vs \(raw)")
            } else {
                // Without special tokens in the text, plain SentencePiece gives the same ids.
                #expect(tokenizer.sentencePiece.encode(c.text) + [tokenizer.eosId] == c.untruncated_ids)
            }
            if !ok { failures += 1 }
        }
        #expect(failures == 0)
    }

    @Test func referenceCheckPasses() throws {
        let result = try TokenizerReferenceCheck.run(tokenizer: T5Tokenizer.load(directory: Self.folder),
                                                     reference: Self.folder.appendingPathComponent("reference.json"))
        #expect(result.cases == 31 && result.passed, "\(result.mismatches)")
    }

    /// The pipeline's folder holds only spiece.model and tokenizer_config.json; spiece.model alone gives the
    /// same ids.
    @Test func spieceAloneAndPipelineFolderAgree() throws {
        let ref = try Self.reference()
        let alone = try T5Tokenizer(sentencePiece: SentencePieceProcessor.load(Self.folder.appendingPathComponent("spiece.model")))
        let pipeline = try T5Tokenizer.load(directory: Fixtures.url("cogvideox-pipeline-tiny/tokenizer"))
        for c in ref.cases {
            #expect(alone.encode(c.text, maxLength: ref.max_length).inputIds == c.input_ids)
            #expect(pipeline.encode(c.text, maxLength: ref.max_length).inputIds == c.input_ids)
        }
        // The CogVideoX default length pads to 226.
        let long = alone.encode("a red cube")
        #expect(long.inputIds.count == 226 && long.attentionMask.reduce(0, +) == long.untruncatedIds.count)
    }

    @Test func normalizationFollowsTheCharsMap() throws {
        let sp = try SentencePieceProcessor.load(Self.folder.appendingPathComponent("spiece.model"))
        #expect(sp.normalize("  Ａ  ﬁne\tday ") == "▁A▁fine▁day")
        #expect(sp.normalize("½") == "▁1⁄2")
        #expect(sp.normalize("e\u{301}") == "▁é")
        #expect(sp.normalize(" \t\n") == "")
    }

    /// Damaged files are errors naming the file, never crashes: truncations at many points, flipped bytes,
    /// and files that are not SentencePiece models at all.
    @Test func malformedModelsAreErrors() throws {
        let url = Self.folder.appendingPathComponent("spiece.model")
        let bytes = [UInt8](try Data(contentsOf: url))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("spiece.model")
        func refused(_ data: [UInt8]) throws -> Bool {
            try Data(data).write(to: bad)
            do {
                let model = try SentencePieceProcessor.load(bad)
                _ = model.encode("A panda plays a red guitar")  // if it loads, it must still tokenize safely
                return false
            } catch {
                #expect(error.description.contains(bad.path))
                return true
            }
        }
        #expect(try refused([]))
        #expect(try refused(Array("not a model".utf8)))
        #expect(try refused(Array(bytes.prefix(1000))))
        #expect(try refused(Array(bytes.prefix(bytes.count - 7))))
        var refusals = 0
        var rng = RNG(seed: 23)
        for _ in 0..<60 {
            var copy = bytes
            for _ in 0..<4 { copy[Int(rng.next() % UInt64(copy.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            if try refused(copy) { refusals += 1 }
        }
        for cut in stride(from: 3, to: bytes.count, by: bytes.count / 40) where try refused(Array(bytes.prefix(cut))) {
            refusals += 1
        }
        #expect(refusals > 0)
        // A missing folder or config error names the file.
        do {
            _ = try T5Tokenizer.load(directory: dir.appendingPathComponent("nowhere"))
            Issue.record("a missing spiece.model should be an error")
        } catch {
            #expect(error.description.contains("spiece.model"))
        }
        try FileManager.default.copyItem(at: url, to: dir.appendingPathComponent("ok.model"))
        try FileManager.default.removeItem(at: bad)
        try FileManager.default.copyItem(at: url, to: bad)
        try Data(#"{"extra_ids": "many"}"#.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        do {
            _ = try T5Tokenizer.load(directory: dir)
            Issue.record("a bad extra_ids should be an error")
        } catch {
            #expect(error.description.contains("tokenizer_config.json") && error.description.contains("extra_ids"))
        }
    }
}
