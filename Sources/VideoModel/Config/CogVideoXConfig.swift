import Foundation
import TensorCore

/// The configuration of diffusers' `CogVideoXTransformer3DModel`, read from and written to its
/// `config.json` with the same keys. Settings this implementation does not support are refused at
/// load time with a message that names them.
public struct CogVideoXConfig: Sendable, Equatable, Codable {
    public var numAttentionHeads: Int = 30
    public var attentionHeadDim: Int = 64
    public var inChannels: Int = 16
    public var outChannels: Int = 16
    public var flipSinToCos: Bool = true
    public var freqShift: Int = 0
    public var timeEmbedDim: Int = 512
    public var textEmbedDim: Int = 4096
    public var numLayers: Int = 30
    public var dropout: Double = 0
    public var attentionBias: Bool = true
    public var sampleWidth: Int = 90
    public var sampleHeight: Int = 60
    public var sampleFrames: Int = 49
    public var patchSize: Int = 2
    public var patchSizeT: Int? = nil
    public var temporalCompressionRatio: Int = 4
    public var maxTextSeqLength: Int = 226
    public var activationFn: String = "gelu-approximate"
    public var timestepActivationFn: String = "silu"
    public var normElementwiseAffine: Bool = true
    public var normEps: Double = 1e-5
    public var spatialInterpolationScale: Double = 1.875
    public var temporalInterpolationScale: Double = 1.0
    public var useRotaryPositionalEmbeddings: Bool = false
    public var useLearnedPositionalEmbeddings: Bool = false
    public var patchBias: Bool = true
    public var ofsEmbedDim: Int? = nil

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case numAttentionHeads = "num_attention_heads"
        case attentionHeadDim = "attention_head_dim"
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case flipSinToCos = "flip_sin_to_cos"
        case freqShift = "freq_shift"
        case timeEmbedDim = "time_embed_dim"
        case textEmbedDim = "text_embed_dim"
        case numLayers = "num_layers"
        case dropout
        case attentionBias = "attention_bias"
        case sampleWidth = "sample_width"
        case sampleHeight = "sample_height"
        case sampleFrames = "sample_frames"
        case patchSize = "patch_size"
        case patchSizeT = "patch_size_t"
        case temporalCompressionRatio = "temporal_compression_ratio"
        case maxTextSeqLength = "max_text_seq_length"
        case activationFn = "activation_fn"
        case timestepActivationFn = "timestep_activation_fn"
        case normElementwiseAffine = "norm_elementwise_affine"
        case normEps = "norm_eps"
        case spatialInterpolationScale = "spatial_interpolation_scale"
        case temporalInterpolationScale = "temporal_interpolation_scale"
        case useRotaryPositionalEmbeddings = "use_rotary_positional_embeddings"
        case useLearnedPositionalEmbeddings = "use_learned_positional_embeddings"
        case patchBias = "patch_bias"
        case ofsEmbedDim = "ofs_embed_dim"
    }

    /// The inner width D = heads × head_dim.
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }

    /// Decodes with diffusers' defaults for absent keys; unknown keys (other than diffusers' own
    /// `_class_name`, `_diffusers_version`, `_name_or_path`) are an error.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ k: CodingKeys, _ v: inout T) throws {
            if let x = try c.decodeIfPresent(T.self, forKey: k) { v = x }
        }
        try get(.numAttentionHeads, &numAttentionHeads)
        try get(.attentionHeadDim, &attentionHeadDim)
        try get(.inChannels, &inChannels)
        try get(.outChannels, &outChannels)
        try get(.flipSinToCos, &flipSinToCos)
        try get(.freqShift, &freqShift)
        try get(.timeEmbedDim, &timeEmbedDim)
        try get(.textEmbedDim, &textEmbedDim)
        try get(.numLayers, &numLayers)
        try get(.dropout, &dropout)
        try get(.attentionBias, &attentionBias)
        try get(.sampleWidth, &sampleWidth)
        try get(.sampleHeight, &sampleHeight)
        try get(.sampleFrames, &sampleFrames)
        try get(.patchSize, &patchSize)
        patchSizeT = try c.decodeIfPresent(Int.self, forKey: .patchSizeT)
        try get(.temporalCompressionRatio, &temporalCompressionRatio)
        try get(.maxTextSeqLength, &maxTextSeqLength)
        try get(.activationFn, &activationFn)
        try get(.timestepActivationFn, &timestepActivationFn)
        try get(.normElementwiseAffine, &normElementwiseAffine)
        try get(.normEps, &normEps)
        try get(.spatialInterpolationScale, &spatialInterpolationScale)
        try get(.temporalInterpolationScale, &temporalInterpolationScale)
        try get(.useRotaryPositionalEmbeddings, &useRotaryPositionalEmbeddings)
        try get(.useLearnedPositionalEmbeddings, &useLearnedPositionalEmbeddings)
        try get(.patchBias, &patchBias)
        ofsEmbedDim = try c.decodeIfPresent(Int.self, forKey: .ofsEmbedDim)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(attentionHeadDim, forKey: .attentionHeadDim)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(outChannels, forKey: .outChannels)
        try c.encode(flipSinToCos, forKey: .flipSinToCos)
        try c.encode(freqShift, forKey: .freqShift)
        try c.encode(timeEmbedDim, forKey: .timeEmbedDim)
        try c.encode(textEmbedDim, forKey: .textEmbedDim)
        try c.encode(numLayers, forKey: .numLayers)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(attentionBias, forKey: .attentionBias)
        try c.encode(sampleWidth, forKey: .sampleWidth)
        try c.encode(sampleHeight, forKey: .sampleHeight)
        try c.encode(sampleFrames, forKey: .sampleFrames)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encodeNil(forKey: .patchSizeT)
        try c.encode(temporalCompressionRatio, forKey: .temporalCompressionRatio)
        try c.encode(maxTextSeqLength, forKey: .maxTextSeqLength)
        try c.encode(activationFn, forKey: .activationFn)
        try c.encode(timestepActivationFn, forKey: .timestepActivationFn)
        try c.encode(normElementwiseAffine, forKey: .normElementwiseAffine)
        try c.encode(normEps, forKey: .normEps)
        try c.encode(spatialInterpolationScale, forKey: .spatialInterpolationScale)
        try c.encode(temporalInterpolationScale, forKey: .temporalInterpolationScale)
        try c.encode(useRotaryPositionalEmbeddings, forKey: .useRotaryPositionalEmbeddings)
        try c.encode(useLearnedPositionalEmbeddings, forKey: .useLearnedPositionalEmbeddings)
        try c.encode(patchBias, forKey: .patchBias)
        try c.encodeNil(forKey: .ofsEmbedDim)
    }

    /// Reads `config.json` (diffusers' format), refusing unknown keys and unsupported settings.
    public static func load(_ url: URL) throws -> CogVideoXConfig {
        let data: Data
        // stat first: a FIFO or a device would block or never end the read.
        if let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType,
           type != .typeRegular {
            throw ModelError.badConfig(url.path, type == .typeDirectory ? "this is a folder, not a file" : "not a regular file (a FIFO, device or socket)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int, size > 1 << 20 {
            throw ModelError.badConfig(url.path, "the file has \(size) bytes; a config.json has at most 1 MiB")
        }
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.badConfig(url.path, "cannot read the file (\(error.localizedDescription))")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.badConfig(url.path, "not a JSON object")
        }
        if let cls = obj["_class_name"] as? String, cls != "CogVideoXTransformer3DModel" {
            throw ModelError.badConfig(url.path, "_class_name is \(cls), expected CogVideoXTransformer3DModel")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let unknown = obj.keys.filter { !$0.hasPrefix("_") && !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw ModelError.badConfig(url.path, "unknown key(s) \(unknown.joined(separator: ", "))")
        }
        let cfg: CogVideoXConfig
        do { cfg = try JSONDecoder().decode(CogVideoXConfig.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
            throw ModelError.badConfig(url.path, "wrong type for \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
        } catch {
            throw ModelError.badConfig(url.path, DecodingErrorText.describe(error))
        }
        try cfg.validate(source: url.path)
        return cfg
    }

    /// Writes `config.json` with diffusers' class marker, so `from_pretrained` reads it back.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var obj = try JSONSerialization.jsonObject(with: enc.encode(self)) as! [String: Any]
        obj["_class_name"] = "CogVideoXTransformer3DModel"
        obj["_diffusers_version"] = "0.42.1"
        return try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    }

    /// The documented range of every size (docs/formats.md): generous around CogVideoX-2b/5b/1.5 (30-48
    /// heads of 64, 16-32 channels, 30-42 layers, 4096-wide T5 text of 226 tokens), small enough that no
    /// value can overflow the parameter count or reach an allocation the machine cannot make.
    public static let ranges: [(key: String, range: ClosedRange<Int>)] = [
        ("num_attention_heads", 1...256), ("attention_head_dim", 1...512), ("in_channels", 1...1024),
        ("out_channels", 1...1024), ("freq_shift", -1000...1000), ("time_embed_dim", 1...16384),
        ("text_embed_dim", 1...16384), ("num_layers", 0...256), ("sample_width", 1...4096),
        ("sample_height", 1...4096), ("sample_frames", 1...4096), ("patch_size", 1...64),
        ("temporal_compression_ratio", 1...64), ("max_text_seq_length", 1...4096),
    ]
    /// heads × head_dim at most this (CogVideoX-5B: 3072).
    public static let maxInnerDim = 16384

    /// Refuses what the implementation does not support and shapes that cannot work.
    public func validate(source: String = "config") throws {
        func bad(_ m: String) -> ModelError { .badConfig(source, m) }
        let values: [String: Int] = [
            "num_attention_heads": numAttentionHeads, "attention_head_dim": attentionHeadDim, "in_channels": inChannels,
            "out_channels": outChannels, "freq_shift": freqShift, "time_embed_dim": timeEmbedDim,
            "text_embed_dim": textEmbedDim, "num_layers": numLayers, "sample_width": sampleWidth,
            "sample_height": sampleHeight, "sample_frames": sampleFrames, "patch_size": patchSize,
            "temporal_compression_ratio": temporalCompressionRatio, "max_text_seq_length": maxTextSeqLength,
        ]
        for (key, range) in Self.ranges where !range.contains(values[key]!) {
            throw bad("\(key) is \(values[key]!); allowed: an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        guard numAttentionHeads * attentionHeadDim <= Self.maxInnerDim else {
            throw bad("num_attention_heads x attention_head_dim is \(numAttentionHeads * attentionHeadDim); allowed: at most \(Self.maxInnerDim)")
        }
        for (key, v) in [("spatial_interpolation_scale", spatialInterpolationScale), ("temporal_interpolation_scale", temporalInterpolationScale)] {
            guard v.isFinite, v > 0, v <= 1000 else { throw bad("\(key) is \(v); allowed: a number in (0, 1000]") }
        }
        if patchSizeT != nil { throw bad("patch_size_t (CogVideoX 1.5's temporal patching) is not supported") }
        if useLearnedPositionalEmbeddings { throw bad("use_learned_positional_embeddings (CogVideoX-5B-I2V) is not supported") }
        if ofsEmbedDim != nil { throw bad("ofs_embed_dim (CogVideoX 1.5 I2V) is not supported") }
        if activationFn != "gelu-approximate" { throw bad("activation_fn \"\(activationFn)\" is not supported (allowed: gelu-approximate)") }
        if timestepActivationFn != "silu" { throw bad("timestep_activation_fn \"\(timestepActivationFn)\" is not supported (allowed: silu)") }
        if !attentionBias { throw bad("attention_bias false is not supported") }
        if !normElementwiseAffine { throw bad("norm_elementwise_affine false is not supported") }
        if !patchBias { throw bad("patch_bias false is not supported") }
        if dropout != 0 { throw bad("dropout \(dropout) is not supported (only 0)") }
        if !useRotaryPositionalEmbeddings && innerDim % 16 != 0 {
            throw bad("the 3D sincos table needs heads x head_dim divisible by 16, got \(innerDim)")
        }
        if useRotaryPositionalEmbeddings && attentionHeadDim % 16 != 0 {
            // [t: hd/4 | h: 3hd/8 | w: 3hd/8] must each be even to fill the head with rotation pairs.
            throw bad("3D RoPE needs attention_head_dim divisible by 16, got \(attentionHeadDim)")
        }
        if !(normEps > 0 && normEps <= 1) { throw bad("norm_eps is \(normEps); allowed: a number in (0, 1]") }
        if innerDim % 2 != 0 { throw bad("the timestep sinusoid needs an even inner dim, got \(innerDim)") }
    }
}

/// Errors from loading, validating or running a model, each naming the input.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case badConfig(String, String)
    case badWeights(String, String)
    case badInput(String)

    public var description: String {
        switch self {
        case .badConfig(let src, let m): return "model config \(src): \(m)"
        case .badWeights(let src, let m): return "model weights \(src): \(m)"
        case .badInput(let m): return "model input: \(m)"
        }
    }
}
