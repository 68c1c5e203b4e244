import Foundation
import TensorCore

extension T5EncoderModel {
    /// An encoder of shape `config` with seeded random weights stored as `dtype` (BF16 by default, as
    /// CogVideoX's T5-XXL ships), built in memory without any file: for full-size timing and memory checks
    /// (`T5EncoderBench`) without downloading 9.5 GB.
    ///
    /// Each weight is uniform with the standard deviation of transformers' `T5PreTrainedModel._init_weights`
    /// (factor 1): embedding 1; q (d_model * d_kv)^-1/2; k, v, wi_0, wi_1 and the position table d_model^-1/2;
    /// o (heads * d_kv)^-1/2; wo d_ff^-1/2; norms 1, so activations stay in a realistic range. Generation
    /// is split over the workers with one seeded stream per chunk, so the weights depend only on `seed`.
    public static func randomlyInitialized(config: T5Config, seed: UInt64,
                                           dtype: SafeTensorsDType = .bf16) throws -> T5EncoderModel {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw ModelError.badInput("random T5 weights can be F32, F16 or BF16, not \(dtype.rawValue)")
        }
        try config.validate(source: "random T5 config")
        let c = config
        var tensors: [String: SafeTensor] = [:]
        for (index, entry) in expectedShapes(c).enumerated() {
            let name = entry.name
            let std: Double
            if name.hasSuffix("layer_norm.weight") {
                std = 0
            } else if name == "shared.weight" {
                std = 1
            } else if name.hasSuffix(".q.weight") {
                std = 1 / Double(c.dModel * c.dKV).squareRoot()
            } else if name.hasSuffix(".o.weight") {
                std = 1 / Double(c.numHeads * c.dKV).squareRoot()
            } else if name.hasSuffix(".wo.weight") {
                std = 1 / Double(c.dFF).squareRoot()
            } else {
                std = 1 / Double(c.dModel).squareRoot()
            }
            tensors[name] = try randomTensor(shape: entry.shape, std: std, dtype: dtype,
                                             seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        }
        return try T5EncoderModel(config: config, tensors: tensors, source: "random \(dtype.rawValue) T5 (seed \(seed))")
    }

    /// Uniform values with standard deviation `std` (all ones when std is 0), encoded directly as `dtype`.
    static func randomTensor(shape: [Int], std: Double, dtype: SafeTensorsDType, seed: UInt64) throws -> SafeTensor {
        let count = shape.reduce(1, *)
        var data = Data(count: count * dtype.size)
        let bound = Float(std * 3.0.squareRoot())
        data.withUnsafeMutableBytes { raw in
            let base = UncheckedBox(raw.baseAddress!)
            parallelChunks(count, minChunk: 1 << 20) { chunk, lo, hi in
                // SplitMix64, one stream per chunk: cheap enough for 4.8 B values.
                var state = seed ^ (UInt64(chunk) &* 0xD1B5_4A32_D192_ED03)
                for i in lo..<hi {
                    let value: Float
                    if bound == 0 {
                        value = 1
                    } else {
                        state &+= 0x9E37_79B9_7F4A_7C15
                        var z = state
                        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                        z ^= z >> 31
                        let u = Float(z >> 40) * 0x1p-24  // [0, 1)
                        value = (2 * u - 1) * bound
                    }
                    switch dtype {
                    case .bf16: base.value.storeBytes(of: HalfPrecision.bf16Bits(from: value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    case .f16: base.value.storeBytes(of: HalfPrecision.f16Bits(from: value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    default: base.value.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    }
                }
            }
        }
        return try SafeTensor(dtype: dtype, shape: shape, bytes: data)
    }
}

/// Times one T5 encoder forward pass at full size and reports the process's peak memory: the check that
/// CogVideoX's text encoder (T5-XXL, 4.76 B parameters) runs on this CPU in bounded memory.
public enum T5EncoderBench {
    public struct Report: Sendable {
        public var config: T5Config
        public var dtype: SafeTensorsDType
        public var tokens: Int
        public var batch: Int
        public var parameterCount: Int
        public var storedBytes: Int
        /// Seconds to build the random weights.
        public var buildSeconds: Double
        /// Seconds of each timed forward pass, in order.
        public var forwardSeconds: [Double]
        /// CPU seconds (user + system, all threads) the process spent in each forward pass: with the machine
        /// shared, wall time / CPU time shows how much of the cores the run actually had.
        public var forwardCPUSeconds: [Double]
        /// Peak resident set of the whole process after the forward passes (VmHWM), if the OS reports it.
        public var peakResidentBytes: Int?
        /// Resident set once the weights were built, before the first forward.
        public var residentAfterBuildBytes: Int?
        /// Largest |value| of the output (a sanity check that the forward produced finite numbers).
        public var outputMaxAbs: Float

        public var medianForwardSeconds: Double {
            let s = forwardSeconds.sorted()
            return s.isEmpty ? .nan : s[s.count / 2]
        }

        public var summary: String {
            let gib = { (b: Int?) in b.map { String(format: "%.2f GiB", Double($0) / 1_073_741_824) } ?? "n/a" }
            let list = { (v: [Double]) in v.map { String(format: "%.2f", $0) }.joined(separator: ", ") }
            return String(format: "T5 encoder d_model %d, %d layers, %d heads x %d, d_ff %d: %.3f B parameters, %@ stored as %@; build %.1f s; %d x %d-token forward: median %.2f s wall (%@), CPU s per forward (%@); peak RSS %@ (after build %@); max |out| %.3g",
                          config.dModel, config.numLayers, config.numHeads, config.dKV, config.dFF,
                          Double(parameterCount) / 1e9, gib(storedBytes), dtype.rawValue, buildSeconds, batch, tokens,
                          medianForwardSeconds, list(forwardSeconds), list(forwardCPUSeconds),
                          gib(peakResidentBytes), gib(residentAfterBuildBytes), outputMaxAbs)
        }
    }

    /// Builds `config` (T5-XXL by default) with random `dtype` weights and times `repeats` forward passes of
    /// `batch` sequences of `tokens` ids (226, CogVideoX's max_sequence_length), without attention mask as the
    /// pipeline runs it.
    public static func run(config: T5Config = .t5v11XXL, dtype: SafeTensorsDType = .bf16, tokens: Int = 226,
                           batch: Int = 1, repeats: Int = 1, seed: UInt64 = 23) throws -> Report {
        let clock = ContinuousClock()
        let start = clock.now
        let model = try T5EncoderModel.randomlyInitialized(config: config, seed: seed, dtype: dtype)
        let buildSeconds = seconds(clock.now - start)
        let afterBuild = ProcessMemory.residentBytes()
        var rng = RNG(seed: seed)
        let ids = (0..<(batch * tokens)).map { _ in Int(rng.next() % UInt64(config.vocabSize)) }
        var times: [Double] = [], cpu: [Double] = []
        var maxAbs: Float = 0
        for _ in 0..<max(repeats, 1) {
            let t0 = clock.now, c0 = processCPUSeconds()
            let out = try model.forward(inputIds: ids, batch: batch)
            times.append(seconds(clock.now - t0))
            cpu.append(processCPUSeconds() - c0)
            maxAbs = out.reduce(0) { max($0, abs($1)) }
        }
        return Report(config: config, dtype: dtype, tokens: tokens, batch: batch, parameterCount: model.parameterCount,
                      storedBytes: model.storedBytes, buildSeconds: buildSeconds, forwardSeconds: times, forwardCPUSeconds: cpu,
                      peakResidentBytes: ProcessMemory.peakResidentBytes(), residentAfterBuildBytes: afterBuild,
                      outputMaxAbs: maxAbs)
    }

    /// User + system CPU time of the whole process (`getrusage(RUSAGE_SELF)`).
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        let who = RUSAGE_SELF.rawValue
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return .nan }
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
