import Dispatch
import Foundation

/// How tdm-video spends the machine's cores.
///
/// One level of parallelism only (design.md: never nest): OpenBLAS is pinned to one thread and the
/// kernels split their work across `Compute.threads` Dispatch workers themselves, so a GEMM inside a
/// parallel region never spawns threads of its own. The split depends only on the thread count, so a
/// fixed `TDM_THREADS` gives bit-identical results run to run.
public enum Compute {
    /// Worker count: `TDM_THREADS` if set to a positive integer, else the active core count.
    public static let threads: Int = {
        OpenBLAS.functions.setNumThreads(1)
        if let s = ProcessInfo.processInfo.environment["TDM_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

extension Compute {
    /// Opens OpenBLAS now (and fixes the worker count), rather than at the first GEMM. A command that
    /// loads other libraries in the background does this first, since `dlopen` waits for any other
    /// thread's `dlopen` (see `FFmpegLibrary.preloadInBackground`).
    public static func prepare() { _ = threads }

    /// The OpenBLAS kernel set in use (e.g. "Haswell", "SkylakeX", "Cooperlake"); chosen when the
    /// library loads, from the CPU or from OPENBLAS_CORETYPE.
    public static var blasCore: String { OpenBLAS.functions.coreName().map { String(cString: $0) } ?? "unknown" }
}

/// A raw pointer that may cross into Dispatch workers. Each worker must touch a disjoint range.
public struct SendablePointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    @inlinable public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
    @inlinable public init(_ p: UnsafePointer<T>) { self.p = UnsafeMutablePointer(mutating: p) }
    @inlinable public subscript(i: Int) -> T {
        get { p[i] }
        nonmutating set { p[i] = newValue }
    }
    @inlinable public static func + (l: SendablePointer, r: Int) -> SendablePointer { SendablePointer(l.p + r) }
}

/// Marks the current thread as running one worker's share of a data-parallel region: kernels called
/// inside `withSerialKernels` run their chunks inline instead of forking (one level of parallelism).
/// Chunk boundaries do not change, so the results are the same bits either way.
public enum SerialRegion {
    @usableFromInline static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// True on a thread inside `withSerialKernels`.
    @inlinable public static var isActive: Bool { pthread_getspecific(key) != nil }
}

/// Runs `body` with every kernel on this thread serial (see `SerialRegion`).
@inlinable
public func withSerialKernels<T>(_ body: () throws -> T) rethrows -> T {
    let was = SerialRegion.isActive
    pthread_setspecific(SerialRegion.key, UnsafeRawPointer(bitPattern: 1))
    defer { if !was { pthread_setspecific(SerialRegion.key, nil) } }
    return try body()
}

/// Runs `body(i)` for i in 0..<count on the workers (inline when count or threads is 1, or inside a
/// serial region).
@inlinable
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || Compute.threads == 1 || SerialRegion.isActive {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { b in
        let box = UncheckedBox(b)
        DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
    }
}

/// Runs `body(i)` for i in 0..<count as a work queue over min(`Compute.threads`, count) workers, each taking
/// the next item with its kernels serial (one level of parallelism; the same bits as one item at a time); a
/// single worker runs the items inline. After a failure no new item starts; the failure of the lowest item is
/// thrown.
public func parallelQueue(_ count: Int, _ body: (Int) throws -> Void) throws {
    let workers = min(Compute.threads, count)
    if workers <= 1 {
        for i in 0..<count { try body(i) }
        return
    }
    var next = 0
    var failure: (index: Int, error: Error)? = nil
    let lock = NSLock()
    parallelFor(workers) { _ in
        withSerialKernels {
            while true {
                lock.lock()
                let i = next
                next += 1
                let stop = failure != nil
                lock.unlock()
                guard i < count, !stop else { return }
                do { try body(i) } catch {
                    lock.lock()
                    if failure.map({ i < $0.index }) ?? true { failure = (i, error) }
                    lock.unlock()
                }
            }
        }
    }
    if let failure { throw failure.error }
}

/// Splits 0..<total into at most `Compute.threads` contiguous chunks of at least `minChunk` items and
/// runs `body(chunkIndex, lo, hi)` on each. Chunk boundaries depend only on total, minChunk and threads.
@inlinable
public func parallelChunks(_ total: Int, minChunk: Int = 1, _ body: (Int, Int, Int) -> Void) {
    if total <= 0 { return }
    let n = chunkCount(total, minChunk: minChunk)
    if n == 1 { body(0, 0, total); return }
    parallelFor(n) { c in
        let lo = total * c / n, hi = total * (c + 1) / n
        body(c, lo, hi)
    }
}

/// How many chunks `parallelChunks` uses for `total` items.
@inlinable
public func chunkCount(_ total: Int, minChunk: Int = 1) -> Int {
    max(1, min(Compute.threads, total / max(1, minChunk)))
}

/// Lets a non-Sendable closure be called from Dispatch workers; the kernels guarantee disjoint writes.
public struct UncheckedBox<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ v: T) { value = v }
}
