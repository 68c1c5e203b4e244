import ArgumentParser
import TensorCore

/// `--max-memory`: the memory budget of `sample`, `pretrain` and `distill` (default: the machine's).
/// A text that is not a size is bad usage (exit 64).
func memoryBudget(_ option: String?) throws -> MemoryBudget {
    guard let option else { return .machine }
    guard let b = MemoryBudget.parse(option) else {
        throw ValidationError("--max-memory \"\(option)\" is not a size: give bytes with an optional K, M, G or T suffix (e.g. 8G), at least 1M")
    }
    return b
}
