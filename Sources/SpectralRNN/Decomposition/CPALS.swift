// CP-ALS: the general-purpose alternating least squares fit of a third-order CP model
// (MATH.md §7), the comparison most users would reach for.

/// How CP-ALS starts.
public enum CPALSInitialization: String, Sendable, Equatable {
    /// Factor rows drawn from N(0, 1).
    case random
    /// The top-k left singular vectors of each unfolding (random rows where k exceeds the mode length).
    case svd
}

/// Parameters of CP-ALS.
public struct CPALSOptions: Sendable, Equatable {
    /// The most sweeps (one update of each of the three factors) per run.
    public var maxIterations: Int
    /// A run has converged when the relative error `‖T − T̂‖/‖T‖` changes by less than this between sweeps.
    public var tolerance: Double
    /// The number of runs; the first starts as `initialization` says, the others randomly. The best fit is kept.
    public var restarts: Int
    /// How the first run starts.
    public var initialization: CPALSInitialization
    /// Throw `.noConvergence` when the best run did not converge.
    public var requireConvergence: Bool

    public init(maxIterations: Int = 1000, tolerance: Double = 1e-12, restarts: Int = 1,
                initialization: CPALSInitialization = .svd, requireConvergence: Bool = true) {
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.restarts = restarts
        self.initialization = initialization
        self.requireConvergence = requireConvergence
    }
}

/// The outcome of CP-ALS.
public struct CPALSResult: Sendable, Equatable {
    /// The best fit, `normalized()` (general form: three factors).
    public let decomposition: CPDecomposition
    /// `‖T − T̂‖_F / ‖T‖_F` of the best fit.
    public let relativeError: Double
    /// Sweeps used by the best run.
    public let iterations: Int
    /// Whether the best run met the tolerance.
    public let converged: Bool
    /// The final relative error of every run, in order.
    public let runErrors: [Double]
}

/// CP-ALS: fits `T ≈ Σ_j λ_j u_j ⊗ v_j ⊗ w_j` of rank k to any third-order tensor by alternating least squares.
///
/// Each sweep solves, for one factor at a time (rows = components), the linear least
/// squares problem `T_(n) ≈ F_nᵀ (F_p ⊙ F_q)` through the k×k normal equations
/// `((F_p F_pᵀ) ∘ (F_q F_qᵀ)) F_n = (F_p ⊙ F_q) T_(n)ᵀ` (minimum-norm solve), then scales
/// its rows to unit norm, the norms becoming λ. Works directly on dy×dx×dx tensors
/// (it ignores their symmetry: the fitted second and third factors are separate).
/// Deterministic given `random`. Throws `.invalidRank` for k ≤ 0, `.noConvergence` when
/// `options.requireConvergence` is set and the best run did not converge.
public func cpALS(_ tensor: Tensor, rank: Int, options: CPALSOptions = CPALSOptions(),
                  random: inout RandomStream) throws -> CPALSResult {
    let routine = "cpALS"
    try DecompositionSupport.requireThirdOrder(tensor, routine)
    try DecompositionSupport.requirePositiveRank(rank, routine)
    guard options.maxIterations >= 1, options.restarts >= 1, options.tolerance >= 0 else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs maxIterations ≥ 1, restarts ≥ 1, tolerance ≥ 0, got \(options)")
    }
    let k = rank
    let shape = tensor.shape
    let norm = tensor.frobeniusNorm
    guard norm > 0 else {
        throw DecompositionError(routine: routine, kind: .rankDeficient, message: "the tensor is zero")
    }
    let unfoldings = (0..<3).map { DecompositionSupport.unfolding(tensor, mode: $0) }

    var best: (factors: [Tensor], weights: [Double], error: Double, iterations: Int, converged: Bool)? = nil
    var runErrors: [Double] = []
    for run in 0..<options.restarts {
        // Initialization.
        var factors: [Tensor] = []
        if run == 0 && options.initialization == .svd {
            factors = try leadingSingularVectorStart(unfoldings, rank: k, random: &random)
        } else {
            for mode in 0..<3 { factors.append(random.gaussianTensor([k, shape[mode]])) }
        }
        var weights = [Double](repeating: 1, count: k)
        let sweeps = try alternatingLeastSquaresSweeps(tensor, unfoldings: unfoldings, factors: &factors, weights: &weights,
                                                       maxIterations: options.maxIterations, tolerance: options.tolerance,
                                                       routine: routine)
        let (error, iterations, converged) = (sweeps.error, sweeps.iterations, sweeps.converged)
        runErrors.append(error)
        if best == nil || error < best!.error {
            best = (factors, weights, error, iterations, converged)
        }
    }
    let chosen = best!
    if options.requireConvergence && !chosen.converged {
        throw DecompositionError(routine: routine, kind: .noConvergence,
                                 message: "relative error still changing by more than \(options.tolerance) after \(options.maxIterations) sweeps (error \(chosen.error)); raise maxIterations or set requireConvergence = false")
    }
    let decomposition = CPDecomposition(weights: chosen.weights, factors: chosen.factors).normalized()
    return CPALSResult(decomposition: decomposition, relativeError: chosen.error, iterations: chosen.iterations,
                       converged: chosen.converged, runErrors: runErrors)
}

/// The SVD start of CP-ALS: for each mode n, rows j < k of the k×d_n factor are the leading left
/// singular vectors of the unfolding T_(n) (Gaussian rows where the unfolding has fewer than k).
func leadingSingularVectorStart(_ unfoldings: [Tensor], rank k: Int, random: inout RandomStream) throws -> [Tensor] {
    try unfoldings.map { unfolding in
        let d = unfolding.shape[0]
        let f = try svd(unfolding)
        let available = Swift.min(k, f.u.shape[1])
        var m = random.gaussianTensor([k, d])
        for j in 0..<available {
            for i in 0..<d { m.storage[j * d + i] = f.u[i, j] }
        }
        return m
    }
}

/// The ALS sweeps of `cpALS` from given factors (rows = components), shared by `cpALS` and `refinedDecomposition`.
///
/// Each sweep solves, for one mode n at a time, `((F_p F_pᵀ) ∘ (F_q F_qᵀ)) F_n = (F_p ⊙ F_q) T_(n)ᵀ`
/// and moves the row norms into `weights`. Stops when the relative error `‖T − T̂‖_F / ‖T‖_F`
/// changes by at most `tolerance` between sweeps, or after `maxIterations` sweeps; each
/// sweep can only lower the error (each update is an exact least-squares minimiser).
func alternatingLeastSquaresSweeps(_ tensor: Tensor, unfoldings: [Tensor], factors: inout [Tensor], weights: inout [Double],
                                   maxIterations: Int, tolerance: Double, routine: String) throws
    -> (error: Double, iterations: Int, converged: Bool) {
    let norm = tensor.frobeniusNorm
    var previousError = Double.infinity
    var error = Double.infinity
    var iterations = 0
    while iterations < maxIterations {
        iterations += 1
        for mode in 0..<3 {
            let (p, q) = mode == 0 ? (1, 2) : (mode == 1 ? (0, 2) : (0, 1))
            let khatriRao = Tensor.khatriRaoRows(factors[p], factors[q])           // k × (d_p d_q)
            let gramP = matmul(factors[p], factors[p], transposeB: true)
            let gramQ = matmul(factors[q], factors[q], transposeB: true)
            var gram = gramP
            for i in 0..<gram.count { gram.storage[i] *= gramQ.storage[i] }
            let rhs = matmul(khatriRao, unfoldings[mode], transposeB: true)        // k × d_mode
            let updated = try leastSquares(gram, rhs)
            let (unit, norms) = DecompositionSupport.normalizedRows(updated)
            factors[mode] = unit
            weights = norms
        }
        // Residual of T_(1) ≈ F1ᵀ diag(λ) (F2 ⊙ F3), computed directly (no cancellation).
        let fit = CPDecomposition(weights: weights, factors: factors).reconstruct()
        error = (tensor - fit).frobeniusNorm / norm
        guard error.isFinite else {
            throw DecompositionError(routine: routine, kind: .nonFiniteInput,
                                     message: "the fit became non-finite after \(iterations) sweeps (degenerate factors)")
        }
        if Swift.abs(previousError - error) <= tolerance {
            return (error, iterations, true)
        }
        previousError = error
    }
    return (error, iterations, false)
}
