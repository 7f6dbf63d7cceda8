// Simultaneous diagonalization (Jennrich's algorithm, Leurgans et al.) for
// T = Σ_j λ_j b_j ⊗ a_j ⊗ a_j (MATH.md §7): no iterations, exact on noiseless input.

/// The outcome of simultaneous diagonalization, with the quantities that govern its accuracy.
public struct SimultaneousDiagonalizationResult: Sendable, Equatable {
    /// The recovered decomposition `Σ_j λ_j b_j ⊗ a_j ⊗ a_j`, `normalized()`.
    public let decomposition: CPDecomposition
    /// The two mode-1 directions θ1, θ2 of the chosen draw.
    public let theta1: [Double]
    public let theta2: [Double]
    /// The eigenvalues `(θ1·b_j) / (θ2·b_j)` of `T(θ1, I, I) T(θ2, I, I)^+` on the span of the a_j, by decreasing modulus.
    public let eigenvalues: [Double]
    /// `min_{i≠j} |r_i − r_j| / max_j |r_j|`: small values mean nearly repeated eigenvalues and inaccurate eigenvectors.
    public let separation: Double
    /// Complex-conjugate pairs whose real parts were taken (`realPartsOfComplexPairs` only).
    public let complexPairs: Int
}

/// Jennrich's simultaneous diagonalization of a dy×dx×dx tensor `Σ_j λ_j b_j ⊗ a_j ⊗ a_j` of rank k ≤ min(dx, dy).
///
/// With Gaussian θ1, θ2 ∈ R^{dy}, `M_i = T(θ_i, I, I) = Aᵀ diag(λ ∘ Bθ_i) A`, so
/// `M_1 M_2^+ a_j = ((θ1·b_j)/(θ2·b_j)) a_j`: its eigenvectors of nonzero eigenvalue are the
/// a_j. Computed on the span of the a_j (top-k left singular vectors U of the mode-2
/// unfolding): `Ũ_i = Uᵀ M_i U` is k×k and invertible, the eigenvectors of `Ũ_1 Ũ_2^{-1}`
/// (LAPACK dgeev) are `Uᵀ a_j`, and `a_j = U Uᵀ a_j` — the same as the top-k eigenvectors of
/// `M_1 M_2^+` without noise, better conditioned with it. Then `λ_j b_j` by least squares
/// from `T_(1) = Bᵀ diag(λ) (A ⊙ A)`. Of `draws` pairs (θ1, θ2) the one with the best
/// separated real eigenvalues is kept (the eigenvectors' sensitivity to noise in T grows as
/// the gaps shrink). The part of T symmetric in modes 2–3 is used.
///
/// Noise in T can turn two close eigenvalues into a complex pair. With
/// `realPartsOfComplexPairs`, such a draw is not discarded: the pair's real and imaginary
/// parts stand in for its two eigenvectors (see `eigen(_:realParts:)`), draws with fewer
/// pairs are preferred, then better separated ones — a start for a refinement such as
/// `refinedDecomposition`, which is how it is used there.
///
/// Throws `.invalidRank` unless `1 ≤ k ≤ min(dx, dy)`, `.rankDeficient` when an unfolding has
/// numerical rank below k, `.complexEigenvalues` when every draw gives complex eigenvalues
/// (never with `realPartsOfComplexPairs`).
public func simultaneousDiagonalization(_ tensor: Tensor, rank: Int, draws: Int = 5,
                                        rankTolerance: Double = 1e-10, realPartsOfComplexPairs: Bool = false,
                                        random: inout RandomStream) throws -> SimultaneousDiagonalizationResult {
    let routine = "simultaneousDiagonalization"
    try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
    try DecompositionSupport.requirePositiveRank(rank, routine)
    let dy = tensor.shape[0], dx = tensor.shape[1], k = rank
    guard k <= dx else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(k) exceeds dx = \(dx): simultaneous diagonalization needs k ≤ min(dx, dy)")
    }
    guard k <= dy else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(k) exceeds dy = \(dy): simultaneous diagonalization needs k ≤ min(dx, dy)")
    }
    guard draws >= 1 else {
        throw DecompositionError(routine: routine, kind: .wrongShape, message: "needs at least one draw, got \(draws)")
    }
    let t = DecompositionSupport.symmetrizedInLastModes(tensor)
    let (u, uValues) = try DecompositionSupport.leftSingularSubspace(DecompositionSupport.unfolding(t, mode: 1), k)
    try DecompositionSupport.requireRank(uValues, k, tolerance: rankTolerance, routine, "the mode-2 unfolding (span of the a_j)")
    let mode1Values = try singularValues(t.matricized())
    try DecompositionSupport.requireRank(mode1Values, k, tolerance: rankTolerance, routine, "the mode-1 unfolding (span of the b_j)")

    var best: (theta1: [Double], theta2: [Double], eigen: GeneralEigen, separation: Double)? = nil
    var lastFailure: Error? = nil
    for _ in 0..<draws {
        let theta1 = random.gaussians(dy), theta2 = random.gaussians(dy)
        let m1 = t.multilinear([.vector(theta1), .matrix(u), .matrix(u)])
        let m2 = t.multilinear([.vector(theta2), .matrix(u), .matrix(u)])
        do {
            // M1 M2^{-1} = (M2^{-T} M1ᵀ)ᵀ.
            let product = try solve(m2.transposed(), m1.transposed()).transposed()
            let e = try eigen(product, realParts: realPartsOfComplexPairs)
            let largest = e.values.map { Swift.abs($0) }.max() ?? 0
            var gap = Double.infinity
            for i in 0..<k {
                for j in (i + 1)..<Swift.max(i + 1, k) { gap = Swift.min(gap, Swift.abs(e.values[i] - e.values[j])) }
            }
            let separation = largest > 0 ? (k > 1 ? gap / largest : 1) : 0
            if best == nil || (e.complexPairs, -separation) < (best!.eigen.complexPairs, -best!.separation) {
                best = (theta1, theta2, e, separation)
            }
        } catch {
            lastFailure = error
        }
    }
    guard let chosen = best else {
        if let e = lastFailure as? DecompositionError, e.kind == .complexEigenvalues {
            throw DecompositionError(routine: routine, kind: .complexEigenvalues,
                                     message: "every one of \(draws) draws gave complex eigenvalues (last: \(e.message)); the tensor is far from rank \(k) of this form, or try more draws")
        }
        throw lastFailure ?? DecompositionError(routine: routine, kind: .rankDeficient, message: "no usable draw")
    }
    // a_j = U (Uᵀ a_j): the eigenvectors are the columns of chosen.eigen.vectors.
    let a = matmul(chosen.eigen.vectors, u, transposeA: true, transposeB: true)   // k × dx
    let (unitA, _) = DecompositionSupport.normalizedRows(a)
    let decomposition = try DecompositionSupport.partiallySymmetric(t, a: unitA)
    return SimultaneousDiagonalizationResult(decomposition: decomposition, theta1: chosen.theta1,
                                             theta2: chosen.theta2, eigenvalues: chosen.eigen.values,
                                             separation: chosen.separation, complexPairs: chosen.eigen.complexPairs)
}
