import Foundation

/// diffusers' `CogVideoXDPMScheduler`: SDE-DPM-Solver++(2M) on v-predictions (stochastic).
/// The infinities at ᾱ = 0 and ᾱ_prev = 1 are intended; IEEE arithmetic resolves them exactly as
/// diffusers does (cogvideox.md §4.6).
public struct CogVideoXDPMScheduler: Scheduler {
    public let schedule: NoiseSchedule
    public let alphasCumprod: [Double]
    public var isStochastic: Bool { true }
    public var customTimesteps: [Int]? = nil
    /// The previous step's x0 and timestep (multistep history).
    var oldPredOriginal: [Double]? = nil
    var timestepBack: Int? = nil

    public init(schedule: NoiseSchedule = NoiseSchedule()) {
        self.schedule = schedule
        self.alphasCumprod = schedule.alphasCumprod()
    }

    public func timesteps(steps: Int) -> [Int] { customTimesteps ?? schedule.trailingTimesteps(steps) }
    public mutating func reset() { oldPredOriginal = nil; timestepBack = nil }

    static func lambda(_ a: Double) -> Double { Foundation.log((a / (1 - a)).squareRoot()) }

    public mutating func step(modelOutput: [Float], timestep: Int, sample: [Float], steps: Int,
                              noise: [Float]?) -> (prevSample: [Float], predOriginal: [Float]) {
        let r = stepDouble(modelOutput: modelOutput.map(Double.init), timestep: timestep,
                           sample: sample.map(Double.init), steps: steps,
                           noise: (noise ?? [Float](repeating: 0, count: sample.count)).map(Double.init))
        return (r.prevSample.map(Float.init), r.predOriginal.map(Float.init))
    }

    /// The step in Float64; `noise` is the variance noise for this step.
    public mutating func stepDouble(modelOutput: [Double], timestep: Int, sample: [Double], steps: Int,
                                    noise: [Double]) -> (prevSample: [Double], predOriginal: [Double]) {
        let prevT = prevTimestep(timestep, steps: steps)
        let at = alphasCumprod[timestep]
        let ap = prevT >= 0 ? alphasCumprod[prevT] : 1.0
        let x0 = predictOriginal(v: modelOutput, sample: sample, timestep: timestep)
        let lam = Self.lambda(at), lamNext = Self.lambda(ap)
        let h = lamNext - lam
        let m1 = ((1 - ap) / (1 - at)).squareRoot() * Foundation.exp(-h)
        let m2 = Foundation.expm1(-2 * h) * ap.squareRoot()
        let sigma = (1 - ap).squareRoot() * (1 - Foundation.exp(-2 * h)).squareRoot()
        var out: [Double]
        if let old = oldPredOriginal, let back = timestepBack, prevT >= 0 {
            let r = (lam - Self.lambda(alphasCumprod[back])) / h
            let m3 = 1 + 1 / (2 * r), m4 = 1 / (2 * r)
            out = (0..<sample.count).map { i in m1 * sample[i] - m2 * (m3 * x0[i] - m4 * old[i]) + sigma * noise[i] }
        } else {
            out = (0..<sample.count).map { i in m1 * sample[i] - m2 * x0[i] + sigma * noise[i] }
        }
        oldPredOriginal = x0
        timestepBack = timestep
        return (out, x0)
    }
}
