import ArgumentParser
import Foundation
import ShapeWorld
import TensorCore
import VBenchLite

/// `tdm-video world`: the embedded procedural world (the teacher's training data and the ground truth).
struct WorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "world",
        abstract: "The embedded text-to-video world: render its clips, list its prompts, write its suites.",
        subcommands: [WorldSuite.self, WorldPrompts.self])
}

struct WorldSuite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Write a prompt suite (VBench *_full_info.json layout) of held-out prompts.",
        discussion: """
        Example:
          tdm-video world suite --which heldout --out configs/suites/heldout_full_info.json
        """)

    @Option(help: "heldout (26 prompts never seen in training) | quick (8 of them)")
    var which: String = "heldout"

    @Option(help: "Output file.")
    var out: String

    func validate() throws {
        guard ["heldout", "quick"].contains(which) else { throw ValidationError("--which must be heldout or quick, got \"\(which)\"") }
    }

    func run() throws {
        let entries = which == "quick" ? WorldSplit.quickSuite() : WorldSplit.heldOutSuite()
        let url = URL(fileURLWithPath: out)
        try AtomicFile.write(try PromptSuite.encode(entries) + Data("\n".utf8), to: url) { m in
            ValidationError("cannot write \(out): \(m)")
        }
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
        """)

    @Option(help: "How many prompts.")
    var count: Int = 10

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Flag(help: "Print the prompt grammar instead.")
    var grammar = false

    func run() throws {
        if grammar { print(Grammar.help); return }
        var rng = RNG(seed: seed)
        for _ in 0..<max(0, count) { print(Grammar.prompt(WorldSplit.sampleTrainingScene(&rng))) }
    }
}
