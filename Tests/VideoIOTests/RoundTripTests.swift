import Foundation
import Testing
@testable import VideoIO

@Suite("VideoWriter and VideoReader round trips") struct RoundTripTests {
    @Test func defaultQualityRoundTrip() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip()
        let url = dir.appendingPathComponent("clip.mp4")
        try VideoWriter().write(clip, to: url)
        let back = try VideoReader.read(url)
        #expect(back.width == 64 && back.height == 64)
        #expect(back.frameCount == 16)
        #expect(back.fps == 8)
        let psnr = TestSupport.psnr(clip.pixels, back.pixels)
        print("round trip 64x64x16 PSNR \(psnr) dB")
        #expect(psnr >= 38)
        #expect(TestSupport.contents(of: dir) == ["clip.mp4"])
    }
}
