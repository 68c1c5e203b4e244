import Foundation

/// AdamW as PyTorch implements it (`torch.optim.AdamW`): decoupled weight decay p ← p − lr·λ·p, then
/// the bias-corrected Adam step. Works on one flat parameter slab and its gradient slab.
public struct AdamW: Sendable, Codable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Steps taken so far (for bias correction).
    public var step: Int
    public var m: [Float]
    public var v: [Float]

    public init(count: Int, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.step = 0
        self.m = [Float](repeating: 0, count: beta1 == 0 ? 0 : count)
        self.v = [Float](repeating: 0, count: count)
    }

    /// One update of `params` from `grads` at learning rate `lr`.
    public mutating func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, count: Int, lr: Float) {
        precondition(count == v.count, "AdamW: state holds \(v.count) values, update has \(count)")
        step += 1
        let bc1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let bc2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let b1 = beta1, b2 = beta2, eps = eps, decay = 1 - lr * weightDecay
        let stepSize = lr / bc1, rbc2 = 1 / bc2.squareRoot()
        let pp = SendablePointer(params), gp = SendablePointer(grads)
        v.withUnsafeMutableBufferPointer { vb in
            let vp = SendablePointer(vb.baseAddress!)
            if b1 == 0 {
                parallelChunks(count, minChunk: 8192) { _, lo, hi in
                    for i in lo..<hi {
                        let g = gp[i]
                        let vi = b2 * vp[i] + (1 - b2) * g * g
                        vp[i] = vi
                        pp[i] = pp[i] * decay - stepSize * g / (vi.squareRoot() * rbc2 + eps)
                    }
                }
            } else {
                m.withUnsafeMutableBufferPointer { mb in
                    let mp = SendablePointer(mb.baseAddress!)
                    parallelChunks(count, minChunk: 8192) { _, lo, hi in
                        for i in lo..<hi {
                            let g = gp[i]
                            let mi = b1 * mp[i] + (1 - b1) * g
                            let vi = b2 * vp[i] + (1 - b2) * g * g
                            mp[i] = mi
                            vp[i] = vi
                            pp[i] = pp[i] * decay - stepSize * mi / (vi.squareRoot() * rbc2 + eps)
                        }
                    }
                }
            }
        }
    }
}

/// Global L2 norm of a gradient slab, accumulated in Double.
public func gradientNorm(_ g: UnsafePointer<Float>, count: Int) -> Double {
    var s = 0.0
    for i in 0..<count { let x = Double(g[i]); s += x * x }
    return s.squareRoot()
}

/// Scales the gradient so its global L2 norm is at most `maxNorm` (`clip_grad_norm_`); returns the
/// norm before clipping. A non-finite norm is returned as is and the gradient left alone: the caller
/// skips that step.
@discardableResult
public func clipGradientNorm(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double) -> Double {
    let n = gradientNorm(g, count: count)
    guard n.isFinite, n > maxNorm else { return n }
    let s = Float(maxNorm / (n + 1e-6))
    for i in 0..<count { g[i] *= s }
    return n
}
