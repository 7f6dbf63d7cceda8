// Walkthrough 07 — the spectral estimate against backpropagation through time, and as its
// starting point (issue 14; the paper's §1 motivation: "training RNNs by gradient descent is
// non-convex and unstable"). Every method fits the same simulated windows; the prediction
// error is measured against the truth's noiseless outputs on fresh windows.
// Run: swift run -c release 07-spectral-vs-gradient [--quick] [--markdown]
import Foundation
import SpectralRNN

let options = NotebookOptions.parseCommandLine(program: "07-spectral-vs-gradient")
// --samples is the number of simulated windows (the held-out tenth included). `fit --refine`'s
// schedule is three epochs of N/256 minibatches: below about 14 000 windows that is too few steps
// for Adam to come within 1.5× of the same schedule started at the truth (docs/07-spectral-vs-gradient.sweep.md), so the
// smallest accepted is --quick's 20 000.
options.requireSamples(atLeast: 20_000, program: "07-spectral-vs-gradient", meaning: "sets the number of simulated windows (three epochs of fewer minibatches are too few for Adam's check)")
let nb = Notebook(walkthrough: "07-spectral-vs-gradient", title: "The spectral estimate against backpropagation through time, and as its starting point", options: options)
var file = HDF5Tree()
let clock = ContinuousClock()
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
func row(_ values: [Double], digits: Int = 3) -> String { "(" + values.map { formatNumber($0, digits: digits) }.joined(separator: ", ") + ")" }
func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
func spread(_ v: [Double], digits: Int = 3) -> String {
    guard let low = v.min(), let high = v.max() else { return "—" }
    return "\(formatNumber(median(v), digits: digits)) (\(formatNumber(low, digits: digits))–\(formatNumber(high, digits: digits)))"
}

// MARK: - The data

let (dx, dh, dy) = (4, 3, 5)
let windowLength = 32
let outputNoise = 0.1
// A non-diagonal AR(1) transition (spectral radius 0.56): the input's coordinates are correlated
// across time and with each other, which the score functions must undo.
let phi = Tensor(rows: [[0.5, 0.2, 0, 0], [-0.1, 0.4, 0.1, 0], [0, 0.1, 0.5, -0.2], [0.1, 0, 0.2, 0.3]])
let process = nb.must("AR(1) process") { try AR1Process(phi: phi, sigma: Tensor.identity(dx)) }
let truth = nb.must("the IO-RNN") {
    try IORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: outputNoise,
                     spectralNormU: 0.2, rowNormA1: 0.5, maximumCondition: 3, seed: options.seed)
}
let windows = options.sampleCount(full: 60_000, quick: 20_000)
let heldOutWindows = windows / 10
let testWindows = options.quick ? 500 : 2_000
let runs = options.quick ? 4 : 20

nb.section("The data: one simulated set for every method")
nb.claim("A quadratic IO-RNN h_t = (A1 x_t + U h_{t−1})^{∘2}, y_t = A2ᵀ h_t + η_t (paper §3.2) on a non-diagonal AR(1) input; every method below fits the same \(windows) windows of n = \(windowLength) steps, the last \(heldOutWindows) held out for the stopping rules, and is scored by its prediction error ‖ŷ − y*‖/‖y*‖ on \(testWindows) fresh windows, with y* the truth's noiseless outputs (the all-zeros predictor scores 1).")
nb.say("dx = \(dx), dh = \(dh), dy = \(dy), output noise \(outputNoise), Φ = \(row(phi.storage, digits: 2)) (row-major), Σ = I; ‖U‖ = \(formatNumber(truth.spectralNormU, digits: 3)). GLOREE also uses the input's law (Φ, Σ), as `fit` does when the file has /process; gradient descent does not need it.")
let simulationStart = clock.now
let data = nb.must("simulation") { try truth.simulate(process: process, windows: windows, length: windowLength, seed: options.seed, purpose: "07 training windows") }
let source = TensorWindowSource(x: data.x, y: data.y, stacksWindows: true)
let training = WindowRangeSource(source, windows: 0..<(windows - heldOutWindows))
let heldOut = WindowRangeSource(source, windows: (windows - heldOutWindows)..<windows)
let testX = nb.must("test windows") { try process.simulatedInputs(windowRange: 0..<testWindows, length: windowLength, seed: options.seed, purpose: "07 test windows") }
let testTarget = nb.must("the truth's outputs") { try truth.outputs(forWindows: testX) }
nb.say("Simulated in \(formatNumber(seconds(clock.now - simulationStart), digits: 2)) s (not counted in any method's time). Every time below is wall time on this machine with 2 threads, measured in this run.")
/// The prediction error on the test windows; +∞ for a model whose recurrence diverges on one.
@MainActor func predictionError(_ m: IORNN) -> Double {
    do { return try m.outputs(forWindows: testX).relativeError(to: testTarget) } catch { return .infinity }
}
file.addDataset("/model/A1", truth.a1, description: "True A1 (dh×dx).", formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
file.addDataset("/model/U", truth.u, description: "True U (dh×dh).", formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
file.addDataset("/model/A2", truth.a2, description: "True A2 (dh×dy).", formula: "y_t = A2ᵀ h_t + η_t", paper: "§3.2")
file.addDataset("/model/Phi", process.phi, description: "AR(1) transition of the input (non-diagonal).", formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
file.addDataset("/model/Sigma", process.sigma, description: "AR(1) innovation covariance.", formula: "ε_t ~ N(0, Σ)", paper: "§2.5")
file.setAttribute("noise", .real(outputNoise), at: "/model")
file.setAttribute("window_length", .integer(windowLength), at: "/model")
file.setAttribute("windows", .integer(windows), at: "/model")
file.setAttribute("held_out_windows", .integer(heldOutWindows), at: "/model")
file.setAttribute("test_windows", .integer(testWindows), at: "/model")

// MARK: - The gradient

nb.section("The gradient of the output error, by backpropagation through time")
nb.claim("For L = mean over (window, t) of ‖A2ᵀh_t − y_t‖², backwards from t = n with e_t = A2ᵀh_t − y_t and the carry c_{n+1} = 0: δ_t = σ′(z_t) ∘ (2 A2 e_t + c_{t+1}), c_t = Uᵀδ_t; ∂L/∂A1 = mean Σ_t δ_t x_tᵀ, ∂L/∂U = mean Σ_t δ_t h_{t−1}ᵀ, ∂L/∂A2 = mean Σ_t 2 h_t e_tᵀ. The carry is what makes it exact: truncated BPTT drops it.")
nb.derivation(
    "z_t = A1 x_t + U h_{t−1},  h_t = σ(z_t),  and h_{t−1} depends on A1, U through every earlier step",
    "∂L/∂h_t = 2 A2 e_t (its own output) + Uᵀ δ_{t+1} (through z_{t+1})  ⇒  δ_t = σ′(z_t) ∘ ∂L/∂h_t",
    "checked against a fourth-order central difference of L in every coordinate, step h = 10⁻⁴ (truncation O(h⁴), rounding O(ε/h)), whose own error is measured as its change from h to h/2")
let checkSource = TensorWindowSource(x: Tensor(shape: [64, windowLength, dx], storage: Array(data.x.storage[0..<(64 * windowLength * dx)])),
                                     y: Tensor(shape: [64, windowLength, dy], storage: Array(data.y.storage[0..<(64 * windowLength * dy)])),
                                     stacksWindows: true)
var initRng = RandomStream(seed: options.seed, purpose: "07 gradient check point")
/// The truth moved by N(0, 0.1²) in every entry; a draw whose recurrence diverges on one of the 64
/// windows (L is then not finite there) is drawn again.
var checkPointDraws = 0
var checkPointDrawn: IORNN?
while checkPointDrawn == nil && checkPointDraws < 100 {
    checkPointDraws += 1
    let m = nb.must("a random model") {
        try IORNN(a1: truth.a1 + initRng.gaussianTensor([dh, dx], scale: 0.1), u: truth.u + initRng.gaussianTensor([dh, dh], scale: 0.1),
                  a2: truth.a2 + initRng.gaussianTensor([dh, dy], scale: 0.1))
    }
    if (try? outputError(m, on: checkSource)) != nil { checkPointDrawn = m }
}
guard let checkPoint = checkPointDrawn else { nb.stop("no model of 100 drawn near the truth stays bounded on the 64 windows of the gradient check") }
let analytic = nb.must("BPTT gradient") { try outputErrorGradient(checkPoint, on: checkSource) }
let analyticVector = Tensor(vector: analytic.a1!.storage + analytic.u!.storage + analytic.a2!.storage)
/// ∇L by the fourth-order central difference of step h, entry by entry.
let (numericVector, numericHalfStep): (Tensor, Tensor) = nb.must("finite differences") {
    let base = checkPoint.a1.storage + checkPoint.u.storage + checkPoint.a2.storage
    let (p, q) = (dh * dx, dh * dh)
    let loss = { (theta: [Double]) throws -> Double in
        let m = try IORNN(a1: Tensor(shape: [dh, dx], storage: Array(theta[0..<p])), u: Tensor(shape: [dh, dh], storage: Array(theta[p..<(p + q)])),
                          a2: Tensor(shape: [dh, dy], storage: Array(theta[(p + q)...])))
        return try outputError(m, on: checkSource).loss
    }
    let stencil = { (h: Double) throws -> Tensor in
        Tensor(vector: try base.indices.map { i throws -> Double in
            let moved = { (s: Double) throws -> Double in var t = base; t[i] += s; return try loss(t) }
            return (8 * (try moved(h) - (try moved(-h))) - (try moved(2 * h) - (try moved(-2 * h)))) / (12 * h)
        })
    }
    return (try stencil(1e-4), try stencil(5e-5))
}
// The stencil's own error, measured: its answers at h and h/2 differ by about its error at h
// (truncation falls 16-fold from h to h/2; rounding doubles). The tolerance is 10× that.
let stencilError = (numericVector - numericHalfStep).frobeniusNorm / numericVector.frobeniusNorm
let gradientTolerance = 10 * stencilError
let truncated: Tensor = nb.must("truncated gradient") {
    let g = try truncatedOutputErrorGradient(checkPoint, x: checkSource.x, y: checkSource.y)
    return Tensor(vector: g.a1!.storage + g.u!.storage + g.a2!.storage)
}
nb.say("At a model moved from the truth by N(0, 0.1²) in every entry (draw \(checkPointDraws): the first whose recurrence stays bounded on the 64 windows; its loss \(formatNumber(analytic.loss, digits: 4)); saved as /gradient/check_point), on 64 windows: ‖∇L‖ = \(formatNumber(analyticVector.frobeniusNorm, digits: 4)) over \(analyticVector.count) parameters. The stencil at h = 10⁻⁴ and at h/2 differs by \(formatNumber(stencilError, digits: 2)) of ‖∇L‖: that is the finite differences' own error, and the checks below allow 10× it, over all \(analyticVector.count) entries at once (relative Frobenius norm).")
nb.agree("∇L by BPTT equals the fourth-order central differences of L", paper: "issue 14; MATH.md notation",
         computed: analyticVector, reference: numericVector, tolerance: gradientTolerance,
         basis: "10× the stencil's error, measured as its change from h to h/2")
nb.agree("truncated BPTT (no carry through U) gives the gradient", paper: "a shortcut a reader might take",
         computed: truncated, reference: numericVector, tolerance: gradientTolerance,
         basis: "the same check, fed a wrong gradient", kind: .counterexample)
file.addDataset("/gradient/bptt", analyticVector, description: "∇L at the check point by BPTT: A1, U, A2 row-major, one after the other (64 windows).",
                formula: "δ_t = σ′(z_t) ∘ (2 A2 e_t + Uᵀδ_{t+1})", paper: "issue 14")
file.addDataset("/gradient/finite_differences", numericVector, description: "The same gradient by fourth-order central differences of L (h = 1e-4).",
                formula: "(8(L(θ+h) − L(θ−h)) − (L(θ+2h) − L(θ−2h)))/(12h)", paper: "issue 14")
file.addDataset("/gradient/check_point", Tensor(vector: checkPoint.a1.storage + checkPoint.u.storage + checkPoint.a2.storage),
                description: "The model at which the gradients are compared: A1, U, A2 row-major, one after the other (on the windows /gradient/x, /gradient/y).",
                formula: "θ = θ* + N(0, 0.1²) per entry", paper: "issue 14")
file.addDataset("/gradient/x", checkSource.x, description: "The 64 input windows of the gradient check (the first training windows).", formula: "x_t, AR(1)", paper: "§2.3")
file.addDataset("/gradient/y", checkSource.y, description: "Their noisy outputs.", formula: "y_t = A2ᵀh_t + η_t", paper: "eq. 15")
file.addDataset("/gradient/finite_differences_half_step", numericHalfStep, description: "The same stencil at h = 5e-5: its difference from /gradient/finite_differences measures the stencil's error.",
                formula: "(8(L(θ+h) − L(θ−h)) − (L(θ+2h) − L(θ−2h)))/(12h)", paper: "issue 14")
file.addDataset("/gradient/truncated", truncated, description: "The gradient without the carry through U (truncated BPTT): wrong.",
                formula: "δ_t = σ′(z_t) ∘ 2 A2 e_t", paper: "issue 14")

// MARK: - The spectral estimate

/// One method's path: (seconds since its start, prediction error) at the points it was observed.
struct Path {
    var seconds: [Double] = []
    var errors: [Double] = []
    var steps: [Double] = []
    mutating func add(_ t: Double, _ e: Double, step: Int) { seconds.append(t); errors.append(e); steps.append(Double(step)) }
    /// Rows (step, seconds, prediction error), NaN for an error that is not finite (a diverging model).
    var tensor: Tensor { Tensor(shape: [seconds.count, 3]) { i in let v = [steps, seconds, errors][i[1]][i[0]]; return v.isFinite ? v : .nan } }
}

nb.section("The spectral estimate: one deterministic pass per moment, no initialisation")
let spectralStart = clock.now
let spectralResult = nb.must("GLOREE") { try gloree(training, process: process, hidden: dh, seed: options.seed) }
let spectral = nb.must("the estimate") { try spectralResult.model() }
let spectralTime = seconds(clock.now - spectralStart)
let spectralError = predictionError(spectral)
nb.say("GLOREE (03's estimator, `fit`'s code) on the \(windows - heldOutWindows) training windows: \(formatNumber(spectralTime, digits: 3)) s, prediction error \(formatNumber(spectralError, digits: 4)); decomposition residual \(formatNumber(spectralResult.diagnostics.decompositionResidual, digits: 3)) against the moment's relative standard error \(formatNumber(spectralResult.diagnostics.secondMomentRelativeStandardError, digits: 3)). This error is the target the gradient methods below are timed to.")

// MARK: - Refinement

/// A refinement from `start`, run by `refinement` with an observer: the path of (seconds, prediction
/// error) at each iterate it reports, and its wall time; the clock excludes the observations.
@MainActor func observedRun(from start: IORNN, startSeconds: Double = 0,
                            _ refinement: (_ observe: @escaping (Int, IORNN) throws -> Void) throws -> GradientRefinementResult) throws -> (GradientRefinementResult, Path, Double) {
    var path = Path()
    path.add(startSeconds, predictionError(start), step: 0)
    var observing = Duration.zero
    let began = clock.now
    let result = try refinement { step, m in
        let t0 = clock.now
        path.add(startSeconds + seconds(t0 - began - observing), predictionError(m), step: step)
        observing += clock.now - t0
    }
    return (result, path, seconds(clock.now - began - observing))
}
/// Adam from `start` with `schedule`, observed every `every` steps.
@MainActor func adamPath(_ start: IORNN, _ schedule: AdamOptions, every: Int, startSeconds: Double = 0) throws -> (GradientRefinementResult, Path, Double) {
    try observedRun(from: start, startSeconds: startSeconds) { observe in
        try refineByAdam(start, training: training, heldOut: heldOut, options: schedule, observingEvery: every, observe: observe)
    }
}

nb.section("Spectral + refinement, against refinement started at the truth")
let lbfgsIterations = options.quick ? 20 : 40
nb.claim("Started at the spectral estimate, each refinement comes within 1.5× of the prediction error that the same refinement reaches started at the true parameters (the reference issue 14 calls the floor this data allows; it is itself a noisy estimate, so the spectral start may come out below it): minibatch Adam with `fit --refine`'s schedule (3 epochs, learning rate 10⁻³ × 0.1^epoch, 256 windows a step, the held-out epoch kept), given at least about 50 steps an epoch (12 800 training windows; below that its epochs stop short, see the sweep page), and full-batch L-BFGS (\(lbfgsIterations) iterations, last iterates compared). Adam does so in a few times the spectral fit's time.")
let refineSchedule = AdamOptions(epochs: 3, learningRate: 1e-3, learningRateDecay: 0.1, patience: 2, measuresStartTrainingError: false)
let (spectralAdam, spectralAdamPath, spectralAdamTime) = nb.must("Adam from the spectral estimate") { try adamPath(spectral, refineSchedule, every: 10, startSeconds: spectralTime) }
// The reference: the same schedule from the truth, run to its end (its held-out error cannot beat the
// truth's own, so the kept model would be the truth): its last iterate.
var referenceSchedule = refineSchedule
referenceSchedule.patience = refineSchedule.epochs
let (truthAdam, truthAdamPath, truthAdamTime) = nb.must("Adam from the truth") { try adamPath(truth, referenceSchedule, every: 10) }
/// L-BFGS (full batch, deterministic) from `start`, observed at every accepted iterate.
@MainActor func lbfgsRun(_ start: IORNN, _ schedule: GradientRefinementOptions, startSeconds: Double = 0) throws -> (GradientRefinementResult, Path, Double) {
    try observedRun(from: start, startSeconds: startSeconds) { observe in
        try refine(start, training: training, heldOut: heldOut, options: schedule, observe: observe)
    }
}
// Every iteration is run (patience = iterations), from both starts: the last iterates are compared.
var lbfgsSchedule = GradientRefinementOptions(iterations: lbfgsIterations)
lbfgsSchedule.patience = lbfgsSchedule.iterations
let (lbfgs, lbfgsPath, lbfgsTime) = nb.must("L-BFGS from the spectral estimate") { try lbfgsRun(spectral, lbfgsSchedule, startSeconds: spectralTime) }
let (truthLBFGS, truthLBFGSPath, truthLBFGSTime) = nb.must("L-BFGS from the truth") { try lbfgsRun(truth, lbfgsSchedule) }
let refinedError = predictionError(spectralAdam.model), adamReferenceError = predictionError(truthAdam.finalModel), lbfgsError = predictionError(lbfgs.model)
let lbfgsReferenceError = predictionError(truthLBFGS.finalModel), lbfgsLastError = predictionError(lbfgs.finalModel)
let adamStepsAnEpoch = spectralAdam.history.count > 1 ? spectralAdam.history[1].evaluations : 0
nb.table(["method", "wall time (s)", "prediction error", "model", "held-out error: start → that model"], [
    ["spectral (GLOREE)", formatNumber(spectralTime, digits: 3), formatNumber(spectralError, digits: 4), "—", "—"],
    ["spectral + Adam (fit --refine)", formatNumber(spectralTime + spectralAdamTime, digits: 3), formatNumber(refinedError, digits: 4),
     "kept: epoch \(spectralAdam.bestIteration) of \(spectralAdam.history.count - 1)", "\(formatNumber(spectralAdam.startHeldOutError, digits: 6)) → \(formatNumber(spectralAdam.heldOutError, digits: 6))"],
    ["spectral + L-BFGS (full batch)", formatNumber(spectralTime + lbfgsTime, digits: 3), formatNumber(lbfgsError, digits: 4),
     "kept: iteration \(lbfgs.bestIteration) of \(lbfgs.history.count - 1)", "\(formatNumber(lbfgs.startHeldOutError, digits: 6)) → \(formatNumber(lbfgs.heldOutError, digits: 6))"],
    ["spectral + L-BFGS, its last iterate", formatNumber(spectralTime + lbfgsTime, digits: 3), formatNumber(lbfgsLastError, digits: 4),
     "last of \(lbfgs.history.count - 1) iterations", "\(formatNumber(lbfgs.startHeldOutError, digits: 6)) → \(formatNumber(lbfgs.history.last!.heldOutError, digits: 6))"],
    ["truth + Adam (Adam's reference)", formatNumber(truthAdamTime, digits: 3), formatNumber(adamReferenceError, digits: 4),
     "last of \(truthAdam.history.count - 1) epochs", "\(formatNumber(truthAdam.startHeldOutError, digits: 6)) → \(formatNumber(truthAdam.history.last!.heldOutError, digits: 6))"],
    ["truth + L-BFGS (L-BFGS's reference)", formatNumber(truthLBFGSTime, digits: 3), formatNumber(lbfgsReferenceError, digits: 4),
     "last of \(truthLBFGS.history.count - 1) iterations", "\(formatNumber(truthLBFGS.startHeldOutError, digits: 6)) → \(formatNumber(truthLBFGS.history.last!.heldOutError, digits: 6))"],
])
nb.say("L-BFGS from the spectral estimate stopped: \(lbfgs.stopReason); Adam from it: \(spectralAdam.stopReason), \(adamStepsAnEpoch) steps an epoch, \(spectralAdam.history.dropFirst().reduce(0) { $0 + $1.divergedTrials }) minibatches skipped. The truth's own prediction error is 0 by definition; refinement from it ends above 0 because the data are finite and noisy: it moves to the fit of these windows. The refinements started at the truth keep their last iterate (the truth itself has the smaller held-out error in expectation, so the held-out rule would keep it).")
// Where L-BFGS's last iterates stand: the same minimum of the training error from both starts, or not (yet).
let lbfgsTrainingLast = lbfgs.history.last!.trainingError, truthLBFGSTrainingLast = truthLBFGS.history.last!.trainingError
let trainingGap = abs(lbfgsTrainingLast - truthLBFGSTrainingLast) / truthLBFGSTrainingLast
let sameMinimum = trainingGap < 1e-6 && abs(lbfgsLastError / lbfgsReferenceError - 1) < 0.05
nb.say("The training error of L-BFGS's last iterate is \(formatNumber(lbfgsTrainingLast, digits: 9)) from the spectral estimate and \(formatNumber(truthLBFGSTrainingLast, digits: 9)) from the truth (relative gap \(formatNumber(trainingGap, digits: 2))); their prediction errors stand in the ratio \(formatNumber(lbfgsLastError / lbfgsReferenceError, digits: 3)). "
       + (sameMinimum ? "Both starts have reached the same minimum of the training error, the least-squares fit of these windows (as far as \(lbfgsIterations) iterations tell). " : "In \(lbfgsIterations) iterations the two have not reached one minimum of the training error. ")
       + "Spectral + Adam's prediction error is \(formatNumber(refinedError / lbfgsReferenceError, digits: 3))× that of L-BFGS's last iterate from the truth"
       + (refinedError > 1.05 * lbfgsReferenceError ? ": fit --refine's three epochs stop short of it. " : ". ")
       + "The iterate that L-BFGS's held-out rule keeps is \(formatNumber(lbfgsError / lbfgsReferenceError, digits: 3))× it: the held-out tenth scores the noise too (dy·0.1² = 0.05 of its error for every good model), and it cannot reliably tell apart models whose prediction errors differ by a few 10⁻⁴, so which late iterate it keeps is partly chance.")
nb.atMost("spectral + Adam comes within 1.5× of the prediction error of Adam started at the truth", paper: "issue 14",
          quantity: "error ratio", measured: refinedError / adamReferenceError, bound: 1.5, basis: "issue 14's target")
nb.atMost("spectral + L-BFGS ends within 1.5× of the prediction error at which L-BFGS started at the truth ends (last iterates)", paper: "issue 14",
          quantity: "error ratio", measured: lbfgsLastError / lbfgsReferenceError, bound: 1.5, basis: "issue 14's target, for the deterministic method")
nb.atMost("the spectral estimate alone is as accurate as Adam started at the truth (within 1.5×): it is consistent but not efficient", paper: "a reading the data refute",
          quantity: "error ratio", measured: spectralError / adamReferenceError, bound: 1.5, basis: "the same bound, fed the unrefined estimate", kind: .counterexample)

// MARK: - BPTT from random initialisations

nb.section("Backpropagation through time from random initialisations, plain and safeguarded")
let randomEpochs = options.quick ? 6 : 12
let initScale = 0.1
let randomRate = 3e-3
nb.claim("What a reader would do without the spectral method: BPTT from a small random start, by minibatch Adam (256 windows a step, learning rate \(formatNumber(randomRate, digits: 2)) halved every epoch, at most \(randomEpochs) epochs, stopped after 2 epochs without held-out improvement). Plain: the first non-finite minibatch ends the run. Safeguarded: gradients clipped to norm 1, a minibatch whose recurrence diverges is skipped. Measured over \(runs) initialisations, not asserted.")
@MainActor func randomStart(_ k: Int) throws -> IORNN {
    var rng = RandomStream(seed: options.seed, purpose: "07 BPTT initialisation", index: UInt64(k))
    return try IORNN(a1: rng.gaussianTensor([dh, dx], scale: initScale), u: rng.gaussianTensor([dh, dh], scale: initScale), a2: rng.gaussianTensor([dh, dy], scale: initScale))
}
struct RandomRun {
    let result: GradientRefinementResult
    let path: Path
    let time: Double
    var diverged: Bool { result.stopReason.hasPrefix("diverged") }
    var finalError: Double
    /// Observations at which the model reached diverges on a fresh window.
    var unstableObservations: Int { path.errors.filter { !$0.isFinite }.count }
    var reachedAt: Double? { zip(path.seconds, path.errors).first { $0.1 <= spectralError }?.0 }
}
let starts = (1...runs).map { k in nb.must("random start") { try randomStart(k) } }
nb.say("Initialisation: every entry of A1, U and A2 drawn N(0, \(formatNumber(initScale, digits: 2))²) (streams 1 … \(runs) of the seed): ‖U‖ from \(formatNumber(starts.map(\.spectralNormU).min()!, digits: 2)) to \(formatNumber(starts.map(\.spectralNormU).max()!, digits: 2)), prediction error \(spread(starts.map(predictionError)))  at the start. The prediction error is measured every 20 steps (the clock stops while it is).")
var plainRuns: [RandomRun] = [], safeRuns: [RandomRun] = []
let randomProgress = nb.progress("BPTT runs", total: 2 * runs)
for start in starts {
    for safeguarded in [false, true] {
        let schedule = AdamOptions(epochs: randomEpochs, learningRate: randomRate, learningRateDecay: 0.5, windowsPerStep: 256,
                                   clipNorm: safeguarded ? 1 : nil, skipsDivergentSteps: safeguarded, patience: 2,
                                   measuresStartTrainingError: false)
        let (r, p, t) = nb.must("BPTT") { try adamPath(start, schedule, every: 20) }
        let run = RandomRun(result: r, path: p, time: t, finalError: predictionError(r.model))
        if safeguarded { safeRuns.append(run) } else { plainRuns.append(run) }
        randomProgress.advance()
    }
}
randomProgress.done()
@MainActor func summaryRow(_ name: String, _ rs: [RandomRun]) -> [String] {
    let reached = rs.compactMap(\.reachedAt)
    let unstable = rs.filter { $0.unstableObservations > 0 }
    return [name, "\(rs.filter(\.diverged).count) of \(rs.count)",
            "\(unstable.count) of \(rs.count) (\(unstable.reduce(0) { $0 + $1.unstableObservations }) observations)",
            "\(reached.count) of \(rs.count)",
            reached.isEmpty ? "—" : spread(reached), spread(rs.map(\.finalError), digits: 3), spread(rs.map(\.time))]
}
nb.table(["BPTT from a random start", "stopped by divergence", "met a model that diverges on a fresh window", "reached the spectral error", "time to it (s): median (range)",
          "prediction error of the kept epoch: median (range)", "wall time (s)"],
         [summaryRow("plain", plainRuns), summaryRow("safeguarded", safeRuns)])
let skipped = safeRuns.map { r in r.result.history.dropFirst().reduce(0) { $0 + $1.divergedTrials } }
nb.say("A run keeps its epoch with the smallest held-out error (a plain run that diverged keeps the last one before it, often the start). Safeguarded runs skipped \(skipped.map(String.init).joined(separator: ", ")) minibatches. For comparison: the spectral estimate took \(formatNumber(spectralTime, digits: 3)) s for \(formatNumber(spectralError, digits: 3)), and spectral + Adam \(formatNumber(spectralTime + spectralAdamTime, digits: 3)) s for \(formatNumber(refinedError, digits: 3)).")
nb.figure("error-against-time", caption: "Prediction error on fresh windows against wall time: each random start (plain and safeguarded BPTT), the spectral estimate, its refinements, and refinement from the truth.")

// MARK: - Saving

file.addDataset("/spectral/A1", spectral.a1, description: "A1 of the spectral estimate (GLOREE, training windows).", formula: "Algorithm 1, MATH.md §4", paper: "§3.2")
file.addDataset("/spectral/U", spectral.u, description: "U of the spectral estimate.", formula: "U = P/4, MATH.md §4(c)", paper: "§3.2")
file.addDataset("/spectral/A2", spectral.a2, description: "A2 of the spectral estimate.", formula: "b_j = λ_j b̂_j / 2", paper: "Theorem 5")
file.addDataset("/refined/A1", spectralAdam.model.a1, description: "A1 of spectral + Adam (the kept epoch).", formula: "min mean ‖A2ᵀh_t − y_t‖²", paper: "issue 14")
file.addDataset("/refined/U", spectralAdam.model.u, description: "U of spectral + Adam.", formula: "min mean ‖A2ᵀh_t − y_t‖²", paper: "issue 14")
file.addDataset("/refined/A2", spectralAdam.model.a2, description: "A2 of spectral + Adam.", formula: "min mean ‖A2ᵀh_t − y_t‖²", paper: "issue 14")
let pathDescription = "Rows (step, seconds since the method started, prediction error on the test windows); NaN where the model diverges on a test window."
file.addDataset("/paths/spectral", Tensor(shape: [1, 3], storage: [0, spectralTime, spectralError]), description: "The spectral estimate: one point.", formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
file.addDataset("/paths/spectral_adam", spectralAdamPath.tensor, description: pathDescription + " Starts at the spectral estimate's time.", formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
file.addDataset("/paths/spectral_lbfgs", lbfgsPath.tensor, description: pathDescription + " Steps are L-BFGS iterations.", formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
file.addDataset("/paths/truth_adam", truthAdamPath.tensor, description: pathDescription, formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
file.addDataset("/paths/truth_lbfgs", truthLBFGSPath.tensor, description: pathDescription + " Steps are L-BFGS iterations.", formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
for (name, rs) in [("plain", plainRuns), ("safeguarded", safeRuns)] {
    file.addGroup("/paths/\(name)", attributes: ["runs": .integer(rs.count), "epochs": .integer(randomEpochs), "learning_rate": .real(randomRate),
                                                "initial_scale": .real(initScale)])
    for (k, r) in rs.enumerated() {
        let path = String(format: "/paths/\(name)/run_%02d", k + 1)
        file.addDataset(path, r.path.tensor, description: pathDescription + " BPTT from random start \(k + 1).", formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
        file.setAttribute("diverged", .integer(r.diverged ? 1 : 0), at: path)
        file.setAttribute("stop_reason", .string(r.result.stopReason), at: path)
    }
}
file.setAttribute("spectral_error", .real(spectralError), at: "/paths")
file.addDataset("/summary/methods", Tensor(rows: [[spectralTime, spectralError], [spectralTime + spectralAdamTime, refinedError],
                                                  [spectralTime + lbfgsTime, lbfgsError], [spectralTime + lbfgsTime, lbfgsLastError],
                                                  [truthAdamTime, adamReferenceError], [truthLBFGSTime, lbfgsReferenceError]]),
                description: "Rows spectral, spectral + Adam (kept epoch), spectral + L-BFGS (kept iterate), spectral + L-BFGS (last iterate), truth + Adam (last iterate), truth + L-BFGS (last iterate): (wall seconds, prediction error).",
                formula: "‖ŷ − y*‖/‖y*‖", paper: "issue 14")
let path: String
do { path = try nb.save(file) } catch { nb.stop("could not save the results: \(error)") }
exit(nb.finish(savedFiles: [path]))
