import AtomicFiles
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing safetensors files the way the reference `safetensors` library does, so diffusers and PyTorch load
/// what we save: tensors laid out by descending dtype rank then name (every tensor aligned to its element size),
/// header keys in that same order with `__metadata__` first, compact JSON padded with spaces to a multiple of 8.
/// Files are written atomically: a temporary file in the target directory, flushed, then renamed over the
/// target; on any failure the temporary file is removed and the target is left as it was.
extension SafeTensorsFile {
    /// Writes `tensors` and `metadata` to `url` atomically.
    public static func write(
        _ tensors: [(name: String, tensor: SafeTensor)], metadata: [String: String] = [:], to url: URL
    ) throws(SafeTensorsError) {
        let path = url.path
        let (header, ordered) = try layout(tensors, metadata: metadata, source: path)
        do {
            try AtomicFile.write(to: url) { sink in
                try header.withUnsafeBytes { try sink($0) }
                for tensor in ordered { try tensor.withUnsafeBytes { try sink($0) } }
            }
        } catch let e as AtomicFileError {
            throw SafeTensorsError(source: path, defect: .ioFailure(reason: e.reason))
        } catch {
            throw SafeTensorsError(source: path, defect: .ioFailure(reason: "\(error)"))
        }
    }

    /// Writes this file's tensors and metadata to `url` atomically.
    public func write(to url: URL) throws(SafeTensorsError) {
        try Self.write(tensors.map { (name: $0.key, tensor: $0.value) }, metadata: metadata, to: url)
    }

    /// The bytes `write` would put in a file.
    public static func serialize(
        _ tensors: [(name: String, tensor: SafeTensor)], metadata: [String: String] = [:]
    ) throws(SafeTensorsError) -> Data {
        let (header, ordered) = try layout(tensors, metadata: metadata, source: "<memory>")
        var data = Data(header)
        data.reserveCapacity(header.count + ordered.reduce(0) { $0 + $1.byteCount })
        for tensor in ordered { tensor.withUnsafeBytes { data.append(contentsOf: $0) } }
        return data
    }

    /// This file's bytes.
    public func serialized() throws(SafeTensorsError) -> Data {
        try Self.serialize(tensors.map { (name: $0.key, tensor: $0.value) }, metadata: metadata)
    }

    /// Validates names and returns the length prefix plus padded header, and the tensors in data order.
    static func layout(
        _ tensors: [(name: String, tensor: SafeTensor)], metadata: [String: String], source: String
    ) throws(SafeTensorsError) -> (header: [UInt8], ordered: [SafeTensor]) {
        var seen = Set<String>()
        for (name, _) in tensors {
            if name == "__metadata__" {
                throw SafeTensorsError(source: source, defect: .invalidTensor(
                    tensor: name, reason: "the name __metadata__ is reserved for the metadata map"))
            }
            guard seen.insert(name).inserted else {
                throw SafeTensorsError(source: source, defect: .duplicateName(name))
            }
        }
        let ordered = tensors.sorted { left, right in
            left.tensor.dtype.rank != right.tensor.dtype.rank
                ? left.tensor.dtype.rank > right.tensor.dtype.rank
                : left.name.utf8.lexicographicallyPrecedes(right.name.utf8)  // byte order, as the reference
        }

        var json: [UInt8] = [UInt8(ascii: "{")]
        if !metadata.isEmpty {
            SafeTensorsJSON.appendString("__metadata__", to: &json)
            json.append(contentsOf: Array(":{".utf8))
            for (position, key) in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if position > 0 { json.append(UInt8(ascii: ",")) }
                SafeTensorsJSON.appendString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                SafeTensorsJSON.appendString(metadata[key] ?? "", to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for (position, item) in ordered.enumerated() {
            if position > 0 || !metadata.isEmpty { json.append(UInt8(ascii: ",")) }
            SafeTensorsJSON.appendString(item.name, to: &json)
            json.append(contentsOf: Array(":{\"dtype\":".utf8))
            SafeTensorsJSON.appendString(item.tensor.dtype.rawValue, to: &json)
            json.append(contentsOf: Array(",\"shape\":".utf8))
            SafeTensorsJSON.appendIntegers(item.tensor.shape, to: &json)
            json.append(contentsOf: Array(",\"data_offsets\":".utf8))
            SafeTensorsJSON.appendIntegers([offset, offset + item.tensor.byteCount], to: &json)
            json.append(UInt8(ascii: "}"))
            offset += item.tensor.byteCount
        }
        json.append(UInt8(ascii: "}"))
        let padding = (8 - json.count % 8) % 8
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        guard json.count <= maximumHeaderLength else {
            throw SafeTensorsError(source: source, defect: .headerTooLarge(
                length: UInt64(json.count), limit: maximumHeaderLength))
        }

        var header: [UInt8] = []
        header.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { header.append(contentsOf: $0) }
        header.append(contentsOf: json)
        return (header, ordered.map(\.tensor))
    }
}
