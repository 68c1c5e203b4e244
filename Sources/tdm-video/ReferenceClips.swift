import Foundation
import VideoCommon
import ShapeWorld
import TDMVideo
import VBenchLite
import VideoIO

/// The reference clips `tdm-video score` measures the distribution metrics against: the world's own
/// clips of each prompt (`WorldReference`, shared with the distiller's evaluations), or a folder of the
/// user's clips named as VBench names them.
enum ReferenceClips {
    /// Per prompt: the user's reference clips from `dir` (VBench's `{prompt}-{i}.mp4` naming). When a
    /// prompt has at least two more reference clips than evaluated ones, its last N (N = evaluated clips)
    /// are set aside as the floor; otherwise the report has no floor.
    static func folder(_ dir: String, groups: [(prompt: String, entry: PromptEntry?, clips: [RGBVideo])]) throws
        -> (prompts: [DistributionPrompt], skipped: [String]) {
        let files = try VideoSuiteMatching.expand([dir])
        var byPrompt: [String: [URL]] = [:]
        for f in files { byPrompt[promptKey(f), default: []].append(f) }
        var out: [DistributionPrompt] = [], skipped: [String] = []
        for group in groups {
            guard let urls = byPrompt[group.prompt], !urls.isEmpty else { skipped.append(group.prompt); continue }
            let feats = try ScoreCommand.decodeAll(urls.sorted { $0.path < $1.path }).map(ClipFeatures.extract)
            let n = group.clips.count
            let (ref, floor) = feats.count >= n + 2 ? (Array(feats.prefix(feats.count - n)), Array(feats.suffix(n))) : (feats, [])
            out.append(DistributionPrompt(prompt: group.prompt, still: WorldReference.isStill(group.prompt, entry: group.entry),
                                          evaluated: group.clips.map(ClipFeatures.extract), reference: ref, floor: floor))
        }
        return (out, skipped)
    }

    /// The prompt a file stands for under VBench's naming: the stem without a trailing "-<digits>".
    static func promptKey(_ url: URL) -> String {
        let stem = url.deletingPathExtension().lastPathComponent
        if let dash = stem.lastIndex(of: "-") {
            let suffix = stem[stem.index(after: dash)...]
            if !suffix.isEmpty, suffix.allSatisfy(\.isNumber) { return String(stem[..<dash]) }
        }
        return stem
    }
}
