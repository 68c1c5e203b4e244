import Foundation
import Testing
import TensorCore
import VideoInference
import VideoModel

/// `VideoPipeline.render(batch:)` (what `sample --prompts` uses) renders each clip bit for bit as
/// `render(prompt:seed:)` renders it alone, whatever its batch-mates and position: the shipped student
/// (4 steps, no guidance), and the shipped teacher with guidance and the stochastic DPM scheduler,
/// whose per-step noise must come from the clip's own seed.
@Suite("VideoPipeline batches") struct VideoPipelineBatchTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models")

    static func expectSameAsAlone(_ pipe: VideoPipeline, _ clips: [VideoPipeline.Clip], _ o: VideoPipeline.Options,
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        let batch = try pipe.render(batch: clips, options: o)
        #expect(batch.count == clips.count, sourceLocation: sourceLocation)
        for (clip, pixels) in zip(clips, batch) {
            let alone = try pipe.render(prompt: clip.prompt, seed: clip.seed, options: o)
            #expect(!alone.isEmpty && pixels == alone, "\(clip) differs from the clip rendered alone",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func studentClipsEqualTheClipsRenderedAlone() throws {
        let pipe = VideoPipeline(try ModelPackage.load(Self.models.appendingPathComponent("student")))
        let clips = [
            VideoPipeline.Clip(prompt: "a red circle moving left, plain background", seed: 0),
            VideoPipeline.Clip(prompt: "a red circle moving left, plain background", seed: 1),
            VideoPipeline.Clip(prompt: "a blue square moving up, textured background", seed: 0),
            VideoPipeline.Clip(prompt: "a green triangle, camera panning right", seed: 7),
            VideoPipeline.Clip(prompt: "a yellow star moving down", seed: 3),
        ]
        try Self.expectSameAsAlone(pipe, clips, pipe.defaults)
        // Order and batch size do not matter either.
        try Self.expectSameAsAlone(pipe, [clips[3], clips[0]], pipe.defaults)
        #expect(try pipe.render(batch: [], options: pipe.defaults).isEmpty)
        // Different seeds give different clips (the test would see a seed mix-up).
        let two = try pipe.render(batch: Array(clips[0...1]), options: pipe.defaults)
        #expect(two[0] != two[1])
    }

    @Test func teacherClipsWithGuidanceAndStochasticStepsEqualTheClipsRenderedAlone() throws {
        let pipe = VideoPipeline(try ModelPackage.load(Self.models.appendingPathComponent("teacher")))
        var o = pipe.options(steps: 3)
        o.scheduler = .dpm
        #expect(o.guidance != 1, "the teacher samples with classifier-free guidance")
        let clips = [
            VideoPipeline.Clip(prompt: "a red circle moving left, plain background", seed: 5),
            VideoPipeline.Clip(prompt: "a red circle moving left, plain background", seed: 6),
            VideoPipeline.Clip(prompt: "a purple diamond, camera tilting up", seed: 5),
        ]
        try Self.expectSameAsAlone(pipe, clips, o)
    }
}
