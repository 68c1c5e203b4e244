import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SafeTensorsFile {
    /// Maps the file at `url` read-only into memory (`mmap`, `MAP_PRIVATE`) and parses it with the same
    /// validation as `read`. Tensor bytes are not copied: each `SafeTensor` is a slice of the mapping, and
    /// the kernel pages them in when first touched and may drop them again under memory pressure (they are
    /// backed by the file, not by swap). The mapping is released when the last tensor sharing it is gone.
    ///
    /// This is how multi-gigabyte checkpoints (T5-XXL's 9.5 GB of bf16, CogVideoX-2b's 3.4 GB of fp16) are
    /// opened without first reading them into anonymous memory. Errors name `url.path`. Empty files are
    /// refused like any file shorter than the 8-byte header length.
    public static func readMapped(_ url: URL) throws(SafeTensorsError) -> SafeTensorsFile {
        let path = url.path
        func failure(_ what: String) -> SafeTensorsError {
            SafeTensorsError(source: path, defect: .ioFailure(reason: "\(what): \(String(cString: strerror(errno)))"))
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("cannot open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("cannot stat") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(source: path, defect: .ioFailure(reason: "not a regular file"))
        }
        let size = Int(status.st_size)
        guard size >= 8 else { throw SafeTensorsError(source: path, defect: .fileTooShort(byteCount: size)) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw failure("cannot map")
        }
        let data = Data(bytesNoCopy: base, count: size, deallocator: .custom { pointer, count in
            _ = munmap(pointer, count)
        })
        return try parse(data, source: path)
    }
}
