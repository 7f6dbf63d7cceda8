// Tests of the GLM case (paper §3.1): quadrature, activations, the GLM's exact moments
// (eq. 12–13) against Monte Carlo, streaming cross-moments, and the readout fit.

import Foundation
import Testing
@testable import SpectralRNN

@Suite struct GLMTests {
    /// A small GLM with dx = 4, dh = 2, dy = 3.
    static func model(_ activation: Activation, bias: [Double]? = [0.3, -0.5], noise: Double = 0.1) throws -> GLM {
        var rng = RandomStream(seed: 7, purpose: "glm test model")
        let a1 = rng.gaussianTensor([2, 4], scale: 0.6)
        let a2 = rng.gaussianTensor([2, 3])
        return try GLM(a1: a1, bias: bias, a2: a2, activation: activation, noise: noise)
    }

    @Test func gaussHermiteIsExactForPolynomials() throws {
        // With p points the rule is exact for degree < 2p: E[z^k], z ~ N(μ, s²), against the
        // closed form Σ_{j even} C(k, j) μ^{k−j} s^j (j−1)!!.
        let rule = try GaussHermite(points: 8)
        let (mu, variance) = (0.7, 1.9)
        for k in 0...15 {
            var closed = 0.0
            for j in stride(from: 0, through: k, by: 2) {
                let doubleFactorial = stride(from: j - 1, to: 0, by: -2).reduce(1.0) { $0 * Double($1) }
                closed += Hermite.factorial(k) / (Hermite.factorial(j) * Hermite.factorial(k - j))
                    * pow(mu, Double(k - j)) * pow(variance, Double(j) / 2) * doubleFactorial
            }
            let quadrature = rule.expectation(mean: mu, variance: variance) { pow($0, Double(k)) }
            #expect(abs(quadrature - closed) <= 1e-12 * max(1, abs(closed)), "E[z^\(k)]: \(quadrature) vs \(closed)")
        }
        #expect(abs(rule.weights.reduce(0, +) - 1) < 1e-15)
    }

    @Test func quadratureConvergesForSmoothActivations() throws {
        // For tanh (poles at ±iπ/2) at scale s = √2.2 the error falls like exp(−(π/2s)√(2p)),
        // about 3e-15 at p = 500: 500 and 1000 points agree to near machine precision.
        let coarse = try GaussHermite(points: 500), fine = try GaussHermite(points: 1000)
        for activation in [Activation.sigmoid, .tanh] {
            for k in 0...3 {
                let a = coarse.expectation(mean: 0.4, variance: 2.2) { activation.derivative(k, at: $0) }
                let b = fine.expectation(mean: 0.4, variance: 2.2) { activation.derivative(k, at: $0) }
                #expect(abs(a - b) < 1e-13, "\(activation) derivative \(k): \(a) vs \(b)")
            }
        }
    }

    @Test func activationDerivativesMatchFiniteDifferences() {
        // Central differences have error h²/6·|f‴| + ε|f|/h; with h = 1e-4 and derivatives
        // bounded by ~5 that is below 1e-8 + 1e-12, so 1e-7 is a bound, not a slack.
        let h = 1e-4
        for activation in [Activation.sigmoid, .tanh, .polynomial([0.5, -1, 0.25, 2])] {
            for z in stride(from: -2.5, through: 2.5, by: 0.5) {
                for k in 1...3 {
                    let numeric = (activation.derivative(k - 1, at: z + h) - activation.derivative(k - 1, at: z - h)) / (2 * h)
                    #expect(abs(numeric - activation.derivative(k, at: z)) < 1e-7, "\(activation) σ^(\(k))(\(z))")
                }
            }
        }
        #expect(Activation.polynomial([1, 2, 3]).derivative(3, at: 1.7) == 0)
        #expect(Activation.polynomial([1, 2, 3])(2) == 1 + 4 + 12)
    }

    @Test func oddActivationWithoutBiasHasNoSecondOrderSignal() throws {
        // tanh″ is odd and a_j·x ~ N(0, ‖a_j‖²) is symmetric, so μ″_j = 0 exactly.
        let glm = try Self.model(.tanh, bias: nil)
        let mu2 = glm.activationMoments(derivative: 2, quadrature: try GaussHermite(points: 64))
        #expect(mu2.allSatisfy { $0 == 0 }, "μ″ = \(mu2)")
        let withBias = try Self.model(.tanh)
        #expect(withBias.activationMoments(derivative: 2, quadrature: try GaussHermite(points: 64)).allSatisfy { abs($0) > 1e-3 })
    }

    @Test(arguments: [Activation.sigmoid, .tanh, .polynomial([0, 1, 0.5])])
    func crossMomentsMatchEquations12And13(activation: Activation) throws {
        // Monte Carlo against the exact moments: each error norm within 4σ, σ = √(Σ se²).
        let glm = try Self.model(activation)
        let rule = try GaussHermite(points: 64)
        let (first, second) = glm.estimateCrossMoments(samples: 40_000, seed: 11)
        for (estimate, exact) in [(first, glm.firstOrderMoment(quadrature: rule)), (second, glm.secondOrderMoment(quadrature: rule))] {
            let gap = (estimate.mean - exact).frobeniusNorm
            let sigma = estimate.standardError.frobeniusNorm
            #expect(gap <= 4 * sigma, "\(activation): gap \(gap) vs σ \(sigma)")
        }
        // A wrong claim fails: the moment of eq. 13 with μ″ replaced by μ′.
        let mu1 = glm.activationMoments(derivative: 1, quadrature: rule)
        var wrong = Tensor.zeros(second.shape)
        for j in 0..<glm.hiddenDimension { wrong += Tensor.outer([glm.a2.row(j), glm.a1.row(j), glm.a1.row(j)]) * mu1[j] }
        #expect((second.mean - wrong).frobeniusNorm > 4 * second.standardError.frobeniusNorm)
    }

    @Test func crossMomentsAreReproducible() throws {
        let glm = try Self.model(.sigmoid)
        let a = glm.estimateCrossMoments(samples: 5_000, seed: 3)
        let b = glm.estimateCrossMoments(samples: 5_000, seed: 3)
        #expect(a.second.mean == b.second.mean && a.first.standardError == b.first.standardError)
        #expect(a.first.count == 5_000)
    }

    @Test func scoreCrossMomentSampleIsYTimesHermiteTensor() {
        let moment = ScoreCrossMoment(order: 2, inputDimension: 2, outputDimension: 2)
        let x = [0.3, -1.2], y = [2.0, -0.5]
        let sample = moment.sample(x: x, y: y)
        for i in 0..<2 { for a in 0..<2 { for b in 0..<2 {
            let s2 = x[a] * x[b] - (a == b ? 1 : 0)
            #expect(abs(sample[(i * 2 + a) * 2 + b] - y[i] * s2) < 1e-15)
        } } }
    }

    @Test func readoutRecoversTheModelFromTrueDirections() throws {
        // Noiseless data, true directions (rows of A1 normalized, one sign flipped): the fitted
        // GLM predicts like the truth.
        let glm = try Self.model(.sigmoid, noise: 0)
        var rng = RandomStream(seed: 5, purpose: "readout")
        let (x, y) = glm.sample(count: 2_000, using: &rng)
        var directions = glm.a1
        for j in 0..<2 {
            let norm = dot(glm.a1.row(j), glm.a1.row(j)).squareRoot() * (j == 0 ? -1 : 1)
            for i in 0..<4 { directions[j, i] /= norm }
        }
        let fitted = try GLMReadout.fit(directions: directions, activation: .sigmoid, x: x, y: y)
        var fresh = RandomStream(seed: 6, purpose: "readout fresh")
        let test = glm.sample(count: 1_000, using: &fresh)
        let predicted = Tensor(shape: test.y.shape, storage: (0..<1_000).flatMap { fitted.mean(test.x.row($0)) })
        #expect(predicted.relativeError(to: test.y) < 1e-6)
    }

    @Test func badParametersAreClearErrors() {
        let a1 = Tensor.zeros([2, 3])
        #expect(throws: ModelError.self) { try GLM(a1: a1, a2: Tensor.zeros([3, 2]), activation: .tanh, noise: 0) }
        #expect(throws: ModelError("GLM: the bias c must have dh = 2 entries, got 1")) {
            try GLM(a1: a1, bias: [1], a2: Tensor.zeros([2, 2]), activation: .tanh, noise: 0)
        }
        #expect(throws: ModelError("GLM: the noise level must be finite and non-negative, got -1.0")) {
            try GLM(a1: a1, a2: Tensor.zeros([2, 2]), activation: .tanh, noise: -1)
        }
        #expect(throws: ModelError("Gauss–Hermite quadrature needs at least one point, got 0")) { try GaussHermite(points: 0) }
    }
}
