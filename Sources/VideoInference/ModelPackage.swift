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

    public static func load(_ dir: URL) throws -> ModelPackage {
        let metaURL = dir.appendingPathComponent(PackageMetadata.fileName)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelPackageError(path: dir.path, message: "no such folder (a model package is a folder with config.json, diffusion_pytorch_model.safetensors, \(PackageMetadata.fileName) and its codec)")
        }
        guard FileManager.default.fileExists(atPath: metaURL.path) else {
            throw ModelPackageError(path: dir.path, message: "not a tdm-video model package: the folder has no \(PackageMetadata.fileName)")
        }
        let meta: PackageMetadata
        do { meta = try JSONDecoder().decode(PackageMetadata.self, from: Data(contentsOf: metaURL)) } catch {
            throw ModelPackageError(path: metaURL.path, message: "not a tdm-video model package (\(error))")
        }
        let codecURL = dir.appendingPathComponent(meta.codecFile)
        let codec: PCALatentCodec
        do { codec = try JSONDecoder().decode(PCALatentCodec.self, from: Data(contentsOf: codecURL)) } catch {
            throw ModelPackageError(path: codecURL.path, message: "cannot read the latent codec (\(error))")
        }
        do { try codec.validate() } catch {
            throw ModelPackageError(path: codecURL.path, message: "\(error)")
        }
        let model = try CogVideoXTransformer.load(directory: dir)
        let c = model.config
        guard codec.latentChannels == c.inChannels, meta.textEncoder.embedDim == c.textEmbedDim,
              meta.textEncoder.textLength == c.maxTextSeqLength || c.useRotaryPositionalEmbeddings else {
            throw ModelPackageError(path: dir.path, message: "codec (\(codec.latentChannels) channels) or text encoder (\(meta.textEncoder.embedDim) x \(meta.textEncoder.textLength)) does not fit the transformer (\(c.inChannels) channels, text \(c.textEmbedDim) x \(c.maxTextSeqLength))")
        }
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
