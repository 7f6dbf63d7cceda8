// The figures behind Scripts/benchmark-projected-moment (a benchmark, not a test):
//
//   benchmark-moments kernel [--windows N] [--repetitions R]
//       per (window, t) pair: iterating the windows (the floor), walkthrough 03's hand-written
//       projected t, t−1, t−1 kernel, the general projected engine on the same projections,
//       the general engine on the cubic's order-5 projections, and 03's dense second-order
//       kernel against the general engine with unit directions — on the same in-memory windows.
//   benchmark-moments read FILE [--passes P]
//       reads /x and /y of FILE batch by batch as `fit` does (the same HDF5WindowSource: slab
//       reads into one stacked segment per batch and the finiteness check), P times (default
//       1), computing nothing: fit's floor.
//   benchmark-moments passes FILE [--hidden DH] [--repetitions R] [--only K]
//       the moment passes of `fit` on FILE one at a time, beside one read (the floor of a pass):
//       pass 1 (the dense second-order moment), pass 1 with the dense mixed moment as well, and
//       pass 2 (the projected mixed moment with random directions): the best wall time and the
//       median CPU time (every thread) of R runs (default 5); with --only K, the K-th of these
//       four alone (for a profiler). /process must be in FILE.
//   benchmark-moments gradient FILE [--repetitions R]
//       the mean squared output error of FILE's /model on its windows, alone and with its
//       gradient by backpropagation through time (outputErrorGradient): best wall time and median
//       CPU time of R runs (default 3).
//   benchmark-moments refine FILE [--epochs E]
//       minibatch Adam (refineByAdam) from the spectral estimate and from FILE's /model, for four
//       (learning rate, decay per epoch) pairs, 256 windows a step, E epochs (default 3): time,
//       held-out error and the prediction error on fresh windows of the kept and the last
//       iterate (issue 14's acceptance figures). Quadratic files (σ = z²).
//   benchmark-moments probe [--phi φ] [--rows r] [--u ‖U‖] [--max-condition c] [--windows N]
//                           [--length n] [--data-seed s] [--model-seeds 1,2,…]
//       the per-window standard error of the cubic's projected order-5 U moment for draws of the
//       generator (how walkthrough 04 chose its fixed model; defaults are 04's settings).
import Foundation
import SpectralRNN

requireCompiledInstructionSet(program: "benchmark-moments")

func fail(_ message: String) -> Never {
    FileHandle.standardError.write("benchmark-moments: \(message)\n".data(using: .utf8)!)
    exit(64)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else { fail("usage: benchmark-moments kernel [--windows N] [--repetitions R] | read FILE | passes FILE | gradient FILE | refine FILE | probe [options]") }
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name) else { return fallback }
    guard i + 1 < arguments.count, let v = Int(arguments[i + 1]), v >= 1 else { fail("\(name) needs a positive integer") }
    return v
}
let clock = ContinuousClock()
/// User + system CPU time of the whole process (every thread) so far.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

switch mode {
case "read":
    guard arguments.count == 2 || (arguments.count == 4 && arguments[2] == "--passes") else {
        fail("usage: benchmark-moments read FILE [--passes P]")
    }
    let passes = option("--passes", 1)
    do {
        let source = try HDF5WindowSource(path: arguments[1])
        var pairs = 0
        var checksum = 0.0
        let elapsed = try clock.measure {
            for _ in 0..<passes {
                try source.forEachBatch { segments in
                    for s in segments { pairs += s.pairCount; checksum += s.x.first ?? 0 }
                }
            }
        }
        print(String(format: "read %@ %d time(s): %d (window, t) pairs in %.3f s (checksum %.3g)", arguments[1], passes, pairs,
                     seconds(elapsed), checksum))
    } catch {
        fail("\(error)")
    }
case "passes":
    guard arguments.count >= 2 else { fail("usage: benchmark-moments passes FILE [--hidden DH] [--repetitions R]") }
    let repetitions = option("--repetitions", 5)
    do {
        let source = try HDF5WindowSource(path: arguments[1])
        guard let process = try readProcess(from: source.reader, dimension: source.inputDimension) else {
            fail("\(arguments[1]) has no /process")
        }
        let dx = source.inputDimension, dy = source.outputDimension, dh = option("--hidden", min(3, dx, dy))
        var random = RandomStream(seed: 1, purpose: "benchmark directions")
        let alpha = random.gaussianTensor([dx, dh]), beta = random.gaussianTensor([dy, dh])
        let cases: [(String, () throws -> Void)] = [
            ("read /x and /y once (floor of a pass)", {
                var checksum = 0.0
                try source.forEachBatch { for s in $0 { checksum += s.x.first ?? 0 } }
                if checksum.isNaN { print("") }
            }),
            ("pass 1: dense second-order moment", { _ = try estimateSecondOrderMoment(source, process: process) }),
            ("pass 1 with the dense mixed moment", { _ = try estimateSecondOrderAndMixedMoments(source, process: process) }),
            ("pass 2: projected mixed moment (dh = \(dh))", { _ = try estimateProjectedMixedMoment(source, process: process, alpha: alpha, beta: beta) }),
        ]
        let only = arguments.firstIndex(of: "--only").map { _ in option("--only", 1) }
        if let only, only > 4 { fail("--only takes 1 to 4, got \(only)") }
        print("\(arguments[1]): N = \(source.windows) × n = \(source.length), dx = \(dx), dy = \(dy); 2 threads; best of \(repetitions) runs")
        print("case | best wall time | median CPU time (all threads)")
        for (index, (name, body)) in cases.enumerated() where only == nil || only == index + 1 {
            var best = Double.infinity
            var cpu: [Double] = []
            for _ in 0..<repetitions {
                let before = processCPUSeconds()
                best = min(best, seconds(try clock.measure { try body() }))
                cpu.append(processCPUSeconds() - before)
            }
            print(String(format: "%@ | %.3f s | %.3f s", name, best, cpu.sorted()[cpu.count / 2]))
        }
    } catch {
        fail("\(error)")
    }
case "gradient":
    // The loss and gradient of /model on FILE by backpropagation through time, beside the loss alone.
    guard arguments.count >= 2 else { fail("usage: benchmark-moments gradient FILE [--repetitions R]") }
    let repetitions = option("--repetitions", 3)
    do {
        let source = try HDF5WindowSource(path: arguments[1])
        let a1 = try source.reader.readTensor("/model/A1", rank: 2), u = try source.reader.readTensor("/model/U", rank: 2)
        let a2 = try source.reader.readTensor("/model/A2", rank: 2)
        let activation = source.reader.exists("/model/activation") ? try source.reader.readTensor("/model/activation", rank: 1).storage : IORNN.quadratic
        let model = try IORNN(a1: a1, u: u, a2: a2, coefficients: activation)
        for (name, gradient) in [("loss alone (forward)", false), ("loss and gradient (BPTT)", true)] {
            var best = Double.infinity, cpu: [Double] = [], loss = 0.0
            for _ in 0..<repetitions {
                let before = processCPUSeconds()
                best = min(best, seconds(try clock.measure {
                    loss = gradient ? try outputErrorGradient(model, on: source).loss : try outputError(model, on: source).loss
                }))
                cpu.append(processCPUSeconds() - before)
            }
            print(String(format: "%@ | %.3f s | %.3f s CPU | loss %.6g", name, best, cpu.sorted()[cpu.count / 2], loss))
        }
    } catch {
        fail("\(error)")
    }
case "refine":
    // Issue 14's acceptance figures: minibatch Adam from the spectral estimate against Adam from
    // /model (the floor), by epochs and learning rates, with the prediction error on fresh windows.
    guard arguments.count >= 2 else { fail("usage: benchmark-moments refine FILE [--epochs E]") }
    let epochs = option("--epochs", 3)
    do {
        let source = try HDF5WindowSource(path: arguments[1])
        guard let process = try readProcess(from: source.reader, dimension: source.inputDimension) else { fail("\(arguments[1]) has no /process") }
        let stored = source.reader.exists("/model/activation") ? try source.reader.readTensor("/model/activation", rank: 1).storage : IORNN.quadratic
        guard stored == IORNN.quadratic else {
            fail("refine: \(arguments[1]) was made with another activation; this mode fits σ = z²")
        }
        let truth = try IORNN(a1: try source.reader.readTensor("/model/A1", rank: 2), u: try source.reader.readTensor("/model/U", rank: 2),
                              a2: try source.reader.readTensor("/model/A2", rank: 2))
        let fresh = try process.simulatedInputs(windowRange: 0..<3125, length: source.length, seed: 7, purpose: "benchmark fresh")
        let target = try truth.outputs(forWindows: fresh)
        func prediction(_ m: IORNN) throws -> Double { try m.outputs(forWindows: fresh).relativeError(to: target) }
        var spectralTime = 0.0
        var spectral: IORNN? = nil
        spectralTime = seconds(try clock.measure {
            spectral = try gloree(source, process: process, hidden: truth.hiddenDimension, seed: 20160303).model()
        })
        let held = max(1, source.windows / 10)
        let training = WindowRangeSource(source, windows: 0..<(source.windows - held))
        let heldOut = WindowRangeSource(source, windows: (source.windows - held)..<source.windows)
        print(String(format: "spectral estimate: %.3f s, prediction error %.5f", spectralTime, try prediction(spectral!)))
        print("start | learning rate | windows a step | epochs | time (s) | kept epoch | held-out error | prediction error (kept) | prediction error (last iterate)")
        for (name, start) in [("spectral", spectral!), ("truth", truth)] {
            for (rate, decay) in [(1e-3, 1.0), (1e-3, 0.1), (3e-3, 0.1), (1e-3, 0.3)] {
                for perStep in [256] {
                    var r: GradientRefinementResult? = nil
                    let t = seconds(try clock.measure {
                        r = try refineByAdam(start, training: training, heldOut: heldOut,
                                             options: AdamOptions(epochs: epochs, learningRate: rate, learningRateDecay: decay,
                                                                  windowsPerStep: perStep, patience: epochs))
                    })
                    print(String(format: "%@ | %g × %g^e | %d | %d | %.3f | %d | %.6f | %.5f | %.5f", name, rate, decay, perStep, epochs, t,
                                 r!.bestIteration, r!.heldOutError, try prediction(r!.model), try prediction(r!.finalModel)))
                }
            }
        }
    } catch {
        fail("\(error)")
    }
case "kernel":
    let windows = option("--windows", 200_000), repetitions = option("--repetitions", 3)
    let (dx, dh, dy, n) = (3, 2, 3, 8)
    do {
        let process = try AR1Process(phi: Tensor.identity(dx) * 0.5, sigma: Tensor.identity(dx))
        let model = try IORNN.random(inputDimension: dx, hidden: dh, outputDimension: dy, noise: 0.1, seed: 1)
        let data = try model.simulate(process: process, windows: windows, length: n, seed: 1, purpose: "benchmark")
        let source = TensorWindowSource(x: data.x, y: data.y, stacksWindows: true)
        let alpha = try pseudoInverse(model.a1), beta = try pseudoInverse(model.a2)
        func projections(leading: Int, lagged: Int) -> [ScoreProjection] {
            (0..<dh).flatMap { j in (0..<dh).map { k in
                ScoreProjection(output: beta.column(j), slots: Array(repeating: (0, alpha.column(j)), count: leading)
                                + Array(repeating: (-1, alpha.column(k)), count: lagged))
            } }
        }
        func unit(_ i: Int, _ m: Int) -> [Double] { (0..<m).map { $0 == i ? 1 : 0 } }
        var units: [ScoreProjection] = []
        for i in 0..<dy { for a in 0..<dx { for b in a..<dx { units.append(ScoreProjection(output: unit(i, dy), slots: [(0, unit(a, dx)), (0, unit(b, dx))])) } } }
        let mixedPairs = windows * (n - 1), allPairs = windows * n
        let cases: [(String, Int, () throws -> Void)] = [
            ("floor: iterate the windows", allPairs, {
                var total = 0.0
                try source.forEachBatch { for s in $0 { total += s.y.reduce(0, +) } }
                if total.isNaN { print("") }
            }),
            ("03 kernel: projected t, t−1, t−1 (dh² = 4 projections)", mixedPairs, {
                _ = try estimateProjectedMixedMoment(source, process: process, alpha: alpha, beta: beta)
            }),
            ("general engine: the same 4 projections", mixedPairs, {
                _ = try estimateProjectedScoreMoment(source, process: process, projections: projections(leading: 1, lagged: 2))
            }),
            ("general engine: the cubic's order-5 projections t, t, t−1, t−1, t−1 (4)", mixedPairs, {
                _ = try estimateProjectedScoreMoment(source, process: process, projections: projections(leading: 2, lagged: 3))
            }),
            ("03 kernel: dense second order dy×dx×dx", allPairs, {
                _ = try estimateSecondOrderMoment(source, process: process)
            }),
            ("general engine: dense second order (\(units.count) unit projections, a ≤ b)", allPairs, {
                _ = try estimateProjectedScoreMoment(source, process: process, projections: units)
            }),
        ]
        print("In-memory windows: N = \(windows) × n = \(n), dx = \(dx), dh = \(dh), dy = \(dy); 2 threads; best of \(repetitions) runs")
        print("case | pairs | best time (s) | ns per (window, t) pair")
        for (name, pairs, body) in cases {
            var best = Double.infinity
            for _ in 0..<repetitions { best = min(best, seconds(try clock.measure { try body() })) }
            print(String(format: "%@ | %d | %.3f | %.1f", name, pairs, best, best / Double(pairs) * 1e9))
        }
    } catch {
        fail("\(error)")
    }
case "probe":
    // The per-window standard error of the cubic's projected order-5 U moment (true duals) for
    // draws of the generator; how walkthrough 04 chose its fixed model.
    func real(_ name: String, _ fallback: Double) -> Double {
        guard let i = arguments.firstIndex(of: name) else { return fallback }
        guard i + 1 < arguments.count, let v = Double(arguments[i + 1]), v.isFinite else { fail("\(name) needs a number") }
        return v
    }
    let phiValue = real("--phi", 0.2), rows = real("--rows", 0.4), normU = real("--u", 0.3), maximumCondition = real("--max-condition", 2)
    let windows = option("--windows", 400_000), length = option("--length", 3), dataSeed = option("--data-seed", 1)
    let seeds = (arguments.firstIndex(of: "--model-seeds").map { arguments[$0 + 1] } ?? "1,2,3,4,5,6,7,8")
        .split(separator: ",").map { field -> UInt64 in
            guard let seed = UInt64(field) else { fail("--model-seeds takes a list like 1,2,3") }
            return seed
        }
    print("cubic σ = 0.3z + z³, dx = 3, dh = 2, dy = 3, Φ = \(phiValue)·I, rows \(rows), ‖U‖ = \(normU), cond ≤ \(maximumCondition), \(windows) windows of \(length) steps (data seed \(dataSeed))")
    do {
        let process = try AR1Process(phi: Tensor.identity(3) * phiValue, sigma: Tensor.identity(3))
        for seed in seeds {
            guard let model = try? IORNN.random(inputDimension: 3, hidden: 2, outputDimension: 3, noise: 0.1, spectralNormU: normU, rowNormA1: rows,
                                                maximumCondition: maximumCondition, coefficients: [0, 0.3, 0, 1], boundedFor: process, seed: seed)
            else { print("model seed \(seed): refused by the generator"); continue }
            let source = try SimulatedWindowSource(model: model, process: process, windows: windows, length: length, seed: UInt64(dataSeed), purpose: "U check windows")
            let alpha = try pseudoInverse(model.a1), beta = try pseudoInverse(model.a2)
            let projections = (0..<2).flatMap { j in (0..<2).map { k in
                ScoreProjection(output: beta.column(j), slots: [(0, alpha.column(j)), (0, alpha.column(j)), (-1, alpha.column(k)), (-1, alpha.column(k)), (-1, alpha.column(k))])
            } }
            let m = try estimateProjectedScoreMoment(source, process: process, projections: projections)
            let se = (m.batchStandardError ?? m.standardError).frobeniusNorm / 36 / model.u.frobeniusNorm
            print(String(format: "model seed %d: cond(A1) %.2f, cond(A2) %.2f; rel. se of Û × √N %.0f; U error %.3f", seed,
                         try rowConditionNumber(model.a1), try rowConditionNumber(model.a2), se * Double(windows).squareRoot(),
                         (m.mean.reshaped([2, 2]) / 36).relativeError(to: model.u)))
        }
    } catch {
        fail("\(error)")
    }
default:
    fail("unknown mode '\(mode)' (kernel, read, passes, gradient, refine or probe)")
}
