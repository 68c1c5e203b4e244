import Foundation
import TensorCore

/// A training checkpoint: named Float tensors (weights, EMA, optimiser moments) and a JSON state
/// (step, RNG streams, counters) in one safetensors file, written atomically, so a run killed at any
/// moment resumes from the last complete checkpoint with the same data and noise streams.
public struct Checkpoint {
    public var tensors: [String: [Float]]
    public var state: [String: String]

    public init(tensors: [String: [Float]] = [:], state: [String: String] = [:]) {
        self.tensors = tensors
        self.state = state
    }

    public func write(to url: URL) throws {
        let named = try tensors.keys.sorted().map { k in (k, try SafeTensor(floats: tensors[k]!, shape: [tensors[k]!.count], as: .f32)) }
        try SafeTensorsFile.write(named, metadata: state, to: url)
    }

    public static func read(_ url: URL) throws -> Checkpoint {
        try parse(try SafeTensorsFile.read(url), url: url)
    }

    /// A checkpoint from its file's bytes (rank 0's copy, received over MPI).
    public static func parse(_ data: Data, url: URL) throws -> Checkpoint {
        try parse(try SafeTensorsFile.parse(data, source: url.path), url: url)
    }

    static func parse(_ f: SafeTensorsFile, url: URL) throws -> Checkpoint {
        var t: [String: [Float]] = [:]
        for (k, v) in f.tensors {
            guard v.dtype == .f32 else { throw CheckpointError(path: url.path, message: "tensor \(k) is \(v.dtype.rawValue), expected F32") }
            t[k] = v.floats()
        }
        return Checkpoint(tensors: t, state: f.metadata)
    }

    public func tensor(_ k: String, count: Int, source: String) throws -> [Float] {
        guard let v = tensors[k] else { throw CheckpointError(path: source, message: "no tensor \(k)") }
        guard v.count == count else { throw CheckpointError(path: source, message: "tensor \(k) has \(v.count) values, expected \(count)") }
        return v
    }

    public func int(_ k: String, source: String) throws -> Int {
        guard let s = state[k], let v = Int(s) else { throw CheckpointError(path: source, message: "state \(k) is missing or not an integer") }
        return v
    }

    /// An RNG stream saved as four hexadecimal words.
    public static func encode(_ rng: RNG) -> String { rng.state.map { String($0, radix: 16) }.joined(separator: ",") }

    public func rng(_ k: String, source: String) throws -> RNG {
        guard let s = state[k] else { throw CheckpointError(path: source, message: "state \(k) is missing") }
        let words = s.split(separator: ",").compactMap { UInt64($0, radix: 16) }
        do { return try RNG(state: words) } catch { throw CheckpointError(path: source, message: "state \(k) is not an RNG state") }
    }
}

public struct CheckpointError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "checkpoint \(path): \(message)" }
}
