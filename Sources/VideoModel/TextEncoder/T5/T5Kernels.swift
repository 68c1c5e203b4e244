import Foundation
import TensorCore

/// The T5-specific kernels of `T5EncoderModel`'s forward pass (inference only, so forward only):
/// widening stored half-precision weights to Float32, T5's RMS norm, and self-attention with an additive
/// position bias and no 1/sqrt(d) scale.
enum T5Kernels {
    /// Writes elements `start ..< start + count` of `tensor` (all of it by default) as Float32 into `out`
    /// (F32 copied, F16 / BF16 widened exactly), split over the workers. The caller has checked the dtype
    /// (F32, F16 or BF16) and the range, and that `out` holds `count` floats.
    static func widen(_ tensor: SafeTensor, start: Int = 0, count: Int? = nil, into out: UnsafeMutablePointer<Float>) {
        let count = count ?? tensor.count, dtype = tensor.dtype
        let op = SendablePointer(out)
        tensor.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, count > 0 else { return }
            let source = UncheckedBox(base + start * dtype.size)
            parallelChunks(count, minChunk: 1 << 16) { _, lo, hi in
                let src = source.value, dst = op.p
                switch dtype {
                case .f32:
                    (UnsafeMutableRawPointer(dst) + lo * 4).copyMemory(from: src + lo * 4, byteCount: (hi - lo) * 4)
                case .bf16:
                    for i in lo..<hi {
                        let bits = src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
                        dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
                    }
                case .f16:
                    for i in lo..<hi {
                        let bits = src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
                        dst[i] = HalfPrecision.float(fromF16: UInt16(littleEndian: bits))
                    }
                default:
                    preconditionFailure("T5Kernels.widen: unsupported dtype \(dtype.rawValue)")
                }
            }
        }
    }

    /// transformers' `T5LayerNorm` (RMS norm, no mean subtraction, no bias):
    /// out = w * x / sqrt(mean(x^2) + eps), row by row; the mean of squares is accumulated in Double.
    static func rmsNorm(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                        rows: Int, dim: Int, eps: Float) {
        let op = SendablePointer(out), xp = SendablePointer(x), wp = SendablePointer(w)
        parallelChunks(rows, minChunk: 16) { _, lo, hi in
            for r in lo..<hi {
                let row = xp.p + r * dim, dst = op.p + r * dim
                var sum: Double = 0
                for j in 0..<dim { sum += Double(row[j]) * Double(row[j]) }
                let variance = Float(sum / Double(dim))
                let scale = 1 / (variance + eps).squareRoot()
                for j in 0..<dim { dst[j] = wp.p[j] * (row[j] * scale) }
            }
        }
    }

    /// Self-attention of one sequence and head, as `T5Attention` computes it: scores = q·kᵀ + bias (no
    /// 1/sqrt(d_kv) factor: T5 folds it into the weight initialisation), masked keys excluded, softmax
    /// over keys in Float32, out = p·v. `q`, `k`, `v` rows sit `ld` apart; `out` rows `ldo` apart;
    /// `bias` is this head's [length, length] table; `keep` (if given) marks the keys the attention mask
    /// keeps. A row whose every key is masked attends uniformly to all keys, as adding float32's minimum
    /// to every score does in transformers. `scratch` holds length * length floats.
    static func attentionHead(out: UnsafeMutablePointer<Float>, ldo: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                              v: UnsafePointer<Float>, ld: Int, bias: UnsafePointer<Float>, keep: UnsafePointer<Bool>?,
                              length: Int, headDim: Int, scratch: UnsafeMutablePointer<Float>) {
        sgemm(transB: true, m: length, n: length, k: headDim, a: q, lda: ld, b: k, ldb: ld, c: scratch, ldc: length)
        let anyKept = keep.map { mask in (0..<length).contains { mask[$0] } } ?? true
        for i in 0..<length {
            let row = scratch + i * length, b = bias + i * length
            var maxScore = -Float.infinity
            for j in 0..<length {
                var s = row[j] + b[j]
                if let keep, anyKept, !keep[j] { s = -.infinity }
                row[j] = s
                if s > maxScore { maxScore = s }
            }
            if !anyKept {
                for j in 0..<length { row[j] = 1 / Float(length) }
                continue
            }
            var sum: Float = 0
            for j in 0..<length {
                let e = row[j] == -.infinity ? 0 : Foundation.exp(row[j] - maxScore)
                row[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0..<length { row[j] *= inv }
        }
        sgemm(m: length, n: headDim, k: length, a: scratch, lda: length, b: v, ldb: ld, c: out, ldc: ldo)
    }
}
