// Recovery metrics (MATH.md §1, §7): match estimated components to true ones by the
// Hungarian algorithm on |cosine|, then score and measure the error after fixing the
// permutation, sign and scale that CP decompositions cannot determine.

/// The optimal one-to-one assignment of rows to columns of a square similarity matrix (Hungarian algorithm, O(n³)).
///
/// Returns `assignment` with `assignment[i]` the column given to row i, maximizing
/// `Σ_i similarity[i, assignment[i]]`. Shortest augmenting paths with dual potentials
/// (Kuhn–Munkres in the Jonker–Volgenant form): rows are added one at a time, each by a
/// Dijkstra-like search over reduced costs, so the whole run is O(n³). Throws for a
/// non-square or non-finite matrix.
public func hungarianAssignment(maximizing similarity: Tensor) throws -> [Int] {
    let routine = "hungarianAssignment"
    guard similarity.order == 2, similarity.shape[0] == similarity.shape[1] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs a square similarity matrix, got shape \(similarity.shape)")
    }
    try DecompositionSupport.requireFinite(similarity, routine, "similarity matrix")
    let n = similarity.shape[0]
    if n == 0 { return [] }
    // Minimize cost = −similarity. Arrays are 1-based; index 0 is a virtual column/row.
    func cost(_ i: Int, _ j: Int) -> Double { -similarity.storage[(i - 1) * n + (j - 1)] }
    var rowPotential = [Double](repeating: 0, count: n + 1)
    var columnPotential = [Double](repeating: 0, count: n + 1)
    var rowOfColumn = [Int](repeating: 0, count: n + 1)      // 0 = column free
    var previousColumn = [Int](repeating: 0, count: n + 1)
    for row in 1...n {
        rowOfColumn[0] = row
        var column = 0
        var slack = [Double](repeating: .infinity, count: n + 1)
        var visited = [Bool](repeating: false, count: n + 1)
        repeat {
            visited[column] = true
            let current = rowOfColumn[column]
            var delta = Double.infinity
            var next = 0
            for j in 1...n where !visited[j] {
                let reduced = cost(current, j) - rowPotential[current] - columnPotential[j]
                if reduced < slack[j] {
                    slack[j] = reduced
                    previousColumn[j] = column
                }
                if slack[j] < delta {
                    delta = slack[j]
                    next = j
                }
            }
            for j in 0...n {
                if visited[j] {
                    rowPotential[rowOfColumn[j]] += delta
                    columnPotential[j] -= delta
                } else {
                    slack[j] -= delta
                }
            }
            column = next
        } while rowOfColumn[column] != 0
        // Flip the augmenting path back to the virtual column.
        repeat {
            let previous = previousColumn[column]
            rowOfColumn[column] = rowOfColumn[previous]
            column = previous
        } while column != 0
    }
    var assignment = [Int](repeating: 0, count: n)
    for j in 1...n { assignment[rowOfColumn[j] - 1] = j - 1 }
    return assignment
}

/// The greedy assignment: repeatedly pair the row and column of the largest remaining similarity.
///
/// Not optimal in general (it is here to show why the Hungarian algorithm is needed);
/// `assignment[i]` is the column given to row i. Precondition: a square matrix.
public func greedyAssignment(maximizing similarity: Tensor) -> [Int] {
    precondition(similarity.order == 2 && similarity.shape[0] == similarity.shape[1],
                 "greedyAssignment: needs a square matrix, got shape \(similarity.shape)")
    let n = similarity.shape[0]
    var assignment = [Int](repeating: -1, count: n)
    var columnTaken = [Bool](repeating: false, count: n)
    for _ in 0..<n {
        var best = -Double.infinity, bestRow = -1, bestColumn = -1
        for i in 0..<n where assignment[i] < 0 {
            for j in 0..<n where !columnTaken[j] {
                let s = similarity.storage[i * n + j]
                if bestRow < 0 || s > best { best = s; bestRow = i; bestColumn = j }
            }
        }
        assignment[bestRow] = bestColumn
        columnTaken[bestColumn] = true
    }
    return assignment
}

/// How well the rows of an estimated factor matrix match the true one, after optimal matching.
public struct FactorMatch: Sendable, Equatable {
    /// The mean over true components of |cos(estimated, true)| after matching: 1 is perfect.
    public let score: Double
    /// `permutation[i]` is the estimated row matched to true row i.
    public let permutation: [Int]
    /// |cosine| between true row i and its matched estimated row.
    public let cosines: [Double]
    /// `‖s e − t‖ / ‖t‖` per true row t, with e its matched estimated row and s the best scalar (so = sin of the angle).
    public let rowErrors: [Double]
    /// `‖S − T‖_F / ‖T‖_F` over the whole factor, each matched estimated row rescaled by its best scalar.
    public let relativeError: Double
}

/// Checks a pair of factor matrices and returns the |cosine| matrix, entry `(i, j)` for true row i and estimated row j.
private func absoluteCosines(estimated: Tensor, truth: Tensor, _ routine: String) throws -> Tensor {
    guard estimated.order == 2, truth.order == 2 else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs two matrices (components as rows), got shapes \(estimated.shape) and \(truth.shape)")
    }
    guard estimated.shape == truth.shape else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "estimated factor \(estimated.shape) and true factor \(truth.shape) differ in shape")
    }
    try DecompositionSupport.requireFinite(estimated, routine, "estimated factor")
    try DecompositionSupport.requireFinite(truth, routine, "true factor")
    let k = truth.shape[0]
    let (e, _) = DecompositionSupport.normalizedRows(estimated)
    let (t, _) = DecompositionSupport.normalizedRows(truth)
    let gram = matmul(t, e, transposeB: true)
    return Tensor(shape: [k, k]) { i in Swift.abs(gram[i[0], i[1]]) }
}

/// The matching statistics of one factor under a fixed permutation (`permutation[i]` = estimated row for true row i).
private func matchStatistics(estimated: Tensor, truth: Tensor, cosines: Tensor, permutation: [Int]) -> FactorMatch {
    let k = truth.shape[0]
    var matched: [Double] = []
    var rowErrors: [Double] = []
    var squaredError = 0.0
    for i in 0..<k {
        let t = truth.row(i), e = estimated.row(permutation[i])
        matched.append(cosines[i, permutation[i]])
        let ee = dot(e, e)
        let s = ee > 0 ? dot(e, t) / ee : 0
        let residual = zip(e, t).map { s * $0 - $1 }
        let r = DecompositionSupport.norm(residual)
        let tn = DecompositionSupport.norm(t)
        rowErrors.append(tn > 0 ? r / tn : (r == 0 ? 0 : .infinity))
        squaredError += r * r
    }
    let total = truth.frobeniusNorm
    let relative = total > 0 ? squaredError.squareRoot() / total : (squaredError == 0 ? 0 : .infinity)
    let score = k > 0 ? matched.reduce(0, +) / Double(k) : 1
    return FactorMatch(score: score, permutation: permutation, cosines: matched,
                       rowErrors: rowErrors, relativeError: relative)
}

/// Optimal matching of estimated to true components (rows) by |cosine| (Hungarian algorithm), with score and errors.
///
/// Invariant to permutation of the rows and to the sign and scale of each row. Both
/// matrices must have the same shape `k × d` and finite entries.
public func factorMatch(estimated: Tensor, truth: Tensor) throws -> FactorMatch {
    let c = try absoluteCosines(estimated: estimated, truth: truth, "factorMatch")
    let permutation = try hungarianAssignment(maximizing: c)
    return matchStatistics(estimated: estimated, truth: truth, cosines: c, permutation: permutation)
}

/// The factor match score: mean |cosine| between true rows and optimally matched estimated rows (1 is perfect).
public func factorMatchScore(estimated: Tensor, truth: Tensor) throws -> Double {
    try factorMatch(estimated: estimated, truth: truth).score
}

/// The joint matching of several factors (one permutation shared by all modes), mode by mode.
public struct DecompositionMatch: Sendable, Equatable {
    /// The mean over components of the product over modes of |cosine| (1 is perfect).
    public let score: Double
    /// `permutation[i]` is the estimated component matched to true component i in every mode.
    public let permutation: [Int]
    /// Per-mode statistics under the shared permutation.
    public let modes: [FactorMatch]
}

/// Optimal joint matching of estimated to true components across several factor matrices (Hungarian on the product of |cosines|).
///
/// `estimated[m]` and `truth[m]` are the `k × d_m` factors of mode m. A component counts
/// as recovered only when it is recovered in every mode, so the similarity of a pair is
/// the product over modes of |cosine| (the usual CP "factor match score" without the weight term).
public func factorMatch(estimated: [Tensor], truth: [Tensor]) throws -> DecompositionMatch {
    let routine = "factorMatch"
    guard estimated.count == truth.count, !truth.isEmpty else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs the same positive number of estimated and true factors, got \(estimated.count) and \(truth.count)")
    }
    let cosines = try zip(estimated, truth).map { try absoluteCosines(estimated: $0, truth: $1, routine) }
    let k = truth[0].shape[0]
    guard cosines.allSatisfy({ $0.shape == [k, k] }) else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "factors have different numbers of components: \(truth.map { $0.shape[0] })")
    }
    var product = Tensor(shape: [k, k], repeating: 1)
    for c in cosines {
        for i in 0..<product.count { product.storage[i] *= c.storage[i] }
    }
    let permutation = try hungarianAssignment(maximizing: product)
    let modes = (0..<truth.count).map {
        matchStatistics(estimated: estimated[$0], truth: truth[$0], cosines: cosines[$0], permutation: permutation)
    }
    let score = k > 0 ? (0..<k).map { product[$0, permutation[$0]] }.reduce(0, +) / Double(k) : 1
    return DecompositionMatch(score: score, permutation: permutation, modes: modes)
}

/// Optimal joint matching of two CP decompositions of the same shape and rank, over their three factor matrices.
public func factorMatch(estimated: CPDecomposition, truth: CPDecomposition) throws -> DecompositionMatch {
    try factorMatch(estimated: estimated.factors, truth: truth.factors)
}
