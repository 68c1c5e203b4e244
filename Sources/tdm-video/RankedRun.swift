import Foundation
import TDMVideo

/// Runs a command's body on this process's rank: directly without mpirun; under mpirun, an error on
/// any rank stops every rank (the others would wait forever in a collective), and MPI is finalised at
/// the end.
func runOnRanks(_ body: (Communicator) throws -> Void) throws {
    let comm = Communicator.world()
    guard comm.size > 1 else { return try body(comm) }
    do { try body(comm) } catch { comm.abort("error: \(error)") }
    comm.finalize()
}
