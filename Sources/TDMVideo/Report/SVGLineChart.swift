import Foundation

/// A line chart written as a standalone SVG document: training losses and evaluation scores over steps.
/// SVG keeps the report self-contained (it can be inlined in HTML or opened alone) and needs no plotting
/// library. Points that are not finite, or not positive on a log axis, are dropped rather than drawn.
public struct SVGLineChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool
    public var series: [Series]

    /// Distinguishable on white and for common colour-vision deficiencies (Okabe–Ito).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.series = series
    }

    /// The points that can be drawn, per series.
    func drawable() -> [[(x: Double, y: Double)]] {
        series.map { s in s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) } }
    }

    public func svg(width: Int = 640, height: Int = 320) -> String {
        let left = 64.0, right = 16.0, top = 32.0, bottom = 48.0
        let w = Double(width), h = Double(height)
        let plotW = w - left - right, plotH = h - top - bottom
        let data = drawable()
        let all = data.flatMap { $0 }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(fmt(w / 2))" y="20" text-anchor="middle" font-size="14">\(Self.escape(title))</text>

            """
        guard let x0 = all.map(\.x).min(), let x1 = all.map(\.x).max(),
              let yMin = all.map(\.y).min(), let yMax = all.map(\.y).max() else {
            out += "<text x=\"\(fmt(w / 2))\" y=\"\(fmt(h / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n</svg>\n"
            return out
        }
        let tx = { (v: Double) in self.logY ? log10(v) : v }
        var ya = tx(yMin), yb = tx(yMax)
        if yb - ya < 1e-12 { ya -= 0.5; yb += 0.5 }
        let pad = 0.04 * (yb - ya)
        ya -= pad; yb += pad
        let xa = x0, xb = x1 > x0 ? x1 : x0 + 1
        func px(_ x: Double) -> Double { left + (x - xa) / (xb - xa) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (tx(y) - ya) / (yb - ya)) * plotH }

        // Axes, grid and ticks.
        out += "<g stroke=\"#ddd\" stroke-width=\"1\">\n"
        let yTicks = logY ? Self.logTicks(ya, yb) : Self.niceTicks(ya, yb).map { $0 }
        for t in yTicks {
            let y = logY ? top + (1 - (log10(t) - ya) / (yb - ya)) * plotH : top + (1 - (t - ya) / (yb - ya)) * plotH
            out += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotW))\" y2=\"\(fmt(y))\"/>\n"
        }
        out += "</g>\n<g fill=\"#333\">\n"
        for t in yTicks {
            let y = logY ? top + (1 - (log10(t) - ya) / (yb - ya)) * plotH : top + (1 - (t - ya) / (yb - ya)) * plotH
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        for t in Self.niceTicks(xa, xb) {
            out += "<text x=\"\(fmt(px(t)))\" y=\"\(fmt(top + plotH + 16))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        out += """
            <text x="\(fmt(left + plotW / 2))" y="\(fmt(h - 8))" text-anchor="middle">\(Self.escape(xLabel))</text>
            <text transform="translate(14 \(fmt(top + plotH / 2))) rotate(-90)" text-anchor="middle">\(Self.escape(yLabel))</text>
            </g>
            <rect x="\(fmt(left))" y="\(fmt(top))" width="\(fmt(plotW))" height="\(fmt(plotH))" fill="none" stroke="#999"/>

            """
        // Lines and legend.
        for (i, pts) in data.enumerated() where !pts.isEmpty {
            let colour = Self.palette[i % Self.palette.count]
            let list = pts.map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
            if pts.count == 1 {
                out += "<circle cx=\"\(fmt(px(pts[0].x)))\" cy=\"\(fmt(py(pts[0].y)))\" r=\"3\" fill=\"\(colour)\"/>\n"
            } else {
                out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(list)\"/>\n"
            }
            let ly = top + 14 + Double(i) * 16
            out += "<line x1=\"\(fmt(left + plotW - 150))\" y1=\"\(fmt(ly - 4))\" x2=\"\(fmt(left + plotW - 132))\" y2=\"\(fmt(ly - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(fmt(left + plotW - 126))\" y=\"\(fmt(ly))\">\(Self.escape(series[i].name))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// About five round-valued ticks inside [a, b] (steps of 1, 2 or 5 times a power of ten).
    static func niceTicks(_ a: Double, _ b: Double) -> [Double] {
        guard b > a else { return [a] }
        let raw = (b - a) / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = ceil(a / step) * step, ticks: [Double] = []
        while t <= b + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }

    /// Decades (and 2x, 5x when few decades are shown) inside [10^a, 10^b].
    static func logTicks(_ a: Double, _ b: Double) -> [Double] {
        let few = b - a < 2
        var ticks: [Double] = []
        for e in Int(floor(a))...Int(ceil(b)) {
            for m in few ? [1.0, 2, 5] : [1.0] {
                let v = m * pow(10, Double(e))
                if log10(v) >= a && log10(v) <= b { ticks.append(v) }
            }
        }
        return ticks
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 10_000 { return String(format: "%.0fk", v / 1000) }
        if a >= 100 { return String(format: "%.0f", v) }
        if a >= 1 { return String(format: "%g", (v * 100).rounded() / 100) }
        return String(format: "%.2g", v)
    }

    private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }
}

/// Loss curves read from a run's JSONL log (`train_log.jsonl` or `distill_log.jsonl`).
public enum LossCurves {
    /// One series per key that appears with a number in the log; skipped-step records and negative values
    /// (the log's "not measured" marker for scores) are ignored.
    public static func chart(log url: URL, keys: [String], title: String, yLabel: String = "loss",
                             logY: Bool = true) -> SVGLineChart {
        let records = TrainingLog.read(url)
        let series = keys.map { key in
            SVGLineChart.Series(name: key.replacingOccurrences(of: "_", with: " "), points: records.compactMap { r in
                guard let s = (r["step"] as? NSNumber)?.doubleValue, let v = (r[key] as? NSNumber)?.doubleValue,
                      v >= 0, r["skipped"] == nil else { return nil }
                return (s, v)
            })
        }.filter { !$0.points.isEmpty }
        return SVGLineChart(title: title, xLabel: "step", yLabel: yLabel, logY: logY, series: series)
    }

    /// The curves a distillation run logs: both losses, and the periodic held-out and validation scores if any.
    public static func distillSVGs(log url: URL) -> (losses: String, eval: String?) {
        let losses = chart(log: url, keys: ["generator_loss", "fake_loss"], title: "TDM losses").svg()
        let eval = chart(log: url, keys: ["eval_total", "eval_quality", "eval_semantic", "val_total"],
                         title: "Student on the held-out (eval) and validation (val) suites (VBenchLite)", yLabel: "score (0-1)", logY: false)
        return (losses, eval.series.isEmpty ? nil : eval.svg())
    }
}
