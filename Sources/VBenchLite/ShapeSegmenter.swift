/// One object found in a frame by `ShapeSegmenter`.
struct DetectedObject: Sendable {
    /// One of `ColorNaming.allNames`.
    var color: String
    /// "circle", "square", "triangle" or "diamond".
    var shape: String
    /// Box [x0, y0, x1, y1) in pixels, from the pixels at least half covered.
    var box: (Double, Double, Double, Double)
    /// Coverage-weighted centroid.
    var centroid: (Double, Double)
    /// Coverage-weighted area in pixels.
    var area: Double
    /// Shape features, kept for reports and tests.
    var fill: Double
}

/// Finds the coloured shapes of a frame: VBenchLite's stand-in for GRiT's object detector on the
/// embedded world (coloured circles, squares, triangles and diamonds on plain, gradient or softly
/// textured backgrounds).
///
/// 1. `BackgroundModel` gives each pixel's expected background colour; pixels far from it (L1 RGB
///    distance above max(30, 4σ)) are foreground.
/// 2. Foreground pixels are named with `ColorNaming`; connected regions of one name (8-connected) that
///    have an interior (pixels whose eight neighbours share the region) are objects. Thin regions, the
///    mixed colours of anti-aliased or blurred edges, join the neighbouring object.
/// 3. Each object's coverage α per pixel is the projection of (pixel − background) on
///    (object colour − background), so soft edges count fractionally. Soft extents (Σ per-column max α,
///    Σ per-row max α) and the α-area give the fill ratio: a square ≈ 1.0, a circle ≈ π/4 ≈ 0.785,
///    a triangle or diamond ≈ 0.5. Triangles and diamonds differ by their width profiles: a diamond's row
///    and column widths both peak in the middle, a triangle's widths grow monotonically along one axis.
struct ShapeSegmenter {
    static let shapes = ["circle", "square", "triangle", "diamond"]

    static func detect(_ f: FramePlanes) -> (objects: [DetectedObject], background: BackgroundModel) {
        let bg = BackgroundModel.fit(f)
        let w = f.width, h = f.height, n = w * h
        let cut = max(30, 4 * bg.sigma)
        var names = [Int8](repeating: -1, count: n)
        var bgColor = [Float](repeating: 0, count: 3 * n)
        f.data.withUnsafeBufferPointer { p in
            for y in 0..<h {
                for x in 0..<w {
                    let i = y * w + x
                    let b0 = bg.value(0, x, y), b1 = bg.value(1, x, y), b2 = bg.value(2, x, y)
                    bgColor[i] = b0; bgColor[n + i] = b1; bgColor[2 * n + i] = b2
                    let d = abs(p[i] - b0) + abs(p[n + i] - b1) + abs(p[2 * n + i] - b2)
                    if d > cut { names[i] = Int8(ColorNaming.index(p[i], p[n + i], p[2 * n + i])) }
                }
            }
        }
        // Connected regions of one colour name.
        var label = [Int32](repeating: -1, count: n)
        var regions: [[Int]] = []
        var stack: [Int] = []
        for start in 0..<n where names[start] >= 0 && label[start] < 0 {
            let id = Int32(regions.count)
            var members: [Int] = []
            stack.append(start)
            label[start] = id
            while let i = stack.popLast() {
                members.append(i)
                let x = i % w, y = i / w
                for dy in -1...1 {
                    for dx in -1...1 where dx != 0 || dy != 0 {
                        let xx = x + dx, yy = y + dy
                        guard xx >= 0, yy >= 0, xx < w, yy < h else { continue }
                        let j = yy * w + xx
                        if label[j] < 0 && names[j] == names[start] { label[j] = id; stack.append(j) }
                    }
                }
            }
            regions.append(members)
        }
        let minArea = max(6, n / 250)
        var isObject = [Bool](repeating: false, count: regions.count)
        for (r, members) in regions.enumerated() where members.count >= minArea {
            var interior = 0
            for i in members {
                let x = i % w, y = i / w
                guard x > 0, y > 0, x < w - 1, y < h - 1 else { continue }
                var all = true
                for dy in -1...1 { for dx in -1...1 where label[(y + dy) * w + x + dx] != Int32(r) { all = false } }
                if all { interior += 1 }
            }
            isObject[r] = interior >= max(2, minArea / 6)
        }
        // Edge fringes join an adjacent object (a few passes cover blur of a couple of pixels).
        var owner = [Int32](repeating: -1, count: n)
        for i in 0..<n where label[i] >= 0 && isObject[Int(label[i])] { owner[i] = label[i] }
        for _ in 0..<3 {
            var changed = false
            var next = owner
            for i in 0..<n where names[i] >= 0 && owner[i] < 0 {
                let x = i % w, y = i / w
                search: for dy in -1...1 {
                    for dx in -1...1 {
                        let xx = x + dx, yy = y + dy
                        guard xx >= 0, yy >= 0, xx < w, yy < h else { continue }
                        let o = owner[yy * w + xx]
                        if o >= 0 { next[i] = o; changed = true; break search }
                    }
                }
            }
            owner = next
            if !changed { break }
        }
        var objects: [DetectedObject] = []
        for (r, members) in regions.enumerated() where isObject[r] {
            if let obj = describe(region: Int32(r), core: members, owner: owner, frame: f, bgColor: bgColor,
                                  colorIndex: Int(names[members[0]])) {
                objects.append(obj)
            }
        }
        objects.sort { $0.area > $1.area }
        return (objects, bg)
    }

    private static func describe(region r: Int32, core: [Int], owner: [Int32], frame f: FramePlanes,
                                 bgColor: [Float], colorIndex: Int) -> DetectedObject? {
        let w = f.width, h = f.height, n = w * h
        // Object colour: mean of the core pixels.
        var oc: (Float, Float, Float) = (0, 0, 0)
        for i in core { oc.0 += f.data[i]; oc.1 += f.data[n + i]; oc.2 += f.data[2 * n + i] }
        let cn = Float(core.count)
        oc = (oc.0 / cn, oc.1 / cn, oc.2 / cn)
        var x0 = w, y0 = h, x1 = -1, y1 = -1
        for i in 0..<n where owner[i] == r {
            x0 = min(x0, i % w); x1 = max(x1, i % w); y0 = min(y0, i / w); y1 = max(y1, i / w)
        }
        guard x1 >= x0 else { return nil }
        // Coverage over the owned pixels plus a one-pixel margin of unowned ones.
        let bx0 = max(0, x0 - 1), by0 = max(0, y0 - 1), bx1 = min(w - 1, x1 + 1), by1 = min(h - 1, y1 + 1)
        let bw = bx1 - bx0 + 1, bh = by1 - by0 + 1
        var alpha = [Float](repeating: 0, count: bw * bh)
        var area = 0.0, sx = 0.0, sy = 0.0
        for y in by0...by1 {
            for x in bx0...bx1 {
                let i = y * w + x
                guard owner[i] == r || owner[i] < 0 else { continue }
                let d0 = oc.0 - bgColor[i], d1 = oc.1 - bgColor[n + i], d2 = oc.2 - bgColor[2 * n + i]
                let den = d0 * d0 + d1 * d1 + d2 * d2
                guard den > 1 else { continue }
                let p0 = f.data[i] - bgColor[i], p1 = f.data[n + i] - bgColor[n + i], p2 = f.data[2 * n + i] - bgColor[2 * n + i]
                var a = (p0 * d0 + p1 * d1 + p2 * d2) / den
                a = min(1, max(0, a))
                if owner[i] < 0 && a < 0.2 { a = 0 }
                if owner[i] == r && a < 0.08 { a = 0 }
                alpha[(y - by0) * bw + x - bx0] = a
                area += Double(a); sx += Double(a) * Double(x); sy += Double(a) * Double(y)
            }
        }
        guard area > 0 else { return nil }
        var colMax = [Float](repeating: 0, count: bw), rowMax = [Float](repeating: 0, count: bh)
        var rowSum = [Float](repeating: 0, count: bh), colSum = [Float](repeating: 0, count: bw)
        for y in 0..<bh {
            for x in 0..<bw {
                let a = alpha[y * bw + x]
                colMax[x] = max(colMax[x], a); rowMax[y] = max(rowMax[y], a)
                rowSum[y] += a; colSum[x] += a
            }
        }
        let softW = Double(colMax.reduce(0, +)), softH = Double(rowMax.reduce(0, +))
        let fill = area / max(1e-6, softW * softH)
        var shape: String
        if fill >= 0.885 {
            shape = "square"
        } else if fill >= 0.655 {
            shape = "circle"
        } else {
            let rowPeak = peakPosition(rowSum, rowMax), colPeak = peakPosition(colSum, colMax)
            let central: (Double) -> Bool = { $0 > 0.25 && $0 < 0.75 }
            shape = central(rowPeak) && central(colPeak) ? "diamond" : "triangle"
        }
        let hx = colMax.indices.filter { colMax[$0] >= 0.5 }, hy = rowMax.indices.filter { rowMax[$0] >= 0.5 }
        let box: (Double, Double, Double, Double)
        if let a = hx.first, let b = hx.last, let c = hy.first, let d = hy.last {
            box = (Double(bx0 + a), Double(by0 + c), Double(bx0 + b + 1), Double(by0 + d + 1))
        } else {
            box = (Double(x0), Double(y0), Double(x1 + 1), Double(y1 + 1))
        }
        return DetectedObject(color: ColorNaming.allNames[colorIndex], shape: shape, box: box,
                              centroid: (sx / area, sy / area), area: area, fill: fill)
    }

    /// Relative position (0 = first, 1 = last) of the widest part of a profile, over the lines that are
    /// at least half covered: the centroid of the lines within 90 % of the maximum width.
    private static func peakPosition(_ sums: [Float], _ maxima: [Float]) -> Double {
        let idx = sums.indices.filter { maxima[$0] >= 0.5 }
        guard let first = idx.first, let last = idx.last, last > first else { return 0.5 }
        let top = idx.map { sums[$0] }.max() ?? 0
        var s = 0.0, c = 0.0
        for i in idx where sums[i] >= 0.9 * top { s += Double(i); c += 1 }
        return (s / c - Double(first)) / Double(last - first)
    }

    /// Parses an object phrase of the world ("circle", "red circle", "a red circle") into the shape and
    /// optional colour it names; nil when it names none of the world's shapes.
    static func parseObject(_ text: String) -> (shape: String, color: String?)? {
        let words = text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
        guard let shape = words.first(where: { shapes.contains($0) }) else { return nil }
        return (shape, ColorNaming.colorWord(in: text))
    }
}

extension DetectedObject {
    func matches(shape: String, color: String?) -> Bool {
        self.shape == shape && (color == nil || self.color == color)
    }
}
