import Foundation
import TensorCore

/// Compares the transformer with golden tensors dumped from diffusers (`reference.safetensors` in a
/// fixture folder: inputs, output, `act.*`, `grad_output` and `grad.*`, and for RoPE models the
/// pipeline's `rotary.cos`/`rotary.sin`). This is what `tdm-video verify` runs.
public struct ReferenceCheck {
    public struct Line: Sendable {
        public var name: String
        public var maxAbsErr: Float
        public var relErr: Float
        public var tolerance: Float
        /// The reference is below 1e-3 of the model's largest gradient (e.g. the key-norm bias, whose
        /// exact gradient is zero because softmax ignores a per-row constant): its values are float32
        /// rounding noise, so the error is measured against that largest gradient instead.
        public var nearZeroReference = false
        public var passed: Bool { relErr <= tolerance }

        public init(name: String, maxAbsErr: Float, relErr: Float, tolerance: Float, nearZeroReference: Bool = false) {
            self.name = name
            self.maxAbsErr = maxAbsErr
            self.relErr = relErr
            self.tolerance = tolerance
            self.nearZeroReference = nearZeroReference
        }
    }

    public static let outputTolerance: Float = 1e-4
    public static let gradientTolerance: Float = 1e-3

    /// Runs forward (and backward when the reference has `grad_output`) on the reference inputs.
    public static func run(model: CogVideoXTransformer, reference: SafeTensorsFile, source: String) throws -> [Line] {
        func need(_ k: String) throws -> SafeTensor {
            guard let t = reference[k] else { throw ModelError.badInput("reference \(source) has no tensor \"\(k)\"") }
            return t
        }
        let hs = try need("hidden_states"), ehs = try need("encoder_hidden_states"), ts = try need("timestep")
        guard hs.shape.count == 5, ehs.shape.count == 3 else {
            throw ModelError.badInput("reference \(source): hidden_states must be [B,F,C,H,W] and encoder_hidden_states [B,L,D], got \(hs.shape) and \(ehs.shape)")
        }
        let shape = VideoShape(batch: hs.shape[0], frames: hs.shape[1], channels: hs.shape[2], height: hs.shape[3], width: hs.shape[4])
        var lines: [Line] = []
        func add(_ name: String, _ ours: [Float], _ ref: SafeTensor, _ tol: Float) {
            let r = ref.floats()
            guard r.count == ours.count else {
                lines.append(Line(name: name + " (size \(ours.count) vs \(r.count))", maxAbsErr: .infinity, relErr: .infinity, tolerance: tol))
                return
            }
            let c = compareTensors(ours, r)
            lines.append(Line(name: name, maxAbsErr: c.maxAbs, relErr: c.relErr, tolerance: tol))
        }
        if let rc = reference["rotary.cos"], let rs = reference["rotary.sin"] {
            let p = model.config.patchSize
            let t = model.ropeTables(frames: shape.frames, gridH: shape.height / p, gridW: shape.width / p)
            add("rotary.cos", t.cos, rc, outputTolerance)
            add("rotary.sin", t.sin, rs, outputTolerance)
        }
        let cache = try model.forwardTraining(hidden: hs.floats(), shape: shape, text: ehs.floats(), textLength: ehs.shape[1],
                                              timesteps: ts.floats(), capture: true)
        add("output", cache.output.array, try need("output"), outputTolerance)
        for k in cache.activations.keys.sorted() {
            if let r = reference[k] { add(k, cache.activations[k]!, r, outputTolerance) }
        }
        if let g = reference["grad_output"] {
            // The scale for near-zero gradient tensors: the largest reference gradient anywhere.
            let gradScale = reference.tensors.filter { $0.key.hasPrefix("grad.") }.values
                .map { $0.floats().reduce(Float(0)) { max($0, abs($1)) } }.max() ?? 0
            func addGrad(_ name: String, _ ours: [Float], _ ref: SafeTensor) {
                let r = ref.floats()
                guard r.count == ours.count else {
                    lines.append(Line(name: name + " (size \(ours.count) vs \(r.count))", maxAbsErr: .infinity, relErr: .infinity, tolerance: gradientTolerance))
                    return
                }
                let c = compareTensors(ours, r)
                let floor = 1e-3 * gradScale
                let nearZero = c.refMax < floor
                lines.append(Line(name: name, maxAbsErr: c.maxAbs, relErr: c.maxAbs / max(c.refMax, floor, .leastNormalMagnitude),
                                  tolerance: gradientTolerance, nearZeroReference: nearZero))
            }
            model.zeroGradients()
            let grads = try model.backward(cache, dOutput: g.floats())
            if let r = reference["grad.hidden_states"], let h = grads.hidden { addGrad("grad.hidden_states", h, r) }
            if let r = reference["grad.encoder_hidden_states"], let t = grads.text { addGrad("grad.encoder_hidden_states", t, r) }
            let gp = model.gradients!.p
            for e in model.layout.entries {
                guard let r = reference["grad." + e.name] else {
                    lines.append(Line(name: "grad." + e.name + " (missing in reference)", maxAbsErr: .infinity, relErr: .infinity, tolerance: gradientTolerance))
                    continue
                }
                addGrad("grad." + e.name, Array(UnsafeBufferPointer(start: gp + e.offset, count: e.count)), r)
            }
        }
        return lines
    }
}
