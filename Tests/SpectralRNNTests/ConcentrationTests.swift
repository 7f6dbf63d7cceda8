// Tests of the Concentration/ concern (paper §3.5, MATH.md §8): the bound formulas against
// hand-computed values, the replication engine against a direct loop and across thread
// counts, the Lipschitz probe on functions whose constants are known exactly, the measured
// window norms, and the exact input Jacobians of Lemma 10 against finite differences.

import Foundation
import Testing
@testable import SpectralRNN

@Suite("Concentration bounds (paper §3.5)")
struct ConcentrationBoundTests {
    let norms = RNNNorms(a1: 0.5, u: 0.2, a2: 1.25, degree: 2)

    @Test("Lemma 8: eq. 19, the remark's form and the Hamming constant against hand-computed values")
    func lemma8() throws {
        // (1/n)·1.25·0.5/(1 − 0.4)·S2 + 1.25·S3 with n = 10, S2 = 6, S3 = 5: 0.625/0.6·0.6 + 6.25.
        #expect(abs(Lemma8.printed(norms: norms, steps: 10, scores: (6, 5)) - (0.625 / 0.6 * 0.6 + 6.25)) < 1e-14)
        // (20/n)·0.625/0.6 + 16·1.25 at n = 4.
        #expect(abs(Lemma8.remark(norms: norms, steps: 4) - (5 * 0.625 / 0.6 + 20)) < 1e-13)
        // c_H = (2r/n)[F₂ · l‖A2‖‖A1‖/(1 − l‖U‖) + 2ρ²‖A2‖/r], r = 1, n = 8, F₂ = 7, ρ = 2.25.
        let scores = ScoreBounds(secondOrder: 6, secondOrderFrobenius: 7, gradient: 5, firstOrder: 2.25)
        let expected = 2.0 / 8 * (7 * (2 * 1.25 * 0.5 / 0.6) + 2 * 2.25 * 2.25 * 1.25)
        #expect(abs(Lemma8.hamming(norms: norms, steps: 8, scores: scores) - expected) < 1e-13)
        // No bound when l‖U‖ ≥ 1.
        #expect(Lemma8.remark(norms: RNNNorms(a1: 0.5, u: 0.5, a2: 1, degree: 2), steps: 4) == .infinity)
        #expect(abs(norms.summedGradientBound - 2 * 1.25 * 0.5 / 0.6) < 1e-15)
        #expect(norms.recurrenceContracts && !RNNNorms(a1: 0.5, u: 0.5, a2: 1, degree: 2).recurrenceContracts)
    }

    @Test("Lemma 10's bound and Theorem 9's formula against hand-computed values")
    func lemma10AndTheorem9() {
        #expect(abs(lemma10GradientBound(lag: 0, norms: norms) - 2 * 1.25 * 0.5) < 1e-15)
        #expect(abs(lemma10GradientBound(lag: 3, norms: norms) - 16 * 1.25 * 0.5 * 0.008) < 1e-15)
        // G/(1 − θ)·(1 + 1/(√8 c n^{1.5}))·√(8c²n log((dy + dx²)/δ)) with G = 1.5, θ = 0.5, c = 2, n = 100, δ = 0.1, dy = 3, dx = 3.
        let ergodicity = GeometricErgodicity(g: 1.5, theta: 0.5)
        let expected = 3 * (1 + 1 / (8.0.squareRoot() * 2 * 1000)) * (8 * 4 * 100 * log(120.0)).squareRoot()
        let bound = theorem9Bound(lipschitz: 2, steps: 100, delta: 0.1, ergodicity: ergodicity, outputDimension: 3, inputDimension: 3)
        #expect(abs(bound - expected) < 1e-12 * expected)
    }

    @Test("score bounds on the unit ball: (1 + |φ|)² for ‖u_i‖, 2(1 + φ²)(1 + |φ|)² for ‖∇S₂‖, and the remark's printed forms")
    func scoreBounds() throws {
        let process = try AR1Process(phi: Tensor.identity(2) * 0.5, sigma: Tensor.identity(2))
        let bounds = try ScoreBounds.unitBall(process: process, length: 6)
        // Interior blocks P_ii = 1.25 I, P_{i,i±1} = −0.5 I: ρ = 2.25; ‖S₂‖₂ ≤ max(ρ² − 1.25, 1.25),
        // ‖S₂‖_F ≤ √(ρ⁴ − 2·1.25ρ² + 2·1.25²) (dx = 2), ‖∇S₂‖ ≤ 2·1.25·ρ.
        #expect(abs(bounds.firstOrder - 2.25) < 1e-14)
        #expect(abs(bounds.secondOrder - (2.25 * 2.25 - 1.25)) < 1e-13)
        let rho2: Double = 2.25 * 2.25
        let frobenius: Double = (rho2 * rho2 - 2 * 1.25 * rho2 + 2 * 1.25 * 1.25).squareRoot()
        #expect(abs(bounds.secondOrderFrobenius - frobenius) < 1e-13)
        #expect(abs(bounds.gradient - 2 * 1.25 * 2.25) < 1e-13)
        // Attained: u_i = ρ e₁ at the alternating window x_j = (−1)^j e₁ (interior i = 2).
        let x = Tensor(shape: [6, 2]) { i in i[1] == 0 ? (i[0] % 2 == 0 ? 1 : -1) : 0 }
        let precision = process.windowPrecision(length: 6)
        let u = precision.u(x, at: 2)
        let s = Tensor(shape: [2, 2]) { k in u[k[0]] * u[k[1]] - precision.block(2, 2)[k[0], k[1]] }
        #expect(abs(try spectralNorm(s) - bounds.secondOrder) < 1e-13)
        #expect(abs(s.frobeniusNorm - bounds.secondOrderFrobenius) < 1e-13)
        let measured = try WindowNorms(window: x, precision: precision)
        #expect(abs(measured.scoreGradient - bounds.gradient) < 1e-13)
        // The gradient's value is the real tensor S₃ − S₂ ⊗ S₁ contracted with û three times.
        let t3 = GaussianScore.atTime(2, order: 3, window: x, precision: precision)
            - Tensor.outer(GaussianScore.atTime(2, order: 2, window: x, precision: precision), GaussianScore.atTime(2, order: 1, window: x, precision: precision))
        let uHat = u.map { $0 / dot(u, u).squareRoot() }
        #expect(abs(abs(t3.contracted(withVectors: [uHat, uHat, uHat])) - bounds.gradient) < 1e-12)
        let printed = ScoreBounds.remarkAsPrinted(phi: -0.5)
        #expect(abs(printed.secondOrder - (5.0625 + 2.25)) < 1e-14 && abs(printed.gradient - 5.0625) < 1e-14)
        // At |φ| = 1 the printed and the true supremum of the gradient meet at 16.
        #expect(abs(ScoreBounds.remarkAsPrinted(phi: 1).gradient - 16) < 1e-14)
    }

    @Test("χ² distribution function: closed forms for 1, 2 and 3 degrees of freedom")
    func chiSquare() {
        for x in [0.1, 0.75, 2.0, 9.0] {
            #expect(abs(chiSquareCDF(x, degreesOfFreedom: 1) - erf((x / 2).squareRoot())) < 1e-14)
            #expect(abs(chiSquareCDF(x, degreesOfFreedom: 2) - (1 - exp(-x / 2))) < 1e-14)
            let three = erf((x / 2).squareRoot()) - (2 * x / Double.pi).squareRoot() * exp(-x / 2)
            #expect(abs(chiSquareCDF(x, degreesOfFreedom: 3) - three) < 1e-14)
        }
        #expect(chiSquareCDF(0, degreesOfFreedom: 3) == 0)
    }

    @Test("geometric ergodicity of a Gaussian AR(1): θ = |φ|, G from Pinsker's bound, G = 1 at φ = 0")
    func ergodicity() throws {
        let zero = try GeometricErgodicity.gaussianAR1(phi: 0, dimension: 3)
        #expect(zero.g == 1 && zero.theta == 0 && zero.factor == 1)
        // φ = 0.9, d = 1, r = 1: every tv(t)/θ^{t−1} (t ≥ 2) is below 1 (t = 2: 0.557; the limit √(1 − φ²)/2 = 0.218), so G = 1 from t = 1.
        let slow = try GeometricErgodicity.gaussianAR1(phi: 0.9, dimension: 1)
        #expect(slow.theta == 0.9 && slow.g == 1 && abs(slow.factor - 10) < 1e-12)
        // φ = 0.5, d = 1, starts in the ball of radius 4: the supremum is at t = 2, q = φ² = 1/4:
        // KL = ½[−q − log(1 − q) + q r²(1 − φ²)] = ½[−0.25 − log 0.75 + 3], tv = √(KL/2), G = tv/φ = 1.7429…
        // (t = 3 gives 1.7344, and the limit is r√(1 − φ²)/2 = 1.7321).
        let kl = 0.5 * (-0.25 - log(0.75) + 3)
        let wide = try GeometricErgodicity.gaussianAR1(phi: 0.5, dimension: 1, startRadius: 4)
        #expect(abs(wide.g - (kl / 2).squareRoot() / 0.5) < 1e-12)
        #expect(abs(wide.g - 1.7429) < 1e-4)
        #expect(throws: ModelError.self) { try GeometricErgodicity.gaussianAR1(phi: 1, dimension: 1) }
    }
}

@Suite("Replications, the Lipschitz probe and Lemma 10's Jacobians")
struct ConcentrationEngineTests {
    let process: AR1Process
    let model: IORNN

    init() throws {
        process = try AR1Process(phi: Tensor.identity(2) * 0.5, sigma: Tensor.identity(2))
        model = try IORNN(a1: Tensor(rows: [[0.4, 0.1], [-0.2, 0.3]]), u: Tensor(rows: [[0.1, -0.05], [0.05, 0.15]]),
                          a2: Tensor(rows: [[1, 0.2, -0.1], [0.3, -0.8, 0.5]]))
    }

    /// The deviation of one replication by a direct loop: simulate, then (1/(N n)) Σ y_t vec(u_t u_tᵀ − P_tt)ᵀ − E.
    func directDeviation(windows: Int, length n: Int, purpose: String) throws -> Double {
        let data = try model.simulate(process: process, windows: windows, length: n, seed: 7, purpose: purpose)
        let precision = process.windowPrecision(length: n)
        var sum = Tensor.zeros([3, 4])
        for w in 0..<windows {
            let x = Tensor(shape: [n, 2]) { i in data.x[w, i[0], i[1]] }
            for t in 0..<n {
                let u = precision.u(x, at: t)
                let p = precision.block(t, t)
                for o in 0..<3 {
                    for a in 0..<2 { for b in 0..<2 { sum[o, a * 2 + b] += data.y[w, t, o] * (u[a] * u[b] - p[a, b]) } }
                }
            }
        }
        let exact = model.populationSecondOrderMoment()
        return try spectralNorm(sum / Double(windows * n) - Tensor(shape: [3, 4], storage: exact.storage))
    }

    @Test("the replication engine's deviations equal a direct loop's, for chains and for windows")
    func againstDirectLoop() throws {
        for (windows, length) in [(1, 50), (20, 5)] {
            let result = try replicateSecondOrderMoment(model: model, process: process, exact: model.populationSecondOrderMoment(),
                                                        windows: windows, length: length, replications: 3, seed: 7, purpose: "test")
            #expect(result.deviations.count == 3)
            for r in 0..<3 {
                let direct = try directDeviation(windows: windows, length: length, purpose: "test replication \(r)")
                #expect(abs(result.deviations[r] - direct) <= 1e-12 * direct)
            }
            #expect(Set(result.deviations).count == 3)  // independent streams: three different replications
        }
    }

    @Test("the replication engine gives the same bits for 1, 2 and 3 threads")
    func threadCounts() throws {
        let runs = try [1, 2, 3].map { threads in
            try replicateSecondOrderMoment(model: model, process: process, exact: model.populationSecondOrderMoment(),
                                           windows: 4, length: 30, replications: 7, seed: 11, purpose: "threads", threads: threads).deviations
        }
        #expect(runs[0] == runs[1] && runs[1] == runs[2])
    }

    @Test("quantiles of the replications (type 7) and the fraction above a bound")
    func quantiles() {
        let r = MomentReplications(windows: 1, steps: 1, deviations: [4, 1, 3, 2, 5])
        #expect(r.median == 3 && r.quantile(0) == 1 && r.quantile(1) == 5)
        #expect(abs(r.quantile(0.9) - 4.6) < 1e-15)
        #expect(r.fractionAbove(3.5) == 0.4)
    }

    @Test("bad designs are errors, not traps")
    func badInput() {
        #expect(throws: WindowMomentsError.self) {
            try replicateSecondOrderMoment(model: model, process: process, exact: model.populationSecondOrderMoment(),
                                           windows: 1, length: 5, replications: 0, seed: 1, purpose: "x")
        }
        #expect(throws: WindowMomentsError.self) {
            try replicateSecondOrderMoment(model: model, process: process, exact: Tensor.zeros([2, 2, 2]),
                                           windows: 1, length: 5, replications: 1, seed: 1, purpose: "x")
        }
        #expect(throws: ModelError.self) {
            try replicateSecondOrderMoment(model: model, process: process, exact: model.populationSecondOrderMoment(),
                                           windows: 0, length: 5, replications: 1, seed: 1, purpose: "x")
        }
    }

    @Test("the Euclidean probe finds the known constant ‖w‖‖M‖₂ of Φ(x) = (w · vec x) M, never more, and refutes a smaller claim")
    func euclideanProbe() throws {
        var lcg = LCG(seed: 3)
        let w = lcg.tensor([5, 2]), m = lcg.matrix(3, 4)
        let exact = w.frobeniusNorm * (try spectralNorm(m))
        let phi: (Tensor) throws -> Tensor = { x in m * dot(w.storage, x.storage) }
        let starts = (0..<3).map { _ in lcg.tensor([5, 2]) * 0.3 }
        let probe = try LipschitzProbe.euclidean(phi, starts: starts, seed: 1, purpose: "linear")
        #expect(probe.largest <= exact * (1 + 1e-9))
        #expect(probe.guidedPairs >= exact * (1 - 1e-6))
        #expect(probe.randomPairs < probe.guidedPairs)  // random directions see only part of it
        #expect(probe.largest > 0.9 * exact)  // a claimed constant 0.9·exact is refuted by the probe
    }

    @Test("the Hamming probe finds the known constant 1/n of Φ(x) = (1/n) Σ_k x_k x_kᵀ on the unit ball, never more")
    func hammingProbe() throws {
        let n = 6
        let phi: (Tensor) throws -> Tensor = { x in
            var s = Tensor.zeros([3, 3])
            for k in 0..<n { s += Tensor.outer(Tensor(vector: x.row(k)), Tensor(vector: x.row(k))) }
            return s / Double(n)
        }
        var lcg = LCG(seed: 5)
        let starts = (0..<2).map { _ in
            let x = lcg.tensor([n, 3])
            return Tensor(shape: [n, 3]) { i in x[i[0], i[1]] / Tensor(vector: x.row(i[0])).frobeniusNorm }
        }
        let probe = try LipschitzProbe.hamming(phi, starts: starts, seed: 2, purpose: "outer")
        #expect(probe.largest <= (1 + 1e-12) / Double(n))
        #expect(probe.guidedPairs >= (1 - 1e-12) / Double(n))
    }

    @Test("Lemma 10's Jacobians ∇_{x_i} y_t: the chain rule against central differences, no dependence on later inputs; the preactivations")
    func inputGradients() throws {
        var lcg = LCG(seed: 9)
        let x = lcg.tensor([6, 2])
        let t = 4
        let gradients = try model.inputGradients(window: x, at: t)
        #expect(gradients.count == t + 1)
        let h = 1e-5
        for i in 0...t {
            for c in 0..<2 {
                var plus = x, minus = x
                plus[i, c] += h
                minus[i, c] -= h
                let yp = try model.outputs(for: plus).row(t), ym = try model.outputs(for: minus).row(t)
                for o in 0..<3 {
                    let fd = (yp[o] - ym[o]) / (2 * h)
                    #expect(abs(fd - gradients[i][o, c]) < 1e-8)
                }
            }
        }
        // y_t does not see x_{t+1}: moving it leaves y_t unchanged, bit for bit.
        var later = x
        later[t + 1, 0] += 0.5
        #expect(try model.outputs(for: later).row(t) == model.outputs(for: x).row(t))
        #expect(throws: ModelError.self) { try model.inputGradients(window: x, at: 6) }
        // The preactivations z_t = A1 x_t + U h_{t−1}, with h_t = z_t^{∘2}.
        let z = try model.preactivations(for: x), states = try model.states(for: x)
        for s in 0..<6 { for j in 0..<2 { #expect(abs(z[s, j] * z[s, j] - states[s, j]) <= 1e-15 * max(1, states[s, j])) } }
    }

    @Test("window norms: max ‖x_i‖, ‖S₂‖₂ by eigenvalues, 2‖P_ii‖‖u_i‖, isotropic and not")
    func windowNorms() throws {
        var lcg = LCG(seed: 4)
        let x = lcg.tensor([5, 2])
        // dx = 1: S₂ = u² − p has the one eigenvalue u² − p.
        let scalar = try AR1Process.scalar(phi: 0.5)
        let x1 = Tensor(shape: [4, 1], storage: [0.1, -0.2, 0.05, 0.3])
        let p1 = scalar.windowPrecision(length: 4)
        let one = try WindowNorms(window: x1, precision: p1)
        let expected = (0..<4).map { i in abs(p1.u(x1, at: i)[0] * p1.u(x1, at: i)[0] - p1.block(i, i)[0, 0]) }.max()!
        #expect(abs(one.secondOrderScore - expected) < 1e-15)
        for p in [process, try AR1Process(phi: Tensor(rows: [[0.5, 0.1], [0, 0.3]]), sigma: Tensor(rows: [[1, 0.2], [0.2, 0.5]]))] {
            let precision = p.windowPrecision(length: 5)
            let measured = try WindowNorms(window: x, precision: precision)
            var input = 0.0, s2 = 0.0, gradient = 0.0
            for i in 0..<5 {
                input = max(input, Tensor(vector: x.row(i)).frobeniusNorm)
                let u = precision.u(x, at: i), block = precision.block(i, i)
                let s = Tensor(shape: [2, 2]) { k in u[k[0]] * u[k[1]] - block[k[0], k[1]] }
                s2 = max(s2, try spectralNorm(s))
                gradient = max(gradient, 2 * (try spectralNorm(block)) * dot(u, u).squareRoot())
            }
            #expect(measured.input == input)
            #expect(abs(measured.secondOrderScore - s2) < 1e-13 * s2)
            #expect(abs(measured.scoreGradient - gradient) < 1e-13 * gradient)
        }
    }
}
