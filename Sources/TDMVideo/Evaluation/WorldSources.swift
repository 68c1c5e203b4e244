import ShapeWorld
import TensorCore
import VideoCommon

/// The embedded world as the pretrainer's clip source and the distiller's prompt source.
extension WorldClipSource: ClipSource, PromptSource {
    public var frames: Int { renderer.frames }
    public var height: Int { renderer.height }
    public var width: Int { renderer.width }

    /// The scene and its seed now (exactly `sample`'s draws), the rendering later.
    public func draw(_ rng: inout RNG) -> () -> (pixels: [Float], prompt: String) {
        let s = WorldSplit.sampleTrainingScene(&rng, detail: renderer.detail)
        let seed = rng.next()
        let r = renderer
        return { (r.renderFloats(s, seed: seed), Grammar.prompt(s)) }
    }
}

extension SuiteEvaluation {
    /// The distiller's evaluator on the embedded world: its held-out suite (reported) and its
    /// validation suite (chooses), of the teacher's world.
    public static func worldStudentEvaluator(seeds: Int, referenceSeeds: Int = 0, communicator: Communicator = .single,
                                             detail: WorldDetail = .coarse) -> StudentEvaluator {
        studentEvaluator(heldOut: WorldSplit.heldOutSuite(detail: detail), validation: WorldSplit.validationSuite(detail: detail), seeds: seeds,
                         referenceSeeds: referenceSeeds, communicator: communicator)
    }
}
