import Dispatch
import Foundation
import ShapeWorld
import VBenchLite
import VideoCommon
import VideoIO

/// The reference clips the distribution metrics are measured against on the embedded world: the
/// world's own clips of each prompt (it knows the truth for every prompt of its grammar, as FID/FVD use
/// real data). `tdm-video score` and the distiller's evaluations both use it.
///
/// World seeds: the reference uses seeds 1,000,000 + i (i < `referenceSeeds`), the floor (the world
/// scored as if it were the model) 2,000,000 + i, one per evaluated clip of the prompt; `sample` draws
/// seeds from 0 up, so the three sets are disjoint for any `--seed` below 1,000,000. Each world clip is
/// rendered at the evaluated clips' size, frame count and rate and goes through the same MP4 round
/// trip as `sample`'s clips, so the codec is on both sides.
public enum WorldReference {
    public static let referenceSeedBase: UInt64 = 1_000_000
    public static let floorSeedBase: UInt64 = 2_000_000

    /// Whether a prompt asks for no motion at all: from the suite's world facts, else from the grammar.
    public static func isStill(_ prompt: String, entry: PromptEntry?) -> Bool {
        if let w = entry?.auxiliaryInfo?.world {
            return w.cameraMotion == "still" && w.objects.allSatisfy { $0.motion == "still" }
        }
        if let s = try? Grammar.parse(prompt) { return s.camera == .still && s.objects.allSatisfy { $0.motion == .still } }
        return false
    }

    /// Delivered clips grouped by prompt, in first-seen order: the suite entry's prompt, else
    /// `fallback(name)` (e.g. the prompt read from a VBench file name).
    public static func groups(_ videos: [(name: String, video: RGBVideo, prompt: PromptEntry?)],
                              fallback: (String) -> String = { $0 }) -> [(prompt: String, entry: PromptEntry?, clips: [RGBVideo])] {
        var order: [String] = []
        var groups: [String: (entry: PromptEntry?, clips: [RGBVideo])] = [:]
        for v in videos {
            let key = v.prompt?.promptEn ?? fallback(v.name)
            if groups[key] == nil { order.append(key); groups[key] = (v.prompt, []) }
            groups[key]!.clips.append(v.video)
        }
        return order.map { (prompt: $0, entry: groups[$0]!.entry, clips: groups[$0]!.clips) }
    }

    /// Per prompt: the world's reference and floor clips, as ClipFeatures. Prompts outside the grammar
    /// are left out (returned in `skipped`). Each prompt's clips are rendered in the world its suite
    /// entry names (world facts' `detail`), or in `detail` for a prompt without an entry.
    public static func prompts(groups: [(prompt: String, entry: PromptEntry?, clips: [RGBVideo])], referenceSeeds: Int,
                      scratch: URL, detail: WorldDetail = .coarse) throws -> (prompts: [DistributionPrompt], skipped: [String]) {
        var jobList: [(group: Int, seed: UInt64, floor: Bool, spec: SceneSpec, like: RGBVideo, detail: WorldDetail)] = []
        var skipped: [String] = []
        for (g, group) in groups.enumerated() {
            guard let first = group.clips.first else { continue }
            guard let spec = try? Grammar.parse(group.prompt) else { skipped.append(group.prompt); continue }
            let world = group.entry?.worldDetail ?? detail
            for i in 0..<referenceSeeds { jobList.append((g, referenceSeedBase + UInt64(i), false, spec, first, world)) }
            for i in 0..<group.clips.count { jobList.append((g, floorSeedBase + UInt64(i), true, spec, first, world)) }
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
                let clip = WorldRenderer(width: v.width, height: v.height, frames: v.frameCount, fps: v.fps, detail: job.detail)
                    .render(job.spec, seed: job.seed)
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

    /// The distribution section for delivered clips grouped by prompt, against the world's clips
    /// (`referenceSeeds` per prompt) and a floor; nil when no prompt is in the world's grammar.
    public static func report(groups: [(prompt: String, entry: PromptEntry?, clips: [RGBVideo])], referenceSeeds: Int,
                              bootstrap: Int = 200, detail: WorldDetail = .coarse) throws -> DistributionReport? {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tdm-ref-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let found = try prompts(groups: groups, referenceSeeds: referenceSeeds, scratch: scratch, detail: detail)
        guard !found.prompts.isEmpty else { return nil }
        var r = DistributionEvaluator(bootstrap: bootstrap).evaluate(found.prompts, referenceLabel: label(referenceSeeds))
        if !found.skipped.isEmpty {
            r?.notes.append("\(found.skipped.count) prompt(s) without reference clips left out, e.g. \"\(found.skipped[0])\"")
        }
        return r
    }

    /// How a report names this reference.
    public static func label(_ referenceSeeds: Int) -> String {
        "the world's clips, \(referenceSeeds) seeds per prompt from \(referenceSeedBase)"
    }
}
