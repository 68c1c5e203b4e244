/// File names made from prompts (`sample --prompts` writes VBench's `{prompt}-{i}.mp4`), made safe and
/// short before any rendering starts: `/`, NUL and control characters become spaces, a leading dot
/// becomes `_` (no hidden files), and a prompt longer than 180 UTF-8 bytes is cut at a character boundary
/// and ends with `~` and 8 hex digits of its hash, so that distinct long prompts keep distinct names and
/// every name stays far below the 255-byte limit of file systems.
enum OutputName {
    static let maxPromptBytes = 180

    static func forPrompt(_ prompt: String) -> String {
        var safe = String(prompt.map { c -> Character in
            c == "/" || c == "\\" || c.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.value == 0 } ? " " : c
        })
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }
        guard safe.utf8.count > maxPromptBytes else { return safe }
        var cut = ""
        for c in safe {
            if cut.utf8.count + String(c).utf8.count > maxPromptBytes - 9 { break }
            cut.append(c)
        }
        var h: UInt32 = 0x811C_9DC5
        for b in prompt.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        let hex = String(h, radix: 16)
        return cut + "~" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}
