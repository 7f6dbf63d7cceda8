import ArgumentParser
import Foundation
import SpectralRNN

/// `spectral-rnn simulate …`: an input file for `fit` (CONVENTIONS §5) from a random
/// quadratic IO-RNN driven by a stationary AR(1) input, with the true model under `/model`.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an input file for `fit`: windows of a quadratic IO-RNN driven by an AR(1) input.",
        discussion: """
            Draws a random quadratic IO-RNN h_t = (A1 x_t + U h_{t−1})², y_t = A2ᵀ h_t + η_t \
            (paper §3.2) with ‖U‖₂ = 0.2, rows of A1 of norm 0.5 and unit rows of A2 (row \
            condition numbers at most 10), and simulates N independent windows of n steps of \
            the stationary AR(1) input x_t = φ x_{t−1} + ε_t, ε_t ~ N(0, I), h_0 = 0. Writes \
            /x (N×n×dx), /y (N×n×dy), /process/Phi (φ·I), /process/Sigma (I) and the true \
            model under /model (A1, U, A2, attribute noise), atomically.
            """
    )

    @Option(help: "dx, the dimension of one input x_t.")
    var dx: Int

    @Option(help: "dh, the number of hidden units (at most dx and dy).")
    var hidden: Int

    @Option(help: "dy, the dimension of one output y_t.")
    var dy: Int

    @Option(help: "N, the number of windows.")
    var windows: Int

    @Option(help: "n, the number of time steps of each window (at least 3).")
    var length: Int

    @Option(help: "φ, the AR(1) coefficient: Φ = φ·I, |φ| < 1.")
    var phi: Double = 0.5

    @Option(help: "The standard deviation of the output noise η_t.")
    var noise: Double = 0.1

    @Option(help: "Seed of the project's random generator.")
    var seed: UInt64 = 20160303

    @Option(help: "The HDF5 file to write.")
    var output: String

    /// The most values (`N·n·(dx+dy)`) simulate holds in memory: 4 GB of float64.
    static let maximumValues = 500_000_000

    func validate() throws {
        for (name, value) in [("--dx", dx), ("--hidden", hidden), ("--dy", dy), ("--windows", windows)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        guard hidden <= dx, hidden <= dy else {
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
        let (values, overflow2) = steps.multipliedReportingOverflow(by: dx + dy)
        guard !overflow1, !overflow2, values <= Simulate.maximumValues else {
            throw ValidationError("--windows \(windows) × --length \(length) × (dx + dy = \(dx + dy)) values is more than "
                                  + "simulate holds in memory (\(Simulate.maximumValues), 4 GB); write several smaller files")
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
        let process = try AR1Process(phi: Tensor.identity(dx) * phi, sigma: Tensor.identity(dx))
        let model = try IORNN.random(inputDimension: dx, hidden: hidden, outputDimension: dy,
                                              noise: noise, seed: seed)
        let (x, y) = try model.simulate(process: process, windows: windows, length: length, seed: seed,
                                        purpose: "spectral-rnn simulate")
        var tree = HDF5Tree()
        tree.setAttribute("command", .string(CommandLine.arguments.joined(separator: " ")))
        tree.setAttribute("created", .string(ISO8601DateFormatter().string(from: Date())))
        tree.setAttribute("version", .string("SpectralRNN \(spectralRNNVersion)"))
        tree.setAttribute("seed", .unsigned(seed))
        tree.setAttribute("walkthrough", .string("spectral-rnn simulate"))
        tree.addDataset("/x", x, description: "Inputs: N = \(windows) window\(windows == 1 ? "" : "s") of n = \(length) steps of the stationary AR(1) process "
                            + "under /process (N×n×dx).",
                        formula: "x_1 ~ N(0, Γ), x_t = Φ x_{t−1} + ε_t, ε_t ~ N(0, Σ)", paper: "§2.5")
        tree.addDataset("/y", y, description: "Outputs of the quadratic IO-RNN under /model on the windows of /x, from h_0 = 0, "
                            + "with output noise of sd \(noise) (N×n×dy).",
                        formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}, y_t = A2ᵀ h_t + η_t, η_t ~ N(0, noise² I)", paper: "§3.2, eq. 15")
        tree.addDataset("/process/Phi", process.phi, description: "The AR(1) transition matrix Φ = φ·I (dx×dx).",
                        formula: "x_t = Φ x_{t−1} + ε_t", paper: "§2.5")
        tree.addDataset("/process/Sigma", process.sigma, description: "The AR(1) innovation covariance Σ = I (dx×dx).",
                        formula: "ε_t ~ N(0, Σ)", paper: "§2.5")
        tree.setAttribute("source", .string("simulate"), at: "/process")
        tree.addDataset("/model/A1", model.a1, description: "True A1 (dh×dx): row j is a_j, the input weights of hidden unit j.",
                        formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
        tree.addDataset("/model/U", model.u, description: "True U (dh×dh): the recurrent weights.",
                        formula: "h_t = (A1 x_t + U h_{t−1})^{∘2}", paper: "§3.2")
        tree.addDataset("/model/A2", model.a2, description: "True A2 (dh×dy): row j is b_j, the output weights of hidden unit j.",
                        formula: "y_t = A2ᵀ h_t + η_t", paper: "§3.2")
        tree.setAttribute("noise", .real(noise), at: "/model")
        tree.setAttribute("activation", .string("quadratic: σ(z) = z²"), at: "/model")
        tree.setAttribute("description", .string("The model that generated /y: compare a fit with it after aligning "
                                                 + "hidden units (permutation, scaling (a_j, U_j·, U_·j, b_j) → (s a_j, s U_j·, U_·j/s², b_j/s²))."),
                          at: "/model")
        try tree.write(to: output)

        let megabytes = Double((x.count + y.count) * 8) / 1_000_000
        print("""
            Wrote \(output) (\(formatNumber(megabytes, digits: 3)) MB of data): /x and /y hold N = \(windows) window\(windows == 1 ? "" : "s") of \
            n = \(length) steps, inputs x_t ∈ R^\(dx) from the stationary AR(1) process Φ = \(phi)·I, Σ = I \
            (stored under /process), outputs y_t ∈ R^\(dy) of a quadratic IO-RNN with dh = \(hidden) hidden units, \
            ‖U‖₂ = \(formatNumber(model.spectralNormU)), rows of A1 of norm 0.5, output noise sd \(noise); the true A1, U, A2 \
            are under /model (seed \(seed)). Fit it with: spectral-rnn fit \(output) --hidden \(hidden) --output FIT.h5
            """)
    }
}

/// Refuses, before any work, an `--output` that cannot be written: empty, a folder, or in a
/// folder that does not exist.
func validateOutput(_ output: String) throws {
    guard !output.isEmpty, !output.hasSuffix("/") else { throw ValidationError("--output must name a file, got \"\(output)\"") }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: output, isDirectory: &isFolder), isFolder.boolValue {
        throw ValidationError("--output \(output) is a folder; give a file name")
    }
    let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw ValidationError("--output \(output): folder \(folder) does not exist")
    }
}
