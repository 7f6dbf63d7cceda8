import Foundation

/// The package version written into every file.
public let spectralRNNVersion = "0.1.0"

/// The notebook harness of the walkthroughs (CONVENTIONS §4): sections named after the
/// paper, claims, derivations, numbers and verdict lines, in plain Unicode or Markdown,
/// with every verdict kept for the closing summary and for `/checks` in the HDF5 file.
public final class Notebook {
    public let walkthrough: String
    public let options: NotebookOptions
    public private(set) var verdicts: [Verdict] = []
    private var currentSection = ""
    /// The declared family of Monte Carlo checks, if any (`planMonteCarloChecks`).
    public private(set) var monteCarloPlan: MonteCarloPlan?
    /// The Monte Carlo checks (kind `.check`) made so far.
    public private(set) var monteCarloChecksMade = 0
    private let output: (String) -> Void
    /// In Markdown, verdicts form one tight list; anything else after them starts a new block.
    private var inVerdictList = false

    /// Prints a block-level element (separated from its neighbours by a blank line in Markdown).
    private func block(_ text: String) {
        inVerdictList = false
        output(options.markdown ? "\n" + text : text)
    }

    /// Starts a walkthrough and prints its title. `output` receives each printed line
    /// (standard output by default).
    public init(walkthrough: String, title: String, options: NotebookOptions,
                output: @escaping (String) -> Void = { print($0) }) {
        holdBLASToOneThread()
        self.walkthrough = walkthrough
        self.options = options
        self.output = output
        if options.markdown {
            output("# \(walkthrough): \(title)")
            output("\n_Output of `swift run -c release \(walkthrough) --markdown` (seed \(options.seed)\(options.quick ? ", --quick" : "")). Regenerate it with `Scripts/run-walkthroughs --docs` rather than edit it._")
        } else {
            let line = String(repeating: "═", count: min(78, title.count + walkthrough.count + 6))
            output(line)
            output("  \(walkthrough) · \(title)")
            output(line)
        }
    }

    // MARK: Prose

    /// Opens a section named after the paper, e.g. "§2.5 Lemma 4: the score is local".
    public func section(_ title: String) {
        currentSection = title
        block(options.markdown ? "## \(title)" : "\n\(title)\n" + String(repeating: "─", count: min(78, title.count)))
    }

    /// States the claim of the section, with its equation number.
    public func claim(_ text: String) {
        block(options.markdown ? "**Claim.** \(text)" : "Claim. \(text)")
    }

    /// A few lines of Unicode math.
    public func derivation(_ lines: String...) {
        if options.markdown {
            block("```text\n" + lines.joined(separator: "\n") + "\n```")
        } else {
            for line in lines { output("    │ \(line)") }
        }
    }

    /// A sentence of commentary.
    public func say(_ text: String) {
        block(text)
    }

    /// A table of numbers with a header row.
    public func table(_ headers: [String], _ rows: [[String]]) {
        if options.markdown {
            block("| " + headers.joined(separator: " | ") + " |")
            output("|" + headers.map { _ in "---:|" }.joined())
            for row in rows { output("| " + row.joined(separator: " | ") + " |") }
        } else {
            let widths = headers.indices.map { c in ([headers[c]] + rows.map { $0[c] }).map(\.count).max()! }
            func line(_ cells: [String]) -> String {
                "    " + cells.enumerated().map { c, cell in
                    String(repeating: " ", count: widths[c] - cell.count) + cell
                }.joined(separator: "  ")
            }
            output(line(headers))
            output("    " + widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
            for row in rows { output(line(row)) }
        }
    }

    /// A figure drawn by `Scripts/plot` from this walkthrough's file, as
    /// `docs/figures/<walkthrough>-<name>.svg`: in Markdown the image (linked relative to
    /// `docs/`) with its one-sentence caption, in plain text the path and the caption.
    public func figure(_ name: String, caption: String) {
        let file = "figures/\(walkthrough)-\(name).svg"
        if options.markdown {
            // The alt text is the caption without square brackets (x[n] would end it early).
            let alt = caption.replacingOccurrences(of: "[", with: "(").replacingOccurrences(of: "]", with: ")")
            block("![\(alt)](\(file))\n\n*Figure.* \(caption)")
        } else {
            output("    [figure docs/\(file), drawn by Scripts/plot from the file] \(caption)")
        }
    }

    // MARK: Verdicts

    /// The path of the last verdict's group in the file (`/checks/NNN`), for a dataset to name
    /// the check that judged it (attribute `check`).
    public var lastCheckPath: String { String(format: "/checks/%03d", verdicts.count) }

    /// Records and prints a verdict.
    @discardableResult
    public func record(_ verdict: Verdict) -> Verdict {
        verdicts.append(verdict)
        var mark: String
        switch (verdict.kind, verdict.passed, verdict.isMeasured) {
        case (_, true, _) where verdict.isInconclusive: mark = "? INCONCLUSIVE:"
        case (.check, true, _): mark = "✓"
        case (.check, false, true): mark = "✗ UNEXPECTED FAILURE:"
        case (.check, false, false): mark = "✗ UNEXPECTED FAILURE (no finite measurement):"
        case (.refutation, false, true) where verdict.rejectsItsCorrection: mark = "‼ UNEXPECTED: the sample rejects the printed claim AND its correction:"
        case (.counterexample, false, true) where verdict.rejectsItsCorrection: mark = "‼ UNEXPECTED: the sample rejects the counter-claim AND its correction:"
        case (.refutation, false, true): mark = "✗ refuted, as expected:"
        case (.refutation, true, _): mark = "‼ UNEXPECTED: the paper's claim held:"
        case (.counterexample, false, true): mark = "✗ fails, as expected:"
        case (.counterexample, true, _): mark = "‼ UNEXPECTED: the counter-claim held:"
        case (_, false, false): mark = "‼ UNEXPECTED: no finite measurement, nothing refuted:"
        }
        if verdict.isIllustration && verdict.asExpected {
            mark = "· illustration (by construction, not counted as evidence)" + (verdict.kind.expectsFailure ? ", fails:" : ", holds:")
        }
        var numbers = "\(verdict.quantity) \(formatNumber(verdict.measured))"
        if verdict.expected != 0 || verdict.quantity.hasPrefix("|") {
            numbers += ", expected \(formatNumber(verdict.expected))"
        }
        if let sigmas = verdict.sigmas { numbers += " = \(formatNumber(sigmas, digits: 3))σ" }
        numbers += " (tolerance \(formatNumber(verdict.tolerance)): \(verdict.basis))"
        if !verdict.alternatives.isEmpty {
            let rejected = verdict.alternatives.filter(\.rejected), kept = verdict.alternatives.filter { !$0.rejected }
            func list(_ outcomes: [AlternativeOutcome]) -> String {
                outcomes.map { "\($0.name) at \(formatNumber($0.sigmas, digits: 3))σ" }.joined(separator: ", ")
            }
            if verdict.kind.expectsFailure {
                // The alternatives of a refutation are its corrections: the sample should accept them.
                if !kept.isEmpty { numbers += "; the same sample accepts \(list(kept))" }
                if !rejected.isEmpty { numbers += "; it ALSO REJECTS \(list(rejected))" }
                if verdict.passed && !kept.isEmpty { numbers += " — the sample cannot tell the printed claim from its correction" }
            } else {
                if !rejected.isEmpty { numbers += "; rejects \(list(rejected))" }
                if !kept.isEmpty {
                    numbers += "; does NOT reject \(list(kept))"
                    if verdict.passed { numbers += " — the sample cannot tell the claim from \(kept.count == 1 ? "it" : "them")" }
                }
            }
        }
        if options.markdown {
            output((inVerdictList ? "" : "\n") + "- \(mark) \(verdict.claim) — \(numbers)")
            inVerdictList = true
        } else {
            output("  \(mark) \(verdict.claim)\n      \(numbers)")
        }
        return verdict
    }

    /// A scalar identity checked to a stated absolute tolerance (exact identities: near
    /// machine precision).
    @discardableResult
    public func exact(_ claim: String, paper: String, quantity: String, measured: Double, expected: Double,
                      tolerance: Double, basis: String = "machine precision",
                      kind: Verdict.Kind = .check, illustration: Bool = false) -> Verdict {
        record(Verdict(section: currentSection, claim: claim, paper: paper, kind: kind, quantity: quantity,
                       measured: measured, expected: expected, tolerance: tolerance, basis: basis,
                       sigmas: nil, samples: nil, isIllustration: illustration))
    }

    /// A one-sided claim on a non-negative quantity: `measured ≤ bound` (recorded as
    /// |measured − 0| ≤ bound).
    @discardableResult
    public func atMost(_ claim: String, paper: String, quantity: String, measured: Double, bound: Double,
                       basis: String, kind: Verdict.Kind = .check, illustration: Bool = false) -> Verdict {
        precondition(measured >= 0 || measured.isNaN, "Notebook.atMost: \(quantity) must be non-negative, got \(measured)")
        return exact(claim, paper: paper, quantity: quantity, measured: measured, expected: 0, tolerance: bound,
                     basis: basis, kind: kind, illustration: illustration)
    }

    /// Two tensors agree: the relative error ‖computed − reference‖/‖reference‖ is at most
    /// `tolerance` (default 1e-12: an exact identity computed in float64).
    @discardableResult
    public func agree(_ claim: String, paper: String, computed: Tensor, reference: Tensor,
                      tolerance: Double = 1e-12, basis: String = "machine precision",
                      kind: Verdict.Kind = .check, illustration: Bool = false) -> Verdict {
        precondition(computed.shape == reference.shape, "Notebook.agree: shapes \(computed.shape) and \(reference.shape)")
        let scale = reference.frobeniusNorm
        let gap = (computed - reference).frobeniusNorm
        return record(Verdict(section: currentSection, claim: claim, paper: paper, kind: kind,
                              quantity: scale > 0 ? "rel. error" : "‖error‖",
                              measured: scale > 0 ? gap / scale : gap, expected: 0,
                              tolerance: tolerance, basis: basis, sigmas: nil, samples: nil,
                              isIllustration: illustration))
    }

    /// Declares the family of Monte Carlo checks of the walkthrough: `checks` claims expected
    /// to hold (kind `.check`; refutations and counterexamples are not counted), each tested
    /// at the false-alarm rate `familyFalseAlarmRate / checks`, so that by Bonferroni's
    /// inequality a run with every claim true passes all of them with probability at least
    /// 1 − `familyFalseAlarmRate`. `monteCarlo` stops the program if more checks are made than declared.
    public func planMonteCarloChecks(_ checks: Int, familyFalseAlarmRate: Double = 1e-3) {
        precondition(checks >= 1 && familyFalseAlarmRate > 0 && familyFalseAlarmRate < 1,
                     "Notebook.planMonteCarloChecks: need checks ≥ 1 and a rate in (0, 1)")
        monteCarloPlan = MonteCarloPlan(checks: checks, familyFalseAlarmRate: familyFalseAlarmRate)
    }

    /// The per-check false-alarm rate used when no plan is declared (that of a 3σ band of a
    /// normal deviation).
    public static let defaultPerCheckFalseAlarmRate = 0.0027

    /// The per-check false-alarm rate of a Monte Carlo check: from the plan, or the default.
    public var perCheckFalseAlarmRate: Double {
        monteCarloPlan.map { $0.familyFalseAlarmRate / Double($0.checks) } ?? Self.defaultPerCheckFalseAlarmRate
    }

    /// The number of standard errors a Monte Carlo check allows when its standard error has
    /// `degreesOfFreedom` degrees of freedom: the two-sided Student-t quantile at the per-check rate.
    public func monteCarloBand(degreesOfFreedom: Int) -> Double {
        StudentT.criticalValue(twoSidedTail: perCheckFalseAlarmRate, degreesOfFreedom: degreesOfFreedom)
    }

    /// A sentence for the walkthrough's text stating how Monte Carlo tolerances are set, for
    /// estimates holding `batches` batch means.
    public func monteCarloPolicy(batches: Int) -> String {
        let k = monteCarloBand(degreesOfFreedom: batches - 1)
        var text = "Each Monte Carlo tolerance is k·σ, σ = √(Σ se²) the standard error of the estimate's error norm, with each entry's se taken from the spread of \(batches) batch means (independent chunks of the sample; a batch mean is close to Gaussian even when single samples are heavy-tailed), so the deviation in σ follows Student's t with \(batches - 1) degrees of freedom (exactly for a scalar, the worst case of a tensor whose error lies along one direction). k = \(formatNumber(k, digits: 3)) makes a true claim fail with probability \(formatNumber(perCheckFalseAlarmRate, digits: 2))"
        if let plan = monteCarloPlan {
            text += " = \(formatNumber(plan.familyFalseAlarmRate, digits: 2))/\(plan.checks): over the \(plan.checks) Monte Carlo checks of this walkthrough, a run with every claim true fails one of them with probability at most \(formatNumber(plan.familyFalseAlarmRate * 100, digits: 2))% (Bonferroni)."
        } else {
            text += " per check."
        }
        return text
    }

    /// A Monte Carlo estimate against its claimed value, with a tolerance from the sample
    /// itself: the error norm ‖Ê − E‖ against `k·σ`, σ = √(Σ se²) the root of the summed
    /// squared standard errors of the entries (the error norm's own scale under the claim).
    /// Each se comes from the estimate's batch means when it holds at least two (B − 1 degrees
    /// of freedom), else from the per-sample sd (N − 1). k is `sigmas` when given, else the
    /// Student-t quantile at the per-check false-alarm rate (`planMonteCarloChecks`).
    /// Reported relative to ‖E‖ when E ≠ 0.
    ///
    /// A check (kind `.check`) also faces its alternatives: `E = 0`, `2E` and `½E` (when E ≠ 0)
    /// and each of `alternatives` (the paper's printed form, say). Each is rejected when
    /// ‖Ê − alternative‖ > k·σ, the same band; a check that passes without rejecting every
    /// one is INCONCLUSIVE, not a confirmation. A check of E = 0 must name its alternatives.
    /// A refutation (a printed claim expected to fail) names the corrected claim as its
    /// alternative: when the printed claim is not rejected and neither is the corrected one,
    /// the verdict is INCONCLUSIVE (too few samples), not an unexpected success of the paper.
    @discardableResult
    public func monteCarlo(_ claim: String, paper: String, estimate: StreamingMean, expected: Tensor,
                           alternatives extra: [Alternative] = [], sigmas: Double? = nil,
                           kind: Verdict.Kind = .check) -> Verdict {
        precondition(estimate.shape == expected.shape, "Notebook.monteCarlo: shapes \(estimate.shape) and \(expected.shape)")
        precondition(estimate.count >= 2, "Notebook.monteCarlo: a standard error needs at least 2 samples, got \(estimate.count)")
        let alternatives = kind == .check ? Alternative.defaults(for: expected) + extra : extra
        precondition(kind != .check || !alternatives.isEmpty,
                     "Notebook.monteCarlo: a check of E = 0 must name the alternatives the sample should reject")
        precondition(alternatives.allSatisfy { $0.value.shape == expected.shape }, "Notebook.monteCarlo: an alternative has the wrong shape")
        precondition(Set(alternatives.map(\.key)).count == alternatives.count, "Notebook.monteCarlo: alternative keys must be distinct (they name attributes in /checks)")
        if kind == .check {
            monteCarloChecksMade += 1
            if let plan = monteCarloPlan {
                precondition(monteCarloChecksMade <= plan.checks,
                             "Notebook.monteCarlo: \(monteCarloChecksMade) Monte Carlo checks made, \(plan.checks) planned; update planMonteCarloChecks")
            }
        }
        let standardError: Tensor, degreesOfFreedom: Int, source: String
        if let batchError = estimate.batchStandardError {
            standardError = batchError
            degreesOfFreedom = estimate.batchCount - 1
            source = "σ from \(estimate.batchCount) batch means, t with \(degreesOfFreedom) df"
        } else {
            standardError = estimate.standardError
            degreesOfFreedom = estimate.count - 1
            source = "σ from the per-sample sd"
        }
        let k = sigmas ?? monteCarloBand(degreesOfFreedom: degreesOfFreedom)
        let falseAlarm = StudentT.twoSidedTail(k, degreesOfFreedom: degreesOfFreedom)
        var rate = "false alarm \(formatNumber(falseAlarm, digits: 2)) per check"
        if let plan = monteCarloPlan, sigmas == nil, kind == .check {
            rate += ", ≤ \(formatNumber(plan.familyFalseAlarmRate, digits: 2)) over the \(plan.checks) planned checks"
        }
        let sigma = standardError.frobeniusNorm
        let gap = (estimate.mean - expected).frobeniusNorm
        let scale = expected.frobeniusNorm
        let relative = scale > 0
        let tolerance = k * sigma / (relative ? scale : 1)
        let basis = "\(formatNumber(k, digits: 3))σ band (\(source); \(rate)), N = \(estimate.count)"
        let outcomes = alternatives.map { alternative in
            let distance = (estimate.mean - alternative.value).frobeniusNorm
            return AlternativeOutcome(key: alternative.key, name: alternative.name, sigmas: distance / sigma,
                                      rejected: distance > k * sigma)
        }
        return record(Verdict(section: currentSection, claim: claim, paper: paper, kind: kind,
                              quantity: relative ? "rel. error" : "‖error‖",
                              measured: relative ? gap / scale : gap, expected: 0,
                              tolerance: tolerance, basis: basis,
                              sigmas: gap / sigma, samples: estimate.count, falseAlarmRate: falseAlarm, band: k,
                              alternatives: outcomes))
    }

    /// A one-sided claim on a statistic with a standard error: `estimate ≤ bound`, allowing
    /// `k·se` with k the one-sided Student-t quantile at `falseAlarmRate` (ν degrees of
    /// freedom; by default the plan's per-check rate, and it counts as one of the planned
    /// checks), recorded as `max(0, estimate − bound)` against the tolerance `k·se`. Each
    /// alternative (a value above the bound a reader could mistake for the truth, e.g. "the
    /// error does not fall: slope 0") is rejected when `estimate + k·se` stays below it; a claim
    /// that holds without rejecting every alternative is INCONCLUSIVE.
    @discardableResult
    public func oneSided(_ claim: String, paper: String, quantity: String, estimate: Double, standardError: Double,
                         degreesOfFreedom: Int, bound: Double, alternatives: [(key: String, name: String, value: Double)],
                         falseAlarmRate: Double? = nil, what: String) -> Verdict {
        let falseAlarmRate = falseAlarmRate ?? perCheckFalseAlarmRate
        precondition(degreesOfFreedom >= 1 && falseAlarmRate > 0 && falseAlarmRate < 0.5, "Notebook.oneSided: need ν ≥ 1 and a rate in (0, ½)")
        precondition(!alternatives.isEmpty && Set(alternatives.map(\.key)).count == alternatives.count,
                     "Notebook.oneSided: name at least one alternative, with distinct keys")
        monteCarloChecksMade += 1
        if let plan = monteCarloPlan {
            precondition(monteCarloChecksMade <= plan.checks,
                         "Notebook.oneSided: \(monteCarloChecksMade) statistical checks made, \(plan.checks) planned; update planMonteCarloChecks")
        }
        let k = StudentT.criticalValue(twoSidedTail: 2 * falseAlarmRate, degreesOfFreedom: degreesOfFreedom)
        let outcomes = alternatives.map { alternative in
            AlternativeOutcome(key: alternative.key, name: alternative.name,
                               sigmas: (alternative.value - estimate) / standardError,
                               rejected: alternative.value - estimate > k * standardError)
        }
        let basis = "\(quantity) = \(formatNumber(estimate)) ± \(formatNumber(standardError)) (\(what)); band \(formatNumber(k, digits: 3))·se, the one-sided t quantile with \(degreesOfFreedom) df at false-alarm rate \(formatNumber(falseAlarmRate, digits: 2))"
        let excess = estimate.isFinite ? max(0, estimate - bound) : Double.nan
        return record(Verdict(section: currentSection, claim: claim, paper: paper, kind: .check,
                              quantity: "max(0, \(quantity) − \(formatNumber(bound)))", measured: excess, expected: 0,
                              tolerance: k * standardError, basis: basis, sigmas: nil, samples: nil,
                              falseAlarmRate: falseAlarmRate, band: k, alternatives: outcomes))
    }

    // MARK: Progress

    /// Reports progress of a long loop on standard error when it is a terminal; silent otherwise.
    public func progress(_ label: String, total: Int) -> Progress {
        Progress(label: label, total: total, enabled: isatty(STDERR_FILENO) == 1)
    }

    // MARK: Closing

    /// The closing summary; returns the exit status (0 when every verdict came out as expected).
    public func finish(savedFiles: [String] = []) -> Int32 {
        let unexpected = verdicts.filter { !$0.asExpected }
        let inconclusive = verdicts.filter(\.isInconclusive)
        section("Summary")
        say(summaryLine)
        if let plan = monteCarloPlan {
            say("False alarms: \(monteCarloChecksMade) of the \(plan.checks) planned statistical checks (Monte Carlo estimates, and regressions over Monte Carlo fits) were made, each at false-alarm rate \(formatNumber(plan.familyFalseAlarmRate / Double(plan.checks), digits: 2)), so with every claim true a run fails one of them with probability at most \(formatNumber(plan.familyFalseAlarmRate * 100, digits: 2))% (Bonferroni). That rate covers those checks only: exact identities are decided to rounding, and the other end-to-end results (decompositions, fitted models, prediction errors) are judged by their own stated criteria, whose reliability over seeds is measured by Scripts/sweep-seeds and reported on this walkthrough's docs page.")
        }
        if verdicts.contains(where: { $0.band != nil }) {
            figure("checks", caption: "Every statistical verdict of this walkthrough, as distances in standard errors: a check holds when its claim lies within the band and convinces when its nearest alternative lies beyond it; a refutation or counterexample fails when its claim lies beyond the band, and a refutation's correction must then lie within it.")
        }
        if !inconclusive.isEmpty {
            say("\(inconclusive.count) statistical verdict\(inconclusive.count == 1 ? " was" : "s were") INCONCLUSIVE: the claim held but the same sample did not reject every alternative (marked above)\(options.quick ? "; --quick trades power for speed, so this does not fail the run" : "; without --quick this fails the run (exit status 3): more samples are needed").")
        }
        for file in savedFiles { say("Saved \(file).") }
        if unexpected.isEmpty {
            if inconclusive.isEmpty || options.quick {
                say(options.markdown ? "**Every verdict came out as expected.**" : "Every verdict came out as expected.")
                return 0
            }
            return 3
        }
        for verdict in unexpected { say("Unexpected: [\(verdict.section)] \(verdict.claim)") }
        return 1
    }

    /// "C confirmed; R refuted by measurement (P printed claims of the paper, K counter-claims of
    /// the walkthrough); I illustrations (by construction, not evidence); N inconclusive; U unexpected."
    public var summaryLine: String {
        func count(_ outcome: Verdict.Outcome) -> Int { verdicts.filter { $0.outcome == outcome }.count }
        let refuted = verdicts.filter { $0.outcome == .refuted }
        let printed = refuted.filter { $0.kind == .refutation }.count
        var parts = ["\(count(.confirmed)) confirmed",
                     "\(refuted.count) refuted by measurement (\(printed) printed claim\(printed == 1 ? "" : "s") of the paper, \(refuted.count - printed) counter-claim\(refuted.count - printed == 1 ? "" : "s") of the walkthrough)",
                     "\(count(.illustration)) illustration\(count(.illustration) == 1 ? "" : "s") (by construction, not evidence)",
                     "\(count(.inconclusive)) inconclusive"]
        if count(.unexpected) > 0 { parts.append("\(count(.unexpected)) UNEXPECTED") }
        return parts.joined(separator: "; ") + "."
    }

    /// Stops the walkthrough with one clear line on standard error, `WALKTHROUGH: message`,
    /// and exit status 2 — for a failure the run itself cannot recover from (a model it cannot
    /// build, a file it cannot save).
    public func stop(_ message: String) -> Never {
        FileHandle.standardError.write("\(walkthrough): \(message)\n".data(using: .utf8)!)
        exit(2)
    }

    /// Runs a library step whose failure would be a bug here, not a user's mistake; on an
    /// error, stops with `what: error`.
    public func must<T>(_ what: String, _ body: () throws -> T) -> T {
        do { return try body() } catch { stop("\(what): \(error)") }
    }

    /// Writes every verdict under `/checks/NNN` (attributes: claim, section, paper, kind,
    /// quantity, measured, expected, tolerance, basis, sigmas, samples, false_alarm_rate,
    /// passed, as_expected); `/checks` carries the counts of each kind.
    public func recordChecks(into tree: inout HDF5Tree) {
        tree.addGroup("/checks", attributes: [
            "description": .string("Every verdict of the walkthrough, in the order printed. kind: check (a claim expected to hold), refutation (a printed claim of the paper, expected to fail) or counterexample (a claim the walkthrough sets up to fail, not the paper's). passed = the claim held within the tolerance; as_expected = checks passed, refutations and counterexamples failed by a finite measurement. outcome: confirmed (held, and the same sample rejected every alternative), refuted (shown false by data or exact computation), illustration (true or false by construction, not evidence), inconclusive (held, but an alternative was not rejected) or unexpected. band_sigmas: the band k of a statistical verdict, in σ. alternative_KEY: the distance in σ of the estimate from that alternative (the string attribute alternatives names them)."),
        ])
        for (k, v) in verdicts.enumerated() {
            var attributes: [String: HDF5Attribute] = [
                "claim": .string(v.claim), "section": .string(v.section), "paper": .string(v.paper),
                "kind": .string(v.kind.rawValue), "quantity": .string(v.quantity),
                "measured": .real(v.measured), "expected": .real(v.expected),
                "tolerance": .real(v.tolerance), "basis": .string(v.basis),
                "passed": .integer(v.passed ? 1 : 0), "as_expected": .integer(v.asExpected ? 1 : 0),
            ]
            if let sigmas = v.sigmas { attributes["sigmas"] = .real(sigmas) }
            if let samples = v.samples { attributes["samples"] = .integer(samples) }
            if let rate = v.falseAlarmRate { attributes["false_alarm_rate"] = .real(rate) }
            if let band = v.band { attributes["band_sigmas"] = .real(band) }
            attributes["outcome"] = .string(v.outcome.rawValue)
            attributes["illustration"] = .integer(v.isIllustration ? 1 : 0)
            if !v.alternatives.isEmpty {
                attributes["alternatives"] = .string(v.alternatives.map { "alternative_\($0.key): \($0.name)\($0.rejected ? "" : " (not rejected)")" }.joined(separator: "; "))
                for alternative in v.alternatives { attributes["alternative_\(alternative.key)"] = .real(alternative.sigmas) }
            }
            tree.addGroup(String(format: "/checks/%03d", k + 1), attributes: attributes)
        }
        for kind in Verdict.Kind.allCases {
            let ofKind = verdicts.filter { $0.kind == kind }
            tree.setAttribute("\(kind.rawValue)_count", .integer(ofKind.count), at: "/checks")
            tree.setAttribute("\(kind.rawValue)_as_expected", .integer(ofKind.filter(\.asExpected).count), at: "/checks")
        }
        for outcome in Verdict.Outcome.allCases {
            tree.setAttribute("\(outcome.rawValue)_count", .integer(verdicts.filter { $0.outcome == outcome }.count), at: "/checks")
        }
    }

    /// Adds the root attributes and `/checks` to the walkthrough's file and writes it
    /// atomically as `<data dir>/<walkthrough>.h5`; returns the path written.
    public func save(_ tree: HDF5Tree) throws -> String {
        var tree = tree
        fileAttributes(into: &tree)
        recordChecks(into: &tree)
        let folder = options.dataDirectory
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw HDF5Error(file: folder, message: "--data-dir names a file, not a folder") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw HDF5Error(file: folder, message: "cannot create the data folder (\((error as NSError).localizedFailureReason ?? "permission denied or a file in the way"))")
            }
        }
        let path = (folder as NSString).appendingPathComponent("\(walkthrough).h5")
        try tree.write(to: path)
        return path
    }

    /// The root attributes every file carries: walkthrough, seed (uint64, any seed round-trips),
    /// command, created, version.
    public func fileAttributes(into tree: inout HDF5Tree) {
        tree.setAttribute("walkthrough", .string(walkthrough))
        tree.setAttribute("seed", .unsigned(options.seed))
        tree.setAttribute("command", .string(CommandLine.arguments.joined(separator: " ")))
        tree.setAttribute("created", .string(utcTimestamp()))
        tree.setAttribute("version", .string("SpectralRNN \(spectralRNNVersion)"))
        tree.setAttribute("quick", .integer(options.quick ? 1 : 0))
    }
}

/// A short number for verdict lines and tables: 4 significant digits, scientific when tiny or huge.
public func formatNumber(_ x: Double, digits: Int = 4) -> String {
    if x == 0 { return "0" }
    if !x.isFinite { return "\(x)" }
    let magnitude = abs(x)
    if magnitude < 1e-3 || magnitude >= 1e6 { return String(format: "%.\(max(1, digits - 1))e", x) }
    return String(format: "%.\(digits)g", x)
}


/// A declared family of Monte Carlo checks (`Notebook.planMonteCarloChecks`).
public struct MonteCarloPlan: Sendable, Equatable {
    /// The number of Monte Carlo claims expected to hold.
    public let checks: Int
    /// The probability, at most, that a run with every claim true fails one of them.
    public let familyFalseAlarmRate: Double
}

/// Progress of a long loop, shown as a percentage on standard error; safe to advance from
/// concurrent workers.
public final class Progress: @unchecked Sendable {
    private let label: String
    private let total: Int
    private let enabled: Bool
    private let lock = NSLock()
    private var completed = 0
    private var lastPercent = -1

    init(label: String, total: Int, enabled: Bool) {
        self.label = label
        self.total = max(1, total)
        self.enabled = enabled
    }

    /// Reports `steps` more completed steps.
    public func advance(_ steps: Int = 1) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        completed += steps
        let percent = min(100, completed * 100 / total)
        if percent != lastPercent {
            lastPercent = percent
            FileHandle.standardError.write("\r  \(label) \(percent)%".data(using: .utf8)!)
        }
    }

    /// Clears the progress line.
    public func done() {
        guard enabled else { return }
        FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!)
    }
}

extension HDF5Tree {
    /// Adds a dataset with the three attributes every dataset carries (CONVENTIONS §5).
    public mutating func addDataset(_ path: String, _ tensor: Tensor, description: String,
                                    formula: String, paper: String) {
        addDataset(path, tensor, attributes: [
            "description": .string(description), "formula": .string(formula), "paper": .string(paper),
        ])
    }

    /// Adds a Monte Carlo moment as `/moments/NAME`, its per-entry standard errors as
    /// `/moments/NAME_se`, and the value it is checked against as `/theory/NAME`;
    /// `attributes` go on the moment (e.g. the parameters of the test function).
    public mutating func addMoment(_ name: String, estimate: StreamingMean, theory: Tensor,
                                   description: String, formula: String, theoryFormula: String, paper: String,
                                   attributes: [String: HDF5Attribute] = [:]) {
        addDataset("/moments/\(name)", estimate.mean,
                   description: "\(description) Monte Carlo mean over N = \(estimate.count) samples.",
                   formula: formula, paper: paper)
        for (key, value) in attributes { setAttribute(key, value, at: "/moments/\(name)") }
        if let batchError = estimate.batchStandardError {
            addDataset("/moments/\(name)_se", batchError,
                       description: "Per-entry standard error of /moments/\(name), from the spread of its \(estimate.batchCount) batch means (what the check uses).",
                       formula: "√(Σ_b n_b (m_b − m)² / ((B − 1) N))", paper: paper)
        } else {
            addDataset("/moments/\(name)_se", estimate.standardError,
                       description: "Per-entry standard error of /moments/\(name).", formula: "sd/√N", paper: paper)
        }
        addDataset("/theory/\(name)", theory,
                   description: "The closed-form value /moments/\(name) is checked against.",
                   formula: theoryFormula, paper: paper)
    }
}
