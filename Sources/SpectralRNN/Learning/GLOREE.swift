// GLOREE for the quadratic IO-RNN (paper Algorithm 1, §3.2; MATH.md §4): A1 and A2 from
// the rank-dh decomposition of E[y_t ⊗ S_2(x[n], t)] = 2 Σ_j b_j ⊗ a_j ⊗ a_j (eq. 14), U
// from the corrected mixed moment E[y_t ⊗ S_{t,t−1,t−1}] = 4 Σ_j b_j ⊗ a_j ⊗ M_j of
// MATH.md §4(c) — not from the paper's fourth-order display, which is wrong (errata 3–4).

import Foundation

/// The algebra of GLOREE on given moments: the estimated parameters and what they were computed from.
public struct GLOREEFit: Sendable {
    /// Â1 (dh×dx): unit rows `â_j`, the entry of largest modulus positive (one representative, MATH.md §1).
    public let a1: Tensor
    /// Û (dh×dh) by the entrywise-dual solve `U_jk = T(β_j, α_j, α_k, α_k) / 4` (MATH.md §4c).
    public let u: Tensor
    /// Â2 (dh×dy): rows `b_j = λ_j b̂_j / 2`, so `2 Σ_j b_j ⊗ â_j ⊗ â_j` reproduces the second-order moment.
    public let a2: Tensor
    /// Û by least squares on `vec(M_j) = (A1 ⊙ A1)ᵀ U_{j·}ᵀ` (see `solveUByLeastSquares`).
    public let uByLeastSquares: Tensor
    /// The duals: α = pinv(Â1) (dx×dh) and β = pinv(Â2) (dy×dh); column j is α_j, β_j.
    public let alpha: Tensor
    public let beta: Tensor
    /// The normalized rank-dh decomposition `Σ_j λ_j b̂_j ⊗ â_j ⊗ â_j` of the second-order moment.
    public let decomposition: CPDecomposition
    /// The projected mixed moment (dh×dh), entry (j, k) = `T(β_j, α_j, α_k, α_k) ≈ 4 U_jk`.
    public let projectedMixed: Tensor
    /// Row condition numbers `σ_1/σ_dh` of Â1 and Â2 (∞ without full row rank).
    public let conditionNumberA1: Double
    public let conditionNumberA2: Double
    /// `‖T − Σ_j λ_j b̂_j ⊗ â_j ⊗ â_j‖_F / ‖T‖_F` for the second-order moment T.
    public let decompositionResidual: Double
    /// The decomposer used, and for `.refined` its report: which start won, each start's residuals.
    public let decomposer: Decomposer
    public let refinement: RefinedDecompositionResult?
    /// Rank conditions that fail or nearly fail (Theorem 5 needs full row rank A1, A2).
    public let warnings: [String]

    /// Condition numbers above this get a warning: the dual solve amplifies moment errors by about cond(Â1)²·cond(Â2).
    public static let largeConditionNumber = 1e3

    /// The estimated model, with the given output noise sd (GLOREE does not estimate it).
    public func model(noise: Double = 0) throws -> IORNN {
        try IORNN(a1: a1, u: u, a2: a2, noise: noise)
    }
}

/// Â1, Â2, their duals and the decomposition they came from (steps 1–3 of GLOREE).
typealias GLOREEFactors = (a1: Tensor, a2: Tensor, alpha: Tensor, beta: Tensor, decomposition: CPDecomposition,
                           residual: Double, refinement: RefinedDecompositionResult?)

/// Steps 1–3 of GLOREE: decompose the dy×dx×dx second-order moment (rank dh), fix the scale, form the duals.
///
/// `samplingError` (the relative standard error of `second`, when known) goes into the
/// refinement's report.
func gloreeFactors(second: Tensor, hidden dh: Int, decomposer: Decomposer, seed: UInt64, samplingError: Double? = nil)
    throws -> GLOREEFactors {
    guard second.order == 3, second.shape[1] == second.shape[2], second.count > 0 else {
        throw ModelError("GLOREE: the second-order moment must be dy×dx×dx, got shape \(second.shape)")
    }
    guard dh >= 1 else { throw ModelError("GLOREE: the hidden dimension must be positive, got \(dh)") }
    guard second.isFinite else { throw ModelError("GLOREE: the second-order moment overflowed float64 (NaN or ∞ entries); the scores u = P x multiply /x by the precision of /process: check that /process matches the scale of /x and that /x and /y are not huge") }
    var random = RandomStream(seed: seed, purpose: "GLOREE decomposition")
    let found = try decomposer.decomposeReporting(second, rank: dh, samplingError: samplingError, random: &random)
    let decomposition = found.decomposition.normalized()
    let dx = second.shape[1], dy = second.shape[0]
    // E = 2 Σ_j b_j ⊗ a_j ⊗ a_j and T̂ = Σ_j λ_j b̂_j ⊗ â_j ⊗ â_j with unit â_j: b_j = λ_j b̂_j / 2.
    let a1 = decomposition.a
    let a2 = Tensor(shape: [dh, dy]) { i in decomposition.weights[i[0]] * decomposition.b[i[0], i[1]] / 2 }
    guard a1.shape == [dh, dx], a1.isFinite, a2.isFinite else {
        throw ModelError("GLOREE: the decomposition (\(decomposer.rawValue)) returned non-finite or mis-shaped factors")
    }
    let alpha = try pseudoInverse(a1)
    let beta = try pseudoInverse(a2)
    return (a1, a2, alpha, beta, decomposition, decomposition.relativeError(to: second), found.refinement)
}

/// The rank-condition and conditioning warnings of a fit (Theorem 5: full row rank A1, A2).
func rankWarnings(dx: Int, dh: Int, dy: Int, conditionA1: Double, conditionA2: Double,
                  units: String = "dh", theorem: String = "Theorem 5", inputWeights: String = "A1") -> [String] {
    var warnings: [String] = []
    if dh > dx {
        warnings.append("\(units) = \(dh) > dx = \(dx): \(inputWeights) cannot have full row rank (\(theorem) needs \(units) ≤ dx); the duals α are not exact and U is not identified")
    }
    if dh > dy {
        warnings.append("\(units) = \(dh) > dy = \(dy): A2 cannot have full row rank (\(theorem) needs \(units) ≤ dy); the duals β are not exact and U is not identified")
    }
    for (name, c, fits) in [(inputWeights == "A1" ? "Â1" : "[Â1; B̂1]", conditionA1, dh <= dx), ("Â2", conditionA2, dh <= dy)] where fits {
        if !(c <= GLOREEFit.largeConditionNumber) {
            warnings.append("cond(\(name)) = \(String(format: "%.3g", c)) > \(String(format: "%.0e", GLOREEFit.largeConditionNumber)): the estimate is nearly rank-deficient and the dual solve for U amplifies moment errors")
        }
    }
    return warnings
}

/// `P_jk = T(β_j, α_j, α_k, α_k)` (dh×dh) of a dense dy×dx×dx×dx mixed moment.
func projectMixedMoment(_ mixed: Tensor, alpha: Tensor, beta: Tensor) -> Tensor {
    let dh = alpha.shape[1]
    let q = mixed.multilinear([.matrix(beta), .matrix(alpha), .matrix(alpha), .matrix(alpha)])   // dh⁴
    return Tensor(shape: [dh, dh]) { i in q[i[0], i[0], i[1], i[1]] }
}

/// U by least squares on the projected equations `P_jk / 4 = Σ_l U_jl (α_k·a_l)²` (design G = (αᵀA1ᵀ)^{∘2}).
///
/// When A1 has full row rank, `A1 α = I`, so G = I and this is exactly the dual solve P/4:
/// on the projected path the least-squares and dual solves coincide (up to rounding).
private func projectedLeastSquares(_ projected: Tensor, a1: Tensor, alpha: Tensor) throws -> Tensor {
    var g = matmul(alpha, a1, transposeA: true, transposeB: true)   // (k, l) = α_k·a_l
    for i in 0..<g.count { g.storage[i] *= g.storage[i] }
    return try leastSquares(g, (projected / 4).transposed()).transposed()
}

/// U by least squares from a dense mixed moment T ≈ 4 Σ_j b_j ⊗ a_j ⊗ M_j (MATH.md §4c, like paper Algorithm 1 line 10).
///
/// With α = pinv(A1), β = pinv(A2): `M_j = T(β_j, α_j, I, I) / 4` (dx×dx), and row j of U
/// solves `vec(M_j) = (A1 ⊙ A1)ᵀ U_{j·}ᵀ` in least squares (`Tensor.khatriRaoRows`, paper
/// Definition 1). `mixedMoment` is dy×dx×dx×dx, `a1` dh×dx, `a2` dh×dy.
///
/// Relation to the dual solve `U_jk = α_kᵀ M_j α_k`: both apply a left inverse of
/// `(A1 ⊙ A1)ᵀ` to vec(M_j) — this one the pseudo-inverse, the dual one the rows `α_k ⊗ α_k`.
/// They agree on exact moments (vec M_j lies in the range), not on sampled ones unless
/// `A1 A1ᵀ` is diagonal (α_k ⊗ α_k ∉ span{a_l ⊗ a_l} otherwise). On the projected path only
/// the `α_kᵀ M_j α_k` are known; their design matrix `(α_k·a_l)²` is the identity when A1
/// has full row rank, so there least squares *is* the dual solve.
public func solveUByLeastSquares(mixedMoment: Tensor, a1: Tensor, a2: Tensor) throws -> Tensor {
    guard a1.order == 2, a2.order == 2, a1.shape[0] == a2.shape[0], a1.shape[0] >= 1 else {
        throw ModelError("solveUByLeastSquares: A1 (dh×dx) and A2 (dh×dy) must be matrices with the same rows, got \(a1.shape) and \(a2.shape)")
    }
    let dh = a1.shape[0], dx = a1.shape[1], dy = a2.shape[1]
    guard mixedMoment.shape == [dy, dx, dx, dx] else {
        throw ModelError("solveUByLeastSquares: the mixed moment must be dy×dx×dx×dx = \(dy)×\(dx)×\(dx)×\(dx), got shape \(mixedMoment.shape)")
    }
    guard mixedMoment.isFinite else { throw ModelError("solveUByLeastSquares: the mixed moment has NaN or ∞ entries") }
    let alpha = try pseudoInverse(a1), beta = try pseudoInverse(a2)
    let c = mixedMoment.multilinear([.matrix(beta), .matrix(alpha), .identity, .identity])   // dh×dh×dx×dx
    let m = Tensor(shape: [dh, dx * dx]) { i in c[i[0], i[0], i[1] / dx, i[1] % dx] / 4 }   // rows vec(M_j)
    let khatriRao = Tensor.khatriRaoRows(a1, a1)                                          // dh×dx²
    return try leastSquares(khatriRao.transposed(), m.transposed()).transposed()
}

/// GLOREE (paper Algorithm 1, corrected as in MATH.md §4c) on given dense moments: `second` ≈ 2 Σ b_j⊗a_j⊗a_j (dy×dx×dx), `mixed` ≈ 4 Σ b_j⊗a_j⊗M_j (dy×dx×dx×dx).
///
/// Â1, Â2 as in `gloree(_:process:hidden:…)`; U by the dual solve on the projection of
/// `mixed`, `uByLeastSquares` by `solveUByLeastSquares` on the dense `mixed`. On exact
/// (population) moments both recover the model up to its equivalences to rounding.
public func gloree(fromMoments second: Tensor, mixed: Tensor, hidden dh: Int,
                   decomposer: Decomposer = .refined, seed: UInt64 = 0) throws -> GLOREEFit {
    let f = try gloreeFactors(second: second, hidden: dh, decomposer: decomposer, seed: seed)
    let dy = second.shape[0], dx = second.shape[1]
    guard mixed.shape == [dy, dx, dx, dx] else {
        throw ModelError("GLOREE: the mixed moment must be dy×dx×dx×dx = \(dy)×\(dx)×\(dx)×\(dx) like the second-order moment, got shape \(mixed.shape)")
    }
    guard mixed.isFinite else { throw ModelError("GLOREE: the mixed moment has NaN or ∞ entries") }
    let projected = projectMixedMoment(mixed, alpha: f.alpha, beta: f.beta)
    let c1 = try rowConditionNumber(f.a1), c2 = try rowConditionNumber(f.a2)
    return GLOREEFit(a1: f.a1, u: projected / 4, a2: f.a2,
                     uByLeastSquares: try solveUByLeastSquares(mixedMoment: mixed, a1: f.a1, a2: f.a2),
                     alpha: f.alpha, beta: f.beta, decomposition: f.decomposition, projectedMixed: projected,
                     conditionNumberA1: c1, conditionNumberA2: c2, decompositionResidual: f.residual,
                     decomposer: decomposer, refinement: f.refinement,
                     warnings: rankWarnings(dx: dx, dh: dh, dy: dy, conditionA1: c1, conditionA2: c2))
}

/// What GLOREE measured besides the parameters: sample sizes, conditioning, sampling errors, warnings.
public struct GLOREEDiagnostics: Sendable {
    /// Samples (window, t pairs) behind the second-order and the projected mixed moments.
    public let secondMomentSamples: Int
    public let mixedMomentSamples: Int
    /// Row condition numbers of Â1 and Â2.
    public let conditionNumberA1: Double
    public let conditionNumberA2: Double
    /// `‖SE‖_F / ‖mean‖_F` of the second-order moment (entrywise standard errors of the mean).
    public let secondMomentRelativeStandardError: Double
    /// The decomposition's relative residual on the sampled second-order moment.
    public let decompositionResidual: Double
    /// Standard errors of Û = P/4 entrywise (SE of the projected moment / 4), conditional on Â1, Â2.
    public let uStandardError: Tensor
    /// `‖uStandardError‖_F / ‖Û‖_F`.
    public let uRelativeStandardError: Double
    /// Everything that looks wrong, one line each.
    public let warnings: [String]
}

/// The result of GLOREE from samples: the fit, the streamed moments and the diagnostics.
public struct GLOREEResult: Sendable {
    /// The estimated parameters and the algebra behind them.
    public let fit: GLOREEFit
    /// Pass 1: `Ê[y_t ⊗ S_2(x[n], t)]` (dy×dx×dx).
    public let secondMoment: StreamingMean
    /// Pass 2: the projected mixed moment (dh×dh), (j, k) ≈ `4 U_jk`.
    public let projectedMixed: StreamingMean
    /// The dense mixed moment (dy×dx×dx×dx, estimated in pass 1), when asked for.
    public let mixedMoment: StreamingMean?
    public let diagnostics: GLOREEDiagnostics

    public var a1: Tensor { fit.a1 }
    public var u: Tensor { fit.u }
    public var a2: Tensor { fit.a2 }
    /// From the dense mixed moment when it was estimated, otherwise from the projected equations (= `u` up to rounding).
    public var uByLeastSquares: Tensor { fit.uByLeastSquares }

    /// The estimated model, with the given output noise sd.
    public func model(noise: Double = 0) throws -> IORNN { try fit.model(noise: noise) }
}

/// GLOREE for the quadratic IO-RNN from windows (paper Algorithm 1; MATH.md §4a, §4c), in two streaming passes.
///
/// Pass 1 estimates `E[y_t ⊗ S_2(x[n], t)] = 2 Σ_j b_j ⊗ a_j ⊗ a_j` and decomposes it with
/// rank dh: `Σ_j λ_j b̂_j ⊗ â_j ⊗ â_j`, â_j unit (largest entry positive), `b_j = λ_j b̂_j / 2`
/// — one representative of the scaling class of MATH.md §1. Pass 2 estimates the projected
/// mixed moment `T(β_j, α_j, α_k, α_k) = 4 U_jk` with the duals α = pinv(Â1), β = pinv(Â2),
/// and `U = P / 4`. `uByLeastSquares` solves the projected equations by least squares
/// (identical to the dual solve when Â1 has full row rank), or, with `denseMixedMoment`,
/// pass 1 also estimates the dy×dx³ mixed moment and `solveUByLeastSquares` is applied to it.
/// `seed` drives the decomposer's random draws. Memory does not grow with the data.
public func gloree(_ source: WindowSource, process: AR1Process, hidden dh: Int,
                   decomposer: Decomposer = .refined, seed: UInt64, threads: Int = 2,
                   denseMixedMoment: Bool = false) throws -> GLOREEResult {
    guard source.inputDimension == process.dimension else {
        throw ModelError("GLOREE: the windows have dx = \(source.inputDimension) but the input process has dimension \(process.dimension)")
    }
    let dx = source.inputDimension, dy = source.outputDimension
    // Pass 1 (with the dense mixed moment in the same pass when asked for).
    let second: StreamingMean
    var dense: StreamingMean? = nil
    if denseMixedMoment {
        (second, dense) = try estimateSecondOrderAndMixedMoments(source, process: process, threads: threads)
    } else {
        second = try estimateSecondOrderMoment(source, process: process, threads: threads)
    }
    let secondSE = second.standardError.frobeniusNorm / second.mean.frobeniusNorm
    let f = try gloreeFactors(second: second.mean, hidden: dh, decomposer: decomposer, seed: seed,
                              samplingError: secondSE.isFinite ? secondSE : nil)
    let projected = try estimateProjectedMixedMoment(source, process: process, alpha: f.alpha, beta: f.beta,
                                                     threads: threads)
    let p = projected.mean
    let u = p / 4
    let uLS: Tensor
    if let m = dense {
        uLS = try solveUByLeastSquares(mixedMoment: m.mean, a1: f.a1, a2: f.a2)
    } else {
        uLS = try projectedLeastSquares(p, a1: f.a1, alpha: f.alpha)
    }
    let c1 = try rowConditionNumber(f.a1), c2 = try rowConditionNumber(f.a2)
    let fit = GLOREEFit(a1: f.a1, u: u, a2: f.a2, uByLeastSquares: uLS, alpha: f.alpha, beta: f.beta,
                        decomposition: f.decomposition, projectedMixed: p,
                        conditionNumberA1: c1, conditionNumberA2: c2, decompositionResidual: f.residual,
                        decomposer: decomposer, refinement: f.refinement,
                        warnings: rankWarnings(dx: dx, dh: dh, dy: dy, conditionA1: c1, conditionA2: c2))

    let uSE = projected.standardError / 4
    let uRelativeSE = uSE.frobeniusNorm / u.frobeniusNorm
    var warnings = fit.warnings
    func g(_ x: Double) -> String { String(format: "%.3g", x) }
    if second.count < 2 || !(secondSE <= 0.2) {
        warnings.append("the second-order moment is uncertain (relative standard error \(g(secondSE)) from \(second.count) samples): A1 and A2 are unreliable; use more windows")
    }
    if !(uRelativeSE <= 0.5) {
        warnings.append("U is uncertain (relative standard error \(g(uRelativeSE)) from \(projected.count) samples): use more windows")
    }
    // The best rank-dh fit of T + E leaves about ‖E‖ √(1 − p/n) < ‖E‖ (p parameters, n entries):
    // a residual above the sampling error is more than noise.
    if secondSE.isFinite, f.residual > secondSE + 1e-12 {
        warnings.append("the rank-\(dh) decomposition (\(decomposer.rawValue)) leaves a residual of \(g(f.residual)), above the sampling error \(g(secondSE)): dh may be wrong, or the data not from a quadratic IO-RNN with this input process")
    }
    let diagnostics = GLOREEDiagnostics(
        secondMomentSamples: second.count, mixedMomentSamples: projected.count,
        conditionNumberA1: c1, conditionNumberA2: c2, secondMomentRelativeStandardError: secondSE,
        decompositionResidual: f.residual, uStandardError: uSE, uRelativeStandardError: uRelativeSE,
        warnings: warnings)
    return GLOREEResult(fit: fit, secondMoment: second, projectedMixed: projected, mixedMoment: dense,
                        diagnostics: diagnostics)
}
