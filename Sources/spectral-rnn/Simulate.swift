import ArgumentParser
import Foundation
import SpectralRNN

/// `spectral-rnn simulate …`: an input file for `fit` (CONVENTIONS §5) from a random IO-RNN
/// with a polynomial activation (z² by default) driven by a stationary AR(1) input, with the
/// true model under `/model`.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an input file for `fit`: windows of an IO-RNN with a polynomial activation driven by an AR(1) input.",
        discussion: """
            Draws a random IO-RNN h_t = σ(A1 x_t + U h_{t−1}), y_t = A2ᵀ h_t + η_t (paper \
            §3.2–3.3) with σ(z) = Σ c_i z^i from --activation (default z²), ‖U‖₂ = 0.2, rows \
            of A1 of norm 0.5 (0.35 for degree 3 and up) and unit rows of A2 (row condition \
            numbers at most 10), and simulates N independent windows of n steps of the \
            stationary AR(1) input x_t = φ x_{t−1} + ε_t, ε_t ~ N(0, I), h_0 = 0. For degree \
            3 and up the draw must meet the bounded-state condition at the typical input scale \
            (IORNN.random, boundedFor). With --scalar-output, y_t = ⟨a2, h_t⟩ + η_t and /y is \
            N×n (App. C.2). Writes /x (N×n×dx), /y (N×n×dy or N×n), /process/Phi (φ·I), \
            /process/Sigma (I) and the true model under /model (A1, U, A2, activation, \
            attribute noise), atomically. With --backward DZ, draws a bidirectional RNN \
            (paper eq. 18) with --hidden forward and DZ backward units from the same generator \
            (stacked [A1; B1] of dh + dz rows, U and V the diagonal blocks of one recurrent \
            draw, each of norm --spectral-norm-u) and writes /model/{A1, U, B1, V, A2} with \
            attributes dh and dz; fit it with `fit --backward DZ`.
            """
    )

    @Option(parsing: .unconditional, help: "dx, the dimension of one input x_t.")
    var dx: Int

    @Option(parsing: .unconditional, help: "dh, the number of hidden units (at most dx, and at most dy unless --scalar-output).")
    var hidden: Int

    @Option(parsing: .unconditional, help: "dy, the dimension of one output y_t (omit with --scalar-output).")
    var dy: Int?

    @Option(parsing: .unconditional, help: "The activation's coefficients c0,c1,…,cl of σ(z) = Σ c_i z^i, l ≥ 2 (default 0,0,1: σ(z) = z²).")
    var activation: String = "0,0,1"

    @Flag(help: "A scalar output y_t = ⟨a2, h_t⟩ + η_t (App. C.2; needs degree ≥ 3 to be fitted): /y is N×n.")
    var scalarOutput = false

    @Option(parsing: .unconditional, help: ArgumentHelp("dz: also draw DZ backward units z_t = (B1 x_t + V z_{t+1})², z_{n+1} = 0 (a bidirectional RNN, paper eq. 18, σ = z²); --hidden is then dh, the forward units, and dh + dz must not exceed dx or dy.", valueName: "DZ"))
    var backward: Int?

    @Option(parsing: .unconditional, help: "‖U‖₂ of the drawn model (at most 1/l for degree l).")
    var spectralNormU: Double = 0.2

    @Option(parsing: .unconditional, help: "The norm of each row of A1 (default 0.5 for σ of degree 2, 0.35 otherwise; 0.4 with --backward, for the rows of [A1; B1]).")
    var rowNorm: Double?

    @Option(parsing: .unconditional, help: "N, the number of windows.")
    var windows: Int

    @Option(parsing: .unconditional, help: "n, the number of time steps of each window (at least 3).")
    var length: Int

    @Option(parsing: .unconditional, help: "φ, the AR(1) coefficient: Φ = φ·I, |φ| < 1.")
    var phi: Double = 0.5

    @Option(parsing: .unconditional, help: "The standard deviation of the output noise η_t.")
    var noise: Double = 0.1

    @Option(parsing: .unconditional, help: "Seed of the project's random generator.")
    var seed: UInt64 = 20160303

    @Option(parsing: .unconditional, help: "The HDF5 file to write.")
    var output: String

    /// The most values (`N·n·(dx+dy)`) simulate holds in memory: 2 GB of float64 (the file is
    /// built in memory before it is written, so the peak is about three times that).
    static let maximumValues = 250_000_000

    /// dy: 1 for a scalar output.
    private var outputDimension: Int { scalarOutput ? 1 : (dy ?? 0) }

    func validate() throws {
        let coefficients: [Double]
        do { coefficients = try IORNN.parseActivation(activation) } catch { throw ValidationError("--activation: \(error)") }
        if scalarOutput {
            if let dy, dy != 1 { throw ValidationError("--scalar-output has dy = 1; drop --dy \(dy)") }
            guard coefficients.count >= 4 else {
                throw ValidationError("--scalar-output needs an activation of degree l ≥ 3 (App. C.2; fit cannot split a degree-2 scalar output), got \(activation)")
            }
        } else if dy == nil {
            throw ValidationError("give --dy (or --scalar-output)")
        }
        guard spectralNormU.isFinite, spectralNormU >= 0, spectralNormU <= 1 / Double(coefficients.count - 1) else {
            throw ValidationError("--spectral-norm-u must lie in [0, 1/l] = [0, \(formatNumber(1 / Double(coefficients.count - 1)))] for degree l = \(coefficients.count - 1), got \(spectralNormU)")
        }
        if let rowNorm, !(rowNorm.isFinite && rowNorm > 0) {
            throw ValidationError("--row-norm must be positive and finite, got \(rowNorm)")
        }
        let dy = outputDimension
        for (name, value) in [("--dx", dx), ("--hidden", hidden), ("--dy", dy), ("--windows", windows)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if let backward {
            guard backward >= 0 else { throw ValidationError("--backward must be at least 0, got \(backward)") }
            guard coefficients == IORNN.quadratic, !scalarOutput else {
                throw ValidationError("--backward draws the quadratic BRNN of paper Algorithm 2 (σ(z) = z², vector output); drop --activation and --scalar-output")
            }
            guard hidden + backward <= dx, hidden + backward <= dy else {
                throw ValidationError("--hidden \(hidden) + --backward \(backward) = \(hidden + backward) exceeds \(hidden + backward > dx ? "--dx \(dx)" : "--dy \(dy)"): "
                                      + "the BRNN is identifiable only when [A1; B1] and A2 have full row rank, dh + dz ≤ dx and ≤ dy (Theorem 7)")
            }
        }
        guard hidden <= dx, scalarOutput || hidden <= dy else {
            throw ValidationError("--hidden \(hidden) exceeds \(hidden > dx ? "--dx \(dx)" : "--dy \(dy)"): the model is "
                                  + "identifiable only when A1 (dh×dx) and A2 (dh×dy) have full row rank, dh ≤ dx and dh ≤ dy")
        }
        guard length >= 3 else {
            throw ValidationError("--length must be at least 3 (fit needs x_{t−2} … x_t for the mixed moment), got \(length)")
        }
        guard phi.isFinite, abs(phi) < 1 else {
            throw ValidationError("--phi must satisfy |φ| < 1 for a stationary AR(1) input, got \(phi)")
        }
        guard noise.isFinite, noise >= 0 else {
            throw ValidationError("--noise must be a finite standard deviation ≥ 0, got \(noise)")
        }
        let (steps, overflow1) = windows.multipliedReportingOverflow(by: length)
        let (width, overflow0) = dx.addingReportingOverflow(dy)
        let (values, overflow2) = steps.multipliedReportingOverflow(by: width)
        guard !overflow0, !overflow1, !overflow2, values <= Simulate.maximumValues else {
            throw ValidationError("--windows \(windows) × --length \(length) × (dx + dy = \(overflow0 ? "more than 9·10¹⁸" : "\(width)")) values is more than "
                                  + "simulate holds in memory (\(Simulate.maximumValues), 2 GB; about 6 GB at the peak, while the file is built in memory); write several smaller files")
        }
        try validateOutput(output)
    }

    func run() throws {
        do {
            try simulate()
        } catch {
            printFailure("\(error)")
            throw ExitCode(1)
        }
    }

    private func simulate() throws {
        if let backward { return try simulateBidirectional(backward: backward) }
        let dy = outputDimension
        let coefficients = try IORNN.parseActivation(activation)
        let rows = rowNorm ?? (coefficients.count == 3 ? 0.5 : 0.35)
        let process = try AR1Process(phi: Tensor.identity(dx) * phi, sigma: Tensor.identity(dx))
        let model = try IORNN.random(inputDimension: dx, hidden: hidden, outputDimension: dy, noise: noise,
                                     spectralNormU: spectralNormU, rowNormA1: rows, coefficients: coefficients,
                                     boundedFor: coefficients.count > 3 ? process : nil, seed: seed)
        var (x, y) = try model.simulate(process: process, windows: windows, length: length, seed: seed,
                                        purpose: "spectral-rnn simulate")
        if scalarOutput { y = y.reshaped([windows, length]) }
        try requireFinite(x, y)
        let sigmaText = model.activation.description
        var tree = HDF5Tree()
        setCommandAttributes(&tree, seed: seed, command: "spectral-rnn simulate")
        addInputs(&tree, x, process: process)
        tree.addDataset("/y", y, description: "Outputs of the IO-RNN under /model (σ(z) = \(sigmaText)) on the windows of /x, from h_0 = 0, "
                            + "with output noise of sd \(noise) (\(scalarOutput ? "N×n, a scalar output" : "N×n×dy")).",
                        formula: "h_t = σ(A1 x_t + U h_{t−1}), y_t = A2ᵀ h_t + η_t, η_t ~ N(0, noise² I)", paper: "§3.2–3.3, eq. 15")
        tree.addDataset("/model/A1", model.a1, description: "True A1 (dh×dx): row j is a_j, the input weights of hidden unit j.",
                        formula: "h_t = σ(A1 x_t + U h_{t−1})", paper: "§3.2–3.3")
        tree.addDataset("/model/U", model.u, description: "True U (dh×dh): the recurrent weights.",
                        formula: "h_t = σ(A1 x_t + U h_{t−1})", paper: "§3.2–3.3")
        tree.addDataset("/model/A2", model.a2, description: "True A2 (dh×dy): row j is b_j, the output weights of hidden unit j.",
                        formula: "y_t = A2ᵀ h_t + η_t", paper: "§3.2")
        tree.setAttribute("noise", .real(noise), at: "/model")
        tree.setAttribute("activation", .string("σ(z) = \(sigmaText)"), at: "/model")
        tree.addDataset("/model/activation", Tensor(vector: coefficients), description: "The activation's coefficients c_0 … c_l: σ(z) = \(sigmaText).",
                        formula: "σ(z) = Σ_i c_i z^i", paper: "§3.3")
        let equivalences: String
        switch model.equivalence {
        case .scaling: equivalences = "permutation and per-unit scaling (a_j, U_j·, U_·j, b_j) → (s a_j, s U_j·, U_·j/s^l, b_j/s^l)"
        case .signFlip: equivalences = "permutation and per-unit sign flips"
        case .permutationOnly: equivalences = "permutation only (for this σ a per-unit scale is not a symmetry)"
        }
        tree.setAttribute("description", .string("The model that generated /y: compare a fit with it after aligning "
                                                 + "hidden units modulo \(equivalences)."), at: "/model")
        try tree.write(to: output)

        let megabytes = Double((x.count + y.count) * 8) / 1_000_000
        print("""
            Wrote \(output) (\(formatNumber(megabytes, digits: 3)) MB of data): /x and /y hold N = \(windows) window\(windows == 1 ? "" : "s") of \
            n = \(length) steps, inputs x_t ∈ R^\(dx) from the stationary AR(1) process Φ = \(phi)·I, Σ = I \
            (stored under /process), \(scalarOutput ? "scalar outputs y_t" : "outputs y_t ∈ R^\(dy)") of an IO-RNN with σ(z) = \(sigmaText) and dh = \(hidden) hidden units, \
            ‖U‖₂ = \(formatNumber(model.spectralNormU)), rows of A1 of norm \(formatNumber(rows)), output noise sd \(noise); the true A1, U, A2 \
            are under /model (seed \(seed)). Fit it with: spectral-rnn fit \(output) --hidden \(hidden)\(coefficients == IORNN.quadratic ? "" : " --activation \(activation.replacingOccurrences(of: " ", with: ""))") --output FIT.h5
            """)
    }
}

extension Simulate {
    /// `simulate --backward DZ`: a bidirectional quadratic RNN's windows (walkthrough 05).
    fileprivate func simulateBidirectional(backward dz: Int) throws {
        let dy = outputDimension
        // Rows of 0.5 (03's default, for dh = 3, dx = 4) let dh + dz = 4 units on dx = 5 diverge
        // on a few windows in 60 000 × 32; 0.4 did not, over the seeds tried.
        let rows = rowNorm ?? 0.4
        let process = try AR1Process(phi: Tensor.identity(dx) * phi, sigma: Tensor.identity(dx))
        let model = try BidirectionalIORNN.random(inputDimension: dx, forward: hidden, backward: dz, outputDimension: dy,
                                                  noise: noise, spectralNormU: spectralNormU, rowNormA1: rows, seed: seed)
        let (x, y) = try model.simulate(process: process, windows: windows, length: length, seed: seed,
                                        purpose: "spectral-rnn simulate")
        try requireFinite(x, y)
        var tree = HDF5Tree()
        setCommandAttributes(&tree, seed: seed, command: "spectral-rnn simulate")
        addInputs(&tree, x, process: process)
        tree.addDataset("/y", y, description: "Outputs of the bidirectional RNN under /model on the windows of /x (forward units from h_0 = 0, backward units from z_{n+1} = 0 at each window's end), with output noise of sd \(noise) (N×n×dy).",
                        formula: "h_t = (A1 x_t + U h_{t−1})², z_t = (B1 x_t + V z_{t+1})², y_t = A2ᵀ [h_t; z_t] + η_t", paper: "§3.4, eq. 18")
        if let f = model.forward {
            tree.addDataset("/model/A1", f.a1, description: "True A1 (dh×dx): the input weights of the forward units.",
                            formula: "h_t = (A1 x_t + U h_{t−1})²", paper: "eq. 18")
            tree.addDataset("/model/U", f.u, description: "True U (dh×dh): the forward recurrent weights.",
                            formula: "h_t = (A1 x_t + U h_{t−1})²", paper: "eq. 18")
        }
        if let b = model.backward {
            tree.addDataset("/model/B1", b.a1, description: "True B1 (dz×dx): the input weights of the backward units.",
                            formula: "z_t = (B1 x_t + V z_{t+1})²", paper: "eq. 18")
            tree.addDataset("/model/V", b.u, description: "True V (dz×dz): the backward recurrent weights.",
                            formula: "z_t = (B1 x_t + V z_{t+1})²", paper: "eq. 18")
        }
        tree.addDataset("/model/A2", model.a2, description: "True A2 ((dh+dz)×dy): forward rows first, then backward.",
                        formula: "y_t = A2ᵀ [h_t; z_t] + η_t", paper: "eq. 18")
        tree.addDataset("/model/activation", Tensor(vector: IORNN.quadratic), description: "The activation's coefficients: σ(z) = z².",
                        formula: "σ(z) = Σ_i c_i z^i", paper: "§3.4")
        tree.setAttribute("noise", .real(noise), at: "/model")
        tree.setAttribute("dh", .integer(model.forwardDimension), at: "/model")
        tree.setAttribute("dz", .integer(model.backwardDimension), at: "/model")
        tree.setAttribute("activation", .string("σ(z) = z²"), at: "/model")
        tree.setAttribute("description", .string("The bidirectional RNN that generated /y: compare a fit with it side by side, aligning units within each side modulo permutation and scaling."), at: "/model")
        try tree.write(to: output)
        let megabytes = Double((x.count + y.count) * 8) / 1_000_000
        print("""
            Wrote \(output) (\(formatNumber(megabytes, digits: 3)) MB of data): /x and /y hold N = \(windows) window\(windows == 1 ? "" : "s") of \
            n = \(length) steps, inputs x_t ∈ R^\(dx) from the stationary AR(1) process Φ = \(phi)·I, Σ = I, outputs y_t ∈ R^\(dy) of a \
            bidirectional RNN with σ(z) = z², dh = \(hidden) forward and dz = \(dz) backward units, ‖U‖₂ = ‖V‖₂ = \(formatNumber(spectralNormU)), \
            rows of [A1; B1] of norm \(formatNumber(rows)), output noise sd \(noise); the true model is under /model (seed \(seed)). \
            Fit it with: spectral-rnn fit \(output) --hidden \(hidden) --backward \(dz) --output FIT.h5
            """)
    }
}

extension Simulate {
    /// Refuses to write inputs or outputs with ±∞ or NaN (a --noise near the float64 limit, a
    /// divergence the simulator did not catch): /x and /y must be data `fit` can read.
    fileprivate func requireFinite(_ x: Tensor, _ y: Tensor) throws {
        for (name, tensor) in [("/x", x), ("/y", y)] {
            guard let bad = tensor.storage.firstIndex(where: { !$0.isFinite }) else { continue }
            let count = tensor.storage.lazy.filter { !$0.isFinite }.count
            throw ValidationError("the simulated \(name) has \(count) non-finite value\(count == 1 ? "" : "s") (the first is \(tensor.storage[bad]) "
                                  + "at flat index \(bad)): lower --noise (\(noise)) or the model's scale; nothing was written to \(output)")
        }
    }

    /// /x and the process that drew it (/process/Phi = φ·I, /process/Sigma = I), for every model.
    fileprivate func addInputs(_ tree: inout HDF5Tree, _ x: Tensor, process: AR1Process) {
        tree.addDataset("/x", x, description: "Inputs: N = \(windows) window\(windows == 1 ? "" : "s") of n = \(length) steps of the stationary AR(1) process "
                            + "under /process (N×n×dx).",
                        formula: "x_1 ~ N(0, Γ), x_t = Φ x_{t−1} + ε_t, ε_t ~ N(0, Σ)", paper: "§2.5")
        tree.addDataset("/process/Phi", process.phi, description: "The AR(1) transition matrix Φ = φ·I (dx×dx).",
                        formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
        tree.addDataset("/process/Sigma", process.sigma, description: "The AR(1) innovation covariance Σ = I (dx×dx).",
                        formula: "ε_t ~ N(0, Σ)", paper: "§2.5")
        tree.setAttribute("source", .string("simulate"), at: "/process")
    }
}

/// The attributes every file the command writes carries (CONVENTIONS §5): the command line,
/// the time, the version, the seed and which program wrote it.
func setCommandAttributes(_ tree: inout HDF5Tree, seed: UInt64, command: String) {
    tree.setAttribute("command", .string(CommandLine.arguments.joined(separator: " ")))
    tree.setAttribute("created", .string(utcTimestamp()))
    tree.setAttribute("version", .string("SpectralRNN \(spectralRNNVersion)"))
    tree.setAttribute("seed", .unsigned(seed))
    tree.setAttribute("walkthrough", .string(command))
}

/// Refuses, before any work, an `--output` that cannot be written (OutputFile.check): not a
/// file name, longer than 255 bytes, an existing folder, device, FIFO or socket, a folder that
/// does not exist, or one where no file can be created.
func validateOutput(_ output: String) throws {
    do {
        _ = try OutputFile.check(output)
    } catch let error as HDF5Error {
        throw ValidationError("--output \(error)")
    }
}
