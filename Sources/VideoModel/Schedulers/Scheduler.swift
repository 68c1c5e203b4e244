import Foundation
import TensorCore

/// A diffusion sampler's step rule over a 1000-step training schedule (diffusers' scheduler
/// interface, reduced to what CogVideoX uses: v-prediction and "trailing" spacing).
///
/// The scheduler owns the noise maths: the forward process (`addNoise`), the v target (`velocity`)
/// and the x0 / ε read off a v-prediction (`predictOriginal`, `predictEpsilon`), as diffusers'
/// `add_noise`, `get_velocity` and `step` do. Training and sampling code call these; nothing else
/// writes √ᾱ·x − √(1−ᾱ)·v by hand.
public protocol Scheduler: Sendable {
    /// ᾱ_t for t in 0..<1000, in Float64.
    var alphasCumprod: [Double] { get }
    /// An explicit timestep grid, noisiest first (diffusers' `set_timesteps(timesteps=...)`): a TDM
    /// student's shifted grid. Nil uses the scheduler's own spacing. With a grid, each step goes to the
    /// next listed timestep, and the last one to x0 (ᾱ_prev = 1).
    var customTimesteps: [Int]? { get set }
    /// The timesteps of a `steps`-step run, noisiest first (the custom grid when one is set).
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

extension Scheduler {
    /// Sets (or, with nil, clears) an explicit timestep grid.
    public mutating func setTimesteps(_ grid: [Int]?) { customTimesteps = grid }

    /// The timestep the step from `t` goes to: the next grid entry with a custom grid, else
    /// t − 1000/N (integer division, as diffusers computes it). −1 means ᾱ_prev = 1 (x0).
    public func prevTimestep(_ t: Int, steps: Int) -> Int {
        if let grid = customTimesteps {
            guard let i = grid.firstIndex(of: t), i + 1 < grid.count else { return -1 }
            return grid[i + 1]
        }
        return t - alphasCumprod.count / steps
    }

    /// √ᾱ_t in Float32, 1 for t < 0 (the clean end).
    @inlinable public func alpha(_ t: Int) -> Float { coefficients(t, as: Float.self).alpha }
    /// √(1−ᾱ_t) in Float32, 0 for t < 0.
    @inlinable public func sigma(_ t: Int) -> Float { coefficients(t, as: Float.self).sigma }
    /// ᾱ_t / (1 − ᾱ_t).
    public func snr(_ t: Int) -> Double { alphasCumprod[t] / (1 - alphasCumprod[t]) }

    // Every function below works per sample: `timesteps` holds one timestep per sample and the arrays
    // hold `timesteps.count` equal slices, one per sample, in order. They work in Float32 (training and
    // sampling) and Float64 (the reference checks against diffusers at 1e-10).

    /// (√ᾱ_t, √(1−ᾱ_t)) in T; (1, 0) for t < 0.
    @inlinable public func coefficients<T: BinaryFloatingPoint>(_ t: Int, as: T.Type = T.self) -> (alpha: T, sigma: T) {
        t < 0 ? (1, 0) : (T(alphasCumprod[t].squareRoot()), T((1 - alphasCumprod[t]).squareRoot()))
    }

    /// diffusers `add_noise`: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε.
    @inlinable public func addNoise<T: BinaryFloatingPoint>(original: [T], noise: [T], timesteps: [Int]) -> [T] {
        perSample(original, noise, timesteps) { a, s, x0, n in a * x0 + s * n }
    }

    /// diffusers `get_velocity`: the v target √ᾱ_t·ε − √(1−ᾱ_t)·x0.
    @inlinable public func velocity<T: BinaryFloatingPoint>(original: [T], noise: [T], timesteps: [Int]) -> [T] {
        perSample(original, noise, timesteps) { a, s, x0, n in a * n - s * x0 }
    }

    /// x0 from a v-prediction at x_t: √ᾱ_t·x_t − √(1−ᾱ_t)·v.
    @inlinable public func predictOriginal<T: BinaryFloatingPoint>(v: [T], sample: [T], timesteps: [Int]) -> [T] {
        perSample(sample, v, timesteps) { a, s, x, v in a * x - s * v }
    }

    /// ε from a v-prediction at x_t: √(1−ᾱ_t)·x_t + √ᾱ_t·v.
    @inlinable public func predictEpsilon<T: BinaryFloatingPoint>(v: [T], sample: [T], timesteps: [Int]) -> [T] {
        perSample(sample, v, timesteps) { a, s, x, v in s * x + a * v }
    }

    /// The same four, at one timestep for the whole array.
    @inlinable public func addNoise<T: BinaryFloatingPoint>(original: [T], noise: [T], timestep t: Int) -> [T] {
        addNoise(original: original, noise: noise, timesteps: [t])
    }
    @inlinable public func velocity<T: BinaryFloatingPoint>(original: [T], noise: [T], timestep t: Int) -> [T] {
        velocity(original: original, noise: noise, timesteps: [t])
    }
    @inlinable public func predictOriginal<T: BinaryFloatingPoint>(v: [T], sample: [T], timestep t: Int) -> [T] {
        predictOriginal(v: v, sample: sample, timesteps: [t])
    }
    @inlinable public func predictEpsilon<T: BinaryFloatingPoint>(v: [T], sample: [T], timestep t: Int) -> [T] {
        predictEpsilon(v: v, sample: sample, timesteps: [t])
    }

    /// out[i] = f(√ᾱ, √(1−ᾱ), x[i], y[i]) with the coefficients of sample i / (count / B).
    @inlinable
    func perSample<T: BinaryFloatingPoint>(_ x: [T], _ y: [T], _ timesteps: [Int], _ f: (T, T, T, T) -> T) -> [T] {
        precondition(x.count == y.count && !timesteps.isEmpty && x.count % timesteps.count == 0,
                     "noise maths: \(x.count) and \(y.count) values for \(timesteps.count) samples")
        let per = x.count / timesteps.count
        var out = [T](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                out.withUnsafeMutableBufferPointer { op in
                    for (b, t) in timesteps.enumerated() {
                        let (a, s) = coefficients(t, as: T.self)
                        for i in (b * per)..<((b + 1) * per) { op[i] = f(a, s, xp[i], yp[i]) }
                    }
                }
            }
        }
        return out
    }
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
