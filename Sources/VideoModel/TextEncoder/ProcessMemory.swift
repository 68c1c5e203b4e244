import Foundation

/// The process's resident memory as Linux reports it in `/proc/self/status`: `VmHWM` (the peak resident set
/// since the process started) and `VmRSS` (now). nil where that file does not exist (macOS).
public enum ProcessMemory {
    /// Peak resident set size in bytes (`VmHWM`).
    public static func peakResidentBytes() -> Int? { field("VmHWM:") }

    /// Current resident set size in bytes (`VmRSS`).
    public static func residentBytes() -> Int? { field("VmRSS:") }

    /// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs); false if refused.
    @discardableResult public static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        do { try h.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// CPU seconds used by all threads of the process so far.
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The 1-minute load average (/proc/loadavg), or nil.
    public static func loadAverage() -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return s.split(separator: " ").first.flatMap { Double($0) }
    }

    static func field(_ name: String) -> Int? {
        // /proc files report a size of 0, so read until end of file rather than by the reported size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status") else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd(), let text = String(data: data, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            // "VmHWM:    123456 kB"
            let parts = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let value = parts.first.flatMap({ Int($0) }) else { return nil }
            return parts.count > 1 && parts[1] == "kB" ? value * 1024 : value
        }
        return nil
    }
}
