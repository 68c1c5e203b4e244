/// Dense per-pixel motion by window SAD over a candidate set, coarse-to-fine: VBenchLite's stand-in
/// for the RAFT flow (dynamic degree, static filter) and the AMT interpolator's motion (motion
/// smoothness) that VBench runs on a GPU (docs/vbench.md §4).
///
/// For every candidate displacement the absolute RGB difference image is box-filtered with an
/// integral image, so each pixel picks the candidate whose (2r+1)² window matches best. A small
/// penalty per pixel of displacement keeps flat regions at zero motion. One coarse level (2x box
/// downsample, full search) proposes the candidates that the full-resolution level refines by ±1 px,
/// which keeps the search cheap while still finding large displacements.
struct MotionSearch {
    enum Mode {
        /// `a(p)` against `b(p + d)`: flow from a to b.
        case forward
        /// `a(p - d/2)` against `b(p + d/2)`: the symmetric motion through the midpoint of a and b,
        /// with half-pixel reads where d is odd.
        case bilateral
    }

    /// Maximum displacement (full-resolution pixels) per axis.
    var radius: Int
    var mode: Mode
    /// Window radius of the SAD box.
    var windowRadius = 2
    /// Cost per pixel of displacement, per window pixel (RGB sum scale, 0...765).
    var penalty: Float = 1.0

    /// The per-pixel result of a search.
    struct Field {
        let width: Int
        let height: Int
        var dx: [Float]
        var dy: [Float]
        /// Integer part of the chosen displacement.
        var ix: [Int32]
        var iy: [Int32]
        /// Mean absolute RGB difference (0...765) over the window for the chosen displacement.
        var cost: [Float]
    }

    func run(_ a: FramePlanes, _ b: FramePlanes) -> Field {
        let w = a.width, h = a.height
        var candidates: [(Int, Int)] = []
        if min(w, h) >= 32 && radius >= 4 {
            let coarseSearch = MotionSearch(radius: (radius + 1) / 2, mode: mode, windowRadius: 1,
                                            penalty: penalty)
            let ca = a.downsampled2x(), cb = b.downsampled2x()
            let coarse = coarseSearch.search(ca, cb, candidates: coarseSearch.fullCandidates(), subpixel: false)
            // Vectors chosen by a few coarse pixels or more become seeds at full resolution.
            var counts: [Int: Int] = [:]
            for i in 0..<coarse.ix.count {
                let key = Int(coarse.ix[i] + 64) * 256 + Int(coarse.iy[i] + 64)
                counts[key, default: 0] += 1
            }
            var set = Set<Int>()
            let minCount = 2
            func add(_ x: Int, _ y: Int) {
                guard abs(x) <= radius && abs(y) <= radius else { return }
                set.insert((x + 64) * 256 + (y + 64))
            }
            for (key, n) in counts where n >= minCount {
                let vx = key / 256 - 64, vy = key % 256 - 64
                for oy in -1...1 { for ox in -1...1 { add(2 * vx + ox, 2 * vy + oy) } }
            }
            for oy in -1...1 { for ox in -1...1 { add(ox, oy) } }
            candidates = set.sorted().map { ($0 / 256 - 64, $0 % 256 - 64) }
        } else {
            candidates = fullCandidates()
        }
        return search(a, b, candidates: candidates, subpixel: mode == .forward)
    }

    func fullCandidates() -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        for y in -radius...radius { for x in -radius...radius { out.append((x, y)) } }
        return out
    }

    /// Evaluates every candidate on every pixel and keeps the best; optional Lucas–Kanade sub-pixel
    /// refinement (`refine`).
    func search(_ a0: FramePlanes, _ b0: FramePlanes, candidates: [(Int, Int)], subpixel: Bool) -> Field {
        let w = a0.width, h = a0.height, n = w * h
        let maxShift = candidates.reduce(0) { max($0, abs($1.0), abs($1.1)) }
        let pad = maxShift / 2 + maxShift % 2 + 1 + (mode == .forward ? maxShift : 0)
        let a = a0.pad == pad ? a0 : a0.repadded(pad)
        let b = b0.pad == pad ? b0 : b0.repadded(pad)
        // Half-pixel variants only for the bilateral mode.
        let aV: [FramePlanes], bV: [FramePlanes]
        if mode == .bilateral {
            aV = [a, a.halfShifted(dx: true, dy: false), a.halfShifted(dx: false, dy: true),
                  a.halfShifted(dx: true, dy: true)]
            bV = [b, b.halfShifted(dx: true, dy: false), b.halfShifted(dx: false, dy: true),
                  b.halfShifted(dx: true, dy: true)]
        } else {
            aV = [a]
            bV = [b]
        }
        let r = windowRadius
        var bestCost = [Float](repeating: .infinity, count: n)
        var bestRaw = [Float](repeating: 0, count: n)
        var bestIndex = [Int32](repeating: 0, count: n)
        var diff = [Float](repeating: 0, count: n)
        var zeroCost = [Float](repeating: 0, count: n)
        var integral = [Float](repeating: 0, count: (w + 1) * (h + 1))
        var winArea = [Float](repeating: 0, count: n)
        for y in 0..<h {
            let y0 = max(0, y - r), y1 = min(h - 1, y + r)
            for x in 0..<w {
                let x0 = max(0, x - r), x1 = min(w - 1, x + r)
                winArea[y * w + x] = Float((y1 - y0 + 1) * (x1 - x0 + 1))
            }
        }
        let stride = a.stride, ps = a.planeSize
        for (ci, cand) in candidates.enumerated() {
            let (dx, dy) = cand
            // Which variant and integer offset each side reads.
            var va = 0, vb = 0, oax = 0, oay = 0, obx = 0, oby = 0
            switch mode {
            case .forward:
                obx = dx; oby = dy
            case .bilateral:
                // a at p - d/2, b at p + d/2. floor of a half-integer o, and whether o had a half.
                func split(_ twice: Int) -> (Int, Bool) {
                    // o = twice / 2
                    let fl = twice >= 0 ? twice / 2 : -((-twice + 1) / 2)
                    return (fl, twice - 2 * fl == 1)
                }
                let (ax, ahx) = split(-dx), (ay, ahy) = split(-dy)
                let (bx, bhx) = split(dx), (by, bhy) = split(dy)
                oax = ax; oay = ay; obx = bx; oby = by
                va = (ahx ? 1 : 0) + (ahy ? 2 : 0)
                vb = (bhx ? 1 : 0) + (bhy ? 2 : 0)
            }
            aV[va].data.withUnsafeBufferPointer { pa in
                bV[vb].data.withUnsafeBufferPointer { pb in
                    diff.withUnsafeMutableBufferPointer { d in
                        for y in 0..<h {
                            let rowA = (y + pad + oay) * stride + pad + oax
                            let rowB = (y + pad + oby) * stride + pad + obx
                            let o = y * w
                            for x in 0..<w {
                                d[o + x] = abs(pa[rowA + x] - pb[rowB + x])
                                    + abs(pa[ps + rowA + x] - pb[ps + rowB + x])
                                    + abs(pa[2 * ps + rowA + x] - pb[2 * ps + rowB + x])
                            }
                        }
                    }
                }
            }
            let pen = penalty * Float(abs(dx) + abs(dy))
            let isZero = dx == 0 && dy == 0
            diff.withUnsafeBufferPointer { d in
                integral.withUnsafeMutableBufferPointer { s in
                    let iw = w + 1
                    for y in 0..<h {
                        var run: Float = 0
                        for x in 0..<w {
                            run += d[y * w + x]
                            s[(y + 1) * iw + x + 1] = s[y * iw + x + 1] + run
                        }
                    }
                    bestCost.withUnsafeMutableBufferPointer { bc in
                        bestRaw.withUnsafeMutableBufferPointer { br in
                            bestIndex.withUnsafeMutableBufferPointer { bi in
                                winArea.withUnsafeBufferPointer { wa in
                                      zeroCost.withUnsafeMutableBufferPointer { zc in
                                        for y in 0..<h {
                                            let y0 = max(0, y - r), y1 = min(h, y + r + 1)
                                            for x in 0..<w {
                                                let x0 = max(0, x - r), x1 = min(w, x + r + 1)
                                                let sum = s[y1 * iw + x1] - s[y0 * iw + x1] - s[y1 * iw + x0] + s[y0 * iw + x0]
                                                let i = y * w + x
                                                let mean = sum / wa[i]
                                                if isZero { zc[i] = mean }
                                                let c = mean + pen
                                                if c < bc[i] { bc[i] = c; br[i] = mean; bi[i] = Int32(ci) }
                                            }
                                        }
                                      }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Keep a displacement only where it explains the pixels clearly better than no motion: the
        // gain over the zero-motion cost must exceed 0.75 of the frame's median matched cost (the
        // noise floor: what even the best match leaves), so sensor or codec noise on a still clip does
        // not read as motion, while a clean pan (matched cost near zero) keeps all its vectors.
        if let zi = candidates.firstIndex(where: { $0 == (0, 0) }) {
            let sortedBest = bestRaw.sorted()
            let floor: Float = sortedBest.isEmpty ? 0 : sortedBest[sortedBest.count / 2]
            let margin = max(penalty, 0.75 * floor)
            for i in 0..<n where Int(bestIndex[i]) != zi {
                if zeroCost[i] - bestRaw[i] < margin {
                    bestIndex[i] = Int32(zi)
                    bestRaw[i] = zeroCost[i]
                }
            }
        }
        var field = Field(width: w, height: h, dx: [Float](repeating: 0, count: n),
                          dy: [Float](repeating: 0, count: n), ix: [Int32](repeating: 0, count: n),
                          iy: [Int32](repeating: 0, count: n), cost: bestRaw)
        for i in 0..<n {
            let (cx, cy) = candidates[Int(bestIndex[i])]
            field.ix[i] = Int32(cx)
            field.iy[i] = Int32(cy)
            field.dx[i] = Float(cx)
            field.dy[i] = Float(cy)
        }
        if subpixel { refine(&field, a, b) }
        return field
    }

    /// One Lucas–Kanade step around each pixel's integer displacement, over the same window and the
    /// three colour planes together (an object of the background's brightness but another hue moves as
    /// visibly as any): δ = −M⁻¹·[ΣIxIt, ΣIyIt] with M = [ΣIx², ΣIxIy; ΣIxIy, ΣIy²] summed over R, G, B
    /// (each /3), It = B(p + d) − A(p). Unlike
    /// interpolating the SAD curve, this is unbiased (identical frames give exactly zero), which
    /// matters for VBench's thresholds and the camera fit. It also recovers sub-pixel motion on weak
    /// texture where the displacement penalty kept the integer search at zero. Steps beyond ±1 px or
    /// on flat windows (an ill-conditioned M) are not taken.
    private func refine(_ field: inout Field, _ a: FramePlanes, _ b: FramePlanes) {
        let w = field.width, h = field.height, n = w * h
        var ixx = [Float](repeating: 0, count: n), ixy = ixx, iyy = ixx, ixt = ixx, iyt = ixx
        let ps = a.planeSize
        for c in 0..<3 {
            let o = c * ps
            for y in 0..<h {
                for x in 0..<w {
                    let i = y * w + x
                    let gx = 0.5 * (a.data[o + a.index(min(w - 1, x + 1), y)] - a.data[o + a.index(max(0, x - 1), y)])
                    let gy = 0.5 * (a.data[o + a.index(x, min(h - 1, y + 1))] - a.data[o + a.index(x, max(0, y - 1))])
                    let bx = min(w - 1, max(0, x + Int(field.ix[i]))), by = min(h - 1, max(0, y + Int(field.iy[i])))
                    let it = b.data[o + b.index(bx, by)] - a.data[o + a.index(x, y)]
                    ixx[i] += gx * gx / 3; ixy[i] += gx * gy / 3; iyy[i] += gy * gy / 3
                    ixt[i] += gx * it / 3; iyt[i] += gy * it / 3
                }
            }
        }
        let r = windowRadius
        let sxx = MotionFacts.boxMean(ixx, w, h, r), sxy = MotionFacts.boxMean(ixy, w, h, r)
        let syy = MotionFacts.boxMean(iyy, w, h, r), sxt = MotionFacts.boxMean(ixt, w, h, r)
        let syt = MotionFacts.boxMean(iyt, w, h, r)
        for i in 0..<n {
            let det = sxx[i] * syy[i] - sxy[i] * sxy[i]
            let trace = sxx[i] + syy[i]
            guard trace > 1, det > 0.01 * trace * trace else { continue }
            let dx = -(syy[i] * sxt[i] - sxy[i] * syt[i]) / det
            let dy = -(sxx[i] * syt[i] - sxy[i] * sxt[i]) / det
            guard abs(dx) <= 1, abs(dy) <= 1 else { continue }
            field.dx[i] += dx
            field.dy[i] += dy
        }
    }
}
