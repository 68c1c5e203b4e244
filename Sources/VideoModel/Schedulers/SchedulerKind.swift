import Foundation
import TensorCore

/// The schedulers a model package or the command line can name: CogVideoX's DDIM and DPM-Solver++.
public enum SchedulerKind: String, NamedChoice {
    case ddim, dpm

    /// A fresh scheduler of this kind on `schedule`.
    public func make(schedule: NoiseSchedule) -> any Scheduler {
        switch self {
        case .ddim: return CogVideoXDDIMScheduler(schedule: schedule)
        case .dpm: return CogVideoXDPMScheduler(schedule: schedule)
        }
    }
}
