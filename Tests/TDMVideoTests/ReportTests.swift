import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import VBenchLite
@testable import TDMVideo

@Suite("Reports: SVG charts and the demo page") struct ReportTests {
    func parse(_ svg: String) throws -> XMLDocument { try XMLDocument(data: Data(svg.utf8)) }
    /// Elements by name, whatever their namespace (SVG's is the default one).
    func elements(_ doc: XMLDocument, _ name: String) throws -> [XMLNode] { try doc.nodes(forXPath: "//*[local-name()='\(name)']") }

    @Test func chartIsWellFormedAndDrawsEveryFinitePoint() throws {
        let pts: [(x: Double, y: Double)] = (0..<50).map { (Double($0), exp(-Double($0) / 10)) } + [(50, .nan), (51, .infinity)]
        let c = SVGLineChart(title: "a <b> & c", xLabel: "step", yLabel: "loss", logY: true,
                             series: [.init(name: "gen", points: pts), .init(name: "fake", points: [(3, 0.5)])])
        let doc = try parse(c.svg())
        let lines = try elements(doc, "polyline")
        #expect(lines.count == 1)
        let attr = try doc.nodes(forXPath: "//*[local-name()='polyline']/@points").first?.stringValue ?? ""
        #expect(attr.split(separator: " ").count == 50, "NaN and Inf are dropped, the 50 finite points drawn")
        #expect(try elements(doc, "circle").count == 1, "a one-point series is a dot")
        #expect(c.svg().contains("a &lt;b&gt; &amp; c"))
        // A decaying curve on a log axis goes down the page: the last point is lower (larger y) than the first.
        let ys = attr.split(separator: " ").compactMap { Double($0.split(separator: ",").last ?? "") }
        let first = try #require(ys.first), last = try #require(ys.last)
        #expect(last > first)
    }

    @Test func logAxisDropsNonPositiveValuesAndEmptyChartSaysSo() throws {
        let c = SVGLineChart(title: "t", xLabel: "x", yLabel: "y", logY: true, series: [.init(name: "s", points: [(0, 0), (1, -1)])])
        let svg = c.svg()
        _ = try parse(svg)
        #expect(svg.contains("no data"))
        let ticks = SVGLineChart.niceTicks(0, 1)
        #expect(ticks.count == 6 && zip(ticks, [0, 0.2, 0.4, 0.6, 0.8, 1.0]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(SVGLineChart.logTicks(-3, 0).map { log10($0) } == [-3, -2, -1, 0])
    }

    @Test func lossCurvesComeFromTheLog() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("distill_log.jsonl")
        var text = ""
        for s in 1...10 { text += "{\"step\":\(s),\"generator_loss\":\(1.0 / Double(s)),\"fake_loss\":0.1}\n" }
        text += "{\"step\":11,\"skipped\":true}\n{\"step\":10,\"eval_total\":0.8,\"eval_quality\":-1}\n"
        try text.write(to: log, atomically: true, encoding: .utf8)
        let chart = LossCurves.chart(log: log, keys: ["generator_loss", "fake_loss", "missing"], title: "t")
        #expect(chart.series.map(\.points.count) == [10, 10])
        let written = try RunPictures.writeDistillCurves(log: log, to: dir)
        #expect(written.map(\.lastPathComponent) == ["loss_curves.svg", "eval_curve.svg"])
        let eval = try parse(String(contentsOf: written[1], encoding: .utf8))
        #expect(try elements(eval, "circle").count == 1, "eval_total has one point; the -1 quality marker is dropped")
    }

    @Test func demoPageShowsEveryClipScoreAndTiming() throws {
        let rows = [DemoPage.Row(prompt: "a red circle, <plain> & still", clips: ["truth": "truth/clips/a red circle-0.mp4", "student": "s/b.mp4"])]
        let report = ScoreReport(dimensions: [DimensionResult(dimension: .color, score: 0.75, videos: [])], videoCount: 1)
        var page = DemoPage(columns: ["truth", "teacher", "student"], rows: rows, reports: [("teacher", report)],
                            timings: [.init(name: "teacher", nfe: 100, secondsPerClip: 2.0), .init(name: "student", nfe: 4, secondsPerClip: 0.08)])
        page.figures.append(("curves", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"))
        let html = page.html()
        #expect(html.components(separatedBy: "<video ").count - 1 == 2)
        #expect(html.contains("src=\"truth/clips/a%20red%20circle-0.mp4\""))
        #expect(html.contains("a red circle, &lt;plain&gt; &amp; still"))
        #expect(html.contains("<td>75.00</td>"), "colour score as a percentage")
        #expect(html.contains("<b>25.0x</b>"), "speed-up")
        #expect(html.contains("<svg"))
        #expect(html.contains("id=\"video-status\""))
    }
}
