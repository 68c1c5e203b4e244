import Foundation
import VideoCommon

/// A grid picture of one or more clips: each clip is a row, each column an evenly sampled frame (first to
/// last), separated by a small gap, with an optional caption strip above each row. It mirrors the contact
/// sheets photographers and video reviewers use: motion, consistency and prompt adherence can be judged
/// at a glance, and the picture goes into reports as a plain PNG.
public enum ContactSheet {
    /// Background of gaps and empty cells.
    static let background: UInt8 = 24
    static let captionColour: (UInt8, UInt8, UInt8) = (235, 235, 235)

    /// Builds the sheet. Never fails: clips of different sizes get cells of the largest size (smaller
    /// frames sit top-left), clips with fewer frames than `columns` leave later cells empty, missing labels
    /// leave an empty caption, and `columns`/`gap` are clamped to at least 1 and 0.
    ///
    /// - Parameters:
    ///   - clips: one row each; an empty list gives a single background-coloured pixel.
    ///   - columns: frames shown per row.
    ///   - labels: captions drawn above the rows (upper-case 5×7 font); nil, or no non-empty label, for none.
    ///   - gap: pixels between cells and around the edge.
    public static func make(clips: [RGBVideo], columns: Int = 8, labels: [String]? = nil,
                            gap: Int = 2) -> (width: Int, height: Int, rgb: [UInt8]) {
        let columns = max(1, columns), gap = max(0, gap)
        guard !clips.isEmpty else { return (1, 1, [background, background, background]) }
        let cellWidth = clips.map(\.width).max() ?? 1
        let cellHeight = clips.map(\.height).max() ?? 1
        let labels = labels.flatMap { $0.contains { !$0.isEmpty } ? $0 : nil }
        let captionHeight = labels == nil ? 0 : BitmapFont.glyphHeight + 3
        let rowHeight = captionHeight + cellHeight
        let width = gap + columns * (cellWidth + gap)
        let height = gap + clips.count * (rowHeight + gap)
        var canvas = [UInt8](repeating: background, count: width * height * 3)

        for (row, clip) in clips.enumerated() {
            let top = gap + row * (rowHeight + gap)
            if let labels, row < labels.count {
                BitmapFont.draw(labels[row], x: gap + 1, y: top + 1, maxWidth: width - 2 * gap - 2,
                                colour: captionColour, into: &canvas, width: width, height: height)
            }
            let frameCount = clip.width > 0 && clip.height > 0 ? clip.pixels.count / clip.frameSize : 0
            for (column, frame) in sampledFrames(count: frameCount, columns: columns).enumerated() {
                let left = gap + column * (cellWidth + gap)
                blit(clip, frame: frame, x: left, y: top + captionHeight, into: &canvas, canvasWidth: width)
            }
        }
        return (width, height, canvas)
    }

    /// Builds the sheet and writes it as PNG.
    public static func writePNG(clips: [RGBVideo], columns: Int = 8, labels: [String]? = nil, gap: Int = 2,
                                to url: URL) throws {
        let sheet = make(clips: clips, columns: columns, labels: labels, gap: gap)
        try ImageIO.writePNG(width: sheet.width, height: sheet.height, rgb: sheet.rgb, to: url)
    }

    /// Frame indices for the columns: evenly spaced from first to last, all frames if there are fewer.
    static func sampledFrames(count: Int, columns: Int) -> [Int] {
        guard count > 0 else { return [] }
        if count <= columns { return Array(0..<count) }
        if columns == 1 { return [0] }
        return (0..<columns).map { Int((Double($0) * Double(count - 1) / Double(columns - 1)).rounded()) }
    }

    private static func blit(_ clip: RGBVideo, frame: Int, x: Int, y: Int, into canvas: inout [UInt8],
                             canvasWidth: Int) {
        let rowBytes = clip.width * 3
        clip.pixels.withUnsafeBufferPointer { source in
            canvas.withUnsafeMutableBufferPointer { destination in
                for row in 0..<clip.height {
                    let from = source.baseAddress! + (frame * clip.height + row) * rowBytes
                    let to = destination.baseAddress! + ((y + row) * canvasWidth + x) * 3
                    to.update(from: from, count: rowBytes)
                }
            }
        }
    }
}
