/// A dense tensor of float64 entries of any order, stored in row-major (C) order.
///
/// Order 0 is a scalar, order 1 a vector, order 2 a matrix (rows × columns). Entry
/// `(i1, …, ik)` lives at `Σ i_m · stride_m`, where the last mode varies fastest — the
/// layout HDF5 and numpy use, so a tensor is written and read without reordering.
public struct Tensor: Equatable, Sendable {
    /// The length of each mode.
    public let shape: [Int]
    /// The entries in row-major order; `storage.count == shape.reduce(1, *)`.
    public var storage: [Double]

    /// A tensor of the given shape holding `storage` in row-major order.
    public init(shape: [Int], storage: [Double]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative mode length in \(shape)")
        precondition(storage.count == shape.reduce(1, *),
                     "Tensor: \(storage.count) entries do not fill shape \(shape)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Double = 0) {
        self.init(shape: shape, storage: [Double](repeating: value, count: shape.reduce(1, *)))
    }

    /// The all-zero tensor of the given shape.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    /// An order-0 tensor (a scalar).
    public init(scalar: Double) { self.init(shape: [], storage: [scalar]) }

    /// An order-1 tensor (a vector).
    public init(vector: [Double]) { self.init(shape: [vector.count], storage: vector) }

    /// An order-2 tensor from its rows; all rows must have the same length.
    public init(rows: [[Double]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor(rows:): ragged rows")
        self.init(shape: [rows.count, columns], storage: rows.flatMap { $0 })
    }

    /// The d×d identity matrix.
    public static func identity(_ d: Int) -> Tensor {
        var t = Tensor.zeros([d, d])
        for i in 0..<d { t.storage[i * d + i] = 1 }
        return t
    }

    /// A tensor whose entry at each multi-index is `f(index)`.
    public init(shape: [Int], _ f: ([Int]) -> Double) {
        var t = Tensor.zeros(shape)
        var index = [Int](repeating: 0, count: shape.count)
        for k in 0..<t.storage.count {
            t.storage[k] = f(index)
            Tensor.advance(&index, in: shape)
        }
        self = t
    }

    /// The number of modes (the tensor's order).
    public var order: Int { shape.count }

    /// The number of entries.
    public var count: Int { storage.count }

    /// Row-major strides: `strides[m]` is the distance in `storage` between neighbours in mode m.
    public var strides: [Int] { Tensor.strides(of: shape) }

    /// Row-major strides of a shape.
    public static func strides(of shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for m in stride(from: shape.count - 1, through: 0, by: -1) {
            s[m] = acc
            acc *= shape[m]
        }
        return s
    }

    /// Steps a multi-index to the next one in row-major order (wrapping to all zeros at the end).
    @inlinable
    public static func advance(_ index: inout [Int], in shape: [Int]) {
        var m = shape.count - 1
        while m >= 0 {
            index[m] += 1
            if index[m] < shape[m] { return }
            index[m] = 0
            m -= 1
        }
    }

    /// The flat position of a multi-index.
    @inlinable
    public func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
        var k = 0
        for m in 0..<shape.count {
            precondition(index[m] >= 0 && index[m] < shape[m], "Tensor: index \(index) out of \(shape)")
            k = k * shape[m] + index[m]
        }
        return k
    }

    /// The entry at a multi-index.
    public subscript(index: [Int]) -> Double {
        get { storage[offset(index)] }
        set { storage[offset(index)] = newValue }
    }

    /// The entry at a multi-index given as separate arguments: `t[i, j, k]`.
    public subscript(_ index: Int...) -> Double {
        get { storage[offset(index)] }
        set { storage[offset(index)] = newValue }
    }

    /// The same entries seen with another shape of equal size (no reordering).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// True when every entry is finite (no NaN, no ±∞).
    public var isFinite: Bool { storage.allSatisfy { $0.isFinite } }
}
