import Foundation
import Testing
@testable import TensorCore

@Suite("Work queue over the cores") struct ParallelQueueTests {
    struct ItemFailed: Error, Equatable { let item: Int }

    /// Every item runs exactly once; a failure stops new items and the lowest failing item's error is thrown,
    /// even when a higher item fails first (item 5 fails after a pause, item 6 at once, when a second worker
    /// takes it).
    @Test func everyItemOnceAndTheLowestFailureThrown() throws {
        let lock = NSLock()
        var runs = [Int](repeating: 0, count: 200)
        try parallelQueue(200) { i in
            lock.lock(); runs[i] += 1; lock.unlock()
        }
        #expect(runs.allSatisfy { $0 == 1 })
        var seen = Set<Int>()
        let error = #expect(throws: ItemFailed.self) {
            try parallelQueue(200) { i in
                lock.lock(); seen.insert(i); lock.unlock()
                if i == 5 { Thread.sleep(forTimeInterval: 0.05); throw ItemFailed(item: i) }
                if i == 6 || i == 150 { throw ItemFailed(item: i) }
            }
        }
        #expect(error == ItemFailed(item: 5))
        #expect((0...5).allSatisfy(seen.contains) && !seen.contains(150))
    }
}
