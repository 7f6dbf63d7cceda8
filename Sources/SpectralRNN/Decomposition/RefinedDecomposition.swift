// The decomposer `fit` uses (issue 13, MATH.md §7): the two spectral methods of the toolbox
// as starting points, each refined by alternating least squares on the CP model, the best
// refined fit kept, its residual set against the sampling error of the tensor.
//
// Simultaneous diagonalization alone is exact on exact moments but not robust to their noise
// once dx grows (a 16×16 sample moment from 1.9 million pairs gave a residual 15× the
// sampling error); ALS alone needs a start. Started from either spectral estimate, ALS
// reaches the noise floor: the residual of the best rank-k fit to `T + E` is about
// `‖E‖ √(1 − p/n)` for p free parameters in n entries, a little below the sampling error.

/// Which spectral method started a refinement.
public enum CPInitializer: String, CaseIterable, Sendable, Equatable {
    /// Jennrich's simultaneous diagonalization, real parts taken where eigenvalues went complex.
    case simultaneousDiagonalization = "simultaneous diagonalization"
    /// Whitening and the robust tensor power method (paper Algorithm 3).
    case whitenedPowerMethod = "whitened power method"
    /// CP-ALS's own start, the leading left singular vectors of each unfolding: tried only when
    /// neither spectral start reaches the sampling error (or none is given).
    case leadingSingularVectors = "leading singular vectors"
}

/// Parameters of `refinedDecomposition`.
public struct RefinementOptions: Sendable, Equatable {
    /// Slice pairs (θ1, θ2) drawn for simultaneous diagonalization.
    public var draws: Int
    /// The most ALS sweeps per start.
    public var maxSweeps: Int
    /// A refinement has converged when its relative residual changes by at most this between sweeps.
    public var tolerance: Double

    public init(draws: Int = 8, maxSweeps: Int = 3000, tolerance: Double = 1e-11) {
        self.draws = draws
        self.maxSweeps = maxSweeps
        self.tolerance = tolerance
    }
}

/// One start of `refinedDecomposition`: what the spectral method gave and what ALS made of it.
public struct RefinedStart: Sendable, Equatable {
    public let initializer: CPInitializer
    /// `‖T − T̂‖_F / ‖T‖_F` of the spectral estimate (nil when the method failed).
    public let initialResidual: Double?
    /// The same after refinement, in the partially symmetric form (nil when the method failed).
    public let refinedResidual: Double?
    /// ALS sweeps used, and whether they met the tolerance.
    public let sweeps: Int
    public let converged: Bool
    /// Complex-conjugate pairs replaced by real parts (simultaneous diagonalization only).
    public let complexPairs: Int
    /// Why the spectral method gave no start, or nil.
    public let failure: String?
}

/// The outcome of `refinedDecomposition`.
public struct RefinedDecompositionResult: Sendable, Equatable {
    /// The best refined fit `Σ_j λ_j b̂_j ⊗ â_j ⊗ â_j`, `normalized()`.
    public let decomposition: CPDecomposition
    /// Its relative residual `‖T − T̂‖_F / ‖T‖_F`.
    public let residual: Double
    /// The start it came from.
    public let winner: CPInitializer
    /// Every start tried, in the order of `CPInitializer.allCases` (the singular-vector start
    /// only when the spectral ones left a residual above the sampling error, or none was given).
    public let starts: [RefinedStart]
    /// The relative sampling error `‖SE‖_F / ‖T‖_F` of the tensor, when it was given.
    public let samplingError: Double?

    /// Whether the residual is at most the sampling error (nil without one): above it, the
    /// tensor is not of rank k in this form to within its noise.
    public var reachesSamplingError: Bool? { samplingError.map { residual <= $0 } }
}

/// Decomposes a dy×dx×dx tensor `T ≈ Σ_j λ_j b_j ⊗ a_j ⊗ a_j` of rank k ≤ min(dx, dy): two spectral starts, each refined by ALS, the better kept.
///
/// Starts: `simultaneousDiagonalization` over `options.draws` slice pairs (real parts where
/// eigenvalues go complex) and `whitenedTensorPowerMethod`; when neither refined fit reaches
/// `samplingError` (or none is given), also CP-ALS's start from the leading singular vectors of
/// the unfoldings (a noisy dx = 16 moment whose eigenvalue gap refused the power method and
/// whose diagonalization start led ALS to a fit 1.7× the noise was fitted to 0.69× from it). Each start `[B, A, A]` is refined
/// by the CP-ALS sweeps on the part of T symmetric in modes 2–3, with the third factor free
/// (each sweep then lowers the residual); the fit is brought back to the partially symmetric
/// form by averaging the second and third factors' matched rows and solving for `λ_j b_j` by
/// least squares. The refined fit of smaller residual wins. `samplingError` is the relative
/// standard error of T. Throws when neither start is possible, with both
/// reasons; `.invalidRank` and shape errors as the spectral methods do.
public func refinedDecomposition(_ tensor: Tensor, rank: Int, samplingError: Double? = nil,
                                 options: RefinementOptions = RefinementOptions(),
                                 random: inout RandomStream) throws -> RefinedDecompositionResult {
    let routine = "refinedDecomposition"
    try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
    try DecompositionSupport.requirePositiveRank(rank, routine)
    try DecompositionSupport.requireFinite(tensor, routine, "tensor")
    guard options.draws >= 1, options.maxSweeps >= 1, options.tolerance >= 0 else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "needs draws ≥ 1, maxSweeps ≥ 1, tolerance ≥ 0, got \(options)")
    }
    let t = DecompositionSupport.symmetrizedInLastModes(tensor)
    guard t.frobeniusNorm > 0 else {
        throw DecompositionError(routine: routine, kind: .rankDeficient, message: "the tensor is zero")
    }
    let unfoldings = (0..<3).map { DecompositionSupport.unfolding(t, mode: $0) }

    var starts: [RefinedStart] = []
    var best: (decomposition: CPDecomposition, residual: Double, winner: CPInitializer)? = nil
    var invalidRank: DecompositionError? = nil
    for initializer in CPInitializer.allCases {
        if initializer == .leadingSingularVectors, let samplingError, let best, best.residual <= samplingError { break }
        let start: CPDecomposition
        var complexPairs = 0
        do {
            switch initializer {
            case .simultaneousDiagonalization:
                let found = try simultaneousDiagonalization(t, rank: rank, draws: options.draws,
                                                            realPartsOfComplexPairs: true, random: &random)
                start = found.decomposition
                complexPairs = found.complexPairs
            case .whitenedPowerMethod:
                var powerOptions = WhitenedTensorPowerOptions()
                powerOptions.power.requireConvergence = false
                // A start, not the answer: a k-th eigenvalue of M2 1.25× the next still fixes the
                // span of the a_j well enough for ALS (the default 2 refused dx = 16 moments at 1.8).
                powerOptions.minimumSeparation = 1.25
                start = try whitenedTensorPowerMethod(t, rank: rank, form: .partiallySymmetric, options: powerOptions,
                                                      random: &random).decomposition
            case .leadingSingularVectors:
                // CP-ALS would pad a rank above the dimensions with random rows; the spectral
                // starts refuse it, and so does this one.
                let dy = t.shape[0], dx = t.shape[1]
                guard rank <= min(dx, dy) else {
                    throw DecompositionError(routine: routine, kind: .invalidRank,
                                             message: "rank k = \(rank) exceeds min(dx, dy) = \(min(dx, dy))")
                }
                start = CPDecomposition(weights: [Double](repeating: 1, count: rank),
                                        factors: try leadingSingularVectorStart(unfoldings, rank: rank, random: &random))
            }
            guard start.weights.allSatisfy(\.isFinite), start.factors.allSatisfy(\.isFinite) else {
                throw DecompositionError(routine: routine, kind: .nonFiniteInput, message: "the start has non-finite factors")
            }
        } catch {
            if let e = error as? DecompositionError, e.kind == .invalidRank { invalidRank = e }
            starts.append(RefinedStart(initializer: initializer, initialResidual: nil, refinedResidual: nil, sweeps: 0,
                                       converged: false, complexPairs: 0, failure: "\(error)"))
            continue
        }
        let initialResidual = start.relativeError(to: tensor)
        // The CP-ALS sweeps from [B, A, A], weights in the first factor's scale.
        var factors = start.factors
        var weights = start.weights
        let sweeps: (error: Double, iterations: Int, converged: Bool)
        let refined: CPDecomposition
        do {
            sweeps = try alternatingLeastSquaresSweeps(t, unfoldings: unfoldings, factors: &factors, weights: &weights,
                                                       maxIterations: options.maxSweeps, tolerance: options.tolerance,
                                                       routine: routine)
            refined = try partiallySymmetricForm(t, factors: factors)
        } catch {
            starts.append(RefinedStart(initializer: initializer, initialResidual: initialResidual, refinedResidual: nil,
                                       sweeps: 0, converged: false, complexPairs: complexPairs, failure: "\(error)"))
            continue
        }
        let residual = refined.relativeError(to: tensor)
        starts.append(RefinedStart(initializer: initializer, initialResidual: initialResidual, refinedResidual: residual,
                                   sweeps: sweeps.iterations, converged: sweeps.converged, complexPairs: complexPairs,
                                   failure: nil))
        if best == nil || residual < best!.residual {
            best = (refined, residual, initializer)
        }
    }
    guard let chosen = best else {
        if let invalidRank { throw invalidRank }
        throw DecompositionError(routine: routine, kind: .noConvergence,
                                 message: "no start could be refined: " + starts.map { "\($0.initializer.rawValue): \($0.failure ?? "?")" }.joined(separator: "; "))
    }
    return RefinedDecompositionResult(decomposition: chosen.decomposition, residual: chosen.residual,
                                      winner: chosen.winner, starts: starts, samplingError: samplingError)
}

/// A general fit `[B, A, C]` of a tensor symmetric in modes 2–3 brought to `Σ_j λ_j b_j ⊗ a_j ⊗ a_j`:
/// `a_j ∝ a_j + s_j c_j` with the sign s_j that aligns them, then `λ_j b_j` by least squares.
private func partiallySymmetricForm(_ t: Tensor, factors: [Tensor]) throws -> CPDecomposition {
    let a = factors[1], c = factors[2]
    let k = a.shape[0], dx = a.shape[1]
    var merged = Tensor.zeros([k, dx])
    for j in 0..<k {
        var alignment = 0.0
        for i in 0..<dx { alignment += a[j, i] * c[j, i] }
        let sign: Double = alignment < 0 ? -1 : 1
        for i in 0..<dx { merged.storage[j * dx + i] = a[j, i] + sign * c[j, i] }
    }
    let (unit, _) = DecompositionSupport.normalizedRows(merged)
    return try DecompositionSupport.partiallySymmetric(t, a: unit)
}

extension RefinedDecompositionResult {
    /// One line for reports: each start's residual before and after refinement, the winner,
    /// and the residual against the sampling error.
    public var summary: String {
        func g(_ x: Double) -> String { formatNumber(x) }
        let parts = starts.map { start -> String in
            guard let initial = start.initialResidual, let refined = start.refinedResidual else {
                return "\(start.initializer.rawValue) gave no start (\(start.failure ?? "no reason"))"
            }
            let pairs = start.complexPairs > 0 ? ", \(start.complexPairs) complex pair\(start.complexPairs == 1 ? "" : "s") as real parts" : ""
            return "from \(start.initializer.rawValue) \(g(initial)) → \(g(refined)) in \(start.sweeps) sweeps\(pairs)"
        }
        var line = "residual " + parts.joined(separator: "; ") + "; kept: \(winner.rawValue)"
        if let samplingError {
            line += ", \(g(residual)) \(residual <= samplingError ? "≤" : ">") sampling error \(g(samplingError))"
        }
        return line
    }
}
