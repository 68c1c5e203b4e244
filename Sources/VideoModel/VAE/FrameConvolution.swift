import TensorCore

/// The weights of one convolution exactly as PyTorch stores them, [Cout][Cin][kt][kh][kw] (kt = 1 for a
/// Conv2d), which read row-major is already the GEMM operand A [Cout x K], K = Cin·kt·kh·kw.
struct ConvWeights {
    let outChannels: Int
    let inChannels: Int
    let kt: Int, kh: Int, kw: Int
    let weight: FloatBuffer
    let bias: FloatBuffer
    var k: Int { inChannels * kt * kh * kw }
    /// 2·Cout·K: the FLOPs of one output position.
    var flopsPerPosition: Double { 2 * Double(outChannels) * Double(k) }
}

/// Where a per-frame convolution reads and how its output plane is laid out. The input plane is seen
/// through a nearest `upsample` (1 or 2; the upsamplers' 2x interpolation is folded into the im2col, so
/// the enlarged input is never stored) and zero padding: `padTop`/`padLeft` before, and whatever lies
/// past the last row/column (the downsampler's right/bottom pad) reads as zero.
struct ConvGeometry {
    var inHeight: Int, inWidth: Int
    var upsample: Int = 1
    var stride: Int = 1
    var padTop: Int, padLeft: Int
    var outHeight: Int, outWidth: Int
}

/// Memory each worker may spend on its im2col block (floats, 128 MB). The whole clip's im2col is never
/// held; a block covers about `gemmColumns` output positions when the budget allows.
let im2colBudget = 32 << 20
/// Output positions per GEMM to aim for: OpenBLAS reaches ~80 GFLOP/s per core here from about 2k
/// columns (~68 at 720, ~60 at 540 with K = 13824).
let gemmColumns = 2048

extension ConvWeights {
    /// Runs the convolution for every output frame: output frame `t` reads input frames
    /// `inputs[t + dt]`, dt in 0..<kt (each a [Cin][H][W] block), and is written to `outputs[t]`
    /// ([Cout][outHeight][outWidth]). Work is cut into (frame, block of output rows) tasks spread over the
    /// workers; each builds the im2col of its rows and runs one single-threaded GEMM into the output.
    func apply(inputs: [UnsafePointer<Float>], geometry g: ConvGeometry, outputs: [UnsafeMutablePointer<Float>]) {
        let nOut = outputs.count
        precondition(inputs.count >= nOut + kt - 1, "convolution: \(inputs.count) input frames for \(nOut) outputs")
        if nOut == 0 { return }
        let K = k, Wo = g.outWidth, Ho = g.outHeight
        let pointwise = kt == 1 && kh == 1 && kw == 1 && g.stride == 1 && g.upsample == 1
            && g.padTop == 0 && g.padLeft == 0 && g.inHeight == Ho && g.inWidth == Wo
        // Rows per task: as many as the im2col budget allows, but enough tasks for every worker.
        let wanted = (gemmColumns + Wo - 1) / Wo
        var rows = pointwise ? max(1, min(Ho, (1 << 20) / max(1, Wo)))
            : max(1, min(Ho, wanted, im2colBudget / max(1, K * Wo)))
        let wantTasks = Compute.threads
        if nOut * ((Ho + rows - 1) / rows) < wantTasks {
            let blocksPerFrame = (wantTasks + nOut - 1) / nOut
            rows = max(1, min(rows, (Ho + blocksPerFrame - 1) / blocksPerFrame))
        }
        let blocks = (Ho + rows - 1) / rows
        let tasks = nOut * blocks
        let ins = inputs.map { SendablePointer($0) }
        let outs = outputs.map { SendablePointer($0) }
        let wp = SendablePointer(weight.p), bp = SendablePointer(bias.p)
        let plane = g.inHeight * g.inWidth, outPlane = Ho * Wo
        parallelChunks(tasks) { _, lo, hi in
            let col: UnsafeMutablePointer<Float>? = pointwise ? nil : .allocate(capacity: K * rows * Wo)
            defer { col?.deallocate() }
            for task in lo..<hi {
                let t = task / blocks, rb = task % blocks
                let y0 = rb * rows, y1 = min(Ho, y0 + rows)
                let n = (y1 - y0) * Wo
                let c = outs[t].p + y0 * Wo
                if let col {
                    im2col(inputs: ins, frame: t, geometry: g, rows: y0..<y1, into: col)
                    sgemm(m: outChannels, n: n, k: K, a: wp.p, lda: K, b: col, ldb: n, c: c, ldc: outPlane)
                } else {
                    sgemm(m: outChannels, n: n, k: K, a: wp.p, lda: K, b: ins[t].p + y0 * Wo, ldb: plane, c: c, ldc: outPlane)
                }
                for co in 0..<outChannels {
                    let b = bp[co], row = c + co * outPlane
                    for i in 0..<n { row[i] += b }
                }
            }
        }
    }

    /// Fills `col` [K][rows·Wo] for output frame `t`, output rows `rows`.
    private func im2col(inputs: [SendablePointer<Float>], frame t: Int, geometry g: ConvGeometry,
                        rows: Range<Int>, into col: UnsafeMutablePointer<Float>) {
        let Wo = g.outWidth, n = rows.count * Wo
        let u = g.upsample, s = g.stride
        let Hv = g.inHeight * u, Wv = g.inWidth * u
        let plane = g.inHeight * g.inWidth
        var kIndex = 0
        for ci in 0..<inChannels {
            for dt in 0..<kt {
                let src = inputs[t + dt].p + ci * plane
                for dy in 0..<kh {
                    for dx in 0..<kw {
                        let dst = col + kIndex * n
                        kIndex += 1
                        // Output columns whose input column lies inside the (virtual) plane.
                        let off = dx - g.padLeft
                        var lo = 0
                        while lo < Wo && lo * s + off < 0 { lo += 1 }
                        var hi = Wo
                        while hi > lo && (hi - 1) * s + off >= Wv { hi -= 1 }
                        for (r, oy) in rows.enumerated() {
                            let out = dst + r * Wo
                            let iy = oy * s + dy - g.padTop
                            if iy < 0 || iy >= Hv {
                                out.update(repeating: 0, count: Wo)
                                continue
                            }
                            let line = src + (iy / u) * g.inWidth
                            if lo > 0 { out.update(repeating: 0, count: lo) }
                            if hi < Wo { (out + hi).update(repeating: 0, count: Wo - hi) }
                            if hi <= lo { continue }
                            if s == 1 && u == 1 {
                                (out + lo).update(from: line + lo + off, count: hi - lo)
                            } else if u == 1 {
                                for ox in lo..<hi { out[ox] = line[ox * s + off] }
                            } else {
                                for ox in lo..<hi { out[ox] = line[(ox * s + off) / u] }
                            }
                        }
                    }
                }
            }
        }
    }
}
