// The error type of the tensor-decomposition toolbox (paper Appendix A) and the input
// checks shared by its routines.

/// A tensor-decomposition failure: the routine that failed and why, in one line.
public typealias DecompositionError = RoutineError<DecompositionFailure>

/// What went wrong in a decomposition routine.
public enum DecompositionFailure: String, Sendable, Equatable {
    /// The requested rank is impossible for this tensor or method (k ≤ 0, k > a mode length, k > rank of M2, …).
    case invalidRank
    /// The tensor has the wrong order or shape, or two arguments do not fit together.
    case wrongShape
    /// The input has NaN or infinite entries.
    case nonFiniteInput
    /// Whitening is not valid: the second-moment matrix M2 is not positive on the components (Procedure 4).
    case whiteningInvalid
    /// A general eigendecomposition produced complex eigenvalues where real ones were required.
    case complexEigenvalues
    /// A matrix that should have rank k is (numerically) rank-deficient.
    case rankDeficient
    /// An iterative method did not reach its tolerance within its iteration budget.
    case noConvergence
}

/// Input checks and small numerical helpers shared by the decomposition routines.
enum DecompositionSupport {
    /// Throws unless `tensor` has order 3 and finite entries.
    static func requireThirdOrder(_ tensor: Tensor, _ routine: String) throws {
        guard tensor.order == 3 else {
            throw DecompositionError(routine: routine, kind: .wrongShape,
                                     message: "needs a third-order tensor, got shape \(tensor.shape)")
        }
        guard tensor.shape.allSatisfy({ $0 > 0 }) else {
            throw DecompositionError(routine: routine, kind: .wrongShape,
                                     message: "tensor of shape \(tensor.shape) is empty")
        }
        try requireFinite(tensor, routine, "tensor")
    }

    /// Throws unless `tensor` is `d1 × d × d` (modes 2 and 3 of equal length) with finite entries.
    static func requirePartiallySymmetricShape(_ tensor: Tensor, _ routine: String) throws {
        try requireThirdOrder(tensor, routine)
        guard tensor.shape[1] == tensor.shape[2] else {
            throw DecompositionError(routine: routine, kind: .wrongShape,
                                     message: "needs a dy×dx×dx tensor (modes 2 and 3 of equal length), got shape \(tensor.shape)")
        }
    }

    /// Throws unless `tensor` is `d × d × d` with finite entries.
    static func requireCubical(_ tensor: Tensor, _ routine: String) throws {
        try requireThirdOrder(tensor, routine)
        guard tensor.shape[0] == tensor.shape[1], tensor.shape[1] == tensor.shape[2] else {
            throw DecompositionError(routine: routine, kind: .wrongShape,
                                     message: "needs a d×d×d tensor, got shape \(tensor.shape)")
        }
    }

    /// Throws unless every entry is finite.
    static func requireFinite(_ tensor: Tensor, _ routine: String, _ what: String) throws {
        guard tensor.isFinite else {
            throw DecompositionError(routine: routine, kind: .nonFiniteInput,
                                     message: "\(what) of shape \(tensor.shape) has NaN or infinite entries")
        }
    }

    /// Throws unless every entry is finite.
    static func requireFinite(_ vector: [Double], _ routine: String, _ what: String) throws {
        guard vector.allSatisfy({ $0.isFinite }) else {
            throw DecompositionError(routine: routine, kind: .nonFiniteInput,
                                     message: "\(what) has NaN or infinite entries")
        }
    }

    /// Throws unless `rank ≥ 1`.
    static func requirePositiveRank(_ rank: Int, _ routine: String) throws {
        guard rank >= 1 else {
            throw DecompositionError(routine: routine, kind: .invalidRank,
                                     message: "rank k = \(rank) must be positive")
        }
    }

    /// The Euclidean norm of a vector.
    static func norm(_ v: [Double]) -> Double {
        Tensor(vector: v).frobeniusNorm
    }

    /// `v / ‖v‖`, or `v` unchanged when it is zero.
    static func normalized(_ v: [Double]) -> [Double] {
        let n = norm(v)
        return n > 0 ? v.map { $0 / n } : v
    }

    /// The first `k` columns of a `d × m` matrix, as a `d × k` matrix.
    static func leadingColumns(_ m: Tensor, _ k: Int) -> Tensor {
        let d = m.shape[0], columns = m.shape[1]
        return Tensor(shape: [d, k]) { i in m.storage[i[0] * columns + i[1]] }
    }

    /// Mode `mode` of a third-order tensor as rows, the other two modes flattened row-major (in their order).
    static func unfolding(_ tensor: Tensor, mode: Int) -> Tensor {
        switch mode {
        case 0: return tensor.matricized()
        case 1: return tensor.permuted([1, 0, 2]).matricized()
        default: return tensor.permuted([2, 0, 1]).matricized()
        }
    }

    /// The part of a third-order tensor symmetric in modes 2 and 3: `(T + T^{(1 3 2)}) / 2`.
    static func symmetrizedInLastModes(_ tensor: Tensor) -> Tensor {
        (tensor + tensor.permuted([0, 2, 1])) / 2
    }

    /// The singular values and top-`k` left singular vectors (`d × k`) of a matrix.
    static func leftSingularSubspace(_ m: Tensor, _ k: Int) throws -> (basis: Tensor, singularValues: [Double]) {
        let f = try svd(m)
        return (leadingColumns(f.u, k), f.singularValues)
    }

    /// Throws `.rankDeficient` unless the `k`-th singular value exceeds `tolerance · σ_1`.
    static func requireRank(_ singularValues: [Double], _ k: Int, tolerance: Double,
                            _ routine: String, _ what: String) throws {
        let largest = singularValues.first ?? 0
        let numericalRank = singularValues.filter { $0 > tolerance * largest }.count
        guard largest > 0, numericalRank >= k else {
            throw DecompositionError(routine: routine, kind: .rankDeficient,
                                     message: "\(what) has numerical rank \(numericalRank) < k = \(k) (relative tolerance \(tolerance))")
        }
    }

    /// The rows of `m` scaled to unit norm, and their former norms.
    static func normalizedRows(_ m: Tensor) -> (Tensor, [Double]) {
        let rows = m.shape[0], columns = m.shape[1]
        var out = m
        var norms = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            let n = norm(m.row(i))
            norms[i] = n
            if n > 0 {
                for j in 0..<columns { out.storage[i * columns + j] /= n }
            }
        }
        return (out, norms)
    }
}
