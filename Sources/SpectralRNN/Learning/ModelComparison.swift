// Comparing a recovered IO-RNN with the truth modulo the model's equivalences (MATH.md §1):
// permutation of hidden units always; for a monomial σ = c_l z^l the per-unit scaling
// (a_j, U_{j·}, U_{·j}, b_j) → (s a_j, s U_{j·}, U_{·j}/s^l, b_j/s^l), sign flips included;
// for an odd or even σ that is not a monomial only the sign flips s = ±1; otherwise nothing
// more (`IORNN.equivalence`).

import Foundation

extension IORNN {
    /// The equivalent model with hidden unit i taken from unit `permutation[i]` of this one.
    public func permuted(_ permutation: [Int]) throws -> IORNN {
        let dh = hiddenDimension
        guard permutation.sorted() == Array(0..<dh) else {
            throw ModelError("IO-RNN: \(permutation) is not a permutation of the \(dh) hidden units")
        }
        let dx = inputDimension, dy = outputDimension
        let newA1 = Tensor(shape: [dh, dx]) { i in a1[permutation[i[0]], i[1]] }
        let newU = Tensor(shape: [dh, dh]) { i in u[permutation[i[0]], permutation[i[1]]] }
        let newA2 = Tensor(shape: [dh, dy]) { i in a2[permutation[i[0]], i[1]] }
        return try IORNN(a1: newA1, u: newU, a2: newA2, noise: noise, coefficients: coefficients)
    }

    /// The model `(s_j a_j, s_j U_{j·}, U_{·j}/s_j^l, b_j/s_j^l)` (MATH.md §1): `U_jk → s_j U_jk / s_k^l`.
    ///
    /// Every `s_j` must be finite and nonzero. It is an equivalent model when `equivalence` is
    /// `.scaling` (any s), or `.signFlip` with every `s_j = ±1` (for an odd σ the flipped unit's
    /// state changes sign, for an even σ it is unchanged); otherwise it is a different model.
    public func rescaled(_ scales: [Double]) throws -> IORNN {
        let dh = hiddenDimension
        guard scales.count == dh, scales.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw ModelError("IO-RNN: rescaling needs \(dh) finite nonzero scales, got \(scales)")
        }
        let dx = inputDimension, dy = outputDimension
        let newA1 = Tensor(shape: [dh, dx]) { i in scales[i[0]] * a1[i[0], i[1]] }
        let l = Double(degree)
        let newU = Tensor(shape: [dh, dh]) { i in scales[i[0]] * u[i[0], i[1]] / Foundation.pow(scales[i[1]], l) }
        let newA2 = Tensor(shape: [dh, dy]) { i in a2[i[0], i[1]] / Foundation.pow(scales[i[0]], l) }
        return try IORNN(a1: newA1, u: newU, a2: newA2, noise: noise, coefficients: coefficients)
    }
}

/// The representative of `estimate`'s equivalence class closest to `truth` (MATH.md §1), and the matching.
///
/// Rows of A1 are matched by |cosine| with the Hungarian algorithm (`factorMatch`);
/// `permutation[i]` is the estimated unit matched to true unit i. Then, only as far as the
/// truth's σ allows (`IORNN.equivalence`): for a monomial σ each matched unit is rescaled by
/// the least-squares scalar `s_i = (â·a_i)/(â·â)` (its sign included), so that `s_i â ≈ a_i`;
/// for an odd or even σ it is flipped by `s_i = sign(â·a_i)`; otherwise it is left as it is.
/// U and A2 follow by the scaling rule. For an exactly equivalent model the result equals
/// `truth` up to rounding. Both models must have the same σ.
public func align(_ estimate: IORNN, to truth: IORNN) throws -> (aligned: IORNN, permutation: [Int]) {
    guard estimate.a1.shape == truth.a1.shape, estimate.a2.shape == truth.a2.shape else {
        throw ModelError("align: the estimate (A1 \(estimate.a1.shape), A2 \(estimate.a2.shape)) and the truth (A1 \(truth.a1.shape), A2 \(truth.a2.shape)) differ in shape")
    }
    guard estimate.coefficients == truth.coefficients else {
        throw ModelError("align: the estimate's activation σ(z) = \(estimate.activation) differs from the truth's σ(z) = \(truth.activation)")
    }
    let match = try factorMatch(estimated: estimate.a1, truth: truth.a1)
    let permuted = try estimate.permuted(match.permutation)
    if truth.equivalence == .permutationOnly { return (permuted, match.permutation) }
    let scales = try (0..<truth.hiddenDimension).map { i -> Double in
        let e = permuted.a1.row(i), t = truth.a1.row(i)
        let leastSquares = dot(e, t) / dot(e, e)
        guard leastSquares.isFinite, leastSquares != 0 else {
            throw ModelError("align: estimated unit \(match.permutation[i]) is orthogonal to true unit \(i) (or zero); no scaling or sign flip maps one to the other")
        }
        return truth.equivalence == .scaling ? leastSquares : (leastSquares < 0 ? -1.0 : 1.0)
    }
    return (try permuted.rescaled(scales), match.permutation)
}

/// Relative Frobenius errors `‖X̂ − X‖_F / ‖X‖_F` of the parameters after `align(_:to:)`.
public struct ParameterErrors: Sendable, Equatable, CustomStringConvertible {
    public let a1: Double
    public let u: Double
    public let a2: Double
    /// `permutation[i]` is the estimated unit matched to true unit i.
    public let permutation: [Int]

    /// Aligns `estimate` to `truth` (MATH.md §1) and measures the remaining errors.
    public init(_ estimate: IORNN, truth: IORNN) throws {
        let (aligned, permutation) = try align(estimate, to: truth)
        self.init(aligned: aligned, permutation: permutation, truth: truth)
    }

    /// The errors of an estimate already aligned to `truth` by `align(_:to:)`, with its permutation.
    public init(aligned: IORNN, permutation: [Int], truth: IORNN) {
        a1 = aligned.a1.relativeError(to: truth.a1)
        u = aligned.u.relativeError(to: truth.u)
        a2 = aligned.a2.relativeError(to: truth.a2)
        self.permutation = permutation
    }

    public var description: String {
        func f(_ x: Double) -> String { x.formatted(significantDigits: 3) }
        return "relative errors after alignment: A1 \(f(a1)), U \(f(u)), A2 \(f(a2)) (matching \(permutation))"
    }
}

/// `‖ŷ − y*‖_F / ‖y*‖_F` with ŷ and y* the noiseless outputs of the estimate and the truth on the same windows x (N×n×dx).
///
/// Both models run from `h_0 = 0` on every window; a diverging estimate throws its
/// divergence error. The all-zeros predictor scores 1.
public func predictionError(_ estimate: IORNN, _ truth: IORNN, on x: Tensor) throws -> Double {
    guard estimate.inputDimension == truth.inputDimension, estimate.outputDimension == truth.outputDimension else {
        throw ModelError("predictionError: the estimate (dx = \(estimate.inputDimension), dy = \(estimate.outputDimension)) and the truth (dx = \(truth.inputDimension), dy = \(truth.outputDimension)) differ")
    }
    let predicted = try estimate.outputs(forWindows: x)
    let target = try truth.outputs(forWindows: x)
    return predicted.relativeError(to: target)
}

extension Double {
    /// `%.{digits}g` formatting.
    fileprivate func formatted(significantDigits digits: Int) -> String {
        String(format: "%.\(digits)g", self)
    }
}
