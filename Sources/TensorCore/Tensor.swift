/// A dense, row-major Float32 tensor: a shape and its values.
///
/// Deliberately plain (llm.c style): the kernels work on raw buffers, and `Tensor` is what crosses
/// module boundaries (inputs, outputs, loaded weights).
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    /// A tensor over `data`, which must hold exactly the product of `shape` values.
    public init(shape: [Int], data: [Float]) throws {
        let n = try Tensor.elementCount(shape)
        guard n == data.count else {
            throw TensorError.shapeMismatch("shape \(shape) needs \(n) values, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }

    /// Zeros of the given shape (dimensions must be non-negative).
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { data.count }

    /// The product of the dimensions, checked for negatives and overflow.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw TensorError.shapeMismatch("negative dimension in \(shape)") }
            let (r, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw TensorError.shapeMismatch("shape \(shape) overflows") }
            n = r
        }
        return n
    }
}

public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    public var description: String {
        switch self {
        case .shapeMismatch(let s): return "tensor shape mismatch: \(s)"
        }
    }
}

/// Largest absolute difference and the reference's largest magnitude: the numbers behind every
/// golden-tensor comparison (rel_err = maxAbs / refMax).
public func compareTensors(_ ours: [Float], _ ref: [Float]) -> (maxAbs: Float, refMax: Float, relErr: Float) {
    precondition(ours.count == ref.count, "compareTensors: \(ours.count) vs \(ref.count) values")
    var maxAbs: Float = 0, refMax: Float = 0
    for i in 0..<ours.count {
        let d = abs(ours[i] - ref[i])
        if !(d <= maxAbs) { maxAbs = d.isNaN ? .infinity : d }
        refMax = max(refMax, abs(ref[i]))
    }
    return (maxAbs, refMax, refMax > 0 ? maxAbs / refMax : maxAbs)
}
