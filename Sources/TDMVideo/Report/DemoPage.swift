import Foundation
import VBenchLite

/// The demo's `index.html`: clips side by side as HTML5 video, contact sheets, the per-dimension VBenchLite
/// table, loss curves (inline SVG), timings and the speed-up. One self-contained page next to its clips, so
/// the output folder can be opened, copied or served as it is.
public struct DemoPage {
    public struct Row {
        public var prompt: String
        /// Clip path relative to the page, per column (a missing column shows an empty cell).
        public var clips: [String: String]
        public init(prompt: String, clips: [String: String]) {
            self.prompt = prompt
            self.clips = clips
        }
    }

    public struct Timing {
        public var name: String
        public var nfe: Int
        public var secondsPerClip: Double
        public init(name: String, nfe: Int, secondsPerClip: Double) {
            self.name = name
            self.nfe = nfe
            self.secondsPerClip = secondsPerClip
        }
    }

    public var title = "tdm-video demo"
    public var subtitle = ""
    /// Column names in order, e.g. truth, teacher, student.
    public var columns: [String]
    public var rows: [Row]
    public var reports: [(name: String, report: ScoreReport)]
    public var timings: [Timing]
    public var notes: [String] = []
    public var figures: [(caption: String, svg: String)] = []
    public var images: [(caption: String, path: String)] = []

    public init(columns: [String], rows: [Row], reports: [(name: String, report: ScoreReport)], timings: [Timing]) {
        self.columns = columns
        self.rows = rows
        self.reports = reports
        self.timings = timings
    }

    /// Percent-encodes a relative path for an `src` attribute (prompts have spaces and commas).
    static func href(_ path: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }

    static func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", $0 * 100) } ?? "–" }

    public func html() -> String {
        let e = SVGLineChart.escape
        var h = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(e(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
            table { border-collapse: collapse; margin: 12px 0; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            video { width: 160px; height: 160px; image-rendering: pixelated; background: #000; }
            .clips td { text-align: center; vertical-align: top; }
            .prompt { max-width: 260px; text-align: left !important; }
            .muted { color: #666; }
            img.sheet { image-rendering: pixelated; max-width: 100%; }
            </style>
            </head>
            <body>
            <h1>\(e(title))</h1>
            <p>\(e(subtitle))</p>
            <p id="video-status" class="muted" data-ok="0" data-failed="0" data-total="0">checking clips…</p>

            """
        // Timings.
        if !timings.isEmpty {
            h += "<h2>Speed</h2>\n<table>\n<tr><th>model</th><th>network evaluations per clip</th><th>seconds per clip</th></tr>\n"
            for t in timings {
                h += "<tr><td>\(e(t.name))</td><td>\(t.nfe)</td><td>\(String(format: "%.3f", t.secondsPerClip))</td></tr>\n"
            }
            h += "</table>\n"
            if timings.count >= 2, timings[timings.count - 1].secondsPerClip > 0 {
                let s = timings[0].secondsPerClip / timings[timings.count - 1].secondsPerClip
                h += "<p>Speed-up of \(e(timings[timings.count - 1].name)) over \(e(timings[0].name)): <b>\(String(format: "%.1f", s))x</b></p>\n"
            }
        }
        for n in notes { h += "<p>\(e(n))</p>\n" }
        // Scores.
        if !reports.isEmpty {
            h += "<h2>VBenchLite scores (0–100)</h2>\n<table>\n<tr><th>dimension</th>"
            for r in reports { h += "<th>\(e(r.name))</th>" }
            h += "</tr>\n"
            func row(_ label: String, _ values: [Double?], bold: Bool = false) {
                h += "<tr><td>\(bold ? "<b>\(e(label))</b>" : e(label))</td>"
                for v in values { h += "<td>\(bold ? "<b>\(Self.pct(v))</b>" : Self.pct(v))</td>" }
                h += "</tr>\n"
            }
            let dims = VBenchDimension.allCases.filter { d in reports.contains { $0.report[d]?.score != nil } }
            for d in dims { row(d.label, reports.map { $0.report[d]?.score }) }
            row("Quality", reports.map(\.report.qualityScore), bold: true)
            row("Semantic", reports.map(\.report.semanticScore), bold: true)
            row("Total", reports.map(\.report.totalScore), bold: true)
            h += "</table>\n<p class=\"muted\">Raw dimension scores; Quality, Semantic and Total are VBench's normalised, weighted aggregates.</p>\n"
        }
        // Clips.
        if !rows.isEmpty {
            h += "<h2>Clips</h2>\n<table class=\"clips\">\n<tr><th>prompt</th>"
            for c in columns { h += "<th>\(e(c))</th>" }
            h += "</tr>\n"
            for r in rows {
                h += "<tr><td class=\"prompt\">\(e(r.prompt))</td>"
                for c in columns {
                    if let p = r.clips[c] {
                        h += "<td><video src=\"\(e(Self.href(p)))\" autoplay loop muted playsinline controls preload=\"auto\"></video></td>"
                    } else {
                        h += "<td></td>"
                    }
                }
                h += "</tr>\n"
            }
            h += "</table>\n"
        }
        for f in figures { h += "<h2>\(e(f.caption))</h2>\n\(f.svg)\n" }
        for i in images { h += "<h2>\(e(i.caption))</h2>\n<img class=\"sheet\" src=\"\(e(Self.href(i.path)))\" alt=\"\(e(i.caption))\">\n" }
        // Tells the reader (and the headless-browser check) whether every clip decodes in this browser.
        h += """
            <script>
            (function () {
              const vids = Array.from(document.querySelectorAll('video'));
              const s = document.getElementById('video-status');
              let ok = 0, failed = 0;
              function show() {
                s.dataset.ok = ok; s.dataset.failed = failed; s.dataset.total = vids.length;
                s.textContent = ok + ' of ' + vids.length + ' clips playable' + (failed ? ', ' + failed + ' failed to decode' : '');
              }
              vids.forEach(function (v) {
                if (v.readyState >= 2) { ok++; return; }
                v.addEventListener('loadeddata', function () { ok++; show(); }, { once: true });
                v.addEventListener('error', function () { failed++; show(); }, { once: true });
              });
              show();
            })();
            </script>
            </body>
            </html>

            """
        return h
    }
}
