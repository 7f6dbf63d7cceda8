// Tests of GLOREE for the quadratic IO-RNN (paper Algorithm 1, corrected as in MATH.md §4c)
// and of the comparison modulo the model's equivalences (MATH.md §1): recovery from exact
// population moments, the equivalence rule, least-squares versus dual solves, warnings,
// and recovery from samples with a sample-derived bound.

import Foundation
import Testing
@testable import SpectralRNN

/// `U_jk = T(β_j, α_j, α_k, α_k) / 4` computed entry by entry in the test, for a dense mixed moment.
private func dualSolve(_ mixed: Tensor, a1: Tensor, a2: Tensor) throws -> Tensor {
    let alpha = try pseudoInverse(a1), beta = try pseudoInverse(a2)
    let dh = a1.shape[0]
    return Tensor(shape: [dh, dh]) { i in
        mixed.contracted(withVectors: [beta.column(i[0]), alpha.column(i[0]), alpha.column(i[1]), alpha.column(i[1])]) / 4
    }
}

/// Windows from the process, for predictions (N×n×dx).
private func freshWindows(_ process: AR1Process, windows: Int, length: Int, seed: UInt64) -> Tensor {
    var rng = RandomStream(seed: seed, purpose: "fresh prediction windows")
    var storage: [Double] = []
    for _ in 0..<windows { storage += process.sampleWindow(length: length, using: &rng).storage }
    return Tensor(shape: [windows, length, process.dimension], storage: storage)
}

@Suite struct GLOREETests {
    // MARK: Exact moments

    @Test(arguments: [(4, 3, 4, UInt64(1)), (6, 3, 5, UInt64(2)), (5, 4, 4, UInt64(3))])
    func recoversTheModelFromPopulationMoments(dx: Int, dh: Int, dy: Int, seed: UInt64) throws {
        let truth = try IORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: 0.1,
                                              spectralNormU: 0.4, rowNormA1: 0.6, seed: seed)
        let fit = try gloree(fromMoments: truth.populationSecondOrderMoment(), mixed: truth.populationMixedMoment(),
                             hidden: dh, seed: 7)
        #expect(fit.warnings.isEmpty)
        #expect(fit.decompositionResidual < 1e-13)
        // The representative: unit rows of Â1 with the largest entry positive.
        for j in 0..<dh {
            let row = fit.a1.row(j)
            #expect(abs(Tensor(vector: row).frobeniusNorm - 1) < 1e-14)
            #expect(row.max()! >= -row.min()!)
        }
        let errors = try ParameterErrors(try fit.model(), truth: truth)
        #expect(errors.a1 < 1e-10 && errors.u < 1e-10 && errors.a2 < 1e-10, "\(errors)")
        // Least squares on the dense moment equals the dual solve on exact moments.
        #expect(fit.uByLeastSquares.relativeError(to: fit.u) < 1e-10)
        // The recovered model reproduces both moments and predicts like the truth.
        let model = try fit.model()
        #expect(model.populationSecondOrderMoment().relativeError(to: truth.populationSecondOrderMoment()) < 1e-12)
        #expect(model.populationMixedMoment().relativeError(to: truth.populationMixedMoment()) < 1e-10)
        // Inputs of a quarter of the variance keep this ‖U‖ = 0.4 recurrence far from divergence.
        let process = try AR1Process(phi: Tensor.identity(dx) * 0.5, sigma: Tensor.identity(dx) * 0.25)
        let x = freshWindows(process, windows: 50, length: 12, seed: seed)
        #expect(try predictionError(model, truth, on: x) < 1e-10)
    }

    @Test func everyDecomposerRecoversFromExactMoments() throws {
        let truth = try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 4, noise: 0,
                                              spectralNormU: 0.3, rowNormA1: 0.5, seed: 5)
        for decomposer in Decomposer.allCases {
            let fit = try gloree(fromMoments: truth.populationSecondOrderMoment(), mixed: truth.populationMixedMoment(),
                                 hidden: 3, decomposer: decomposer, seed: 1)
            let errors = try ParameterErrors(try fit.model(), truth: truth)
            // The iterative decomposers stop at their own tolerances, not at rounding.
            let bound = decomposer == .simultaneousDiagonalization ? 1e-10 : 1e-5
            #expect(errors.a1 < bound && errors.u < bound && errors.a2 < bound, "\(decomposer.rawValue): \(errors)")
        }
    }

    // MARK: Equivalences

    @Test func handMadeEquivalentModelAlignsBackExactly() throws {
        let truth = try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 5, noise: 0,
                                              spectralNormU: 0.4, rowNormA1: 0.6, seed: 12)
        // Permute (unit i of the copy is unit perm[i] of the truth), then scale with signs.
        let perm = [2, 0, 1]
        let scales = [0.5, -2.0, 3.0]
        let copy = try truth.permuted(perm).rescaled(scales)
        #expect(copy.a1.relativeError(to: truth.a1) > 0.5)
        let process = try AR1Process(phi: Tensor.identity(4) * 0.5, sigma: Tensor.identity(4) * 0.25)
        let x = freshWindows(process, windows: 40, length: 16, seed: 1)
        #expect(try predictionError(copy, truth, on: x) < 1e-14)
        let (aligned, permutation) = try align(copy, to: truth)
        // copy's unit i is truth's unit perm[i], so truth's unit perm[i] is matched to copy's unit i.
        for i in 0..<3 { #expect(permutation[perm[i]] == i) }
        #expect(aligned.a1.relativeError(to: truth.a1) < 1e-15)
        #expect(aligned.u.relativeError(to: truth.u) < 1e-15)
        #expect(aligned.a2.relativeError(to: truth.a2) < 1e-15)
        let errors = try ParameterErrors(copy, truth: truth)
        #expect(errors.a1 < 1e-15 && errors.u < 1e-15 && errors.a2 < 1e-15)
        // A wrong scaling rule (U_{·j}/s instead of U_{·j}/s²) is not an equivalence: predictions change.
        let s = [1.0, 2.0, 1.0]
        let wrongU = Tensor(shape: [3, 3]) { i in s[i[0]] * truth.u[i[0], i[1]] / s[i[1]] }
        let wrongA2 = Tensor(shape: [3, 5]) { i in truth.a2[i[0], i[1]] / (s[i[0]] * s[i[0]]) }
        let wrongA1 = Tensor(shape: [3, 4]) { i in s[i[0]] * truth.a1[i[0], i[1]] }
        let wrong = try IORNN(a1: wrongA1, u: wrongU, a2: wrongA2)
        #expect(try predictionError(wrong, truth, on: x) > 1e-3)
        // Scaling by zero is refused.
        #expect(throws: ModelError.self) { try truth.rescaled([1, 0, 1]) }
    }

    // MARK: Least squares versus the dual solve

    @Test func leastSquaresAndDualSolveAgreeExactlyWhereTheDocSaysSo() throws {
        let truth = try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 4, noise: 0,
                                              spectralNormU: 0.4, rowNormA1: 0.6, seed: 21)
        let exact = truth.populationMixedMoment()
        // Exact moments: both are left inverses of (A1 ⊙ A1)ᵀ applied to a vector in its range.
        let ls = try solveUByLeastSquares(mixedMoment: exact, a1: truth.a1, a2: truth.a2)
        let dual = try dualSolve(exact, a1: truth.a1, a2: truth.a2)
        #expect(ls.relativeError(to: truth.u) < 1e-12 && dual.relativeError(to: truth.u) < 1e-12)
        // Perturbed moments: different left inverses give different answers for a generic A1 …
        var rng = RandomStream(seed: 4, purpose: "moment perturbation")
        let perturbed = exact + rng.gaussianTensor(exact.shape, scale: 0.01 * exact.frobeniusNorm / Double(exact.count).squareRoot())
        let lsNoisy = try solveUByLeastSquares(mixedMoment: perturbed, a1: truth.a1, a2: truth.a2)
        let dualNoisy = try dualSolve(perturbed, a1: truth.a1, a2: truth.a2)
        #expect(lsNoisy.relativeError(to: dualNoisy) > 1e-4)
        // … but the same when A1 A1ᵀ is diagonal (orthogonal rows): then α_k ⊗ α_k ∈ span{a_l ⊗ a_l}.
        let q = try svd(rng.gaussianTensor([4, 3])).u.transposed()            // 3×4, orthonormal rows
        let orthogonalA1 = Tensor(shape: [3, 4]) { i in [0.5, 0.8, 1.1][i[0]] * q[i[0], i[1]] }
        let orthogonal = try IORNN(a1: orthogonalA1, u: truth.u, a2: truth.a2)
        let exactO = orthogonal.populationMixedMoment()
        let perturbedO = exactO + rng.gaussianTensor(exactO.shape, scale: 0.01 * exactO.frobeniusNorm / Double(exactO.count).squareRoot())
        let lsO = try solveUByLeastSquares(mixedMoment: perturbedO, a1: orthogonalA1, a2: truth.a2)
        let dualO = try dualSolve(perturbedO, a1: orthogonalA1, a2: truth.a2)
        #expect(lsO.relativeError(to: dualO) < 1e-12)
        // Shapes are checked.
        #expect(throws: ModelError.self) { try solveUByLeastSquares(mixedMoment: Tensor.zeros([4, 4, 4]), a1: truth.a1, a2: truth.a2) }
    }

    // MARK: Warnings and errors

    @Test func rankConditionsAreReported() throws {
        // dh > dx: simultaneous diagonalization refuses; CP-ALS fits, and the fit carries the warning.
        let wide = try IORNN(a1: Tensor(rows: [[1, 0], [0, 1], [0.6, 0.8]]), u: Tensor.identity(3) * 0.2,
                                      a2: Tensor(rows: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]))
        #expect(throws: DecompositionError.self) {
            try gloree(fromMoments: wide.populationSecondOrderMoment(), mixed: wide.populationMixedMoment(), hidden: 3)
        }
        let fit = try gloree(fromMoments: wide.populationSecondOrderMoment(), mixed: wide.populationMixedMoment(),
                             hidden: 3, decomposer: .alternatingLeastSquares)
        #expect(fit.warnings.contains { $0.hasPrefix("dh = 3 > dx = 2: A1 cannot have full row rank") })
        #expect(fit.conditionNumberA1 == .infinity)
        // Nearly parallel rows: a large condition number is reported.
        let a1 = Tensor(rows: [[1, 0, 0, 0], [1, 1e-4, 0, 0], [0, 0, 1, 0]])
        let close = try IORNN(a1: a1, u: Tensor.identity(3) * 0.2,
                                       a2: Tensor(rows: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]))
        let closeFit = try gloree(fromMoments: close.populationSecondOrderMoment(), mixed: close.populationMixedMoment(), hidden: 3)
        #expect(closeFit.conditionNumberA1 > 1e3)
        #expect(closeFit.warnings.contains { $0.hasPrefix("cond(Â1) = ") })
        // Mismatched moments.
        #expect(throws: ModelError.self) {
            try gloree(fromMoments: close.populationSecondOrderMoment(), mixed: Tensor.zeros([4, 4, 4]), hidden: 3)
        }
        // Mismatched process.
        let source = TensorWindowSource(x: Tensor.zeros([2, 5, 4]), y: Tensor.zeros([2, 5, 4]))
        #expect(throws: ModelError.self) {
            try gloree(source, process: try AR1Process.scalar(phi: 0.5), hidden: 3, seed: 1)
        }
    }

    // MARK: From samples

    @Test func recoversAPredictiveModelFromSamples() throws {
        // dx = dy = 4, dh = 3, Φ = 0.5 I, Σ = I, noise 0.1; 20 000 windows × 16 steps = 320 000 (window, t) pairs.
        let dx = 4, dh = 3, dy = 4
        let truth = try IORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: 0.1,
                                              spectralNormU: 0.2, rowNormA1: 0.5, seed: 17)
        let process = try AR1Process(phi: Tensor.identity(dx) * 0.5, sigma: Tensor.identity(dx))
        let (x, y) = try truth.simulate(process: process, windows: 20_000, length: 16, seed: 99, purpose: "gloree sample test")
        let result = try gloree(TensorWindowSource(x: x, y: y), process: process, hidden: dh, seed: 3)
        let d = result.diagnostics
        #expect(d.secondMomentSamples == 20_000 * 16 && d.mixedMomentSamples == 20_000 * 15)
        #expect(d.warnings.isEmpty, "\(d.warnings)")
        #expect(result.mixedMoment == nil)
        // On the projected path least squares is the dual solve (the projected design matrix is I).
        #expect(result.uByLeastSquares.relativeError(to: result.u) < 1e-12)

        let estimate = try result.model()
        let fresh = freshWindows(process, windows: 500, length: 16, seed: 5)
        let error = try predictionError(estimate, truth, on: fresh)
        let errors = try ParameterErrors(estimate, truth: truth)

        // The bound, from the measured standard errors (a parametric bootstrap of the algebra): perturb the exact
        // second-order moment by independent N(0, SE²) entries, rerun the algebra (decomposition, scale, duals),
        // project the exact mixed moment with the perturbed duals and perturb that by the projected moment's
        // N(0, SE²); take the largest prediction error of 10 draws, and allow 2× that. The SEs treat the (window, t)
        // pairs as independent and the perturbation treats entries as independent; checked once over 12 independent
        // data sets of this size (seeds 100–111): actual errors 0.020–0.051 (median 0.035), bootstrap 10/50/90%
        // quantiles 0.028/0.038/0.055 — calibrated, so 2× the largest draw is a margin, not a tuned constant.
        // Independently of the bootstrap, it must beat the all-zeros predictor (error 1) by 10×.
        let secondSE = result.secondMoment.standardError, projectedSE = result.projectedMixed.standardError
        let population = truth.populationSecondOrderMoment(), mixed = truth.populationMixedMoment()
        var rng = RandomStream(seed: 8, purpose: "bootstrap of the moments")
        var bootstrap: [Double] = []
        for _ in 0..<10 {
            var second = population
            for k in 0..<second.count { second.storage[k] += secondSE.storage[k] * rng.gaussian() }
            let fit = try gloree(fromMoments: second, mixed: mixed, hidden: dh, seed: 3)
            var projected = fit.projectedMixed
            for k in 0..<projected.count { projected.storage[k] += projectedSE.storage[k] * rng.gaussian() }
            let model = try IORNN(a1: fit.a1, u: projected / 4, a2: fit.a2)
            bootstrap.append(try predictionError(model, truth, on: fresh))
        }
        let bound = 2 * bootstrap.max()!
        let summary = "prediction error \(error), bootstrap \(bootstrap.sorted()), bound \(bound); \(errors); U relative SE \(d.uRelativeStandardError)"
        #expect(error < bound, "\(summary)")
        #expect(error < 0.1, "\(summary)")
        // The parameters: A1 and A2 within a few times the second moment's relative SE, U within a few times its own.
        #expect(errors.a1 < 5 * d.secondMomentRelativeStandardError && errors.a2 < 5 * d.secondMomentRelativeStandardError, "\(summary)")
        #expect(errors.u < 3 * d.uRelativeStandardError, "\(summary)")
    }

    @Test func denseAndProjectedPathsAgree() throws {
        // With the dense mixed moment estimated in pass 1, the projected moment of pass 2 is its contraction with the
        // same duals (both are means of the same per-pair quantities, and contraction is linear).
        let truth = try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 4, noise: 0.1,
                                              spectralNormU: 0.2, rowNormA1: 0.5, seed: 17)
        let process = try AR1Process(phi: Tensor.identity(4) * 0.5, sigma: Tensor.identity(4))
        let (x, y) = try truth.simulate(process: process, windows: 1_000, length: 8, seed: 1, purpose: "dense test")
        let result = try gloree(TensorWindowSource(x: x, y: y), process: process, hidden: 3, seed: 3, denseMixedMoment: true)
        let dense = try #require(result.mixedMoment)
        #expect(dense.count == 1_000 * 7)
        let projectedFromDense = Tensor(shape: [3, 3]) { i in
            dense.mean.contracted(withVectors: [result.fit.beta.column(i[0]), result.fit.alpha.column(i[0]),
                                                result.fit.alpha.column(i[1]), result.fit.alpha.column(i[1])])
        }
        #expect(projectedFromDense.relativeError(to: result.projectedMixed.mean) < 1e-10)
        #expect(result.uByLeastSquares == (try solveUByLeastSquares(mixedMoment: dense.mean, a1: result.a1, a2: result.a2)))
        // The same data through gloree(fromMoments:) gives the same fit.
        let fit = try gloree(fromMoments: result.secondMoment.mean, mixed: dense.mean, hidden: 3, seed: 3)
        #expect(fit.a1 == result.a1 && fit.a2 == result.a2)
        #expect(fit.u.relativeError(to: result.u) < 1e-10)
    }
}
