import Foundation

/// A per-video value as VBench writes it in `video_results`: a number for most dimensions, a bool for
/// dynamic degree. Encodes as a bare JSON number or bool.
public enum ResultValue: Codable, Sendable, Equatable {
    case number(Double)
    case flag(Bool)

    public var doubleValue: Double {
        switch self {
        case .number(let v): return v
        case .flag(let b): return b ? 1 : 0
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .flag(b) } else { self = .number(try c.decode(Double.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let v): try c.encode(v)
        case .flag(let b): try c.encode(b)
        }
    }
}

/// One video's entry under a dimension, VBench's `{video_path, video_results}` plus our evidence.
public struct VideoResult: Codable, Sendable, Equatable {
    public var videoPath: String
    /// nil when the dimension does not apply to this video (see `note`).
    public var videoResults: ResultValue?
    /// Evidence behind the value (frame counts, thresholds, measured motions...).
    public var detail: [String: Double]?
    public var note: String?

    public init(videoPath: String, videoResults: ResultValue?, detail: [String: Double]? = nil, note: String? = nil) {
        self.videoPath = videoPath
        self.videoResults = videoResults
        self.detail = detail
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case videoPath = "video_path"
        case videoResults = "video_results"
        case detail, note
    }
}

/// One dimension of a report.
public struct DimensionResult: Codable, Sendable, Equatable {
    public var dimension: VBenchDimension
    /// Raw value on VBench's raw scale; nil when no honest value exists (see `reason`).
    public var score: Double?
    /// `(score - min) / (max - min) · weight` with VBench's constants.
    public var normalized: Double?
    /// For temporal style and overall consistency: the fraction of checks that held (the raw score is
    /// this fraction times VBench's empirical maximum 0.364, so that it normalises to the fraction).
    public var fraction: Double?
    public var reason: String?
    /// A finding beside the score: for dynamic degree with the world's facts, how many clips of prompts
    /// that ask for no motion read as dynamic.
    public var note: String? = nil
    public var videos: [VideoResult]

    enum CodingKeys: String, CodingKey {
        case dimension, score, normalized, fraction, reason, note
        case videos = "video_results"
    }
}

/// A VBenchLite report: every dimension, VBench's Quality, Semantic and Total as VBench's
/// `cal_final_score.py` computes them (a dimension without a value counts raw 0: `total_score`), the
/// same over the dimensions that have a value (`dims_used`) only (`total_score_scorable`), and the
/// distribution section when a reference was given.
public struct ScoreReport: Codable, Sendable, Equatable {
    public var dimensions: [DimensionResult]
    /// VBench's, missing dimensions counted as raw 0 (comparable with VBench's published Totals).
    public var qualityScore: Double?
    public var semanticScore: Double?
    public var totalScore: Double?
    /// `totalScore`'s 95 % bootstrap interval over seeds, [low, high], when every prompt has at least two
    /// clips (nil otherwise, and in reports written before it existed).
    public var totalScoreInterval: [Double]?
    /// Over the dimensions with a value only (each group's weighted mean of what could be scored).
    public var qualityScoreScorable: Double?
    public var semanticScoreScorable: Double?
    public var totalScoreScorable: Double?
    public var dimsUsed: [String]
    public var videoCount: Int
    public var tool: String
    /// Diversity, coverage and fidelity of the clips as a set, against reference clips.
    public var distribution: DistributionReport?

    enum CodingKeys: String, CodingKey {
        case dimensions
        case qualityScore = "quality_score"
        case semanticScore = "semantic_score"
        case totalScore = "total_score"
        case totalScoreInterval = "total_score_interval"
        case qualityScoreScorable = "quality_score_scorable"
        case semanticScoreScorable = "semantic_score_scorable"
        case totalScoreScorable = "total_score_scorable"
        case dimsUsed = "dims_used"
        case videoCount = "video_count"
        case tool, distribution
    }

    public init(dimensions: [DimensionResult], videoCount: Int) {
        self.dimensions = dimensions.sorted { $0.dimension < $1.dimension }
        self.videoCount = videoCount
        self.tool = "VBenchLite 2"
        var raw: [String: Double] = [:]
        for d in dimensions { if let s = d.score { raw[d.dimension.rawValue] = s } }
        let agg = VBenchLite.aggregate(raw: raw)
        qualityScoreScorable = agg.quality
        semanticScoreScorable = agg.semantic
        totalScoreScorable = agg.total
        if raw.isEmpty {
            qualityScore = nil; semanticScore = nil; totalScore = nil
        } else {
            let v = VBenchLite.aggregateVBench(raw: raw)
            qualityScore = v.quality; semanticScore = v.semantic; totalScore = v.total
        }
        dimsUsed = VBenchDimension.allCases.filter { raw[$0.rawValue] != nil }.map(\.rawValue)
    }

    public subscript(_ d: VBenchDimension) -> DimensionResult? { dimensions.first { $0.dimension == d } }

    /// Raw values of the dimensions that have one, keyed by VBench name.
    public var rawScores: [String: Double] {
        var out: [String: Double] = [:]
        for d in dimensions { if let s = d.score { out[d.dimension.rawValue] = s } }
        return out
    }

    /// The report as JSON (pretty, sorted keys).
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    public static func decode(_ data: Data) throws -> ScoreReport {
        try JSONDecoder().decode(ScoreReport.self, from: data)
    }

    /// VBench's own `*_eval_results.json` layout: `{dimension: [raw, [{video_path, video_results}]]}`,
    /// for the dimensions that have a value.
    public func evalResultsData() throws -> Data {
        var root: [String: Any] = [:]
        for d in dimensions {
            guard let s = d.score else { continue }
            let videos: [[String: Any]] = d.videos.compactMap { v in
                guard let r = v.videoResults else { return nil }
                switch r {
                case .number(let x): return ["video_path": v.videoPath, "video_results": x]
                case .flag(let b): return ["video_path": v.videoPath, "video_results": b]
                }
            }
            root[d.dimension.rawValue] = [s, videos]
        }
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Reads raw per-dimension values from VBench's result layout (`{dim: [raw, [...]]}`), also
    /// accepting `{dim: raw}`; unknown keys are an error naming them.
    public static func rawScores(fromEvalResults data: Data, source: String) throws -> [String: Double] {
        guard let obj = try? JSONSerialization.jsonObject(with: data), let dict = obj as? [String: Any] else {
            throw ScoreError("\(source): not a JSON object of VBench results ({\"dimension\": [raw, [...]]})")
        }
        var out: [String: Double] = [:]
        for (k, v) in dict {
            guard VBenchDimension(rawValue: k) != nil else {
                throw ScoreError("\(source): unknown dimension \"\(k)\" (expected one of \(VBenchDimension.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if let arr = v as? [Any], let first = arr.first, let num = first as? NSNumber {
                out[k] = num.doubleValue
            } else if let num = v as? NSNumber {
                out[k] = num.doubleValue
            } else if v is NSNull {
                continue
            } else {
                throw ScoreError("\(source): dimension \"\(k)\" has no raw number (expected [raw, [...]] or a number)")
            }
            if let x = out[k], !x.isFinite { throw ScoreError("\(source): dimension \"\(k)\" is not a finite number") }
        }
        return out
    }

    /// A readable table: one row per dimension (raw, normalised, videos), then the three scores.
    public func table() -> String {
        func f(_ x: Double?, _ digits: Int = 4) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "-" }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        var lines: [String] = []
        lines.append(pad("dimension", 24) + pad("group", 9) + lpad("raw", 8) + lpad("norm", 9) + lpad("videos", 8) + "  note")
        lines.append(String(repeating: "-", count: 72))
        for d in dimensions {
            let used = d.videos.filter { $0.videoResults != nil }.count
            let note = d.score == nil ? (d.reason ?? "") : (d.fraction.map { "fraction of checks \(f($0, 3))" } ?? d.note ?? "")
            lines.append(pad(d.dimension.rawValue, 24) + pad(d.dimension.group.rawValue, 9) + lpad(f(d.score), 8)
                         + lpad(f(d.normalized), 9) + lpad("\(used)", 8) + "  " + note)
        }
        lines.append(String(repeating: "-", count: 72))
        let interval = totalScoreInterval.flatMap { $0.count == 2 ? " [\(f($0[0] * 100, 2)), \(f($0[1] * 100, 2))]" : nil } ?? ""
        lines.append("quality  \(f(qualityScore.map { $0 * 100 }, 2))   semantic  \(f(semanticScore.map { $0 * 100 }, 2))   total  \(f(totalScore.map { $0 * 100 }, 2))\(interval)   (VBench 0-100; missing dimensions count 0, as in VBench; \(dimsUsed.count) of 16 dimensions, \(videoCount) videos)")
        lines.append("scorable only: quality  \(f(qualityScoreScorable.map { $0 * 100 }, 2))   semantic  \(f(semanticScoreScorable.map { $0 * 100 }, 2))   total  \(f(totalScoreScorable.map { $0 * 100 }, 2))   (over the \(dimsUsed.count) dimensions with a value)")
        if let distribution {
            lines.append("")
            lines.append(distribution.table())
        }
        return lines.joined(separator: "\n")
    }
}

/// An error with a message that names the input and what is wrong.
public struct ScoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ message: String) { description = message }
}
