import Foundation
import ShapeWorld
import Testing
@testable import TDMVideo
@testable import TensorCore

/// The pieces of data parallelism that run without mpirun (the runs under mpirun are in CLITests).
@Suite("Data parallelism") struct DataParallelTests {
    /// A rank skips rendering the other ranks' clips, so `draw` must advance the stream exactly as
    /// `sample` does and render the same clip.
    @Test func worldDrawIsSampleInTwoParts() {
        let source = WorldClipSource(renderer: WorldRenderer(width: 16, height: 16, frames: 4, fps: 8))
        var a = RNG(seed: 7), b = RNG(seed: 7)
        for _ in 0..<5 {
            let s = source.sample(&a)
            let later = source.draw(&b)
            #expect(a.next() == b.next())
            let d = later()
            #expect(d.prompt == s.prompt && d.pixels == s.pixels)
        }
    }

    /// The ranks' shares are contiguous, in rank order, and cover the batch exactly once.
    @Test func sharesCoverTheBatch() throws {
        #expect(Communicator.single.share(of: 6) == 0..<6)
        let ranks = (0..<3).map { Communicator(rank: $0, size: 3, usesMPI: false) }
        #expect(ranks.flatMap { Array($0.share(of: 6)) } == Array(0..<6))
        #expect(throws: ConfigError.self) { try ranks[0].checkDivides(batch: 4, file: "f", field: "train.batch") }
        try ranks[0].checkDivides(batch: 9, file: "f", field: "train.batch")
    }

    /// Without mpirun the world is one process and MPI is never initialised.
    @Test func withoutMPIRunTheWorldIsOneProcess() {
        guard !Communicator.launchedByMPI else { return }
        let w = Communicator.world()
        #expect(w.size == 1 && w.rank == 0 && !w.usesMPI)
    }
}
