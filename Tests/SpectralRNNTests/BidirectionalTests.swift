// Tests of the bidirectional IO-RNN and GLOREE-B (paper §3.4, Algorithm 2, Theorem 7;
// MATH.md §6): the reversed AR(1) and the reversed source, the simulator against a direct
// loop, the three identities exactly, recovery from exact moments, the assignment and its
// refusals.

import Foundation
import Testing
@testable import SpectralRNN

@Suite struct BidirectionalTests {
    static let process = try! AR1Process(phi: Tensor(rows: [[0.5, 0.2, 0], [-0.1, 0.3, 0.1], [0, 0.2, 0.4]]),
                                         sigma: Tensor(rows: [[1, 0.2, 0], [0.2, 0.8, 0.1], [0, 0.1, 1.2]]))

    private func model(dh: Int = 2, dz: Int = 1, dx: Int = 3, dy: Int = 3, seed: UInt64 = 4, noise: Double = 0.1) throws -> BidirectionalIORNN {
        try BidirectionalIORNN.random(inputDimension: dx, forward: dh, backward: dz, outputDimension: dy, noise: noise,
                                      spectralNormU: 0.2, rowNormA1: 0.4, maximumCondition: 3, seed: seed)
    }

    /// The reversed chain's window covariance is the original's with its blocks reversed, exactly
    /// (to rounding); the original's own blocks in forward order are not (a wrong claim fails).
    @Test func reversedProcessHasTheReversedWindowLaw() throws {
        let p = Self.process, r = try p.timeReversed()
        let n = 4, d = 3
        let forward = p.windowCovariance(length: n), backward = r.windowCovariance(length: n)
        let flipped = Tensor(shape: [n * d, n * d]) { i in
            forward[(n - 1 - i[0] / d) * d + i[0] % d, (n - 1 - i[1] / d) * d + i[1] % d]
        }
        #expect(backward.relativeError(to: flipped) <= 1e-13)
        #expect(backward.relativeError(to: forward) > 1e-2)
        #expect(r.gamma.relativeError(to: p.gamma) <= 1e-13)
    }

    /// The t+1 projected moment through the reversed view and 03's kernel equals the general
    /// engine's `S_{t,t+1,t+1}` projections on the same windows — whole windows and time chunks.
    @Test func reversedKernelEqualsTheGeneralEngineAhead() throws {
        let m = try model()
        let (x, y) = try m.simulate(process: Self.process, windows: 40, length: 7, seed: 3, purpose: "reversal test")
        var rng = RandomStream(seed: 9, purpose: "directions")
        let alpha = rng.gaussianTensor([3, 2]), beta = rng.gaussianTensor([3, 2])
        var projections: [ScoreProjection] = []
        for j in 0..<2 {
            for k in 0..<2 {
                projections.append(ScoreProjection(output: beta.column(j), slots: [(0, alpha.column(j)), (1, alpha.column(k)), (1, alpha.column(k))]))
            }
        }
        let general = try estimateProjectedScoreMoment(TensorWindowSource(x: x, y: y), process: Self.process, projections: projections)
        let reversed = try estimateProjectedMixedMoment(TimeReversedSource(TensorWindowSource(x: x, y: y)),
                                                        process: Self.process.timeReversed(), alpha: alpha, beta: beta)
        #expect(reversed.count == 40 * 6 && general.count == 40 * 6)
        #expect(reversed.mean.reshaped([4]).relativeError(to: general.mean) <= 1e-12)
        // One long window in chunks of 5 steps (the margins swap ends under reversal).
        let long = try m.simulate(process: Self.process, windows: 1, length: 61, seed: 5, purpose: "reversal test")
        let chunked = TensorWindowSource(x: long.x, y: long.y, stepsPerBatch: 5)
        let g1 = try estimateProjectedScoreMoment(TensorWindowSource(x: long.x, y: long.y), process: Self.process, projections: projections)
        let r1 = try estimateProjectedMixedMoment(TimeReversedSource(chunked), process: Self.process.timeReversed(), alpha: alpha, beta: beta)
        #expect(r1.count == 60)
        #expect(r1.mean.reshaped([4]).relativeError(to: g1.mean) <= 1e-12)
        // Without the reversal the kernel estimates the t−1 moment, a different quantity.
        let behind = try estimateProjectedMixedMoment(TensorWindowSource(x: x, y: y), process: Self.process, alpha: alpha, beta: beta)
        #expect(behind.mean.reshaped([4]).relativeError(to: general.mean) > 0.05)
    }

    /// The simulator against a direct loop of eq. 18 (forward from h_0 = 0, backward from
    /// z_{n+1} = 0 at the window's end), and the noise convention of 03's simulator.
    @Test func simulatorMatchesADirectLoop() throws {
        let m = try model(noise: 0)
        let f = m.forward!, b = m.backward!
        let (x, y) = try m.simulate(process: Self.process, windows: 3, length: 5, seed: 1, purpose: "loop")
        for w in 0..<3 {
            var h = [Double](repeating: 0, count: 2), z = [[Double]](repeating: [0], count: 6)
            var hs: [[Double]] = []
            for t in 0..<5 {
                h = (0..<2).map { j in
                    let s = (0..<3).reduce(0.0) { $0 + f.a1[j, $1] * x[w, t, $1] } + (0..<2).reduce(0.0) { $0 + f.u[j, $1] * h[$1] }
                    return s * s
                }
                hs.append(h)
            }
            for t in stride(from: 4, through: 0, by: -1) {
                let s = (0..<3).reduce(0.0) { $0 + b.a1[0, $1] * x[w, t, $1] } + b.u[0, 0] * z[t + 1][0]
                z[t] = [s * s]
            }
            for t in 0..<5 {
                for o in 0..<3 {
                    let expected = hs[t][0] * f.a2[0, o] + hs[t][1] * f.a2[1, o] + z[t][0] * b.a2[0, o]
                    #expect(abs(y[w, t, o] - expected) <= 1e-13 * max(1, abs(expected)))
                }
            }
        }
        // Same inputs as 03's simulator with the same seed; the noise is the same draws.
        let forwardOnly = try f.withNoise(0.1)
        let noisy = try m.withNoise(0.1).simulate(process: Self.process, windows: 3, length: 5, seed: 1, purpose: "loop")
        let reference = try forwardOnly.simulate(process: Self.process, windows: 3, length: 5, seed: 1, purpose: "loop")
        #expect(noisy.x == x && reference.x == x)
        let noiseB = noisy.y - y, noiseF = reference.y - (try f.outputs(forWindows: x))
        #expect(noiseB.relativeError(to: noiseF) <= 1e-12)
        // Windows of a range are the same windows as in the whole set.
        let part = try m.simulate(process: Self.process, windowRange: 1..<3, length: 5, seed: 1, purpose: "loop")
        #expect(part.y.storage == Array(y.storage[15...]))
    }

    /// The three identities of MATH.md §6, exactly on a fixed window: the second-order
    /// derivative at every t is `2 Σ_j b_j ⊗ c_j ⊗ c_j` over all units; `∂_t ∂²_{t−1} y_t` has
    /// forward units only and `∂_t ∂²_{t+1} y_t` backward units only; wrong claims fail.
    @Test func theThreeIdentitiesHoldExactly() throws {
        let m = try model()
        var rng = RandomStream(seed: 2, purpose: "window")
        let x = Self.process.sampleWindow(length: 5, using: &rng)
        let leading = m.populationLeadingMoment(), past = m.populationPastMixedMoment(), future = m.populationFutureMixedMoment()
        for t in 0..<5 {
            #expect(m.exactDerivative(window: x, at: t, times: [t, t]).relativeError(to: leading) <= 1e-12)
        }
        #expect(leading.relativeError(to: m.forward!.populationLeadingMoment()) > 0.1)   // forward units alone: wrong
        for t in 1..<4 {
            #expect(m.exactDerivative(window: x, at: t, times: [t, t - 1, t - 1]).relativeError(to: past) <= 1e-12)
            #expect(m.exactDerivative(window: x, at: t, times: [t, t + 1, t + 1]).relativeError(to: future) <= 1e-12)
        }
        #expect(past.relativeError(to: future) > 0.5)
        #expect(future.maxAbs > 0.01 && past.maxAbs > 0.01)
        // At the window's end z_{n+1} = 0: nothing depends on a time after n.
        let edge = m.exactDerivative(window: x, at: 4, times: [4, 3, 3])
        #expect(edge.relativeError(to: past) <= 1e-12)
    }

    /// GLOREE-B on population moments recovers the model (after alignment within each side) to
    /// rounding, with the right dz found by the assignment; a given dz that contradicts it is refused.
    @Test func recoversFromExactMoments() throws {
        for (dh, dz) in [(2, 1), (1, 2), (2, 2)] {
            let m = try model(dh: dh, dz: dz, dx: 5, dy: 5, seed: UInt64(10 + dh * 3 + dz))
            let fit = try gloreeB(fromMoments: m.populationLeadingMoment(), past: m.populationPastMixedMoment(),
                                  future: m.populationFutureMixedMoment(), hidden: dh + dz)
            #expect(fit.model.forwardDimension == dh && fit.model.backwardDimension == dz)
            let errors = try BidirectionalParameterErrors(fit.model, truth: m)
            for e in [errors.a1, errors.u, errors.b1, errors.v, errors.a2] { #expect((e ?? 0) <= 1e-9, "\(errors)") }
            // The margin is bounded by the absent side's score (q = 0 gives z ≈ −4.5 for 2D − 1 = 5 entries).
            #expect(fit.assignment.smallestMargin > 7)
            #expect(throws: ModelError.self) {
                _ = try gloreeB(fromMoments: m.populationLeadingMoment(), past: m.populationPastMixedMoment(),
                                future: m.populationFutureMixedMoment(), hidden: dh + dz, backward: .given(dz + 1))
            }
        }
    }

    /// Feed-forward units (zero recurrent row and column) are reported as either-side; dz = 0
    /// reduces to 03's model and says so; a unit seen on both sides is refused.
    @Test func assignmentEdgeCases() throws {
        let m = try model(dh: 2, dz: 1, dx: 3, dy: 3)
        // Make forward unit 2 feed-forward.
        var u = m.forward!.u
        u[[0, 1]] = 0; u[[1, 0]] = 0; u[[1, 1]] = 0
        let ff = try BidirectionalIORNN(a1: m.forward!.a1, u: u, b1: m.backward!.a1, v: m.backward!.u, a2: m.a2)
        let fit = try gloreeB(fromMoments: ff.populationLeadingMoment(), past: ff.populationPastMixedMoment(),
                              future: ff.populationFutureMixedMoment(), hidden: 3, backward: .given(1))
        #expect(fit.assignment.eitherComponents.count == 1)
        #expect(fit.notes.contains { $0.contains("feed-forward") })
        #expect(try predictionErrorOnFreshWindows(fit.model, ff) <= 1e-9)
        // dz = 0.
        let forwardOnly = try BidirectionalIORNN(a1: m.forward!.a1, u: m.forward!.u, b1: nil, v: nil, a2: m.forward!.a2)
        let f0 = try gloreeB(fromMoments: forwardOnly.populationLeadingMoment(), past: forwardOnly.populationPastMixedMoment(),
                             future: forwardOnly.populationFutureMixedMoment(), hidden: 2)
        #expect(f0.model.backwardDimension == 0 && f0.notes.contains { $0.contains("walkthrough 03") })
        // Both sides significant: a D×D projection with a unit present on both.
        let p = Tensor(rows: [[1, 0.5], [0.5, 1]]), se = Tensor(shape: [2, 2], repeating: 0.01)
        let a = assignUnits(past: p, pastStandardError: se, future: p, futureStandardError: se)
        #expect(a.sides == [.both, .both])
        #expect(throws: ModelError.self) { _ = try resolveSides(a, backward: .auto) }
        // A side between the thresholds: undetermined, refused with the scores named.
        let weak = assignUnits(past: Tensor(rows: [[0.041, 0], [0, 1]]), pastStandardError: se,
                               future: Tensor(rows: [[0.02, 0], [0, 0]]), futureStandardError: se)
        #expect(weak.sides[0] == .undetermined)
        #expect(weak.sides[1] == .forward)
        do {
            _ = try resolveSides(weak, backward: .auto)
            Issue.record("an undetermined component was assigned")
        } catch let error as ModelError {
            #expect(error.message.contains("component 1") && error.message.contains("z⁻ ="))
        }
    }

    /// The Wilson–Hilferty score of χ²_k against known quantiles (χ²_7: 0.999 quantile 24.32, so
    /// z ≈ 3.09 up to the transform's own error; median 6.346, z ≈ 0), and on simulated null sums of 7 squared standard normals:
    /// the fraction at z ≥ 3.09 is 10⁻³ within 3σ of the binomial, and at most 2 of 2·10⁵ reach z ≥ 5
    /// (the normal tail expects 0.06).
    @Test func wilsonHilfertyScoreMatchesTheChiSquareLaw() {
        // The transform is an approximation: at k = 7 it is 0.024 high at the 0.999 quantile.
        #expect(abs(chiSquareNormalScore(24.32, degreesOfFreedom: 7) - 3.09) <= 0.04)
        #expect(abs(chiSquareNormalScore(6.346, degreesOfFreedom: 7)) <= 0.02)
        #expect(abs(chiSquareNormalScore(24.32, degreesOfFreedom: 7) - 2.0) > 0.5)   // a wrong quantile fails
        var rng = RandomStream(seed: 3, purpose: "chi-square null")
        let draws = 200_000
        var above3 = 0, above5 = 0
        for _ in 0..<draws {
            let q = (0..<7).reduce(0.0) { s, _ in let g = rng.gaussian(); return s + g * g }
            let z = chiSquareNormalScore(q, degreesOfFreedom: 7)
            if z >= 3.09 { above3 += 1 }
            if z >= 5 { above5 += 1 }
        }
        let expected = 1e-3 * Double(draws), sd = (expected * (1 - 1e-3)).squareRoot()
        #expect(abs(Double(above3) - expected) <= 3 * sd, "\(above3) of \(draws) at z ≥ 3.09")
        #expect(above5 <= 2)
    }

    private func predictionErrorOnFreshWindows(_ a: BidirectionalIORNN, _ b: BidirectionalIORNN) throws -> Double {
        var rng = RandomStream(seed: 77, purpose: "fresh")
        return try predictionError(a, b, on: Self.process.sampleWindows(50, length: 6, using: &rng))
    }

    /// From samples: GLOREE-B on 4·10⁴ windows of 8 steps finds the sides and predicts fresh
    /// windows within a few percent; the assignment refuses at 100 and 400 windows (duals too uncertain; no recurrence visible),
    /// and a negative or too large dz is refused.
    @Test func fromSamplesAndRefusals() throws {
        let m = try model(dh: 2, dz: 1, dx: 3, dy: 3, seed: 21, noise: 0.1)
        let source = try SimulatedWindowSource(model: m, process: Self.process, windows: 40_000, length: 8, seed: 6, purpose: "gloree-b test")
        let result = try gloreeB(source, process: Self.process, hidden: 3, backward: .auto, seed: 1)
        #expect(result.model.forwardDimension == 2 && result.model.backwardDimension == 1, "\(result.fit.assignment.sides)")
        #expect(result.projectedPast.count == 40_000 * 7 && result.projectedFuture.count == 40_000 * 7)
        #expect(result.secondMoment.count == 40_000 * 8)
        #expect(try predictionErrorOnFreshWindows(result.model, m) <= 0.05)
        for (windows, reason) in [(100, "too uncertain"), (400, "cannot separate")] {
            let small = try SimulatedWindowSource(model: m, process: Self.process, windows: windows, length: 8, seed: 6, purpose: "gloree-b test")
            do {
                let r = try gloreeB(small, process: Self.process, hidden: 3, seed: 1)
                Issue.record("assigned at \(windows) windows: \(r.fit.assignment.sides)")
            } catch let error as ModelError {
                #expect(error.message.contains(reason), "\(error)")
            }
        }
        for dz in [-1, 4] {
            #expect(throws: ModelError.self) { _ = try gloreeB(source, process: Self.process, hidden: 3, backward: .given(dz), seed: 1) }
        }
    }
}
