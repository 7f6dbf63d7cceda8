// Tests of the quadratic IO-RNN model (paper §3.2, MATH.md §4): the simulator against a
// direct scalar loop, divergence detection, parameter checks, the §3.5 norm report and
// generator, and the population moments against exact finite differences (Stein's
// identity turns E[y ⊗ score] into E[∇ y], and these derivatives are constants), including
// the refutation of the paper's fourth-order display (errata 3).

import Foundation
import Testing
@testable import SpectralRNN

/// The model by a direct scalar loop (independent of the library's simulator): y (n×dy) of one window x (n×dx).
func directOutputs(a1: Tensor, u: Tensor, a2: Tensor, x: Tensor) -> [[Double]] {
    let dh = a1.shape[0], dx = a1.shape[1], dy = a2.shape[1], n = x.shape[0]
    var h = [Double](repeating: 0, count: dh)
    var ys: [[Double]] = []
    for t in 0..<n {
        var next = [Double](repeating: 0, count: dh)
        for j in 0..<dh {
            var z = 0.0
            for i in 0..<dx { z += a1[j, i] * x[t, i] }
            for k in 0..<dh { z += u[j, k] * h[k] }
            next[j] = z * z
        }
        h = next
        ys.append((0..<dy).map { o in (0..<dh).reduce(0.0) { $0 + a2[$1, o] * h[$1] } })
    }
    return ys
}

/// A fixed small model (dx = 3, dh = 2, dy = 3, the sizes of MATH.md §4's checks).
func smallModel(noise: Double = 0.1) throws -> IORNN {
    try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: noise,
                              spectralNormU: 0.4, rowNormA1: 0.7, seed: 11)
}

@Suite struct IORNNTests {
    // MARK: Simulation

    @Test func simulatorMatchesADirectLoop() throws {
        let model = try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 5, noise: 0.1,
                                              spectralNormU: 0.45, rowNormA1: 0.6, seed: 3)
        let process = try fixedProcess4()
        var rng = RandomStream(seed: 5, purpose: "iornn test windows")
        let windows = (0..<6).map { _ in process.sampleWindow(length: 9, using: &rng) }
        // One window, noiseless: only the order of additions differs from the direct loop.
        for x in windows {
            let y = try model.outputs(for: x)
            let direct = directOutputs(a1: model.a1, u: model.u, a2: model.a2, x: x)
            let reference = Tensor(rows: direct)
            #expect(y.relativeError(to: reference) < 1e-14)
        }
        // The batch form equals the single-window form bit for bit.
        let batch = Tensor(shape: [6, 9, 4], storage: windows.flatMap(\.storage))
        let yBatch = try model.outputs(forWindows: batch)
        for (w, x) in windows.enumerated() {
            let single = try model.outputs(for: x)
            #expect(Array(yBatch.storage[(w * 45)..<((w + 1) * 45)]) == single.storage)
        }
        // With a stream, the noise is noise · N(0, 1) drawn in row-major order.
        var stream: RandomStream? = RandomStream(seed: 9, purpose: "iornn test noise")
        let noisy = try model.outputs(for: windows[0], noise: &stream)
        var replay = RandomStream(seed: 9, purpose: "iornn test noise")
        let expected = try model.outputs(for: windows[0]).storage.map { $0 + 0.1 * replay.gaussian() }
        #expect(noisy.storage == expected)
    }

    /// Many windows run four at a time in vector lanes (`run4`); each lane is the single-window
    /// recurrence operation for operation: the same bits for σ = z² and a cubic, vector and
    /// scalar output, window counts that leave remainders; and a window that diverges among
    /// four is reported as the single-window run reports it.
    @Test func fourWindowLanesEqualTheSingleWindowRun() throws {
        let process = try fixedProcess4()
        let models = [try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 5, noise: 0,
                                       spectralNormU: 0.45, rowNormA1: 0.6, seed: 3),
                      try IORNN(a1: Tensor(rows: [[0.3, -0.2, 0.1, 0.4], [0.1, 0.2, -0.3, 0.2]]),
                                u: Tensor(rows: [[0.2, -0.1], [0.05, 0.25]]), a2: Tensor(rows: [[0.7], [-0.4]]),
                                coefficients: [0.1, 0.3, 0, 1])]
        for model in models {
            for count in [37, 8, 9] {
                var rng = RandomStream(seed: 7, purpose: "iornn lanes test windows")
                let windows = (0..<count).map { _ in process.sampleWindow(length: 6, using: &rng) }
                let batch = Tensor(shape: [count, 6, 4], storage: windows.flatMap(\.storage))
                let y = try model.outputs(forWindows: batch)
                let per = 6 * model.outputDimension
                for (w, x) in windows.enumerated() {
                    #expect(Array(y.storage[(w * per)..<((w + 1) * per)]) == (try model.outputs(for: x)).storage)
                }
            }
        }
        // Window 13 of 40 (a lane of a four-window group) diverges; the others stay bounded.
        let model = try IORNN(a1: Tensor(rows: [[1, 0, 0], [0, 1, 0]]), u: Tensor(rows: [[5, 0], [0, 5]]),
                              a2: Tensor(rows: [[1, 0], [0, 1]]), noise: 0)
        var batch = Tensor(shape: [40, 20, 3], repeating: 0.01)
        for t in 0..<20 { batch[13, t, 0] = 0.3; batch[13, t, 1] = 0.3 }
        let alone = Tensor(shape: [20, 3]) { i in i[1] < 2 ? 0.3 : 0.01 }
        var single = ""
        do { _ = try model.outputs(for: alone) } catch { single = "\(error)" }
        #expect(single.hasPrefix("IO-RNN diverged in window 0 at t = "))
        do {
            _ = try model.outputs(forWindows: batch)
            Issue.record("window 13 did not diverge")
        } catch {
            #expect("\(error)" == single.replacingOccurrences(of: "in window 0 at", with: "in window 13 at"))
        }
    }

    @Test func simulateIsDeterministicAndUsesThePerWindowStreams() throws {
        let model = try IORNN.random(inputDimension: 4, hidden: 3, outputDimension: 5, noise: 0.2,
                                              spectralNormU: 0.3, rowNormA1: 0.5, seed: 4)
        let process = try fixedProcess4()
        let (x, y) = try model.simulate(process: process, windows: 13, length: 7, seed: 21, purpose: "sim test")
        #expect(x.shape == [13, 7, 4] && y.shape == [13, 7, 5])
        let again = try model.simulate(process: process, windows: 13, length: 7, seed: 21, purpose: "sim test")
        #expect(again.x == x && again.y == y)
        for w in [0, 6, 12] {
            var inputs = RandomStream(seed: 21, purpose: "sim test inputs", index: UInt64(w))
            let window = process.sampleWindow(length: 7, using: &inputs)
            #expect(Tensor(vector: Array(x.storage[(w * 28)..<((w + 1) * 28)])).relativeError(to: Tensor(vector: window.storage)) < 1e-14)
            var noise = RandomStream(seed: 21, purpose: "sim test output noise", index: UInt64(w))
            let direct = directOutputs(a1: model.a1, u: model.u, a2: model.a2, x: window).flatMap { $0 }
            let expected = Tensor(vector: direct.map { $0 + 0.2 * noise.gaussian() })
            #expect(Tensor(vector: Array(y.storage[(w * 35)..<((w + 1) * 35)])).relativeError(to: expected) < 1e-14)
        }
        // A different purpose gives different inputs.
        let other = try model.simulate(process: process, windows: 13, length: 7, seed: 21, purpose: "other")
        #expect(other.x != x)
    }

    @Test func divergenceIsDetectedWithTheFailedCondition() throws {
        // ‖U‖ = 5 and inputs of norm ~1: z grows like 5 h, h like z², so it explodes within a few steps.
        let a1 = Tensor(rows: [[1, 0, 0], [0, 1, 0]])
        let u = Tensor(rows: [[5, 0], [0, 5]])
        let a2 = Tensor(rows: [[1, 0], [0, 1]])
        let model = try IORNN(a1: a1, u: u, a2: a2, noise: 0)
        let x = Tensor(shape: [3, 20, 3], repeating: 0.3)
        var batch = x
        batch[1, 0, 0] = 1.0     // window 1 starts higher, so it diverges first in time but not first in order
        do {
            _ = try model.outputs(forWindows: batch)
            Issue.record("a recurrence with ‖U‖ = 5 did not diverge")
        } catch let error as ModelError {
            let message = error.description
            #expect(message.hasPrefix("IO-RNN diverged in window 0 at t = "))
            #expect(message.contains("‖U‖ = 5,"))
            #expect(message.contains("max ‖A1 x_t‖ = 0.424"))   // ‖(0.3, 0.3)‖
            #expect(message.contains("4‖U‖·max‖A1 x_t‖ ≤ 1"))
            #expect(!message.contains("\n"))
        }
        // The states just before the failure are below the threshold and the next is above it.
        let window = Tensor(shape: [20, 3], repeating: 0.3)
        var h = [0.0, 0.0]
        var failedAt = 0
        for t in 1...20 {
            h = h.map { (0.3 + 5 * $0) * (0.3 + 5 * $0) }
            if (h[0] * h[0] + h[1] * h[1]).squareRoot() > IORNN.divergenceThreshold { failedAt = t; break }
        }
        #expect(failedAt > 1)
        #expect(throws: ModelError.self) { try model.outputs(for: window) }
        do { _ = try model.outputs(for: window) } catch let error as ModelError {
            #expect(error.description.contains("at t = \(failedAt) of 20"))
        }
        // Non-finite inputs are refused before running.
        var bad = window
        bad[2, 1] = .nan
        #expect(throws: ModelError("IO-RNN: the input x has NaN or ∞ entries")) { try model.outputs(for: bad) }
        // simulate reports divergence too.
        let process = try AR1Process.scalar(phi: 0.5)
        let scalarModel = try IORNN(a1: Tensor(rows: [[2]]), u: Tensor(rows: [[5]]), a2: Tensor(rows: [[1]]))
        #expect(throws: ModelError.self) {
            try scalarModel.simulate(process: process, windows: 4, length: 50, seed: 1, purpose: "diverge")
        }
    }

    @Test func initRejectsBadParametersWithOneLine() throws {
        let a1 = Tensor(rows: [[1, 0, 0], [0, 1, 0]]), u = Tensor.zeros([2, 2]), a2 = Tensor(rows: [[1, 0], [0, 1]])
        var nanU = u
        nanU[0, 1] = .nan
        let cases: [() throws -> IORNN] = [
            { try IORNN(a1: a1, u: Tensor.zeros([3, 3]), a2: a2) },
            { try IORNN(a1: a1, u: u, a2: Tensor.zeros([3, 2])) },
            { try IORNN(a1: Tensor(vector: [1, 2]), u: u, a2: a2) },
            { try IORNN(a1: a1, u: nanU, a2: a2) },
            { try IORNN(a1: a1, u: u, a2: a2, noise: -0.1) },
            { try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0.1, spectralNormU: 0.6, seed: 1) },
        ]
        for make in cases {
            do {
                _ = try make()
                Issue.record("bad parameters accepted")
            } catch let error as ModelError {
                #expect(!error.description.contains("\n") && error.description.hasPrefix("IO-RNN: "))
            }
        }
        let model = try IORNN(a1: a1, u: u, a2: a2)
        #expect(throws: ModelError.self) { try model.outputs(for: Tensor.zeros([4, 2])) }
        #expect(throws: ModelError.self) { try model.outputs(forWindows: Tensor.zeros([4, 3])) }
    }

    // MARK: The §3.5 norm assumptions

    @Test func generatorEnforcesItsNormsAndRank() throws {
        let model = try IORNN.random(inputDimension: 5, hidden: 3, outputDimension: 4, noise: 0.1,
                                              spectralNormU: 0.35, rowNormA1: 0.6, maximumCondition: 4, seed: 8)
        #expect(abs(try spectralNorm(model.u) - 0.35) < 1e-14)
        for j in 0..<3 {
            #expect(abs(Tensor(vector: model.a1.row(j)).frobeniusNorm - 0.6) < 1e-15)
            #expect(abs(Tensor(vector: model.a2.row(j)).frobeniusNorm - 1) < 1e-15)
        }
        let report = try model.stabilityReport(inputBound: 1)
        #expect(report.conditionNumberA1 <= 4 && report.conditionNumberA2 <= 4)
        #expect(report.description.contains("cond(A1)"))
        // dh > dx: no full row rank, reported as ∞.
        let wide = try IORNN.random(inputDimension: 2, hidden: 3, outputDimension: 4, noise: 0, seed: 8)
        #expect(try wide.stabilityReport(inputBound: 1).conditionNumberA1 == .infinity)
        // Same seed, same model.
        let again = try IORNN.random(inputDimension: 5, hidden: 3, outputDimension: 4, noise: 0.1,
                                              spectralNormU: 0.35, rowNormA1: 0.6, maximumCondition: 4, seed: 8)
        #expect(again.a1 == model.a1 && again.u == model.u && again.a2 == model.a2)
    }

    @Test func stateBoundOfTheReportHoldsOnSimulatedWindows() throws {
        // 4‖U‖r ≤ 1 with r = ‖A1‖ρ and ρ = the largest ‖x_t‖ actually seen ⇒ every ‖h_t‖ ≤ stateBound.
        let model = try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0,
                                              spectralNormU: 0.5, rowNormA1: 0.07, seed: 2)
        let process = try AR1Process(phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
        let (x, _) = try model.simulate(process: process, windows: 200, length: 20, seed: 4, purpose: "bound")
        var rho = 0.0
        for k in 0..<(200 * 20) {
            rho = max(rho, Tensor(vector: Array(x.storage[(k * 3)..<((k + 1) * 3)])).frobeniusNorm)
        }
        let report = try model.stabilityReport(inputBound: rho)
        #expect(report.boundedStateConditionHolds)
        var largest = 0.0
        for w in 0..<200 {
            let window = Tensor(shape: [20, 3], storage: Array(x.storage[(w * 60)..<((w + 1) * 60)]))
            let h = try model.states(for: window)
            for t in 0..<20 { largest = max(largest, Tensor(vector: h.row(t)).frobeniusNorm) }
        }
        #expect(largest <= report.stateBound)
        #expect(largest > 0.05 * report.stateBound)   // the bound is not vacuous here
        // The paper's (well-typed) condition gives ‖h_t‖ ≤ 1; the high-probability ρ of the process is larger than the one seen.
        let rhoProcess = try IORNN.inputBound(for: process, exceedanceProbability: 1e-3 / 4000)
        #expect(rhoProcess > rho)
        let paper = try model.stabilityReport(inputBound: rhoProcess)
        #expect(paper.paperAssumptionsHold == (paper.preactivationBound + 0.5 <= 1))
        // With the process: ρ for all 4000 steps at 99%, and the typical scale √tr(A1 Γ A1ᵀ) (Γ = 4/3 I, rows of norm 0.07).
        let withProcess = try model.stabilityReport(for: process, steps: 4000)
        #expect(abs(withProcess.inputBound - (try IORNN.inputBound(for: process, exceedanceProbability: 0.01 / 4000))) < 1e-12)
        #expect(abs(withProcess.typicalPreactivation! - (4.0 / 3 * 2 * 0.07 * 0.07).squareRoot()) < 1e-12)
        #expect(withProcess.description.contains("4‖U‖·rms = "))
        // The suggested row norm reproduces the defaults' scale (0.5 for ‖U‖ = 0.2, dx = 4, dh = 3, Φ = 0.5 I, Σ = I).
        let unit4 = try AR1Process(phi: Tensor.identity(4) * 0.5, sigma: Tensor.identity(4))
        #expect(abs(try IORNN.suggestedRowNormA1(for: unit4, hidden: 3, spectralNormU: 0.2) - 0.5) < 1e-12)
        // A model far outside: the report says so.
        let loud = try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0,
                                             spectralNormU: 0.5, rowNormA1: 2, seed: 2)
        let loudReport = try loud.stabilityReport(inputBound: rhoProcess)
        #expect(!loudReport.paperAssumptionsHold && !loudReport.boundedStateConditionHolds && loudReport.stateBound == .infinity)
    }

    // MARK: Population moments = exact derivatives

    /// y_t (0-based t) of the window x with the listed (time, coordinate, offset) perturbations, by the direct loop.
    static func output(_ model: IORNN, _ x: Tensor, t: Int, _ shifts: [(Int, Int, Double)]) -> [Double] {
        var xs = x
        for (time, i, delta) in shifts { xs[time, i] += delta }
        return directOutputs(a1: model.a1, u: model.u, a2: model.a2, x: xs)[t]
    }

    /// The mixed derivative ∂_{v1} ⋯ ∂_{vm} y_t by the product of central differences with step h
    /// (exact, up to rounding, when no variable's error term survives — true for these polynomials).
    static func centralDerivative(_ model: IORNN, _ x: Tensor, t: Int, _ variables: [(Int, Int)], h: Double) -> [Double] {
        let m = variables.count
        var total = [Double](repeating: 0, count: model.outputDimension)
        for signs in 0..<(1 << m) {
            var shifts: [(Int, Int, Double)] = []
            var sign = 1.0
            for (k, v) in variables.enumerated() {
                let s: Double = (signs >> k) & 1 == 0 ? 1 : -1
                sign *= s
                shifts.append((v.0, v.1, s * h))
            }
            let y = output(model, x, t: t, shifts)
            for o in 0..<total.count { total[o] += sign * y[o] }
        }
        return total.map { $0 / pow(2 * h, Double(m)) }
    }

    @Test func secondOrderMomentIsTheExactHessianInXt() throws {
        // y_t is quadratic in x_t, so the central second difference is exact: ∇²_{x_t} y_t = 2 Σ b_j⊗a_j⊗a_j at any input and t.
        let model = try smallModel()
        var rng = RandomStream(seed: 1, purpose: "fd window")
        let process = try AR1Process(phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
        let window = process.sampleWindow(length: 6, using: &rng)
        let exact = model.populationSecondOrderMoment()
        for t in [0, 3, 5] {
            var fd = Tensor.zeros([3, 3, 3])
            for a in 0..<3 {
                for b in 0..<3 {
                    let d = Self.centralDerivative(model, window, t: t, [(t, a), (t, b)], h: 0.5)
                    for o in 0..<3 { fd[o, a, b] = d[o] }
                }
            }
            #expect(fd.relativeError(to: exact) < 1e-12, "t = \(t)")
        }
    }

    @Test func mixedMomentIsTheExactMixedDerivative() throws {
        // ∂_{x_t} y_t is linear in h_{t−1}, which is quadratic in x_{t−1}: the product of central
        // differences is exact, and equals 4 Σ_j b_j ⊗ a_j ⊗ M_j (MATH.md §4c) at any input, t ≥ 2 (1-based).
        let model = try smallModel()
        let process = try AR1Process(phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
        var rng = RandomStream(seed: 2, purpose: "fd window")
        let window = process.sampleWindow(length: 6, using: &rng)
        let exact = model.populationMixedMoment()
        #expect(exact.shape == [3, 3, 3, 3])
        for t in [1, 4] {
            var fd = Tensor.zeros([3, 3, 3, 3])
            for a in 0..<3 { for b in 0..<3 { for c in 0..<3 {
                let d = Self.centralDerivative(model, window, t: t, [(t, a), (t - 1, b), (t - 1, c)], h: 0.5)
                for o in 0..<3 { fd[o, a, b, c] = d[o] }
            } } }
            #expect(fd.relativeError(to: exact) < 1e-12, "t = \(t)")
        }
        // At the first step (t = 0 here) there is no x_{t−1}: the mixed moment starts at t = 1 (0-based).
    }

    @Test func papersFourthOrderDisplayIsWrong() throws {
        // Errata 3 (MATH.md §4b): ∇⁴_{x_{t−1}} y_t = 8 Σ_j b_j ⊗ (M_j⊗M_j + two other pairings), a symmetric
        // tensor, not the paper's Σ_j b_j ⊗ vec(M_j) ⊗ vec(M_j). y_t is quartic in x_{t−1}: differences are exact.
        let model = try smallModel()
        let process = try AR1Process(phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
        var rng = RandomStream(seed: 3, purpose: "fd window")
        let window = process.sampleWindow(length: 4, using: &rng)
        let t = 2, d = 3, dh = 2
        var fd = Tensor.zeros([3, d, d, d, d])
        for a in 0..<d { for b in 0..<d { for c in 0..<d { for e in 0..<d {
            let v = Self.centralDerivative(model, window, t: t, [(t - 1, a), (t - 1, b), (t - 1, c), (t - 1, e)], h: 0.5)
            for o in 0..<3 { fd[o, a, b, c, e] = v[o] }
        } } } }
        let m = model.mixingMatrices()   // rows vec(M_j)
        func mj(_ j: Int, _ p: Int, _ q: Int) -> Double { m[j, p * d + q] }
        let trueForm = Tensor(shape: [3, d, d, d, d]) { i in
            (0..<dh).reduce(0.0) { s, j in
                s + 8 * model.a2[j, i[0]] * (mj(j, i[1], i[2]) * mj(j, i[3], i[4]) + mj(j, i[1], i[3]) * mj(j, i[2], i[4])
                                            + mj(j, i[1], i[4]) * mj(j, i[2], i[3]))
            }
        }
        let paperForm = Tensor(shape: [3, d, d, d, d]) { i in
            (0..<dh).reduce(0.0) { s, j in s + model.a2[j, i[0]] * mj(j, i[1], i[2]) * mj(j, i[3], i[4]) }
        }
        #expect(fd.relativeError(to: trueForm) < 1e-11)
        // Not even up to a constant: the best multiple of the paper's form leaves a large residual.
        let c = dot(fd.storage, paperForm.storage) / dot(paperForm.storage, paperForm.storage)
        #expect((paperForm * c).relativeError(to: fd) > 0.3)
        // Reading U off the paper's form: it predicts T(β_j, α_k⊗α_k, α_k⊗α_k) = U_jk², the truth gives 24 U_jk².
        let alpha = try pseudoInverse(model.a1), beta = try pseudoInverse(model.a2)
        for j in 0..<dh {
            for k in 0..<dh {
                let ak = alpha.column(k)
                let value = fd.contracted(withVectors: [beta.column(j), ak, ak, ak, ak])
                let u = model.u[j, k]
                #expect(abs(value - 24 * u * u) < 1e-10 * max(1, 24 * u * u))
                #expect(abs(value.squareRoot() - abs(u)) > 3 * abs(u))   // the paper's reading: |U| off by √24, sign lost
            }
        }
    }
}

/// A stable non-diagonal 4-dimensional AR(1) for the simulator tests.
func fixedProcess4() throws -> AR1Process {
    let phi = Tensor(rows: [[0.5, 0.1, 0, 0], [0, 0.4, 0.1, 0], [0, 0, 0.3, 0.2], [0.1, 0, 0, 0.5]])
    let sigma = Tensor(rows: [[1, 0.2, 0, 0], [0.2, 1, 0.1, 0], [0, 0.1, 0.8, 0], [0, 0, 0, 1.2]])
    return try AR1Process(phi: phi, sigma: sigma)
}
