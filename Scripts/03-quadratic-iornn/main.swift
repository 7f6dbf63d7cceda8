// Walkthrough 03 — the quadratic IO-RNN: GLOREE as printed, where it breaks, and a corrected
// estimator (paper §3.2, Theorem 5, Algorithm 1; MATH.md §4).
// Run: swift run -c release 03-quadratic-iornn [--quick] [--markdown]
import Foundation
import SpectralRNN

let options = NotebookOptions.parseCommandLine(program: "03-quadratic-iornn")
let nb = Notebook(walkthrough: "03-quadratic-iornn", title: "The quadratic IO-RNN: GLOREE as printed, where it breaks, and a corrected estimator", options: options)
var file = HDF5Tree()
nb.planMonteCarloChecks(3, familyFalseAlarmRate: 1e-3)

func row(_ values: [Double], digits: Int = 4) -> String {
    "(" + values.map { formatNumber($0, digits: digits) }.joined(separator: ", ") + ")"
}

/// The duals of a full-row-rank k×d matrix: the columns of its pseudo-inverse (d×k).
@MainActor func duals(_ m: Tensor) -> Tensor { nb.must("pseudo-inverse") { try pseudoInverse(m) } }

/// `T(β_j, α_j, α_k, α_k) / 4` for all j, k: U from a dense mixed moment (MATH.md §4(c)).
func uFromMixedMoment(_ t: Tensor, alpha: Tensor, beta: Tensor) -> Tensor {
    let dh = alpha.shape[1]
    return Tensor(shape: [dh, dh]) { i in
        t.contracted(withVectors: [beta.column(i[0]), alpha.column(i[0]), alpha.column(i[1]), alpha.column(i[1])]) / 4
    }
}

// MARK: - The model

let (dx, dh, dy) = (4, 3, 4)
let phi = 0.5
let outputNoise = 0.1
let process = nb.must("AR(1) process") { try AR1Process(phi: Tensor.identity(dx) * phi, sigma: Tensor.identity(dx)) }
let model = nb.must("the IO-RNN") {
    try QuadraticIORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: outputNoise,
                              spectralNormU: 0.2, rowNormA1: 0.5, seed: options.seed)
}
let windowLength = 8
nb.section("The model: a quadratic IO-RNN on AR(1) input (paper §3.2)")
nb.claim("h_0 = 0, h_t = (A1 x_t + U h_{t−1})^{∘2}, y_t = A2ᵀ h_t + η_t; x_t = φ x_{t−1} + ε_t. A1 is dh×dx (rows a_j), U is dh×dh, A2 is dh×dy (rows b_j).")
let rho = nb.must("input bound") { try QuadraticIORNN.inputBound(for: process, exceedanceProbability: 1e-9) }
let stability = nb.must("stability report") { try model.stabilityReport(inputBound: rho) }
nb.say("dx = \(dx), dh = \(dh), dy = \(dy), Φ = \(phi)·I, Σ = I, output noise \(outputNoise), windows of n = \(windowLength) steps. \(stability)")
file.addDataset("/model/A1", model.a1, description: "True A1 (dh×dx): row j is a_j.", formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
file.addDataset("/model/U", model.u, description: "True U (dh×dh).", formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
file.addDataset("/model/A2", model.a2, description: "True A2 (dh×dy): row j is b_j.", formula: "y_t = A2ᵀ h_t + η_t", paper: "§3.2")
file.addDataset("/model/Phi", process.phi, description: "AR(1) transition of the input.", formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
file.addDataset("/model/Sigma", process.sigma, description: "AR(1) innovation covariance.", formula: "ε_t ~ N(0, Σ)", paper: "§2.5")
file.setAttribute("noise", .real(outputNoise), at: "/model")
file.setAttribute("window_length", .integer(windowLength), at: "/model")

// MARK: - Theorem 5, first display

let largestWindows = options.quick ? 16_000 : 128_000
let data = nb.must("simulation") { try model.simulate(process: process, windows: largestWindows, length: windowLength, seed: options.seed, purpose: "training windows") }
let source = TensorWindowSource(x: data.x, y: data.y)
var fixedRng = RandomStream(seed: options.seed, purpose: "fixed window")
let fixedWindow = process.sampleWindow(length: windowLength, using: &fixedRng)
let t = 4  // 0-based: an interior time with two predecessors
let outputsAtT: (Tensor) throws -> [Double] = { x in try model.outputs(for: x).row(t) }

nb.section("§3.2 Theorem 5, first display: E[y_t ⊗ S₂(x[n], t)] = 2 Σ_j b_j ⊗ a_j ⊗ a_j")
nb.claim("The second derivative of y_t in x_t is 2 Σ_j b_j ⊗ a_j ⊗ a_j for every input (eq. 14), so its expectation, which Stein's identity turns into E[y_t ⊗ S₂(x[n], t)], is the same constant tensor — the paper is right here.")
nb.derivation(
    "h_{t−1} does not depend on x_t  ⇒  h_{t,j} = (a_j·x_t + U_{j·}h_{t−1})² is quadratic in x_t",
    "∇²_{x_t} y_t = Σ_j b_j ⊗ ∇²_{x_t} h_{t,j} = 2 Σ_j b_j ⊗ a_j ⊗ a_j   (exactly, for every x[n])",
    "Lemma 3:  E[y_t ⊗ S₂(x[n], t)] = E[∇²_{x_t} y_t] = 2 Σ_j b_j ⊗ a_j ⊗ a_j,  S₂(x[n], t) = u_t ⊗ u_t − P_tt")
let secondPopulation = model.populationSecondOrderMoment()
let hessian = nb.must("finite differences") { try FiniteDifference.mixedDerivative(of: outputsAtT, at: fixedWindow, times: [t, t], step: 0x1p-4) }
nb.agree("∇²_{x_t} y_t = 2 Σ_j b_j ⊗ a_j ⊗ a_j on a fixed window (central differences, h = 1/16)", paper: "Theorem 5, eq. 14",
         computed: hessian.derivative, reference: secondPopulation,
         tolerance: hessian.roundingBound / secondPopulation.frobeniusNorm, basis: "rounding bound of the stencil (y_t is quadratic in x_t: no truncation error)")
let pairs = largestWindows * windowLength
let secondProgress = nb.progress("second-order moment", total: 1)
let secondSampled = nb.must("second-order moment") { try estimateSecondOrderMoment(source, process: process) }
secondProgress.done()
nb.say(nb.monteCarloPolicy(batches: secondSampled.batchCount))
nb.monteCarlo("Ê[y_t ⊗ S₂(x[n], t)] = 2 Σ_j b_j ⊗ a_j ⊗ a_j, pooled over every t of \(largestWindows) windows", paper: "Theorem 5",
              estimate: secondSampled, expected: secondPopulation)
file.addMoment("second", estimate: secondSampled, theory: secondPopulation,
               description: "Ê[y_t ⊗ S₂(x[n], t)] (dy×dx×dx), pooled over every t of every window.",
               formula: "Ê[y_t ⊗ (u_t ⊗ u_t − P_tt)]", theoryFormula: "2 Σ_j b_j ⊗ a_j ⊗ a_j", paper: "Theorem 5, eq. 14")

// MARK: - Theorem 5, second display: refuted

nb.section("§3.2 Theorem 5, second display, and Algorithm 1 lines 5–10: refuted (errata 3–4)")
nb.claim("The paper: E[y_t ⊗ Reshape(S₄(x[n], t−1), [1 2], [3 4])] = Σ_j b_j ⊗ w_j ⊗ w_j with w_j = [U(A1 ⊙ A1)]^{(j)} = vec(M_j), M_j = Σ_k U_jk a_k a_kᵀ. But a fourth derivative is a symmetric tensor, and that form is not.")
nb.derivation(
    "U_{j·}h_{t−1} = Σ_k U_jk (a_k·x_{t−1} + U_{k·}h_{t−2})² = x_{t−1}ᵀ M_j x_{t−1} + (terms of degree ≤ 1 in x_{t−1})",
    "h_{t,j} = (a_j·x_t + U_{j·}h_{t−1})²  ⇒  ∇⁴_{x_{t−1}} h_{t,j} = ∇⁴ (xᵀM_jx)² = 8 (M_j⊗M_j + the two other pairings)",
    "true:    E[y_t ⊗ S₄(x[n], t−1)]_{iabcd} = 8 Σ_j b_{ji} [(M_j)_ab(M_j)_cd + (M_j)_ac(M_j)_bd + (M_j)_ad(M_j)_bc]",
    "printed: Σ_j b_{ji} (M_j)_ab (M_j)_cd — one pairing only, whatever constant multiplies it",
    "Alg. 1 line 7 contracts T(I, I, I, θ, θ) = 8 Σ_j b_j ⊗ [(θᵀM_jθ) M_j + 2 (M_jθ)(M_jθ)ᵀ]: not rank dh;",
    "line 10 sets rows of U(A1 ⊙ A1) ∈ R^{dh×dx²} to (R̂2 + R̂3)/2 ∈ R^{dx}: the dimensions do not even match")
// Windows of n = 2: the only pair is t = 2 with h_{t−2} = 0, so y_t is a polynomial of degree 4
// in x_{t−1} and the products with S₄ have the lightest tails this moment allows.
let small = nb.must("the small IO-RNN") {
    let base = try QuadraticIORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: outputNoise,
                                         spectralNormU: 0.5, rowNormA1: 1.0, seed: options.seed)
    return try QuadraticIORNN(a1: base.a1, u: base.u * 2, a2: base.a2, noise: outputNoise)
}
let smallProcess = nb.must("AR(1) process") { try AR1Process(phi: Tensor.identity(3) * phi, sigma: Tensor.identity(3)) }
let smallWindows = options.quick ? 40_000 : 1_000_000
let smallData = nb.must("simulation") { try small.simulate(process: smallProcess, windows: smallWindows, length: 2, seed: options.seed, purpose: "fourth-order windows") }
nb.say("A smaller model for the dense fourth-order moment: dx = 3, dh = 2, dy = 3, ‖U‖ = 1, rows of A1 of norm 1; windows of n = 2 (the pair t = 2: h_0 = 0 keeps y_t a quartic in x_{t−1}), \(smallWindows) windows.")
let m = small.mixingMatrices()  // dh×dx²: row j is vec(M_j)
var printedForm = Tensor.zeros([3, 3, 3, 3, 3])
var trueForm = Tensor.zeros([3, 3, 3, 3, 3])
for j in 0..<2 {
    let mj = Tensor(shape: [3, 3], storage: m.row(j))
    let pairing = Tensor.outer(mj, mj)  // (M_j)_ab (M_j)_cd
    let symmetric = pairing + pairing.permuted([0, 2, 1, 3]) + pairing.permuted([0, 2, 3, 1])
    printedForm += Tensor.outer(Tensor(vector: small.a2.row(j)), pairing)
    trueForm += Tensor.outer(Tensor(vector: small.a2.row(j)), symmetric) * 8
}
nb.agree("the printed form is symmetric in its four x-modes, as a fourth derivative must be", paper: "Theorem 5, errata 3",
         computed: printedForm.symmetrized(modes: [1, 2, 3, 4]), reference: printedForm, kind: .refutation)
nb.agree("the true form is symmetric in its four x-modes", paper: "MATH.md §4(b)",
         computed: trueForm.symmetrized(modes: [1, 2, 3, 4]), reference: trueForm)
let bestConstant = dot(trueForm.storage, printedForm.storage) / dot(printedForm.storage, printedForm.storage)
let printedScaled = printedForm * bestConstant
let exactGap = (printedScaled - trueForm).frobeniusNorm / trueForm.frobeniusNorm
let fourthProgress = nb.progress("fourth-order moment", total: 1)
let fourth = nb.must("fourth-order moment") {
    try estimateWindowScoreMoment(TensorWindowSource(x: smallData.x, y: smallData.y), process: smallProcess, offsets: [-1, -1, -1, -1])
}
fourthProgress.done()
nb.say("Even given its best constant c = \(formatNumber(bestConstant)), the printed form is \(formatNumber(exactGap)) away from the true one (relative, exact). Sampled:")
nb.monteCarlo("true: Ê[y_t ⊗ S₄(x[n], t−1)] = 8 Σ_j b_j ⊗ (M_j⊗M_j + two other pairings)", paper: "MATH.md §4(b)",
              estimate: fourth, expected: trueForm)
let band = nb.monteCarloBand(degreesOfFreedom: fourth.count - 1) * fourth.standardError.frobeniusNorm / trueForm.frobeniusNorm
if band < exactGap / 2 {
    nb.monteCarlo("printed: Ê[y_t ⊗ S₄(x[n], t−1)] = c Σ_j b_j ⊗ w_j ⊗ w_j (best c)", paper: "Theorem 5, second display (errata 3)",
                  estimate: fourth, expected: printedScaled, kind: .refutation)
} else {
    nb.say("At N = \(fourth.count) the band (\(formatNumber(band)) relative) is too wide to separate the two forms (gap \(formatNumber(exactGap))): the sample cannot refute the printed form here; the exact symmetry argument above does.")
}
nb.exact("Algorithm 1 line 10: (R̂2 + R̂3)/2 has as many entries as a row of U(A1 ⊙ A1)", paper: "Algorithm 1 (errata 4)",
         quantity: "dx² − dx", measured: Double(3 * 3 - 3), expected: 0, tolerance: 0, basis: "dimensions", kind: .refutation)
file.addMoment("fourth_order", estimate: fourth, theory: trueForm,
               description: "Ê[y_t ⊗ S₄(x[n], t−1)] (dy×dx×dx×dx×dx) for the small model (/model_small).",
               formula: "Ê[y_t ⊗ S₄(x[n], t−1)]", theoryFormula: "8 Σ_j b_j ⊗ Sym(M_j ⊗ M_j)",
               paper: "Theorem 5 (second display), MATH.md §4(b)")
file.addDataset("/theory/fourth_order_printed", printedScaled, description: "The paper's form c Σ_j b_j ⊗ w_j ⊗ w_j (reshaped to dy×dx⁴), with the constant c that fits the true tensor best.",
                formula: "c Σ_j b_j ⊗ vec(M_j) ⊗ vec(M_j)", paper: "Theorem 5, second display")
file.addDataset("/model_small/A1", small.a1, description: "A1 of the small model of the fourth-order section.", formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
file.addDataset("/model_small/U", small.u, description: "U of the small model.", formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
file.addDataset("/model_small/A2", small.a2, description: "A2 of the small model.", formula: "y_t = A2ᵀ h_t + η_t", paper: "§3.2")

// MARK: - The corrected estimator

nb.section("MATH.md §4(c): a corrected estimator of U — one derivative in x_t, two in x_{t−1}")
nb.claim("E[y_t ⊗ S_{t,t−1,t−1}(x[n])] = 4 Σ_j b_j ⊗ a_j ⊗ M_j exactly, a third-order mixed score instead of the paper's fourth-order one; with the duals α_j (columns of A1⁺) and β_j (columns of A2⁺), U_jk = T(β_j, α_j, α_k, α_k)/4.")
nb.derivation(
    "∇_{x_t} y_t = 2 Σ_j b_j (a_j·x_t + U_{j·}h_{t−1}) a_j,   ∇²_{x_{t−1}} h_{t−1,k} = 2 a_k a_kᵀ",
    "⇒ ∂_{x_t}∂²_{x_{t−1}} y_t = 4 Σ_j b_j ⊗ a_j ⊗ Σ_k U_jk a_k a_kᵀ = 4 Σ_j b_j ⊗ a_j ⊗ M_j   (exactly)",
    "Stein (mixed score):  E[y_t ⊗ S_{t,t−1,t−1}(x[n])] = E[∂_{x_t}∂²_{x_{t−1}} y_t]",
    "T(β_j, α_j, α_k, α_k) = 4 Σ_i (β_j·b_i)(α_j·a_i)(α_kᵀ M_i α_k) = 4 U_jk   (a_i·α_k = δ_ik, b_i·β_j = δ_ij)",
    "least squares, like the paper's line 10 but well-typed: vec(M_j) = (A1 ⊙ A1)ᵀ U_{j·}ᵀ")
let mixedPopulation = model.populationMixedMoment()
let mixedDerivative = nb.must("finite differences") { try FiniteDifference.mixedDerivative(of: outputsAtT, at: fixedWindow, times: [t, t - 1, t - 1], step: 0x1p-4) }
nb.agree("∂_{x_t}∂²_{x_{t−1}} y_t = 4 Σ_j b_j ⊗ a_j ⊗ M_j on a fixed window (central differences, h = 1/16)", paper: "MATH.md §4(c)",
         computed: mixedDerivative.derivative, reference: mixedPopulation,
         tolerance: mixedDerivative.roundingBound / mixedPopulation.frobeniusNorm,
         basis: "rounding bound of the stencil (quadratic in x_t, then in x_{t−1}: no truncation error)")
let mixedSampled = nb.must("mixed moment") { try estimateMixedMoment(source, process: process) }
nb.monteCarlo("Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])] = 4 Σ_j b_j ⊗ a_j ⊗ M_j, pooled over t ≥ 2 of \(largestWindows) windows", paper: "MATH.md §4(c)",
              estimate: mixedSampled, expected: mixedPopulation)
let trueAlpha = duals(model.a1), trueBeta = duals(model.a2)
let uFromTruth = uFromMixedMoment(mixedSampled.mean, alpha: trueAlpha, beta: trueBeta)
let uExact = uFromMixedMoment(mixedPopulation, alpha: trueAlpha, beta: trueBeta)
nb.agree("U_jk = T(β_j, α_j, α_k, α_k)/4 on the exact moment", paper: "MATH.md §4(c)", computed: uExact, reference: model.u)
nb.say("From the sampled moment with the true A1, A2: relative error of U \(formatNumber(uFromTruth.relativeError(to: model.u))).")
file.addMoment("mixed", estimate: mixedSampled, theory: mixedPopulation,
               description: "Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])] (dy×dx×dx×dx), pooled over t ≥ 2.",
               formula: "Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]", theoryFormula: "4 Σ_j b_j ⊗ a_j ⊗ M_j", paper: "MATH.md §4(c)")

// MARK: - End to end from samples

nb.section("GLOREE end to end from samples: parameters, predictions, and the rate N^{−1/2}")
nb.claim("From windows alone: A1 and A2 from the decomposition of Ê[y_t ⊗ S₂(x[n], t)] (simultaneous diagonalization), U from the projected corrected moment with the estimated duals. The recovered model, compared modulo its equivalences (permutation and per-unit scaling (a_j, U_{j·}, U_{·j}, b_j) → (s a_j, s U_{j·}, U_{·j}/s², b_j/s²)), predicts fresh windows, and the errors fall at least like N^{−1/2} (Theorem 5's rate is an upper bound).")
let exactFit = nb.must("GLOREE on exact moments") { try gloree(fromMoments: secondPopulation, mixed: mixedPopulation, hidden: dh) }
let exactErrors = nb.must("alignment") { try ParameterErrors(try exactFit.model(), truth: model) }
nb.atMost("from the exact (population) moments GLOREE recovers A1, U and A2", paper: "Theorem 5, MATH.md §4(c)",
          quantity: "largest rel. error", measured: max(exactErrors.a1, exactErrors.u, exactErrors.a2), bound: 1e-10,
          basis: "exact input: rounding only")
var testRng = RandomStream(seed: options.seed, purpose: "test windows")
let testWindows = options.quick ? 500 : 2_000
let testX = Tensor(shape: [testWindows, windowLength, dx],
                   storage: (0..<testWindows).flatMap { _ in process.sampleWindow(length: windowLength, using: &testRng).storage })
let windowCounts = options.quick ? [4_000, 8_000, 16_000] : [8_000, 16_000, 32_000, 64_000, 128_000]
var rateRows: [[String]] = []
var logN: [Double] = [], logPrediction: [Double] = [], logU: [Double] = []
var largestFit: GLOREEResult?
let rateProgress = nb.progress("GLOREE against N", total: windowCounts.reduce(0, +))
for count in windowCounts {
    let windows = Tensor(shape: [count, windowLength, dx], storage: Array(data.x.storage.prefix(count * windowLength * dx)))
    let outputs = Tensor(shape: [count, windowLength, dy], storage: Array(data.y.storage.prefix(count * windowLength * dy)))
    let result = nb.must("GLOREE") { try gloree(TensorWindowSource(x: windows, y: outputs), process: process, hidden: dh, seed: options.seed) }
    let estimate = nb.must("estimated model") { try result.model() }
    let errors = nb.must("alignment") { try ParameterErrors(estimate, truth: model) }
    // An estimate can be less stable than the truth: its recurrence may diverge on a test window.
    guard let prediction = try? predictionError(estimate, model, on: testX) else {
        rateRows.append(["\(count)", "\(result.diagnostics.secondMomentSamples)", formatNumber(errors.a1), formatNumber(errors.u), formatNumber(errors.a2), "diverged"])
        rateProgress.advance(count)
        continue
    }
    rateRows.append(["\(count)", "\(result.diagnostics.secondMomentSamples)", formatNumber(errors.a1), formatNumber(errors.u), formatNumber(errors.a2), formatNumber(prediction)])
    logN.append(log(Double(count)))
    logPrediction.append(log(prediction))
    logU.append(log(errors.u))
    if count == windowCounts.last { largestFit = result }
    rateProgress.advance(count)
}
rateProgress.done()
nb.say("Errors after alignment (relative Frobenius) and prediction error ‖ŷ − y*‖/‖y*‖ on \(testWindows) fresh windows against the noiseless truth; the first N windows of one simulated set each time.")
nb.table(["windows N", "(window, t) pairs", "A1", "U", "A2", "prediction"], rateRows)
/// Least-squares slope of y on x and its standard error from the residuals.
func slope(_ x: [Double], _ y: [Double]) -> (slope: Double, standardError: Double) {
    let n = Double(x.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
    let b = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +) / sxx
    let residual = zip(x, y).map { pow($1 - my - b * ($0 - mx), 2) }.reduce(0, +)
    return (b, (residual / max(1, n - 2) / sxx).squareRoot())
}
let predictionSlope = slope(logN, logPrediction), uSlope = slope(logN, logU)
nb.say("Fitted log–log slopes: prediction error \(formatNumber(predictionSlope.slope)) ± \(formatNumber(predictionSlope.standardError)), U error \(formatNumber(uSlope.slope)) ± \(formatNumber(uSlope.standardError)) (± the slope's standard error from the regression's residuals).")
if !options.quick && logN.count == windowCounts.count {
    // Theorem 5's sample complexity is an upper bound, O(N^{−1/2}); at these N the errors of the
    // duals and of the moments still multiply (second-order terms), so the decline can be steeper.
    for (name, fitted) in [("prediction error", predictionSlope), ("U error", uSlope)] {
        nb.atMost("the \(name) falls at least as fast as N^{−1/2}", paper: "Theorem 5 (sample complexity)",
                  quantity: "max(0, slope + 1/2)", measured: max(0, fitted.slope + 0.5), bound: 3 * fitted.standardError,
                  basis: "3 standard errors of the fitted slope (\(windowCounts.count) sample sizes)")
    }
    nb.atMost("with \(rateRows.last![1]) (window, t) pairs the recovered model predicts fresh windows within a few percent",
              paper: "issue target", quantity: "prediction error", measured: exp(logPrediction.last!), bound: 0.05,
              basis: "target: 5%")
}

// MARK: - Dense and projected

nb.section("Dense and projected estimators of the corrected moment agree")
nb.claim("Contracting the dense dy×dx×dx×dx estimate with (β_j, α_j, α_k, α_k) gives, sample by sample, the projected estimate that never builds it: the two means agree to rounding. The projected one costs O(dh·(dx + dy) + dh²) per (window, t) pair instead of O(dy·dx³).")
guard let fitted = largestFit else { nb.stop("no fit at the largest sample size") }
let clock = ContinuousClock()
var denseMoment: StreamingMean?
let denseTime = clock.measure { denseMoment = try? estimateMixedMoment(source, process: process) }
var projectedMoment: StreamingMean?
let projectedTime = clock.measure {
    projectedMoment = try? estimateProjectedMixedMoment(source, process: process, alpha: fitted.fit.alpha, beta: fitted.fit.beta)
}
guard let dense = denseMoment, let projected = projectedMoment else { nb.stop("the mixed-moment estimators failed") }
let contracted = Tensor(shape: [dh, dh]) { i in
    dense.mean.contracted(withVectors: [fitted.fit.beta.column(i[0]), fitted.fit.alpha.column(i[0]), fitted.fit.alpha.column(i[1]), fitted.fit.alpha.column(i[1])])
}
nb.agree("projected estimate = dense estimate contracted with the estimated duals (same \(dense.count) pairs)", paper: "MATH.md §4(c), CONVENTIONS §6",
         computed: projected.mean, reference: contracted, tolerance: 1e-10,
         basis: "rounding of sums over \(dense.count) terms in two different orders")
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
nb.table(["estimator", "time (s)", "accumulator size (doubles)", "per-pair work"], [
    ["dense dy×dx³", String(format: "%.3f", seconds(denseTime)), "\(2 * dy * dx * dx * dx)", "dy·dx³ products + squares"],
    ["projected dh×dh", String(format: "%.3f", seconds(projectedTime)), "\(2 * dh * dh)", "dh·(2dx + dy) + dh² products"],
])
nb.say("Both stream the windows in batches: memory does not grow with N. Whole-program time and peak memory of `spectral-rnn fit` on a 138 MB file are measured by Scripts/benchmark-fit (docs/03-quadratic-iornn.md, Benchmark).")

// MARK: - Saving

let finalModel = nb.must("estimated model") { try fitted.model(noise: outputNoise) }
let aligned = nb.must("alignment") { try align(finalModel, to: model).aligned }
file.addDataset("/estimate/A1", aligned.a1, description: "A1 recovered from \(windowCounts.last!) windows, aligned to the truth (permutation, scale).", formula: "rows â_j of the decomposition of Ê[y_t ⊗ S₂]", paper: "Theorem 5, Algorithm 1")
file.addDataset("/estimate/U", aligned.u, description: "U recovered by the corrected estimator, aligned.", formula: "U_jk = T(β_j, α_j, α_k, α_k)/4", paper: "MATH.md §4(c)")
file.addDataset("/estimate/A2", aligned.a2, description: "A2 recovered, aligned.", formula: "b_j = λ_j b̂_j / 2", paper: "Theorem 5")
file.addDataset("/estimate/U_from_true_duals", uFromTruth, description: "U from the sampled dense mixed moment with the true A1, A2.", formula: "T(β_j, α_j, α_k, α_k)/4", paper: "MATH.md §4(c)")
file.addDataset("/samples/x", Tensor(shape: [4, windowLength, dx], storage: Array(data.x.storage.prefix(4 * windowLength * dx))),
                description: "The first 4 training windows (N×n×dx).", formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
file.addDataset("/samples/y", Tensor(shape: [4, windowLength, dy], storage: Array(data.y.storage.prefix(4 * windowLength * dy))),
                description: "Their outputs (N×n×dy).", formula: "y_t = A2ᵀ h_t + η_t", paper: "§3.2")
let path: String
do { path = try nb.save(file) } catch { nb.stop("could not save the results: \(error)") }
exit(nb.finish(savedFiles: [path]))
