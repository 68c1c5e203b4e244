import CMPI
import Foundation

/// The ranks of a data-parallel run (MPI's `MPI_COMM_WORLD`, as llm.c's multi-GPU training and
/// PyTorch DDP use it): which rank this process is, how many there are, and the few collectives the
/// training loops need. A program not started by `mpirun` gets `single` (rank 0 of 1) and never calls
/// `MPI_Init`, so it starts and behaves exactly as without MPI.
///
/// Every rank draws the whole global batch's randomness in the same order and keeps its slice
/// (`share(of:)`), so the union of the ranks' samples is the single-process batch; gradients are
/// summed with `MPI_Allreduce` (each rank's loss is already normalised by the global batch, so the sum
/// is the mean) and every rank applies the same update.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Whether MPI was initialised (launched by mpirun).
    public let usesMPI: Bool
    /// Seconds spent in allreduce calls so far, and how many floats they moved.
    public private(set) var allreduceSeconds = 0.0
    public private(set) var allreduceFloats = 0

    init(rank: Int, size: Int, usesMPI: Bool) {
        self.rank = rank
        self.size = size
        self.usesMPI = usesMPI
    }

    /// One process, no MPI.
    public static let single = Communicator(rank: 0, size: 1, usesMPI: false)

    /// Whether this process was started by Open MPI's launcher (mpirun / mpiexec / srun with PMIx).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    nonisolated(unsafe) private static var worldCache: Communicator?

    /// The world: `single` unless launched by mpirun, else MPI's world (initialised on first use).
    public static func world() -> Communicator {
        if let w = worldCache { return w }
        guard launchedByMPI else { worldCache = .single; return .single }
        var argc: Int32 = 0
        MPI_Init(&argc, nil)
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(tdm_mpi_comm_world(), &r)
        MPI_Comm_size(tdm_mpi_comm_world(), &n)
        let w = Communicator(rank: Int(r), size: Int(n), usesMPI: true)
        worldCache = w
        return w
    }

    public var isRoot: Bool { rank == 0 }

    /// This rank's samples of a global batch of `batch`: a contiguous slice, rank order.
    public func share(of batch: Int) -> Range<Int> {
        let per = batch / size
        return (rank * per)..<((rank + 1) * per)
    }

    /// Checks that the global batch splits evenly over the ranks (`field` names it in the error).
    public func checkDivides(batch: Int, file: String, field: String) throws {
        guard batch % size == 0 else {
            throw ConfigError(file: file, field: field, message: "is \(batch), which \(size) ranks cannot share evenly; use a rank count that divides it")
        }
    }

    /// Sums `count` floats over the ranks, in place; every rank gets the same bits (the reduction is
    /// done once per element and the result sent to all).
    public func allreduceSum(_ p: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1 else { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        MPI_Allreduce(tdm_mpi_in_place(), p, Int32(count), tdm_mpi_float(), tdm_mpi_sum(), tdm_mpi_comm_world())
        allreduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        allreduceFloats += count
    }

    public func allreduceSum(_ a: inout [Float]) {
        let n = a.count
        a.withUnsafeMutableBufferPointer { allreduceSum($0.baseAddress!, count: n) }
    }

    /// Sums doubles over the ranks (losses and statistics), in place.
    public func allreduceSum(_ a: inout [Double]) {
        guard size > 1 else { return }
        let n = Int32(a.count)
        a.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(tdm_mpi_in_place(), $0.baseAddress, n, tdm_mpi_double(), tdm_mpi_sum(), tdm_mpi_comm_world())
        }
    }

    public func sum(_ x: Double) -> Double {
        var a = [x]
        allreduceSum(&a)
        return a[0]
    }

    /// The largest value over the ranks (a slowest-rank time, an error flag).
    public func max(_ x: Double) -> Double {
        guard size > 1 else { return x }
        var a = [x]
        a.withUnsafeMutableBufferPointer {
            _ = MPI_Allreduce(tdm_mpi_in_place(), $0.baseAddress, 1, tdm_mpi_double(), tdm_mpi_max(), tdm_mpi_comm_world())
        }
        return a[0]
    }

    /// Sends rank 0's floats to every rank.
    public func broadcast(_ a: inout [Float]) {
        guard size > 1 else { return }
        let n = Int32(a.count)
        a.withUnsafeMutableBufferPointer { _ = MPI_Bcast($0.baseAddress, n, tdm_mpi_float(), 0, tdm_mpi_comm_world()) }
    }

    /// Sends rank 0's bytes to every rank (every rank must pass the same count).
    public func broadcast(bytes a: inout [UInt8]) {
        guard size > 1 else { return }
        let n = Int32(a.count)
        a.withUnsafeMutableBufferPointer { _ = MPI_Bcast($0.baseAddress, n, tdm_mpi_byte(), 0, tdm_mpi_comm_world()) }
    }

    /// Gathers every rank's bytes on every rank, in rank order (for results split across ranks).
    public func allgather(_ bytes: [UInt8]) -> [[UInt8]] {
        guard size > 1 else { return [bytes] }
        var counts = [Int32](repeating: 0, count: size)
        var mine = Int32(bytes.count)
        MPI_Allgather(&mine, 1, tdm_mpi_int(), &counts, 1, tdm_mpi_int(), tdm_mpi_comm_world())
        var displs = [Int32](repeating: 0, count: size)
        for i in 1..<size { displs[i] = displs[i - 1] + counts[i - 1] }
        let total = Int(displs[size - 1] + counts[size - 1])
        var all = [UInt8](repeating: 0, count: Swift.max(total, 1))
        var src = bytes.isEmpty ? [0] : bytes
        _ = src.withUnsafeMutableBufferPointer { s in
            all.withUnsafeMutableBufferPointer { d in
                MPI_Allgatherv(s.baseAddress, mine, tdm_mpi_byte(), d.baseAddress, &counts, &displs, tdm_mpi_byte(), tdm_mpi_comm_world())
            }
        }
        return (0..<size).map { Array(all[Int(displs[$0])..<Int(displs[$0] + counts[$0])]) }
    }

    /// Waits for every rank.
    public func barrier() {
        guard size > 1 else { return }
        MPI_Barrier(tdm_mpi_comm_world())
    }

    /// Ends MPI (a no-op without it). Call once, when the command is done.
    public func finalize() {
        guard usesMPI else { return }
        MPI_Finalize()
    }

    /// Stops every rank: a rank that failed alone would leave the others waiting in a collective.
    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("rank \(rank) of \(size): \(message)\n".utf8))
        if usesMPI { MPI_Abort(tdm_mpi_comm_world(), 1) }
        exit(1)
    }
}

extension Communicator {
    /// Rank 0's copy of a file, on every rank (nil if rank 0 has none), so only rank 0 needs the run's
    /// folder: a resumed run's checkpoint and codec reach the other ranks through MPI.
    public func rootFile(_ url: URL) throws -> Data? {
        var data: Data? = nil
        var failure: Error? = nil
        if isRoot && FileManager.default.fileExists(atPath: url.path) {
            do { data = try Data(contentsOf: url) } catch { failure = error }
        }
        guard size > 1 else {
            if let e = failure { throw CheckpointError(path: url.path, message: "cannot read it (\(e.localizedDescription))") }
            return data
        }
        // The length first (−1: none, −2: rank 0 could not read it), then the bytes.
        var head = withUnsafeBytes(of: Int64(failure != nil ? -2 : data.map { Int64($0.count) } ?? -1).littleEndian) { Array($0) }
        broadcast(bytes: &head)
        let n = head.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
        if n == -2 { throw CheckpointError(path: url.path, message: "rank 0 cannot read it" + (failure.map { " (\($0.localizedDescription))" } ?? "")) }
        if n < 0 { return nil }
        var bytes = isRoot ? [UInt8](data!) : [UInt8](repeating: 0, count: Int(n))
        broadcast(bytes: &bytes)
        return Data(bytes)
    }
}

/// A failure on another rank of a data-parallel run, seen by this one.
public struct RankError: Error, CustomStringConvertible {
    public var rank: Int
    public var message: String
    public init(rank: Int, message: String) {
        self.rank = rank
        self.message = message
    }
    public var description: String { "rank \(rank): \(message)" }
}
