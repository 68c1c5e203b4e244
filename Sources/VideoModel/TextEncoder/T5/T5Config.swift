import Foundation

/// The configuration of transformers' `T5EncoderModel` as CogVideoX uses it (T5 v1.1: gated GELU
/// feed-forward, RMS norm, bidirectional relative position buckets), read from a `text_encoder/config.json`.
///
/// Only the keys that change the encoder's arithmetic are read; the rest (`dropout_rate`, `use_cache`,
/// `num_decoder_layers`, `tie_word_embeddings`, ...) do nothing in an encoder at inference and are ignored.
/// Settings this implementation does not compute (a non-gated or non-GELU feed-forward, a decoder,
/// another `model_type` such as `umt5`, whose blocks each have their own position table) are refused with
/// an error naming the file and the field.
public struct T5Config: Sendable, Equatable {
    public var vocabSize: Int
    public var dModel: Int
    public var dKV: Int
    public var numHeads: Int
    public var dFF: Int
    public var numLayers: Int
    public var relativeAttentionNumBuckets: Int = 32
    public var relativeAttentionMaxDistance: Int = 128
    public var layerNormEpsilon: Double = 1e-6

    /// Width of the attention's q/k/v projections: `num_heads * d_kv` (4096 in T5-XXL, like d_model, but
    /// not tied to it).
    public var innerDim: Int { numHeads * dKV }

    public init(vocabSize: Int, dModel: Int, dKV: Int, numHeads: Int, dFF: Int, numLayers: Int,
                relativeAttentionNumBuckets: Int = 32, relativeAttentionMaxDistance: Int = 128,
                layerNormEpsilon: Double = 1e-6) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.dKV = dKV
        self.numHeads = numHeads
        self.dFF = dFF
        self.numLayers = numLayers
        self.relativeAttentionNumBuckets = relativeAttentionNumBuckets
        self.relativeAttentionMaxDistance = relativeAttentionMaxDistance
        self.layerNormEpsilon = layerNormEpsilon
    }

    /// `google/t5-v1_1-xxl`, the text encoder of every CogVideoX model (4.76 B encoder parameters).
    public static let t5v11XXL = T5Config(vocabSize: 32128, dModel: 4096, dKV: 64, numHeads: 64, dFF: 10240,
                                          numLayers: 24)

    /// Checks that every size is usable; `source` names the config in the error.
    public func validate(source: String) throws {
        func bad(_ field: String, _ why: String) -> ModelError { .badConfig(source, "\"\(field)\" \(why)") }
        for (field, value) in [("vocab_size", vocabSize), ("d_model", dModel), ("d_kv", dKV), ("num_heads", numHeads),
                               ("d_ff", dFF), ("num_layers", numLayers)] where value <= 0 {
            throw bad(field, "must be a positive integer, got \(value)")
        }
        guard relativeAttentionNumBuckets >= 4, relativeAttentionNumBuckets % 2 == 0 else {
            throw bad("relative_attention_num_buckets", "must be an even integer >= 4 (half for each direction), got \(relativeAttentionNumBuckets)")
        }
        // The log-spaced buckets start at max_exact = num_buckets / 4 and end at max_distance.
        guard relativeAttentionMaxDistance > relativeAttentionNumBuckets / 4 else {
            throw bad("relative_attention_max_distance", "must exceed relative_attention_num_buckets / 4 = \(relativeAttentionNumBuckets / 4), got \(relativeAttentionMaxDistance)")
        }
        guard layerNormEpsilon.isFinite, layerNormEpsilon > 0 else {
            throw bad("layer_norm_epsilon", "must be a positive number, got \(layerNormEpsilon)")
        }
    }

    /// Reads `config.json`. Errors name the file and the field.
    public static func load(_ url: URL) throws -> T5Config {
        let source = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.badConfig(source, "cannot read (\(error.localizedDescription))")
        }
        guard let json = JSONValue.parse(data)?.object else { throw ModelError.badConfig(source, "not a JSON object") }
        return try parse(json, source: source)
    }

    /// Builds a configuration from a decoded `config.json` object.
    public static func parse(_ json: [String: JSONValue], source: String) throws -> T5Config {
        func bad(_ field: String, _ why: String) -> ModelError { .badConfig(source, "\"\(field)\" \(why)") }
        func present(_ field: String) -> JSONValue? {
            guard let value = json[field], !value.isNull else { return nil }
            return value
        }
        func integer(_ field: String, default fallback: Int? = nil) throws -> Int {
            guard let value = present(field) else {
                if let fallback { return fallback }
                throw bad(field, "is missing")
            }
            guard let number = value.integer else { throw bad(field, "must be an integer, got \(value.brief)") }
            return number
        }
        func string(_ field: String) throws -> String? {
            guard let value = present(field) else { return nil }
            guard let text = value.string else { throw bad(field, "must be a string, got \(value.brief)") }
            return text
        }
        func boolean(_ field: String) throws -> Bool? {
            guard let value = present(field) else { return nil }
            guard let flag = value.bool else { throw bad(field, "must be true or false, got \(value.brief)") }
            return flag
        }

        if let type = try string("model_type"), type != "t5" {
            throw bad("model_type", "is \"\(type)\"; only \"t5\" encoders are supported")
        }
        if try boolean("is_decoder") == true { throw bad("is_decoder", "is true; this is an encoder") }

        // transformers derives the activation and gating from feed_forward_proj ("gated-gelu" gives gelu_new);
        // newer config.json files also carry the derived dense_act_fn / is_gated_act, which must agree.
        let proj = try string("feed_forward_proj") ?? "relu"
        let parts = proj.split(separator: "-").map(String.init)
        guard parts.count == 2 && parts[0] == "gated" else {
            throw bad("feed_forward_proj", "is \"\(proj)\"; only the gated feed-forward of T5 v1.1 (\"gated-gelu\") is supported")
        }
        if let flag = try boolean("is_gated_act"), !flag {
            throw bad("is_gated_act", "is false but feed_forward_proj is \"\(proj)\"")
        }
        let activation = try string("dense_act_fn") ?? (proj == "gated-gelu" ? "gelu_new" : parts[1])
        // gelu_new and gelu_pytorch_tanh are the same function, 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
        guard activation == "gelu_new" || activation == "gelu_pytorch_tanh" else {
            throw bad("dense_act_fn", "is \"\(activation)\"; only the tanh GELU (\"gelu_new\") is supported")
        }

        var config = T5Config(
            vocabSize: try integer("vocab_size"), dModel: try integer("d_model"), dKV: try integer("d_kv"),
            numHeads: try integer("num_heads"), dFF: try integer("d_ff"), numLayers: try integer("num_layers"),
            relativeAttentionNumBuckets: try integer("relative_attention_num_buckets", default: 32),
            relativeAttentionMaxDistance: try integer("relative_attention_max_distance", default: 128))
        if let value = present("layer_norm_epsilon") {
            guard let number = value.number else { throw bad("layer_norm_epsilon", "must be a number, got \(value.brief)") }
            config.layerNormEpsilon = number
        }
        try config.validate(source: source)
        return config
    }
}
