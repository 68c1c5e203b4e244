import Foundation
import TensorCore

/// A diffusion sampler's step rule over a 1000-step training schedule (diffusers' scheduler
/// interface, reduced to what CogVideoX uses: v-prediction and "trailing" spacing).
public protocol Scheduler: Sendable {
    /// ᾱ_t for t in 0..<1000, in Float64.
    var alphasCumprod: [Double] { get }
    /// The timesteps of an `steps`-step run, noisiest first.
    func timesteps(steps: Int) -> [Int]
    /// Forgets multistep history before a new run.
    mutating func reset()
    /// One step from `sample` at `timestep` given the model's v-prediction. Returns the less noisy
    /// sample and the x0 prediction. `noise` is used by stochastic schedulers only (standard normals,
    /// same size as the sample; nil draws none and is allowed only for deterministic ones).
    mutating func step(modelOutput: [Float], timestep: Int, sample: [Float], steps: Int,
                       noise: [Float]?) -> (prevSample: [Float], predOriginal: [Float])
    /// Whether `step` needs noise.
    var isStochastic: Bool { get }
}

/// The noise schedule of CogVideoX (diffusers `scheduling_ddim_cogvideox.py` `__init__`): scaled-linear
/// betas, the SNR shift ᾱ ← ᾱ/(s + (1−s)ᾱ), then the zero-terminal-SNR rescale, all in Float64.
public struct NoiseSchedule: Sendable, Equatable, Codable {
    public var numTrainTimesteps = 1000
    public var betaStart = 0.00085
    public var betaEnd = 0.012
    public var snrShiftScale = 3.0
    public var rescaleBetasZeroSnr = true

    public init(snrShiftScale: Double = 3.0) { self.snrShiftScale = snrShiftScale }

    public func alphasCumprod() -> [Double] {
        let n = numTrainTimesteps
        let a = betaStart.squareRoot(), b = betaEnd.squareRoot()
        var acp = [Double](repeating: 0, count: n)
        var prod = 1.0
        for i in 0..<n {
            // torch.linspace(a, b, n) in float64, then squared.
            let step = (b - a) / Double(n - 1)
            let v = i < n / 2 ? a + step * Double(i) : b - step * Double(n - 1 - i)
            prod *= 1 - v * v
            acp[i] = prod
        }
        let s = snrShiftScale
        acp = acp.map { $0 / (s + (1 - s) * $0) }
        if rescaleBetasZeroSnr {
            var r = acp.map { $0.squareRoot() }
            let r0 = r[0], rT = r[n - 1]
            r = r.map { ($0 - rT) * r0 / (r0 - rT) }
            acp = r.map { $0 * $0 }
        }
        return acp
    }

    /// "trailing" spacing: round(1000 − i·1000/N) − 1 for i in 0..<N (numpy's rounding, half to even).
    /// For the few N where numpy's float `arange` yields an extra element, diffusers runs N+1 steps;
    /// we always run exactly N.
    public func trailingTimesteps(_ steps: Int) -> [Int] {
        precondition(steps >= 1 && steps <= numTrainTimesteps, "steps must be in 1...\(numTrainTimesteps)")
        let ratio = Double(numTrainTimesteps) / Double(steps)
        return (0..<steps).map { i in Int((Double(numTrainTimesteps) - Double(i) * ratio).rounded(.toNearestOrEven)) - 1 }
    }
}

/// x0 from a v-prediction: √ᾱ·x − √(1−ᾱ)·v.
@inlinable
public func predictOriginal(v: [Float], sample: [Float], alphaCumprod: Double) -> [Float] {
    let a = Float(alphaCumprod.squareRoot()), s = Float((1 - alphaCumprod).squareRoot())
    var out = [Float](repeating: 0, count: v.count)
    for i in 0..<v.count { out[i] = a * sample[i] - s * v[i] }
    return out
}
