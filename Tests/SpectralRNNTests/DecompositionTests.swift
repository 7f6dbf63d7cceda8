// Tests of the tensor-decomposition toolbox (Decomposition/): the CP result type, the
// general eigendecomposition, the recovery metrics and Hungarian matching, whitening
// (Procedure 4) and its validity check, the robust tensor power method (Algorithm 6,
// Procedure 7), the whole whitened pipeline (Algorithm 3), simultaneous diagonalization,
// CP-ALS, and the errors for impossible requests. Noiseless random instances, fixed seeds.

import Foundation
import Testing
@testable import SpectralRNN

// MARK: - Instances

/// Random k×d factor rows with unit norm and condition number below `maxCondition` (redrawn until so).
fileprivate func wellConditionedFactor(_ k: Int, _ d: Int, _ random: inout RandomStream,
                                       maxCondition: Double = 25) -> Tensor {
    while true {
        let m = random.gaussianTensor([k, d])
        let s = try! singularValues(m)
        if s[0] / s[k - 1] < maxCondition {
            return DecompositionSupport.normalizedRows(m).0
        }
    }
}

/// k orthonormal vectors in R^d (rows), from the SVD of a Gaussian matrix.
fileprivate func orthonormalRows(_ k: Int, _ d: Int, _ random: inout RandomStream) -> Tensor {
    let f = try! svd(random.gaussianTensor([d, k]))
    return f.u.transposed()
}

/// Weights uniform in [1, 3], so positive and (almost surely) distinct.
fileprivate func positiveWeights(_ k: Int, _ random: inout RandomStream) -> [Double] {
    (0..<k).map { _ in 1 + 2 * random.uniform() }
}

/// A random partially symmetric instance Σ_j λ_j b_j ⊗ a_j ⊗ a_j.
fileprivate func partiallySymmetricInstance(dy: Int, dx: Int, k: Int, seed: UInt64) -> CPDecomposition {
    var random = RandomStream(seed: seed, purpose: "decomposition-test-instance")
    let b = wellConditionedFactor(k, dy, &random)
    let a = wellConditionedFactor(k, dx, &random)
    return CPDecomposition(weights: positiveWeights(k, &random), b: b, a: a)
}

/// A random symmetric instance Σ_j λ_j a_j^{⊗3}.
fileprivate func symmetricInstance(d: Int, k: Int, seed: UInt64) -> CPDecomposition {
    var random = RandomStream(seed: seed, purpose: "decomposition-test-instance")
    let a = wellConditionedFactor(k, d, &random)
    return CPDecomposition(weights: positiveWeights(k, &random), symmetric: a)
}

/// The |cosine| factor match of a recovered partially symmetric decomposition against the truth, mode by mode.
fileprivate func scores(_ estimated: CPDecomposition, _ truth: CPDecomposition) throws -> (b: Double, a: Double) {
    (try factorMatchScore(estimated: estimated.b, truth: truth.b),
     try factorMatchScore(estimated: estimated.a, truth: truth.a))
}

/// All permutations of 0..<n.
fileprivate func permutations(_ n: Int) -> [[Int]] {
    if n == 0 { return [[]] }
    return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
}

/// Runs `body` and returns the DecompositionError it throws (nil if it throws none or another error).
fileprivate func decompositionError(_ body: () throws -> Void) -> DecompositionError? {
    do {
        try body()
        return nil
    } catch let error as DecompositionError {
        return error
    } catch {
        return nil
    }
}

@Suite struct DecompositionTests {

    // MARK: - The result type

    @Suite struct ResultType {
        @Test func reconstructMatchesTheSumOfRankOneTerms() {
            var random = RandomStream(seed: 1, purpose: "reconstruct")
            let f = (0..<3).map { random.gaussianTensor([3, [4, 3, 5][$0]]) }
            let weights = [1.5, -0.5, 2.0]
            let general = CPDecomposition(weights: weights, factors: f)
            var sum = Tensor.zeros([4, 3, 5])
            for j in 0..<3 { sum += weights[j] * Tensor.outer([f[0].row(j), f[1].row(j), f[2].row(j)]) }
            #expect(general.reconstruct().relativeError(to: sum) < 1e-14)

            let partial = CPDecomposition(weights: weights, b: f[0], a: f[1])
            var sum2 = Tensor.zeros([4, 3, 3])
            for j in 0..<3 { sum2 += weights[j] * Tensor.outer([f[0].row(j), f[1].row(j), f[1].row(j)]) }
            #expect(partial.reconstruct().relativeError(to: sum2) < 1e-14)
            #expect(partial.shape == [4, 3, 3] && partial.rank == 3 && partial.form == .partiallySymmetric)
        }

        @Test(arguments: [CPForm.symmetric, .partiallySymmetric, .general])
        func normalizedKeepsTheTensorAndFixesSigns(form: CPForm) {
            var random = RandomStream(seed: 2, purpose: "normalize")
            let weights = [0.7, -2.0, 1.1, 0.2]
            let m = (0..<3).map { _ in random.gaussianTensor([4, 5]) }
            let c: CPDecomposition
            switch form {
            case .symmetric: c = CPDecomposition(weights: weights, symmetric: m[0])
            case .partiallySymmetric: c = CPDecomposition(weights: weights, b: m[0], a: m[1])
            case .general: c = CPDecomposition(weights: weights, factors: m)
            }
            let n = c.normalized()
            #expect(n.reconstruct().relativeError(to: c.reconstruct()) < 1e-13)
            #expect(n.form == form)
            for j in 0..<n.rank - 1 { #expect(abs(n.weights[j]) >= abs(n.weights[j + 1])) }
            for factor in n.factors {
                for j in 0..<n.rank {
                    let row = factor.row(j)
                    #expect(abs(DecompositionSupport.norm(row) - 1) < 1e-14)
                    let pivot = row.indices.max { abs(row[$0]) < abs(row[$1]) }!
                    #expect(row[pivot] > 0)
                }
            }
        }
    }

    // MARK: - General eigendecomposition

    @Suite struct GeneralEigenvalues {
        @Test func recoversARealNonSymmetricSpectrum() throws {
            var random = RandomStream(seed: 3, purpose: "eigen")
            let s = random.gaussianTensor([5, 5]) + 3 * Tensor.identity(5)
            let values = [4.0, -3.0, 2.0, 0.5, -0.25]
            let a = matmul(matmul(s, Tensor.diagonal(values)), try inverse(s))
            let e = try eigen(a)
            #expect(zip(e.values, values).allSatisfy { abs($0 - $1) < 1e-10 })
            for j in 0..<5 {
                let v = e.vectors.column(j)
                let av = matvec(a, v)
                let residual = DecompositionSupport.norm(zip(av, v).map { $0 - e.values[j] * $1 })
                #expect(residual < 1e-10)
                #expect(abs(DecompositionSupport.norm(v) - 1) < 1e-12)
            }
        }

        @Test func complexPairIsAClearError() {
            let rotation = Tensor(rows: [[0, -1, 0], [1, 0, 0], [0, 0, 2]])
            let error = decompositionError { _ = try eigen(rotation) }
            #expect(error?.kind == .complexEigenvalues)
            #expect(error?.description.contains("complex eigenvalue pair") == true)
        }
    }

    // MARK: - Matching and metrics

    @Suite struct Metrics {
        @Test func hungarianIsOptimalAgainstBruteForce() throws {
            var random = RandomStream(seed: 4, purpose: "hungarian")
            for n in 1...6 {
                for _ in 0..<5 {
                    let s = random.gaussianTensor([n, n])
                    let assignment = try hungarianAssignment(maximizing: s)
                    #expect(assignment.sorted() == Array(0..<n))
                    let value = (0..<n).reduce(0.0) { $0 + s[$1, assignment[$1]] }
                    let optimum = permutations(n).map { p in (0..<n).reduce(0.0) { $0 + s[$1, p[$1]] } }.max()!
                    #expect(abs(value - optimum) < 1e-12)
                }
            }
        }

        @Test func hungarianBeatsGreedyWhereGreedyFails() throws {
            // True rows e1, e2; estimated rows whose |cosines| are [[0.62, 0.55], [0.55, 0.06]]:
            // greedy grabs 0.62 and is left with 0.06 (mean 0.34); the optimum pairs crosswise (mean 0.55).
            let truth = Tensor(rows: [[1, 0, 0], [0, 1, 0]])
            let estimated = Tensor(rows: [[0.62, 0.55, 0.56], [0.55, 0.06, 0.833]])
            let match = try factorMatch(estimated: estimated, truth: truth)
            #expect(match.permutation == [1, 0])
            let norms = [DecompositionSupport.norm(estimated.row(0)), DecompositionSupport.norm(estimated.row(1))]
            let cosines = Tensor(shape: [2, 2]) { i in estimated[i[1], i[0]] / norms[i[1]] }
            let greedy = greedyAssignment(maximizing: cosines)
            #expect(greedy == [0, 1])
            let greedyScore = (cosines[0, 0] + cosines[1, 1]) / 2
            #expect(abs(match.score - (cosines[0, 1] + cosines[1, 0]) / 2) < 1e-12)
            #expect(match.score > greedyScore + 0.2)
        }

        @Test func scoreIsInvariantToPermutationSignAndScale() throws {
            var random = RandomStream(seed: 5, purpose: "metric")
            let truth = random.gaussianTensor([6, 8])
            let permutation = [3, 0, 5, 1, 4, 2]       // estimated row i is true row permutation[i]
            let scalesAndSigns = [2.0, -0.5, 7.0, -1.0, 0.01, 3.0]
            let estimated = Tensor(shape: [6, 8]) { i in scalesAndSigns[i[0]] * truth[permutation[i[0]], i[1]] }
            let match = try factorMatch(estimated: estimated, truth: truth)
            #expect(abs(match.score - 1) < 1e-13)
            #expect(abs(try factorMatchScore(estimated: estimated, truth: truth) - 1) < 1e-13)
            for i in 0..<6 { #expect(permutation[match.permutation[i]] == i) }
            #expect(match.rowErrors.allSatisfy { $0 < 1e-7 })
            #expect(match.relativeError < 1e-7)

            // A wrong factor: one row replaced by a random vector.
            var wrong = estimated
            let replacement = random.gaussians(8)
            for j in 0..<8 { wrong[2, j] = replacement[j] }
            let bad = try factorMatch(estimated: wrong, truth: truth)
            #expect(bad.score < 0.95)
            #expect(bad.rowErrors.max()! > 0.3)
        }

        @Test func jointMatchingUsesOnePermutationForAllModes() throws {
            let truth = partiallySymmetricInstance(dy: 5, dx: 4, k: 3, seed: 6)
            let order = [2, 0, 1]
            let shuffled = CPDecomposition(
                weights: order.map { truth.weights[$0] },
                b: Tensor(shape: [3, 5]) { i in -truth.b[order[i[0]], i[1]] },
                a: Tensor(shape: [3, 4]) { i in 3 * truth.a[order[i[0]], i[1]] })
            let match = try factorMatch(estimated: shuffled, truth: truth)
            #expect(abs(match.score - 1) < 1e-13)
            #expect(match.modes.count == 3 && match.modes.allSatisfy { abs($0.score - 1) < 1e-13 })
            for i in 0..<3 { #expect(order[match.permutation[i]] == i) }
        }
    }

    // MARK: - Whitening (Procedure 4, 5)

    @Suite struct WhiteningProcedure {
        @Test func validWhiteningGivesOrthonormalComponents() throws {
            for (dy, dx, k, seed) in [(7, 6, 4, UInt64(10)), (8, 8, 8, 11)] {
                let truth = partiallySymmetricInstance(dy: dy, dx: dx, k: k, seed: seed)
                let t = truth.reconstruct()
                let theta = try whiteningDirection(t, rank: k)
                let w = (0..<k).map { truth.weights[$0] * dot(theta, truth.b.row($0)) }
                #expect(w.allSatisfy { $0 > 0 })
                let m2 = try whiteningSecondMoment(t, theta: theta)
                let condition = try whiteningCondition(secondMoment: m2, rank: k)
                #expect(condition.isValid && condition.nonPositiveCount == 0)
                let wh = try whitening(secondMoment: m2, rank: k)
                let wtmw = matmul(matmul(wh.matrix, m2, transposeA: true), wh.matrix)
                #expect(wtmw.relativeError(to: .identity(k)) < 1e-9)
                // v_j = √w_j Wᵀ a_j are orthonormal.
                let v = Tensor(shape: [k, k]) { i in
                    w[i[0]].squareRoot() * dot(wh.matrix.column(i[1]), truth.a.row(i[0]))
                }
                #expect(matmul(v, v, transposeB: true).relativeError(to: .identity(k)) < 1e-8)
                // Procedure 5 inverts it: U diag(γ)^{1/2} v_j = √w_j a_j.
                let back = try unwhiten(v, with: wh)
                let expected = Tensor(shape: [k, dx]) { i in w[i[0]].squareRoot() * truth.a[i[0], i[1]] }
                #expect(back.relativeError(to: expected) < 1e-8)
            }
        }

        @Test func mixedSignWeightsAreReportedInvalid() throws {
            let truth = symmetricInstance(d: 6, k: 4, seed: 12)
            let t = truth.reconstruct()
            // θ with θ·a_j = ±1, so w_j = λ_j (θ·a_j) has two negative entries.
            let signs = [1.0, -1.0, 1.0, -1.0]
            let theta = try leastSquares(truth.a, signs)
            let m2 = try whiteningSecondMoment(t, theta: theta)
            let condition = try whiteningCondition(secondMoment: m2, rank: 4)
            #expect(!condition.isValid)
            #expect(condition.nonPositiveCount == 2)
            #expect(condition.numericalRank == 4)
            let error = decompositionError { _ = try whitening(secondMoment: m2, rank: 4) }
            #expect(error?.kind == .whiteningInvalid)
            #expect(error?.message.contains("mixed signs") == true)
            // Flipping the signs to all positive makes it valid.
            let good = try whiteningSecondMoment(t, theta: try leastSquares(truth.a, [1.0, 1, 1, 1]))
            #expect(try whiteningCondition(secondMoment: good, rank: 4).isValid)
        }

        @Test func whiteningSymmetricTensorIsOrthogonallyDecomposable() throws {
            let truth = symmetricInstance(d: 7, k: 5, seed: 13)
            let t = truth.reconstruct()
            let wh = try whitening(secondMoment: try whiteningSecondMoment(t, theta: try whiteningDirection(t, rank: 5)), rank: 5)
            let tw = try whiten(t, with: wh)
            // Rebuild it from v_j = √w_j Wᵀ a_j and μ_j = λ_j w_j^{-3/2}: w_j follows from ‖Wᵀ a_j‖ = 1/√w_j.
            var rebuilt = Tensor.zeros([5, 5, 5])
            for j in 0..<5 {
                let whitened = matvec(wh.matrix, truth.a.row(j), transpose: true)
                let n = DecompositionSupport.norm(whitened)            // = w_j^{-1/2}
                rebuilt += (truth.weights[j] * n * n * n) * Tensor.outerPower(whitened.map { $0 / n }, 3)
            }
            #expect(tw.relativeError(to: rebuilt) < 1e-9)
        }
    }

    // MARK: - Robust tensor power method (Algorithm 6, Procedure 7)

    @Suite struct PowerMethod {
        @Test(arguments: [(8, 8, UInt64(20)), (10, 6, 21), (5, 1, 22)])
        func recoversOrthogonalSymmetricTensors(d: Int, k: Int, seed: UInt64) throws {
            var random = RandomStream(seed: seed, purpose: "orthogonal")
            let v = orthonormalRows(k, d, &random)
            let weights = (0..<k).map { 1.0 + 0.37 * Double(($0 * 5) % k) }   // distinct, positive, shuffled
            let t = CPDecomposition(weights: weights, symmetric: v).reconstruct()
            var power = RandomStream(seed: seed, purpose: "power")
            let result = try robustTensorPowerMethod(t, rank: k, random: &power)
            #expect(result.eigenpairs.count == k)
            var used = Set<Int>()
            for pair in result.eigenpairs {
                let cosines = (0..<k).map { abs(dot(pair.vector, v.row($0))) }
                let j = cosines.indices.max { cosines[$0] < cosines[$1] }!
                used.insert(j)
                #expect(abs(1 - cosines[j]) < 1e-13)
                #expect(abs(pair.value - weights[j]) < 1e-12 * weights.max()!)
                #expect(pair.converged)
            }
            #expect(used.count == k)
            #expect(result.residual.frobeniusNorm < 1e-12 * t.frobeniusNorm)
            // Found by decreasing eigenvalue.
            let values = result.eigenpairs.map(\.value)
            #expect(values == values.sorted(by: >))
        }

        @Test func isDeterministicGivenTheStream() throws {
            var random = RandomStream(seed: 23, purpose: "noise")
            let t = random.gaussianTensor([4, 4, 4]).symmetrized()
            let options = TensorPowerOptions(requireConvergence: false)
            var first = RandomStream(seed: 7, purpose: "power")
            var second = RandomStream(seed: 7, purpose: "power")
            let a = try robustTensorPowerMethod(t, rank: 3, options: options, random: &first)
            let b = try robustTensorPowerMethod(t, rank: 3, options: options, random: &second)
            #expect(a == b)
        }

        @Test func negativeEigenvaluesAreHandledBySignFlip() throws {
            var random = RandomStream(seed: 24, purpose: "orthogonal")
            let v = orthonormalRows(4, 4, &random)
            let weights = [3.0, -2.0, 1.5, -0.5]
            let t = CPDecomposition(weights: weights, symmetric: v).reconstruct()
            var power = RandomStream(seed: 24, purpose: "power")
            let result = try robustTensorPowerMethod(t, rank: 4, random: &power)
            #expect(result.eigenpairs.allSatisfy { $0.value > 0 })
            #expect(result.residual.frobeniusNorm < 1e-12 * t.frobeniusNorm)
        }
    }

    // MARK: - The whitened tensor power method (Algorithm 3)

    @Suite struct Pipeline {
        @Test(arguments: [(6, 4, UInt64(30)), (10, 10, 31), (9, 7, 32), (3, 1, 33)])
        func recoversSymmetricTensors(d: Int, k: Int, seed: UInt64) throws {
            let truth = symmetricInstance(d: d, k: k, seed: seed)
            var random = RandomStream(seed: seed, purpose: "pipeline")
            let result = try whitenedTensorPowerMethod(truth.reconstruct(), rank: k, form: .symmetric, random: &random)
            #expect(try factorMatchScore(estimated: result.decomposition.a, truth: truth.a) > 0.9999)
            #expect(result.decomposition.relativeError(to: truth.reconstruct()) < 1e-6)
        }

        @Test(arguments: [(10, 10, 10, UInt64(40)), (7, 9, 5, 41), (10, 6, 6, 42), (4, 8, 3, 43), (2, 2, 1, 44)])
        func recoversPartiallySymmetricTensors(dy: Int, dx: Int, k: Int, seed: UInt64) throws {
            let truth = partiallySymmetricInstance(dy: dy, dx: dx, k: k, seed: seed)
            var random = RandomStream(seed: seed, purpose: "pipeline")
            let t = truth.reconstruct()
            let result = try whitenedTensorPowerMethod(t, rank: k, form: .partiallySymmetric, random: &random)
            let s = try scores(result.decomposition, truth)
            #expect(s.a > 0.9999 && s.b > 0.9999)
            #expect(result.decomposition.relativeError(to: t) < 1e-6)
            #expect(result.whitening.condition.isValid)
        }

        @Test func usesTheFirstOrderMomentAsSymmetrizer() throws {
            // The GLM's D = E[y ⊗ S_1] = Σ_j μ′_j b_j a_jᵀ (eq. 12), with μ′_j of both signs.
            let truth = partiallySymmetricInstance(dy: 8, dx: 7, k: 5, seed: 45)
            let muPrime = [0.8, -0.3, 1.2, 0.5, -0.9]
            let d = Tensor(shape: [8, 7]) { i in
                (0..<5).reduce(0.0) { $0 + muPrime[$1] * truth.b[$1, i[0]] * truth.a[$1, i[1]] }
            }
            var random = RandomStream(seed: 45, purpose: "pipeline")
            let options = WhitenedTensorPowerOptions(symmetrizer: d)
            let result = try whitenedTensorPowerMethod(truth.reconstruct(), rank: 5, form: .partiallySymmetric,
                                                       options: options, random: &random)
            let s = try scores(result.decomposition, truth)
            #expect(s.a > 0.9999 && s.b > 0.9999)
            #expect(result.symmetrizer == d)
        }

        @Test func mixedSignSecondMomentIsRefused() throws {
            let truth = partiallySymmetricInstance(dy: 6, dx: 6, k: 4, seed: 46)
            let theta = try leastSquares(truth.b, [1.0, -1, 1, 1])   // θ·b_j = ±1
            var random = RandomStream(seed: 46, purpose: "pipeline")
            let error = decompositionError {
                _ = try whitenedTensorPowerMethod(truth.reconstruct(), rank: 4, form: .partiallySymmetric,
                                                  options: WhitenedTensorPowerOptions(theta: theta), random: &random)
            }
            #expect(error?.kind == .whiteningInvalid)
        }
    }

    // MARK: - Simultaneous diagonalization

    @Suite struct Jennrich {
        @Test(arguments: [(10, 10, 10, UInt64(50)), (5, 8, 5, 51), (9, 6, 4, 52), (3, 3, 1, 53), (10, 7, 7, 54)])
        func recoversPartiallySymmetricTensors(dy: Int, dx: Int, k: Int, seed: UInt64) throws {
            let truth = partiallySymmetricInstance(dy: dy, dx: dx, k: k, seed: seed)
            var random = RandomStream(seed: seed, purpose: "jennrich")
            let t = truth.reconstruct()
            let result = try simultaneousDiagonalization(t, rank: k, random: &random)
            let s = try scores(result.decomposition, truth)
            #expect(s.a > 0.9999 && s.b > 0.9999)
            #expect(result.decomposition.relativeError(to: t) < 1e-8)
            // The weights come back too (up to the sign convention of `normalized`).
            let match = try factorMatch(estimated: result.decomposition, truth: truth)
            for i in 0..<k {
                #expect(abs(abs(result.decomposition.weights[match.permutation[i]]) - truth.weights[i]) < 1e-8)
            }
        }

        @Test func worksOnSymmetricTensors() throws {
            let truth = symmetricInstance(d: 6, k: 6, seed: 55)
            var random = RandomStream(seed: 55, purpose: "jennrich")
            let result = try simultaneousDiagonalization(truth.reconstruct(), rank: 6, random: &random)
            #expect(try factorMatchScore(estimated: result.decomposition.a, truth: truth.a) > 0.9999)
            #expect(try factorMatchScore(estimated: result.decomposition.b, truth: truth.a) > 0.9999)
        }
    }

    // MARK: - CP-ALS

    @Suite struct ALS {
        @Test(arguments: [(6, 5, 4, UInt64(60)), (10, 10, 10, 61), (4, 7, 3, 62)])
        func recoversPartiallySymmetricTensors(dy: Int, dx: Int, k: Int, seed: UInt64) throws {
            let truth = partiallySymmetricInstance(dy: dy, dx: dx, k: k, seed: seed)
            var random = RandomStream(seed: seed, purpose: "als")
            let t = truth.reconstruct()
            let options = CPALSOptions(maxIterations: 3000, restarts: 3, requireConvergence: false)
            let result = try cpALS(t, rank: k, options: options, random: &random)
            let estimated = result.decomposition
            let match = try factorMatch(estimated: estimated.factors, truth: [truth.b, truth.a, truth.a])
            #expect(match.modes.allSatisfy { $0.score > 0.9999 })
            #expect(result.relativeError < 1e-6)
        }

        @Test func fitsAGeneralTensorExactly() throws {
            var random = RandomStream(seed: 63, purpose: "als-general")
            let factors = [wellConditionedFactor(3, 5, &random), wellConditionedFactor(3, 4, &random),
                           wellConditionedFactor(3, 6, &random)]
            let truth = CPDecomposition(weights: [3, 2, 1], factors: factors)
            let result = try cpALS(truth.reconstruct(), rank: 3, random: &random)
            #expect(result.converged)
            #expect(try factorMatch(estimated: result.decomposition, truth: truth).score > 0.9999)
        }
    }

    // MARK: - Errors

    @Suite struct Errors {
        @Test func impossibleRanksThrowTheRightMessage() throws {
            let truth = partiallySymmetricInstance(dy: 10, dx: 6, k: 3, seed: 70)
            let t = truth.reconstruct()
            var random = RandomStream(seed: 70, purpose: "errors")

            let tooBig = decompositionError { _ = try simultaneousDiagonalization(t, rank: 7, random: &random) }
            #expect(tooBig?.kind == .invalidRank)
            #expect(tooBig?.description == "simultaneousDiagonalization: rank k = 7 exceeds dx = 6: simultaneous diagonalization needs k ≤ min(dx, dy)")

            let zero = decompositionError { _ = try cpALS(t, rank: 0, random: &random) }
            #expect(zero?.kind == .invalidRank)
            #expect(zero?.message == "rank k = 0 must be positive")

            // Rank 3 tensor: M2 has rank 3, so asking whitening for 5 components is impossible.
            let m2 = try whiteningSecondMoment(t, theta: try whiteningDirection(t, rank: 3))
            let overRank = decompositionError { _ = try whitening(secondMoment: m2, rank: 5) }
            #expect(overRank?.kind == .invalidRank)
            #expect(overRank?.message.hasPrefix("rank k = 5 exceeds the numerical rank 3 of M2") == true)

            // Jennrich on a rank-3 tensor asked for 5 components: the unfoldings are rank-deficient.
            let deficient = decompositionError { _ = try simultaneousDiagonalization(t, rank: 5, random: &random) }
            #expect(deficient?.kind == .rankDeficient)

            let power = decompositionError {
                _ = try robustTensorPowerMethod(Tensor.zeros([3, 3, 3]), rank: 4, random: &random)
            }
            #expect(power?.kind == .invalidRank)
        }

        @Test func wrongShapesAndNaNAreRefused() {
            var random = RandomStream(seed: 71, purpose: "errors")
            let matrix = Tensor.identity(3)
            #expect(decompositionError { _ = try cpALS(matrix, rank: 1, random: &random) }?.kind == .wrongShape)
            let notPartiallySymmetric = Tensor.zeros([3, 4, 5])
            #expect(decompositionError { _ = try simultaneousDiagonalization(notPartiallySymmetric, rank: 1, random: &random) }?.kind == .wrongShape)
            #expect(decompositionError {
                _ = try whitenedTensorPowerMethod(Tensor.zeros([3, 4, 4]), rank: 1, form: .symmetric, random: &random)
            }?.kind == .wrongShape)
            #expect(decompositionError {
                _ = try whitenedTensorPowerMethod(Tensor.zeros([3, 3, 3]), rank: 1, form: .general, random: &random)
            }?.kind == .wrongShape)
            var nan = Tensor.zeros([3, 3, 3])
            nan[1, 2, 0] = .nan
            let nanError = decompositionError { _ = try simultaneousDiagonalization(nan, rank: 1, random: &random) }
            #expect(nanError?.kind == .nonFiniteInput)
            #expect(decompositionError { _ = try factorMatch(estimated: Tensor.zeros([2, 3]), truth: Tensor.zeros([3, 3])) }?.kind == .wrongShape)
            // Every message is one line.
            #expect(nanError.map { !$0.description.contains("\n") } == true)
        }

        @Test func nonConvergenceIsReported() throws {
            var random = RandomStream(seed: 72, purpose: "errors")
            let t = random.gaussianTensor([5, 5, 5]).symmetrized()
            let options = TensorPowerOptions(restarts: 1, iterations: 2, tolerance: 1e-300)
            let error = decompositionError { _ = try robustTensorPowerMethod(t, rank: 2, options: options, random: &random) }
            #expect(error?.kind == .noConvergence)
            let als = decompositionError {
                _ = try cpALS(t, rank: 4, options: CPALSOptions(maxIterations: 2), random: &random)
            }
            #expect(als?.kind == .noConvergence)
        }
    }
}

// MARK: - The refined decomposition (issue 13)

/// A partially symmetric instance plus noise symmetric in modes 2–3 of relative Frobenius size `epsilon`.
fileprivate func noisyInstance(dy: Int, dx: Int, k: Int, epsilon: Double, seed: UInt64) -> (truth: CPDecomposition, tensor: Tensor) {
    let truth = partiallySymmetricInstance(dy: dy, dx: dx, k: k, seed: seed)
    let exact = truth.reconstruct()
    var random = RandomStream(seed: seed, purpose: "decomposition-test-noise")
    let noise = DecompositionSupport.symmetrizedInLastModes(random.gaussianTensor(exact.shape))
    return (truth, exact + noise * (epsilon * exact.frobeniusNorm / noise.frobeniusNorm))
}

@Suite struct RefinedDecompositionTests {
    @Test func complexPairsBecomeTheirRealPlane() throws {
        let rotation = Tensor(rows: [[0, -1, 0], [1, 0, 0], [0, 0, 2]])
        let e = try eigen(rotation, realParts: true)
        #expect(e.complexPairs == 1)
        #expect(e.values == [2, 0, 0])
        // The two stand-ins span the rotation's plane: no third component, independent.
        let p = e.vectors.column(1), q = e.vectors.column(2)
        #expect(abs(p[2]) < 1e-15 && abs(q[2]) < 1e-15)
        #expect(abs(p[0] * q[1] - p[1] * q[0]) > 0.5)
        #expect(try eigen(Tensor.identity(2), realParts: true).complexPairs == 0)
    }

    /// dx = dy = 16, k = 12 with noise of relative size ε = 0.02: the best rank-12 fit leaves
    /// about ε √(1 − p/n) ≈ 0.91 ε (p = 372 free parameters, n ≈ 2176 distinct entries); the
    /// residual's own spread is about ε/√(2 · 1800) ≈ 1.7% of it, so "≤ ε" is a check at ≈ 5σ.
    /// Simultaneous diagonalization alone fails the same check on the same tensor, and a rank
    /// one too small stays above ε: both alternatives are rejected.
    @Test func reachesTheSamplingErrorWhereSimultaneousDiagonalizationDoesNot() throws {
        let epsilon = 0.02
        let (truth, t) = noisyInstance(dy: 16, dx: 16, k: 12, epsilon: epsilon, seed: 90)
        var random = RandomStream(seed: 90, purpose: "refined")
        let result = try refinedDecomposition(t, rank: 12, samplingError: epsilon, random: &random)
        #expect(result.residual <= epsilon && result.residual >= 0.8 * epsilon, "residual \(result.residual)")
        #expect(result.reachesSamplingError == true)
        #expect(try factorMatchScore(estimated: result.decomposition.a, truth: truth.a) >= 0.999)
        #expect(try factorMatchScore(estimated: result.decomposition.b, truth: truth.b) >= 0.999)
        // Every start is reported (the spectral ones reach ε, so the singular-vector start is not
        // tried); refinement never raises a start's residual; the winner is the smallest.
        #expect(result.starts.map(\.initializer) == [.simultaneousDiagonalization, .whitenedPowerMethod])
        for start in result.starts {
            if let initial = start.initialResidual, let refined = start.refinedResidual {
                #expect(refined <= initial)
            }
        }
        let refined = result.starts.compactMap(\.refinedResidual)
        #expect(!refined.isEmpty && result.residual == refined.min())
        #expect(result.starts.first { $0.initializer == result.winner }?.refinedResidual == result.residual)
        #expect(result.summary.contains("≤ sampling error"))

        var again = RandomStream(seed: 90, purpose: "refined")
        let alone = try simultaneousDiagonalization(t, rank: 12, random: &again).decomposition
        #expect(alone.relativeError(to: t) > epsilon, "simultaneous diagonalization alone: \(alone.relativeError(to: t))")

        var short = RandomStream(seed: 90, purpose: "refined")
        let tooFew = try refinedDecomposition(t, rank: 11, samplingError: epsilon, random: &short)
        #expect(tooFew.reachesSamplingError == false, "rank 11 residual \(tooFew.residual)")
        #expect(tooFew.summary.contains("> sampling error"))
        // Above the sampling error, CP-ALS's singular-vector start is tried too, and the kept fit
        // is still the smallest refined residual.
        #expect(tooFew.starts.map(\.initializer) == CPInitializer.allCases)
        let tooFewRefined = tooFew.starts.compactMap(\.refinedResidual)
        #expect(tooFewRefined.count == 3 && tooFew.residual == tooFewRefined.min())
        #expect(tooFew.summary.contains("from leading singular vectors"))
    }

    /// Without a sampling error there is no criterion to stop at, so all three starts are tried.
    @Test func withoutASamplingErrorEveryStartIsTried() throws {
        let (_, t) = noisyInstance(dy: 6, dx: 5, k: 3, epsilon: 0.01, seed: 96)
        var random = RandomStream(seed: 96, purpose: "refined")
        let result = try refinedDecomposition(t, rank: 3, random: &random)
        #expect(result.starts.map(\.initializer) == CPInitializer.allCases)
        #expect(result.residual == result.starts.compactMap(\.refinedResidual).min())
    }

    /// Exact input: refinement keeps the exact answer (residual at rounding level).
    @Test(arguments: [(10, 10, 10, UInt64(91)), (7, 9, 5, 92), (4, 8, 3, 93), (2, 2, 1, 94)])
    func exactTensorsStayExact(dy: Int, dx: Int, k: Int, seed: UInt64) throws {
        let truth = partiallySymmetricInstance(dy: dy, dx: dx, k: k, seed: seed)
        var random = RandomStream(seed: seed, purpose: "refined exact")
        let result = try refinedDecomposition(truth.reconstruct(), rank: k, random: &random)
        #expect(result.residual < 1e-9, "residual \(result.residual)")
        let s = try scores(result.decomposition, truth)
        #expect(s.a > 1 - 1e-9 && s.b > 1 - 1e-9)
        #expect(result.samplingError == nil && result.reachesSamplingError == nil)
    }

    @Test func impossibleRequestsAreRefused() {
        var random = RandomStream(seed: 95, purpose: "refined errors")
        let t = partiallySymmetricInstance(dy: 4, dx: 4, k: 2, seed: 95).reconstruct()
        #expect(decompositionError { _ = try refinedDecomposition(t, rank: 5, random: &random) }?.kind == .invalidRank)
        #expect(decompositionError { _ = try refinedDecomposition(t, rank: 0, random: &random) }?.kind == .invalidRank)
        #expect(decompositionError { _ = try refinedDecomposition(Tensor.zeros([4, 4, 4]), rank: 1, random: &random) }?.kind == .rankDeficient)
        var nan = t
        nan[0, 1, 1] = .nan
        #expect(decompositionError { _ = try refinedDecomposition(nan, rank: 1, random: &random) }?.kind == .nonFiniteInput)
        #expect(decompositionError {
            _ = try refinedDecomposition(t, rank: 1, options: RefinementOptions(draws: 0), random: &random)
        }?.kind == .wrongShape)
    }
}
