import ArgumentParser
import AtomicFiles
import Foundation
import ShapeWorld
import TensorCore
import VBenchLite
import VideoCommon

/// `tdm-video world`: the embedded procedural world (the teacher's training data and the ground truth).
struct WorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "world",
        abstract: "The embedded text-to-video world: render its clips, list its prompts, write its suites.",
        subcommands: [WorldRender.self, WorldSuite.self, WorldPrompts.self, WorldCodec.self])
}

struct WorldSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Write a prompt suite (VBench *_full_info.json layout) of held-out prompts.",
        discussion: """
        --detail fine writes the fine world's suites: the same held-out prompts, some naming a fill \
        ("a striped red circle"), with "detail": "fine" in each prompt's world facts, so scoring renders \
        their reference clips in the fine world.

        Examples:
          tdm-video world suite --which heldout --out configs/suites/heldout_full_info.json
          tdm-video world suite --which heldout --detail fine --out configs/suites/heldout_fine_info.json
        """.paragraphs)

    /// The world's suites.
    enum Suite: String, CaseIterable, ExpressibleByArgument {
        /// 26 prompts never seen in training.
        case heldout
        /// 8 of them.
        case quick
        /// 26 other unseen prompts, for choosing settings.
        case validation
        func entries(_ detail: WorldDetail) -> [PromptEntry] {
            switch self {
            case .heldout: return WorldSplit.heldOutSuite(detail: detail)
            case .quick: return WorldSplit.quickSuite(detail: detail)
            case .validation: return WorldSplit.validationSuite(detail: detail)
            }
        }
    }

    @Option(help: "heldout (26 prompts never seen in training), quick (8 of them) or validation (26 other unseen prompts, for choosing settings).")
    var which: Suite = .heldout

    @Option(help: "The world: coarse (the original) or fine (fine detail, fill words).")
    var detail: WorldDetail = .coarse

    @Option(help: "Output file.")
    var out: String

    func run() throws {
        let entries = which.entries(detail)
        let url = URL(fileURLWithPath: out)
        try AtomicFile.write(try PromptSuite.encode(entries) + Data("\n".utf8), to: url)
        print("wrote \(entries.count) prompts to \(out)")
    }
}

struct WorldPrompts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompts",
        abstract: "Print training prompts the world draws (one per line), or the grammar with --grammar.",
        discussion: """
        Example:
          tdm-video world prompts --count 10 --seed 3
        """.paragraphs)

    @Option(help: "How many prompts.")
    var count: Int = 10

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(help: "Print the prompt grammar instead.")
    var grammar = false

    @Option(help: "The world whose training prompts to draw: coarse (never names a fill) or fine.")
    var detail: WorldDetail = .coarse

    func run() throws {
        if grammar { print(Grammar.help); return }
        var rng = RNG(seed: seed)
        for _ in 0..<max(0, count) { print(Grammar.prompt(WorldSplit.sampleTrainingScene(&rng, detail: detail))) }
    }
}

struct WorldRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render the world's own clip for a prompt (the ground truth a model should produce).",
        discussion: """
        The prompt must be in the world's grammar (`tdm-video world prompts --grammar`). The output is an MP4,
        or a PNG contact sheet / animated GIF when the file name ends in .png / .gif.

        Example:
          tdm-video world render "a red circle moving left, textured background" --seed 1 --out clip.mp4
          tdm-video world render "a striped red circle, plain background" --detail fine --out clip.png
        """.paragraphs)

    @Argument(help: "A prompt in the world's grammar.")
    var prompt: String

    @Option(help: "Layout seed.")
    var seed: UInt64 = 0

    @Option(help: "Output .mp4, .gif or .png (contact sheet).")
    var out: String

    @Option(help: "Width in pixels.") var width: Int = 32
    @Option(help: "Height in pixels.") var height: Int = 32
    @Option(help: "Frames.") var frames: Int = 16
    @Option(help: "Frames per second.") var fps: Double = 8
    @Option(help: "The world: coarse (the original) or fine (fine texture, random fills, specks, wider layouts).")
    var detail: WorldDetail = .coarse

    func validate() throws {
        guard (8...1024).contains(width), (8...1024).contains(height) else { throw ValidationError("--width and --height must be in 8...1024") }
        guard (1...1024).contains(frames) else { throw ValidationError("--frames must be in 1...1024") }
        guard fps > 0 && fps <= 240 else { throw ValidationError("--fps must be in (0, 240]") }
    }

    func run() throws {
        let video = try WorldRenderer(width: width, height: height, frames: frames, fps: fps, detail: detail).render(prompt: prompt, seed: seed)
        try writeClip(video, to: out, label: prompt)
        print("wrote \(out)")
    }
}
