import Foundation

/// Exponential moving average of a parameter slab: ema ← d·ema + (1−d)·θ, with the usual warm-up
/// d_t = min(d, (1 + t)/(10 + t)) so that an early snapshot is not dominated by the initial weights.
public struct EMA {
    public var decay: Float
    public var values: [Float]
    public init(decay: Float, initial: [Float]) {
        self.decay = decay
        self.values = initial
    }
    public mutating func update(_ p: UnsafePointer<Float>, step: Int) {
        let d = min(decay, Float(1 + step) / Float(10 + step))
        values.withUnsafeMutableBufferPointer { v in
            for i in 0..<v.count { v[i] = d * v[i] + (1 - d) * p[i] }
        }
    }
}
