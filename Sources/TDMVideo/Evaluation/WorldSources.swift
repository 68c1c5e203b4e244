import ShapeWorld
import TensorCore

/// The embedded world as the pretrainer's clip source and the distiller's prompt source.
extension WorldClipSource: ClipSource, PromptSource {
    public var frames: Int { renderer.frames }
    public var height: Int { renderer.height }
    public var width: Int { renderer.width }
}

extension SuiteEvaluation {
    /// The distiller's evaluator on the embedded world: its held-out suite (reported) and its
    /// validation suite (chooses).
    public static func worldStudentEvaluator(seeds: Int) -> StudentEvaluator {
        studentEvaluator(heldOut: WorldSplit.heldOutSuite(), validation: WorldSplit.validationSuite(), seeds: seeds)
    }
}
