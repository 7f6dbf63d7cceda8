import ArgumentParser
import Foundation
import SpectralRNN

/// `spectral-rnn fit FILE --backward DZ|auto …`: GLOREE-B for the bidirectional quadratic RNN
/// (paper Algorithm 2, with the forward/backward assignment of MATH.md §6; walkthrough 05).
extension Fit {
    func fitBidirectional(_ source: HDF5WindowSource, backward units: BackwardUnits) throws {
        let clock = ContinuousClock()
        let started = clock.now
        let dx = source.inputDimension, dy = source.outputDimension
        let d: Int
        switch units {
        case .given(let dz): d = hidden + dz
        case .auto: d = hidden
        }
        guard !source.scalarOutput, dy >= 1 else {
            throw HDF5Error(file: file, message: "--backward needs a vector output /y (N×n×dy): a scalar output cannot separate dh + dz units of a quadratic BRNN")
        }
        guard d <= dx, d <= dy else {
            let which = d > dx ? "dx = \(dx) (/x is \(source.windows)×\(source.length)×\(dx))"
                : "dy = \(dy) (/y is \(source.windows)×\(source.length)×\(dy))"
            throw HDF5Error(file: file, message: "dh + dz = \(d) exceeds \(which): GLOREE-B needs [A1; B1] ((dh+dz)×dx) and "
                            + "A2 ((dh+dz)×dy) of full row rank, dh + dz ≤ dx and ≤ dy (paper Theorem 7); use dh + dz ≤ \(min(dx, dy))")
        }
        guard source.length >= 2 else {
            throw HDF5Error(file: file, message: "windows of n = \(source.length) step have no t−1 or t+1: GLOREE-B needs n ≥ 2 (n ≥ 3 recommended)")
        }
        let (process, processNote, estimatedPairs) = try inputProcess(source)
        let result = try gloreeB(source, process: process, hidden: d, backward: units, seed: seed, threads: threads)
        let fit = result.fit, model = result.model
        let elapsed = clock.now - started

        var tree = HDF5Tree()
        var comparison: [String] = []
        if let stored = storedBidirectionalModel(source.reader) {
            do {
                let truth = try stored.get()
                do {
                    let fresh = try FreshWindows(truth: { try truth.outputs(forWindows: $0) }, process: process, length: source.length,
                                                 windows: source.windows, seed: seed)
                    comparison.append(comparePredictions({ try model.outputs(forWindows: $0) }, on: fresh, into: &tree).line)
                } catch {
                    comparison.append("prediction error: not computed (\(error))")
                }
                if truth.forwardDimension == model.forwardDimension, truth.backwardDimension == model.backwardDimension {
                    let errors = try BidirectionalParameterErrors(model, truth: truth)
                    comparison.append("against /model of the input (dh = \(truth.forwardDimension), dz = \(truth.backwardDimension); each side aligned modulo permutation and scaling), \(errors)")
                    tree.addDataset("/comparison/parameter_errors", Tensor(vector: [errors.a1 ?? .nan, errors.u ?? .nan, errors.b1 ?? .nan, errors.v ?? .nan, errors.a2]),
                                    description: "Relative Frobenius errors of Â1, Û, B̂1, V̂, Â2 against /model (NaN for an empty side), each side aligned modulo permutation and scaling.",
                                    formula: "‖X̂ − X‖_F / ‖X‖_F", paper: "§3.4; MATH.md §1, §6")
                } else {
                    comparison.append("against /model of the input: the truth has dh = \(truth.forwardDimension), dz = \(truth.backwardDimension), the fit dh = \(model.forwardDimension), dz = \(model.backwardDimension) — a unit is on another side (a feed-forward unit may be on either), so only predictions are compared")
                }
            } catch {
                comparison.append("against /model of the input: no comparison (\(error))")
            }
        }

        fileAttributes(&tree)
        tree.setAttribute("backward", .string(backward ?? ""))
        if let f = model.forward {
            tree.addDataset("/estimate/A1", f.a1, description: "Estimated A1 (dh×dx): the unit directions of the components assigned forward.",
                            formula: "Ê[y_t ⊗ S₂(x[n], t)] ≈ 2 Σ_j b_j ⊗ c_j ⊗ c_j, rank dh + dz", paper: "Thm 7; Alg. 2")
            tree.addDataset("/estimate/U", f.u, description: "Estimated U (dh×dh) from the t−1 mixed moment on the forward components.",
                            formula: "U_jk = T⁻(β_j, α_j, α_k, α_k) / 4, T⁻ = Ê[y_t ⊗ S_{t,t−1,t−1}]", paper: "MATH.md §6 (corrects Alg. 2 lines 8–14, erratum 4)")
        }
        if let b = model.backward {
            tree.addDataset("/estimate/B1", b.a1, description: "Estimated B1 (dz×dx): the unit directions of the components assigned backward.",
                            formula: "Ê[y_t ⊗ S₂(x[n], t)] ≈ 2 Σ_j b_j ⊗ c_j ⊗ c_j, rank dh + dz", paper: "Thm 7; Alg. 2")
            tree.addDataset("/estimate/V", b.u, description: "Estimated V (dz×dz) from the t+1 mixed moment on the backward components.",
                            formula: "V_jk = T⁺(β_j, α_j, α_k, α_k) / 4, T⁺ = Ê[y_t ⊗ S_{t,t+1,t+1}]", paper: "MATH.md §6")
        }
        tree.addDataset("/estimate/A2", model.a2, description: "Estimated A2 ((dh+dz)×dy): forward rows first, then backward.",
                        formula: "y_t = A2ᵀ [h_t; z_t] + η_t", paper: "eq. 18; Thm 7")
        tree.setAttribute("dh", .integer(model.forwardDimension), at: "/estimate")
        tree.setAttribute("dz", .integer(model.backwardDimension), at: "/estimate")
        writeProcess(&tree, process, estimatedPairs: estimatedPairs)
        let a = fit.assignment
        let sideCodes = (0..<d).map { j -> Double in fit.forwardComponents.contains(j) ? 1 : (fit.backwardComponents.contains(j) ? -1 : 0) }
        tree.addDataset("/diagnostics/assignment", Tensor(vector: sideCodes),
                        description: "Per recovered component (decomposition order): 1 = forward, −1 = backward. Verdicts: "
                            + a.sides.map(\.rawValue).joined(separator: ", ") + ".",
                        formula: "forward: z⁻ ≥ 4 > z⁺; backward: z⁺ ≥ 4 > z⁻; feed-forward: both < 3", paper: "MATH.md §6")
        tree.addDataset("/diagnostics/assignment_scores", Tensor(shape: [2, d], storage: a.pastScores + a.futureScores),
                        description: "Row 0: z⁻_j, row 1: z⁺_j — the Wilson–Hilferty normal scores of Σ (P_e/se_e)² over row and column j of the projected t−1 and t+1 moments.",
                        formula: "z = ((q/k)^{1/3} − 1 + 2/(9k)) / √(2/(9k)), k = 2(dh+dz) − 1", paper: "MATH.md §6")
        tree.addDataset("/diagnostics/assignment_margins", Tensor(vector: a.margins),
                        description: "Per component, the distance in z units from its verdict to the nearest threshold that would change it.",
                        formula: "forward: min(z⁻ − 4, 4 − z⁺); feed-forward: min(3 − z⁻, 3 − z⁺)", paper: "MATH.md §6")
        tree.addDataset("/diagnostics/second_moment", result.secondMoment.mean,
                        description: "Ê[y_t ⊗ S₂(x[n], t)] (dy×dx×dx) over \(result.secondMoment.count) (window, t) pairs.",
                        formula: "Ê[y_t ⊗ (u_t u_tᵀ − P_tt)], u = P x", paper: "Thm 7")
        tree.addDataset("/diagnostics/projected_past", result.projectedPast.mean,
                        description: "P⁻ (D×D, decomposition order) over \(result.projectedPast.count) pairs with t ≥ 2; ≈ 4U on the forward block, 0 elsewhere.",
                        formula: "T⁻(β_j, α_j, α_k, α_k)", paper: "MATH.md §6")
        tree.addDataset("/diagnostics/projected_future", result.projectedFuture.mean,
                        description: "P⁺ (D×D, decomposition order) over \(result.projectedFuture.count) pairs with t ≤ n − 1; ≈ 4V on the backward block, 0 elsewhere.",
                        formula: "T⁺(β_j, α_j, α_k, α_k)", paper: "MATH.md §6")
        tree.setAttribute("second_moment_samples", .integer(result.secondMoment.count), at: "/diagnostics")
        tree.setAttribute("past_moment_samples", .integer(result.projectedPast.count), at: "/diagnostics")
        tree.setAttribute("future_moment_samples", .integer(result.projectedFuture.count), at: "/diagnostics")
        tree.setAttribute("decomposition_residual", .real(fit.decompositionResidual), at: "/diagnostics")
        tree.setAttribute("second_moment_relative_se", .real(result.secondMomentRelativeStandardError), at: "/diagnostics")
        tree.setAttribute("warning_count", .integer(result.warnings.count), at: "/diagnostics")
        tree.setAttribute("warnings", .string(result.warnings.joined(separator: "\n")), at: "/diagnostics")
        tree.setAttribute("notes", .string(fit.notes.joined(separator: "\n")), at: "/diagnostics")
        tree.setAttribute("windows", .integer(source.windows), at: "/diagnostics")
        tree.setAttribute("length", .integer(source.length), at: "/diagnostics")
        try tree.write(to: output)

        func f(_ x: Double) -> String { formatNumber(x, digits: 3) }
        var lines: [String] = []
        lines.append("spectral-rnn fit \(file): N = \(source.windows) window\(source.windows == 1 ? "" : "s") × n = \(source.length) steps, dx = \(dx), dy = \(dy); "
                     + "bidirectional, dh + dz = \(d)" + (units == .auto ? " (dz from the data)" : ""))
        lines.append("  input process: \(processNote)")
        lines.append("  samples: \(result.secondMoment.count) (window, t) pairs for Ê[y_t ⊗ S₂(x[n], t)], \(result.projectedPast.count) with t ≥ 2 for the t−1 moment, "
                     + "\(result.projectedFuture.count) with t ≤ n−1 for the t+1 moment (two passes over the file)")
        lines.append("  decomposition: relative residual \(f(fit.decompositionResidual)), relative standard error of the moment \(f(result.secondMomentRelativeStandardError)); "
                     + "cond([Â1; B̂1]) = \(f(fit.conditionNumberInputWeights)), cond(Â2) = \(f(fit.conditionNumberA2))")
        lines.append("  assignment (a side counts at z ≥ 4; feed-forward: z < 3 on both): dh = \(model.forwardDimension) forward, dz = \(model.backwardDimension) backward")
        for j in 0..<d {
            lines.append("    component \(j + 1): z⁻ = \(f(a.pastScores[j])), z⁺ = \(f(a.futureScores[j])) → \(a.sides[j].rawValue)"
                         + (a.sides[j] == .either ? " (put \(fit.forwardComponents.contains(j) ? "forward" : "backward"))" : "")
                         + ", margin \(f(a.margins[j]))")
        }
        lines += fit.notes.map { "  note: \($0)" }
        if let u = result.uRelativeStandardError { lines.append("  relative standard error of Û \(f(u))") }
        if let v = result.vRelativeStandardError { lines.append("  relative standard error of V̂ \(f(v))") }
        if result.warnings.isEmpty {
            lines.append("  warnings: none")
        } else {
            lines.append("  warnings:")
            lines += result.warnings.map { "    - \($0)" }
        }
        lines += comparison.map { "  \($0)" }
        let names = (model.forward != nil ? ["A1", "U"] : []) + (model.backward != nil ? ["B1", "V"] : []) + ["A2"]
        lines.append("  wrote \(output): /estimate/{\(names.joined(separator: ", "))}, /process, /diagnostics (assignment, scores, margins)\(comparison.isEmpty ? "" : ", /comparison")")
        lines.append(fitTimeLine(elapsed, threads: threads))
        print(lines.joined(separator: "\n"))
    }

    /// The BRNN under /model (from `simulate --backward`; a forward-only model is one with
    /// dz = 0): nil when the file has none, a failure with the reason when it cannot be read.
    private func storedBidirectionalModel(_ reader: HDF5Reader) -> Result<BidirectionalIORNN, NotComparable>? {
        guard reader.exists("/model/A2") else { return nil }
        do {
            if reader.exists("/model/activation") {
                let stored = try reader.readTensor("/model/activation", rank: 1, requireFinite: true, maximumEntries: Fit.modelEntryLimit).storage
                guard stored == IORNN.quadratic else {
                    return .failure(NotComparable(description: "the input was made with σ(z) = \(Activation.polynomial(stored)), GLOREE-B fits σ(z) = z²"))
                }
            }
            func read(_ name: String) throws -> Tensor? {
                reader.exists(name) ? try reader.readTensor(name, rank: 2, requireFinite: true, maximumEntries: Fit.modelEntryLimit) : nil
            }
            return .success(try BidirectionalIORNN(a1: read("/model/A1"), u: read("/model/U"), b1: read("/model/B1"),
                                                   v: read("/model/V"), a2: read("/model/A2")!))
        } catch {
            return .failure(NotComparable(description: "\(error)"))
        }
    }
}
