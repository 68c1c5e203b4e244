import Foundation

/// Explicit timestep grids (set on a scheduler with `setTimesteps`).
public enum TimestepGrid {
    /// A TDM student's grid for K steps: t = floor(1000·s·u/(1+(s−1)u)) − 1 for u = k/K, k = K…1, the
    /// uniform grid under the time shift s (K = 4, s = 2 gives TDM's CogVideoX grid [999, 856, 665, 399]).
    public static func shifted(steps k: Int, shift s: Double, trainTimesteps: Int = 1000) -> [Int] {
        (1...k).reversed().map { i in
            let u = Double(i) / Double(k)
            return Int((Double(trainTimesteps) * s * u / (1 + (s - 1) * u)).rounded(.down)) - 1
        }
    }
}
