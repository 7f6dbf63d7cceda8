/// The block-tridiagonal precision P of a Gaussian window `x[n]` (a first-order Gauss–Markov
/// chain, paper §2.5): only the diagonal blocks `P_tt` and the neighbour blocks
/// `P_{t,t−1}` (and `P_{t−1,t} = P_{t,t−1}ᵀ`) are non-zero, so `u = P x` at time t depends on
/// `x_{t−1}, x_t, x_{t+1}` only (Lemma 4).
public struct WindowPrecision: Sendable {
    /// The window length n.
    public let length: Int
    /// The dimension dx of one time step.
    public let dimension: Int
    /// `P_tt` for t = 0…n−1 (0-based time).
    public let diagonal: [Tensor]
    /// `P_{t,t−1}` for t = 1…n−1, stored at index t−1.
    public let subdiagonal: [Tensor]

    /// A precision from its blocks: `diagonal` (n blocks) and `subdiagonal` (n−1 blocks).
    public init(diagonal: [Tensor], subdiagonal: [Tensor]) {
        precondition(!diagonal.isEmpty && subdiagonal.count == diagonal.count - 1,
                     "WindowPrecision: need n diagonal and n−1 subdiagonal blocks")
        let d = diagonal[0].shape[0]
        precondition(diagonal.allSatisfy { $0.shape == [d, d] } && subdiagonal.allSatisfy { $0.shape == [d, d] },
                     "WindowPrecision: every block must be \(d)×\(d)")
        self.length = diagonal.count
        self.dimension = d
        self.diagonal = diagonal
        self.subdiagonal = subdiagonal
    }

    /// The precision of n independent draws with the same marginal precision (the "i.i.d."
    /// model that ignores the Markov dependence).
    public static func independent(marginalPrecision: Tensor, length n: Int) -> WindowPrecision {
        let d = marginalPrecision.shape[0]
        return WindowPrecision(diagonal: Array(repeating: marginalPrecision, count: n),
                               subdiagonal: Array(repeating: Tensor.zeros([d, d]), count: max(0, n - 1)))
    }

    /// The block `P_{s,t}` (zero unless |s − t| ≤ 1).
    public func block(_ s: Int, _ t: Int) -> Tensor {
        if s == t { return diagonal[s] }
        if s == t + 1 { return subdiagonal[t] }
        if t == s + 1 { return subdiagonal[s].transposed() }
        return Tensor.zeros([dimension, dimension])
    }

    /// The entry `P[(s,i), (t,j)]` without building a block.
    @inlinable
    public func entry(_ s: Int, _ i: Int, _ t: Int, _ j: Int) -> Double {
        if s == t { return diagonal[s][i, j] }
        if s == t + 1 { return subdiagonal[t][i, j] }
        if t == s + 1 { return subdiagonal[s][j, i] }
        return 0
    }

    /// `u_t = (P x)_t = P_{t,t−1} x_{t−1} + P_tt x_t + P_{t,t+1} x_{t+1}` — the first-order score
    /// at time t (paper eq. 11), from the window x (n×dx).
    public func u(_ x: Tensor, at t: Int) -> [Double] {
        precondition(x.shape == [length, dimension], "WindowPrecision.u: window of shape \(x.shape), expected [\(length), \(dimension)]")
        let d = dimension
        var result = [Double](repeating: 0, count: d)
        x.storage.withUnsafeBufferPointer { xs in
            for s in max(0, t - 1)...min(length - 1, t + 1) {
                for i in 0..<d {
                    var acc = 0.0
                    for j in 0..<d { acc += entry(t, i, s, j) * xs[s * d + j] }
                    result[i] += acc
                }
            }
        }
        return result
    }

    /// `(|P| |x|)_t`, entry-wise: a bound on `|u_t|` and the sum of the absolute values of the
    /// terms `u_t` adds up (the scale of its rounding error).
    public func absoluteU(_ x: Tensor, at t: Int) -> [Double] {
        precondition(x.shape == [length, dimension], "WindowPrecision.absoluteU: window of shape \(x.shape), expected [\(length), \(dimension)]")
        let d = dimension
        var result = [Double](repeating: 0, count: d)
        for s in max(0, t - 1)...min(length - 1, t + 1) {
            for i in 0..<d {
                for j in 0..<d { result[i] += abs(entry(t, i, s, j)) * abs(x[s, j]) }
            }
        }
        return result
    }

    /// The precision whose every block is the entry-wise absolute value `|P_st|`, negated:
    /// the score recursion run on it with non-negative `u` adds `|P_ab|` for each pair where
    /// the score subtracts `P_ab`, so it sums the absolute values of the score's terms.
    public var negatedAbsolute: WindowPrecision {
        func negatedAbs(_ block: Tensor) -> Tensor { Tensor(shape: block.shape, storage: block.storage.map { -abs($0) }) }
        return WindowPrecision(diagonal: diagonal.map(negatedAbs), subdiagonal: subdiagonal.map(negatedAbs))
    }

    /// `u = P x` for the whole window, as an n×dx tensor (row t is `u_t`).
    public func u(_ x: Tensor) -> Tensor {
        precondition(x.shape == [length, dimension], "WindowPrecision.u: window of shape \(x.shape), expected [\(length), \(dimension)]")
        return Tensor(shape: [length, dimension], storage: (0..<length).flatMap { u(x, at: $0) })
    }

    /// The dense precision matrix (n·dx × n·dx).
    public var dense: Tensor {
        let d = dimension
        return Tensor(shape: [length * d, length * d]) { index in
            entry(index[0] / d, index[0] % d, index[1] / d, index[1] % d)
        }
    }
}

extension AR1Process {
    /// The precision P of a window of length n, as blocks (MATH.md §2).
    public func windowPrecision(length n: Int) -> WindowPrecision {
        WindowPrecision(diagonal: (0..<n).map { precisionBlock(row: $0, column: $0, length: n) },
                        subdiagonal: (1..<max(1, n)).map { precisionBlock(row: $0, column: $0 - 1, length: n) })
    }
}
