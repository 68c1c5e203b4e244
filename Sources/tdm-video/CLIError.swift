/// A runtime failure of a verb (unreadable input, unwritable output): exit code 1 with its message.
/// (ArgumentParser's ValidationError is for bad usage and exits 64.)
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ m: String) { description = m }
}
