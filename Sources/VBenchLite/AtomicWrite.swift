import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes reports so that a file appears under its final name only when complete: the bytes go to a
/// hidden temporary file in the same directory, which is then renamed (atomic on one file system).
public enum AtomicWrite {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ScoreError("\(url.path): the output directory \(dir.path) does not exist")
        }
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            throw ScoreError("\(url.path): the output path is a directory")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try data.write(to: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw ScoreError("\(url.path): cannot write (\(error.localizedDescription))")
        }
        if rename(tmp.path, url.path) != 0 {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw ScoreError("\(url.path): cannot move the finished file into place (\(message))")
        }
    }
}
