import ArgumentParser
import TensorCore

/// The `tdm-video` command line: a thin layer over the libraries. One file per verb.
@main
struct TDMVideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tdm-video",
        abstract: "Distil, render and score few-step text-to-video models (CogVideoX architecture, TDM) on a CPU.",
        discussion: """
        Exit codes: 0 success; 1 an error (bad input, I/O, failed check); 64 bad command-line usage;
        3 a quality regression found by `score --baseline`.
        """.paragraphs,
        subcommands: [DemoCommand.self, PretrainCommand.self, DistillCommand.self, SampleCommand.self, ScoreCommand.self,
                      VerifyCommand.self, BenchCommand.self, ConvertCommand.self, WorldCommand.self])

    /// Asks OpenBLAS for one thread before anything loads it (no idle worker threads spinning beside
    /// the command), then runs the command line.
    static func main() {
        OpenBLAS.preferSingleThread()
        main(nil)
    }
}
