/// The regression gate: does a report's Total fall more than `maxDrop` points (VBench's 0-100 scale)
/// below a baseline's, and which dimensions fell?
///
/// Both Totals are recomputed over the dimensions the two reports share, with VBench's weights, so a
/// dimension that appears or disappears (a suite without aux info, say) cannot fake a change.
public struct BaselineComparison: Sendable, Equatable {
    public struct Fall: Sendable, Equatable {
        public var dimension: String
        public var baseline: Double
        public var current: Double
        /// Change of the dimension's contribution to Total, in points (negative = worse).
        public var totalPoints: Double
    }

    public var regressed: Bool
    public var baselineTotal: Double
    public var currentTotal: Double
    /// Current − baseline, points on VBench's 0-100 scale.
    public var change: Double
    /// Dimensions whose raw value fell, the largest loss of Total first.
    public var fallenDimensions: [Fall]
    public var dimsCompared: [String]

    /// Compares raw per-dimension values.
    public static func compare(current: [String: Double], baseline: [String: Double], maxDrop: Double) -> BaselineComparison {
        let shared = VBenchDimension.allCases.filter { current[$0.rawValue] != nil && baseline[$0.rawValue] != nil }
        var cur: [String: Double] = [:], base: [String: Double] = [:]
        for d in shared {
            cur[d.rawValue] = current[d.rawValue]
            base[d.rawValue] = baseline[d.rawValue]
        }
        let ct = VBenchLite.aggregate(raw: cur).total ?? 0
        let bt = VBenchLite.aggregate(raw: base).total ?? 0
        // Contribution of one dimension to Total: its normalised value / group weight sum · group share.
        let qSum = shared.filter { $0.group == .quality }.reduce(0) { $0 + $1.weight }
        let sSum = shared.filter { $0.group == .semantic }.reduce(0) { $0 + $1.weight }
        let hasQ = qSum > 0, hasS = sSum > 0
        let groupShare: (VBenchDimension) -> Double = { d in
            if d.group == .quality {
                return (hasS ? VBenchWeights.quality / (VBenchWeights.quality + VBenchWeights.semantic) : 1) / qSum
            }
            return (hasQ ? VBenchWeights.semantic / (VBenchWeights.quality + VBenchWeights.semantic) : 1) / sSum
        }
        var falls: [Fall] = []
        for d in shared {
            guard let c = cur[d.rawValue], let b = base[d.rawValue], c < b - 1e-9 else { continue }
            let pts = (d.normalized(c) - d.normalized(b)) * groupShare(d) * 100
            falls.append(Fall(dimension: d.rawValue, baseline: b, current: c, totalPoints: pts))
        }
        falls.sort { $0.totalPoints < $1.totalPoints }
        let change = (ct - bt) * 100
        return BaselineComparison(regressed: -change > maxDrop, baselineTotal: bt * 100, currentTotal: ct * 100,
                                  change: change, fallenDimensions: falls, dimsCompared: shared.map(\.rawValue))
    }
}

extension BaselineComparison {
    /// Per-dimension gate: dimensions of the baseline whose raw value fell by more than `maxDrop` points on
    /// the 0-100 raw scale, or that have no value now. Each entry says which and by how much.
    public static func dimensionFailures(current: [String: Double], baseline: [String: Double],
                                         maxDrop: Double) -> [String] {
        VBenchDimension.allCases.compactMap { d in
            guard let b = baseline[d.rawValue] else { return nil }
            guard let c = current[d.rawValue] else { return "\(d.rawValue): no value now (baseline \(fmt(b * 100)))" }
            let fall = (b - c) * 100
            return fall > maxDrop ? "\(d.rawValue): \(fmt(b * 100)) -> \(fmt(c * 100)) (fell \(fmt(fall)) points, at most \(fmt(maxDrop)) allowed)" : nil
        }
    }

    private static func fmt(_ v: Double) -> String { String(format: "%.2f", v) }
}

extension VBenchLite {
    /// The regression gate on two reports: `regressed` when Total drops by more than `maxDrop` points.
    public static func compare(_ report: ScoreReport, baseline: ScoreReport, maxDrop: Double)
        -> (regressed: Bool, fallenDimensions: [BaselineComparison.Fall]) {
        let c = BaselineComparison.compare(current: report.rawScores, baseline: baseline.rawScores, maxDrop: maxDrop)
        return (c.regressed, c.fallenDimensions)
    }
}
