/// A fixed-size, heap-allocated Float32 buffer with a stable address.
///
/// The kernels take raw pointers; holding parameters, gradients and activations in buffers whose
/// address never moves keeps the hot paths free of copy-on-write checks and nested
/// `withUnsafe…` closures. Ownership is the class instance: the memory is freed with it.
public final class FloatBuffer: @unchecked Sendable {
    public let p: UnsafeMutablePointer<Float>
    public let count: Int

    /// `count` zeros.
    public init(count: Int) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }

    /// A copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: values.count) } }
    }

    deinit { p.deallocate() }

    public var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }

    public func zero() { p.update(repeating: 0, count: count) }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer.copy: \(other.count) vs \(count) values")
        p.update(from: other.p, count: count)
    }

    public func copy(from values: [Float]) {
        precondition(values.count == count, "FloatBuffer.copy: \(values.count) vs \(count) values")
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: count) } }
    }

    public subscript(i: Int) -> Float {
        get { p[i] }
        set { p[i] = newValue }
    }

    /// The pointer as a Sendable value for Dispatch workers.
    public var sp: SendablePointer<Float> { SendablePointer(p) }
}
