import Foundation
import VideoCommon

/// Matches video files to prompts with VBench's naming convention, `{prompt}-{i}.mp4` (also a bare
/// `{prompt}.mp4`), as VBench's `evaluate` does when it looks up a video's prompt.
public enum VideoSuiteMatching {
    /// The prompt a file name stands for, if any entry of the suite has it as `prompt_en`.
    public static func entry(forFile url: URL, in suite: [String: PromptEntry]) -> PromptEntry? {
        let stem = url.deletingPathExtension().lastPathComponent
        if let e = suite[stem] { return e }
        if let dash = stem.lastIndex(of: "-") {
            let suffix = stem[stem.index(after: dash)...]
            if !suffix.isEmpty, suffix.allSatisfy(\.isNumber), let e = suite[String(stem[..<dash])] { return e }
        }
        return nil
    }

    /// The suite keyed by `prompt_en` (the first entry wins when a prompt repeats).
    public static func index(_ entries: [PromptEntry]) -> [String: PromptEntry] {
        var out: [String: PromptEntry] = [:]
        for e in entries where out[e.promptEn] == nil { out[e.promptEn] = e }
        return out
    }

    /// File extensions scored when a directory is given.
    public static let videoExtensions: Set<String> = ["mp4", "mov", "mkv", "webm", "avi", "gif", "m4v"]

    /// Expands paths (files or directories, not recursive) to video files, sorted within a directory.
    public static func expand(_ paths: [String]) throws -> [URL] {
        var out: [URL] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                throw ScoreError("\(p): no such file or directory")
            }
            let url = URL(fileURLWithPath: p)
            if isDir.boolValue {
                let names: [String]
                do { names = try FileManager.default.contentsOfDirectory(atPath: p) } catch {
                    throw ScoreError("\(p): cannot list the directory (\(error.localizedDescription))")
                }
                let vids = names.filter { !$0.hasPrefix(".") && videoExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                if vids.isEmpty {
                    throw ScoreError("\(p): no video files in this directory (looked for .\(videoExtensions.sorted().joined(separator: ", .")))")
                }
                out += vids.map { url.appendingPathComponent($0) }
            } else {
                out.append(url)
            }
        }
        return out
    }
}
