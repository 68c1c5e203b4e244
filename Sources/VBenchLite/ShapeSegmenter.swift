import VideoCommon
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
///    (object colour − background) (on luma alone when luma separates them by 40 levels or more, since
///    codecs halve chroma resolution), so soft edges count fractionally.
/// 4. The shape is the ideal template (circle, square, diamond, triangle) that, centred on the
///    coverage centroid and scaled to the coverage area, differs least from the coverage map. A fill
///    ratio alone (square 1.0, circle π/4, triangle and diamond 0.5) proved too fragile on 10-pixel
///    shapes from compressed 32x32 clips: it is kept in the detection as evidence only.
struct ShapeSegmenter {
    /// The world's shapes (its vocabulary).
    static let shapes = WorldShape.allCases.map(\.rawValue)

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
        @inline(__always) func luma(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.299 * r + 0.587 * g + 0.114 * b }
        for y in by0...by1 {
            for x in bx0...bx1 {
                let i = y * w + x
                guard owner[i] == r || owner[i] < 0 else { continue }
                let d0 = oc.0 - bgColor[i], d1 = oc.1 - bgColor[n + i], d2 = oc.2 - bgColor[2 * n + i]
                let den = d0 * d0 + d1 * d1 + d2 * d2
                guard den > 1 else { continue }
                let p0 = f.data[i] - bgColor[i], p1 = f.data[n + i] - bgColor[n + i], p2 = f.data[2 * n + i] - bgColor[2 * n + i]
                // Luma alone where it separates object and background well: video codecs keep luma at
                // full resolution but halve chroma, which would smear the edges of a colour projection.
                let dl = luma(d0, d1, d2)
                var a = abs(dl) >= 40 ? luma(p0, p1, p2) / dl : (p0 * d0 + p1 * d1 + p2 * d2) / den
                a = min(1, max(0, a))
                if owner[i] < 0 && a < 0.2 { a = 0 }
                if owner[i] == r && a < 0.08 { a = 0 }
                alpha[(y - by0) * bw + x - bx0] = a
                area += Double(a); sx += Double(a) * Double(x); sy += Double(a) * Double(y)
            }
        }
        guard area > 0 else { return nil }
        var colMax = [Float](repeating: 0, count: bw), rowMax = [Float](repeating: 0, count: bh)
        for y in 0..<bh {
            for x in 0..<bw {
                let a = alpha[y * bw + x]
                colMax[x] = max(colMax[x], a); rowMax[y] = max(rowMax[y], a)
            }
        }
        let softW = Double(colMax.reduce(0, +)), softH = Double(rowMax.reduce(0, +))
        let fill = area / max(1e-6, softW * softH)
        let shape = classify(alpha: alpha, width: bw, height: bh, area: area,
                             centroid: (sx / area - Double(bx0) + 0.5, sy / area - Double(by0) + 0.5))
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

    /// The shape whose ideal anti-aliased template, centred on the blob's centroid and scaled to its
    /// coverage area, differs least from the coverage map (Σ|α − template| over the box). Area and
    /// centroid survive blur and compression, so the template needs no other fitted parameter.
    /// Triangles are tried equilateral and isosceles (base = height), pointing up and down.
    static func classify(alpha: [Float], width bw: Int, height bh: Int, area: Double, centroid c: (Double, Double)) -> String {
        var best = ("circle", Double.infinity)
        for (name, variant) in templates {
            var err = 0.0
            for y in 0..<bh {
                for x in 0..<bw {
                    var cover = 0
                    for sy in 0..<4 {
                        for sx in 0..<4 {
                            let px = Double(x) + (Double(sx) + 0.5) / 4 - c.0, py = Double(y) + (Double(sy) + 0.5) / 4 - c.1
                            if inside(variant, px, py, area) { cover += 1 }
                        }
                    }
                    err += abs(Double(alpha[y * bw + x]) - Double(cover) / 16)
                }
            }
            if err < best.1 { best = (name, err) }
        }
        return best.0
    }

    static let templates: [(String, Int)] = [("circle", 0), ("square", 1), ("diamond", 2), ("triangle", 3), ("triangle", 4),
                                              ("triangle", 5), ("triangle", 6)]

    /// Whether (x, y), relative to the shape's centroid, lies inside template `variant` of area `a`.
    @inline(__always)
    static func inside(_ variant: Int, _ x: Double, _ y: Double, _ a: Double) -> Bool {
        switch variant {
        case 0:
            return x * x + y * y <= a / Double.pi
        case 1:
            let s = a.squareRoot() / 2
            return abs(x) <= s && abs(y) <= s
        case 2:
            return abs(x) + abs(y) <= (a / 2).squareRoot()
        default:
            // Triangles with a horizontal base: half-base b, height t, centroid t/3 above the base.
            let equilateral = variant <= 4
            let up = variant == 3 || variant == 5
            let t: Double, b: Double
            if equilateral { t = (a * 3.0.squareRoot()).squareRoot(); b = t / 3.0.squareRoot() } else { t = (2 * a).squareRoot(); b = t / 2 }
            let yy = up ? y : -y
            // Base at yy = t/3, apex at yy = -2t/3.
            guard yy <= t / 3, yy >= -2 * t / 3 else { return false }
            return abs(x) <= b * (yy + 2 * t / 3) / t
        }
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
