// Tests of the IO-RNN with a polynomial activation (paper §3.3, Theorem 6; MATH.md §5): the
// derivative identities exactly, the closed-form first-step moments, the equivalences, and
// GLOREE's recovery from exact (population) moments.

import Foundation
import Testing
@testable import SpectralRNN

@Suite struct PolynomialIORNNTests {
    static let cubic: [Double] = [0.1, 0.3, 0, 1]
    static let odd: [Double] = [0, 0.3, 0, 1]

    private func model(_ c: [Double], seed: UInt64 = 5, dx: Int = 3, dh: Int = 2, dy: Int = 3) throws -> IORNN {
        try IORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: 0.1, spectralNormU: min(0.3, 1 / Double(c.count - 1)),
                         rowNormA1: 0.4, coefficients: c, seed: seed)
    }

    private func window(_ n: Int, dx: Int = 3, seed: UInt64 = 2) throws -> (Tensor, AR1Process) {
        let process = try AR1Process(phi: Tensor.identity(dx) * 0.5, sigma: Tensor.identity(dx))
        var rng = RandomStream(seed: seed, purpose: "derivative window")
        return (process.sampleWindow(length: n, using: &rng), process)
    }

    /// The nilpotent-unit recurrence agrees with the simulator on values, and with central
    /// differences where those are exact (a quadratic's second derivative).
    @Test func exactDerivativesAgreeWithTheSimulator() throws {
        let m = try model(Self.cubic)
        let (x, _) = try window(4)
        let y = try m.outputs(for: x)
        for t in 0..<4 {
            let value = m.exactDerivative(window: x, at: t, slots: [])
            for o in 0..<3 { #expect(abs(value[o] - y[t, o]) <= 1e-14 * max(1, abs(y[t, o]))) }
        }
        let q = try model(IORNN.quadratic)
        let fd = try FiniteDifference.mixedDerivative(of: { try q.outputs(for: $0).row(2) }, at: x, times: [2, 2], step: 0.5)
        #expect(q.exactDerivative(window: x, at: 2, times: [2, 2]).relativeError(to: fd.derivative) <= 1e-12)
    }

    /// `∇^l_{x_t} y_t = l! c_l Σ_j b_j ⊗ a_j^{⊗l}` at every t, and the corrected mixed identity
    /// `∂^{l−1}_{x_t} ∂^l_{x_{t−1}} y_t = (l! c_l)² Σ_j b_j ⊗ a_j^{⊗(l−1)} ⊗ Σ_k U_jk a_k^{⊗l}` for t ≥ 1,
    /// exactly, for l = 2, 3, 4; a wrong constant fails.
    @Test(arguments: [[0.2, -0.5, 1.0], [0.1, 0.3, 0, 1], [0, 0.3, 0, 1], [0, 0, 0.4, 0.2, 0.8]])
    func derivativeIdentitiesHoldExactly(_ c: [Double]) throws {
        let m = try model(c)
        let l = m.degree
        let (x, _) = try window(4)
        let leading = m.populationLeadingMoment()
        let mixed = m.populationMixedMoment()
        #expect(leading.shape == [3] + Array(repeating: 3, count: l))
        #expect(mixed.shape == [3] + Array(repeating: 3, count: 2 * l - 1))
        for t in [0, 3] {
            let d = m.exactDerivative(window: x, at: t, times: Array(repeating: t, count: l))
            #expect(d.relativeError(to: leading) <= 1e-12, "S_l at t = \(t)")
            // A wrong claim: (l−1)! instead of l!.
            #expect(d.relativeError(to: leading / Double(l)) > 0.4)
        }
        if l <= 3 {
            for t in [1, 3] {
                let d = m.exactDerivative(window: x, at: t, times: Array(repeating: t, count: l - 1) + Array(repeating: t - 1, count: l))
                #expect(d.relativeError(to: mixed) <= 1e-11, "mixed at t = \(t)")
                #expect(d.relativeError(to: mixed * (Hermite.factorial(l) * c[l])) > 0.1)
            }
        }
    }

    /// `E[σ^{(k)}(g)]`, g ~ N(0, v), in closed form against Gauss–Hermite quadrature.
    @Test func gaussianActivationMomentsMatchQuadrature() throws {
        let c = [0.1, 0.3, -0.7, 1.0, 0.25]
        let rule = try GaussHermite(points: 20)
        for k in 0..<4 {
            for v in [0.09, 1.0, 2.5] {
                let quadrature = rule.expectation(variance: v) { z in Activation.polynomial(c).derivative(k, at: z) }
                let closed = IORNN.gaussianActivationMoment(c, derivative: k, variance: v)
                #expect(abs(closed - quadrature) <= 1e-12 * max(1, abs(quadrature)), "k = \(k), v = \(v)")
            }
        }
    }

    /// Equivalences: the sign flip leaves an odd σ's outputs unchanged; for a non-monomial σ a
    /// per-unit rescaling is a different model (the issue's 20%-scale effect), for a monomial it is not.
    @Test func equivalencesDependOnTheActivation() throws {
        #expect(try model(IORNN.quadratic).equivalence == .scaling)
        #expect(try model([0, 0, 0, 2]).equivalence == .scaling)
        #expect(try model(Self.odd).equivalence == .signFlip)
        #expect(try model([1, 0, 0.5, 0, 1]).equivalence == .signFlip)
        #expect(try model(Self.cubic).equivalence == .permutationOnly)
        let (x, _) = try window(5)
        let windows = x.reshaped([1, 5, 3])
        let odd = try model(Self.odd)
        #expect(try predictionError(try odd.rescaled([-1, 1]), odd, on: windows) <= 1e-14)
        #expect(try predictionError(try odd.rescaled([1.5, 1]), odd, on: windows) > 0.01)
        let monomial = try model([0, 0, 0, 2])
        #expect(try predictionError(try monomial.rescaled([1.5, -0.7]), monomial, on: windows) <= 1e-13)
        // align undoes a permutation and a sign flip of an odd σ exactly, and leaves a scale alone.
        let flipped = try odd.rescaled([-1, 1]).permuted([1, 0])
        let errors = try ParameterErrors(flipped, truth: odd)
        #expect(max(errors.a1, errors.u, errors.a2) <= 1e-14)
        let scaled = try ParameterErrors(try odd.rescaled([1.5, 1]), truth: odd)
        #expect(scaled.a1 > 0.1)
    }

    /// GLOREE recovers the model from exact moments to rounding, scale included, for
    /// activations with and without symmetries, l = 2 and 3.
    @Test(arguments: [[0.1, 0.3, 0, 1], [0, 0.3, 0, 1], [0.2, 0.5, 0.8], [0, 0, 0, 1], [0, 0.4, 0.6, 1]])
    func recoversFromPopulationMoments(_ c: [Double]) throws {
        let truth = try model(c, seed: 8)
        let (x, process) = try window(6)
        let fit = try gloree(leading: truth.populationLeadingMoment(), firstStep: truth.populationFirstStepMoments(process: process),
                             mixed: truth.populationMixedMoment(), hidden: 2, coefficients: c, process: process)
        let estimate = try fit.model()
        let errors = try ParameterErrors(estimate, truth: truth)
        #expect(max(errors.a1, errors.u, errors.a2) <= 1e-7, "\(errors)")
        #expect(try predictionError(estimate, truth, on: x.reshaped([1, 6, 3])) <= 1e-7)
        #expect(fit.leadingResidual <= 1e-12)
        #expect(fit.scaleIdentified == (truth.equivalence != .scaling))
    }

    /// Scalar output (App. C.2): the symmetric S_3 moment by whitening + the tensor power
    /// method, U from the mixed moment without an output dual; exact moments give the model back.
    @Test(arguments: [[0, 0.3, 0, 1], [0, 0.3, 0.5, 1]])
    func recoversAScalarOutputFromPopulationMoments(_ c: [Double]) throws {
        let truth = try model(c, seed: 3, dx: 3, dh: 2, dy: 1)
        let (x, process) = try window(6)
        let fit = try gloree(leading: truth.populationLeadingMoment(), firstStep: truth.populationFirstStepMoments(process: process),
                             mixed: truth.populationMixedMoment(), hidden: 2, coefficients: c, process: process)
        let estimate = try fit.model()
        let errors = try ParameterErrors(estimate, truth: truth)
        #expect(max(errors.a1, errors.u, errors.a2) <= 1e-7, "\(errors)")
        #expect(try predictionError(estimate, truth, on: x.reshaped([1, 6, 3])) <= 1e-7)
        #expect(throws: ModelError.self) {
            let quadratic = try model(IORNN.quadratic, dy: 1)
            _ = try gloree(leading: quadratic.populationLeadingMoment(), firstStep: quadratic.populationFirstStepMoments(process: process),
                           mixed: quadratic.populationMixedMoment(), hidden: 2, coefficients: IORNN.quadratic, process: process)
        }
    }

    /// When the first-step moments used cannot see the scale (σ = 0.2 + z³ with a scalar output:
    /// orders 1 and 2 miss c_0), the fit says so instead of returning an arbitrary scale.
    @Test func anUnidentifiedScaleIsReported() throws {
        let c: [Double] = [0.2, 0, 0, 1]
        let truth = try model(c, seed: 3, dx: 3, dh: 2, dy: 1)
        let (_, process) = try window(6)
        let fit = try gloree(leading: truth.populationLeadingMoment(), firstStep: truth.populationFirstStepMoments(process: process),
                             mixed: truth.populationMixedMoment(), hidden: 2, coefficients: c, process: process)
        #expect(!fit.scaleIdentified && fit.scales == [1, 1])
        #expect(fit.warnings.contains { $0.contains("do not depend on the per-unit scale") })
        // With a vector output the order-0 moment E[y_1] sees c_0: identified, recovered exactly.
        let vector = try model(c, seed: 3)
        let vectorFit = try gloree(leading: vector.populationLeadingMoment(), firstStep: vector.populationFirstStepMoments(process: process),
                                   mixed: vector.populationMixedMoment(), hidden: 2, coefficients: c, process: process)
        #expect(vectorFit.scaleIdentified && vectorFit.warnings.isEmpty)
        let errors = try ParameterErrors(try vectorFit.model(), truth: vector)
        #expect(max(errors.a1, errors.u, errors.a2) <= 1e-7, "\(errors)")
    }

    @Test func badActivationsAreRefusedWithOneLine() throws {
        for text in ["", " ", "0,0", "1", "0,0,0", "0,nan,1", "0,inf,1", "0,,1", "a,b,c", "0,0,1,0"] {
            #expect(throws: ModelError.self, "'\(text)'") { try IORNN.parseActivation(text) }
            do { _ = try IORNN.parseActivation(text) } catch { #expect(!"\(error)".contains("\n")) }
        }
        #expect(try IORNN.parseActivation("0, 0.3, 0, 1") == [0, 0.3, 0, 1])
        #expect(throws: ModelError.self) { try IORNN(a1: Tensor.identity(2), u: Tensor.zeros([2, 2]), a2: Tensor.identity(2), coefficients: [1, 2]) }
        #expect(throws: ModelError.self) {
            try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0, spectralNormU: 0.4, coefficients: Self.cubic, seed: 1)
        }
    }

    /// The generator refuses a draw that is unbounded at three times the typical scale, and the
    /// simulator names the polynomial bounded-state condition when a state blows up.
    @Test func boundednessIsEnforcedAndNamed() throws {
        let process = try AR1Process(phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
        #expect(throws: ModelError.self) {
            try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0, spectralNormU: 0.33, rowNormA1: 1.5,
                             coefficients: Self.cubic, boundedFor: process, seed: 1)
        }
        let bounded = try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0, spectralNormU: 0.25, rowNormA1: 0.15,
                                       coefficients: Self.cubic, boundedFor: process, seed: 1)
        #expect(bounded.boundedStateRadius(preactivationBound: 0.5) != nil)
        let wild = try IORNN(a1: Tensor(rows: [[3]]), u: Tensor(rows: [[0.3]]), a2: Tensor(rows: [[1]]), coefficients: [0, 1, 0, 1])
        do {
            _ = try wild.outputs(for: Tensor(rows: [[2], [2], [2], [2]]))
            Issue.record("expected divergence")
        } catch let error as ModelError {
            #expect(error.description.contains("r + ‖U‖·p(s) ≤ s") && !error.description.contains("\n"))
        }
    }
}
