/// A runtime failure of a verb (unreadable input, unwritable output): exit code 1 with its message.
/// (ArgumentParser's ValidationError is for bad usage and exits 64.)
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ m: String) { description = m }
}

extension String {
    /// Help text written with hard line breaks, re-flowed so that ArgumentParser can wrap it to the
    /// terminal: the lines of a paragraph are joined; blank lines, indented lines (examples) and the line
    /// after one ending in ":" keep their own lines.
    var paragraphs: String {
        var out: [String] = []
        for line in split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let last = out.last, !last.isEmpty, !last.hasPrefix(" "), !last.hasSuffix(":"), !line.isEmpty, !line.hasPrefix(" ") {
                out[out.count - 1] = last + " " + line
            } else {
                out.append(line)
            }
        }
        return out.joined(separator: "\n")
    }
}
