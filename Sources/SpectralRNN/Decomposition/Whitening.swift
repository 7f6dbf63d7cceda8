// Whitening (paper Appendix A, Procedure 4) and un-whitening (Procedure 5), with the
// choice of second-moment matrix this project makes where the printed one is not
// well-typed (MATH.md §9 item 6).
//
// The choice. For a tensor T = Σ_j λ_j b_j ⊗ a_j ⊗ a_j (dy×dx×dx; the symmetric case is
// b_j = a_j) and a direction θ ∈ R^{dy}, the second moment is
//
//     M2 = T(θ, I, I) = Σ_j w_j a_j a_jᵀ,   w_j = λ_j (θ·b_j),
//
// or any matrix of that form the caller supplies (e.g. another moment with the same a_j).
// With the rank-k eigendecomposition M2 = U diag(γ) Uᵀ and W = U diag(γ)^{-1/2}, the
// whitened components v_j = √w_j Wᵀ a_j are orthonormal — **if and only if every w_j > 0**
// (and the a_j are linearly independent, k ≤ dx). Because the a_j are independent, by
// Sylvester's law of inertia the number of positive (negative) eigenvalues of M2 equals
// the number of positive (negative) w_j, so the condition can be checked on M2 alone:
// its k eigenvalues of largest modulus must all be positive, and clearly separated from
// the rest (which are zero without noise). `whiteningCondition` reports this;
// `whitening` throws when it fails. With mixed signs, scaling by |γ|^{-1/2} instead only
// makes Wᵀ M2 W a signature matrix (entries ±1), and the whitened components are not orthogonal.
//
// For the dy×dx×dx form, whitening modes 2 and 3 is not enough: mode 1 lives in R^{dy}.
// A symmetrization matrix D = Σ_j c_j b_j a_jᵀ (dy×dx, all c_j ≠ 0, rank k — so the b_j must be
// independent too, k ≤ dy) maps it over:
// with G = ((D W)^+)ᵀ, Gᵀ b_j = (√w_j / c_j) v_j, so
//
//     T(G, W, W) = Σ_j λ_j / (c_j √w_j) · v_j^{⊗3},
//
// an orthogonally decomposable symmetric k×k×k tensor. D may be the GLM's first-order
// moment E[y ⊗ S_1(x)] = Σ_j μ′_j b_j a_jᵀ (eq. 12; the paper's "symmetrization matrix D"
// of Algorithm 3), or, from T alone, D = T(I, I, ζ) = Σ_j λ_j (a_j·ζ) b_j a_jᵀ for a
// direction ζ ∈ R^{dx} (then the weights are 1 / ((a_j·ζ) √w_j)).

import Foundation

/// What the eigenvalues of a second-moment matrix M2 say about whitening with rank k (Procedure 4).
public struct WhiteningCondition: Sendable, Equatable {
    /// The requested rank k.
    public let rank: Int
    /// All eigenvalues of M2, sorted by decreasing modulus.
    public let eigenvalues: [Double]
    /// The number of eigenvalues with `|γ| > rankTolerance · |γ|_max`.
    public let numericalRank: Int
    /// How many of the k eigenvalues of largest modulus are not positive (each is a component with w_j ≤ 0).
    public let nonPositiveCount: Int
    /// `γ_k / |γ_{k+1}|` in the modulus order: how far the k-th eigenvalue stands above the rest (+∞ when k = d or γ_{k+1} = 0).
    public let separation: Double
    /// The separation required for validity.
    public let minimumSeparation: Double

    /// True when whitening with rank k gives orthonormal components: k ≤ numerical rank,
    /// the k eigenvalues of largest modulus are all positive, and separated from the rest.
    public var isValid: Bool {
        numericalRank >= rank && nonPositiveCount == 0 && separation >= minimumSeparation
    }

    /// A one-line account of the condition, naming the eigenvalues that break it.
    public var summary: String {
        let top = eigenvalues.prefix(rank).map { formatShort($0) }.joined(separator: ", ")
        if numericalRank < rank {
            return "rank k = \(rank) exceeds the numerical rank \(numericalRank) of M2 (eigenvalues by modulus: \(eigenvalues.map { formatShort($0) }.joined(separator: ", ")))"
        }
        if nonPositiveCount > 0 {
            return "M2 has \(nonPositiveCount) non-positive eigenvalue(s) among its \(rank) largest in modulus (\(top)): the weights w_j of a_j a_jᵀ have mixed signs, so the whitened components would not be orthonormal"
        }
        if separation < minimumSeparation {
            return "the k-th eigenvalue of M2 is not separated from the rest: γ_k / |γ_k+1| = \(formatShort(separation)) < \(formatShort(minimumSeparation)) (eigenvalues by modulus: \(eigenvalues.prefix(rank + 1).map { formatShort($0) }.joined(separator: ", ")))"
        }
        return "valid: the \(rank) largest eigenvalues of M2 are positive (\(top)) and separated from the rest by a factor \(formatShort(separation))"
    }

    /// Throws `.invalidRank` (k above the numerical rank) or `.whiteningInvalid` unless the condition holds.
    public func requireValid(routine: String = "whitening") throws {
        if numericalRank < rank {
            throw DecompositionError(routine: routine, kind: .invalidRank, message: summary)
        }
        if !isValid {
            throw DecompositionError(routine: routine, kind: .whiteningInvalid, message: summary)
        }
    }
}

/// A short decimal rendering for messages.
private func formatShort(_ x: Double) -> String {
    if x.isInfinite { return x > 0 ? "∞" : "-∞" }
    if x == 0 { return "0" }
    let magnitude = Swift.abs(x)
    if magnitude >= 1e-3 && magnitude < 1e5 {
        let scaled = (x * 1e4).rounded() / 1e4
        return "\(scaled)"
    }
    // Three significant digits in scientific notation.
    var exponent = 0
    var mantissa = magnitude
    while mantissa >= 10 { mantissa /= 10; exponent += 1 }
    while mantissa < 1 { mantissa *= 10; exponent -= 1 }
    let rounded = (mantissa * 100).rounded() / 100
    return "\(x < 0 ? "-" : "")\(rounded)e\(exponent)"
}

/// The whitening matrix and what it was built from (Procedure 4, steps 2–3).
public struct Whitening: Sendable, Equatable {
    /// The second-moment matrix M2 (d×d), symmetrized.
    public let secondMoment: Tensor
    /// The k largest eigenvalues γ of M2 (all positive).
    public let eigenvalues: [Double]
    /// The corresponding orthonormal eigenvectors U as columns (d×k).
    public let eigenvectors: Tensor
    /// The whitening matrix `W = U diag(γ)^{-1/2}` (d×k): `Wᵀ M2 W = I_k`.
    public let matrix: Tensor
    /// The eigenvalue check that made this whitening valid.
    public let condition: WhiteningCondition

    /// The number of components k.
    public var rank: Int { eigenvalues.count }

    /// `U diag(γ)^{1/2}` (d×k), the left inverse of Wᵀ on the span of the components (Procedure 5).
    public var unwhiteningMatrix: Tensor {
        let d = eigenvectors.shape[0], k = rank
        return Tensor(shape: [d, k]) { i in eigenvectors[i[0], i[1]] * eigenvalues[i[1]].squareRoot() }
    }
}

/// The second-moment matrix `M2 = T(θ, I, I) = Σ_j λ_j (θ·b_j) a_j a_jᵀ` for a dy×dx×dx (or d×d×d) tensor (Procedure 4, step 1; this project's well-typed choice).
///
/// The result is symmetrized, `(M + Mᵀ)/2`. It has the form Procedure 4 needs, with
/// weights `w_j = λ_j (θ·b_j)`; whitening with it is valid only when all w_j > 0 (see
/// `whiteningCondition`; `whiteningDirection` looks for such a θ).
public func whiteningSecondMoment(_ tensor: Tensor, theta: [Double]) throws -> Tensor {
    let routine = "whiteningSecondMoment"
    try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
    guard theta.count == tensor.shape[0] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "θ has length \(theta.count), mode 1 of the tensor has length \(tensor.shape[0])")
    }
    try DecompositionSupport.requireFinite(theta, routine, "θ")
    let m = tensor.multilinear([.vector(theta), .identity, .identity])
    return (m + m.transposed()) / 2
}

/// Reports whether whitening with rank k is valid for a second-moment matrix M2 (Procedure 4; see the file comment).
///
/// Valid means: k ≤ the numerical rank of M2 (eigenvalues above `rankTolerance · |γ|_max`),
/// the k eigenvalues of largest modulus are all positive — by Sylvester's law of inertia,
/// exactly when every weight w_j of `M2 = Σ_j w_j a_j a_jᵀ` is positive — and
/// `γ_k ≥ minimumSeparation · |γ_{k+1}|`. Throws only for bad input (shape, NaN, k ≤ 0,
/// k > d); use `requireValid()` on the result, or `whitening`, to throw when invalid.
public func whiteningCondition(secondMoment: Tensor, rank: Int, minimumSeparation: Double = 2,
                               rankTolerance: Double = 1e-9) throws -> WhiteningCondition {
    let routine = "whiteningCondition"
    try DecompositionSupport.requirePositiveRank(rank, routine)
    guard secondMoment.order == 2, secondMoment.shape[0] == secondMoment.shape[1] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "M2 must be a square matrix, got shape \(secondMoment.shape)")
    }
    try DecompositionSupport.requireFinite(secondMoment, routine, "M2")
    let d = secondMoment.shape[0]
    guard rank <= d else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(rank) exceeds the size d = \(d) of M2")
    }
    let symmetric = (secondMoment + secondMoment.transposed()) / 2
    let values = try symmetricEigen(symmetric).values
    let byModulus = values.sorted { (Swift.abs($0), $0) > (Swift.abs($1), $1) }
    let largest = Swift.abs(byModulus.first ?? 0)
    let numericalRank = byModulus.filter { Swift.abs($0) > rankTolerance * largest }.count
    let nonPositive = byModulus.prefix(rank).filter { !($0 > 0) }.count
    let separation: Double
    if rank == d || byModulus[rank] == 0 {
        separation = .infinity
    } else {
        separation = Swift.abs(byModulus[rank - 1]) / Swift.abs(byModulus[rank])
    }
    return WhiteningCondition(rank: rank, eigenvalues: byModulus, numericalRank: numericalRank,
                              nonPositiveCount: nonPositive, separation: separation,
                              minimumSeparation: minimumSeparation)
}

/// The whitening matrix `W = U diag(γ)^{-1/2}` from the rank-k eigendecomposition of M2 (Procedure 4, steps 2–3).
///
/// Throws `.whiteningInvalid` (or `.invalidRank`) with a one-line reason unless
/// `whiteningCondition` holds: all weights of M2 = Σ_j w_j a_j a_jᵀ positive, rank ≥ k.
public func whitening(secondMoment: Tensor, rank: Int, minimumSeparation: Double = 2,
                      rankTolerance: Double = 1e-9) throws -> Whitening {
    let condition = try whiteningCondition(secondMoment: secondMoment, rank: rank,
                                           minimumSeparation: minimumSeparation, rankTolerance: rankTolerance)
    try condition.requireValid(routine: "whitening")
    let symmetric = (secondMoment + secondMoment.transposed()) / 2
    let e = try symmetricEigen(symmetric)
    // All k largest-modulus eigenvalues are positive, so they are the k largest (descending order).
    let gamma = Array(e.values.prefix(rank))
    let u = DecompositionSupport.leadingColumns(e.vectors, rank)
    let d = u.shape[0]
    let w = Tensor(shape: [d, rank]) { i in u[i[0], i[1]] / gamma[i[1]].squareRoot() }
    return Whitening(secondMoment: symmetric, eigenvalues: gamma, eigenvectors: u, matrix: w,
                     condition: condition)
}

/// The whitened symmetric tensor `T(W, W, W)` (k×k×k) of a symmetric `T = Σ_j λ_j a_j^{⊗3}` (Procedure 4, step 4).
///
/// When the whitening is valid for these a_j it equals `Σ_j λ_j w_j^{-3/2} v_j^{⊗3}` with
/// orthonormal `v_j = √w_j Wᵀ a_j`. The result is symmetrized.
public func whiten(_ tensor: Tensor, with whitening: Whitening) throws -> Tensor {
    let routine = "whiten"
    try DecompositionSupport.requireCubical(tensor, routine)
    guard tensor.shape[0] == whitening.matrix.shape[0] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "tensor of shape \(tensor.shape) does not fit a whitening matrix of shape \(whitening.matrix.shape)")
    }
    let w = whitening.matrix
    return tensor.multilinear([.matrix(w), .matrix(w), .matrix(w)]).symmetrized()
}

/// The whitened symmetric tensor `T(G, W, W)`, `G = ((D W)^+)ᵀ`, of a dy×dx×dx `T = Σ_j λ_j b_j ⊗ a_j ⊗ a_j` (Procedure 4 with the symmetrization matrix D of Algorithm 3).
///
/// `symmetrizer` is a dy×dx matrix `D = Σ_j c_j b_j a_jᵀ` with all c_j ≠ 0 and rank k,
/// e.g. `E[y ⊗ S_1(x)]` or `symmetrizationMatrix(T, zeta:)`. Then
/// `T(G, W, W) = Σ_j λ_j / (c_j √w_j) v_j^{⊗3}` with orthonormal v_j (see the file
/// comment). Throws `.rankDeficient` when D W has numerical rank below k. The result is symmetrized.
public func whiten(_ tensor: Tensor, with whitening: Whitening, symmetrizer: Tensor,
                   rankTolerance: Double = 1e-10) throws -> Tensor {
    let routine = "whiten"
    try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
    let dy = tensor.shape[0], dx = tensor.shape[1], k = whitening.rank
    guard whitening.matrix.shape[0] == dx else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "tensor of shape \(tensor.shape) does not fit a whitening matrix of shape \(whitening.matrix.shape)")
    }
    guard symmetrizer.shape == [dy, dx] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "symmetrization matrix D must be \(dy)×\(dx), got shape \(symmetrizer.shape)")
    }
    try DecompositionSupport.requireFinite(symmetrizer, routine, "symmetrization matrix D")
    guard k <= dy else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(k) exceeds dy = \(dy): the b_j cannot be independent")
    }
    let dw = matmul(symmetrizer, whitening.matrix)
    try DecompositionSupport.requireRank(try singularValues(dw), k, tolerance: rankTolerance, routine,
                                         "D W (symmetrization matrix times whitening matrix)")
    let g = try pseudoInverse(dw).transposed()
    let w = whitening.matrix
    return tensor.multilinear([.matrix(g), .matrix(w), .matrix(w)]).symmetrized()
}

/// The symmetrization matrix `D = T(I, I, ζ) = Σ_j λ_j (a_j·ζ) b_j a_jᵀ` (dy×dx) built from the tensor itself.
///
/// Stands in for the first-order moment of Algorithm 3 when none is at hand; valid when
/// every `a_j·ζ ≠ 0` (true for almost every ζ).
public func symmetrizationMatrix(_ tensor: Tensor, zeta: [Double]) throws -> Tensor {
    let routine = "symmetrizationMatrix"
    try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
    guard zeta.count == tensor.shape[2] else {
        throw DecompositionError(routine: routine, kind: .wrongShape,
                                 message: "ζ has length \(zeta.count), mode 3 of the tensor has length \(tensor.shape[2])")
    }
    try DecompositionSupport.requireFinite(zeta, routine, "ζ")
    return tensor.multilinear([.identity, .identity, .vector(zeta)])
}

/// Un-whitening (Procedure 5): the component directions `U diag(γ)^{1/2} v_j` (rows, n×d) from whitened eigenvectors v_j (rows, n×k).
///
/// For `v_j = √w_j Wᵀ a_j` this returns `√w_j a_j` exactly (a_j lies in the span of U).
/// Procedure 5 also divides by `√w_j` ("˜λ_j"), which is unknown unless M2's weights are;
/// here the scale is left to the caller: for a symmetric T with whitened eigenvalue μ_j,
/// `T = Σ_j μ_j (√w_j a_j)^{⊗3}` holds without knowing w_j.
public func unwhiten(_ eigenvectors: Tensor, with whitening: Whitening) throws -> Tensor {
    guard eigenvectors.order == 2, eigenvectors.shape[1] == whitening.rank else {
        throw DecompositionError(routine: "unwhiten", kind: .wrongShape,
                                 message: "whitened eigenvectors must be rows of length k = \(whitening.rank), got shape \(eigenvectors.shape)")
    }
    try DecompositionSupport.requireFinite(eigenvectors, "unwhiten", "whitened eigenvectors")
    return matmul(eigenvectors, whitening.unwhiteningMatrix, transposeB: true)
}

/// A direction θ for which `M2 = T(θ, I, I)` is positive on all k components (this project's addition to Procedure 4).
///
/// Works in the k-dimensional spans of the a_j (top left singular vectors U_k of the mode-2
/// unfolding) and of the b_j (Q_k, mode-1 unfolding): with `S_i = T(q_i, U_k, U_k)` and
/// `P(φ) = Σ_i φ_i S_i`, the set of φ with `P(φ) ≻ 0` is the cone `{λ_j (b_j·Q_kφ) > 0 ∀j}`.
/// Phase 1 maximizes the concave `λ_min(P(φ))` on the unit sphere by normalized
/// supergradient steps, from `φ = Q_kᵀ Σ_a T(·, a, a)`, until `P(φ) ≻ 0`. Phase 2 moves to the
/// maximizer of the strictly concave `log det P(φ) − (k/2)‖φ‖²` (Newton with backtracking),
/// which balances the weights w_j and so the conditioning of M2. Returns `θ = Q_k φ / ‖Q_k φ‖`.
/// Throws `.whiteningInvalid` if phase 1 finds no such direction in `maxIterations` steps.
public func whiteningDirection(_ tensor: Tensor, rank: Int, maxIterations: Int = 5000,
                               rankTolerance: Double = 1e-10) throws -> [Double] {
    let routine = "whiteningDirection"
    try DecompositionSupport.requirePartiallySymmetricShape(tensor, routine)
    try DecompositionSupport.requirePositiveRank(rank, routine)
    let dy = tensor.shape[0], dx = tensor.shape[1], k = rank
    guard k <= dx, k <= dy else {
        throw DecompositionError(routine: routine, kind: .invalidRank,
                                 message: "rank k = \(k) exceeds min(dy, dx) = \(Swift.min(dy, dx))")
    }
    let t = DecompositionSupport.symmetrizedInLastModes(tensor)
    let (u, uValues) = try DecompositionSupport.leftSingularSubspace(DecompositionSupport.unfolding(t, mode: 1), k)
    try DecompositionSupport.requireRank(uValues, k, tolerance: rankTolerance, routine, "the mode-2 unfolding (span of the a_j)")
    let (q, qValues) = try DecompositionSupport.leftSingularSubspace(DecompositionSupport.unfolding(t, mode: 0), k)
    try DecompositionSupport.requireRank(qValues, k, tolerance: rankTolerance, routine, "the mode-1 unfolding (span of the b_j)")
    let slices: [Tensor] = (0..<k).map { i in
        let m = t.multilinear([.vector(q.column(i)), .matrix(u), .matrix(u)])
        return (m + m.transposed()) / 2
    }
    func combine(_ phi: [Double], _ s: [Tensor]) -> Tensor {
        var p = Tensor.zeros([k, k])
        for i in 0..<k { p += phi[i] * s[i] }
        return p
    }
    // Start: the trace contraction θ̄ = Σ_a T(·, a, a) = Σ_j λ_j ‖a_j‖² b_j, projected.
    let traceDirection = (0..<dy).map { y in (0..<dx).reduce(0.0) { $0 + t[y, $1, $1] } }
    var phi = matvec(q, traceDirection, transpose: true)
    if DecompositionSupport.norm(phi) == 0 { phi = (0..<k).map { $0 == 0 ? 1 : 0 } }
    phi = DecompositionSupport.normalized(phi)

    // Phase 1: supergradient ascent of λ_min(P(φ)) on the sphere.
    var feasible = false
    for step in 0...maxIterations {
        let e = try symmetricEigen(combine(phi, slices))
        let smallest = e.values[k - 1], largest = e.values.map { Swift.abs($0) }.max() ?? 0
        if smallest > 1e-12 * largest && largest > 0 { feasible = true; break }
        if step == maxIterations { break }
        let v = e.vectors.column(k - 1)
        var g = slices.map { dot(v, matvec($0, v)) }
        let radial = dot(g, phi)
        for i in 0..<k { g[i] -= radial * phi[i] }
        let gn = DecompositionSupport.norm(g)
        guard gn > 0 else { break }
        let length = 0.3 / Double(step + 1).squareRoot()
        phi = DecompositionSupport.normalized((0..<k).map { phi[$0] + length * g[$0] / gn })
    }
    guard feasible else {
        throw DecompositionError(routine: routine, kind: .whiteningInvalid,
                                 message: "found no θ with T(θ, I, I) positive definite on the span of the a_j in \(maxIterations) steps; the tensor may not have the form Σ λ_j b_j ⊗ a_j ⊗ a_j with independent factors")
    }

    // Phase 2: Newton on f(φ) = log det P(φ) − (k/2)‖φ‖², with P scaled to unit size at the start.
    let scale = (try symmetricEigen(combine(phi, slices)).values.map { Swift.abs($0) }.max()) ?? 1
    let scaled = slices.map { $0 / scale }
    func objective(_ phi: [Double]) -> Double? {
        guard let l = try? cholesky(combine(phi, scaled)) else { return nil }
        var logDet = 0.0
        for i in 0..<k { logDet += 2 * Foundation.log(l[i, i]) }
        return logDet - 0.5 * Double(k) * dot(phi, phi)
    }
    for _ in 0..<50 {
        guard let current = objective(phi), let pInverse = try? inverse(combine(phi, scaled)) else { break }
        let x = scaled.map { matmul(pInverse, $0) }
        var gradient = [Double](repeating: 0, count: k)
        var negativeHessian = Tensor.zeros([k, k])
        for i in 0..<k {
            var trace = 0.0
            for c in 0..<k { trace += x[i][c, c] }
            gradient[i] = trace - Double(k) * phi[i]
            for l in i..<k {
                var s = 0.0
                for c in 0..<k {
                    for d in 0..<k { s += x[i][c, d] * x[l][d, c] }
                }
                let h = s + (i == l ? Double(k) : 0)
                negativeHessian[i, l] = h
                negativeHessian[l, i] = h
            }
        }
        guard let direction = try? solve(negativeHessian, gradient) else { break }
        let decrement = dot(gradient, direction)
        if !(decrement > 1e-14) { break }
        var length = 1.0
        var accepted = false
        while length > 1e-12 {
            let candidate = (0..<k).map { phi[$0] + length * direction[$0] }
            if let value = objective(candidate), value >= current + 0.25 * length * decrement {
                phi = candidate
                accepted = true
                break
            }
            length /= 2
        }
        if !accepted { break }
    }
    return DecompositionSupport.normalized(matvec(q, phi))
}
