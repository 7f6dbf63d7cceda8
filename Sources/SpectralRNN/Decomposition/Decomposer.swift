/// The three ways the project decomposes `T = Σ_j λ_j b_j ⊗ a_j ⊗ a_j` (MATH.md §7), behind
/// one call, configured for sampled (noisy) tensors: iterative methods return their best
/// result instead of failing when they stop short of their tolerance.
public enum Decomposer: String, CaseIterable, Sendable {
    /// Simultaneous diagonalization (Jennrich/Leurgans): no iterations, exact on noiseless input.
    case simultaneousDiagonalization = "simultaneous diagonalization"
    /// The paper's Algorithm 3: whitening, SVD-based initialization, robust tensor power
    /// method with deflation, un-whitening.
    case whitenedPowerMethod = "whitened power method (paper)"
    /// CP-ALS, the general-purpose comparison.
    case alternatingLeastSquares = "CP-ALS"
    /// Both spectral methods as starts, each refined by ALS, the better kept (`refinedDecomposition`):
    /// what `fit` uses.
    case refined = "refined ALS (spectral starts)"

    /// Decomposes a dy×dx×dx tensor into k components; `a` and `b` of the result are k×dx and k×dy.
    public func decompose(_ tensor: Tensor, rank: Int, random: inout RandomStream) throws -> CPDecomposition {
        switch self {
        case .simultaneousDiagonalization:
            return try SpectralRNN.simultaneousDiagonalization(tensor, rank: rank, random: &random).decomposition
        case .whitenedPowerMethod:
            var options = WhitenedTensorPowerOptions()
            options.power.requireConvergence = false
            return try whitenedTensorPowerMethod(tensor, rank: rank, form: .partiallySymmetric, options: options,
                                                 random: &random).decomposition
        case .alternatingLeastSquares:
            let options = CPALSOptions(maxIterations: 2000, requireConvergence: false)
            return try cpALS(tensor, rank: rank, options: options, random: &random).decomposition
        case .refined:
            return try refinedDecomposition(tensor, rank: rank, random: &random).decomposition
        }
    }

    /// `decompose`, with the refinement's report for `.refined` (which start won, the residual
    /// against `samplingError`); nil for the other decomposers.
    public func decomposeReporting(_ tensor: Tensor, rank: Int, samplingError: Double?,
                                   random: inout RandomStream) throws -> (decomposition: CPDecomposition, refinement: RefinedDecompositionResult?) {
        guard self == .refined else { return (try decompose(tensor, rank: rank, random: &random), nil) }
        let result = try refinedDecomposition(tensor, rank: rank, samplingError: samplingError, random: &random)
        return (result.decomposition, result)
    }
}
