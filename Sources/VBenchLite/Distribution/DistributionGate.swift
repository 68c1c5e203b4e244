import Foundation

/// The regression gate on the distribution section: a largest allowed fall in recall and in mean
/// diversity (absolute, on their 0–1 scales) and a largest allowed rise in the conditional Frechet
/// distance, against a baseline report scored on the same reference.
public struct DistributionGate: Sendable, Equatable {
    public var maxRecallDrop: Double?
    public var maxDiversityDrop: Double?
    public var maxFrechetRise: Double?

    public init(maxRecallDrop: Double? = nil, maxDiversityDrop: Double? = nil, maxFrechetRise: Double? = nil) {
        self.maxRecallDrop = maxRecallDrop
        self.maxDiversityDrop = maxDiversityDrop
        self.maxFrechetRise = maxFrechetRise
    }

    public var isEmpty: Bool { maxRecallDrop == nil && maxDiversityDrop == nil && maxFrechetRise == nil }

    /// One line per failed limit (empty when the current report holds them all).
    public func failures(current: DistributionReport, baseline: DistributionReport) -> [String] {
        var out: [String] = []
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        func check(_ name: String, _ limit: Double?, rise: Bool) {
            guard let limit else { return }
            guard let b = baseline[name]?.value else { out.append("\(name): the baseline has no value"); return }
            guard let c = current[name]?.value else { out.append("\(name): no value now (baseline \(f(b)))"); return }
            let change = rise ? c - b : b - c
            if change > limit {
                out.append("\(name): \(f(b)) -> \(f(c)) (\(rise ? "rose" : "fell") \(f(change)), at most \(f(limit)) allowed)")
            }
        }
        check("recall", maxRecallDrop, rise: false)
        check("diversity", maxDiversityDrop, rise: false)
        check("frechet_distance", maxFrechetRise, rise: true)
        return out
    }
}
