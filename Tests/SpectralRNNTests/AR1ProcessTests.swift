// Tests of the vector Gaussian AR(1) input (Models/AR1Process.swift) and its window precision
// (Score/WindowPrecision.swift) against MATH.md §2: the paper's J for scalar φ, the stationary
// covariance, P as the inverse of the window covariance, the normalization of the density
// (errata 1), sampling, and the errors a user's parameters can cause.

import Foundation
import Testing
@testable import SpectralRNN




/// The entry-wise absolute value of a matrix.
private func absolute(_ a: Tensor) -> Tensor { Tensor(shape: a.shape, storage: a.storage.map(abs)) }


/// `Φ^k`.
private func power(_ phi: Tensor, _ k: Int) -> Tensor {
    (0..<k).reduce(Tensor.identity(phi.shape[0])) { product, _ in matmul(product, phi) }
}

/// The log-density of N(μ, C) in dimension 2, from the explicit 2×2 inverse and determinant.
private func gaussianLogDensity2(_ x: [Double], mean: [Double], covariance c: Tensor) -> Double {
    let det = c[0, 0] * c[1, 1] - c[0, 1] * c[1, 0]
    let a = x[0] - mean[0], b = x[1] - mean[1]
    let quadratic = (c[1, 1] * a * a - (c[0, 1] + c[1, 0]) * a * b + c[0, 0] * b * b) / det
    return -0.5 * quadratic - 0.5 * log(det) - log(2 * Double.pi)
}

@Suite struct AR1ProcessTests {

    // MARK: The paper's scalar case

    /// For scalar φ and Σ = 1 the window precision is the paper's J (diagonal 1, 1+φ², …, 1+φ², 1;
    /// off-diagonal −φ) and det J = 1 − φ² (paper §2.5). J's entries are built from Γ⁻¹ + φ²,
    /// Γ = 1/(1−φ²) solved and inverted by LAPACK, so they carry a few roundings of numbers ≤ 2:
    /// absolute tolerance 10⁻¹⁴. The determinant: LU of J without growth (every pivot is 1 in
    /// exact arithmetic), so its relative error is a few ulps per row: 10⁻¹⁴·n.
    @Test(arguments: [0.6, -0.35, 0.9, 0])
    func scalarPrecisionIsThePapersJ(phi: Double) throws {
        let process = try AR1Process.scalar(phi: phi)
        for n in [2, 3, 6] {
            let j = Tensor(shape: [n, n]) { i in
                if i[0] == i[1] { return (i[0] == 0 || i[0] == n - 1) ? 1 : 1 + phi * phi }
                return abs(i[0] - i[1]) == 1 ? -phi : 0
            }
            let p = process.precision(length: n)
            #expect(p.shape == [n, n])
            #expect((p - j).maxAbs <= 1e-14, "φ = \(phi), n = \(n): ‖P − J‖_max = \((p - j).maxAbs)")
            let det = try determinant(p)
            #expect(abs(det - (1 - phi * phi)) <= 1e-14 * Double(n) * (1 - phi * phi), "det J = \(det)")
            let logDet = try logDeterminant(p)
            #expect(logDet.sign == 1)
            #expect(abs(logDet.logAbs - log(1 - phi * phi)) <= 1e-14 * Double(n))
        }
        // n = 1: the stationary precision 1 − φ².
        #expect(abs(process.precision(length: 1)[0, 0] - (1 - phi * phi)) <= 1e-15)
    }

    /// The noise variance s² scales the stationary variance: Γ = s²/(1 − φ²).
    @Test func scalarNoiseVarianceScalesGamma() throws {
        let process = try AR1Process.scalar(phi: 0.6, noiseVariance: 2.5)
        #expect(abs(process.gamma[0, 0] - 2.5 / 0.64) <= 1e-14 * (2.5 / 0.64))
        #expect(abs(process.innovationPrecision[0, 0] - 0.4) <= 1e-15)
        #expect(process.dimension == 1)
    }

    // MARK: The vector case

    /// Γ solves the Lyapunov equation Γ = ΦΓΦᵀ + Σ, is symmetric and positive definite, and the
    /// stored inverses are inverses. Tolerance: 10⁻¹² relative to |Φ||Γ||Φ|ᵀ + |Σ| entry-wise
    /// (an exact identity; the products carry O(dx) roundings).
    @Test(arguments: [1, 2, 3])
    func stationaryCovarianceSolvesLyapunov(dimension d: Int) throws {
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: lyapunov", index: UInt64(d))
        var processes = [try randomProcess(dimension: d, radius: 0.9, using: &rng)]
        if d == 2 { processes.append(try fixedProcess()) }
        for process in processes {
            let phi = process.phi, g = process.gamma, sigma = process.sigma
            let rhs = matmul(matmul(phi, g), phi, transposeB: true) + sigma
            let scale = matmul(matmul(absolute(phi), absolute(g)), absolute(phi), transposeB: true) + absolute(sigma)
            #expect(worstRatio(g, rhs, scale: scale) <= 1e-12)
            #expect(g == g.transposed())
            #expect((try? cholesky(g)) != nil)
            let identity = Tensor.identity(d)
            #expect(worstRatio(matmul(process.stationaryPrecision, g), identity,
                               scale: matmul(absolute(process.stationaryPrecision), absolute(g))) <= 1e-12)
            #expect(worstRatio(matmul(process.innovationPrecision, sigma), identity,
                               scale: matmul(absolute(process.innovationPrecision), absolute(sigma))) <= 1e-12)
        }
    }

    /// Γ by doubling equals the dense solve of (I − Φ⊗Φ) vec Γ = vec Σ (a second
    /// implementation, O(dx⁶), small dx only) to 10⁻¹² relative, also at ρ(Φ) = 0.999; and at
    /// dx = 60 it still solves the Lyapunov equation. The check can fail: Γ = Σ does not.
    @Test(arguments: [(2, 0.5), (4, 0.9), (5, 0.999)])
    func doublingEqualsTheDenseLyapunovSolve(dimension d: Int, radius: Double) throws {
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: dense lyapunov", index: UInt64(d))
        let process = try randomProcess(dimension: d, radius: radius, using: &rng)
        var kronecker = Tensor.identity(d * d)
        for i in 0..<d { for j in 0..<d { for k in 0..<d { for l in 0..<d {
            kronecker[i * d + j, k * d + l] -= process.phi[i, k] * process.phi[j, l]
        } } } }
        let dense = try solve(kronecker, process.sigma.storage)
        let gap = zip(dense, process.gamma.storage).map { abs($0 - $1) }.max()!
        let size = dense.map(abs).max()!
        #expect(gap <= 1e-12 * size)
        #expect(zip(dense, process.sigma.storage).map { abs($0 - $1) }.max()! > 1e-3 * size)
    }

    @Test func largeDimensionsSolveTheLyapunovEquation() throws {
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: large lyapunov")
        let process = try randomProcess(dimension: 60, radius: 0.95, using: &rng)
        let phi = process.phi, g = process.gamma
        let rhs = matmul(matmul(phi, g), phi, transposeB: true) + process.sigma
        let scale = matmul(matmul(absolute(phi), absolute(g)), absolute(phi), transposeB: true) + absolute(process.sigma)
        #expect(worstRatio(g, rhs, scale: scale) <= 1e-12)
    }

    /// `windowCovariance(length:)` has block (s, r) = Φ^{s−r}Γ for s ≥ r (powers built here by
    /// repeated products) and its transpose above; for scalar φ it is φ^{|s−t|}/(1 − φ²).
    @Test func windowCovarianceHasTheStationaryBlocks() throws {
        let process = try fixedProcess()
        let n = 4, d = 2
        let c = process.windowCovariance(length: n)
        #expect(c.shape == [n * d, n * d])
        #expect(c == c.transposed())
        for s in 0..<n {
            for r in 0...s {
                let block = matmul(power(process.phi, s - r), process.gamma)
                let scale = matmul(power(absolute(process.phi), s - r), absolute(process.gamma))
                for i in 0..<d { for j in 0..<d {
                    #expect(abs(c[s * d + i, r * d + j] - block[i, j]) <= gamma(4 * n * d) * scale[i, j])
                } }
            }
        }
        let phi = 0.6
        let scalar = try AR1Process.scalar(phi: phi).windowCovariance(length: 6)
        for s in 0..<6 { for t in 0..<6 {
            let expected = pow(phi, Double(abs(s - t))) / (1 - phi * phi)
            #expect(abs(scalar[s, t] - expected) <= 1e-14 * expected)
        } }
    }

    /// The Markov factorization log N(x₁; 0, Γ) + Σ log N(x_t; Φx_{t−1}, Σ) is the log-density
    /// computed through P (10⁻¹² of the sum of absolute parts, as for logDensity above), and its
    /// rounding bound covers the gap to the explicit 2×2 formulas; the local factors of x_t differ
    /// from the log-density by a constant in x_t, so moving x_t changes both by the same amount.
    @Test func factorizationIsTheLogDensity() throws {
        let process = try fixedProcess()
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: factorization")
        for n in [1, 2, 5] {
            let x = process.sampleWindow(length: n, using: &rng)
            let factored = try process.logDensityByFactorization(x)
            let bound = try process.factorizationRoundingBound(x)
            var explicit = gaussianLogDensity2(x.row(0), mean: [0, 0], covariance: process.gamma)
            var magnitude = abs(explicit)
            for t in 1..<n {
                let term = gaussianLogDensity2(x.row(t), mean: matvec(process.phi, x.row(t - 1)), covariance: process.sigma)
                explicit += term
                magnitude += abs(term)
            }
            #expect(abs(factored - (try process.logDensity(x))) <= 1e-12 * (magnitude + Double(2 * n) * log(2 * Double.pi)))
            #expect(abs(factored - explicit) <= bound + 1e-13 * magnitude, "n = \(n)")
            #expect(bound > 0 && bound < 1e-12 * (magnitude + 10))
            // The bound grows with |x|: at |x| + δ it is at least its value at x.
            let wider = Tensor(shape: x.shape, storage: x.storage.map { abs($0) + 0.1 })
            #expect(try process.factorizationRoundingBound(wider) >= bound)
            for t in 0..<n {
                var moved = x
                moved[t, 0] += 0.75
                moved[t, 1] -= 0.5
                let changeLocal = try process.logLocalFactors(moved, at: t) - (try process.logLocalFactors(x, at: t))
                let changeWhole = try process.logDensityByFactorization(moved) - factored
                #expect(abs(changeLocal - changeWhole) <= 1e-12 * (magnitude + 10), "n = \(n), t = \(t)")
            }
        }
        #expect(throws: ModelError("AR(1) local factors: time 3 outside a window of length 3")) {
            try process.logLocalFactors(process.sampleWindow(length: 3, using: &rng), at: 3)
        }
        #expect(throws: ModelError("AR(1) log-density: a window must be n×2, got shape [3]")) {
            try process.logDensityByFactorization(Tensor(vector: [1, 2, 3]))
        }
    }

    /// P is the inverse of the window covariance Cov(x_s, x_r) = Φ^{s−r}Γ (s ≥ r): P·C = C·P = I,
    /// entry-wise within 10⁻¹² of (|P||C|) (an exact identity, products of n·dx terms).
    @Test func precisionInvertsTheWindowCovariance() throws {
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: P C = I")
        let processes = [try fixedProcess(), try randomProcess(dimension: 3, radius: 0.9, using: &rng)]
        for process in processes {
            for n in [1, 2, 5] {
                let p = process.precision(length: n)
                let c = process.windowCovariance(length: n)
                let identity = Tensor.identity(n * process.dimension)
                let scale = matmul(absolute(p), absolute(c))
                #expect(worstRatio(matmul(p, c), identity, scale: scale) <= 1e-12, "n = \(n)")
                #expect(worstRatio(matmul(c, p), identity, scale: matmul(absolute(c), absolute(p))) <= 1e-12, "n = \(n)")
            }
        }
    }

    /// The block form and the dense form of P agree; the blocks are those of MATH.md §2
    /// (P₁₁ = Γ⁻¹ + ΦᵀQΦ, P_tt = Q + ΦᵀQΦ, P_nn = Q, P_{t,t−1} = −QΦ, P_{t−1,t} = −ΦᵀQ, zero beyond);
    /// and `WindowPrecision.u(x)` is P·x.
    @Test func windowPrecisionMatchesDensePrecision() throws {
        let process = try fixedProcess()
        let d = 2
        for n in [1, 2, 5] {
            let blocks = process.windowPrecision(length: n)
            #expect(blocks.length == n && blocks.dimension == d)
            #expect(blocks.diagonal.count == n && blocks.subdiagonal.count == n - 1)
            let dense = process.precision(length: n)
            // Upper blocks: the dense form computes −ΦᵀQ, the block form transposes −QΦ; equal up
            // to the rounding of Q = Σ⁻¹'s symmetry, so compare to 10⁻¹⁵ of |Φ|ᵀ|Q| + |Q||Φ|.
            let scale = 1e-15 * (matmul(absolute(process.phi), absolute(process.innovationPrecision), transposeA: true)
                + matmul(absolute(process.innovationPrecision), absolute(process.phi))).maxAbs
            #expect((blocks.dense - dense).maxAbs <= scale, "n = \(n)")
            for s in 0..<n {
                for t in 0..<n {
                    var block = Tensor.zeros([d, d])
                    for i in 0..<d { for j in 0..<d { block[i, j] = dense[s * d + i, t * d + j] } }
                    #expect((blocks.block(s, t) - block).maxAbs <= scale)
                    // On and below the diagonal the block form stores the very blocks of precisionBlock.
                    if s >= t { #expect(blocks.block(s, t) == process.precisionBlock(row: s, column: t, length: n)) }
                    if abs(s - t) > 1 { #expect(block == Tensor.zeros([d, d])) }
                }
            }
        }
        // The blocks of MATH.md §2, built here from Φ, Q and Γ⁻¹.
        let n = 4
        let q = process.innovationPrecision, phi = process.phi
        let phiTQPhi = matmul(matmul(phi, q, transposeA: true), phi)
        let expected: [(Int, Int, Tensor)] = [
            (0, 0, process.stationaryPrecision + phiTQPhi), (1, 1, q + phiTQPhi), (2, 2, q + phiTQPhi), (3, 3, q),
            (1, 0, -matmul(q, phi)), (3, 2, -matmul(q, phi)), (0, 1, -matmul(phi, q, transposeA: true)),
        ]
        for (s, t, block) in expected {
            #expect(process.precisionBlock(row: s, column: t, length: n).relativeError(to: block) <= 1e-15)
        }

        // u = P x, row by row and for the whole window, against BLAS's P·x: entry-wise within
        // γ_{2·n·dx} (|P||x|).
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: u = Px")
        let p = process.windowPrecision(length: 5)
        let x = process.sampleWindow(length: 5, using: &rng)
        let u = p.u(x)
        #expect(u.shape == [5, 2])
        let px = Tensor(shape: [5, 2], storage: matvec(p.dense, x.storage))
        let bound = Tensor(shape: [5, 2], storage: matvec(absolute(p.dense), x.storage.map(abs)).map { gamma(2 * 10) * $0 })
        #expect(worstRatio(u, px, scale: bound) <= 1)
        for t in 0..<5 { #expect(p.u(x, at: t) == u.row(t)) }
    }

    // MARK: The density

    /// For n = 1 the window density is N(0, Γ): compare logDensity with the Gaussian formula
    /// (explicit 2×2 inverse; scalar: −x²/2Γ − ½ log 2πΓ). For n = 4 it factors into the start
    /// and the transitions, log N(x₁; 0, Γ) + Σ_t log N(x_t; Φx_{t−1}, Σ) — this checks the
    /// normalization ½ log det P of errata 1. Tolerance: 10⁻¹² of the sum of absolute terms.
    @Test func logDensityIsTheGaussianDensity() throws {
        let scalar = try AR1Process.scalar(phi: -0.7, noiseVariance: 1.8)
        let g = 1.8 / (1 - 0.49)
        for x in [-4.0, -1.2, 0, 0.3, 2.5] {
            let expected = -x * x / (2 * g) - 0.5 * log(2 * Double.pi * g)
            let scale = x * x / (2 * g) + 0.5 * abs(log(2 * Double.pi * g))
            #expect(abs(try scalar.logDensity(Tensor(rows: [[x]])) - expected) <= 1e-12 * scale)
        }

        let process = try fixedProcess()
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: log-density")
        for _ in 0..<5 {
            let x1 = process.sampleWindow(length: 1, using: &rng)
            let expected = gaussianLogDensity2(x1.storage, mean: [0, 0], covariance: process.gamma)
            let scale = abs(expected) + 2 * log(2 * Double.pi) + 10
            #expect(abs(try process.logDensity(x1) - expected) <= 1e-12 * scale)

            let x = process.sampleWindow(length: 4, using: &rng)
            var factored = gaussianLogDensity2(x.row(0), mean: [0, 0], covariance: process.gamma)
            var magnitude = abs(factored)
            for t in 1..<4 {
                let term = gaussianLogDensity2(x.row(t), mean: matvec(process.phi, x.row(t - 1)), covariance: process.sigma)
                factored += term
                magnitude += abs(term)
            }
            #expect(abs(try process.logDensity(x) - factored) <= 1e-12 * (magnitude + 8 * log(2 * Double.pi)))
        }
    }

    /// exp(logDensity) integrates to 1: the trapezoidal rule on a grid of step Δ, truncated at
    /// |x| ≤ L. Error budget (Poisson summation): aliasing Σ_{k≠0} e^{−2π² kᵀCk/Δ²} ≤
    /// 8 e^{−2π² λ_min(C)/Δ²}; truncation ≤ 2·dim·e^{−L²/2σ²_max}; rounding: each exp(logDensity)
    /// has relative error ≤ δ + u with δ the absolute rounding of the log-density
    /// (≤ γ_{2N+2}·(½|x|ᵀ|P||x| + ½|log det P| + (N/2) log 2π), largest at the corners), and the
    /// sums of positive terms (rows, then the row sums) add γ_{rows + columns}.
    @Test func densityIntegratesToOne() throws {
        let delta = 0.25
        // n = 1: N(0, Γ), Γ = 1.5/(1 − 0.36), σ ≈ 1.53.
        do {
            let process = try AR1Process.scalar(phi: 0.6, noiseVariance: 1.5)
            let variance = process.gamma[0, 0]
            let limit = 12 * variance.squareRoot()
            let k = Int((limit / delta).rounded(.up))
            var total = 0.0
            for i in -k...k { total += exp(try process.logDensity(Tensor(rows: [[Double(i) * delta]]))) }
            total *= delta
            let corner = limit + delta
            let logDensityRounding = gamma(4) * (0.5 * corner * corner / variance + 0.5 * abs(log(variance)) + 0.5 * log(2 * Double.pi))
            let tolerance = 8 * exp(-2 * Double.pi * Double.pi * variance / (delta * delta))
                + 2 * exp(-limit * limit / (2 * variance)) + logDensityRounding + 0x1p-53 + gamma(2 * k + 1)
            #expect(abs(total - 1) <= tolerance, "n = 1: ∫p = \(total), tolerance \(tolerance)")
        }
        // n = 2: covariance Γ[[1, φ], [φ, 1]], Γ = 4/3, λ_min = Γ(1 − φ) = 2/3.
        do {
            let phi = 0.5
            let process = try AR1Process.scalar(phi: phi)
            let variance = process.gamma[0, 0]
            let smallest = variance * (1 - phi)
            let limit = 12 * variance.squareRoot()
            let k = Int((limit / delta).rounded(.up))
            var total = 0.0
            for i in -k...k {
                var row = 0.0
                for j in -k...k {
                    row += exp(try process.logDensity(Tensor(rows: [[Double(i) * delta], [Double(j) * delta]])))
                }
                total += row
            }
            total *= delta * delta
            let corner = limit + delta
            let p = process.precision(length: 2)
            let quadraticBound = (abs(p[0, 0]) + abs(p[0, 1]) + abs(p[1, 0]) + abs(p[1, 1])) * corner * corner
            let logDensityRounding = gamma(6) * (0.5 * quadraticBound + 0.5 * abs(log(1 - phi * phi)) + log(2 * Double.pi))
            let tolerance = 8 * exp(-2 * Double.pi * Double.pi * smallest / (delta * delta))
                + 4 * exp(-limit * limit / (2 * variance)) + logDensityRounding + 0x1p-53 + gamma(2 * (2 * k + 1))
            #expect(abs(total - 1) <= tolerance, "n = 2: ∫p = \(total), tolerance \(tolerance)")
        }
    }

    // MARK: Sampling

    /// The sample covariance of N = 20000 windows (n = 3, dx = 2, fixed seed) matches
    /// Cov(x_s, x_r) = Φ^{s−r}Γ, and the sample mean matches 0, entry by entry within k = 4.5
    /// standard errors, each the sample sd of the products x_{s,i}·x_{r,j} (or of x_{s,i}) over √N.
    /// With 42 entries a Bonferroni bound puts the false-alarm rate of the whole test below
    /// 42 · P(|Z| > 4.5) ≈ 2.9·10⁻⁴. The same criterion must reject the i.i.d. covariance
    /// (off-diagonal time blocks set to zero): it can fail.
    @Test func sampleCovarianceMatchesTheory() throws {
        let process = try fixedProcess()
        let n = 3, d = 2, size = n * d, samples = 20_000, k = 4.5
        var rng = RandomStream(seed: 20160303, purpose: "ar1 tests: sample covariance")
        var moments = StreamingMean(shape: [size + size * size])
        var sample = [Double](repeating: 0, count: size + size * size)
        for _ in 0..<samples {
            let x = process.sampleWindow(length: n, using: &rng).storage
            for a in 0..<size {
                sample[a] = x[a]
                for b in 0..<size { sample[size + a * size + b] = x[a] * x[b] }
            }
            moments.add(sample)
        }
        let mean = moments.entries(0..<size, shape: [n, d])
        let second = moments.entries(size..<(size + size * size), shape: [size, size])
        #expect(mean.count == samples && second.count == samples)

        func worstZ(_ estimate: StreamingMean, _ expected: Tensor) -> Double {
            var worst = 0.0
            for e in 0..<expected.count {
                let z = abs(estimate.mean.storage[e] - expected.storage[e]) / estimate.standardError.storage[e]
                worst = max(worst, z)
            }
            return worst
        }
        let covariance = process.windowCovariance(length: n)
        let zMean = worstZ(mean, Tensor.zeros([n, d]))
        let zCovariance = worstZ(second, covariance)
        #expect(zMean <= k, "sample mean: worst deviation \(zMean)σ")
        #expect(zCovariance <= k, "sample covariance: worst deviation \(zCovariance)σ")

        var independent = covariance
        for s in 0..<n { for r in 0..<n where s != r { for i in 0..<d { for j in 0..<d {
            independent[s * d + i, r * d + j] = 0
        } } } }
        let zIndependent = worstZ(second, independent)
        #expect(zIndependent > k, "the i.i.d. covariance should be rejected, worst deviation \(zIndependent)σ")
    }

    /// Same stream state, same window; the window has the requested shape.
    @Test func samplingIsReproducible() throws {
        let process = try fixedProcess()
        var a = RandomStream(seed: 7, purpose: "windows"), b = RandomStream(seed: 7, purpose: "windows")
        let first = process.sampleWindow(length: 6, using: &a)
        #expect(first.shape == [6, 2])
        #expect(first == process.sampleWindow(length: 6, using: &b))
        #expect(process.sampleWindow(length: 6, using: &a) != first)
    }

    // MARK: Bad parameters

    /// Every parameter a user can get wrong throws a ModelError whose one line says what was wrong.
    @Test func badParametersThrowModelErrors() throws {
        let stable = Tensor(rows: [[0.5, 0.1], [0.0, 0.3]])
        let spd = Tensor(rows: [[1.0, 0.2], [0.2, 1.0]])
        func radius(_ text: String) -> ModelError {
            ModelError("AR(1) process: spectral radius of Φ is \(text); it must be below 1 for a stationary input")
        }
        // Spectral radius ≥ 1: on the unit circle, beyond it, and complex eigenvalues ±1.1i.
        #expect(throws: radius("1")) { try AR1Process.scalar(phi: 1) }
        #expect(throws: radius("1")) { try AR1Process.scalar(phi: -1) }
        #expect(throws: radius("1.25")) { try AR1Process(phi: Tensor(rows: [[0.5, 2], [0, -1.25]]), sigma: spd) }
        #expect(throws: radius("1.1")) { try AR1Process(phi: Tensor(rows: [[0, 1.1], [-1.1, 0]]), sigma: spd) }
        // Φ not square.
        #expect(throws: ModelError("AR(1) process: Φ must be a square matrix, got shape [1, 2]")) {
            try AR1Process(phi: Tensor(rows: [[0.5, 0.1]]), sigma: spd)
        }
        #expect(throws: ModelError("AR(1) process: Φ must be a square matrix, got shape [2]")) {
            try AR1Process(phi: Tensor(vector: [0.5, 0.1]), sigma: spd)
        }
        // Σ of the wrong shape.
        #expect(throws: ModelError("AR(1) process: Σ must be 2×2 like Φ, got shape [1, 1]")) {
            try AR1Process(phi: stable, sigma: Tensor(rows: [[1]]))
        }
        #expect(throws: ModelError("AR(1) process: Σ must be 2×2 like Φ, got shape [2, 3]")) {
            try AR1Process(phi: stable, sigma: Tensor(rows: [[1, 0, 0], [0, 1, 0]]))
        }
        // Σ not symmetric, not positive definite.
        #expect(throws: ModelError("AR(1) process: Σ must be symmetric")) {
            try AR1Process(phi: stable, sigma: Tensor(rows: [[1, 0.5], [0.2, 1]]))
        }
        #expect(throws: ModelError("AR(1) process: Σ must be positive definite")) {
            try AR1Process(phi: stable, sigma: Tensor(rows: [[1, 2], [2, 1]]))
        }
        #expect(throws: ModelError("AR(1) process: Σ must be positive definite")) {
            try AR1Process(phi: Tensor(rows: [[0.5]]), sigma: Tensor(rows: [[-1]]))
        }
        // NaN or ∞ anywhere.
        let notFinite = ModelError("AR(1) process: Φ and Σ must be finite (found NaN or ∞)")
        #expect(throws: notFinite) { try AR1Process(phi: Tensor(rows: [[0.5, .nan], [0, 0.3]]), sigma: spd) }
        #expect(throws: notFinite) { try AR1Process(phi: stable, sigma: Tensor(rows: [[1, 0], [0, .infinity]])) }
        #expect(throws: notFinite) { try AR1Process.scalar(phi: .nan) }
        // Scalar noise variance ≤ 0 (or not finite).
        for (variance, text) in [(0.0, "0.0"), (-1.0, "-1.0"), (Double.nan, "nan"), (Double.infinity, "inf")] {
            #expect(throws: ModelError("AR(1) process: the noise variance must be positive and finite, got \(text)")) {
                try AR1Process.scalar(phi: 0.5, noiseVariance: variance)
            }
        }
        // The error reads as its message.
        #expect(ModelError("AR(1) process: x").description == "AR(1) process: x")
    }
}
