import ArgumentParser
import AtomicFiles
import Dispatch
import Foundation
import VBenchLite
import VideoCommon
import VideoIO

/// `tdm-video score`: VBenchLite on video files, with VBench's report layout and a regression gate.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score videos with VBenchLite (VBench's 16 dimensions, Quality, Semantic and Total on a CPU).",
        discussion: """
        PATH is a video or a directory of videos. With --suite, each file is matched to its prompt by \
        VBench's naming convention `{prompt}-{i}.mp4`, and the prompt's auxiliary info enables the \
        semantic dimensions. The last line printed is `total_score=<Total on VBench's 0-100 scale>`.

        Examples:
          tdm-video score clips/ --suite suite.json --out report.json
          tdm-video score clips/ --suite suite.json --write-baseline base.json
          tdm-video score clips/ --suite suite.json --baseline base.json --max-drop 1
          tdm-video score --aggregate run_eval_results.json

        Exit codes: 0 success (or no regression); 1 an error; 3 Total fell more than --max-drop \
        points below the baseline, or a dimension more than --max-dim-drop (the fallen dimensions are listed).
        """.paragraphs)

    @Argument(help: "Video files or directories of videos.")
    var paths: [String] = []

    @Option(help: "Prompt suite (VBench_full_info.json layout) with the prompts' auxiliary info.")
    var suite: String?

    @Option(help: "Write the full JSON report here.")
    var out: String?

    @Option(name: .customLong("eval-results"), help: "Also write VBench's own *_eval_results.json layout here.")
    var evalResults: String?

    @Option(help: "A baseline report (from --out or --write-baseline) or VBench results file to compare with.")
    var baseline: String?

    @Option(name: .customLong("max-drop"), help: "Points of Total (0-100) the score may fall below the baseline.")
    var maxDrop: Double = 1.0

    @Option(name: .customLong("max-dim-drop"), help: "With --baseline: points (raw 0-100 scale) any one dimension may fall; unset = Total only.")
    var maxDimDrop: Double?

    @Option(name: .customLong("write-baseline"), help: "Write this run's report as a baseline file.")
    var writeBaseline: String?

    @Option(help: "Print Quality, Semantic and Total of raw per-dimension values in VBench's results layout.")
    var aggregate: String?

    @Flag(help: "Print the JSON report instead of the table.")
    var json = false

    @Flag(help: "Print only the gate's outcome and the total_score line.")
    var quiet = false

    /// Checks the combination of options; a bad one is an error (exit 1) like any other.
    func checkOptions() throws {
        if aggregate != nil && !paths.isEmpty {
            throw ScoreError("--aggregate takes a results file, not videos")
        }
        if aggregate == nil && paths.isEmpty {
            throw ScoreError("give at least one video or directory (or --aggregate FILE); see tdm-video score --help")
        }
        if let i = paths.firstIndex(where: { $0.isEmpty }) {
            throw ScoreError("argument \(i + 1) (PATH) is empty: give a video file or a directory of videos")
        }
        for (option, path) in [("--suite", suite), ("--baseline", baseline), ("--aggregate", aggregate)] {
            if let path, let problem = InputFile.problem(at: path) { throw ScoreError("\(option) \(path): \(problem)") }
        }
        if !maxDrop.isFinite || maxDrop < 0 {
            throw ScoreError("--max-drop must be a non-negative number of points, not \(maxDrop)")
        }
        if let m = maxDimDrop, !m.isFinite || m < 0 {
            throw ScoreError("--max-dim-drop must be a non-negative number of points, not \(m)")
        }
        if maxDimDrop != nil && baseline == nil { throw ScoreError("--max-dim-drop needs --baseline") }
    }

    func run() throws {
        try checkOptions()
        if let aggregate {
            let raw = try Self.loadRawScores(aggregate)
            let agg = VBenchLite.aggregate(raw: raw)
            guard let total = agg.total else { throw ScoreError("\(aggregate): no VBench dimension with a value") }
            print(String(format: "dimensions used: %d (%@)", raw.count, VBenchDimension.allCases.filter { raw[$0.rawValue] != nil }.map(\.rawValue).joined(separator: ", ")))
            print(String(format: "quality_score=%.4f", (agg.quality ?? .nan) * 100))
            print(String(format: "semantic_score=%.4f", (agg.semantic ?? .nan) * 100))
            print(String(format: "total_score=%.4f", total * 100))
            return
        }
        let files = try VideoSuiteMatching.expand(paths)
        var prompts: [String: PromptEntry] = [:]
        if let suite { prompts = VideoSuiteMatching.index(try PromptSuite.load(URL(fileURLWithPath: suite))) }
        let videos = try Self.decodeAll(files)
        var inputs: [(name: String, video: RGBVideo, prompt: PromptEntry?)] = []
        var unmatched: [String] = []
        for (url, v) in zip(files, videos) {
            let entry = suite == nil ? nil : VideoSuiteMatching.entry(forFile: url, in: prompts)
            if suite != nil && entry == nil { unmatched.append(url.lastPathComponent) }
            inputs.append((name: url.path, video: v, prompt: entry))
        }
        if !unmatched.isEmpty {
            FileHandle.standardError.write(Data("warning: \(unmatched.count) video(s) match no prompt of the suite (semantic dimensions skipped): \(unmatched.prefix(5).joined(separator: ", "))\n".utf8))
        }
        let report = VBenchLite().evaluate(videos: inputs)
        let data = try report.jsonData()
        if let out { try AtomicFile.write(data, to: URL(fileURLWithPath: out)) }
        if let writeBaseline { try AtomicFile.write(data, to: URL(fileURLWithPath: writeBaseline)) }
        if let evalResults { try AtomicFile.write(try report.evalResultsData(), to: URL(fileURLWithPath: evalResults)) }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else if !quiet {
            print(report.table())
        }
        guard let total = report.totalScore else { throw ScoreError("no dimension could be scored on these videos") }
        var regressed = false
        if let baseline {
            let base = try Self.loadRawScores(baseline)
            let c = BaselineComparison.compare(current: report.rawScores, baseline: base, maxDrop: maxDrop)
            guard !c.dimsCompared.isEmpty else {
                throw ScoreError("\(baseline): the baseline shares no scored dimension with this run (baseline has \(base.keys.sorted().joined(separator: ", ")))")
            }
            print(String(format: "baseline: total %.4f -> %.4f (%+.4f points over %d shared dimensions, max drop %.4f)",
                         c.baselineTotal, c.currentTotal, c.change, c.dimsCompared.count, maxDrop))
            if c.regressed {
                regressed = true
                print("REGRESSION: Total fell by \(String(format: "%.4f", -c.change)) points; fallen dimensions:")
                for f in c.fallenDimensions {
                    print(String(format: "  %@: %.4f -> %.4f (%+.4f points of Total)", f.dimension, f.baseline, f.current, f.totalPoints))
                }
            }
            if let maxDimDrop {
                let failures = BaselineComparison.dimensionFailures(current: report.rawScores, baseline: base, maxDrop: maxDimDrop)
                if !failures.isEmpty {
                    regressed = true
                    print("REGRESSION: \(failures.count) dimension(s) fell more than \(String(format: "%.2f", maxDimDrop)) points:")
                    for f in failures { print("  " + f) }
                }
            }
            if !regressed { print("no regression") }
        }
        print(String(format: "total_score=%.4f", total * 100))
        if regressed { throw ExitCode(3) }
    }

    /// Raw per-dimension values from a VBenchLite report or a VBench results file.
    static func loadRawScores(_ path: String) throws -> [String: Double] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ScoreError("\(path): cannot read the file (\(error.localizedDescription))")
        }
        if let report = try? ScoreReport.decode(data) { return report.rawScores }
        return try ScoreReport.rawScores(fromEvalResults: data, source: path)
    }

    /// Decodes every file on all cores; the first failure (in file order) is the error.
    static func decodeAll(_ files: [URL]) throws -> [RGBVideo] {
        let results = UnsafeMutableBufferPointer<Result<RGBVideo, Error>?>.allocate(capacity: files.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            slots[i] = Result { try VideoReader.read(files[i]) }
        }
        var out: [RGBVideo] = []
        for i in 0..<files.count {
            guard let r = results[i] else { throw ScoreError("\(files[i].path): not decoded") }
            out.append(try r.get())
        }
        return out
    }
}
