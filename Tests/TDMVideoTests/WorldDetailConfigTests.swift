import Foundation
import Testing
import VideoCommon
import VideoInference
import VideoModel
import ShapeWorld
import VBenchLite
import VideoIO
@testable import TDMVideo

@Suite("World detail in configs and packages") struct WorldDetailConfigTests {
    /// `data.detail` is coarse by default, fine when asked, and anything else is refused naming the field;
    /// a coarse config's fingerprint is the one it had before the field existed (old checkpoints resume).
    @Test func pretrainConfigField() throws {
        let plain = try ConfigFile.parse(PretrainConfig.self, yaml: "data: {width: 32}", file: "a.yaml")
        #expect(plain.data.detail == .coarse)
        #expect(!plain.trainingFingerprint.contains("detail"))
        #expect(try ConfigFile.parse(PretrainConfig.self, yaml: "data: {detail: coarse}", file: "b.yaml").trainingFingerprint == plain.trainingFingerprint)
        let fine = try ConfigFile.parse(PretrainConfig.self, yaml: "data: {detail: fine}", file: "c.yaml")
        #expect(fine.data.detail == .fine && fine.trainingFingerprint != plain.trainingFingerprint)
        let bad = #expect(throws: ConfigError.self) { _ = try ConfigFile.parse(PretrainConfig.self, yaml: "data: {detail: sharp}", file: "d.yaml") }
        #expect(bad?.field == "data.detail" && bad?.message.contains("coarse, fine") == true, "\(String(describing: bad))")
        #expect(throws: ConfigError.self) { _ = try ConfigFile.parse(PretrainConfig.self, yaml: "data: {detail: 3}", file: "e.yaml") }
        let shipped = try ConfigFile.load(PretrainConfig.self, from: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("configs/pretrain_fine.yaml"))
        #expect(shipped.data.detail == .fine && shipped.codec.channels == 32 && shipped.model.heads * shipped.model.headDim == 192)
    }

    /// A package records the fine world (`world_detail`); a package without the field is coarse, and an
    /// unknown value is refused.
    @Test func packageMetadataField() throws {
        var meta = PackageMetadata(kind: .teacher, video: .init(frames: 4, height: 8, width: 8, fps: 8),
                                   textEncoder: HashedTextEncoder(embedDim: 8, textLength: 4), snrShiftScale: 3,
                                   sampling: .init(scheduler: .ddim, steps: 50, guidance: 2, timesteps: nil))
        let coarse = String(decoding: try JSONEncoder().encode(meta), as: UTF8.self)
        #expect(!coarse.contains("world_detail") && meta.world == .coarse)
        meta.worldDetail = .fine
        let data = try JSONEncoder().encode(meta)
        #expect(String(decoding: data, as: UTF8.self).contains("\"world_detail\":\"fine\""))
        #expect(try JSONDecoder().decode(PackageMetadata.self, from: data).world == .fine)
        let wrong = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"fine\"", with: "\"sharp\"").utf8)
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(PackageMetadata.self, from: wrong) }
    }

    /// The distribution metrics' reference clips of a fine-world suite entry are the fine world's (its
    /// world facts say so); without an entry, the `detail` given (coarse by default).
    @Test func referenceClipsFollowTheSuitesWorld() throws {
        let spec = try Grammar.parse("a red square, plain background")
        let world = WorldRenderer(width: 16, height: 16, frames: 4)
        let clip = world.render(spec, seed: 0)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ref-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        func features(_ detail: WorldDetail) throws -> [Double] {
            var w = world
            w.detail = detail
            let url = scratch.appendingPathComponent("\(detail).mp4")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            try VideoWriter().write(w.render(spec, seed: WorldReference.referenceSeedBase), to: url)
            return ClipFeatures.extract(try VideoReader.read(url))
        }
        func reference(_ entry: PromptEntry?, _ detail: WorldDetail = .coarse) throws -> [Double] {
            let found = try WorldReference.prompts(groups: [(prompt: Grammar.prompt(spec), entry: entry, clips: [clip])],
                                                   referenceSeeds: 1, scratch: scratch, detail: detail)
            return try #require(found.prompts.first?.reference.first)
        }
        let fine = try features(.fine), coarse = try features(.coarse)
        #expect(fine != coarse)
        #expect(try reference(WorldSplit.entry(spec, detail: .fine)) == fine)
        #expect(try reference(WorldSplit.entry(spec)) == coarse)
        #expect(try reference(nil) == coarse)
        #expect(try reference(nil, .fine) == fine)
    }
}
