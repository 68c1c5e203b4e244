import Foundation

/// How much memory a model or a run may take, and the refusal when an estimate exceeds it.
///
/// The estimates are made from validated sizes before anything large is allocated, so a config or model
/// folder that would need more than the machine has stops with the figure instead of a fatal allocation
/// (or minutes of swapping). The default limit is the machine's physical memory; `--max-memory` on
/// `sample`, `pretrain` and `distill` sets a lower one.
public struct MemoryBudget: Sendable, Equatable {
    /// The limit in bytes.
    public var bytes: Int
    /// Where the limit comes from, for the message ("the machine's memory", "--max-memory 2G").
    public var origin: String

    public init(bytes: Int, origin: String) {
        self.bytes = bytes
        self.origin = origin
    }

    /// The machine's physical memory.
    public static var machine: MemoryBudget {
        MemoryBudget(bytes: Int(clamping: ProcessInfo.processInfo.physicalMemory), origin: "the machine's memory")
    }

    /// `--max-memory`: a number of bytes with an optional K, M, G or T suffix (powers of 1024), e.g. `8G`,
    /// `512M`, `1.5G`. Nil when the text is not such a size (between 1 MiB and 1 PiB).
    public static func parse(_ text: String) -> MemoryBudget? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard !t.isEmpty else { return nil }
        var number = Substring(t), scale = 1.0
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024]
        if let last = number.last, last == "B" { number = number.dropLast() }
        if let last = number.last, let u = units[last] { scale = u; number = number.dropLast() }
        guard let v = Double(number), v.isFinite else { return nil }
        let b = v * scale
        guard b >= 1024 * 1024, b <= 1024.0 * 1024 * 1024 * 1024 * 1024 else { return nil }
        return MemoryBudget(bytes: Int(b), origin: "--max-memory \(text)")
    }

    /// A byte count as people read it (GiB/MiB with one decimal).
    public static func describe(_ bytes: Double) -> String {
        let g = bytes / (1024 * 1024 * 1024)
        if g >= 1000 { return String(format: "%.3g GiB", g) }
        if g >= 1 { return String(format: "%.1f GiB", g) }
        return String(format: "%.1f MiB", bytes / (1024 * 1024))
    }

    /// Throws unless `bytes` (an estimate, Double so that absurd sizes cannot overflow) fits the budget.
    /// `what` says what would need the memory and is the start of the message ("model /m (config.json)").
    public func check(_ bytes: Double, for what: String) throws(MemoryBudgetError) {
        guard bytes.isFinite, bytes <= Double(self.bytes) else {
            throw MemoryBudgetError(subject: what, needed: bytes, limit: self)
        }
    }
}

/// An estimate over the budget: what needs the memory, the figure and the limit.
public struct MemoryBudgetError: Error, CustomStringConvertible {
    public var subject: String
    public var needed: Double
    public var limit: MemoryBudget
    public var description: String {
        "\(subject): needs about \(MemoryBudget.describe(needed)) of memory, more than \(limit.origin) (\(MemoryBudget.describe(Double(limit.bytes))))"
            + "; make the sizes smaller"
    }
}
