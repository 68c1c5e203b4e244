import Foundation
import TensorCore

/// Compares `T5EncoderModel` with golden tensors dumped from transformers (`t5-encoder-tiny/
/// reference.safetensors`: `input_ids`, `attention_mask`, `output`, `output_masked`, `position_bias`,
/// `relative_position_bucket`, `relative_position_bucket_long`, `act.*`). Float tensors pass within
/// `ReferenceCheck.outputTolerance` relative to their largest magnitude; buckets must be equal (a bucket line
/// reports the number of differing entries as its error, tolerance 0). For `tdm-video verify`.
public enum T5ReferenceCheck {
    public static func run(model: T5EncoderModel, reference: SafeTensorsFile, source: String) throws -> [ReferenceCheck.Line] {
        func need(_ key: String) throws -> SafeTensor {
            guard let t = reference[key] else { throw ModelError.badInput("reference \(source) has no tensor \"\(key)\"") }
            return t
        }
        let idsTensor = try need("input_ids")
        guard idsTensor.shape.count == 2 else {
            throw ModelError.badInput("reference \(source): input_ids must be [batch, length], got \(idsTensor.shape)")
        }
        let batch = idsTensor.shape[0], length = idsTensor.shape[1]
        let ids = idsTensor.int64s().map { Int($0) }
        let tolerance = ReferenceCheck.outputTolerance
        var lines: [ReferenceCheck.Line] = []
        func add(_ name: String, _ ours: [Float], _ ref: SafeTensor) {
            let r = ref.floats()
            guard r.count == ours.count else {
                lines.append(.init(name: name + " (size \(ours.count) vs \(r.count))", maxAbsErr: .infinity, relErr: .infinity, tolerance: tolerance))
                return
            }
            let c = compareTensors(ours, r)
            lines.append(.init(name: name, maxAbsErr: c.maxAbs, relErr: c.relErr, tolerance: tolerance))
        }
        func addExact(_ name: String, _ ours: [Int64], _ ref: SafeTensor) {
            let r = ref.int64s()
            let differing = r.count == ours.count ? zip(ours, r).filter { $0 != $1 }.count : max(r.count, ours.count)
            lines.append(.init(name: name, maxAbsErr: Float(differing), relErr: Float(differing), tolerance: 0))
        }
        let c = model.config
        if let ref = reference["relative_position_bucket"], ref.shape.count == 2 {
            let ours = T5RelativePosition.buckets(queryLength: ref.shape[0], keyLength: ref.shape[1],
                                                  numBuckets: c.relativeAttentionNumBuckets,
                                                  maxDistance: c.relativeAttentionMaxDistance)
            addExact("relative_position_bucket", ours.map(Int64.init), ref)
        }
        if let ref = reference["relative_position_bucket_long"] {
            // Relative positions -n/2 ... n/2 (the fixture's -200...200).
            let half = ref.count / 2
            let ours = (-half...half).map {
                Int64(T5RelativePosition.bucket($0, numBuckets: c.relativeAttentionNumBuckets, maxDistance: c.relativeAttentionMaxDistance))
            }
            addExact("relative_position_bucket_long", ours, ref)
        }
        if let ref = reference["position_bias"] { add("position_bias", model.positionBias(length: length), ref) }
        let plain = try model.run(inputIds: ids, batch: batch, capture: true)
        add("output", plain.lastHiddenState, try need("output"))
        for key in plain.activations.keys.sorted() {
            if let ref = reference[key] { add(key, plain.activations[key]!, ref) }
        }
        if let masked = reference["output_masked"] {
            let mask = try need("attention_mask").int64s().map { Int($0) }
            add("output_masked", try model.forward(inputIds: ids, batch: batch, attentionMask: mask), masked)
        }
        return lines
    }
}
