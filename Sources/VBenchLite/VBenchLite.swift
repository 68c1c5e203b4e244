import Dispatch
import Foundation
import VideoCommon

/// VBenchLite: VBench's 16 dimensions on a CPU, from frames and the prompt's auxiliary info, with
/// VBench's normalisation and weights (docs/vbench.md, docs/vbenchlite.md).
///
/// Each dimension is computed on VBench's raw scale and aggregated over videos the way VBench's own
/// `compute_*` functions do (frame-weighted or per-video means), so that `VBenchDimension`'s constants
/// apply unchanged.
public struct VBenchLite: Sendable {
    /// The dimensions to compute (the others are reported as not requested).
    public var dimensions: Set<VBenchDimension>
    /// Score videos on all cores (one video per task).
    public var parallel: Bool

    public init(dimensions: Set<VBenchDimension> = Set(VBenchDimension.allCases), parallel: Bool = true) {
        self.dimensions = dimensions
        self.parallel = parallel
    }

    /// VBench's Quality, Semantic and Total from raw per-dimension values keyed by VBench name:
    /// norm_d = (raw − min)/(max − min)·w_d (not clipped); each group is Σ norm / Σ w over the
    /// dimensions present; Total = (4·Quality + 1·Semantic)/5, or the one group present. Unknown keys
    /// are ignored; a group with no dimension is nil.
    public static func aggregate(raw: [String: Double]) -> (quality: Double?, semantic: Double?, total: Double?) {
        var qs = 0.0, qw = 0.0, ss = 0.0, sw = 0.0
        for d in VBenchDimension.allCases {
            guard let r = raw[d.rawValue], r.isFinite else { continue }
            if d.group == .quality { qs += d.normalized(r); qw += d.weight } else { ss += d.normalized(r); sw += d.weight }
        }
        let q = qw > 0 ? qs / qw : nil, s = sw > 0 ? ss / sw : nil
        let total: Double?
        switch (q, s) {
        case let (q?, s?): total = (VBenchWeights.quality * q + VBenchWeights.semantic * s) / (VBenchWeights.quality + VBenchWeights.semantic)
        case let (q?, nil): total = q
        case let (nil, s?): total = s
        default: total = nil
        }
        return (q, s, total)
    }

    /// VBench's Quality, Semantic and Total as `scripts/cal_final_score.py` computes them: a dimension
    /// without a value gets raw 0 (then normalised, so a dimension whose minimum is above 0 counts
    /// slightly negative), and every group divides by the weights of all its dimensions (Quality 6.5,
    /// Semantic 9). This is the Total comparable with VBench's; `aggregate(raw:)` is the scorable-only one.
    public static func aggregateVBench(raw: [String: Double]) -> (quality: Double, semantic: Double, total: Double) {
        var qs = 0.0, qw = 0.0, ss = 0.0, sw = 0.0
        for d in VBenchDimension.allCases {
            let r = raw[d.rawValue].flatMap { $0.isFinite ? $0 : nil } ?? 0
            if d.group == .quality { qs += d.normalized(r); qw += d.weight } else { ss += d.normalized(r); sw += d.weight }
        }
        let q = qs / qw, s = ss / sw
        return (q, s, (VBenchWeights.quality * q + VBenchWeights.semantic * s) / (VBenchWeights.quality + VBenchWeights.semantic))
    }

    /// Scores a set of videos. `name` is what the report calls each video (its path, usually).
    public func evaluate(videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)]) -> ScoreReport {
        let count = videos.count
        let results = contributions(videos: videos)
        var dims: [DimensionResult] = []
        for d in VBenchDimension.allCases {
            var num = 0.0, den = 0.0
            var vids: [VideoResult] = []
            var fractionNum = 0.0, fractionDen = 0.0
            var reasons: [String] = []
            for i in 0..<count {
                guard let c = results[i][d] else { continue }
                vids.append(VideoResult(videoPath: videos[i].name, videoResults: c.value, detail: c.detail, note: c.note))
                if c.value != nil { num += c.numerator; den += c.denominator }
                if let f = c.fraction { fractionNum += f; fractionDen += 1 }
                if c.value == nil, let n = c.note { reasons.append(n) }
            }
            var result = DimensionResult(dimension: d, score: nil, normalized: nil, fraction: nil, reason: nil, videos: vids)
            if !dimensions.contains(d) {
                result.reason = "not requested"
            } else if den > 0 {
                let raw = num / den
                result.score = raw
                result.normalized = d.normalized(raw)
                if fractionDen > 0 { result.fraction = fractionNum / fractionDen }
            } else {
                result.reason = Self.nullReason(d, count: count, notes: reasons)
            }
            if d == .dynamicDegree {
                let still = vids.filter { $0.detail?["still_prompt"] == 1 && $0.videoResults != nil }
                if !still.isEmpty {
                    let moving = still.filter { $0.videoResults == .flag(true) }.count
                    result.note = "clips of still prompts read as dynamic: \(moving) of \(still.count)"
                }
            }
            dims.append(result)
        }
        var report = ScoreReport(dimensions: dims, videoCount: count)
        if let total = report.totalScore, let groups = Self.seedGroups(videos.map { $0.prompt?.promptEn }) {
            report.totalScoreInterval = Self.totalInterval(estimate: total, contributions: results, groups: groups,
                                                           requested: dimensions)
        }
        return report
    }

    /// Every clip's contribution to every requested dimension (on all cores with `parallel`).
    func contributions(videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)]) -> [[VBenchDimension: Contribution]] {
        let count = videos.count
        let results = UnsafeMutableBufferPointer<[VBenchDimension: Contribution]>.allocate(capacity: count)
        results.initialize(repeating: [:])
        defer { results.deallocate() }
        nonisolated(unsafe) let out = results
        let work: @Sendable (Int) -> Void = { i in
            out[i] = self.evaluateOne(video: videos[i].video, prompt: videos[i].prompt)
        }
        if parallel && count > 1 {
            DispatchQueue.concurrentPerform(iterations: count, execute: work)
        } else {
            for i in 0..<count { work(i) }
        }
        return Array(results)
    }

    /// The clips' indices grouped by prompt, when every clip has a prompt and every prompt at least two
    /// clips (seeds); nil otherwise (no interval over seeds can be drawn).
    static func seedGroups(_ prompts: [String?]) -> [[Int]]? {
        var order: [String] = [], groups: [String: [Int]] = [:]
        for (i, p) in prompts.enumerated() {
            guard let p else { return nil }
            if groups[p] == nil { order.append(p) }
            groups[p, default: []].append(i)
        }
        guard !order.isEmpty, order.allSatisfy({ groups[$0]!.count >= 2 }) else { return nil }
        return order.map { groups[$0]! }
    }

    /// VBench's Total of a multiset of the clips (indices, repeats counted): each dimension re-aggregated
    /// as Σ numerator / Σ denominator over the clips, exactly as `evaluate` does for the whole set.
    static func total(of indices: [Int], contributions: [[VBenchDimension: Contribution]],
                      requested: Set<VBenchDimension>) -> Double? {
        var raw: [String: Double] = [:]
        for d in VBenchDimension.allCases where requested.contains(d) {
            var num = 0.0, den = 0.0
            for i in indices {
                guard let c = contributions[i][d], c.value != nil else { continue }
                num += c.numerator
                den += c.denominator
            }
            if den > 0 { raw[d.rawValue] = num / den }
        }
        return raw.isEmpty ? nil : aggregateVBench(raw: raw).total
    }

    /// Total's 95 % interval over seeds: the distribution report's bootstrap (each prompt's clips drawn
    /// with replacement, independently per prompt, 200 resamples from a fixed generator, centred on the
    /// full-set Total), so two models' Totals can be told apart from seed noise.
    static func totalInterval(estimate: Double, contributions: [[VBenchDimension: Contribution]], groups: [[Int]],
                              requested: Set<VBenchDimension>, resamples: Int = 200) -> [Double] {
        var rng = Bootstrap()
        var samples: [Double] = []
        samples.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var pick: [Int] = []
            for g in groups { pick += rng.resample(g.count).map { g[$0] } }
            if let t = total(of: pick, contributions: contributions, requested: requested) { samples.append(t) }
        }
        let ci = Bootstrap.interval(estimate: estimate, samples: samples)
        return [ci.low, ci.high]
    }

    static func nullReason(_ d: VBenchDimension, count: Int, notes: [String]) -> String {
        if count == 0 { return "no videos" }
        switch d {
        case .humanAction:
            return "needs a video action classifier (VBench: UMT on Kinetics-400); no honest pixel proxy, and the world has no people"
        case .appearanceStyle:
            return "needs a text-image model (VBench: CLIP similarity to a style phrase); no honest pixel proxy, and the world has no styles"
        case .scene:
            return notes.first ?? "no prompt carries a scene description the world can check (aux scene: colour and plain/gradient/texture)"
        default:
            if let n = notes.first { return n }
            switch d.group {
            case .quality: return "clips too short for this dimension"
            case .semantic: return "no prompt carries the auxiliary info this dimension needs"
            }
        }
    }

    /// One video's contribution to one dimension: its `video_results` value and its share of the
    /// dimension's aggregate (Σ numerator / Σ denominator over videos).
    struct Contribution: Sendable {
        var value: ResultValue?
        var numerator: Double = 0
        var denominator: Double = 0
        var fraction: Double? = nil
        var detail: [String: Double]? = nil
        var note: String? = nil
    }

    /// All requested dimensions of one video.
    func evaluateOne(video: RGBVideo, prompt: PromptEntry?) -> [VBenchDimension: Contribution] {
        var out: [VBenchDimension: Contribution] = [:]
        guard video.frameCount >= 1 else { return out }
        let a = ClipAnalysis(video: video)
        let aux = prompt?.auxiliaryInfo
        // VBench evaluates each dimension on its own prompt list: with a prompt whose `dimension` list is
        // given, only the dimensions it names are scored on this clip (dynamic degree is not rewarded on
        // prompts that ask for no motion, for instance).
        var want = dimensions
        if let listed = prompt?.dimension, !listed.isEmpty {
            want = want.filter { listed.contains($0.rawValue) }
        }
        let frames = Double(video.frameCount)

        if want.contains(.subjectConsistency) {
            let s = ConsistencyScore.frameScores(a.planes.indices.map { FrameDescriptors.subject(a.planes[$0], objects: a.segmentation[$0].objects, background: a.segmentation[$0].background) })
            out[.subjectConsistency] = s.isEmpty ? Contribution(value: nil, note: "needs at least two frames")
                : Contribution(value: .number(s.reduce(0, +) / Double(s.count)), numerator: s.reduce(0, +), denominator: Double(s.count))
        }
        if want.contains(.backgroundConsistency) {
            let s = ConsistencyScore.frameScores(a.planes.map(FrameDescriptors.background))
            out[.backgroundConsistency] = s.isEmpty ? Contribution(value: nil, note: "needs at least two frames")
                : Contribution(value: .number(s.reduce(0, +) / Double(s.count)), numerator: s.reduce(0, +), denominator: Double(s.count))
        }
        if want.contains(.temporalFlickering) {
            if let f = TemporalFlickering.score(video) {
                let isStatic = a.isStatic ?? false
                out[.temporalFlickering] = Contribution(value: .number(f), numerator: f, denominator: 1,
                                                        detail: ["static": isStatic ? 1 : 0])
            } else {
                out[.temporalFlickering] = Contribution(value: nil, note: "needs at least two frames")
            }
        }
        if want.contains(.motionSmoothness) {
            if let m = MotionSmoothness.score(video, planes: a.planes) {
                out[.motionSmoothness] = Contribution(value: .number(m), numerator: m, denominator: 1)
            } else {
                out[.motionSmoothness] = Contribution(value: nil, note: "needs at least three frames")
            }
        }
        if want.contains(.dynamicDegree) {
            if let d = a.dynamicDegree {
                var detail = ["threshold": d.threshold, "count_needed": Double(d.countNeeded),
                              "count_above": Double(d.countAbove), "max_pair_score": d.pairScores.max() ?? 0]
                // With the world's facts: whether the prompt asked for no motion at all (a dynamic clip of
                // such a prompt is motion nobody asked for, which VBench's dynamic degree still rewards).
                if let w = aux?.world {
                    detail["still_prompt"] = w.cameraMotion == "still" && w.objects.allSatisfy { $0.motion == "still" } ? 1 : 0
                }
                out[.dynamicDegree] = Contribution(value: .flag(d.dynamic), numerator: d.dynamic ? 1 : 0, denominator: 1,
                                                   detail: detail)
            } else {
                out[.dynamicDegree] = Contribution(value: nil, note: "needs at least two frames at ~8 fps")
            }
        }
        if want.contains(.aestheticQuality) {
            let s = a.pictureMeasures.map(AestheticQualityProxy.frameScore)
            let m = s.reduce(0, +) / Double(s.count)
            out[.aestheticQuality] = Contribution(value: .number(m), numerator: m, denominator: 1)
        }
        if want.contains(.imagingQuality) {
            let ms = a.pictureMeasures
            let s = ms.map(ImagingQualityProxy.frameScore)
            let m = s.reduce(0, +) / Double(s.count)
            let n = Double(ms.count)
            out[.imagingQuality] = Contribution(value: .number(m), numerator: m / 100, denominator: 1,
                                                detail: ["acutance": ms.reduce(0) { $0 + $1.acutance } / n,
                                                         "noise_sigma": ms.reduce(0) { $0 + $1.noiseSigma } / n,
                                                         "blockiness": ms.reduce(0) { $0 + $1.blockiness } / n])
        }
        if want.contains(.objectClass), let info = aux?.objectClass {
            if let r = SemanticChecks.objectClass(a, info) {
                out[.objectClass] = Contribution(value: .number(r.success / r.frames), numerator: r.success, denominator: r.frames)
            } else {
                out[.objectClass] = Contribution(value: nil, note: "object \"\(info.object)\" is not one of the world's shapes (circle, square, triangle, diamond)")
            }
        }
        if want.contains(.multipleObjects), let info = aux?.multipleObjects {
            if let r = SemanticChecks.multipleObjects(a, info) {
                out[.multipleObjects] = Contribution(value: .number(r.success / r.frames), numerator: r.success, denominator: r.frames)
            } else {
                out[.multipleObjects] = Contribution(value: nil, note: "objects \"\(info.object)\" are not \"A and B\" of the world's shapes")
            }
        }
        if want.contains(.color), let info = aux?.color {
            if let r = SemanticChecks.color(a, info, prompt: prompt?.promptEn ?? "") {
                if r.den > 0 {
                    let v = r.num / r.den
                    out[.color] = Contribution(value: .number(v), numerator: v, denominator: 1,
                                               detail: ["frames_named": r.den, "frames_matching": r.num])
                } else {
                    out[.color] = Contribution(value: nil, note: "object never found, video dropped as VBench drops it")
                }
            } else {
                out[.color] = Contribution(value: nil, note: "colour \"\(info.color)\" is not one of VBench's nine")
            }
        }
        if want.contains(.spatialRelationship), let info = aux?.spatialRelationship {
            if let r = SemanticChecks.spatial(a, info) {
                var detail: [String: Double] = ["frames_both_found": r.directionFrames]
                if r.directionFrames > 0 { detail["direction_correct"] = r.directionOK / r.directionFrames }
                out[.spatialRelationship] = Contribution(value: .number(r.sum / r.frames), numerator: r.sum, denominator: r.frames,
                                                         detail: detail)
            } else {
                out[.spatialRelationship] = Contribution(value: nil, note: "objects of the relation are not the world's shapes")
            }
        }
        if want.contains(.scene), let info = aux?.scene {
            if let r = SemanticChecks.scene(a, description: info.scene) {
                out[.scene] = Contribution(value: .number(r.success / r.frames), numerator: r.success, denominator: r.frames)
            } else {
                out[.scene] = Contribution(value: nil, note: "scene \"\(info.scene)\" names no background colour or kind the world can check")
            }
        }
        if want.contains(.temporalStyle), let info = aux?.temporalStyle {
            if let r = SemanticChecks.temporalStyle(a, info, world: aux?.world) {
                let f = Double(r.passed) / Double(r.checked)
                let raw = f * VBenchDimension.temporalStyle.normMax
                out[.temporalStyle] = Contribution(value: .number(raw), numerator: raw, denominator: 1, fraction: f,
                                                   detail: ["checks": Double(r.checked), "passed": Double(r.passed)], note: r.note)
            } else {
                out[.temporalStyle] = Contribution(value: nil, note: "neither the camera nor the object motion was checkable")
            }
        }
        if want.contains(.overallConsistency), let world = aux?.world {
            if let r = SemanticChecks.overall(a, world) {
                let f = Double(r.passed) / Double(r.checked)
                let raw = f * VBenchDimension.overallConsistency.normMax
                out[.overallConsistency] = Contribution(value: .number(raw), numerator: raw, denominator: 1, fraction: f,
                                                        detail: ["facts": Double(r.checked), "held": Double(r.passed)],
                                                        note: r.failed.isEmpty ? nil : "failed: " + r.failed.joined(separator: "; "))
            } else {
                out[.overallConsistency] = Contribution(value: nil, note: "no checkable fact")
            }
        }
        _ = frames
        for d in [VBenchDimension.humanAction, .appearanceStyle] where want.contains(d) {
            out[d] = nil
        }
        return out
    }
}
