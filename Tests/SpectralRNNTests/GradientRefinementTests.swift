import Foundation
import Testing
@testable import SpectralRNN

/// A small quadratic IO-RNN, its AR(1) input, and simulated windows (noise 0.1).
private func problem(windows: Int, length: Int = 8, seed: UInt64 = 5) throws -> (truth: IORNN, process: AR1Process, x: Tensor, y: Tensor) {
    let truth = try IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0.1, spectralNormU: 0.2, rowNormA1: 0.5, seed: 2)
    let process = try AR1Process(phi: Tensor.identity(3) * 0.5, sigma: Tensor.identity(3))
    let (x, y) = try truth.simulate(process: process, windows: windows, length: length, seed: seed, purpose: "refinement test")
    return (truth, process, x, y)
}

/// The truth with every parameter moved by `size` times a Gaussian draw of its own scale.
private func perturbed(_ m: IORNN, size: Double, seed: UInt64) throws -> IORNN {
    var rng = RandomStream(seed: seed, purpose: "refinement test start")
    func move(_ t: Tensor) -> Tensor { t + rng.gaussianTensor(t.shape) * (size * t.maxAbs) }
    return try IORNN(a1: move(m.a1), u: move(m.u), a2: move(m.a2), noise: m.noise, coefficients: m.coefficients)
}

@Suite struct GradientRefinementTests {
    /// A training and a held-out range partition the windows: their pair-weighted errors add up to
    /// the whole's (to rounding), with stacked segments cut at a bound; time chunks are refused.
    @Test func windowRangesPartitionTheWindows() throws {
        let (truth, _, x, y) = try problem(windows: 50)
        let whole = TensorWindowSource(x: x, y: y, windowsPerBatch: 7, stacksWindows: true)
        let all = try outputError(truth, on: whole)
        let training = try outputError(truth, on: WindowRangeSource(whole, windows: 0..<43))
        let heldOut = try outputError(truth, on: WindowRangeSource(whole, windows: 43..<50))
        #expect(training.windows == 43 && heldOut.windows == 7)
        let combined = (training.loss * Double(training.pairs) + heldOut.loss * Double(heldOut.pairs)) / Double(all.pairs)
        #expect(abs(combined - all.loss) <= 1e-13 * all.loss)
        #expect(abs(heldOut.loss - all.loss) > 1e-6 * all.loss)   // a different set of windows, a different error
        let chunked = TensorWindowSource(x: x, y: y, stepsPerBatch: 4)
        #expect { try outputError(truth, on: WindowRangeSource(chunked, windows: 0..<10)) } throws: { error in
            "\(error)".hasPrefix("a range of windows needs whole windows")
        }
    }

    /// From a start 30% off the truth, L-BFGS lowers the held-out error to within 2% of what
    /// refinement started at the truth reaches (the floor these windows allow), and the
    /// prediction error against the noiseless truth falls by more than half; it never returns a
    /// model worse on the held-out windows than its start, and gives the same iterates for any
    /// thread count.
    @Test func refinementReachesTheFloorFromAPerturbedStart() throws {
        let (truth, process, x, y) = try problem(windows: 3000)
        let source = TensorWindowSource(x: x, y: y, windowsPerBatch: 256, stacksWindows: true)
        let training = WindowRangeSource(source, windows: 0..<2700), heldOut = WindowRangeSource(source, windows: 2700..<3000)
        let start = try perturbed(truth, size: 0.3, seed: 1)
        let result = try refine(start, training: training, heldOut: heldOut)
        let floor = try refine(truth, training: training, heldOut: heldOut)
        #expect(result.heldOutError <= result.startHeldOutError && floor.heldOutError <= floor.startHeldOutError)
        #expect(result.heldOutError <= 1.02 * floor.heldOutError)
        #expect(result.startHeldOutError > 1.5 * floor.heldOutError)   // the start was far from it
        #expect(result.history.count >= 3)
        for record in result.history.dropFirst() { #expect(record.trainingError <= result.history[0].trainingError) }

        let fresh = try process.simulatedInputs(windowRange: 0..<500, length: 8, seed: 99, purpose: "refinement test fresh")
        let target = try truth.outputs(forWindows: fresh)
        let before = try start.outputs(forWindows: fresh).relativeError(to: target)
        let after = try result.model.outputs(forWindows: fresh).relativeError(to: target)
        #expect(after < 0.5 * before)

        var options = GradientRefinementOptions(iterations: 6)
        options.threads = 1
        let one = try refine(start, training: training, heldOut: heldOut, options: options)
        options.threads = 3
        let three = try refine(start, training: training, heldOut: heldOut, options: options)
        #expect(one.history.map(\.trainingError) == three.history.map(\.trainingError))
        #expect(one.model.a1 == three.model.a1 && one.model.u == three.model.u)
    }

    /// A first step long enough to make the quadratic recurrence diverge is rejected and halved
    /// (counted in the record) instead of stopping the refinement or returning a diverged model.
    @Test func divergingTrialStepsAreRejected() throws {
        let (truth, _, x, y) = try problem(windows: 400)
        let source = TensorWindowSource(x: x, y: y)
        let training = WindowRangeSource(source, windows: 0..<350), heldOut = WindowRangeSource(source, windows: 350..<400)
        let start = try perturbed(truth, size: 0.3, seed: 2)
        let options = GradientRefinementOptions(iterations: 3, firstStep: 50)
        let result = try refine(start, training: training, heldOut: heldOut, options: options)
        #expect(result.history.count >= 2)
        #expect(result.history[1].divergedTrials >= 1)
        #expect(result.heldOutError.isFinite && result.heldOutError <= result.startHeldOutError)
        // A start that diverges itself is refused with one line.
        let exploding = try IORNN(a1: truth.a1 * 20, u: Tensor(rows: [[5, 0], [0, 5]]), a2: truth.a2)
        #expect { try refine(exploding, training: training, heldOut: heldOut) } throws: { error in
            "\(error)" == "refine: the starting model diverges on the training windows"
        }
    }

    /// Minibatch Adam from the same perturbed start lowers the held-out error most of the way to
    /// the floor, never returns a model worse than its start, and gives the same bits for any
    /// thread count; with a step size of 1, plain BPTT (no clipping, no skipping) stops as
    /// diverged, and the safeguarded one skips the divergent minibatches and still returns a
    /// finite model no worse than its start.
    @Test func adamRefinesAndItsSafeguardsHold() throws {
        let (truth, _, x, y) = try problem(windows: 3000)
        let source = TensorWindowSource(x: x, y: y, windowsPerBatch: 256, stacksWindows: true)
        let training = WindowRangeSource(source, windows: 0..<2700), heldOut = WindowRangeSource(source, windows: 2700..<3000)
        let start = try perturbed(truth, size: 0.3, seed: 1)
        let floor = try outputError(truth, on: heldOut).loss
        var options = AdamOptions(epochs: 30, learningRate: 0.01, windowsPerStep: 32, patience: 3)
        let result = try refineByAdam(start, training: training, heldOut: heldOut, options: options)
        #expect(result.heldOutError <= result.startHeldOutError)
        #expect(result.heldOutError - floor <= 0.1 * (result.startHeldOutError - floor))
        options.epochs = 2
        options.threads = 1
        let one = try refineByAdam(start, training: training, heldOut: heldOut, options: options)
        options.threads = 3
        let three = try refineByAdam(start, training: training, heldOut: heldOut, options: options)
        #expect(one.history.map(\.heldOutError) == three.history.map(\.heldOutError) && one.model.u == three.model.u)

        let plain = try refineByAdam(start, training: training, heldOut: heldOut,
                                     options: AdamOptions(epochs: 5, learningRate: 1, windowsPerStep: 32, clipNorm: nil, skipsDivergentSteps: false))
        #expect(plain.stopReason.hasPrefix("diverged in epoch"))
        #expect(plain.heldOutError <= plain.startHeldOutError)
        let safeguarded = try refineByAdam(start, training: training, heldOut: heldOut,
                                           options: AdamOptions(epochs: 2, learningRate: 1, windowsPerStep: 32))
        #expect(!safeguarded.stopReason.hasPrefix("diverged"))
        #expect(safeguarded.history.dropFirst().contains { $0.divergedTrials > 0 })
        #expect(safeguarded.heldOutError.isFinite && safeguarded.heldOutError <= safeguarded.startHeldOutError)
    }

    /// The observers see every `observingEvery`-th Adam step and every accepted L-BFGS iterate,
    /// with the models the refinement itself reaches, and do not change its result.
    @Test func observersSeeTheIteratesWithoutChangingThem() throws {
        let (truth, _, x, y) = try problem(windows: 600)
        let source = TensorWindowSource(x: x, y: y, windowsPerBatch: 256, stacksWindows: true)
        let training = WindowRangeSource(source, windows: 0..<540), heldOut = WindowRangeSource(source, windows: 540..<600)
        let start = try perturbed(truth, size: 0.3, seed: 3)
        let options = AdamOptions(epochs: 2, learningRate: 0.01, windowsPerStep: 32, patience: 2)
        let unobserved = try refineByAdam(start, training: training, heldOut: heldOut, options: options)
        var seen: [(Int, IORNN)] = []
        let observed = try refineByAdam(start, training: training, heldOut: heldOut, options: options, observingEvery: 3) { seen.append(($0, $1)) }
        let steps = observed.history.reduce(0) { $0 + $1.evaluations }
        #expect(steps == 2 * 17)   // 540 windows in batches of 256, 256, 28: 8 + 8 + 1 steps an epoch
        #expect(seen.map(\.0) == Array(stride(from: 3, through: steps, by: 3)))
        #expect(observed.history.map(\.heldOutError) == unobserved.history.map(\.heldOutError) && observed.finalModel.u == unobserved.finalModel.u)
        var everyStep: [IORNN] = []
        let each = try refineByAdam(start, training: training, heldOut: heldOut, options: options) { _, m in everyStep.append(m) }
        #expect(everyStep.count == steps && everyStep.last!.u == each.finalModel.u && everyStep.last!.a1 == each.finalModel.a1)
        #expect { try refineByAdam(start, training: training, heldOut: heldOut, options: options, observingEvery: 0) } throws: { _ in true }

        var iterates: [Int] = [], lastSeen: IORNN?
        let lbfgsOptions = GradientRefinementOptions(iterations: 6)
        let lbfgs = try refine(start, training: training, heldOut: heldOut, options: lbfgsOptions) { i, m in
            iterates.append(i)
            lastSeen = m
            let loss = try outputError(m, on: training).loss
            #expect(loss.isFinite)
        }
        #expect(iterates == Array(1..<lbfgs.history.count))
        #expect(lastSeen?.u == lbfgs.finalModel.u && lastSeen?.a2 == lbfgs.finalModel.a2)
        let lbfgsUnobserved = try refine(start, training: training, heldOut: heldOut, options: lbfgsOptions)
        #expect(lbfgs.history.map(\.trainingError) == lbfgsUnobserved.history.map(\.trainingError)
                && lbfgs.finalModel.a1 == lbfgsUnobserved.finalModel.a1 && lbfgs.model.u == lbfgsUnobserved.model.u)
    }
}
