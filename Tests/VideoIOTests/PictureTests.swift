import Foundation
import Testing
import VideoCommon
@testable import VideoIO

@Suite("PNG, GIF and contact sheets") struct PictureTests {
    @Test func pngRoundTripIsLossless() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.hardEdgedClip(width: 13, height: 7, frames: 1)
        let url = dir.appendingPathComponent("frame.png")
        try ImageIO.writePNG(width: 13, height: 7, rgb: clip.pixels, to: url)
        let back = try ImageIO.readPNG(url)
        #expect(back.width == 13 && back.height == 7)
        #expect(back.rgb == clip.pixels)
        #expect(try TestSupport.probe(url)["codec_name"] == "png")
        #expect(TestSupport.contents(of: dir) == ["frame.png"])
    }

    @Test func pngOfAChosenFrame() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip(width: 20, height: 10, frames: 5)
        let url = dir.appendingPathComponent("f3.png")
        try ImageIO.writePNG(clip, frame: 3, to: url)
        #expect(try ImageIO.readPNG(url).rgb == Array(clip.frame(3)))
        #expect(throws: VideoIOError.self) { try ImageIO.writePNG(clip, frame: 5, to: url) }
    }

    @Test func animatedGIFKeepsFramesTimingAndLooks() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clip = TestSupport.movingClip(width: 63, height: 47)
        let url = dir.appendingPathComponent("preview.gif")
        try writeGIF(clip, to: url)
        let probe = try TestSupport.probe(url)
        #expect(probe["codec_name"] == "gif")
        #expect(probe["nb_read_frames"] == "16")
        let duration = Double(probe["duration"] ?? "") ?? -1
        #expect(abs(duration - 2.0) < 1e-6, "GIF duration \(duration) s")
        let back = try VideoReader.read(url)
        #expect(back.frameCount == 16 && back.width == 63 && back.height == 47)
        #expect(abs(back.fps - 8) < 1e-9, "fps \(back.fps)")
        // One 256-colour median-cut palette for the smooth clip: only mild banding remains.
        let psnr = TestSupport.psnr(clip.pixels, back.pixels)
        #expect(psnr >= 32, "GIF PSNR \(psnr) dB")
        let blurred = TestSupport.psnr(TestSupport.blockMeans(clip), TestSupport.blockMeans(back))
        #expect(blurred >= 38, "GIF 4x4 block-mean PSNR \(blurred) dB")
        #expect(TestSupport.contents(of: dir) == ["preview.gif"])
    }

    @Test func gifKeepsFewColoursExactly() throws {
        // Up to 256 distinct colours (in distinct 5-bit bins) each get their own palette entry.
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let width = 30, height = 20, frames = 5
        var pixels = [UInt8](repeating: 0, count: width * height * 3 * frames)
        for f in 0..<frames {
            for y in 0..<height {
                for x in 0..<width {
                    let colour = ((x + f) / 3 + (y / 4) * 10) % 200
                    let i = ((f * height + y) * width + x) * 3
                    pixels[i] = UInt8(colour % 8 * 32 + 3)
                    pixels[i + 1] = UInt8(colour / 8 % 5 * 48 + 7)
                    pixels[i + 2] = UInt8(colour / 40 * 40 + 11)
                }
            }
        }
        let clip = RGBVideo(width: width, height: height, fps: 5, pixels: pixels)
        let url = dir.appendingPathComponent("few.gif")
        try writeGIF(clip, to: url)
        let back = try VideoReader.read(url)
        #expect(back.frameCount == frames)
        #expect(back.pixels == clip.pixels)
    }

    @Test func gifTicksTrackTheFrameRate() {
        #expect(GIFWriter.presentationTicks(frames: 4, fps: 8) == [0, 13, 25, 38, 50])
        // Faster than GIF's 1/100 s resolution: ticks still increase.
        #expect(GIFWriter.presentationTicks(frames: 3, fps: 300) == [0, 1, 2, 3])
    }

    @Test func contactSheetLaysOutRowsAndSampledColumns() throws {
        let a = TestSupport.movingClip(width: 16, height: 12, frames: 9)
        let b = TestSupport.hardEdgedClip(width: 16, height: 12, frames: 3)
        let sheet = ContactSheet.make(clips: [a, b], columns: 4, gap: 2)
        #expect(sheet.width == 2 + 4 * (16 + 2))
        #expect(sheet.height == 2 + 2 * (12 + 2))
        #expect(sheet.rgb.count == sheet.width * sheet.height * 3)
        #expect(ContactSheet.sampledFrames(count: 9, columns: 4) == [0, 3, 5, 8])
        #expect(ContactSheet.sampledFrames(count: 3, columns: 4) == [0, 1, 2])
        func cell(_ row: Int, _ column: Int) -> [UInt8] {
            var out: [UInt8] = []
            for y in 0..<12 {
                let start = ((2 + row * 14 + y) * sheet.width + 2 + column * 18) * 3
                out += sheet.rgb[start..<(start + 16 * 3)]
            }
            return out
        }
        #expect(cell(0, 0) == Array(a.frame(0)))
        #expect(cell(0, 1) == Array(a.frame(3)))
        #expect(cell(0, 3) == Array(a.frame(8)))
        #expect(cell(1, 2) == Array(b.frame(2)))
        // b has three frames: its fourth cell stays background, as do the gaps.
        #expect(cell(1, 3).allSatisfy { $0 == ContactSheet.background })
        #expect(sheet.rgb[0..<6].allSatisfy { $0 == ContactSheet.background })
    }

    @Test func contactSheetCaptionsAndPNG() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { TestSupport.cleanup(dir) }
        let clips = [TestSupport.movingClip(width: 24, height: 16, frames: 4)]
        let plain = ContactSheet.make(clips: clips, columns: 2)
        let labelled = ContactSheet.make(clips: clips, columns: 2, labels: ["a red ball"])
        #expect(labelled.height == plain.height + BitmapFont.glyphHeight + 3)
        let inked = stride(from: 0, to: labelled.width * (2 + BitmapFont.glyphHeight + 3) * 3, by: 3)
            .filter { labelled.rgb[$0] == ContactSheet.captionColour.0 }.count
        #expect(inked > 20, "caption pixels drawn: \(inked)")
        let url = dir.appendingPathComponent("sheet.png")
        try ContactSheet.writePNG(clips: clips, columns: 2, labels: ["a red ball"], to: url)
        let back = try ImageIO.readPNG(url)
        #expect(back.width == labelled.width && back.height == labelled.height && back.rgb == labelled.rgb)
    }

    @Test func contactSheetNeverFails() {
        let empty = ContactSheet.make(clips: [], columns: 3)
        #expect(empty.width == 1 && empty.height == 1)
        let mixed = ContactSheet.make(clips: [TestSupport.movingClip(width: 8, height: 8, frames: 2),
                                              TestSupport.movingClip(width: 12, height: 6, frames: 2)],
                                      columns: 0, labels: [], gap: -3)
        #expect(mixed.width == 12 && mixed.height == 16)
    }
}
