import ArgumentParser
import Foundation
import SpectralRNN

/// `spectral-rnn fit FILE --hidden DH --output OUT`: GLOREE for the quadratic IO-RNN
/// (paper Algorithm 1, corrected as in MATH.md §4c) on the windows of an input file.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit an IO-RNN (quadratic, or any polynomial activation) to /x and /y of an HDF5 file by GLOREE (spectral method).",
        discussion: """
            FILE holds /x (N×n×dx) and /y (N×n×dy), float64: N windows of n ≥ 3 steps (many \
            short windows or one long one). The input is taken to be a stationary Gaussian \
            AR(1) process: /process/Phi and /process/Sigma (dx×dx) when the file has them, \
            otherwise Φ and Σ are estimated from /x by least squares. A1 and A2 come from the \
            rank-dh decomposition of Ê[y_t ⊗ S₂(x[n], t)], U from the mixed moment \
            Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])] (MATH.md §4). The file is read in batches of about \
            4 MB, twice. DH must not exceed dx or dy (full row rank of A1 and A2, paper \
            Theorem 5); a larger DH is refused. OUT gets /estimate/{A1,U,A2,U_least_squares}, \
            the process used under /process and /diagnostics, written atomically. When FILE \
            has /model (from `spectral-rnn simulate`), the report compares the fit with it. \
            With --activation other than 0,0,1, or a scalar /y (N×n or N×n×1), fits the IO-RNN \
            with that polynomial activation (MATH.md §5, walkthrough 04): directions from \
            Ê[y_t ⊗ S_l(x[n], t)], per-unit scales from the first-step moments, U from the \
            corrected order-(2l−1) mixed moment; a report whose moments are too noisy says \
            UNRELIABLE. With --backward DZ (or auto), fits the bidirectional RNN of paper \
            eq. 18 by GLOREE-B (walkthrough 05): [A1; B1] and A2 from the same rank-(dh + dz) \
            decomposition, which units run forward and which backward from the mixed moments \
            at t−1 and t+1 (refused, with the reason, when the data cannot tell), U and V from \
            the same moments; OUT gets /estimate/{A1, U, B1, V, A2} and the assignment under \
            /diagnostics.
            """
    )

    @Argument(help: "The input HDF5 file, with /x (N×n×dx) and /y (N×n×dy).")
    var file: String

    @Option(parsing: .unconditional, help: "dh, the number of hidden units to fit (at most dx, and at most dy unless the output is scalar).")
    var hidden: Int

    @Option(parsing: .unconditional, help: "The HDF5 file to write the estimate to.")
    var output: String

    @Option(parsing: .unconditional, help: "Seed of the decomposition's random draws (and of the fresh windows of the comparison).")
    var seed: UInt64 = 20160303

    @Option(parsing: .unconditional, help: "Worker threads for the moment accumulation, at most 16 used (results do not depend on it).")
    var threads: Int = 2

    @Option(parsing: .unconditional, help: "The activation's coefficients c0,c1,…,cl of σ(z) = Σ c_i z^i, l ≥ 2 (default 0,0,1: σ(z) = z²).")
    var activation: String = "0,0,1"

    @Option(parsing: .unconditional, help: ArgumentHelp("Fit a bidirectional RNN (GLOREE-B, walkthrough 05) with DZ backward units and --hidden forward ones; 'auto': --hidden is dh + dz and the data decide which units run backward.", valueName: "DZ|auto"))
    var backward: String?

    @Flag(help: "Refine the spectral estimate on the mean squared output error (exact gradients by backpropagation through time), keeping the model best on the last tenth of the windows, held out; writes /estimate/refined.")
    var refine = false

    @Option(help: "With --refine: 'adam' (minibatch Adam, 256 windows a step, gradients clipped at norm 1) or 'lbfgs' (full-batch L-BFGS, deterministic; one pass over the training windows per iteration and per line-search trial).")
    var refineMethod: RefineMethod?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --refine: for adam, the most epochs, the step size 10⁻³ in the first and a tenth of the one before in each next (default 3; it stops earlier once the held-out error has not improved for 2); for lbfgs, the most iterations (default 50; it stops earlier once the held-out error has not improved for 10, the line search finds no decrease, or the training error stops changing).", valueName: "K"))
    var refineIterations: Int?

    /// `--refine-method`.
    enum RefineMethod: String, ExpressibleByArgument, CaseIterable {
        case adam, lbfgs
        /// The default of `--refine-iterations`.
        var defaultIterations: Int { self == .adam ? 3 : 50 }
    }

    /// The parsed --backward: nil without it.
    var backwardUnits: BackwardUnits? {
        guard let backward else { return nil }
        if backward == "auto" { return .auto }
        return Int(backward).map { .given($0) }
    }

    func validate() throws {
        if let backward {
            guard let units = backwardUnits else {
                throw ValidationError("--backward must be a whole number of backward units ≥ 0 or 'auto', got '\(backward)'")
            }
            if case .given(let dz) = units, dz < 0 {
                throw ValidationError("--backward must be a whole number of backward units ≥ 0 or 'auto', got \(dz)")
            }
            guard (try? IORNN.parseActivation(activation)) == IORNN.quadratic else {
                throw ValidationError("--backward fits the quadratic BRNN of paper Algorithm 2 (σ(z) = z²); drop --activation \(activation)")
            }
            if case .given = units {
                guard hidden >= 0 else { throw ValidationError("--hidden must be at least 0 with --backward DZ, got \(hidden)") }
            } else {
                guard hidden >= 1 else { throw ValidationError("--hidden (dh + dz with --backward auto) must be at least 1, got \(hidden)") }
            }
            if case .given(let dz) = units, hidden + dz < 1 {
                throw ValidationError("--hidden \(hidden) and --backward \(dz) leave no unit to fit")
            }
        } else {
            guard hidden >= 1 else { throw ValidationError("--hidden must be at least 1, got \(hidden)") }
        }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        if let refineIterations, !(1...10_000).contains(refineIterations) {
            throw ValidationError("--refine-iterations must be between 1 and 10000, got \(refineIterations)")
        }
        if !refine, refineMethod != nil || refineIterations != nil {
            throw ValidationError("--refine-method and --refine-iterations set up --refine; add --refine")
        }
        if refine {
            guard backward == nil else { throw ValidationError("--refine refines the forward IO-RNN of 03 and 04; it is not available with --backward") }
        }
        do { _ = try IORNN.parseActivation(activation) } catch { throw ValidationError("--activation: \(error)") }
        try validateOutput(output)
        if Fit.canonicalPath(output) == Fit.canonicalPath(file) {
            throw ValidationError("--output \(output) is the input file; write the estimate to another file")
        }
    }

    /// The most entries a matrix under /model of the input may have (far above any model fit can
    /// handle): a file that declares more is refused before reading.
    static let modelEntryLimit = 1 << 24

    static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    func run() throws {
        do {
            try fit()
        } catch let error as HDF5Error {
            printFailure("\(error) (nothing was written to \(output))")
            throw ExitCode(1)
        } catch {
            printFailure("\(file): \(error) (nothing was written to \(output))")
            throw ExitCode(1)
        }
    }

    private func fit() throws {
        let coefficients = try IORNN.parseActivation(activation)
        let source = try HDF5WindowSource(path: file)
        if let units = backwardUnits { return try fitBidirectional(source, backward: units) }
        if coefficients != IORNN.quadratic || source.scalarOutput {
            return try fitPolynomial(source, coefficients: coefficients)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let dx = source.inputDimension, dy = source.outputDimension
        guard hidden <= dx, hidden <= dy else {
            let which = hidden > dx ? "dx = \(dx) (/x is \(source.windows)×\(source.length)×\(dx))"
                : "dy = \(dy) (/y is \(source.windows)×\(source.length)×\(dy))"
            throw HDF5Error(file: file, message: "--hidden \(hidden) exceeds \(which): GLOREE needs A1 (dh×dx) and "
                            + "A2 (dh×dy) of full row rank, dh ≤ dx and dh ≤ dy (paper Theorem 5); use --hidden ≤ \(min(dx, dy))")
        }

        let (process, processNote, estimatedPairs) = try inputProcess(source)

        // What to compare with, when the file says how it was made. The fresh windows and the
        // truth's outputs on them do not depend on the fit: they are computed on another thread
        // while the passes run (which leave part of a core idle), and awaited after them.
        let truthModel = trueModel(source.reader, dx: dx, dh: hidden, dy: dy)
        var pendingFresh: PendingFreshWindows? = nil
        if case .some(.success(let truth)) = truthModel {
            pendingFresh = PendingFreshWindows(truth: truth, process: process, length: source.length,
                                               windows: source.windows, seed: seed)
        }

        let result = try gloree(source, process: process, hidden: hidden, seed: seed, threads: threads)
        let diagnostics = result.diagnostics
        let elapsed = clock.now - started
        let refinement = refine ? try refineSpectralEstimate(try result.model(), source: source) : nil
        let refinedElapsed = clock.now - started

        var comparison: [String] = []
        var wroteComparison = false
        var tree = HDF5Tree()
        switch truthModel {
        case .none: break
        case .some(.success(let truth)):
            (comparison, wroteComparison) = compare(result, with: truth, fresh: pendingFresh!.value, refined: refinement?.result.model,
                                                    into: &tree)
        case .some(.failure(let why)):
            comparison = ["against /model of the input: no comparison (\(why))"]
        }

        fill(&tree, result: result, process: process, estimatedPairs: estimatedPairs, source: source)
        if let refinement { fillRefinement(&tree, refinement) }
        try tree.write(to: output)

        var lines: [String] = []
        lines.append("spectral-rnn fit \(file): N = \(source.windows) window\(source.windows == 1 ? "" : "s") × n = \(source.length) steps, dx = \(dx), dy = \(dy); dh = \(hidden)")
        lines.append("  input process: \(processNote)")
        lines.append("  samples: \(diagnostics.secondMomentSamples) (window, t) pairs for Ê[y_t ⊗ S₂(x[n], t)], "
                     + "\(diagnostics.mixedMomentSamples) for the mixed moment Ê[y_t ⊗ S_{t,t−1,t−1}] (two passes over the file)")
        lines.append("  decomposition (\(result.fit.decomposer.rawValue)): relative residual "
                     + "\(formatNumber(diagnostics.decompositionResidual)); relative standard error of the moment "
                     + "\(formatNumber(diagnostics.secondMomentRelativeStandardError)), of Û \(formatNumber(diagnostics.uRelativeStandardError))")
        if let refinement = result.fit.refinement {
            lines.append("    \(refinement.summary)")
        }
        lines.append("  condition numbers: cond(Â1) = \(formatNumber(diagnostics.conditionNumberA1)), cond(Â2) = \(formatNumber(diagnostics.conditionNumberA2))"
                     + " (rank conditions dh ≤ dx, dh ≤ dy hold)")
        if diagnostics.warnings.isEmpty {
            lines.append("  warnings: none")
        } else {
            lines.append("  warnings:")
            lines += diagnostics.warnings.map { "    - \($0)" }
        }
        if let refinement { lines.append("  \(refinement.line)") }
        lines += comparison.map { "  \($0)" }
        lines.append("  wrote \(output): /estimate/{A1, U, A2, U_least_squares\(refinement == nil ? "" : ", refined/{A1, U, A2}")}, "
                     + "/process (source \"\(estimatedPairs == nil ? "file" : "estimated")\"), "
                     + "/diagnostics\(wroteComparison ? ", /comparison" : "")")
        lines.append(fitTimeLine(elapsed, refined: refinement == nil ? nil : refinedElapsed, threads: threads))
        print(lines.joined(separator: "\n"))
    }

    private func trace(_ m: Tensor) -> Double { (0..<m.shape[0]).reduce(0) { $0 + m[$1, $1] } }

    /// The input process: from the file, or estimated from /x; with a line for the report.
    func inputProcess(_ source: HDF5WindowSource) throws -> (AR1Process, String, Int?) {
        if let stored = try readProcess(from: source.reader, dimension: source.inputDimension) {
            return (stored, "from the file (/process/Phi, /process/Sigma); spectral radius of Φ \(formatNumber(try spectralRadius(stored.phi)))", nil)
        }
        let estimate = try fitAR1Process(source)
        let process = estimate.process
        return (process, "estimated from /x by least squares over \(estimate.pairs) pairs (x_{t−1}, x_t), since the file has no "
                    + "/process; spectral radius of Φ̂ \(formatNumber(try spectralRadius(process.phi))), tr Σ̂ \(formatNumber(trace(process.sigma)))",
                estimate.pairs)
    }

    /// GLOREE for a polynomial activation (MATH.md §5; PolynomialGLOREE.swift), vector or scalar output.
    private func fitPolynomial(_ source: HDF5WindowSource, coefficients c: [Double]) throws {
        let clock = ContinuousClock()
        let started = clock.now
        let dx = source.inputDimension, dy = source.outputDimension, l = c.count - 1
        let activationText = Activation.polynomial(c).description
        guard hidden <= dx else {
            throw HDF5Error(file: file, message: "--hidden \(hidden) exceeds dx = \(dx) (/x is \(source.windows)×\(source.length)×\(dx)): "
                            + "GLOREE needs A1 (dh×dx) of full row rank; use --hidden ≤ \(dx)")
        }
        if source.scalarOutput || dy == 1 {
            guard l >= 3 else {
                throw HDF5Error(file: file, message: "a scalar output (/y is \(source.scalarOutput ? "N×n" : "N×n×1")) needs an activation of degree l ≥ 3 "
                                + "(App. C.2): σ(z) = \(activationText) has degree \(l), and Σ_j a2_j a_j a_jᵀ has no unique rank-\(hidden) decomposition")
            }
        } else {
            guard hidden <= dy else {
                throw HDF5Error(file: file, message: "--hidden \(hidden) exceeds dy = \(dy) (/y is \(source.windows)×\(source.length)×\(dy)): "
                                + "GLOREE needs A2 (dh×dy) of full row rank, or a scalar output; use --hidden ≤ \(min(dx, dy))")
            }
        }
        let (process, processNote, estimatedPairs) = try inputProcess(source)
        let result = try gloree(source, process: process, hidden: hidden, coefficients: c, seed: seed, threads: threads)
        let fit = result.fit
        let elapsed = clock.now - started
        let refinement = refine ? try refineSpectralEstimate(try result.model(), source: source) : nil
        let refinedElapsed = clock.now - started

        var tree = HDF5Tree()
        var comparison: [String] = []
        if reader(source).exists("/model/A1") {
            do {
                let truth = try storedModel(source.reader, coefficients: c)
                guard truth.a1.shape == fit.a1.shape, truth.a2.shape == fit.a2.shape else {
                    throw NotComparable(description: "/model has dh = \(truth.hiddenDimension), the fit dh = \(hidden)")
                }
                let estimate = try result.model()
                let errors = try ParameterErrors(estimate, truth: truth)
                comparison.append("against /model of the input (aligned modulo \(equivalenceText(truth.equivalence))), \(errors)")
                tree.addDataset("/comparison/parameter_errors", Tensor(vector: [errors.a1, errors.u, errors.a2]),
                                description: "Relative Frobenius errors of Â1, Û, Â2 against /model of the input file, after aligning hidden units modulo \(equivalenceText(truth.equivalence)).",
                                formula: "‖X̂ − X‖_F / ‖X‖_F for X = A1, U, A2", paper: "§3.3; MATH.md §1")
                do {
                    let fresh = try FreshWindows(truth: { try truth.outputs(forWindows: $0) }, process: process, length: source.length,
                                                 windows: source.windows, seed: seed)
                    comparison.append(comparePredictions({ try estimate.outputs(forWindows: $0) }, on: fresh, into: &tree).line)
                    if let refined = refinement?.result.model { comparison.append(compareRefined(refined, on: fresh, into: &tree)) }
                } catch {
                    comparison.append("prediction error: not computed (\(error))")
                }
            } catch {
                comparison.append("against /model of the input: no comparison (\(error))")
            }
        }
        if let refinement { fillRefinement(&tree, refinement) }

        fileAttributes(&tree)
        tree.addDataset("/estimate/A1", fit.a1, description: "Estimated A1 (dh×dx): rows s_j â_j, the directions â_j from the S_\(l) moment and the scales s_j from the first-step moments.",
                        formula: "Ê[y_t ⊗ S_\(l)(x[n], t)] ≈ l! c_l Σ_j b_j ⊗ a_j^{⊗\(l)}", paper: "Thm 6; MATH.md §5")
        tree.addDataset("/estimate/U", fit.u, description: "Estimated U (dh×dh) from the corrected order-\(2 * l - 1) mixed moment.",
                        formula: "U_jk = T(β_j, α_j^(l−1), α_k^(l)) / (l! c_l)², T = Ê[y_t ⊗ S_{t^(l−1),(t−1)^(l)}]", paper: "MATH.md §5 (corrects eq. 17, erratum 5)")
        tree.addDataset("/estimate/A2", fit.a2, description: "Estimated A2 (dh×dy\(dy == 1 ? ", the scalar output's a2" : "")): rows b_j = g_j / (l! c_l s_j^l).",
                        formula: "Ê[y_t ⊗ S_\(l)] ≈ l! c_l Σ_j b_j ⊗ a_j^{⊗\(l)}", paper: "Thm 6; MATH.md §5")
        tree.addDataset("/estimate/activation", Tensor(vector: c), description: "The activation's coefficients c_0 … c_l the model was fitted with: σ(z) = \(activationText).",
                        formula: "σ(z) = Σ_i c_i z^i", paper: "§3.3")
        tree.addDataset("/estimate/scales", Tensor(vector: fit.scales), description: "The per-unit scales s_j fitted to the first-step moments (1 for a monomial σ, whose scale is a symmetry).",
                        formula: "f_k(s) = E[σ^(k)(s g)] s^k / (l! c_l s^l) = P_jk", paper: "MATH.md §5")
        tree.setAttribute("activation", .string(activationText), at: "/estimate")
        writeProcess(&tree, process, estimatedPairs: estimatedPairs)
        tree.addDataset("/diagnostics/leading_moment", result.leadingMoment.mean,
                        description: "Ê[y_t ⊗ S_\(l)(x[n], t)] (dy×dx^\(l)) over \(result.leadingMoment.count) (window, t) pairs.",
                        formula: "Ê[y_t ⊗ S_l(x[n], t)]", paper: "Thm 6; MATH.md §5")
        tree.addDataset("/diagnostics/leading_moment_se", result.leadingMoment.standardError,
                        description: "Per-entry standard error of /diagnostics/leading_moment.", formula: "sd/√N", paper: "MATH.md §5")
        tree.addDataset("/diagnostics/first_step", fit.firstStepProjections, description: "The projected first-step moments the scales were fitted to (dh × orders).",
                        formula: "P_jk = T(β̃_j, α̂_j^(k)), T = Ê[y_1 ⊗ S_k(x[n], 1)]", paper: "MATH.md §5")
        tree.addDataset("/diagnostics/projected_mixed", fit.projectedMixed, description: "T̃_jk with the duals of (â, g) over \(result.projectedMixed.count) pairs.",
                        formula: "T(β̃_j, α̂_j^(l−1), α̂_k^(l))", paper: "MATH.md §5")
        tree.addDataset("/diagnostics/U_se", result.uStandardError, description: "Per-entry standard error of /estimate/U (batch means, given the directions and scales).",
                        formula: "s_j se(T̃_jk) / (|s_k|^l l! |c_l|)", paper: "MATH.md §5")
        tree.setAttribute("u_relative_se", .real(result.uRelativeStandardError), at: "/diagnostics")
        tree.setAttribute("leading_moment_relative_se", .real(result.leadingRelativeStandardError), at: "/diagnostics")
        tree.setAttribute("decomposition_residual", .real(fit.leadingResidual), at: "/diagnostics")
        tree.setAttribute("warning_count", .integer(result.warnings.count), at: "/diagnostics")
        tree.setAttribute("warnings", .string(result.warnings.joined(separator: "\n")), at: "/diagnostics")
        tree.setAttribute("windows", .integer(source.windows), at: "/diagnostics")
        tree.setAttribute("length", .integer(source.length), at: "/diagnostics")
        try tree.write(to: output)

        let reliable = result.warnings.isEmpty
        var lines: [String] = []
        lines.append("spectral-rnn fit \(file): N = \(source.windows) window\(source.windows == 1 ? "" : "s") × n = \(source.length) steps, dx = \(dx), "
                     + (dy == 1 ? "scalar output" : "dy = \(dy)") + "; dh = \(hidden); σ(z) = \(activationText) (degree \(l))")
        lines.append("  input process: \(processNote)")
        lines.append("  samples: \(result.leadingMoment.count) (window, t) pairs for Ê[y_t ⊗ S_\(l)(x[n], t)], \(result.firstStep.count) first steps, "
                     + "\(result.projectedMixed.count) pairs for the order-\(2 * l - 1) mixed moment (two passes over the file)")
        lines.append("  signal against noise: relative standard error of the S_\(l) moment \(formatNumber(result.leadingRelativeStandardError)), "
                     + "of Û \(formatNumber(result.uRelativeStandardError)); decomposition residual \(formatNumber(fit.leadingResidual))")
        lines.append("  scales s_j = " + fit.scales.map { formatNumber($0) }.joined(separator: ", ")
                     + (fit.scaleIdentified ? " (fitted to the first-step moments)" : " (σ is a monomial: the scale is a symmetry, fixed at 1)"))
        lines.append("  condition numbers: cond(Â1) = \(formatNumber(fit.conditionNumberA1)), cond(Â2) = \(formatNumber(fit.conditionNumberA2))")
        if reliable {
            lines.append("  warnings: none")
        } else {
            lines.append("  UNRELIABLE: the moments are too noisy or do not fit this model; the estimate is written but should not be trusted:")
            lines += result.warnings.map { "    - \($0)" }
        }
        if let refinement { lines.append("  \(refinement.line)") }
        lines += comparison.map { "  \($0)" }
        lines.append("  wrote \(output): /estimate/{A1, U, A2, activation, scales\(refinement == nil ? "" : ", refined/{A1, U, A2}")}, /process, "
                     + "/diagnostics\(comparison.isEmpty ? "" : ", /comparison")")
        lines.append(fitTimeLine(elapsed, refined: refinement == nil ? nil : refinedElapsed, threads: threads))
        print(lines.joined(separator: "\n"))
    }

    private func reader(_ source: HDF5WindowSource) -> HDF5Reader { source.reader }

    /// /process of the output: the input process the fit used, and where it came from.
    func writeProcess(_ tree: inout HDF5Tree, _ process: AR1Process, estimatedPairs: Int?) {
        let from = estimatedPairs.map { "estimated from /x by least squares over \($0) pairs (x_{t−1}, x_t)" } ?? "read from /process of the input file"
        tree.addDataset("/process/Phi", process.phi, description: "The AR(1) transition matrix Φ used by the fit (dx×dx), \(from).",
                        formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
        tree.addDataset("/process/Sigma", process.sigma, description: "The AR(1) innovation covariance Σ used by the fit (dx×dx), \(from).",
                        formula: "ε_t ~ N(0, Σ)", paper: "§2.5")
        tree.addDataset("/process/Gamma", process.gamma, description: "The stationary covariance Γ of the process used (dx×dx).",
                        formula: "Γ = Φ Γ Φᵀ + Σ", paper: "§2.5")
        tree.setAttribute("source", .string(estimatedPairs == nil ? "file" : "estimated"), at: "/process")
        if let estimatedPairs { tree.setAttribute("pairs", .integer(estimatedPairs), at: "/process") }
    }

    /// The attributes every output file of fit carries.
    func fileAttributes(_ tree: inout HDF5Tree) {
        setCommandAttributes(&tree, seed: seed, command: "spectral-rnn fit")
        tree.setAttribute("input", .string(file))
        tree.setAttribute("hidden", .integer(hidden))
        tree.setAttribute("threads", .integer(threads))
    }

    private func equivalenceText(_ e: IORNN.Equivalence) -> String {
        switch e {
        case .scaling: return "permutation and per-unit scaling"
        case .signFlip: return "permutation and sign flips"
        case .permutationOnly: return "permutation only"
        }
    }

    /// The model under /model, with its activation from /model/activation (z² when absent).
    private func storedModel(_ reader: HDF5Reader, coefficients: [Double]) throws -> IORNN {
        let a1 = try reader.readTensor("/model/A1", rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit)
        let u = try reader.readTensor("/model/U", rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit)
        let a2 = try reader.readTensor("/model/A2", rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit)
        let stored = reader.exists("/model/activation") ? try reader.readTensor("/model/activation", rank: 1, requireFinite: true, maximumEntries: Fit.modelEntryLimit).storage : IORNN.quadratic
        guard stored == coefficients else {
            throw NotComparable(description: "the input was made with σ(z) = \(Activation.polynomial(stored)), the fit uses σ(z) = \(Activation.polynomial(coefficients))")
        }
        return try IORNN(a1: a1, u: u, a2: a2, coefficients: stored)
    }

    /// Why a model stored in the input cannot be compared with the fit.
    struct NotComparable: Error, CustomStringConvertible {
        let description: String
    }

    /// The model under /model (written by `simulate`): nil when the file has none, a failure
    /// (with the reason) when it cannot be compared with a fit of this size.
    private func trueModel(_ reader: HDF5Reader, dx: Int, dh: Int, dy: Int) -> Result<IORNN, NotComparable>? {
        guard reader.exists("/model/A1"), reader.exists("/model/U"), reader.exists("/model/A2") else { return nil }
        do {
            if reader.exists("/model/activation") {
                let stored = try reader.readTensor("/model/activation", rank: 1, requireFinite: true, maximumEntries: Fit.modelEntryLimit).storage
                guard stored == IORNN.quadratic else {
                    return .failure(NotComparable(description: "the input was made with σ(z) = \(Activation.polynomial(stored)); fit it with --activation \(stored.map { formatNumber($0) }.joined(separator: ","))"))
                }
            }
            let a1 = try reader.readTensor("/model/A1", rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit)
            let u = try reader.readTensor("/model/U", rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit)
            let a2 = try reader.readTensor("/model/A2", rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit)
            guard a1.shape == [dh, dx], a2.shape == [dh, dy] else {
                return .failure(NotComparable(description: "/model/A1 is \(hdf5Shape(a1.shape)) and /model/A2 is "
                                              + "\(hdf5Shape(a2.shape)), the fit has dh = \(dh)"))
            }
            return .success(try IORNN(a1: a1, u: u, a2: a2))
        } catch {
            return .failure(NotComparable(description: "\(error)"))
        }
    }

    func hdf5Shape(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "×") }

    /// Parameter errors after alignment and the prediction error on fresh windows; lines for the report.
    private func compare(_ result: GLOREEResult, with truth: IORNN, fresh freshWindows: Result<FreshWindows, any Error>,
                         refined: IORNN? = nil, into tree: inout HDF5Tree) -> (lines: [String], wrote: Bool) {
        var lines: [String] = []
        var wrote = false
        var aligned: IORNN? = nil
        do {
            let estimate = try result.model()
            let alignment = try align(estimate, to: truth)
            aligned = alignment.aligned
            let errors = ParameterErrors(aligned: alignment.aligned, permutation: alignment.permutation, truth: truth)
            lines.append("against /model of the input, \(errors)")
            tree.addDataset("/comparison/parameter_errors", Tensor(vector: [errors.a1, errors.u, errors.a2]),
                            description: "Relative Frobenius errors of Â1, Û, Â2 against /model of the input file, after "
                                + "matching hidden units by |cosine| and rescaling (a_j, U_j·, U_·j, b_j) → (s a_j, s U_j·, U_·j/s², b_j/s²).",
                            formula: "‖X̂ − X‖_F / ‖X‖_F for X = A1, U, A2", paper: "§3.2; MATH.md §1")
            tree.setAttribute("permutation", .string(errors.permutation.map(String.init).joined(separator: " ")),
                              at: "/comparison/parameter_errors")
            let matchA1 = try factorMatch(estimated: result.a1, truth: truth.a1).score
            let matchA2 = try factorMatch(estimated: result.a2, truth: truth.a2).score
            lines.append("factor match scores (mean |cos| of matched rows, 1 is perfect): A1 \(formatNumber(matchA1, digits: 6)), A2 \(formatNumber(matchA2, digits: 6))")
            tree.addDataset("/comparison/factor_match", Tensor(vector: [matchA1, matchA2]),
                            description: "Factor match scores of Â1 and Â2 against /model: the mean |cosine| between true rows and "
                                + "optimally matched estimated rows (Hungarian matching), 1 for a perfect recovery.",
                            formula: "(1/dh) Σ_j |cos(â_π(j), a_j)|", paper: "MATH.md §7")
            wrote = true
        } catch {
            lines.append("against /model of the input: no comparison (\(error))")
        }
        do {
            let estimate = try result.model()
            // One set of fresh windows and the truth's outputs on them, for both errors below.
            let fresh = try freshWindows.get()
            var prediction = comparePredictions({ try estimate.outputs(forWindows: $0) }, on: fresh, into: &tree)
            // How much of it is Û: the same windows with the true U in Û's place (Â1, Â2 aligned to the truth).
            if prediction.wrote, let aligned, let trueU = try? IORNN(a1: aligned.a1, u: truth.u, a2: aligned.a2),
               let error = try? fresh.predictionError({ try trueU.outputs(forWindows: $0) }) {
                prediction.line += "; \(formatNumber(error)) with the true U in Û's place (the difference is Û's error, "
                    + "relative standard error \(formatNumber(result.diagnostics.uRelativeStandardError)))"
                tree.addDataset("/comparison/prediction_error_true_u", Tensor(scalar: error),
                                description: "The prediction error of /comparison/prediction_error with Â1, Â2 (aligned to /model) and "
                                    + "the true U: what the error would be if Û were exact.",
                                formula: "‖ŷ − y*‖_F / ‖y*‖_F", paper: "MATH.md §1")
            }
            lines.append(prediction.line)
            wrote = wrote || prediction.wrote
            if let refined { lines.append(compareRefined(refined, on: fresh, into: &tree)) }
        } catch {
            lines.append("prediction error: not computed (\(error))")
        }
        return (lines, wrote)
    }

    /// The prediction error `‖ŷ − y*‖/‖y*‖` of an estimate against the noiseless truth on the fresh
    /// windows, as a line for the report; stored as /comparison/prediction_error. A line saying why
    /// when the estimate diverges on a fresh window.
    func comparePredictions(_ predict: (Tensor) throws -> Tensor, on fresh: FreshWindows,
                            into tree: inout HDF5Tree) -> (line: String, wrote: Bool) {
        do {
            let error = try fresh.predictionError(predict)
            tree.addDataset("/comparison/prediction_error", Tensor(scalar: error),
                            description: "Relative prediction error of the fitted model on \(fresh.windows) fresh windows of "
                                + "\(fresh.length) steps of the input process, against the noiseless outputs of /model.",
                            formula: "‖ŷ − y*‖_F / ‖y*‖_F", paper: "MATH.md §1")
            return ("prediction error on \(fresh.windows) fresh window\(fresh.windows == 1 ? "" : "s") of \(fresh.length) steps "
                    + "against the noiseless truth: ‖ŷ − y*‖/‖y*‖ = \(formatNumber(error))", true)
        } catch {
            return ("prediction error: not computed (\(error))", false)
        }
    }

    /// The prediction error of the refined model (`--refine`) on the comparison's fresh windows,
    /// as a line for the report; stored as /comparison/prediction_error_refined.
    func compareRefined(_ refined: IORNN, on fresh: FreshWindows, into tree: inout HDF5Tree) -> String {
        do {
            let error = try fresh.predictionError({ try refined.outputs(forWindows: $0) })
            tree.addDataset("/comparison/prediction_error_refined", Tensor(scalar: error),
                            description: "The prediction error of /comparison/prediction_error for /estimate/refined.",
                            formula: "‖ŷ − y*‖_F / ‖y*‖_F", paper: "MATH.md §1; issue 14")
            return "prediction error of the refined model on the same windows: \(formatNumber(error))"
        } catch {
            return "prediction error of the refined model: not computed (\(error))"
        }
    }

    /// The spectral estimate refined (`--refine`), with the report's line.
    struct Refinement {
        let result: GradientRefinementResult
        /// The method in words (the report and /diagnostics/refinement's `method`).
        let method: String
        let kind: RefineMethod
        /// What one row of the history is.
        var unit: String { kind == .adam ? "epoch" : "iteration" }
        let trainingWindows: Int, heldOutWindows: Int
        var line: String {
            let h = result.history
            let steps = h.dropFirst().reduce(0) { $0 + $1.evaluations }, skipped = h.dropFirst().reduce(0) { $0 + $1.divergedTrials }
            return "refinement (\(method); \(trainingWindows) training windows, the last \(heldOutWindows) held out): held-out mean squared error "
                + "\(formatNumber(result.startHeldOutError)) → \(formatNumber(result.heldOutError)), kept \(unit) \(result.bestIteration) of \(h.count - 1) "
                + (kind == .adam ? "(\(steps) steps, \(skipped) skipped)" : "(\(steps) loss evaluations in the line searches, \(skipped) trial steps rejected as divergent)")
                + "; \(result.stopReason)" + fewStepsHint
        }
        /// Adam's step size falls tenfold an epoch: below about 50 steps an epoch (12 800 training
        /// windows) its epochs stop well short of where the same schedule from the truth ends (walkthrough 07's sweep page), and more
        /// epochs do not help.
        var fewStepsHint: String {
            guard kind == .adam, let first = result.history.dropFirst().first, first.evaluations < 50 else { return "" }
            return "\n  note: \(first.evaluations) Adam steps an epoch are few, and more epochs add little (the step size falls tenfold each); "
                + "on so few windows --refine-method lbfgs reaches lower"
        }
    }

    /// `--refine`: the last tenth of the windows (at least one) held out, the rest refined on.
    private func refineSpectralEstimate(_ start: IORNN, source: HDF5WindowSource) throws -> Refinement {
        let windows = source.windows
        guard windows >= 2 else {
            throw HDF5Error(file: file, message: "--refine holds out the last tenth of the windows and needs at least 2; the file has \(windows)")
        }
        let held = max(1, windows / 10)
        let training = WindowRangeSource(source, windows: 0..<(windows - held))
        let heldOut = WindowRangeSource(source, windows: (windows - held)..<windows)
        let method = refineMethod ?? .adam
        let iterations = refineIterations ?? method.defaultIterations
        switch method {
        case .adam:
            let options = AdamOptions(epochs: iterations, learningRate: 1e-3, learningRateDecay: 0.1, patience: 2,
                                      measuresStartTrainingError: false, threads: threads)
            let refined = try refineByAdam(start, training: training, heldOut: heldOut, options: options)
            let method = "minibatch Adam, learning rate \(formatNumber(options.learningRate)) × \(formatNumber(options.learningRateDecay))^epoch, "
                + "\(options.windowsPerStep) windows a step, gradients clipped at norm \(formatNumber(options.clipNorm ?? .infinity))"
            return Refinement(result: refined, method: method, kind: .adam, trainingWindows: windows - held, heldOutWindows: held)
        case .lbfgs:
            let options = GradientRefinementOptions(iterations: iterations, patience: 10, threads: threads)
            let refined = try SpectralRNN.refine(start, training: training, heldOut: heldOut, options: options)
            let method = "full-batch L-BFGS, memory \(options.memory), a line search that halves a trial step whose recurrence diverges"
            return Refinement(result: refined, method: method, kind: .lbfgs, trainingWindows: windows - held, heldOutWindows: held)
        }
    }

    /// /estimate/refined and /diagnostics/refinement.
    private func fillRefinement(_ tree: inout HDF5Tree, _ r: Refinement) {
        let m = r.result.model
        tree.addDataset("/estimate/refined/A1", m.a1, description: "A1 (dh×dx) of the spectral estimate refined by \(r.kind == .adam ? "minibatch Adam" : "L-BFGS") (--refine).",
                        formula: "min over (A1, U, A2) of the mean of ‖A2ᵀ h_t − y_t‖² on the training windows", paper: "issue 14")
        tree.addDataset("/estimate/refined/U", m.u, description: "U (dh×dh) of the refined model.",
                        formula: "h_t = σ(A1 x_t + U h_{t−1})", paper: "eq. 15; issue 14")
        tree.addDataset("/estimate/refined/A2", m.a2, description: "A2 (dh×dy) of the refined model.",
                        formula: "ŷ_t = A2ᵀ h_t", paper: "eq. 15; issue 14")
        let h = r.result.history
        tree.addDataset("/diagnostics/refinement", Tensor(shape: [h.count, 4]) { i in
            let record = h[i[0]]
            return [record.trainingError, record.heldOutError, Double(record.divergedTrials), Double(record.evaluations)][i[1]]
        }, description: r.kind == .adam
            ? "One row per epoch of --refine (row 0: the spectral estimate): mean squared error on the training windows "
                + "(met during the epoch; NaN in row 0, not measured, to save a pass), on the held-out windows (after it), minibatches "
                + "skipped, Adam steps taken."
            : "One row per L-BFGS iteration of --refine (row 0: the spectral estimate): mean squared error on the training windows "
                + "and on the held-out windows at the iterate, trial steps rejected because the recurrence diverged, loss evaluations "
                + "(passes over the training windows) of the line search.",
           formula: "(1/P) Σ ‖A2ᵀ h_t − y_t‖²", paper: "issue 14")
        tree.setAttribute("method", .string(r.method), at: "/diagnostics/refinement")
        tree.setAttribute("held_out_windows", .integer(r.heldOutWindows), at: "/diagnostics/refinement")
        tree.setAttribute("kept_\(r.unit)", .integer(r.result.bestIteration), at: "/diagnostics/refinement")
        tree.setAttribute("stop_reason", .string(r.result.stopReason), at: "/diagnostics/refinement")
    }

    /// The output file's datasets and attributes.
    private func fill(_ tree: inout HDF5Tree, result: GLOREEResult, process: AR1Process, estimatedPairs: Int?,
                      source: HDF5WindowSource) {
        let d = result.diagnostics
        fileAttributes(&tree)

        tree.addDataset("/estimate/A1", result.a1,
                        description: "Estimated A1 (dh×dx): unit rows â_j, entry of largest modulus positive (one representative "
                            + "of the scaling class).",
                        formula: "Ê[y_t ⊗ S₂(x[n], t)] ≈ 2 Σ_j b_j ⊗ a_j ⊗ a_j, decomposed with rank dh", paper: "Thm 5, eq. 14; Alg. 1")
        tree.addDataset("/estimate/U", result.u,
                        description: "Estimated U (dh×dh) by the entrywise-dual solve on the corrected mixed moment.",
                        formula: "U_jk = T(β_j, α_j, α_k, α_k) / 4, T = Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])], α = pinv(Â1), β = pinv(Â2)",
                        paper: "MATH.md §4(c) (corrects Thm 5 second display, errata 3–4)")
        tree.addDataset("/estimate/A2", result.a2,
                        description: "Estimated A2 (dh×dy): rows b_j scaled so that 2 Σ_j b_j ⊗ â_j ⊗ â_j reproduces the moment.",
                        formula: "b_j = λ_j b̂_j / 2", paper: "Thm 5, eq. 14; Alg. 1")
        tree.addDataset("/estimate/U_least_squares", result.uByLeastSquares,
                        description: "U by least squares on the projected equations P_jk/4 = Σ_l U_jl (α_k·a_l)² (equal to "
                            + "/estimate/U up to rounding when Â1 has full row rank).",
                        formula: "vec(M_j) = (A1 ⊙ A1)ᵀ U_j·ᵀ, M_j = Σ_k U_jk a_k a_kᵀ", paper: "MATH.md §4(c); Alg. 1 line 10")

        writeProcess(&tree, process, estimatedPairs: estimatedPairs)

        tree.addDataset("/diagnostics/second_moment", result.secondMoment.mean,
                        description: "Ê[y_t ⊗ S₂(x[n], t)] (dy×dx×dx) over \(d.secondMomentSamples) (window, t) pairs.",
                        formula: "Ê[y_t ⊗ (u_t u_tᵀ − P_tt)], u = P x", paper: "Thm 5, eq. 14")
        tree.addDataset("/diagnostics/second_moment_se", result.secondMoment.standardError,
                        description: "Per-entry standard error of /diagnostics/second_moment (pairs treated as independent).",
                        formula: "sd/√N", paper: "Thm 5, eq. 14")
        tree.addDataset("/diagnostics/projected_mixed", result.projectedMixed.mean,
                        description: "The mixed moment contracted with the duals (dh×dh) over \(d.mixedMomentSamples) pairs; ≈ 4U.",
                        formula: "T(β_j, α_j, α_k, α_k), T = Ê[y_t ⊗ S_{t,t−1,t−1}(x[n])]", paper: "MATH.md §4(c)")
        tree.addDataset("/diagnostics/projected_mixed_se", result.projectedMixed.standardError,
                        description: "Per-entry standard error of /diagnostics/projected_mixed (given Â1, Â2).",
                        formula: "sd/√N", paper: "MATH.md §4(c)")
        tree.addDataset("/diagnostics/U_se", d.uStandardError,
                        description: "Per-entry standard error of /estimate/U (given Â1, Â2).",
                        formula: "se(P)/4", paper: "MATH.md §4(c)")
        tree.addDataset("/diagnostics/condition_numbers", Tensor(vector: [d.conditionNumberA1, d.conditionNumberA2]),
                        description: "Row condition numbers σ₁/σ_dh of Â1 and Â2 (∞ without full row rank).",
                        formula: "(cond(Â1), cond(Â2))", paper: "Thm 5 (full row rank)")
        tree.setAttribute("second_moment_samples", .integer(d.secondMomentSamples), at: "/diagnostics")
        tree.setAttribute("mixed_moment_samples", .integer(d.mixedMomentSamples), at: "/diagnostics")
        tree.setAttribute("decomposition_residual", .real(d.decompositionResidual), at: "/diagnostics")
        tree.setAttribute("second_moment_relative_se", .real(d.secondMomentRelativeStandardError), at: "/diagnostics")
        tree.setAttribute("u_relative_se", .real(d.uRelativeStandardError), at: "/diagnostics")
        tree.setAttribute("decomposer", .string(result.fit.decomposer.rawValue), at: "/diagnostics")
        if let refinement = result.fit.refinement {
            let starts = refinement.starts
            tree.addDataset("/diagnostics/decomposition_starts",
                            Tensor(shape: [starts.count, 3], storage: starts.flatMap {
                                [$0.initialResidual ?? .nan, $0.refinedResidual ?? .nan, Double($0.sweeps)] }),
                            description: "One row per start of the refined decomposition (\(starts.map(\.initializer.rawValue).joined(separator: "; "))): "
                                + "relative residual of the spectral estimate, after ALS refinement, ALS sweeps (NaN where the start failed).",
                            formula: "‖T − T̂‖_F / ‖T‖_F, T = /diagnostics/second_moment", paper: "MATH.md §7")
            tree.setAttribute("decomposition_start", .string(refinement.winner.rawValue), at: "/diagnostics")
        }
        tree.setAttribute("warning_count", .integer(d.warnings.count), at: "/diagnostics")
        tree.setAttribute("warnings", .string(d.warnings.joined(separator: "\n")), at: "/diagnostics")
        tree.setAttribute("windows", .integer(source.windows), at: "/diagnostics")
        tree.setAttribute("length", .integer(source.length), at: "/diagnostics")
    }
}

/// Fresh windows of the input process (at most about 10⁵ steps, windows as long as the data's)
/// and the noiseless outputs of the truth on them, drawn and run once for every prediction error
/// of one report.
/// `FreshWindows` for an IO-RNN truth, computed on a thread of its own from the start; `value`
/// waits for it (the same windows and outputs as computing them in place).
final class PendingFreshWindows: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written once by the thread before `done` is signalled, read only after waiting on it.
    private var result: Result<FreshWindows, any Error>?

    init(truth: IORNN, process: AR1Process, length: Int, windows: Int, seed: UInt64) {
        let thread = Thread { [self] in
            result = Result {
                try FreshWindows(truth: { try truth.outputs(forWindows: $0) }, process: process, length: length,
                                 windows: windows, seed: seed)
            }
            done.signal()
        }
        thread.name = "spectral-rnn fit fresh windows"
        thread.start()
    }

    /// The fresh windows, or why they could not be made (the truth diverged, say).
    var value: Result<FreshWindows, any Error> {
        done.wait()
        done.signal()
        return result!
    }
}

struct FreshWindows: Sendable {
    let windows: Int
    let length: Int
    /// The inputs `simulate` would draw for the truth with this seed (they do not depend on the model).
    let x: Tensor
    /// The truth's noiseless outputs on `x`.
    let target: Tensor

    init(truth: (Tensor) throws -> Tensor, process: AR1Process, length dataLength: Int, windows dataWindows: Int,
         seed: UInt64) throws {
        let steps = 100_000
        length = min(dataLength, steps)
        windows = max(1, min(dataWindows, steps / length))
        x = try process.simulatedInputs(windowRange: 0..<windows, length: length, seed: seed,
                                        purpose: "spectral-rnn fit fresh windows")
        target = try truth(x)
    }

    /// `‖ŷ − y*‖/‖y*‖` of a predictor on these windows.
    func predictionError(_ predict: (Tensor) throws -> Tensor) throws -> Double {
        try predict(x).relativeError(to: target)
    }
}

/// The report's last line: the fit's wall time (and with the refinement), the threads, and
/// the instruction set the library was compiled for (Package.swift).
func fitTimeLine(_ elapsed: Duration, refined: Duration? = nil, threads: Int) -> String {
    let seconds = { (d: Duration) in String(format: "%.2f", d / .seconds(1)) }
    return "  fit time \(seconds(elapsed)) s " + (refined.map { "(\(seconds($0)) s with the refinement) " } ?? "")
        + "(\(threads) thread\(threads == 1 ? "" : "s"), \(compiledForX86_64V3 ? "x86-64-v3" : "baseline x86-64") build)"
}
