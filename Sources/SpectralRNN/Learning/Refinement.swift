// Refinement of an IO-RNN by gradient descent on the mean squared output error (issue 14):
// from a starting model (the spectral estimate, a random one, the truth), a deterministic
// full-batch quasi-Newton method — L-BFGS (Nocedal & Wright, Algorithm 7.4, memory m) with a
// backtracking line search on the Armijo condition that rejects any trial step whose recurrence
// diverges — stopped on a held-out part of the windows. The gradient is exact
// (OutputErrorGradient.swift), so the only randomness is none: the same start and data give
// the same iterates for any number of threads.

import Foundation

/// The windows `range` (in the source's order, numbered from 0) of a source of whole windows:
/// the training and held-out parts of one data set.
public struct WindowRangeSource: WindowSource {
    public let base: WindowSource
    public let range: Range<Int>
    public init(_ base: WindowSource, windows range: Range<Int>) {
        self.base = base
        self.range = range
    }
    public var inputDimension: Int { base.inputDimension }
    public var outputDimension: Int { base.outputDimension }

    /// The base's batches of the windows in `range` (`WindowSource.forEachBatch(windows:_:)`):
    /// an HDF5 file reads only those windows; segments must hold whole windows.
    public func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        try base.forEachBatch(windows: range, body)
    }
}

/// A model's parameters as one vector θ = (A1, U, A2), row-major, and back (its σ and noise kept).
private struct ParameterVector {
    let start: IORNN
    var sizes: (a1: Int, u: Int) { (start.a1.count, start.u.count) }

    static func of(_ m: IORNN) -> [Double] { m.a1.storage + m.u.storage + m.a2.storage }

    func model(_ theta: [Double]) throws -> IORNN {
        let (p, q) = sizes
        return try IORNN(a1: Tensor(shape: start.a1.shape, storage: Array(theta[0..<p])),
                         u: Tensor(shape: start.u.shape, storage: Array(theta[p..<(p + q)])),
                         a2: Tensor(shape: start.a2.shape, storage: Array(theta[(p + q)...])),
                         noise: start.noise, coefficients: start.coefficients)
    }
}

/// Whether an error is a recurrence leaving the bounded region (`IORNN.divergenceThreshold`).
private func isDivergence(_ error: any Error) -> Bool {
    (error as? ModelError)?.description.hasPrefix("IO-RNN diverged") ?? false
}

/// The mean squared output error on `windows`, +∞ when the recurrence diverges on one of them.
private func errorOrInfinity(_ m: IORNN, on windows: WindowSource, threads: Int) throws -> Double {
    do { return try outputError(m, on: windows, threads: threads).loss } catch where isDivergence(error) { return .infinity }
}

/// The settings of `refine`.
public struct GradientRefinementOptions: Sendable {
    /// The most L-BFGS iterations (accepted steps).
    public var iterations: Int
    /// Curvature pairs kept (the m of L-BFGS).
    public var memory: Int
    /// Stop when the held-out error has not improved for this many iterations (set it to `iterations` to run them all).
    public var patience: Int
    /// The first step's length relative to ‖θ‖ (a gradient step of that length; later steps
    /// start at the quasi-Newton step, length 1).
    public var firstStep: Double
    /// The Armijo constant c₁ and the most halvings of one line search.
    public var armijo: Double
    public var halvings: Int
    /// Worker threads for the gradient (the result does not depend on it).
    public var threads: Int

    public init(iterations: Int = 50, memory: Int = 7, patience: Int = 5, firstStep: Double = 0.01,
                armijo: Double = 1e-4, halvings: Int = 30, threads: Int = 2) {
        self.iterations = iterations
        self.memory = memory
        self.patience = patience
        self.firstStep = firstStep
        self.armijo = armijo
        self.halvings = halvings
        self.threads = threads
    }
}

/// One iteration of `refine`: the errors after it and what the line search did.
public struct GradientRefinementRecord: Sendable {
    /// 0 for the start.
    public let iteration: Int
    /// The mean squared output error on the training and on the held-out windows.
    public let trainingError: Double
    public let heldOutError: Double
    /// The accepted step length (a fraction of the quasi-Newton step), 0 for the start.
    public let step: Double
    /// Trial steps rejected because the recurrence diverged, and loss evaluations, in this line search.
    public let divergedTrials: Int
    public let evaluations: Int
}

/// What `refine` returns: the model with the smallest held-out error met (never worse than the
/// start's), the history, and why it stopped.
public struct GradientRefinementResult: Sendable {
    public let start: IORNN
    public let model: IORNN
    /// The iteration `model` comes from (0: the start itself).
    public let bestIteration: Int
    /// The last iterate, whatever its held-out error (where the training objective led).
    public let finalModel: IORNN
    public let history: [GradientRefinementRecord]
    public let stopReason: String

    public var startHeldOutError: Double { history[0].heldOutError }
    public var heldOutError: Double { history[bestIteration].heldOutError }
}

/// Refines `start` by L-BFGS on the mean squared output error over `training`, keeping the
/// iterate with the smallest error over `heldOut` (see the top of this file).
///
/// A trial step whose recurrence diverges on a training window counts as an infinite error and
/// is halved like any other rejected step. Stops after `options.iterations` steps, when the
/// held-out error has not improved for `options.patience` steps, when the line search finds no
/// decrease, or when the training error stops changing (relative change below 1e-12).
/// `observe`, when given, is called with each accepted iterate (its number from 1) as it is
/// reached: a walkthrough's clock and test error, outside the refinement's own arithmetic.
public func refine(_ start: IORNN, training: WindowSource, heldOut: WindowSource,
                   options: GradientRefinementOptions = GradientRefinementOptions(),
                   observe: ((_ iteration: Int, _ model: IORNN) throws -> Void)? = nil) throws -> GradientRefinementResult {
    guard options.iterations >= 0, options.memory >= 1, options.patience >= 1, options.halvings >= 1,
          options.firstStep > 0, options.armijo > 0, options.armijo < 1 else {
        throw ModelError("refine: iterations ≥ 0, memory ≥ 1, patience ≥ 1, halvings ≥ 1, firstStep > 0 and 0 < armijo < 1 are needed")
    }
    let threads = options.threads
    let vector = ParameterVector(start: start)
    func flat(_ g: OutputErrorGradient) -> [Double] { g.a1!.storage + g.u!.storage + g.a2!.storage }
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    /// Loss and gradient at θ, or nil when the recurrence diverges there (or θ is not a model).
    func evaluate(_ theta: [Double]) throws -> (loss: Double, gradient: [Double], model: IORNN)? {
        guard theta.allSatisfy(\.isFinite), let m = try? vector.model(theta) else { return nil }
        do {
            let g = try outputErrorGradient(m, on: training, threads: threads)
            let gradient = flat(g)
            guard g.loss.isFinite, gradient.allSatisfy(\.isFinite) else { return nil }
            return (g.loss, gradient, m)
        } catch where isDivergence(error) {
            return nil
        }
    }
    func heldOutError(_ m: IORNN) throws -> Double { try errorOrInfinity(m, on: heldOut, threads: threads) }

    var theta = ParameterVector.of(start)
    guard var current = try evaluate(theta) else {
        throw ModelError("refine: the starting model diverges on the training windows")
    }
    let startHeldOut = try heldOutError(start)
    var history = [GradientRefinementRecord(iteration: 0, trainingError: current.loss, heldOutError: startHeldOut, step: 0,
                                    divergedTrials: 0, evaluations: 1)]
    var best = (model: start, heldOut: startHeldOut, iteration: 0)
    var pairs: [(s: [Double], y: [Double], rho: Double)] = []
    var stopReason = "reached \(options.iterations) iterations"
    var iteration = 0
    while iteration < options.iterations {
        // The L-BFGS direction (two-loop recursion); a gradient step of length firstStep·‖θ‖ without curvature pairs.
        var q = current.gradient
        var alphas: [Double] = []
        for pair in pairs.reversed() {
            let a = pair.rho * dot(pair.s, q)
            alphas.append(a)
            for k in q.indices { q[k] -= a * pair.y[k] }
        }
        let gradientNorm = dot(current.gradient, current.gradient).squareRoot()
        let scale: Double
        if let last = pairs.last {
            scale = dot(last.s, last.y) / dot(last.y, last.y)
        } else {
            scale = options.firstStep * max(dot(theta, theta).squareRoot(), 1) / max(gradientNorm, .leastNormalMagnitude)
        }
        var r = q.map { $0 * scale }
        for (pair, a) in zip(pairs, alphas.reversed()) {
            let b = pair.rho * dot(pair.y, r)
            for k in r.indices { r[k] += pair.s[k] * (a - b) }
        }
        var direction = r.map { -$0 }
        var slope = dot(current.gradient, direction)
        if !(slope < 0) {   // not a descent direction: forget the curvature and take a gradient step
            pairs.removeAll()
            let length = options.firstStep * max(dot(theta, theta).squareRoot(), 1) / max(gradientNorm, .leastNormalMagnitude)
            direction = current.gradient.map { -$0 * length }
            slope = dot(current.gradient, direction)
        }
        guard slope < 0 else {
            stopReason = "the gradient is zero"
            break
        }
        // Backtracking on the Armijo condition; a diverging trial counts as an infinite error.
        var t = 1.0, diverged = 0, evaluations = 0
        var accepted: (loss: Double, gradient: [Double], model: IORNN, theta: [Double])? = nil
        for _ in 0..<options.halvings {
            let trial = zip(theta, direction).map { $0 + t * $1 }
            evaluations += 1
            if let value = try evaluate(trial) {
                if value.loss <= current.loss + options.armijo * t * slope {
                    accepted = (value.loss, value.gradient, value.model, trial)
                    break
                }
            } else {
                diverged += 1
            }
            t /= 2
        }
        guard let next = accepted else {
            stopReason = "the line search found no decrease in \(options.halvings) halvings"
            break
        }
        iteration += 1
        let s = zip(next.theta, theta).map { $0 - $1 }, y = zip(next.gradient, current.gradient).map { $0 - $1 }
        let sy = dot(s, y)
        if sy > 1e-12 * dot(s, s).squareRoot() * dot(y, y).squareRoot() {
            pairs.append((s, y, 1 / sy))
            if pairs.count > options.memory { pairs.removeFirst() }
        }
        let previousLoss = current.loss
        theta = next.theta
        current = (next.loss, next.gradient, next.model)
        try observe?(iteration, next.model)
        let held = try heldOutError(next.model)
        history.append(GradientRefinementRecord(iteration: iteration, trainingError: next.loss, heldOutError: held, step: t,
                                        divergedTrials: diverged, evaluations: evaluations))
        if held < best.heldOut { best = (next.model, held, iteration) }
        if iteration - best.iteration >= options.patience {
            stopReason = "the held-out error has not improved for \(options.patience) iterations"
            break
        }
        if abs(previousLoss - next.loss) <= 1e-12 * abs(previousLoss) {
            stopReason = "the training error stopped changing"
            break
        }
    }
    return GradientRefinementResult(start: start, model: best.model, bestIteration: best.iteration, finalModel: current.model,
                                    history: history, stopReason: stopReason)
}

// MARK: Minibatch Adam, the baseline a reader knows

/// The settings of `refineByAdam`.
public struct AdamOptions: Sendable {
    /// Passes over the training windows.
    public var epochs: Int
    /// Adam's step size α, its decay rates β₁, β₂ and ε (Kingma & Ba, Algorithm 1).
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// The step size of epoch e (from 0) is learningRate · learningRateDecay^e.
    public var learningRateDecay: Double
    /// Windows per minibatch (consecutive windows of one batch of the source).
    public var windowsPerStep: Int
    /// A minibatch gradient longer than this is scaled down to it; nil: no clipping.
    public var clipNorm: Double?
    /// Skip a minibatch whose recurrence diverges or whose gradient is not finite (safeguarded
    /// BPTT); without it the first such minibatch stops the refinement ("plain" BPTT).
    public var skipsDivergentSteps: Bool
    /// Stop when the held-out error (measured after each epoch) has not improved for this many epochs.
    public var patience: Int
    /// Whether the history's row 0 gets the start's training error (one more pass over the
    /// training windows); NaN there otherwise.
    public var measuresStartTrainingError: Bool
    /// Worker threads for each minibatch gradient (the result does not depend on it).
    public var threads: Int

    public init(epochs: Int = 2, learningRate: Double = 1e-3, learningRateDecay: Double = 1, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, windowsPerStep: Int = 256, clipNorm: Double? = 1, skipsDivergentSteps: Bool = true,
                patience: Int = 2, measuresStartTrainingError: Bool = true, threads: Int = 2) {
        self.epochs = epochs
        self.measuresStartTrainingError = measuresStartTrainingError
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.windowsPerStep = windowsPerStep
        self.clipNorm = clipNorm
        self.skipsDivergentSteps = skipsDivergentSteps
        self.patience = patience
        self.threads = threads
    }
}

/// Refines `start` by minibatch Adam on the mean squared output error over `training`, with
/// optional gradient clipping and skipping of divergent minibatches, keeping the epoch whose
/// model has the smallest error over `heldOut` (never worse than the start).
///
/// One record per epoch: `trainingError` is the mean minibatch error met during the epoch (each
/// at the parameters before its step), `heldOutError` the error of the model at the epoch's end,
/// `step` the epoch's learning rate, `divergedTrials` the minibatches skipped (or the one that stopped
/// plain BPTT), `evaluations` the Adam steps taken. Deterministic: minibatches in the source's
/// order, each gradient the same bits for any `threads`. `observe`, when given, is called after
/// every `observingEvery`-th Adam step taken (steps counted from 1) with the model reached.
public func refineByAdam(_ start: IORNN, training: WindowSource, heldOut: WindowSource,
                         options: AdamOptions = AdamOptions(), observingEvery: Int = 1,
                         observe: ((_ step: Int, _ model: IORNN) throws -> Void)? = nil) throws -> GradientRefinementResult {
    guard options.epochs >= 0, options.learningRate > 0, (0..<1).contains(options.beta1), (0..<1).contains(options.beta2),
          options.epsilon > 0, options.learningRateDecay > 0, options.windowsPerStep >= 1, options.patience >= 1, options.clipNorm.map({ $0 > 0 }) ?? true, observingEvery >= 1 else {
        throw ModelError("refineByAdam: epochs ≥ 0, learningRate > 0, 0 ≤ β₁, β₂ < 1, ε > 0, windowsPerStep ≥ 1, patience ≥ 1, clipNorm > 0 and observingEvery ≥ 1 are needed")
    }
    let vector = ParameterVector(start: start)
    func heldOutError(_ m: IORNN) throws -> Double { try errorOrInfinity(m, on: heldOut, threads: options.threads) }
    /// Stops the pass over the training windows (plain BPTT after a divergent minibatch).
    struct Stop: Error {}

    var theta = ParameterVector.of(start)
    var m = [Double](repeating: 0, count: theta.count), v = m
    var steps = 0
    let startTraining = options.measuresStartTrainingError ? try outputError(start, on: training, threads: options.threads).loss : .nan
    let startHeldOut = try heldOutError(start)
    var history = [GradientRefinementRecord(iteration: 0, trainingError: startTraining, heldOutError: startHeldOut, step: 0,
                                            divergedTrials: 0, evaluations: 0)]
    var best = (model: start, heldOut: startHeldOut, iteration: 0)
    var stopReason = "reached \(options.epochs) epochs"
    var current = start
    epochs: for epoch in 0..<options.epochs {
        let rate = options.learningRate * pow(options.learningRateDecay, Double(epoch))
        var squaredError = 0.0, pairs = 0, skipped = 0, taken = 0
        var diverged = false
        do {
            try training.forEachBatch { batch in
                let places = try BackpropagationThroughTime.places(batch, dx: start.inputDimension, dy: start.outputDimension)
                var k = 0
                while k < places.count {
                    let slice = places[k..<min(k + options.windowsPerStep, places.count)]
                    k += options.windowsPerStep
                    let engine = try BackpropagationThroughTime(model: current, source: training, gradient: true, threads: options.threads)
                    let sums: BackpropagationThroughTime.Sums
                    do {
                        sums = try engine.sums(batch, slice, firstWindow: 0)
                    } catch where isDivergence(error) {
                        skipped += 1
                        if options.skipsDivergentSteps { continue }
                        diverged = true
                        throw Stop()
                    }
                    let count = Double(slice.reduce(0) { $0 + batch[$1.segment].windowLength })
                    var g = (sums.a1 + sums.u + sums.a2).map { $0 / count }
                    guard g.allSatisfy(\.isFinite), sums.squaredError.isFinite else {
                        skipped += 1
                        if options.skipsDivergentSteps { continue }
                        diverged = true
                        throw Stop()
                    }
                    squaredError += sums.squaredError
                    pairs += Int(count)
                    if let clip = options.clipNorm {
                        let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
                        if norm > clip { g = g.map { $0 * (clip / norm) } }
                    }
                    let before = (theta, m, v)
                    let c1 = 1 - pow(options.beta1, Double(steps + 1)), c2 = 1 - pow(options.beta2, Double(steps + 1))
                    for i in theta.indices {
                        m[i] = options.beta1 * m[i] + (1 - options.beta1) * g[i]
                        v[i] = options.beta2 * v[i] + (1 - options.beta2) * g[i] * g[i]
                        theta[i] -= rate * (m[i] / c1) / ((v[i] / c2).squareRoot() + options.epsilon)
                    }
                    guard theta.allSatisfy(\.isFinite), let next = try? vector.model(theta) else {
                        // The step left the finite range: undone (and skipped), or the end of plain BPTT.
                        (theta, m, v) = before
                        skipped += 1
                        if options.skipsDivergentSteps { continue }
                        diverged = true
                        throw Stop()
                    }
                    steps += 1
                    taken += 1
                    current = next
                    if let observe, steps % observingEvery == 0 { try observe(steps, next) }
                }
            }
        } catch is Stop {}
        let held = diverged ? .infinity : try heldOutError(current)
        history.append(GradientRefinementRecord(iteration: epoch + 1, trainingError: pairs > 0 ? squaredError / Double(pairs) : .nan,
                                                heldOutError: held, step: rate, divergedTrials: skipped,
                                                evaluations: taken))
        if diverged {
            stopReason = "diverged in epoch \(epoch + 1) (a minibatch's recurrence or parameters left the finite range)"
            break epochs
        }
        if held < best.heldOut { best = (current, held, epoch + 1) }
        if epoch + 1 - best.iteration >= options.patience {
            stopReason = "the held-out error has not improved for \(options.patience) epochs"
            break epochs
        }
    }
    return GradientRefinementResult(start: start, model: best.model, bestIteration: best.iteration, finalModel: current,
                                    history: history, stopReason: stopReason)
}
