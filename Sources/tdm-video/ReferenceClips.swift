import Dispatch
import Foundation
import VideoCommon
import ShapeWorld
import VBenchLite
import VideoIO

/// The reference clips `tdm-video score` measures the distribution metrics against: the world's own
/// clips of each prompt (the world knows the truth for every prompt of its grammar, as FID/FVD use real
/// data), or a folder of the user's clips named as VBench names them.
///
/// World seeds: the reference uses seeds 1,000,000 + i (i < `referenceSeeds`), the floor (the world
/// scored as if it were the model) 2,000,000 + i, one per evaluated clip of the prompt; `sample` draws
/// seeds from 0 up, so the three sets are disjoint for any `--seed` below 1,000,000. Each world clip is
/// rendered at the evaluated clips' size, frame count and rate and goes through the same MP4 round
/// trip as `sample`'s clips, so the codec is on both sides.
enum ReferenceClips {
    static let referenceSeedBase: UInt64 = 1_000_000
    static let floorSeedBase: UInt64 = 2_000_000

    /// Whether a prompt asks for no motion at all: from the suite's world facts, else from the grammar.
    static func isStill(_ prompt: String, entry: PromptEntry?) -> Bool {
        if let w = entry?.auxiliaryInfo?.world {
            return w.cameraMotion == "still" && w.objects.allSatisfy { $0.motion == "still" }
        }
        if let s = try? Grammar.parse(prompt) { return s.camera == .still && s.objects.allSatisfy { $0.motion == .still } }
        return false
    }

    /// Per prompt: the world's reference and floor clips, as ClipFeatures. Prompts outside the grammar
    /// are left out (returned in `skipped`).
    static func world(groups: [(prompt: String, entry: PromptEntry?, clips: [RGBVideo])], referenceSeeds: Int,
                      scratch: URL) throws -> (prompts: [DistributionPrompt], skipped: [String]) {
        var jobList: [(group: Int, seed: UInt64, floor: Bool, spec: SceneSpec, like: RGBVideo)] = []
        var skipped: [String] = []
        for (g, group) in groups.enumerated() {
            guard let first = group.clips.first else { continue }
            guard let spec = try? Grammar.parse(group.prompt) else { skipped.append(group.prompt); continue }
            for i in 0..<referenceSeeds { jobList.append((g, referenceSeedBase + UInt64(i), false, spec, first)) }
            for i in 0..<group.clips.count { jobList.append((g, floorSeedBase + UInt64(i), true, spec, first)) }
        }
        let jobs = jobList
        let results = UnsafeMutableBufferPointer<Result<[Double], Error>?>.allocate(capacity: jobs.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
            let job = jobs[j]
            slots[j] = Result {
                let v = job.like
                let clip = WorldRenderer(width: v.width, height: v.height, frames: v.frameCount, fps: v.fps).render(job.spec, seed: job.seed)
                let url = scratch.appendingPathComponent("ref-\(j).mp4")
                defer { try? FileManager.default.removeItem(at: url) }
                try VideoWriter().write(clip, to: url)
                return ClipFeatures.extract(try VideoReader.read(url))
            }
        }
        var ref = [[[Double]]](repeating: [], count: groups.count), floor = ref
        for (j, job) in jobs.enumerated() {
            guard let r = results[j] else { continue }
            let f = try r.get()
            if job.floor { floor[job.group].append(f) } else { ref[job.group].append(f) }
        }
        var out: [DistributionPrompt] = []
        for (g, group) in groups.enumerated() where !ref[g].isEmpty {
            out.append(DistributionPrompt(prompt: group.prompt, still: isStill(group.prompt, entry: group.entry),
                                          evaluated: group.clips.map(ClipFeatures.extract), reference: ref[g], floor: floor[g]))
        }
        return (out, skipped)
    }

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
            out.append(DistributionPrompt(prompt: group.prompt, still: isStill(group.prompt, entry: group.entry),
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
