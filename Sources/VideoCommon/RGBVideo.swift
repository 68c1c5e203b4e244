/// A decoded or rendered clip: 8-bit RGB frames of one size, stored contiguously.
///
/// Layout: `pixels[((frame * height + y) * width + x) * 3 + channel]`, channels R, G, B.
/// This is the one currency between the renderer, the writer/reader and the scorer.
public struct RGBVideo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Frames per second.
    public var fps: Double
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fps: Double, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBVideo needs a positive size")
        precondition(pixels.count % (width * height * 3) == 0, "RGBVideo pixels must hold whole frames")
        self.width = width
        self.height = height
        self.fps = fps
        self.pixels = pixels
    }

    /// Floats in [0, 1], laid out as `pixels` (a renderer's or a decoder's output), to 8 bits: each
    /// value times 255, rounded to nearest, clamped to 0...255.
    public init(floats: [Float], width: Int, height: Int, fps: Double) {
        self.init(width: width, height: height, fps: fps,
                  pixels: floats.map { UInt8(min(255, max(0, ($0 * 255).rounded()))) })
    }

    /// Bytes in one frame.
    public var frameSize: Int { width * height * 3 }
    public var frameCount: Int { pixels.count / frameSize }

    /// The bytes of frame `i`.
    public func frame(_ i: Int) -> ArraySlice<UInt8> {
        pixels[(i * frameSize)..<((i + 1) * frameSize)]
    }
}
