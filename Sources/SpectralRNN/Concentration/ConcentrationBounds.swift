// The quantities of paper §3.5 for concrete parameters (MATH.md §8): the Lipschitz constant of
// Lemma 8 (eq. 19, general and the remark's AR(1) form), the geometric-ergodicity constants
// (G, θ) of a Gaussian AR(1) input, the concentration bound of Theorem 9, and the gradient
// bound of Lemma 10. Everything here is a closed form; the walkthrough sets it beside
// measurements (MomentReplications.swift, LipschitzProbe.swift).

import Foundation

/// The spectral norms of an IO-RNN that §3.5's assumptions and bounds are written in.
public struct RNNNorms: Sendable, Equatable {
    /// ‖A1‖₂ (dh×dx).
    public let a1: Double
    /// ‖U‖₂.
    public let u: Double
    /// ‖A2‖₂ (dh×dy).
    public let a2: Double
    /// l, the degree of the activation.
    public let degree: Int

    public init(a1: Double, u: Double, a2: Double, degree: Int) {
        self.a1 = a1
        self.u = u
        self.a2 = a2
        self.degree = degree
    }

    /// The norms of `model`, from its §3.5 report (`IORNN.stabilityReport`, whose
    /// `paperAssumptionsHold` at input bound 1 is the reading `‖A1‖ + ‖U‖ ≤ 1`, ‖U‖ ≤ 1/l of erratum 8).
    public init(_ model: IORNN) throws {
        let report = try model.stabilityReport(inputBound: 1)
        self.init(a1: report.spectralNormA1, u: report.spectralNormU, a2: report.spectralNormA2, degree: model.degree)
    }

    /// `l‖U‖ < 1`: the geometric series of Lemma 10 converges (the paper assumes ‖U‖ ≤ 1/l).
    public var recurrenceContracts: Bool { Double(degree) * u < 1 }

    /// `Σ_{m ≥ 0} l^{m+1} ‖A2‖ ‖A1‖ ‖U‖^m = l ‖A2‖ ‖A1‖ / (1 − l‖U‖)`: Lemma 10's bounds summed
    /// over the lag (∞ when l‖U‖ ≥ 1).
    public var summedGradientBound: Double {
        recurrenceContracts ? Double(degree) * a2 * a1 / (1 - Double(degree) * u) : .infinity
    }
}

/// Lemma 10 (Appendix B.3): `‖∇_{x_i} y_t‖ ≤ l^{t−i+1} ‖A2‖ ‖A1‖ ‖U‖^{t−i}`, for lag t − i ≥ 0,
/// when every preactivation satisfies |z| ≤ 1 (so |σ′(z)| = l|z|^{l−1} ≤ l for σ(z) = z^l).
public func lemma10GradientBound(lag: Int, norms: RNNNorms) -> Double {
    precondition(lag >= 0, "lemma10GradientBound: the lag t − i must be ≥ 0")
    return pow(Double(norms.degree), Double(lag + 1)) * norms.a2 * norms.a1 * pow(norms.u, Double(lag))
}

/// The constants in Lemma 8's bound: suprema, over the inputs allowed, of the score norms
/// `max_i ‖S₂(x[n], i)‖` and `max_i ‖S₃(x[n], i) − S₂(x[n], i) ⊗ S₁(x[n], i)‖` (= ‖∇_{x_i} S₂‖).
public struct ScoreBounds: Sendable, Equatable {
    /// A bound on ‖S₂(x[n], i)‖₂ (spectral norm of the dx×dx matrix u_i u_iᵀ − P_ii).
    public let secondOrder: Double
    /// A bound on ‖S₂(x[n], i)‖_F, the norm a rank-one term y_i ⊗ S₂ of the dy×dx² matricization carries.
    public let secondOrderFrobenius: Double
    /// A bound on the spectral norm of the third-order tensor ∇_{x_i} S₂ = S₂ ⊗ S₁ − S₃.
    public let gradient: Double
    /// A bound on ‖u_i‖ = ‖(P x)_i‖.
    public let firstOrder: Double

    public init(secondOrder: Double, secondOrderFrobenius: Double, gradient: Double, firstOrder: Double) {
        self.secondOrder = secondOrder
        self.secondOrderFrobenius = secondOrderFrobenius
        self.gradient = gradient
        self.firstOrder = firstOrder
    }

    /// The remark after Lemma 8 for a Gaussian AR(1) with |φ| ≤ 1: ‖S₂‖ ≤ (1+|φ|)⁴ + (1+|φ|)² ≤ 20
    /// and ‖S₃ − S₂ ⊗ S₁‖ ≤ (1+|φ|)⁴ ≤ 16, as printed (the intermediate forms in φ).
    public static func remarkAsPrinted(phi: Double) -> (secondOrder: Double, gradient: Double) {
        let a = 1 + abs(phi)
        return (pow(a, 4) + a * a, pow(a, 4))
    }

    /// The remark's constants 20 and 16.
    public static let remarkConstants = (secondOrder: 20.0, gradient: 16.0)

    /// Bounds over the paper's domain ‖x_j‖ ≤ `radius` for every j, for a window of `length`
    /// steps of `process`. With `ρ_i = radius · Σ_j ‖P_ij‖₂` (u_i = Σ_j P_ij x_j, three blocks),
    /// ‖u_i‖ ≤ ρ_i; the eigenvalues of u_i u_iᵀ − P_ii lie in [−λ_max(P_ii), ‖u_i‖² − λ_min(P_ii)]
    /// (Weyl), so ‖S₂‖₂ ≤ max(ρ_i² − λ_min, λ_max); `‖u uᵀ − P‖_F² = ‖u‖⁴ − 2uᵀPu + ‖P‖_F²`
    /// ≤ s² − 2λ_min s + ‖P‖_F² with s = ‖u‖² ∈ [0, ρ_i²], a convex function largest at an end;
    /// and, since `∂_c (u_a u_b − P_ab) = P_ac u_b + u_a P_bc`, the tensor norm
    /// ‖∇_{x_i} S₂‖ ≤ 2 ‖P_ii‖₂ ρ_i. Each is attained when the blocks are multiples of the
    /// identity (Φ = φI, Σ = σ²I) and the x_j point along one unit vector with the signs of
    /// P_ij (then ‖u_i‖ = ρ_i; the first two also at u_i = 0).
    public static func unitBall(process: AR1Process, length n: Int, radius: Double = 1) throws -> ScoreBounds {
        precondition(n >= 1 && radius > 0, "ScoreBounds.unitBall: need n ≥ 1 and a positive radius")
        var s2 = 0.0, s2F = 0.0, grad = 0.0, first = 0.0
        for i in 0..<n {
            var rho = 0.0
            for j in max(0, i - 1)...min(n - 1, i + 1) {
                rho += try spectralNorm(process.precisionBlock(row: i, column: j, length: n))
            }
            rho *= radius
            let diagonal = process.precisionBlock(row: i, column: i, length: n)
            let eigenvalues = try symmetricEigen(diagonal).values
            let smallest = eigenvalues.min()!, largest = eigenvalues.max()!
            let frobenius2 = diagonal.frobeniusNorm * diagonal.frobeniusNorm
            first = max(first, rho)
            s2 = max(s2, max(rho * rho - smallest, largest))
            s2F = max(s2F, max(frobenius2, rho * rho * rho * rho - 2 * smallest * rho * rho + frobenius2).squareRoot())
            grad = max(grad, 2 * largest * rho)
        }
        return ScoreBounds(secondOrder: s2, secondOrderFrobenius: s2F, gradient: grad, firstOrder: first)
    }
}

/// Lemma 8 (eq. 19) and its corrected reading (erratum 7).
public enum Lemma8 {
    /// Eq. 19 as printed: `c = (1/n) ‖A2‖‖A1‖/(1 − l‖U‖) · max_i‖S₂‖ + ‖A2‖ · max_i‖S₃ − S₂ ⊗ S₁‖`
    /// (∞ when l‖U‖ ≥ 1). Only the first term carries the 1/n of the average over i.
    public static func printed(norms: RNNNorms, steps n: Int, scores: (secondOrder: Double, gradient: Double)) -> Double {
        precondition(n >= 1, "Lemma8.printed: n ≥ 1")
        guard norms.recurrenceContracts else { return .infinity }
        return norms.a2 * norms.a1 / (1 - Double(norms.degree) * norms.u) * scores.secondOrder / Double(n)
            + norms.a2 * scores.gradient
    }

    /// The remark's AR(1) form: `c = (20/n) ‖A2‖‖A1‖/(1 − l‖U‖) + 16 ‖A2‖`.
    public static func remark(norms: RNNNorms, steps n: Int) -> Double {
        printed(norms: norms, steps: n, scores: ScoreBounds.remarkConstants)
    }

    /// The constant Theorem 9's form `c√n` needs (McDiarmid-type: Theorem 11 after Kontorovich),
    /// with respect to the Hamming metric on windows whose steps lie in the ball ‖x_j‖ ≤ r: the
    /// largest change of `Φ(x[n]) = (1/n) Σ_i Mat(y_i ⊗ S₂(x[n], i))` when ONE step x_k moves
    /// anywhere in the ball (this project's derivation; MATH.md §8, erratum 7). With
    /// ‖x_k − x̃_k‖ ≤ 2r, `‖y_i − ỹ_i‖ ≤ 2r·l^{i−k+1}‖A2‖‖A1‖‖U‖^{i−k}` (Lemma 10 along the
    /// segment, i ≥ k), `‖y_i‖ ≤ ‖A2‖` and `‖u_i u_iᵀ − ũ_i ũ_iᵀ‖_F ≤ ‖P_ik‖ 2r · 2ρ` (only
    /// i = k−1, k, k+1 see x_k):
    /// `c_H = (2r/n) [F₂ · l‖A2‖‖A1‖/(1 − l‖U‖) + 2ρ² ‖A2‖ / r]`, F₂ the bound on ‖S₂‖_F, ρ on ‖u_i‖.
    /// Both terms carry the 1/n of the average; eq. 19 keeps it on the first only. (Σ_i ‖P_ik‖ =
    /// ρ_k/r since P_ik = P_kiᵀ; the bounds on y need σ(z) = z^l, |z| ≤ 1 and ‖h‖ ≤ 1, which the
    /// reading ‖A1‖r + ‖U‖ ≤ 1, l‖U‖ < 1 of erratum 8 gives.)
    public static func hamming(norms: RNNNorms, steps n: Int, scores: ScoreBounds, radius r: Double = 1) -> Double {
        precondition(n >= 1 && r > 0, "Lemma8.hamming: n ≥ 1 and r > 0")
        guard norms.recurrenceContracts else { return .infinity }
        let rho = scores.firstOrder
        return 2 * r / Double(n) * (scores.secondOrderFrobenius * norms.summedGradientBound + 2 * rho * rho * norms.a2 / r)
    }
}

/// The geometric-ergodicity constants of paper §3.5: `ρ_mix(t) = sup_{x₁} ‖f_{1→t}(·|x₁) − ω‖ ≤ G θ^{t−1}`.
public struct GeometricErgodicity: Sendable, Equatable {
    /// G ≥ 1.
    public let g: Double
    /// θ ∈ [0, 1), the contraction coefficient.
    public let theta: Double

    public init(g: Double, theta: Double) {
        self.g = g
        self.theta = theta
    }

    /// `G / (1 − θ)`, the factor Theorem 9's bound carries.
    public var factor: Double { g / (1 - theta) }

    /// (G, θ) for the Gaussian AR(1) `x_t = φ x_{t−1} + ε_t`, ε_t ~ N(0, σ² I_d), with the
    /// choices this project makes where the paper is silent: ‖·‖ is the total-variation
    /// distance, and the supremum is over starts in the ball ‖x₁‖ ≤ r (the paper's domain;
    /// over all of R^d the supremum is 1 for every t — the chain started far out is still far
    /// out — so no finite G exists). Given x₁, x_t ~ N(φ^{t−1}x₁, v_t I) with
    /// v_t = σ²(1 − φ^{2(t−1)})/(1 − φ²); ω = N(0, v_∞ I). The total variation is bounded by
    /// Pinsker, `√(KL/2)`, with `KL = ½[d(−q − log(1 − q)) + q r²(1 − φ²)/σ²]`, q = φ^{2(t−1)},
    /// and by 1. Then θ = |φ| and G = sup_t bound(t)/θ^{t−1} (t = 1 gives 1, so G ≥ 1).
    public static func gaussianAR1(phi: Double, noiseVariance: Double = 1, dimension d: Int, startRadius r: Double = 1) throws -> GeometricErgodicity {
        guard abs(phi) < 1, noiseVariance > 0, d >= 1, r > 0 else {
            throw ModelError("geometric ergodicity: need |φ| < 1, σ² > 0, d ≥ 1 and r > 0, got φ = \(phi), σ² = \(noiseVariance), d = \(d), r = \(r)")
        }
        let theta = abs(phi)
        guard theta > 0 else { return GeometricErgodicity(g: 1, theta: 0) }  // x_t ⟂ x₁ for t ≥ 2
        var g = 1.0
        var t = 2
        while true {
            let q = pow(theta, Double(2 * (t - 1)))
            guard q > 1e-300 else { break }
            let kl = 0.5 * (Double(d) * (-q - log1p(-q)) + q * r * r * (1 - phi * phi) / noiseVariance)
            let tv = min(1, (kl / 2).squareRoot())
            g = max(g, tv / pow(theta, Double(t - 1)))
            // Past this point tv/θ^{t−1} moves toward its limit r√(1 − φ²)/(2σ) by terms of
            // relative order q; stop once they are negligible.
            if q < 1e-16 { break }
            t += 1
        }
        return GeometricErgodicity(g: g, theta: theta)
    }
}

/// Theorem 9 (and Theorem 11, Appendix B.4), read from the garbled print as
/// `‖z − E z‖ ≤ G/(1 − θ) · (1 + 1/(√8 c n^{1.5})) · √(8 c² n log((dy + dx²)/δ))`, with
/// probability at least 1 − δ, for a c-Lipschitz function of n steps of the chain.
public func theorem9Bound(lipschitz c: Double, steps n: Int, delta: Double, ergodicity: GeometricErgodicity,
                          outputDimension dy: Int, inputDimension dx: Int) -> Double {
    precondition(n >= 1 && delta > 0 && delta < 1, "theorem9Bound: n ≥ 1 and δ in (0, 1)")
    let nn = Double(n)
    let root = (8 * c * c * nn * log(Double(dy + dx * dx) / delta)).squareRoot()
    return ergodicity.factor * (1 + 1 / (8.0.squareRoot() * c * pow(nn, 1.5))) * root
}

/// `P(χ²_k ≤ x)`: the regularized lower incomplete gamma P(k/2, x/2), by its power series.
public func chiSquareCDF(_ x: Double, degreesOfFreedom k: Int) -> Double {
    precondition(k >= 1, "chiSquareCDF: k ≥ 1")
    guard x > 0 else { return 0 }
    let s = Double(k) / 2, z = x / 2
    // Far in the upper tail the series needs ~z terms and its prefactor underflows: there the
    // upper tail is below 10⁻³⁰⁰ (z > s + 700 is beyond any quantile a walkthrough asks for).
    guard z < s + 700 else { return 1 }
    var term = 1 / s, sum = term
    var m = 1.0
    while term > sum * 1e-17 {
        term *= z / (s + m)
        sum += term
        m += 1
    }
    return min(1, exp(s * log(z) - z - lgamma(s)) * sum)
}
