import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reading side's guard: an input must be a regular file before anything opens it. A FIFO given as a
/// clip or a config would block `open`/`read` forever, and a device (`/dev/zero`, `/dev/urandom`) would be
/// read without end; both are refused by `stat(2)` (which never blocks), with a sentence naming the kind.
public enum InputFile {
    /// What keeps `path` from being read as an input file, or nil when it is a regular file. Symbolic links
    /// are followed (a link to a regular file is fine).
    public static func problem(at path: String) -> String? {
        if path.isEmpty { return "the path is empty" }
        var st = stat()
        guard stat(path, &st) == 0 else {
            return errno == ENOENT ? "no such file" : "cannot inspect the file (\(String(cString: strerror(errno))))"
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "this is a folder, not a file"
        case S_IFIFO: return "this is a FIFO (named pipe), not a regular file"
        case S_IFCHR, S_IFBLK: return "this is a device, not a regular file"
        case S_IFSOCK: return "this is a socket, not a regular file"
        default: return "not a regular file"
        }
    }

    /// The size of a regular file in bytes (nil if it cannot be inspected).
    public static func size(at path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }
}
