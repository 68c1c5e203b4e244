import Foundation

/// One prompt's clips for the distribution metrics, as raw `ClipFeatures`.
public struct DistributionPrompt: Sendable {
    public var prompt: String
    /// The prompt asks for no motion (object and camera still): its clips feed still-prompt motion.
    public var still: Bool
    /// The clips under evaluation (one per seed).
    public var evaluated: [[Double]]
    /// The reference clips (the world's, or the user's real clips), seeds disjoint from both other sets.
    public var reference: [[Double]]
    /// More reference-distribution clips, as many as `evaluated`, scored like them: the floor.
    public var floor: [[Double]]

    public init(prompt: String, still: Bool, evaluated: [[Double]], reference: [[Double]], floor: [[Double]] = []) {
        self.prompt = prompt
        self.still = still
        self.evaluated = evaluated
        self.reference = reference
        self.floor = floor
    }
}

/// One distribution metric with its bootstrap interval (95 %, over seeds), beside the floor: the same
/// metric for clips of the reference distribution itself (other seeds) at the same N, with the interval
/// another such set would fall in (95 %: the floor's bootstrap spread × √2). A model is as good as the
/// reference distribution on a metric when its value lies inside the floor's interval.
public struct DistributionMetric: Codable, Sendable, Equatable {
    public var name: String
    public var value: Double
    public var low: Double
    public var high: Double
    public var floor: Double?
    public var floorLow: Double?
    public var floorHigh: Double?
    /// "higher", "lower", or "closer to the floor" (which way is better).
    public var better: String

    enum CodingKeys: String, CodingKey {
        case name, value, low, high, floor, better
        case floorLow = "floor_low"
        case floorHigh = "floor_high"
    }
}

/// Per-prompt figures of the evaluated set.
public struct PromptDistribution: Codable, Sendable, Equatable {
    public var prompt: String
    public var clips: Int
    public var diversity: Double?
    public var precision: Double?
    public var recall: Double?
}

/// The distribution section of a score report (docs/vbenchlite.md, "Distribution metrics").
public struct DistributionReport: Codable, Sendable, Equatable {
    /// Where the reference came from (the world with its seeds, or a folder).
    public var reference: String
    public var prompts: Int
    public var stillPrompts: Int
    public var referenceClips: Int
    public var evaluatedClips: Int
    public var floorClips: Int
    public var bootstrap: Int
    public var metrics: [DistributionMetric]
    public var perPrompt: [PromptDistribution]
    /// Mean |ΔY| of the reference's clips of still prompts (grey levels per frame), for scale.
    public var referenceStillMotion: Double?
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case reference, prompts, bootstrap, metrics, notes
        case stillPrompts = "still_prompts"
        case referenceClips = "reference_clips"
        case evaluatedClips = "evaluated_clips"
        case floorClips = "floor_clips"
        case perPrompt = "per_prompt"
        case referenceStillMotion = "reference_still_motion"
    }

    public subscript(_ name: String) -> DistributionMetric? { metrics.first { $0.name == name } }

    /// The metrics in report order, and which way each is better.
    public static let metricNames: [(String, String)] = [
        ("diversity", "higher"), ("diversity_worst", "higher"), ("recall", "higher"), ("precision", "higher"),
        ("frechet_distance", "lower"), ("kid", "lower"), ("sharpness_gap", "closer to the floor"),
        ("still_motion", "lower"),
    ]

    /// A readable table: metric, value [interval], floor [interval].
    public func table() -> String {
        func f(_ x: Double?) -> String { x.map { String(format: abs($0) < 0.01 && $0 != 0 ? "%.5f" : "%.3f", $0) } ?? "-" }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var lines = ["distribution (against \(reference); \(prompts) prompts, \(evaluatedClips) clips, floor \(floorClips) clips, \(bootstrap) bootstrap resamples, 95% intervals)"]
        lines.append(pad("metric", 18) + pad("value [interval]", 32) + pad("floor [interval]", 32) + "better")
        lines.append(String(repeating: "-", count: 90))
        for m in metrics {
            let v = "\(f(m.value)) [\(f(m.low)), \(f(m.high))]"
            let fl = m.floor.map { "\(f($0)) [\(f(m.floorLow)), \(f(m.floorHigh))]" } ?? "-"
            lines.append(pad(m.name, 18) + pad(v, 32) + pad(fl, 32) + m.better)
        }
        for n in notes { lines.append("note: " + n) }
        return lines.joined(separator: "\n")
    }
}

/// Computes the distribution report from per-prompt features (docs/vbenchlite.md).
public struct DistributionEvaluator: Sendable {
    public var bootstrap: Int

    public init(bootstrap: Int = 200) { self.bootstrap = bootstrap }

    /// Nil when no prompt has at least one evaluated clip and two reference clips.
    public func evaluate(_ input: [DistributionPrompt], referenceLabel: String) -> DistributionReport? {
        var notes: [String] = []
        let usable = input.filter { !$0.evaluated.isEmpty && $0.reference.count >= 2 }
        if usable.count < input.count {
            notes.append("\(input.count - usable.count) prompt(s) left out: fewer than 1 evaluated or 2 reference clips")
        }
        guard !usable.isEmpty else { return nil }
        let space = FeatureSpace(reference: usable.flatMap(\.reference))
        let blocks = usable.map { p in
            PromptBlock(prompt: p.prompt, still: p.still, gen: p.evaluated.map(space.embed), ref: p.reference.map(space.embed),
                        genRaw: p.evaluated, refRaw: p.reference)
        }
        let hasFloor = usable.allSatisfy { !$0.floor.isEmpty }
        let floorBlocks = hasFloor ? usable.map { p in
            PromptBlock(prompt: p.prompt, still: p.still, gen: p.floor.map(space.embed), ref: p.reference.map(space.embed),
                        genRaw: p.floor, refRaw: p.reference)
        } : nil
        if !hasFloor { notes.append("no floor: the reference has too few clips to set some aside") }
        let fd = FrechetDistance(reference: blocks)
        let full = blocks.map { Array(0..<$0.genCount) }
        let value = Self.metrics(blocks, full, fd)
        let samples = runBootstrap(blocks, fd)
        var floorValue: [String: Double]? = nil, floorSamples: [[String: Double]] = []
        if let fb = floorBlocks {
            floorValue = Self.metrics(fb, fb.map { Array(0..<$0.genCount) }, fd)
            floorSamples = runBootstrap(fb, fd)
        }
        var metrics: [DistributionMetric] = []
        for (name, better) in DistributionReport.metricNames {
            guard let v = value[name] else { continue }
            let iv = Bootstrap.interval(estimate: v, samples: samples.compactMap { $0[name] })
            var m = DistributionMetric(name: name, value: v, low: iv.low, high: iv.high, better: better)
            if let fv = floorValue?[name] {
                let fi = Bootstrap.interval(estimate: fv, samples: floorSamples.compactMap { $0[name] }, widen: 2.0.squareRoot())
                m.floor = fv; m.floorLow = fi.low; m.floorHigh = fi.high
            }
            metrics.append(m)
        }
        let per = blocks.map { b in
            PromptDistribution(prompt: b.prompt, clips: b.genCount, diversity: Diversity.ratio(b, Array(0..<b.genCount)),
                               precision: PrecisionRecall.precision(b, Array(0..<b.genCount)),
                               recall: PrecisionRecall.recall(b, Array(0..<b.genCount)))
        }
        let stillRef = blocks.filter(\.still).flatMap(\.refRaw).map(Self.frameChange)
        return DistributionReport(reference: referenceLabel, prompts: blocks.count, stillPrompts: blocks.filter(\.still).count,
                                  referenceClips: blocks.reduce(0) { $0 + $1.refCount },
                                  evaluatedClips: blocks.reduce(0) { $0 + $1.genCount },
                                  floorClips: floorBlocks?.reduce(0) { $0 + $1.genCount } ?? 0,
                                  bootstrap: bootstrap, metrics: metrics, perPrompt: per,
                                  referenceStillMotion: stillRef.isEmpty ? nil : stillRef.reduce(0, +) / Double(stillRef.count),
                                  notes: notes)
    }

    func runBootstrap(_ blocks: [PromptBlock], _ fd: FrechetDistance) -> [[String: Double]] {
        var rng = Bootstrap()
        var out: [[String: Double]] = []
        for _ in 0..<bootstrap {
            let idx = blocks.map { rng.resample($0.genCount) }
            out.append(Self.metrics(blocks, idx, fd))
        }
        return out
    }

    /// Mean |ΔY| per frame (grey levels) of a clip, from its raw features.
    static func frameChange(_ raw: [Double]) -> Double { exp(raw[ClipFeatures.frameChangeIndex]) - 1 }

    /// Every metric of one (re)sample: `idx[p]` lists the evaluated clips of prompt p.
    static func metrics(_ blocks: [PromptBlock], _ idx: [[Int]], _ fd: FrechetDistance) -> [String: Double] {
        var out: [String: Double] = [:]
        func mean(_ xs: [Double?]) -> Double? {
            let v = xs.compactMap { $0 }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        let div = zip(blocks, idx).map { Diversity.ratio($0, $1) }
        out["diversity"] = mean(div)
        out["diversity_worst"] = div.compactMap { $0 }.min()
        out["recall"] = mean(zip(blocks, idx).map { PrecisionRecall.recall($0, $1) })
        out["precision"] = mean(zip(blocks, idx).map { PrecisionRecall.precision($0, $1) })
        out["kid"] = mean(zip(blocks, idx).map { KID.mmd2($0, $1) })
        out["frechet_distance"] = fd.distance(zip(blocks, idx).map { b, i in i.map { b.gen[$0] } })
        // Sharpness gap: the reference's mean fine-to-coarse log energy ratio minus the evaluated
        // clips', per prompt, averaged (positive: blurrier than the reference).
        out["sharpness_gap"] = mean(zip(blocks, idx).map { b, i -> Double? in
            guard !i.isEmpty else { return nil }
            let r = b.refRaw.reduce(0) { $0 + $1[ClipFeatures.sharpnessIndex] } / Double(b.refCount)
            let g = i.reduce(0) { $0 + b.genRaw[$1][ClipFeatures.sharpnessIndex] } / Double(i.count)
            return r - g
        })
        // Still-prompt motion: mean |ΔY| per frame over the evaluated clips of still prompts.
        let still = zip(blocks, idx).filter { $0.0.still }.flatMap { b, i in i.map { frameChange(b.genRaw[$0]) } }
        if !still.isEmpty { out["still_motion"] = still.reduce(0, +) / Double(still.count) }
        return out
    }
}
