import ShapeWorld
import TensorCore

/// The embedded world as the pretrainer's clip source and the distiller's prompt source.
extension WorldClipSource: ClipSource, PromptSource {
    public var frames: Int { renderer.frames }
    public var height: Int { renderer.height }
    public var width: Int { renderer.width }
}
