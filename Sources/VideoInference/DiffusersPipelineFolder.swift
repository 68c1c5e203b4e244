import Foundation
import TensorCore
import VideoModel

/// A diffusers `CogVideoXPipeline` folder as `CogVideoXPipeline.save_pretrained` writes it (and as the
/// Hub's `THUDM/CogVideoX-2b` holds it): `model_index.json` naming each component's library and class, and
/// one sub-folder per component (`transformer/`, `vae/`, `text_encoder/`, `tokenizer/`, `scheduler/`).
///
/// Reading the folder checks everything that is cheap to check (the index, each component's class and
/// folder, the transformer, VAE and scheduler configs) and loads no weights: `CogVideoXPipeline` loads the
/// components one at a time, when it needs them, so that at most one large model is resident.
public struct DiffusersPipelineFolder: Sendable {
    public static let indexFileName = "model_index.json"

    /// The components this implementation reads, with the (library, class) pairs we support.
    public static let supportedComponents: [String: [(library: String, className: String)]] = [
        "transformer": [("diffusers", "CogVideoXTransformer3DModel")],
        "vae": [("diffusers", "AutoencoderKLCogVideoX")],
        "text_encoder": [("transformers", "T5EncoderModel")],
        "tokenizer": [("transformers", "T5Tokenizer"), ("transformers", "T5TokenizerFast")],
        "scheduler": [("diffusers", "CogVideoXDDIMScheduler"), ("diffusers", "CogVideoXDPMScheduler")],
    ]

    public let directory: URL
    /// `_class_name` of the index ("CogVideoXPipeline").
    public let pipelineClass: String
    public let transformerConfig: CogVideoXConfig
    public let vaeConfig: CogVideoXVAEConfig
    public let scheduler: DiffusersSchedulerConfig

    public var transformerDirectory: URL { directory.appendingPathComponent("transformer") }
    public var vaeDirectory: URL { directory.appendingPathComponent("vae") }

    /// Whether `url` is a diffusers pipeline folder (it holds `model_index.json`) rather than a tdm-video
    /// model package (`tdm_video.json`).
    public static func isPipelineFolder(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(indexFileName).path)
    }

    /// Reads and validates the folder; throws `ModelPackageError` naming the file and what is wrong.
    public static func load(_ dir: URL) throws -> DiffusersPipelineFolder {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelPackageError(path: dir.path, message: "no such folder (a diffusers pipeline folder holds \(indexFileName))")
        }
        let indexURL = dir.appendingPathComponent(indexFileName)
        let object: [String: Any]
        do {
            let data = try Data(contentsOf: indexURL)
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelPackageError(path: indexURL.path, message: "not a JSON object")
            }
            object = o
        } catch let e as ModelPackageError { throw e } catch {
            throw ModelPackageError(path: indexURL.path, message: "cannot read the pipeline index (\(error.localizedDescription))")
        }
        let pipelineClass = object["_class_name"] as? String ?? ""
        guard pipelineClass == "CogVideoXPipeline" else {
            throw ModelPackageError(path: indexURL.path, message: "_class_name is \"\(pipelineClass)\"; only CogVideoXPipeline folders are supported (text to video)")
        }
        for (name, value) in object where !name.hasPrefix("_") {
            // Optional components saved as [null, null] are absent; any other unknown component is refused.
            if let pair = value as? [Any], pair.allSatisfy({ $0 is NSNull }) { continue }
            guard let allowed = supportedComponents[name] else {
                throw ModelPackageError(path: indexURL.path, message: "component \"\(name)\" is not one CogVideoXPipeline uses here (expected \(supportedComponents.keys.sorted().joined(separator: ", ")))")
            }
            guard let pair = value as? [Any], pair.count == 2, let lib = pair[0] as? String, let cls = pair[1] as? String else {
                throw ModelPackageError(path: indexURL.path, message: "component \"\(name)\" must be [library, class], got \(value)")
            }
            guard allowed.contains(where: { $0.library == lib && $0.className == cls }) else {
                throw ModelPackageError(path: indexURL.path, message: "component \"\(name)\" is \(lib).\(cls); supported: \(allowed.map { "\($0.library).\($0.className)" }.joined(separator: ", "))")
            }
            var sub: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path, isDirectory: &sub), sub.boolValue else {
                throw ModelPackageError(path: dir.path, message: "model_index.json names \"\(name)\" but the folder \(name)/ is missing")
            }
        }
        for name in supportedComponents.keys.sorted() where object[name] == nil || (object[name] as? [Any])?.allSatisfy({ $0 is NSNull }) == true {
            throw ModelPackageError(path: indexURL.path, message: "the pipeline has no \"\(name)\" component (CogVideoXPipeline needs all of \(supportedComponents.keys.sorted().joined(separator: ", ")))")
        }
        let transformerConfig = try wrap(dir) { try CogVideoXConfig.load(dir.appendingPathComponent("transformer/config.json")) }
        let vaeConfig = try wrap(dir) { try CogVideoXVAEConfig.load(dir.appendingPathComponent("vae/config.json")) }
        let scheduler = try DiffusersSchedulerConfig.load(dir.appendingPathComponent("scheduler/scheduler_config.json"))
        guard vaeConfig.latentChannels == transformerConfig.inChannels else {
            throw ModelPackageError(path: dir.path, message: "the VAE has \(vaeConfig.latentChannels) latent channels but the transformer takes \(transformerConfig.inChannels)")
        }
        guard Int(vaeConfig.temporalCompressionRatio) == transformerConfig.temporalCompressionRatio else {
            throw ModelPackageError(path: dir.path, message: "the VAE compresses time by \(vaeConfig.temporalCompressionRatio) but the transformer expects \(transformerConfig.temporalCompressionRatio)")
        }
        return DiffusersPipelineFolder(directory: dir, pipelineClass: pipelineClass, transformerConfig: transformerConfig,
                                       vaeConfig: vaeConfig, scheduler: scheduler)
    }

    /// Model errors (they name their file) become `ModelPackageError`s of the pipeline folder.
    static func wrap<T>(_ dir: URL, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ModelPackageError { throw e } catch {
            throw ModelPackageError(path: dir.path, message: "\(error)")
        }
    }
}

/// `scheduler/scheduler_config.json` of a CogVideoX pipeline mapped to our `SchedulerKind` and
/// `NoiseSchedule`. Every field diffusers' `CogVideoXDDIMScheduler` / `CogVideoXDPMScheduler` take is read;
/// a value we do not implement is refused with the field's name rather than silently sampled differently.
public struct DiffusersSchedulerConfig: Sendable, Equatable {
    public var kind: SchedulerKind
    public var schedule: NoiseSchedule

    public init(kind: SchedulerKind, schedule: NoiseSchedule) {
        self.kind = kind
        self.schedule = schedule
    }

    public static func load(_ url: URL) throws -> DiffusersSchedulerConfig {
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw ModelPackageError(path: url.path, message: "not a JSON object")
            }
            object = o
        } catch let e as ModelPackageError { throw e } catch {
            throw ModelPackageError(path: url.path, message: "cannot read the scheduler config (\(error.localizedDescription))")
        }
        return try parse(object, source: url.path)
    }

    public static func parse(_ o: [String: Any], source: String) throws -> DiffusersSchedulerConfig {
        func fail(_ field: String, _ what: String) -> ModelPackageError {
            ModelPackageError(path: source, message: "\(field): \(what)")
        }
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let v = o[key], !(v is NSNull) else { return fallback }
            guard let n = v as? NSNumber, n.doubleValue.isFinite else { throw fail(key, "must be a number, got \(v)") }
            return n.doubleValue
        }
        func string(_ key: String, _ fallback: String) throws -> String {
            guard let v = o[key], !(v is NSNull) else { return fallback }
            guard let s = v as? String else { throw fail(key, "must be a string, got \(v)") }
            return s
        }
        func bool(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let v = o[key], !(v is NSNull) else { return fallback }
            guard let n = v as? NSNumber else { throw fail(key, "must be true or false, got \(v)") }
            return n.boolValue
        }
        let cls = o["_class_name"] as? String ?? ""
        let kind: SchedulerKind
        switch cls {
        case "CogVideoXDDIMScheduler": kind = .ddim
        case "CogVideoXDPMScheduler": kind = .dpm
        default: throw fail("_class_name", "\"\(cls)\" is not a scheduler we implement (CogVideoXDDIMScheduler, CogVideoXDPMScheduler)")
        }
        var s = NoiseSchedule(snrShiftScale: try number("snr_shift_scale", 3.0))
        guard s.snrShiftScale > 0 else { throw fail("snr_shift_scale", "must be positive, got \(s.snrShiftScale)") }
        let n = try number("num_train_timesteps", 1000)
        guard n == n.rounded(), n >= 2, n <= 100_000 else { throw fail("num_train_timesteps", "must be an integer >= 2, got \(n)") }
        s.numTrainTimesteps = Int(n)
        s.betaStart = try number("beta_start", 0.00085)
        s.betaEnd = try number("beta_end", 0.0120)
        guard s.betaStart > 0, s.betaEnd > s.betaStart, s.betaEnd < 1 else {
            throw fail("beta_start/beta_end", "need 0 < beta_start < beta_end < 1, got \(s.betaStart), \(s.betaEnd)")
        }
        s.rescaleBetasZeroSnr = try bool("rescale_betas_zero_snr", true)
        let schedule = try string("beta_schedule", "scaled_linear")
        guard schedule == "scaled_linear" else { throw fail("beta_schedule", "\"\(schedule)\" is not implemented (only scaled_linear)") }
        if let tb = o["trained_betas"], !(tb is NSNull) { throw fail("trained_betas", "explicit betas are not implemented (must be null)") }
        let prediction = try string("prediction_type", "epsilon")
        guard prediction == "v_prediction" else { throw fail("prediction_type", "\"\(prediction)\" is not implemented (CogVideoX uses v_prediction)") }
        let spacing = try string("timestep_spacing", "leading")
        guard spacing == "trailing" else { throw fail("timestep_spacing", "\"\(spacing)\" is not implemented (only trailing)") }
        guard try number("steps_offset", 0) == 0 else { throw fail("steps_offset", "only 0 is implemented") }
        guard try bool("set_alpha_to_one", true) else { throw fail("set_alpha_to_one", "only true is implemented (the last step goes to alpha_bar = 1)") }
        guard try !bool("clip_sample", true) else { throw fail("clip_sample", "only false is implemented") }
        guard try !bool("thresholding", false) else { throw fail("thresholding", "dynamic thresholding is not implemented") }
        return DiffusersSchedulerConfig(kind: kind, schedule: s)
    }
}
