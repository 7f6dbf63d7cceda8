// Walkthrough 01 — score functions of a Markov input (paper §2.3–2.5: eq. 7–11,
// Theorem 2, Lemmas 3–4). Run: swift run -c release 01-score-functions [--quick] [--markdown]
import Foundation
import SpectralRNN

let options = NotebookOptions.parseCommandLine(program: "01-score-functions")
let nb = Notebook(walkthrough: "01-score-functions", title: "Score functions of a Markov input", options: options)
var file = HDF5Tree()

func row(_ values: [Double], digits: Int = 4) -> String {
    "(" + values.map { formatNumber($0, digits: digits) }.joined(separator: ", ") + ")"
}

/// The window with every entry rounded to a multiple of 2⁻²⁰: then x ± h and x ± 2h are exact
/// for the dyadic steps h below, so a finite difference uses exactly the step it divides by.
func dyadic(_ x: Tensor) -> Tensor {
    Tensor(shape: x.shape, storage: x.storage.map { ($0 * 0x1p20).rounded() * 0x1p-20 })
}

/// |x| + δ entry-wise: rounding bounds that grow with |x| evaluated here bound them at every
/// point within δ of x (every point of a finite-difference stencil).
func widened(_ x: Tensor, by delta: Double) -> Tensor {
    Tensor(shape: x.shape, storage: x.storage.map { abs($0) + delta })
}

/// The Euclidean norm of a list of entry-wise error bounds: a bound on the norm of the error.
func norm(_ bounds: [Double]) -> Double { Tensor(vector: bounds).frobeniusNorm }

/// The Monte Carlo checks below that are expected to hold: the corrected normalization (1), the
/// time order of S₁ through Stein's identity (1), Stein's identity (2 test functions × 5 scores)
/// and the i.i.d. score for a G of x_t alone (2).
nb.planMonteCarloChecks(14, familyFalseAlarmRate: 1e-3)
let chunks = StreamingMean.defaultBatches  // independent chunks = batch means of every Monte Carlo estimate

// MARK: - §2.3, eq. 7–8: one dimension

nb.section("§2.3 eq. 7–8: the score functions of N(0, 1) are the Hermite polynomials")
nb.claim("For x ~ N(0, 1), S_m(x) = (−1)^m p⁽ᵐ⁾(x)/p(x) (eq. 7) is He_m(x), and the recursion of eq. 8 builds it.")
nb.derivation(
    "p(x) = (2π)^{−1/2} e^{−x²/2}  ⇒  S₁(x) = −∇ log p(x) = x",
    "eq. 8:  S_m = S_{m−1} ⊗ S₁ − ∇S_{m−1} = x·S_{m−1}(x) − S′_{m−1}(x)",
    "closed form:  He_m(x) = m! Σ_{k ≤ m/2} (−1)^k x^{m−2k} / (k! (m−2k)! 2^k)")
var hermiteTable = Tensor.zeros([7, 7])
var hermiteRows: [[String]] = []
for m in 1...6 {
    let recursion = Hermite.scoreByRecursion(order: m)
    let closed = Hermite.closedForm(order: m)
    for (i, c) in recursion.enumerated() { hermiteTable[m, i] = c }
    hermiteRows.append(["S\(m)"] + (0...6).map { i in i < recursion.count ? formatNumber(recursion[i]) : "" })
    nb.agree("eq. 8 recursion gives He_\(m) (coefficients)", paper: "eq. 8",
             computed: Tensor(vector: recursion), reference: Tensor(vector: closed))
}
hermiteTable[0, 0] = 1
nb.say("Coefficients of S_m built by eq. 8 (constant term first):")
nb.table(["", "1", "x", "x²", "x³", "x⁴", "x⁵", "x⁶"], hermiteRows)
nb.say("The library's general Gaussian score (matchings of the m index slots, any precision P) at P = 1, on a grid of points:")
let oneDimensional = WindowPrecision(diagonal: [Tensor.identity(1)], subdiagonal: [])
let grid = stride(from: -3.0, through: 3.0, by: 0.5).map { $0 }
for m in 1...6 {
    let library = grid.map { GaussianScore.atTime(0, order: m, window: Tensor(rows: [[$0]]), precision: oneDimensional).storage[0] }
    let hermite = grid.map { Hermite.evaluate(Hermite.closedForm(order: m), at: $0) }
    nb.agree("S_\(m)(x) of N(0,1) = He_\(m)(x) on 13 points in [−3, 3]", paper: "eq. 7",
             computed: Tensor(vector: library), reference: Tensor(vector: hermite))
}
file.addDataset("/theory/hermite_coefficients", hermiteTable,
                description: "Row m: coefficients of S_m = He_m for N(0,1), constant term first (row 0 is S_0 = 1).",
                formula: "S_m = x·S_{m−1} − S′_{m−1}", paper: "eq. 7–8")

// MARK: - §2.5: the scalar AR(1) window

let phi = 0.6
let n = 6
let scalarProcess = nb.must("the scalar AR(1) process with φ = \(phi)") { try AR1Process.scalar(phi: phi) }
nb.section("§2.5 the Gaussian AR(1) window: precision J, normalization, first-order score")
nb.claim("For x_t = φ x_{t−1} + ε_t, ε_t ~ N(0, 1), stationary start, the window x[n] has precision J (tridiagonal: 1, 1+φ², …, 1+φ², 1 on the diagonal, −φ beside it), det J = 1 − φ², density (2π)^{−n/2}|J|^{1/2} exp(−½ xᵀJx) and S₁(x[n], [n]) = J x[n].")
nb.derivation(
    "−2 log p(x[n]) = (1−φ²) x₁² + Σ_{t=2}^{n} (x_t − φ x_{t−1})² + const",
    "             = x[n]ᵀ J x[n] + const,   J_tt = 1 + φ² (1 < t < n), J_11 = J_nn = 1, J_{t,t±1} = −φ",
    "J = LᵀL with L unit lower bidiagonal except L₁₁ = √(1−φ²)  ⇒  det J = 1 − φ²",
    "∫ exp(−½ xᵀJx) dx = (2π)^{n/2} |J|^{−1/2}  ⇒  normalization (2π)^{−n/2} |J|^{1/2}",
    "printed: (2φ)^{−n/2} |J|^{1/2}  ⇒  total mass (π/φ)^{n/2}")
nb.say("φ = \(phi), n = \(n).")
let printedJ = Tensor(shape: [n, n]) { i in
    let (s, t) = (i[0], i[1])
    if s == t { return (s == 0 || s == n - 1) ? 1 : 1 + phi * phi }
    return abs(s - t) == 1 ? -phi : 0
}
let libraryJ = scalarProcess.precision(length: n)
nb.agree("the window's precision (MATH.md §2 blocks) is the paper's J", paper: "§2.5", computed: libraryJ, reference: printedJ)
nb.agree("J is the inverse of the stationary covariance φ^{|s−t|}/(1−φ²)", paper: "§2.5",
         computed: matmul(printedJ, scalarProcess.windowCovariance(length: n)), reference: Tensor.identity(n))
let detJ = nb.must("LAPACK could not factor J") { try determinant(printedJ) }
nb.exact("det J = 1 − φ²", paper: "§2.5", quantity: "det J", measured: detJ, expected: 1 - phi * phi,
         tolerance: 1e-14 * Double(n))
file.addDataset("/theory/J", printedJ, description: "Precision of a scalar AR(1) window, φ = \(phi), n = \(n).",
                formula: "J = tridiag(−φ; 1, 1+φ², …, 1+φ², 1; −φ)", paper: "§2.5")

// The normalization: importance sampling of ∫ p(x) dx from a Gaussian q = N(0, s² I).
let massSamples = options.sampleCount(full: 400_000, quick: 20_000)
// q's standard deviation s. The weights w = p/q are bounded (so every moment is finite and their
// tail is light) only if s² exceeds the largest eigenvalue of the window covariance, which for
// any n stays below the spectral density's peak 1/(1 − φ)² = 6.25: s = 2.6 is just above 2.5.
// A wider q wastes draws: per eigenvalue σ_i² of the covariance, E_q[w²] = Π s²/(σ_i √(2s² − σ_i²)),
// 46 at s = 2.6 against 478 at s = 4 (and max w = s^n/√det Cov is 247 against 3277).
let proposalScale = 2.6
let quadratic: @Sendable (Tensor) -> Double = { x in dot(x.storage, matvec(printedJ, x.storage)) }
@MainActor func mass(normalization logConstant: Double, purpose: String, label: String) -> StreamingMean {
    let progress = nb.progress(label, total: massSamples)
    defer { progress.done() }
    return StreamingMean.inChunks(chunks, samples: massSamples, shape: []) { chunk, count, acc in
        var rng = RandomStream(seed: options.seed, purpose: purpose, index: UInt64(chunk))
        for k in 0..<count {
            let x = rng.gaussianTensor([n], scale: proposalScale)
            let logP = logConstant - 0.5 * quadratic(x)
            let logQ = -Double(n) * log(proposalScale) - 0.5 * Double(n) * log(2 * .pi) - 0.5 * dot(x.storage, x.storage) / (proposalScale * proposalScale)
            acc.add([exp(logP - logQ)])
            if k % 1000 == 999 { progress.advance(1000) }
        }
    }
}
let correctedLogConstant = -0.5 * Double(n) * log(2 * .pi) + 0.5 * log(detJ)
let printedLogConstant = -0.5 * Double(n) * log(2 * phi) + 0.5 * log(detJ)
// An exact computation that uses neither det J nor the Gaussian constant: the trapezoid rule,
// one coordinate at a time, on [−30, 30] with step 0.1. Its errors: discretization of order
// exp(−2π² s²/h²), s² = min over lattice directions of kᵀJ⁻¹k ≥ 1/λ_max(J) ≥ 1/(1+|φ|)² = 0.39
// (about e^{−770}); truncation of order exp(−L²/(2λ_max(J⁻¹))), λ_max(J⁻¹) < 1/(1−φ)² = 6.25
// (below e^{−70}); rounding of positive sums γ_{n(M+2)} ≈ 4e−13 relative. Tolerance 1e−10.
let chainIntegral = nb.must("the chain integral") {
    try gaussianChainIntegral(diagonal: (0..<n).map { printedJ[$0, $0] }, offDiagonal: (0..<(n - 1)).map { printedJ[$0, $0 + 1] },
                              halfWidth: 30, step: 0.1)
}
nb.say("∫ exp(−½ x[n]ᵀJx[n]) dx by an independent exact computation — the trapezoid rule in each coordinate on [−30, 30], step 0.1, integrating the chain one coordinate at a time (no determinant, no Gaussian constant) — is \(formatNumber(chainIntegral, digits: 12)); (2π)^{n/2}|J|^{−1/2} = \(formatNumber(exp(-correctedLogConstant), digits: 12)).")
let chainBasis = "trapezoid rule: discretization ~ e^{−2π²s²/h²} ≤ e^{−770}, truncation < e^{−70}, rounding γ_{n(M+2)} ≈ 4e−13: tolerance 1e−10"
nb.exact("corrected: (2π)^{−n/2}|J|^{1/2} · ∫ exp(−½ xᵀJx) dx = 1 (independent integral)", paper: "§2.5, errata 1",
         quantity: "total mass", measured: exp(correctedLogConstant) * chainIntegral, expected: 1, tolerance: 1e-10, basis: chainBasis)
nb.exact("printed: (2φ)^{−n/2}|J|^{1/2} · ∫ exp(−½ xᵀJx) dx = 1 (independent integral)", paper: "§2.5, errata 1",
         quantity: "total mass", measured: exp(printedLogConstant) * chainIntegral, expected: 1, tolerance: 1e-10, basis: chainBasis,
         kind: .refutation)
let correctedMass = mass(normalization: correctedLogConstant, purpose: "mass", label: "∫p, corrected constant")
nb.say("∫ p(x[n]) dx by importance sampling from q = N(0, \(proposalScale)² I): s² = \(formatNumber(proposalScale * proposalScale)) exceeds every eigenvalue of the window covariance (all below 1/(1−φ)² = \(formatNumber(1 / ((1 - phi) * (1 - phi))))), so the weights p/q are bounded; N = \(massSamples). The same sample faces the printed constant as an alternative: its density would integrate to (π/φ)^{n/2} = \(formatNumber(pow(Double.pi / phi, Double(n) / 2))).")
nb.say(nb.monteCarloPolicy(batches: chunks))
nb.monteCarlo("corrected normalization (2π)^{−n/2}|J|^{1/2} integrates to 1 (importance sampling)", paper: "§2.5, errata 1",
              estimate: correctedMass, expected: Tensor(scalar: 1),
              alternatives: [Alternative(key: "printed", name: "the printed constant's mass (π/φ)^{n/2}", value: Tensor(scalar: pow(Double.pi / phi, Double(n) / 2)))])

// S₁ = J x, forward in time: against finite differences of the Markov factorization of the density.
var rng = RandomStream(seed: options.seed, purpose: "scalar window")
let window = dyadic(scalarProcess.sampleWindow(length: n, using: &rng))
let h = 0x1p-6
let scalarPrecision = scalarProcess.windowPrecision(length: n)
let libraryS1 = scalarPrecision.u(window).storage  // S₁(x[n], t) = (P x)_t, P = J (checked above)
var gradient = [Double](repeating: 0, count: n)
for t in 0..<n {
    let step = nb.must("the log-density") {
        try FiniteDifference.mixedDerivative(of: { [try scalarProcess.logDensityByFactorization($0)] }, at: window, times: [t], step: h)
    }
    gradient[t] = -step.derivative.storage[0]
}
// Each evaluation is within δ of the exact factorization (δ: its rounding bound at |x| + h, which
// covers both stencil points); the stencil and its sum add at most as much again: 2δ/h per entry.
let evaluationBound = nb.must("the rounding bound") { try scalarProcess.factorizationRoundingBound(widened(window, by: h)) }
let s1Tolerance = norm((0..<n).map { t in
    2 * evaluationBound / h + GaussianScore.roundingBound(window: window, times: [t], precision: scalarPrecision).storage[0]
}) / Tensor(vector: libraryS1).frobeniusNorm
nb.derivation(
    "log p(x[n]) = log N(x₁; 0, Γ) + Σ_{t=2}^{n} log N(x_t; φ x_{t−1}, 1)      (the Markov factorization, Γ = 1/(1−φ²))",
    "S₁(x[n], t) = −∂ log p/∂x_t = (1−φ²)x₁ + φ(φx₁ − x₂) at t = 1;  (x_t − φx_{t−1}) − φ(x_{t+1} − φx_t) inside;  x_n − φx_{n−1} at t = n",
    "             = (J x)_t",
    "log p is quadratic, so the central difference [log p(x − h e_t) − log p(x + h e_t)]/2h is exact but for rounding (h = 2⁻⁶, x dyadic)")
nb.say("x[n] = \(row(window.storage))")
nb.say("−∇ log p by central differences of the factorization = \(row(gradient))")
nb.say("J x (time 1 first)                                  = \(row(libraryS1))")
let roundingBasis = "rounding: 2δ/h per entry, δ = γ_K·Σ|parts| of the factorization, plus γ_K·Σ|terms| of J x"
nb.agree("S₁(x[n], [n]) = J x[n], listed from t = 1 to t = n", paper: "eq. 11, errata 2",
         computed: Tensor(vector: libraryS1), reference: Tensor(vector: gradient), tolerance: s1Tolerance, basis: roundingBasis)
nb.agree("as printed: eq. 11's list, whose first entry is x_n − φ x_{n−1}, read from t = 1 (the same vector reversed)", paper: "eq. 11, errata 2",
         computed: Tensor(vector: libraryS1.reversed()), reference: Tensor(vector: gradient),
         tolerance: s1Tolerance, basis: roundingBasis, kind: .refutation, illustration: true)

// Measured: Stein's identity E[G(x[n]) S₁(x[n], [n])] = E[∇G] decides the ordering, for a G whose
// gradient is not a palindrome. The printed list is coded from its printed entries.
/// Eq. 11 as printed, read from t = 1: entry 1 is x_n − φx_{n−1}, entries 2 … n−1 are
/// (1+φ²)x_{n+1−k} − φ(x_{n−k} + x_{n+2−k}), entry n is x_1 − φx_2.
func printedScoreList(_ x: [Double]) -> [Double] {
    let n = x.count
    return (1...n).map { k in
        if k == 1 { return x[n - 1] - phi * x[n - 2] }
        if k == n { return x[0] - phi * x[1] }
        return (1 + phi * phi) * x[n - k] - phi * (x[n - k - 1] + x[n - k + 1])
    }
}
let steinDirection: [Double] = {
    let raw = [1.0, 0.6, 0.3, 0.1, 0, 0]
    let variance = dot(raw, matvec(scalarProcess.windowCovariance(length: n), raw))
    return raw.map { $0 / variance.squareRoot() }   // Var(w·x[n]) = 1
}()
let orderingSamples = options.sampleCount(full: 400_000, quick: 40_000)
let orderingExpected = Tensor(vector: steinDirection.map { $0 * exp(-0.5) })   // E[cos z] w, z = w·x ~ N(0, 1)
@MainActor func orderingMoment(purpose: String, score: @escaping @Sendable ([Double]) -> [Double]) -> StreamingMean {
    StreamingMean.inChunks(chunks, samples: orderingSamples, shape: [n]) { chunk, count, acc in
        var rng = RandomStream(seed: options.seed, purpose: purpose, index: UInt64(chunk))
        for _ in 0..<count {
            let x = scalarProcess.sampleWindow(length: n, using: &rng).storage
            let g = sin(dot(steinDirection, x))
            acc.add(score(x).map { g * $0 })
        }
    }
}
let jxScore: @Sendable ([Double]) -> [Double] = { x in matvec(printedJ, x) }
let printedScore: @Sendable ([Double]) -> [Double] = { x in printedScoreList(x) }
nb.derivation(
    "G(x[n]) = sin(w·x[n]),  w = \(row(steinDirection, digits: 3)) (Var(w·x[n]) = 1, not a palindrome)",
    "Stein (Theorem 2, m = 1):  E[G · S₁(x[n], [n])] = E[∇G] = E[cos(w·x)] w = e^{−1/2} w",
    "a list in the wrong time order gives E[G · S₁] reversed, e^{−1/2} (w_n, …, w_1) ≠ e^{−1/2} w")
let orderingCorrect = orderingMoment(purpose: "eq. 11 ordering", score: jxScore)
nb.monteCarlo("Stein with S₁ = J x[n] listed from t = 1: Ê[G · S₁(x[n], [n])] = E[∇G]", paper: "eq. 11, Theorem 2",
              estimate: orderingCorrect, expected: orderingExpected,
              alternatives: [Alternative(key: "printed", name: "eq. 11's order (E[∇G] reversed)", value: Tensor(vector: orderingExpected.storage.reversed()))])
let orderingPrinted = orderingMoment(purpose: "eq. 11 ordering, printed list", score: printedScore)
nb.monteCarlo("Stein with eq. 11's list as printed (independent draws): Ê[G · S₁^{printed}(x[n])] = E[∇G]", paper: "eq. 11, errata 2",
              estimate: orderingPrinted, expected: orderingExpected,
              alternatives: [Alternative(key: "reversed", name: "E[∇G] reversed, what a misordered list gives", value: Tensor(vector: orderingExpected.storage.reversed()))],
              kind: .refutation)
file.addMoment("eq11_ordering", estimate: orderingCorrect, theory: orderingExpected,
               description: "Ê[sin(w·x[n]) · (J x[n])] on scalar AR(1) windows (attribute w).", formula: "Ê[G · S₁(x[n], [n])]",
               theoryFormula: "e^{−1/2} w", paper: "eq. 11, Theorem 2", attributes: ["w": .reals(steinDirection)])
file.addMoment("eq11_ordering_printed", estimate: orderingPrinted, theory: orderingExpected,
               description: "Ê[sin(w·x[n]) · S₁^{printed}(x[n])], eq. 11's list read from t = 1, on independent windows (attribute w).", formula: "Ê[G · S₁^{printed}]",
               theoryFormula: "e^{−1/2} w (what Stein requires)", paper: "eq. 11, errata 2", attributes: ["w": .reals(steinDirection)])
file.addDataset("/samples/scalar_window", window, description: "One window of the scalar AR(1) process (entries rounded to multiples of 2⁻²⁰) used for the finite-difference check.",
                formula: "x_t = φ x_{t−1} + ε_t", paper: "§2.5")

// MARK: - Lemma 4: locality, vector case

let phiMatrix = Tensor(rows: [[0.5, 0.2], [-0.1, 0.4]])
let sigmaMatrix = Tensor(rows: [[1.0, 0.3], [0.3, 0.5]])
let process = nb.must("the vector AR(1) process") { try AR1Process(phi: phiMatrix, sigma: sigmaMatrix) }
let dx = process.dimension
let length = 5
let t = 2  // 0-based: the paper's t = 3, an interior time with both neighbours
let precision = process.windowPrecision(length: length)
nb.section("§2.5 Lemma 4 (eq. 10): the score at time t is local to x_{t−1}, x_t, x_{t+1}")
nb.claim("For a first-order Markov input, S_m(x[n], t) = (−1)^m ∇^m_{x_t}[p(x_{t+1}|x_t) p(x_t|x_{t−1})] / [p(x_{t+1}|x_t) p(x_t|x_{t−1})]: it changes with x_{t±1} and with no farther input. Here for a vector AR(1) with non-diagonal Φ and Σ.")
nb.derivation(
    "Q = Σ⁻¹,  Γ = ΦΓΦᵀ + Σ,  P = Cov(x[n])⁻¹ is block tridiagonal:",
    "P₁₁ = Γ⁻¹ + ΦᵀQΦ,  P_tt = Q + ΦᵀQΦ,  P_nn = Q,  P_{t,t−1} = −QΦ,  P_{t−1,t} = −ΦᵀQ",
    "u_t = (P x)_t = Q(x_t − Φx_{t−1}) − ΦᵀQ(x_{t+1} − Φx_t) = −∇_{x_t} log[p(x_{t+1}|x_t) p(x_t|x_{t−1})]",
    "S_m(x[n], t) = Σ over partial matchings of the m slots: −P_tt per pair, u_t per single slot",
    "⇒ S_m(x[n], t) depends on x[n] only through u_t, i.e. through x_{t−1}, x_t, x_{t+1}")
nb.say("Φ = \(row(phiMatrix.storage)) (row-major), Σ = \(row(sigmaMatrix.storage)), Γ = \(row(process.gamma.storage)), n = \(length), t = \(t + 1).")
// The covariance of the window, Cov(x_s, x_r) = Φ^{s−r} Γ (s ≥ r), against the blocks.
let windowCovariance = process.windowCovariance(length: length)
nb.agree("the block formulas give P = Cov(x[n])⁻¹ (P · Cov = I)", paper: "§2.5 (vector case)",
         computed: matmul(precision.dense, windowCovariance), reference: Tensor.identity(length * dx))
let detP = nb.must("LAPACK could not factor P") { try determinant(precision.dense) }
let detGamma = nb.must("LAPACK could not factor Γ") { try determinant(process.gamma) }
let detSigma = nb.must("LAPACK could not factor Σ") { try determinant(sigmaMatrix) }
nb.exact("det P = det(Γ)⁻¹ det(Σ)^{−(n−1)}  (vector form of det J = 1 − φ²)", paper: "§2.5",
         quantity: "det P", measured: detP, expected: 1 / (detGamma * pow(detSigma, Double(length - 1))),
         tolerance: 1e-12 * abs(detP))

var lemmaRng = RandomStream(seed: options.seed, purpose: "lemma 4")
let x0 = dyadic(process.sampleWindow(length: length, using: &lemmaRng))
let scoreTimes = { (m: Int) in Array(repeating: t, count: m) }

// (1) From the two local factors, differentiated numerically.
nb.say("From the two local factors: ℓ(x_t) = log p(x_t|x_{t−1}) + log p(x_{t+1}|x_t), a quadratic in x_t, differentiated by central differences (h = 2⁻⁶, exact but for rounding): S₁ = −∇ℓ, S₂ = ∇²(e^ℓ)/e^ℓ = ∇ℓ ⊗ ∇ℓ + ∇²ℓ.")
let localFactors: (Tensor) throws -> [Double] = { [try process.logLocalFactors($0, at: t)] }
let firstStep = nb.must("the local factors") { try FiniteDifference.mixedDerivative(of: localFactors, at: x0, times: [t], step: h) }
let secondStep = nb.must("the local factors") { try FiniteDifference.mixedDerivative(of: localFactors, at: x0, times: [t, t], step: h) }
let gradientL = firstStep.derivative.storage           // ∇ℓ (dx)
let hessianL = secondStep.derivative.storage           // ∇²ℓ (dx×dx)
// Rounding: each evaluation of ℓ within δ₁ (all points within h of x) or δ₂ (within 2h); the
// stencils' sums add at most as much again, so ∇ℓ is within e₁ = 2δ₁/h and ∇²ℓ within e₂ = 2δ₂/h²
// per entry; ∇ℓ⊗∇ℓ is then within |∇ℓ_i| e₁ + |∇ℓ_j| e₁ + e₁², and each product and sum adds ε of its size.
let delta1 = nb.must("the rounding bound") { try process.factorizationRoundingBound(widened(x0, by: h), at: t) }
let delta2 = nb.must("the rounding bound") { try process.factorizationRoundingBound(widened(x0, by: 2 * h), at: t) }
let e1 = 2 * delta1 / h, e2 = 2 * delta2 / (h * h)
let fromFactors1 = gradientL.map { -$0 }
var fromFactors2 = [Double](repeating: 0, count: dx * dx)
var factorBound2 = [Double](repeating: 0, count: dx * dx)
for i in 0..<dx {
    for j in 0..<dx {
        let product = gradientL[i] * gradientL[j]
        fromFactors2[i * dx + j] = product + hessianL[i * dx + j]
        factorBound2[i * dx + j] = abs(gradientL[i]) * e1 + abs(gradientL[j]) * e1 + e1 * e1 + e2
            + 2 * Double.ulpOfOne * (abs(product) + abs(hessianL[i * dx + j]))
    }
}
let factorBasis = "rounding: central differences 2δ/h, 2δ/h² (δ = γ_K·Σ|parts| of the factors), plus γ_K·Σ|terms| of the library score"
for (m, computed, factorBound) in [(1, fromFactors1, [Double](repeating: e1, count: dx)), (2, fromFactors2, factorBound2)] {
    let whole = GaussianScore.atTime(t, order: m, window: x0, precision: precision)
    let libraryBound = GaussianScore.roundingBound(window: x0, times: scoreTimes(m), precision: precision).storage
    nb.agree("S_\(m)(x[n], t) from the two local factors of eq. 10 (finite differences) = from the whole density", paper: "Lemma 4, eq. 10",
             computed: Tensor(shape: whole.shape, storage: computed), reference: whole,
             tolerance: norm(zip(factorBound, libraryBound).map { $0 + $1 }) / whole.frobeniusNorm, basis: factorBasis)
}

// (2) Moving far inputs, scored with the dense inverse of the window covariance.
nb.say("Moving inputs, scored without the block structure: P̃ = Cov(x[n])⁻¹ by LAPACK (dense, every entry), ũ_t = Σ_s P̃_ts x_s over the whole window, S̃_m from ũ_t and P̃_tt. Were S_m(x[n], t) to depend on a farther input, P̃ would couple it to x_t and S̃_m would move.")
/// Scores S̃_m(x[n], t) of windows of one length from P̃ = Cov(x[n])⁻¹ by LAPACK (dense, every
/// entry), ũ_t = Σ_s P̃_ts x_s, with an entry-wise bound on their rounding error.
struct DenseInverseScorer {
    let t: Int, dx: Int, size: Int
    let denseInverse: Tensor
    let blockPrecision: WindowPrecision
    let conditionNumber: Double
    /// First-order perturbation of an inverse: ‖P̃ − Cov⁻¹‖₂ ≤ ρ‖Cov⁻¹‖₂ with ρ = N·κ(Cov)·u,
    /// N = n·dx (Cov's entries carry a few roundings each; inversion multiplies relative errors by κ).
    let rho: Double
    let inverseNorm: Double

    init(process: AR1Process, length: Int, t: Int) throws {
        let covariance = process.windowCovariance(length: length)
        let inverted = try inverse(covariance)
        let eigen = try symmetricEigen(covariance)
        self.t = t
        dx = process.dimension
        size = length * dx
        denseInverse = inverted
        conditionNumber = eigen.values.first! / eigen.values.last!
        rho = Double(size) * conditionNumber * Rounding.unit
        inverseNorm = 1 / eigen.values.last!
        let dx = self.dx
        blockPrecision = WindowPrecision(diagonal: [Tensor(shape: [dx, dx]) { i in inverted[t * dx + i[0], t * dx + i[1]] }], subdiagonal: [])
    }

    /// ũ_t = Σ_s P̃_ts x_s and its magnitude Σ_s |P̃_ts||x_s|.
    func u(_ x: Tensor) -> (u: [Double], magnitude: [Double]) {
        let u = (0..<dx).map { i in (0..<size).reduce(0.0) { $0 + denseInverse[t * dx + i, $1] * x.storage[$1] } }
        let magnitude = (0..<dx).map { i in (0..<size).reduce(0.0) { $0 + abs(denseInverse[t * dx + i, $1]) * abs(x.storage[$1]) } }
        return (u, magnitude)
    }

    /// S̃_m(x[n], t) from the dense inverse, and an entry-wise bound on its error: the perturbation
    /// bound A(|ũ| + Δu, |P̃_tt| + ΔP) − A(|ũ|, |P̃_tt|) of the matching sum A of absolute terms
    /// (Δu = ρ‖P̃‖₂‖x‖₂, ΔP = ρ‖P̃‖₂), plus γ_K of it for the dense sums (K = 2N + m(m+1)).
    func score(_ x: Tensor, order m: Int) -> (score: Tensor, bound: [Double]) {
        let (u, magnitude) = u(x)
        let score = GaussianScore.mixed(u: { _ in u }, times: Array(repeating: 0, count: m), precision: blockPrecision)
        let deltaP = rho * inverseNorm
        let deltaU = deltaP * x.frobeniusNorm
        let widenedBlock = WindowPrecision(diagonal: [Tensor(shape: [dx, dx], storage: blockPrecision.diagonal[0].storage.map { abs($0) + deltaP })], subdiagonal: [])
        let perturbed = GaussianScore.absoluteTermSum(magnitude: { _ in magnitude.map { $0 + deltaU } }, times: Array(repeating: 0, count: m), precision: widenedBlock)
        let unperturbed = GaussianScore.absoluteTermSum(magnitude: { _ in magnitude }, times: Array(repeating: 0, count: m), precision: blockPrecision)
        let g = Rounding.gamma(2 * size + GaussianScore.recursionRoundings(order: m) + 2)
        return (score, zip(perturbed.storage, unperturbed.storage).map { ($0 - $1) + g * $0 })
    }
}
let scorer = nb.must("inverting the window covariance") { try DenseInverseScorer(process: process, length: length, t: t) }
let conditionNumber = scorer.conditionNumber
let size = scorer.size
let rho = scorer.rho
var farther = x0
for s in 0..<length where abs(s - t) >= 2 {
    for i in 0..<dx { farther[s, i] += 3 * lemmaRng.gaussian() }
}
var neighbours = x0
for s in [t - 1, t + 1] { for i in 0..<dx { neighbours[s, i] += lemmaRng.gaussian() } }
nb.say("κ(Cov) = \(formatNumber(conditionNumber)), N = n·dx = \(size): ρ = N·κ·u = \(formatNumber(rho)).")
let denseBasis = "rounding: ρ = N·κ(Cov)·u through the inverse, γ_K·Σ|terms| of both scores"
var localityRows: [[String]] = []
for m in 1...4 {
    let full = GaussianScore.atTime(t, order: m, window: x0, precision: precision)
    let libraryBound = GaussianScore.roundingBound(window: x0, times: scoreTimes(m), precision: precision).storage
    let far = scorer.score(farther, order: m)
    nb.agree("S_\(m)(x[n], t) unchanged when every x_s with |s − t| ≥ 2 moves by N(0, 9) (scored with the dense Cov⁻¹)", paper: "Lemma 4",
             computed: far.score, reference: full,
             tolerance: norm(zip(far.bound, libraryBound).map { $0 + $1 }) / full.frobeniusNorm, basis: denseBasis)
    let near = scorer.score(neighbours, order: m)
    nb.agree("i.i.d. intuition: S_\(m)(x[n], t) depends on x_t alone (moving x_{t±1} leaves it unchanged)", paper: "Lemma 4",
             computed: near.score, reference: full,
             tolerance: norm(zip(near.bound, libraryBound).map { $0 + $1 }) / full.frobeniusNorm, basis: denseBasis, kind: .counterexample)
    localityRows.append(["\(m)", formatNumber((far.score - full).frobeniusNorm / full.frobeniusNorm),
                         formatNumber((near.score - full).frobeniusNorm / full.frobeniusNorm)])
}
nb.say("Relative change of S_m(x[n], t) when the inputs move (dense-inverse scores against the library's at the original window):")
nb.table(["m", "|s − t| ≥ 2 moved", "x_{t±1} moved"], localityRows)
// The same, one distance at a time, on a longer window: the profile of S_m(x[n], t) against
// |s − t| that Lemma 4 predicts — a jump at distance 0 and 1, rounding beyond.
let profileLength = 9, profileT = 4  // 0-based: the paper's t = 5 of n = 9, four inputs on each side
let profileDistances = Array(0...4)
let profilePrecision = process.windowPrecision(length: profileLength)
let profileScorer = nb.must("inverting the window covariance") { try DenseInverseScorer(process: process, length: profileLength, t: profileT) }
var profileRng = RandomStream(seed: options.seed, purpose: "lemma 4 profile")
let xProfile = dyadic(process.sampleWindow(length: profileLength, using: &profileRng))
let movedAtDistance = profileDistances.map { d in
    var moved = xProfile
    for s in 0..<profileLength where abs(s - profileT) == d {
        for i in 0..<dx { moved[s, i] += 3 * profileRng.gaussian() }
    }
    return moved
}
var profileChange = Tensor.zeros([4, profileDistances.count])
var profileBound = Tensor.zeros([4, profileDistances.count])
var worstFarRatio = 0.0
for m in 1...4 {
    let full = GaussianScore.atTime(profileT, order: m, window: xProfile, precision: profilePrecision)
    let libraryBound = GaussianScore.roundingBound(window: xProfile, times: Array(repeating: profileT, count: m), precision: profilePrecision).storage
    for (k, d) in profileDistances.enumerated() {
        let moved = profileScorer.score(movedAtDistance[k], order: m)
        profileChange[m - 1, k] = (moved.score - full).frobeniusNorm / full.frobeniusNorm
        profileBound[m - 1, k] = norm(zip(moved.bound, libraryBound).map { $0 + $1 }) / full.frobeniusNorm
        if d >= 2 { worstFarRatio = max(worstFarRatio, profileChange[m - 1, k] / profileBound[m - 1, k]) }
    }
}
nb.say("One distance at a time, on a window of n = \(profileLength) at t = \(profileT + 1): only the inputs with |s − t| = d move (by N(0, 9) per coordinate), d = 0 … \(profileDistances.last!). Relative change of S_m(x[n], t), and in brackets its rounding bound:")
nb.table(["m"] + profileDistances.map { "d = \($0)" }, (0..<4).map { r in
    ["\(r + 1)"] + profileDistances.indices.map { "\(formatNumber(profileChange[r, $0], digits: 3)) [\(formatNumber(profileBound[r, $0], digits: 2))]" }
})
nb.atMost("S_m(x[n], t), m = 1…4, unchanged when only the inputs at one distance d = 2…\(profileDistances.last!) from t move (n = \(profileLength))", paper: "Lemma 4",
          quantity: "largest relative change / its rounding bound", measured: worstFarRatio, bound: 1,
          basis: "rounding: ρ = N·κ(Cov)·u through the inverse, γ_K·Σ|terms| of both scores, per (m, d)")
nb.figure("locality", caption: "Lemma 4 as a picture: moving the inputs at distance d = |s − t| changes S_m(x[n], t) by O(1) for d ≤ 1 and by nothing above rounding (the dashed bounds) for d ≥ 2, for every order m.")
file.addDataset("/theory/locality_relative_change", profileChange,
                description: "Relative change ‖S̃_m(x̃[n], t) − S_m(x[n], t)‖/‖S_m(x[n], t)‖ (row m − 1) when only the inputs at distance d = |s − t| (column d, attribute distances) of a window of length n = \(profileLength) move by N(0, 9) per coordinate; S̃ from the dense inverse of Cov(x[n]), S from the library; t = \(profileT + 1) (1-based, attribute t).",
                formula: "‖S̃_m(x̃[n], t) − S_m(x[n], t)‖_F / ‖S_m(x[n], t)‖_F", paper: "Lemma 4, eq. 10")
file.setAttribute("distances", .reals(profileDistances.map(Double.init)), at: "/theory/locality_relative_change")
file.setAttribute("window_length", .integer(profileLength), at: "/theory/locality_relative_change")
file.setAttribute("t", .integer(profileT + 1), at: "/theory/locality_relative_change")
file.addDataset("/theory/locality_rounding_bound", profileBound,
                description: "The rounding bound of each entry of /theory/locality_relative_change (relative): what a change must exceed to show a dependence.",
                formula: "‖bound(S̃) + bound(S)‖ / ‖S_m(x[n], t)‖_F", paper: "Lemma 4")
file.addDataset("/model/Phi", phiMatrix, description: "Transition matrix Φ of the vector AR(1) input (sections Lemma 4, Stein).",
                formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
file.addDataset("/model/Sigma", sigmaMatrix, description: "Innovation covariance Σ of the vector AR(1) input.",
                formula: "ε_t ~ N(0, Σ)", paper: "§2.5")
file.addDataset("/model/Gamma", process.gamma, description: "Stationary covariance Γ of the vector AR(1) input.",
                formula: "Γ = ΦΓΦᵀ + Σ", paper: "MATH.md §2")
file.addDataset("/model/P", precision.dense, description: "Precision of a window of length \(length) of the vector AR(1) input, (n·dx)×(n·dx), time-major.",
                formula: "P = Cov(x[n])⁻¹, block tridiagonal", paper: "§2.5, Lemma 4")
file.setAttribute("window_length", .integer(length), at: "/model")
file.setAttribute("t", .integer(t + 1), at: "/model")

// MARK: - Theorem 2 / Lemma 3: Stein's identity by Monte Carlo

nb.section("§2.3–2.4 Theorem 2, Lemma 3: Stein's identity E[G ⊗ S_m(x[n], t)] = E[∇^m_{x_t} G]")
let c = Double.pi / 4  // sin(c + mπ/2) = ±0.71 for every m: no order gets a small signal
let crossCovariance = matmul(phiMatrix, process.gamma)  // Cov(x_t, x_{t−1}) = ΦΓ
/// Var(w·x_t + v·x_{t−1}) = wᵀΓw + vᵀΓv + 2wᵀΦΓv.
func projectedVariance(_ w: [Double], _ v: [Double]) -> Double {
    dot(w, matvec(process.gamma, w)) + dot(v, matvec(process.gamma, v)) + 2 * dot(w, matvec(crossCovariance, v))
}
/// `direction` rescaled so that its projection of x_t has the given variance.
func scaled(_ direction: [Double], variance: Double) -> [Double] {
    let factor = (variance / dot(direction, matvec(process.gamma, direction))).squareRoot()
    return direction.map { $0 * factor }
}
nb.claim("For smooth G of moderate growth, the cross-moment with the score at time t yields the expected m-th derivative in x_t (Theorem 2 through Lemma 3); with the mixed score S_{t,t−1,t−1}, the mixed derivative ∂_{x_t}∂²_{x_{t−1}}.")
nb.derivation(
    "z = w·x_t + v·x_{t−1} + c ~ N(c, s²),  s² = wᵀΓw + vᵀΓv + 2wᵀΦΓv",
    "G = sin z:      ∇^m_{x_t} G = sin⁽ᵐ⁾(z) w^{⊗m},  E[sin⁽ᵐ⁾(z)] = sin(c + mπ/2) e^{−s²/2}",
    "G = s^m He_m((z−c)/s): a degree-m polynomial with leading term z^m, so ∇^m_{x_t} G = m! w^{⊗m}, a constant",
    "mixed score:    ∂_{x_t}∂²_{x_{t−1}} G = G‴(z) w ⊗ v ⊗ v",
    "w is scaled so that Var(w·x_t) = m: the signal |w|^m e^{−s²/2} against the noise of S_m is largest near there")
// Each Stein check: the slots of the score (times) and the directions w, v of z.
struct SteinCase: Sendable {
    let label: String
    let times: [Int]
    let w: [Double]
    let v: [Double]
    var order: Int { times.count }
    /// The modes of ∇G: w for a slot at t, v for a slot at t−1.
    var directions: [[Double]] { times.map { $0 == times[0] ? w : v } }
}
let baseW = [0.6, -0.4], baseV = [0.5, 0.3]
let steinCases = (1...4).map { m in
    SteinCase(label: "S_\(m)(x[n], t)", times: Array(repeating: t, count: m), w: scaled(baseW, variance: Double(m)), v: scaled(baseV, variance: 0.25))
} + [SteinCase(label: "S_{t,t−1,t−1}(x[n])", times: [t, t - 1, t - 1], w: scaled(baseW, variance: 1), v: scaled(baseV, variance: 2))]
struct TestFunction: Sendable {
    let name: String
    /// G(z) for a Stein case.
    let value: @Sendable (Double, SteinCase, Double) -> Double
    /// E[G⁽ᵐ⁾(z)] in closed form, given s².
    let expectedDerivative: @Sendable (SteinCase, Double) -> Double
}
let testFunctions = [
    TestFunction(name: "sin z", value: { z, _, _ in sin(z) },
                 expectedDerivative: { steinCase, variance in sin(c + Double(steinCase.order) * .pi / 2) * exp(-variance / 2) }),
    TestFunction(name: "s^m He_m((z−c)/s)",
                 value: { z, steinCase, variance in
                     let s = variance.squareRoot()
                     return pow(s, Double(steinCase.order)) * Hermite.evaluate(Hermite.closedForm(order: steinCase.order), at: (z - c) / s)
                 },
                 expectedDerivative: { steinCase, _ in Hermite.factorial(steinCase.order) }),
]
let variances = steinCases.map { projectedVariance($0.w, $0.v) }
nb.table(["score", "w", "v", "s²"], zip(steinCases, variances).map { [$0.label, row($0.w, digits: 3), row($0.v, digits: 3), formatNumber($1)] })
// Sized for power: the widest relative band, G = sin z with the mixed score (signal e^{−s²/2}
// small), was 0.44 at 10⁶ windows, too wide to reject ½·E; at 3·10⁶ it is about 0.25, and every
// check rejects E = 0, 2E and ½E. In --quick several are INCONCLUSIVE.
let steinSamples = options.sampleCount(full: 3_000_000, quick: 100_000)
nb.say("c = \(c); t = \(t + 1) of n = \(length); N = \(steinSamples) windows in \(chunks) independent chunks; tolerances as stated in §2.5: \(formatNumber(nb.monteCarloBand(degreesOfFreedom: chunks - 1), digits: 3))σ of the error norm, σ from the \(chunks) batch means.")
let progress = nb.progress("Stein's identity", total: steinSamples)
let steinProcess = process
let steinPrecision = precision
// Every (function, case) pair from the same windows: one pass, accumulating all of them.
let shapes = steinCases.map { Array(repeating: dx, count: $0.order) }
let totalEntries = shapes.map { $0.reduce(1, *) }.reduce(0, +) * testFunctions.count
// Each score compiled once into its monomials in u_t, u_{t−1} (DenseScorePlan): per window, two
// first-order scores and a few hundred products, no allocation per score (the window and its
// two u's are still fresh arrays).
let steinPlans = steinCases.map { DenseScorePlan(slotTimes: $0.times, precision: steinPrecision) }
let stein = StreamingMean.inChunks(chunks, samples: steinSamples, shape: [totalEntries]) { chunk, count, acc in
    var rng = RandomStream(seed: options.seed, purpose: "stein", index: UInt64(chunk))
    var sample = [Double](repeating: 0, count: totalEntries)
    var scores = [Double](repeating: 0, count: steinPlans.map(\.count).reduce(0, +))
    // u_t then u_{t−1}, stacked as the plans read them (their times are [t] or [t, t−1]).
    var stacked = [Double](repeating: 0, count: 2 * dx)
    precondition(steinPlans.allSatisfy { $0.times == [t] || $0.times == [t, t - 1] })
    for k in 0..<count {
        let x = steinProcess.sampleWindow(length: length, using: &rng)
        let xt = Array(x.storage[(t * dx)..<((t + 1) * dx)]), previous = Array(x.storage[((t - 1) * dx)..<(t * dx)])
        stacked.replaceSubrange(0..<dx, with: steinPrecision.u(x, at: t))
        stacked.replaceSubrange(dx..<(2 * dx), with: steinPrecision.u(x, at: t - 1))
        scores.withUnsafeMutableBufferPointer { out in
            stacked.withUnsafeBufferPointer { u in
                var offset = 0
                for plan in steinPlans {
                    plan.evaluate(u: u, into: out, at: offset)
                    offset += plan.count
                }
            }
        }
        var offset = 0
        for f in testFunctions {
            var scoreOffset = 0
            for (index, (plan, steinCase)) in zip(steinPlans, steinCases).enumerated() {
                let g = f.value(dot(steinCase.w, xt) + dot(steinCase.v, previous) + c, steinCase, variances[index])
                for e in 0..<plan.count { sample[offset + e] = g * scores[scoreOffset + e] }
                offset += plan.count
                scoreOffset += plan.count
            }
        }
        acc.add(sample)
        if k % 1000 == 999 { progress.advance(1000) }
    }
}
progress.done()
var offset = 0
var steinRows: [[String]] = []
for (functionIndex, f) in testFunctions.enumerated() {
    for (index, steinCase) in steinCases.enumerated() {
        let m = steinCase.order
        let size = shapes[index].reduce(1, *)
        let estimate = stein.entries(offset..<(offset + size), shape: shapes[index])
        let expected = Tensor.outer(steinCase.directions) * f.expectedDerivative(steinCase, variances[index])
        let pureTime = steinCase.times.allSatisfy { $0 == t }
        let verdict = nb.monteCarlo("G = \(f.name): E[G ⊗ \(steinCase.label)] = E[\(pureTime ? "∇^\(m)_{x_t}" : "∂_{x_t}∂²_{x_{t−1}}") G]",
                                    paper: pureTime ? "Theorem 2, Lemma 3" : "Theorem 2 (mixed score, MATH.md §2)",
                                    estimate: estimate, expected: expected)
        steinRows.append([f.name, steinCase.label, formatNumber(expected.frobeniusNorm), formatNumber(verdict.measured), formatNumber(verdict.tolerance)])
        let name = "stein_\(functionIndex == 0 ? "sin" : "poly")_\(pureTime ? "S\(m)" : "S_t_tm1_tm1")"
        file.addMoment(name, estimate: estimate, theory: expected,
                       description: "G(x[n]) ⊗ \(steinCase.label), G = \(f.name), z = w·x_t + v·x_{t−1} + c (attributes w, v, c).",
                       formula: "Ê[G ⊗ \(steinCase.label)]",
                       theoryFormula: pureTime ? "E[G⁽ᵐ⁾(z)] w^{⊗m}" : "E[G‴(z)] w⊗v⊗v", paper: "Theorem 2, Lemma 3",
                       attributes: ["w": .reals(steinCase.w), "v": .reals(steinCase.v), "c": .real(c), "check": .string(nb.lastCheckPath)])
        offset += size
    }
}
nb.table(["G", "score", "‖E[∇G]‖", "rel. error", "tolerance"], steinRows)
nb.figure("stein", caption: "Stein's identity per order: every entry of Ê[G ⊗ S_m(x[n], t)], with bars of ±k·se (its own standard error, k the band of the moment's check, which bounds the whole error norm by k·‖se‖), against the closed form E[∇^m G], for both test functions G and the mixed score.")

// The contracted score: the same projections without building the dx^m tensor.
nb.say("The contracted score S_{τ1…τm}(x[n])(v1, …, vm) is computed without the dense tensor, as a multivariate Hermite polynomial in the projections u_τ·v (cost polynomial in m for a fixed number of distinct vectors). On the first 2000 windows of the same stream, against the dense score contracted with the same vectors; each gap against the two computations' rounding bounds, γ_K·Σ|terms| (Higham §3.1), Σ|terms| being the matching sum of absolute values contracted with |v|:")
do {
    var rng = RandomStream(seed: options.seed, purpose: "stein", index: 0)
    var worst = 0.0
    for _ in 0..<2000 {
        let x = process.sampleWindow(length: length, using: &rng)
        for steinCase in steinCases {
            let m = steinCase.order
            let dense = GaussianScore.mixed(window: x, times: steinCase.times, precision: precision)
            let slots = zip(steinCase.times, steinCase.directions).map { ScoreSlot(time: $0, vector: $1) }
            let contraction = ContractedScore(slots: slots, precision: precision)
            let contracted = contraction.value(window: x, precision: precision)
            let reference = dense.contracted(withVectors: steinCase.directions)
            // Dense route: each entry within γ_K·Σ|terms|, then dx^m products of m factors summed.
            let denseRounding = Rounding.gamma(GaussianScore.roundings(order: m, dimension: dx))
                + Rounding.gamma(m + Int(pow(Double(dx), Double(m))))
            let bound = denseRounding * contraction.absoluteTermSum(window: x, precision: precision)
                + contraction.roundingBound(window: x, precision: precision)
            worst = max(worst, abs(contracted - reference) / bound)
        }
    }
    nb.atMost("contracted score = dense score contracted with the same vectors (worst of 2000 windows × 5 scores)",
              paper: "MATH.md §2", quantity: "max |gap| / rounding bound", measured: worst, bound: 1,
              basis: "each gap within the sum of both computations' rounding bounds")
}

// MARK: - Counterexample: the i.i.d. score on AR(1) data

nb.section("Counterexample: the i.i.d. score used on AR(1) data breaks Stein's identity")
nb.claim("Treating the inputs as independent, each x_t ~ N(0, Γ) (the i.i.d. score S^{iid}_m built from u = Γ⁻¹x_t), gives E[G ⊗ S^{iid}_m] = E[∇^m_{x_t} G]. It does for G of x_t alone; it does not once G also depends on a neighbour, as an RNN output y_t depends on x_{t−1}.")
nb.derivation(
    "S^{iid}_1 = Γ⁻¹ x_t,  S₁(x[n], t) = (P x)_t = Γ⁻¹x_t + [(P x)_t − Γ⁻¹x_t]",
    "(P x)_t − Γ⁻¹x_t = (Q + ΦᵀQΦ − Γ⁻¹) x_t − QΦ x_{t−1} − ΦᵀQ x_{t+1}: correlated with any G of x_{t−1}",
    "Stein for the marginal N(0, Γ) of x_t still holds when G depends on x_t alone")
let iidPrecision = WindowPrecision.independent(marginalPrecision: process.stationaryPrecision, length: length)
let refutationSamples = steinSamples
let iidCases = [1, 2].flatMap { m in
    [(coupled: true, steinCase: SteinCase(label: "G = sin(w·x_t + v·x_{t−1} + c)", times: Array(repeating: t, count: m),
                                          w: scaled(baseW, variance: Double(m)), v: scaled(baseV, variance: 1))),
     (coupled: false, steinCase: SteinCase(label: "G = sin(w·x_t + c)", times: Array(repeating: t, count: m),
                                           w: scaled(baseW, variance: Double(m)), v: [0, 0]))]
}
let iidEntries = iidCases.map { Int(pow(Double(dx), Double($0.steinCase.order))) }.reduce(0, +)
let iidProgress = nb.progress("i.i.d. score", total: refutationSamples)
let iidPlans = iidCases.map { DenseScorePlan(slotTimes: $0.steinCase.times, precision: iidPrecision) }
let iid = StreamingMean.inChunks(chunks, samples: refutationSamples, shape: [iidEntries]) { chunk, count, acc in
    var rng = RandomStream(seed: options.seed, purpose: "iid score", index: UInt64(chunk))
    var sample = [Double](repeating: 0, count: iidEntries)
    for k in 0..<count {
        let x = steinProcess.sampleWindow(length: length, using: &rng)
        let xt = Array(x.storage[(t * dx)..<((t + 1) * dx)]), previous = Array(x.storage[((t - 1) * dx)..<(t * dx)])
        let ut = iidPrecision.u(x, at: t)
        var offset = 0
        sample.withUnsafeMutableBufferPointer { out in
            ut.withUnsafeBufferPointer { u in
                for ((_, iidCase), plan) in zip(iidCases, iidPlans) {
                    let z = dot(iidCase.w, xt) + dot(iidCase.v, previous) + c
                    plan.evaluate(u: u, scale: sin(z), into: out, at: offset)
                    offset += plan.count
                }
            }
        }
        acc.add(sample)
        if k % 1000 == 999 { iidProgress.advance(1000) }
    }
}
iidProgress.done()
var iidOffset = 0
for (coupled, iidCase) in iidCases {
    let m = iidCase.order
    let size = Int(pow(Double(dx), Double(m)))
    let estimate = iid.entries(iidOffset..<(iidOffset + size), shape: Array(repeating: dx, count: m))
    let expected = Tensor.outerPower(iidCase.w, m) * (sin(c + Double(m) * .pi / 2) * exp(-projectedVariance(iidCase.w, iidCase.v) / 2))
    nb.monteCarlo("\(iidCase.label): E[G ⊗ S^{iid}_\(m)] = E[∇^\(m)_{x_t} G]", paper: "Theorem 2 misapplied",
                  estimate: estimate, expected: expected, kind: coupled ? .counterexample : .check)
    let name = "iid_score_\(coupled ? "coupled" : "local")_S\(m)"
    file.addMoment(name, estimate: estimate, theory: expected,
                   description: "\(iidCase.label) ⊗ S^{iid}_\(m) on AR(1) windows, with the i.i.d. score (marginal N(0, Γ)); attributes w, v, c.",
                   formula: "Ê[G ⊗ S^{iid}_m],  S^{iid} from u = Γ⁻¹ x_t",
                   theoryFormula: "E[∇^m_{x_t} G] = sin(c + mπ/2) e^{−s²/2} w^{⊗m}", paper: "Theorem 2 (misapplied)",
                   attributes: ["w": .reals(iidCase.w), "v": .reals(iidCase.v), "c": .real(c)])
    iidOffset += size
}

// MARK: - Saving

var sampleRng = RandomStream(seed: options.seed, purpose: "saved windows")
let savedWindows = (0..<5).map { _ in process.sampleWindow(length: length, using: &sampleRng) }
file.addDataset("/samples/x", Tensor(shape: [5, length, dx], storage: savedWindows.flatMap(\.storage)),
                description: "Five windows x[n] of the vector AR(1) input, N×n×dx, to look at.",
                formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
file.addDataset("/samples/u", Tensor(shape: [5, length, dx], storage: savedWindows.flatMap { precision.u($0).storage }),
                description: "The first-order scores u = P x of the same windows (row t is S₁(x[n], t)).",
                formula: "S₁(x[n], t) = (P x)_t", paper: "eq. 11, Lemma 4")
let path = nb.must("could not save the results") { try nb.save(file) }
exit(nb.finish(savedFiles: [path]))
