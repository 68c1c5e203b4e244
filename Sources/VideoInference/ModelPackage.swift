import AtomicFiles
import Foundation
import TensorCore
import VideoModel

/// A loaded model package: transformer, codec, text encoder and defaults.
public final class ModelPackage {
    public let directory: URL
    public let metadata: PackageMetadata
    public let transformer: CogVideoXTransformer
    public let codec: PCALatentCodec

    public init(directory: URL, metadata: PackageMetadata, transformer: CogVideoXTransformer, codec: PCALatentCodec) {
        self.directory = directory
        self.metadata = metadata
        self.transformer = transformer
        self.codec = codec
    }

    /// Loads and checks a package. Every file is refused unless it is a regular file (a FIFO would block
    /// the read); every field is checked against its documented range, and the memory the model needs to
    /// load and sample is estimated and refused (with the figure) when it exceeds `budget`, all before
    /// the weights are allocated.
    public static func load(_ dir: URL, budget: MemoryBudget = .machine) throws -> ModelPackage {
        let metaURL = dir.appendingPathComponent(PackageMetadata.fileName)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelPackageError(path: dir.path, message: "no such folder (a model package is a folder with config.json, diffusion_pytorch_model.safetensors, \(PackageMetadata.fileName) and its codec)")
        }
        guard FileManager.default.fileExists(atPath: metaURL.path) else {
            throw ModelPackageError(path: dir.path, message: "not a tdm-video model package: the folder has no \(PackageMetadata.fileName)")
        }
        func readSmall(_ url: URL, limit: Int, _ what: String) throws -> Data {
            if let problem = InputFile.problem(at: url.path) { throw ModelPackageError(path: url.path, message: problem) }
            if let n = InputFile.size(at: url.path), n > limit {
                throw ModelPackageError(path: url.path, message: "the file has \(n) bytes; \(what) has at most \(limit)")
            }
            do { return try Data(contentsOf: url) } catch {
                throw ModelPackageError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
            }
        }
        let meta: PackageMetadata
        do { meta = try JSONDecoder().decode(PackageMetadata.self, from: readSmall(metaURL, limit: 64 << 20, "a tdm_video.json")) } catch let e as ModelPackageError {
            throw e
        } catch {
            throw ModelPackageError(path: metaURL.path, message: "not a tdm-video model package: \(DecodingErrorText.describe(error))")
        }
        try meta.validate(source: metaURL.path)
        let codecURL = dir.appendingPathComponent(meta.codecFile)
        let codec: PCALatentCodec
        do { codec = try JSONDecoder().decode(PCALatentCodec.self, from: readSmall(codecURL, limit: 256 << 20, "a codec file")) } catch let e as ModelPackageError {
            throw e
        } catch {
            throw ModelPackageError(path: codecURL.path, message: "cannot read the latent codec: \(DecodingErrorText.describe(error))")
        }
        do { try codec.validate() } catch {
            throw ModelPackageError(path: codecURL.path, message: "\(error)")
        }
        for name in ["config.json", CogVideoXTransformer.weightsFileName] {
            let url = dir.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path), let problem = InputFile.problem(at: url.path) {
                throw ModelPackageError(path: url.path, message: problem)
            }
        }
        let config = try CogVideoXConfig.load(dir.appendingPathComponent("config.json"))
        let v = meta.video
        guard v.frames % codec.temporalFactor == 0, v.height % codec.spatialFactor == 0, v.width % codec.spatialFactor == 0,
              (v.height / codec.spatialFactor) % config.patchSize == 0, (v.width / codec.spatialFactor) % config.patchSize == 0 else {
            throw ModelPackageError(path: metaURL.path, message: "field \"video\": \(v.frames) frames of \(v.width)x\(v.height) do not tile into the codec's \(codec.temporalFactor)x\(codec.spatialFactor)x\(codec.spatialFactor) blocks and the transformer's patches of \(config.patchSize) (allowed: frames a multiple of \(codec.temporalFactor), width and height multiples of \(codec.spatialFactor * config.patchSize))")
        }
        if let table = meta.sampling.stepEmbeddings, let row = table.first(where: { $0.value.count != config.timeEmbedDim }) {
            throw ModelPackageError(path: metaURL.path, message: "field \"sampling.step_embeddings.\(row.key)\" has \(row.value.count) values; allowed: time_embed_dim = \(config.timeEmbedDim) of config.json")
        }
        guard codec.latentChannels == config.inChannels, meta.textEncoder.embedDim == config.textEmbedDim,
              meta.textEncoder.textLength == config.maxTextSeqLength || config.useRotaryPositionalEmbeddings else {
            throw ModelPackageError(path: dir.path, message: "codec (\(codec.latentChannels) channels) or text encoder (\(meta.textEncoder.embedDim) x \(meta.textEncoder.textLength)) does not fit the transformer (\(config.inChannels) channels, text \(config.textEmbedDim) x \(config.maxTextSeqLength))")
        }
        // Memory: the parameter slab, the weights file read whole and converted tensor by tensor, and the
        // activations of a CFG batch of 2 at the package's video size.
        let ls = codec.latentShape(frames: v.frames, height: v.height, width: v.width)
        let weightsBytes = Double(InputFile.size(at: dir.appendingPathComponent(CogVideoXTransformer.weightsFileName).path) ?? 0)
        let need = 8 * Double(config.parameterCount) + weightsBytes
            + config.activationBytes(batch: 2, latentFrames: ls.frames, latentHeight: ls.height, latentWidth: ls.width,
                                     textLength: meta.textEncoder.textLength, training: false)
            + 4 * Double(v.frames) * Double(v.height) * Double(v.width) * 3 * 2
        try budget.check(need, for: "model \(dir.path) (its config.json and \(PackageMetadata.fileName), loaded and sampled)")
        let model = try CogVideoXTransformer.load(directory: dir)
        return ModelPackage(directory: dir, metadata: meta, transformer: model, codec: codec)
    }

    /// Writes the package (diffusers files, codec, metadata), each file atomically.
    public static func save(_ dir: URL, transformer: CogVideoXTransformer, codec: PCALatentCodec,
                            metadata: PackageMetadata, dtype: SafeTensorsDType = .f32) throws {
        try transformer.save(directory: dir, dtype: dtype)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(codec), to: dir.appendingPathComponent(metadata.codecFile))
        try AtomicFile.write(try enc.encode(metadata), to: dir.appendingPathComponent(PackageMetadata.fileName))
    }
}

/// A model package that cannot be read or written: the file (or folder) and what is wrong.
public struct ModelPackageError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "model \(path): \(message)" }
}
