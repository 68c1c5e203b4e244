import ArgumentParser
import AtomicFiles
import Dispatch
import Foundation
import TDMVideo
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
        semantic dimensions. The last line printed is `total_score=<Total on VBench's 0-100 scale>`. \
        When every prompt has at least two clips (seeds), the Total is printed with its 95 % bootstrap \
        interval over seeds (`total_score_interval` in the report): two Totals whose intervals overlap \
        are not told apart by these seeds.

        Distribution metrics (diversity, recall, precision, Frechet distance, KID, sharpness gap, \
        still-prompt motion; docs/vbenchlite.md) compare the clips of each prompt, as a set, with reference \
        clips: by default the world's own clips of the prompt (prompts in the world's grammar; \
        --reference-seeds seeds from 1,000,000 up, and as many again from 2,000,000 up for the \
        world-against-world floor, rendered in the world the suite's world facts name: "detail": "fine" \
        for a fine-world suite, coarse when absent or without a suite, unless --detail says), or the clips of --reference DIR named like the evaluated ones. Sample \
        at least 8 seeds per prompt (`sample --seeds 16`) for figures worth reading.

        Examples:
          tdm-video score clips/ --suite suite.json --out report.json
          tdm-video score clips/ --suite suite.json --reference real_clips/
          tdm-video score clips/ --suite suite.json --write-baseline base.json
          tdm-video score clips/ --suite suite.json --baseline base.json --max-drop 1 --max-recall-drop 0.15
          tdm-video score --aggregate run_eval_results.json

        Exit codes: 0 success (or no regression); 1 an error; 3 Total fell more than --max-drop \
        points below the baseline, or a dimension more than --max-dim-drop, or a distribution figure \
        beyond its limit (the fallen dimensions and figures are listed).
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

    @Option(help: "A folder of reference clips named {prompt}-{i}.mp4 for the distribution metrics (default: the world's own clips).")
    var reference: String?

    @Option(name: .customLong("reference-seeds"), help: "World reference clips per prompt for the distribution metrics.")
    var referenceSeeds: Int = 16

    @Option(help: "The world the reference clips of prompts without a suite entry come from: coarse or fine (a suite entry's world facts name its own; absent means coarse).")
    var detail: WorldDetail = .coarse

    @Flag(name: .customLong("no-distribution"), help: "Skip the distribution metrics.")
    var noDistribution = false

    @Option(name: .customLong("max-recall-drop"), help: "With --baseline: largest allowed fall of the distribution's recall (0-1).")
    var maxRecallDrop: Double?

    @Option(name: .customLong("max-diversity-drop"), help: "With --baseline: largest allowed fall of the mean diversity (0-1).")
    var maxDiversityDrop: Double?

    @Option(name: .customLong("max-fd-rise"), help: "With --baseline: largest allowed rise of the conditional Frechet distance.")
    var maxFDRise: Double?

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
        for (name, v) in [("--max-recall-drop", maxRecallDrop), ("--max-diversity-drop", maxDiversityDrop), ("--max-fd-rise", maxFDRise)] {
            guard let v else { continue }
            if !v.isFinite || v < 0 { throw ScoreError("\(name) must be a non-negative number, not \(v)") }
            if baseline == nil { throw ScoreError("\(name) needs --baseline") }
            if noDistribution { throw ScoreError("\(name) needs the distribution metrics (drop --no-distribution)") }
        }
        if !(1...1000).contains(referenceSeeds) { throw ScoreError("--reference-seeds must be in 1...1000, not \(referenceSeeds)") }
        if reference != nil && noDistribution { throw ScoreError("--reference is for the distribution metrics; drop --no-distribution") }
    }

    func run() throws {
        // Every input clip is decoded by FFmpeg: open its libraries while the arguments and suite are read.
        FFmpegLibrary.preloadInBackground()
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
        var report = VBenchLite().evaluate(videos: inputs)
        if !noDistribution { report.distribution = try distribution(inputs) }
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
            let gate = DistributionGate(maxRecallDrop: maxRecallDrop, maxDiversityDrop: maxDiversityDrop, maxFrechetRise: maxFDRise)
            if !gate.isEmpty {
                guard let bd = try Self.loadReport(baseline)?.distribution else {
                    throw ScoreError("\(baseline): the baseline has no distribution section (record it again with this version of score)")
                }
                guard let cd = report.distribution else {
                    throw ScoreError("no distribution metrics for these videos (no reference clips); cannot apply the distribution limits")
                }
                let failures = gate.failures(current: cd, baseline: bd)
                print(String(format: "baseline distribution: recall %.4f -> %.4f, diversity %.4f -> %.4f, Frechet distance %.4f -> %.4f",
                             bd["recall"]?.value ?? .nan, cd["recall"]?.value ?? .nan, bd["diversity"]?.value ?? .nan,
                             cd["diversity"]?.value ?? .nan, bd["frechet_distance"]?.value ?? .nan, cd["frechet_distance"]?.value ?? .nan))
                if !failures.isEmpty {
                    regressed = true
                    print("REGRESSION: \(failures.count) distribution figure(s) beyond their limits:")
                    for f in failures { print("  " + f) }
                }
            }
            if !regressed { print("no regression") }
        }
        print(String(format: "total_score=%.4f", total * 100))
        if regressed { throw ExitCode(3) }
    }

    /// The distribution section: evaluated clips grouped by prompt, against the world's clips of each
    /// prompt or the clips of --reference.
    func distribution(_ inputs: [(name: String, video: RGBVideo, prompt: PromptEntry?)]) throws -> DistributionReport? {
        let list = WorldReference.groups(inputs) { ReferenceClips.promptKey(URL(fileURLWithPath: $0)) }
        let found: (prompts: [DistributionPrompt], skipped: [String])
        let label: String
        if let reference {
            found = try ReferenceClips.folder(reference, groups: list)
            label = "the clips of \(reference)"
        } else {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-score-ref-\(ProcessInfo.processInfo.processIdentifier)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            found = try WorldReference.prompts(groups: list, referenceSeeds: referenceSeeds, scratch: scratch, detail: detail)
            label = WorldReference.label(referenceSeeds)
        }
        if found.prompts.isEmpty {
            let why = reference.map { "no clip in \($0) matches an evaluated prompt" } ?? "no prompt is in the world's grammar; give --reference DIR"
            FileHandle.standardError.write(Data("note: no distribution metrics: \(why)\n".utf8))
            return nil
        }
        var r = DistributionEvaluator().evaluate(found.prompts, referenceLabel: label)
        if !found.skipped.isEmpty {
            r?.notes.append("\(found.skipped.count) prompt(s) without reference clips left out, e.g. \"\(found.skipped[0])\"")
        }
        let fewest = found.prompts.map(\.evaluated.count).min() ?? 0
        if fewest < 8 { r?.notes.append("only \(fewest) evaluated clip(s) for some prompt: diversity and recall are coarse below 8 seeds") }
        return r
    }

    /// The full VBenchLite report in a baseline file, if it is one (nil for a VBench results file).
    static func loadReport(_ path: String) throws -> ScoreReport? {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ScoreError("\(path): cannot read the file (\(error.localizedDescription))")
        }
        return try? ScoreReport.decode(data)
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
