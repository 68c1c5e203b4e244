import VideoCommon

/// A palette of at most 256 colours fitted to a whole clip by median cut (Heckbert's 1982 colour
/// quantisation: split the colour box with the widest spread at its population median until there are
/// enough boxes, then use each box's mean colour), and the mapping of pixels to it.
///
/// One palette for the whole clip keeps still areas the same index in every frame, so GIF previews do
/// not flicker and the encoder's inter-frame transparency stays effective. Colours are histogrammed at
/// 5 bits per channel; each bin keeps the exact 8-bit sums, so palette colours are exact means.
struct MedianCutPalette {
    /// Palette colours as (r, g, b).
    private(set) var colours: [(UInt8, UInt8, UInt8)] = []
    /// For each 15-bit colour bin, its palette index.
    private var binToIndex: [UInt8]

    /// Fits a palette of at most `maxColours` (1...256) colours to the RGB pixels of `video`, looking at
    /// no more than about a million pixels (evenly strided) for large clips.
    init(fitting video: RGBVideo, maxColours: Int = 256) {
        let maxColours = min(256, max(1, maxColours))
        let pixelCount = video.pixels.count / 3
        let step = max(1, pixelCount / 1_000_000)
        var counts = [Int](repeating: 0, count: 32768)
        var sums = [Int](repeating: 0, count: 32768 * 3)
        video.pixels.withUnsafeBufferPointer { p in
            var i = 0
            while i < pixelCount {
                let r = Int(p[i * 3]), g = Int(p[i * 3 + 1]), b = Int(p[i * 3 + 2])
                let bin = (r >> 3) << 10 | (g >> 3) << 5 | (b >> 3)
                counts[bin] += 1
                sums[bin * 3] += r; sums[bin * 3 + 1] += g; sums[bin * 3 + 2] += b
                i += step
            }
        }
        let used = (0..<32768).filter { counts[$0] > 0 }
        var boxes: [Box] = used.isEmpty ? [] : [Box(used)]
        while boxes.count < maxColours {
            // The box with the widest channel range that can still be split.
            var best = -1
            for (n, box) in boxes.enumerated() where box.bins.count > 1 && box.range > 0 {
                if best < 0 || box.range > boxes[best].range { best = n }
            }
            guard best >= 0 else { break }
            let shift = (2 - boxes[best].channel) * 5
            let sorted = boxes[best].bins.sorted { ($0 >> shift) & 31 < ($1 >> shift) & 31 }
            let total = sorted.reduce(0) { $0 + counts[$1] }
            var running = 0, cut = 1
            for (k, bin) in sorted.enumerated() {
                running += counts[bin]
                if running * 2 >= total { cut = k + 1; break }
            }
            cut = min(max(cut, 1), sorted.count - 1)
            boxes[best] = Box(Array(sorted[..<cut]))
            boxes.append(Box(Array(sorted[cut...])))
        }
        colours = boxes.map { box in
            var n = 0, r = 0, g = 0, b = 0
            for bin in box.bins { n += counts[bin]; r += sums[bin * 3]; g += sums[bin * 3 + 1]; b += sums[bin * 3 + 2] }
            return (UInt8((r + n / 2) / n), UInt8((g + n / 2) / n), UInt8((b + n / 2) / n))
        }
        if colours.isEmpty { colours = [(0, 0, 0)] }
        // Every bin the clip uses (sampled or not) maps to its nearest palette colour, by the bin's centre.
        var present = [Bool](repeating: false, count: 32768)
        video.pixels.withUnsafeBufferPointer { p in
            for i in 0..<pixelCount {
                present[Int(p[i * 3] >> 3) << 10 | Int(p[i * 3 + 1] >> 3) << 5 | Int(p[i * 3 + 2] >> 3)] = true
            }
        }
        binToIndex = [UInt8](repeating: 0, count: 32768)
        let palette = colours.map { (Int($0.0), Int($0.1), Int($0.2)) }
        binToIndex.withUnsafeMutableBufferPointer { table in
            for bin in 0..<32768 where present[bin] {
                let r = ((bin >> 10) & 31) << 3 | 4, g = ((bin >> 5) & 31) << 3 | 4, b = (bin & 31) << 3 | 4
                var nearest = 0, nearestDistance = Int.max
                for (index, colour) in palette.enumerated() {
                    let dr = r - colour.0, dg = g - colour.1, db = b - colour.2
                    // Green weighs most and blue least, roughly as the eye does.
                    let distance = 3 * dr * dr + 4 * dg * dg + 2 * db * db
                    if distance < nearestDistance { nearestDistance = distance; nearest = index }
                }
                table[bin] = UInt8(nearest)
            }
        }
    }

    /// Maps `count` RGB pixels at `rgb` to palette indices at `indices`.
    func map(_ rgb: UnsafePointer<UInt8>, count: Int, into indices: UnsafeMutablePointer<UInt8>) {
        binToIndex.withUnsafeBufferPointer { table in
            for i in 0..<count {
                indices[i] = table[Int(rgb[i * 3] >> 3) << 10 | Int(rgb[i * 3 + 1] >> 3) << 5 | Int(rgb[i * 3 + 2] >> 3)]
            }
        }
    }

    /// A set of 15-bit colour bins and the channel along which it spreads most.
    private struct Box {
        let bins: [Int]
        let channel: Int
        let range: Int

        init(_ bins: [Int]) {
            self.bins = bins
            var low = (31, 31, 31), high = (0, 0, 0)
            for bin in bins {
                let r = (bin >> 10) & 31, g = (bin >> 5) & 31, b = bin & 31
                low = (min(low.0, r), min(low.1, g), min(low.2, b))
                high = (max(high.0, r), max(high.1, g), max(high.2, b))
            }
            let ranges = [high.0 - low.0, high.1 - low.1, high.2 - low.2]
            var channel = 0
            for c in 1..<3 where ranges[c] > ranges[channel] { channel = c }
            self.channel = channel
            range = ranges[channel]
        }
    }
}
