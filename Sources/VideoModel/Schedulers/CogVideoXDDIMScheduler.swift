import Foundation

/// diffusers' `CogVideoXDDIMScheduler` (v-prediction, η = 0, `set_alpha_to_one`): deterministic DDIM.
/// The previous timestep is t − 1000/N (integer division), as diffusers computes it, not the next
/// list entry; ᾱ_prev = 1 below zero. With a custom grid (`setTimesteps`) it is the next grid entry.
public struct CogVideoXDDIMScheduler: Scheduler {
    public let schedule: NoiseSchedule
    public let alphasCumprod: [Double]
    public var isStochastic: Bool { false }
    public var customTimesteps: [Int]? = nil

    public init(schedule: NoiseSchedule = NoiseSchedule()) {
        self.schedule = schedule
        self.alphasCumprod = schedule.alphasCumprod()
    }

    public func timesteps(steps: Int) -> [Int] { customTimesteps ?? schedule.trailingTimesteps(steps) }
    public mutating func reset() {}

    /// (a, b) with x_prev = a·x_t + b·x0: a = √((1−ᾱ_prev)/(1−ᾱ_t)), b = √ᾱ_prev − √ᾱ_t·a.
    public func coefficients(timestep t: Int, prevTimestep p: Int) -> (a: Double, b: Double) {
        let at = alphasCumprod[t], ap = p >= 0 ? alphasCumprod[p] : 1.0
        let a = ((1 - ap) / (1 - at)).squareRoot()
        return (a, ap.squareRoot() - at.squareRoot() * a)
    }

    public mutating func step(modelOutput: [Float], timestep: Int, sample: [Float], steps: Int,
                              noise: [Float]?) -> (prevSample: [Float], predOriginal: [Float]) {
        let x0 = predictOriginal(v: modelOutput, sample: sample, timestep: timestep)
        let (a, b) = coefficients(timestep: timestep, prevTimestep: prevTimestep(timestep, steps: steps))
        let fa = Float(a), fb = Float(b)
        var out = [Float](repeating: 0, count: sample.count)
        for i in 0..<sample.count { out[i] = fa * sample[i] + fb * x0[i] }
        return (out, x0)
    }

    /// The same step in Float64 (used to check the schedule against diffusers at 1e-10).
    public func stepDouble(modelOutput: [Double], timestep: Int, sample: [Double], steps: Int) -> (prevSample: [Double], predOriginal: [Double]) {
        let x0 = predictOriginal(v: modelOutput, sample: sample, timestep: timestep)
        let (a, b) = coefficients(timestep: timestep, prevTimestep: prevTimestep(timestep, steps: steps))
        return (zip(sample, x0).map { a * $0 + b * $1 }, x0)
    }
}
