import Foundation

/// The configuration of diffusers' `AutoencoderKLCogVideoX`, read from a `vae/config.json` with the same
/// keys. Every size is checked against a sane range when it is read, and settings this implementation
/// does not run (quant convs, other block types or activations) are refused with the field's name.
public struct CogVideoXVAEConfig: Sendable, Equatable, Codable {
    public var inChannels: Int = 3
    public var outChannels: Int = 3
    public var downBlockTypes: [String] = Array(repeating: "CogVideoXDownBlock3D", count: 4)
    public var upBlockTypes: [String] = Array(repeating: "CogVideoXUpBlock3D", count: 4)
    public var blockOutChannels: [Int] = [128, 256, 256, 512]
    public var latentChannels: Int = 16
    public var layersPerBlock: Int = 3
    public var actFn: String = "silu"
    public var normEps: Double = 1e-6
    public var normNumGroups: Int = 32
    /// A float in diffusers' signature (4 for every CogVideoX); it must be a power of two.
    public var temporalCompressionRatio: Double = 4
    public var sampleHeight: Int = 480
    public var sampleWidth: Int = 720
    public var scalingFactor: Double = 1.15258426
    public var shiftFactor: Double? = nil
    public var latentsMean: [Double]? = nil
    public var latentsStd: [Double]? = nil
    public var forceUpcast: Bool = true
    public var useQuantConv: Bool = false
    public var usePostQuantConv: Bool = false
    /// CogVideoX 1.5's pipeline flag (multiply instead of divide by the scaling factor); stored for the
    /// pipeline, the VAE itself does not use it.
    public var invertScaleLatents: Bool = false

    public init() {}

    /// CogVideoX-2b's `vae/config.json` (THUDM/CogVideoX-2b, see docs/cogvideox.md section 5).
    public static let cogVideoX2b = CogVideoXVAEConfig()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels"
        case latentChannels = "latent_channels"
        case layersPerBlock = "layers_per_block"
        case actFn = "act_fn"
        case normEps = "norm_eps"
        case normNumGroups = "norm_num_groups"
        case temporalCompressionRatio = "temporal_compression_ratio"
        case sampleHeight = "sample_height"
        case sampleWidth = "sample_width"
        case scalingFactor = "scaling_factor"
        case shiftFactor = "shift_factor"
        case latentsMean = "latents_mean"
        case latentsStd = "latents_std"
        case forceUpcast = "force_upcast"
        case useQuantConv = "use_quant_conv"
        case usePostQuantConv = "use_post_quant_conv"
        case invertScaleLatents = "invert_scale_latents"
    }

    /// Decodes with diffusers' defaults for absent keys.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ k: CodingKeys, _ v: inout T) throws {
            if let x = try c.decodeIfPresent(T.self, forKey: k) { v = x }
        }
        try get(.inChannels, &inChannels)
        try get(.outChannels, &outChannels)
        try get(.downBlockTypes, &downBlockTypes)
        try get(.upBlockTypes, &upBlockTypes)
        try get(.blockOutChannels, &blockOutChannels)
        try get(.latentChannels, &latentChannels)
        try get(.layersPerBlock, &layersPerBlock)
        try get(.actFn, &actFn)
        try get(.normEps, &normEps)
        try get(.normNumGroups, &normNumGroups)
        try get(.temporalCompressionRatio, &temporalCompressionRatio)
        try get(.sampleHeight, &sampleHeight)
        try get(.sampleWidth, &sampleWidth)
        try get(.scalingFactor, &scalingFactor)
        shiftFactor = try c.decodeIfPresent(Double.self, forKey: .shiftFactor)
        latentsMean = try c.decodeIfPresent([Double].self, forKey: .latentsMean)
        latentsStd = try c.decodeIfPresent([Double].self, forKey: .latentsStd)
        try get(.forceUpcast, &forceUpcast)
        try get(.useQuantConv, &useQuantConv)
        try get(.usePostQuantConv, &usePostQuantConv)
        try get(.invertScaleLatents, &invertScaleLatents)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(outChannels, forKey: .outChannels)
        try c.encode(downBlockTypes, forKey: .downBlockTypes)
        try c.encode(upBlockTypes, forKey: .upBlockTypes)
        try c.encode(blockOutChannels, forKey: .blockOutChannels)
        try c.encode(latentChannels, forKey: .latentChannels)
        try c.encode(layersPerBlock, forKey: .layersPerBlock)
        try c.encode(actFn, forKey: .actFn)
        try c.encode(normEps, forKey: .normEps)
        try c.encode(normNumGroups, forKey: .normNumGroups)
        try c.encode(temporalCompressionRatio, forKey: .temporalCompressionRatio)
        try c.encode(sampleHeight, forKey: .sampleHeight)
        try c.encode(sampleWidth, forKey: .sampleWidth)
        try c.encode(scalingFactor, forKey: .scalingFactor)
        try c.encode(shiftFactor, forKey: .shiftFactor)
        try c.encode(latentsMean, forKey: .latentsMean)
        try c.encode(latentsStd, forKey: .latentsStd)
        try c.encode(forceUpcast, forKey: .forceUpcast)
        try c.encode(useQuantConv, forKey: .useQuantConv)
        try c.encode(usePostQuantConv, forKey: .usePostQuantConv)
        try c.encode(invertScaleLatents, forKey: .invertScaleLatents)
    }

    /// 2^(levels - 1): each block but the last halves H and W.
    public var spatialCompressionRatio: Int { 1 << (blockOutChannels.count - 1) }

    /// log2(temporal_compression_ratio): how many of the first blocks also resample time.
    public var temporalCompressLevel: Int { Int(temporalCompressionRatio).trailingZeroBitCount }

    /// Reads `config.json` (diffusers' format). Errors name the file and the field.
    public static func load(_ url: URL) throws -> CogVideoXVAEConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.badConfig(url.path, "cannot read the file (\(error.localizedDescription))")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError.badConfig(url.path, "not a JSON object")
        }
        if let cls = obj["_class_name"] as? String, cls != "AutoencoderKLCogVideoX" {
            throw ModelError.badConfig(url.path, "_class_name is \(cls), expected AutoencoderKLCogVideoX")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let unknown = obj.keys.filter { !$0.hasPrefix("_") && !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw ModelError.badConfig(url.path, "unknown key(s) \(unknown.joined(separator: ", "))")
        }
        let cfg: CogVideoXVAEConfig
        do { cfg = try JSONDecoder().decode(CogVideoXVAEConfig.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
            throw ModelError.badConfig(url.path, "wrong type for \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw ModelError.badConfig(url.path, "bad value for \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
        } catch {
            throw ModelError.badConfig(url.path, "\(error)")
        }
        try cfg.validate(source: url.path)
        return cfg
    }

    /// Writes `config.json` with diffusers' class marker.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        var obj = try JSONSerialization.jsonObject(with: enc.encode(self)) as! [String: Any]
        obj["_class_name"] = "AutoencoderKLCogVideoX"
        obj["_diffusers_version"] = "0.42.1"
        return try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    }

    /// Checks every size against a sane range and refuses settings the implementation does not run.
    /// Each message names the field (`source` names the file).
    public func validate(source: String = "config") throws {
        func bad(_ field: CodingKeys, _ m: String) -> ModelError { .badConfig(source, "\(field.rawValue): \(m)") }
        func range(_ field: CodingKeys, _ v: Int, _ r: ClosedRange<Int>) throws {
            guard r.contains(v) else { throw bad(field, "\(v) is outside the supported range \(r.lowerBound)...\(r.upperBound)") }
        }
        try range(.inChannels, inChannels, 1...64)
        try range(.outChannels, outChannels, 1...64)
        try range(.latentChannels, latentChannels, 1...1024)
        try range(.layersPerBlock, layersPerBlock, 1...16)
        try range(.normNumGroups, normNumGroups, 1...1024)
        try range(.sampleHeight, sampleHeight, 8...16384)
        try range(.sampleWidth, sampleWidth, 8...16384)
        guard (1...8).contains(blockOutChannels.count) else {
            throw bad(.blockOutChannels, "\(blockOutChannels.count) levels; 1...8 are supported")
        }
        for (i, c) in blockOutChannels.enumerated() {
            guard (1...8192).contains(c) else { throw bad(.blockOutChannels, "entry \(i) is \(c), outside 1...8192") }
            guard c % normNumGroups == 0 else {
                throw bad(.blockOutChannels, "entry \(i) (\(c)) is not divisible by norm_num_groups \(normNumGroups)")
            }
        }
        guard downBlockTypes.count == blockOutChannels.count else {
            throw bad(.downBlockTypes, "\(downBlockTypes.count) entries for \(blockOutChannels.count) block_out_channels")
        }
        guard upBlockTypes.count == blockOutChannels.count else {
            throw bad(.upBlockTypes, "\(upBlockTypes.count) entries for \(blockOutChannels.count) block_out_channels")
        }
        if let t = downBlockTypes.first(where: { $0 != "CogVideoXDownBlock3D" }) {
            throw bad(.downBlockTypes, "\"\(t)\" is not supported (only CogVideoXDownBlock3D)")
        }
        if let t = upBlockTypes.first(where: { $0 != "CogVideoXUpBlock3D" }) {
            throw bad(.upBlockTypes, "\"\(t)\" is not supported (only CogVideoXUpBlock3D)")
        }
        guard actFn == "silu" || actFn == "swish" else { throw bad(.actFn, "\"\(actFn)\" is not supported (only silu)") }
        guard normEps.isFinite, normEps > 0, normEps < 1 else { throw bad(.normEps, "\(normEps) must be in (0, 1)") }
        let ratio = temporalCompressionRatio
        guard ratio.isFinite, ratio >= 1, ratio <= 64, ratio == ratio.rounded(), Int(ratio).nonzeroBitCount == 1 else {
            throw bad(.temporalCompressionRatio, "\(ratio) must be a power of two in 1...64")
        }
        guard temporalCompressLevel <= blockOutChannels.count - 1 else {
            throw bad(.temporalCompressionRatio, "\(Int(ratio)) needs \(temporalCompressLevel) resampling blocks, the config has \(blockOutChannels.count - 1)")
        }
        guard scalingFactor.isFinite, scalingFactor > 0 else { throw bad(.scalingFactor, "\(scalingFactor) must be positive and finite") }
        if useQuantConv { throw bad(.useQuantConv, "true is not supported (no CogVideoX VAE uses a quant_conv)") }
        if usePostQuantConv { throw bad(.usePostQuantConv, "true is not supported (no CogVideoX VAE uses a post_quant_conv)") }
    }
}
