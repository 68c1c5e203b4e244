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
        try AtomicFile.write(path: path) { (sink: (UnsafeRawBufferPointer) throws(SafeTensorsError) -> Void) throws(SafeTensorsError) in
            try header.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try sink(raw) } }.get()
            for tensor in ordered {
                try tensor.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try sink(raw) } }.get()
            }
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

/// Write-to-temporary-then-rename, with the temporary file removed on every failure path: a file
/// that matters (checkpoint, model, report, suite) is either complete or absent.
public enum AtomicFile {
    /// Creates a temporary file next to `path`, lets `produce` stream the content into it through the sink,
    /// flushes it to disk and renames it to `path`.
    static func write(
        path: String,
        _ produce: ((UnsafeRawBufferPointer) throws(SafeTensorsError) -> Void) throws(SafeTensorsError) -> Void
    ) throws(SafeTensorsError) {
        func failure(_ what: String, code: Int32 = errno) -> SafeTensorsError {
            SafeTensorsError(source: path, defect: .ioFailure(reason: "\(what): \(String(cString: strerror(code)))"))
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("cannot create temporary file \(temporary)") }
        var isOpen = true
        do throws(SafeTensorsError) {
            try produce { (buffer: UnsafeRawBufferPointer) throws(SafeTensorsError) in
                guard var next = buffer.baseAddress else { return }
                var remaining = buffer.count
                while remaining > 0 {
                    let written = systemWrite(descriptor, next, min(remaining, 1 << 30))
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("cannot write \(temporary)")
                    }
                    remaining -= written
                    next += written
                }
            }
            guard fsync(descriptor) == 0 else { throw failure("cannot flush \(temporary)") }
            isOpen = false
            guard close(descriptor) == 0 else { throw failure("cannot close \(temporary)") }
            guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) to \(path)") }
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary)
            throw error
        }
    }

    /// Writes `data` atomically; failures are reported through `error(reason)`.
    public static func write(_ data: Data, to url: URL, error: (String) -> Error) throws {
        do {
            try write(path: url.path) { (sink: (UnsafeRawBufferPointer) throws(SafeTensorsError) -> Void) throws(SafeTensorsError) in
                try data.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try sink(raw) } }.get()
            }
        } catch let e as SafeTensorsError {
            throw error(e.defect.message)
        }
    }
}

/// `write(2)`, named apart from the `write` methods.
@inline(__always)
func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, buffer, count)
    #else
    return Darwin.write(descriptor, buffer, count)
    #endif
}
