// Tests of the notebook harness (Notebook/Notebook.swift, Verdict.swift, NotebookOptions.swift):
// every kind of check can fail (CONVENTIONS §4: "a check must be able to fail"), refutations
// come out as expected only when the claim is false, the exit status, the /checks groups of
// the HDF5 file, and the Markdown voice.

import Foundation
import Synchronization
import Testing
@testable import SpectralRNN

/// Collects the notebook's printed lines.
private final class Printed {
    var lines: [String] = []
    /// Every printed string, split at its newlines.
    var allLines: [String] { lines.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
    var text: String { lines.joined(separator: "\n") }
}

/// The default options, as a walkthrough run without flags gets them.
private func defaultOptions() -> NotebookOptions { NotebookOptions.defaults }

/// A notebook with default options whose output goes to `printed`.
private func makeNotebook(_ printed: Printed, markdown: Bool = false) -> Notebook {
    var options = defaultOptions()
    options.markdown = markdown
    return Notebook(walkthrough: "00-notebook-tests", title: "Checks that can fail", options: options,
                    output: { printed.lines.append($0) })
}

/// N samples of N(μ, 1) from a fixed seed, accumulated.
private func gaussianSamples(mean mu: Double, count: Int) -> StreamingMean {
    var rng = RandomStream(seed: 20160303, purpose: "notebook tests: monte carlo")
    var accumulator = StreamingMean(shape: [1])
    for _ in 0..<count { accumulator.add([mu + rng.gaussian()]) }
    return accumulator
}

@Suite struct NotebookTests {

    /// `agree`: a correct reference passes (✓), a wrong one fails and prints ✗ UNEXPECTED.
    @Test func agreeCanFail() {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§0 agree")
        let computed = Tensor(vector: [1, 2, 3])
        let good = nb.agree("the same vector", paper: "test", computed: computed, reference: Tensor(vector: [1, 2, 3]))
        #expect(good.passed && good.asExpected && good.measured == 0 && good.tolerance == 1e-12)
        #expect(printed.lines.last!.hasPrefix("  ✓ the same vector"))

        let bad = nb.agree("a wrong reference", paper: "test", computed: computed, reference: Tensor(vector: [1, 2, 4]))
        #expect(!bad.passed && !bad.asExpected)
        #expect(abs(bad.measured - 1 / (21.0).squareRoot()) <= 1e-15)
        #expect(bad.quantity == "rel. error" && bad.section == "§0 agree" && bad.kind == .check)
        #expect(printed.lines.last!.contains("✗ UNEXPECTED FAILURE: a wrong reference"))
        // Even a tiny gap beyond the tolerance fails.
        let barely = nb.agree("a gap of 10⁻⁹", paper: "test", computed: Tensor(vector: [1 + 1e-9]), reference: Tensor(vector: [1]))
        #expect(!barely.passed)
        #expect(nb.verdicts.count == 3)
    }

    /// `exact`: the right value passes, a wrong expected value fails.
    @Test func exactCanFail() {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§0 exact")
        let phi = 0.6
        let good = nb.exact("det J = 1 − φ²", paper: "§2.5", quantity: "det J", measured: 1 - phi * phi,
                            expected: 0.64, tolerance: 1e-15)
        #expect(good.passed)
        let bad = nb.exact("det J = 1 − φ (wrong)", paper: "§2.5", quantity: "det J", measured: 1 - phi * phi,
                           expected: 1 - phi, tolerance: 1e-12)
        #expect(!bad.passed && !bad.asExpected)
        #expect(bad.measured == 1 - phi * phi && bad.expected == 1 - phi && bad.sigmas == nil && bad.samples == nil)
        #expect(printed.text.contains("✗ UNEXPECTED FAILURE: det J = 1 − φ (wrong)"))
        #expect(printed.text.contains("expected 0.4"))
    }

    /// `monteCarlo`: N = 10⁴ samples of N(μ, 1) (fixed seed) pass against the true μ within the
    /// default 3σ band, and fail against μ + 10·(standard error): that gap is at least 10σ minus
    /// the sample's own deviation, which the first check bounds by 3σ.
    @Test func monteCarloCanFail() {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§0 Monte Carlo")
        let mu = 0.7
        let estimate = gaussianSamples(mean: mu, count: 10_000)
        let se = estimate.standardError.storage[0]
        // The standard error is sd/√N ≈ 1/100; the sample sd's own relative spread is 1/√(2N) ≈ 0.7%,
        // so a 10% band is over 14 of its standard deviations.
        #expect(abs(se - 0.01) <= 0.001, "standard error of a mean of 10⁴ unit-variance draws is ≈ 0.01")

        // No batch means and no plan: σ from the per-sample sd, k at the default per-check rate
        // (the t quantile with N − 1 = 9999 degrees of freedom, 3.0007), or as given.
        let good = nb.monteCarlo("E[x] = μ", paper: "test", estimate: estimate, expected: Tensor(vector: [mu]))
        #expect(good.passed && good.asExpected)
        let k = StudentT.criticalValue(twoSidedTail: Notebook.defaultPerCheckFalseAlarmRate, degreesOfFreedom: 9_999)
        #expect(abs(k - 3.0007) <= 1e-3)
        #expect(good.samples == 10_000 && good.basis.contains("σ from the per-sample sd") && good.basis.contains("N = 10000"))
        #expect(abs(good.tolerance - k * se / mu) <= 1e-15, "relative tolerance kσ/|μ|")
        #expect(abs(good.falseAlarmRate! - Notebook.defaultPerCheckFalseAlarmRate) <= 1e-9)
        #expect(good.sigmas! <= 3)
        let given = nb.monteCarlo("E[x] = μ", paper: "test", estimate: estimate, expected: Tensor(vector: [mu]), sigmas: 3)
        #expect(abs(given.tolerance - 3 * se / mu) <= 1e-15 && given.basis.hasPrefix("3σ band"))

        let shifted = mu + 10 * se
        let bad = nb.monteCarlo("E[x] = μ + 10 se (wrong)", paper: "test", estimate: estimate, expected: Tensor(vector: [shifted]))
        #expect(!bad.passed && !bad.asExpected)
        #expect(bad.sigmas! >= 7 && bad.sigmas! <= 13, "the gap is 10σ ± the sample's own deviation (≤ 3σ)")
        #expect(printed.lines.last!.contains("✗ UNEXPECTED FAILURE: E[x] = μ + 10 se (wrong)"))
        #expect(printed.lines.last!.contains("σ"))

        // Expected value 0: the error is reported as a norm, not relative.
        let centered = gaussianSamples(mean: 0, count: 10_000)
        let zero = nb.monteCarlo("E[z] = 0", paper: "test", estimate: centered, expected: Tensor(vector: [0]),
                                 alternatives: [Alternative(key: "one", name: "E[z] = 1", value: Tensor(vector: [1]))])
        #expect(zero.quantity == "‖error‖" && zero.passed && zero.outcome == .confirmed)
        #expect(zero.alternatives == [AlternativeOutcome(key: "one", name: "E[z] = 1", sigmas: zero.alternatives[0].sigmas, rejected: true)])
    }

    /// With batch means (an `inChunks` estimate) σ comes from their spread, and a plan of K
    /// checks at family rate α sets k to the t quantile with B − 1 degrees of freedom at α/K.
    @Test func monteCarloUsesBatchMeansAndThePlan() {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§0 batch means")
        nb.planMonteCarloChecks(4, familyFalseAlarmRate: 1e-3)
        #expect(nb.monteCarloPlan == MonteCarloPlan(checks: 4, familyFalseAlarmRate: 1e-3))
        #expect(abs(nb.perCheckFalseAlarmRate - 2.5e-4) <= 1e-18)
        let estimate = StreamingMean.inChunks(32, samples: 32_000, shape: [1]) { chunk, count, accumulator in
            var rng = RandomStream(seed: 20160303, purpose: "notebook tests: batches", index: UInt64(chunk))
            for _ in 0..<count { accumulator.add([0.7 + rng.gaussian()]) }
        }
        #expect(estimate.batchCount == 32)
        let verdict = nb.monteCarlo("E[x] = 0.7", paper: "test", estimate: estimate, expected: Tensor(vector: [0.7]))
        let k = StudentT.criticalValue(twoSidedTail: 2.5e-4, degreesOfFreedom: 31)
        #expect(verdict.passed && verdict.basis.contains("32 batch means, t with 31 df"))
        #expect(verdict.basis.contains("≤ 0.001 over the 4 planned checks"))
        #expect(abs(verdict.tolerance - k * estimate.batchStandardError!.storage[0] / 0.7) <= 1e-15)
        #expect(abs(verdict.falseAlarmRate! - 2.5e-4) <= 1e-9)
        #expect(nb.monteCarloChecksMade == 1)
        // 0.7 with se ≈ 0.0056: E = 0, 1.4 and 0.35 are all more than 60σ away.
        #expect(verdict.alternatives.map(\.key) == ["zero", "double", "half"] && verdict.alternatives.allSatisfy(\.rejected))
        #expect(verdict.outcome == .confirmed && printed.lines.last!.contains("rejects E = 0 at"))
        _ = nb.finish()
        #expect(printed.text.contains("1 of the 4 planned statistical checks"))
        #expect(printed.text.contains("That rate covers those checks only"))
    }

    /// The named alternatives give a check its power: a true claim on too small a sample is
    /// INCONCLUSIVE (not ✓), a wrong constant fails, and an inconclusive run fails (exit 3) in
    /// full mode but not in --quick.
    @Test func alternativesMakeWeakChecksInconclusive() {
        func sample(mean: Double, count: Int, seed: UInt64) -> StreamingMean {
            StreamingMean.inChunks(32, samples: count, shape: [2]) { chunk, n, accumulator in
                var rng = RandomStream(seed: seed, purpose: "notebook tests: alternatives", index: UInt64(chunk))
                for _ in 0..<n { accumulator.add([mean + rng.gaussian(), 2 * mean + rng.gaussian()]) }
            }
        }
        let claim = Tensor(vector: [0.5, 1.0])
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§0 power")
        // se ≈ 1/√640 ≈ 0.04 per entry, k ≈ 3.6: ½·E is ‖E‖/2 ≈ 0.56 away, about 10σ — rejected.
        let strong = nb.monteCarlo("E = (0.5, 1)", paper: "test", estimate: sample(mean: 0.5, count: 640, seed: 1), expected: claim)
        #expect(strong.outcome == .confirmed && !strong.isInconclusive)
        // E = (0.25, 0.5) from 64 samples: se ≈ 1/√64 = 0.125 per entry, σ ≈ 0.18, and ½·E is
        // ‖E‖/2 ≈ 0.28 ≈ 1.6σ away — not rejected: INCONCLUSIVE, printed so.
        let weakClaim = claim * 0.5
        let weak = nb.monteCarlo("E = (0.5, 1), few samples", paper: "test", estimate: sample(mean: 0.25, count: 64, seed: 2), expected: weakClaim)
        #expect(weak.passed && weak.asExpected && weak.isInconclusive && weak.outcome == .inconclusive)
        #expect(weak.alternatives.contains { $0.key == "half" && !$0.rejected })
        #expect(printed.lines.last!.contains("? INCONCLUSIVE: E = (0.5, 1), few samples") && printed.lines.last!.contains("does NOT reject"))
        // The claim with its constant off by two, on the strong sample: fails.
        let wrongConstant = nb.monteCarlo("E = (1, 2) (constant off by two)", paper: "test",
                                          estimate: sample(mean: 0.5, count: 640, seed: 1), expected: claim * 2)
        #expect(!wrongConstant.passed && wrongConstant.outcome == .unexpected)
        // A printed form named as an alternative is rejected when far, and reported by key.
        let named = nb.monteCarlo("E = (0.5, 1) against a printed form", paper: "test", estimate: sample(mean: 0.5, count: 640, seed: 1),
                                  expected: claim, alternatives: [Alternative(key: "printed", name: "(1, 0.5)", value: Tensor(vector: [1, 0.5]))])
        #expect(named.alternatives.last!.key == "printed" && named.alternatives.last!.rejected && named.outcome == .confirmed)
        #expect(nb.summaryLine.contains("2 confirmed") && nb.summaryLine.contains("1 inconclusive") && nb.summaryLine.contains("1 UNEXPECTED"))
        #expect(nb.finish() == 1)

        // Inconclusive only: exit 3 in full mode, 0 with --quick.
        let full = makeNotebook(Printed())
        full.monteCarlo("weak", paper: "test", estimate: sample(mean: 0.25, count: 64, seed: 2), expected: weakClaim)
        #expect(full.finish() == 3)
        var quickOptions = defaultOptions()
        quickOptions.quick = true
        let quickPrinted = Printed()
        let quick = Notebook(walkthrough: "00-notebook-tests", title: "quick", options: quickOptions, output: { quickPrinted.lines.append($0) })
        quick.monteCarlo("weak", paper: "test", estimate: sample(mean: 0.25, count: 64, seed: 2), expected: weakClaim)
        #expect(quick.finish() == 0 && quickPrinted.text.contains("does not fail the run"))
    }

    /// A sampled refutation names the corrected claim: given the TRUE claim as the "printed" one,
    /// it fails (‼ UNEXPECTED) when the sample rejects the corrected alternative, and is
    /// INCONCLUSIVE when the sample cannot tell the two apart.
    @Test func sampledRefutationsCanFail() {
        func sample(count: Int) -> StreamingMean {
            StreamingMean.inChunks(32, samples: count, shape: [1]) { chunk, n, accumulator in
                var rng = RandomStream(seed: 9, purpose: "notebook tests: refutations", index: UInt64(chunk))
                for _ in 0..<n { accumulator.add([1 + rng.gaussian()]) }
            }
        }
        let printed = Printed()
        let nb = makeNotebook(printed)
        let refuted = nb.monteCarlo("printed: E = 0", paper: "test", estimate: sample(count: 6_400), expected: Tensor(vector: [0]),
                                    alternatives: [Alternative(key: "true_form", name: "E = 1", value: Tensor(vector: [1]))], kind: .refutation)
        #expect(refuted.outcome == .refuted && printed.lines.last!.contains("✗ refuted, as expected"))
        // The true claim given as the printed one, against a wrong "corrected" one: the paper's claim held.
        let heldTrue = nb.monteCarlo("printed (but true): E = 1", paper: "test", estimate: sample(count: 6_400), expected: Tensor(vector: [1]),
                                     alternatives: [Alternative(key: "true_form", name: "E = 0", value: Tensor(vector: [0]))], kind: .refutation)
        #expect(!heldTrue.asExpected && heldTrue.outcome == .unexpected && printed.lines.last!.contains("‼ UNEXPECTED: the paper's claim held"))
        // Too few samples to tell E = 0.9 from E = 1: inconclusive, not a success of the paper.
        let tooFew = nb.monteCarlo("printed: E = 0.9", paper: "test", estimate: sample(count: 64), expected: Tensor(vector: [0.9]),
                                   alternatives: [Alternative(key: "true_form", name: "E = 1", value: Tensor(vector: [1]))], kind: .refutation)
        #expect(tooFew.isInconclusive && tooFew.asExpected && tooFew.outcome == .inconclusive)
        #expect(printed.lines.last!.contains("? INCONCLUSIVE: printed: E = 0.9"))
        // A sample that rejects the printed claim AND its correction is no evidence for the
        // correction: unexpected.
        let both = nb.monteCarlo("printed: E = 0", paper: "test", estimate: sample(count: 6_400), expected: Tensor(vector: [0]),
                                 alternatives: [Alternative(key: "true_form", name: "E = 2", value: Tensor(vector: [2]))], kind: .refutation)
        #expect(both.rejectsItsCorrection && !both.asExpected && both.outcome == .unexpected)
        #expect(printed.lines.last!.contains("‼ UNEXPECTED: the sample rejects the printed claim AND its correction"))
    }

    /// Illustrations (true or false by construction) are printed as such and counted apart, never
    /// as confirmations or refutations; one that does not come out as built is still unexpected.
    @Test func illustrationsAreCountedApart() {
        let printed = Printed()
        let nb = makeNotebook(printed)
        let shown = nb.exact("dx² − dx = 0", paper: "test", quantity: "dx² − dx", measured: 6, expected: 0, tolerance: 0,
                             kind: .refutation, illustration: true)
        #expect(shown.outcome == .illustration && printed.lines.last!.contains("· illustration (by construction, not counted as evidence), fails:"))
        let holds = nb.exact("0 = 0 by construction", paper: "test", quantity: "x", measured: 0, expected: 0, tolerance: 0, illustration: true)
        #expect(holds.outcome == .illustration && printed.lines.last!.contains("holds:"))
        let broken = nb.exact("an illustration that does not come out", paper: "test", quantity: "x", measured: 0, expected: 0, tolerance: 0,
                              kind: .refutation, illustration: true)
        #expect(broken.outcome == .unexpected)
        #expect(nb.summaryLine == "0 confirmed; 0 refuted by measurement (0 printed claims of the paper, 0 counter-claims of the walkthrough); 2 illustrations (by construction, not evidence); 0 inconclusive; 1 UNEXPECTED.")
    }

    /// `oneSided`: a slope below its bound within k·se passes; the alternative "slope 0" is
    /// rejected only when the band stays below it; a slope far above the bound fails.
    @Test func oneSidedChecks() {
        let nb = makeNotebook(Printed())
        let flat = [(key: "flat", name: "slope 0", value: 0.0)]
        let good = nb.oneSided("falls like N^{−1/2}", paper: "test", quantity: "slope", estimate: -0.52, standardError: 0.03,
                               degreesOfFreedom: 17, bound: -0.5, alternatives: flat, falseAlarmRate: 1e-3, what: "test")
        #expect(good.outcome == .confirmed && good.measured == 0)
        let k = StudentT.criticalValue(twoSidedTail: 2e-3, degreesOfFreedom: 17)
        #expect(abs(good.tolerance - k * 0.03) <= 1e-12)
        let vague = nb.oneSided("falls like N^{−1/2}", paper: "test", quantity: "slope", estimate: -0.5, standardError: 0.2,
                                degreesOfFreedom: 17, bound: -0.5, alternatives: flat, what: "test")
        #expect(vague.outcome == .inconclusive)
        let wrong = nb.oneSided("falls like N^{−1/2}", paper: "test", quantity: "slope", estimate: 0.1, standardError: 0.03,
                                degreesOfFreedom: 17, bound: -0.5, alternatives: flat, what: "test")
        #expect(wrong.outcome == .unexpected)
        let diverged = nb.oneSided("falls", paper: "test", quantity: "slope", estimate: .nan, standardError: 0.03,
                                   degreesOfFreedom: 17, bound: -0.5, alternatives: flat, what: "test")
        #expect(diverged.outcome == .unexpected)
    }

    /// A refutation comes out as expected when the paper's claim is false (printed "refuted, as
    /// expected"), and not when it is true (printed ‼ UNEXPECTED).
    @Test func refutationsAreExpectedToFail() {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§9 errata")
        let refuted = nb.exact("printed normalization (2φ)^{−n/2}", paper: "errata 1", quantity: "∫p",
                               measured: pow(Double.pi / 0.6, 1.5), expected: 1, tolerance: 1e-12, kind: .refutation)
        #expect(!refuted.passed && refuted.asExpected)
        #expect(printed.lines.last!.contains("✗ refuted, as expected: printed normalization"))

        let held = nb.agree("a printed claim that holds", paper: "errata ?", computed: Tensor(vector: [2]),
                            reference: Tensor(vector: [2]), kind: .refutation)
        #expect(held.passed && !held.asExpected)
        #expect(printed.lines.last!.contains("‼ UNEXPECTED: the paper's claim held: a printed claim that holds"))

        // NaN neither confirms nor refutes: a refutation or counterexample needs a finite measurement.
        for kind in [Verdict.Kind.refutation, .counterexample, .check] {
            let nan = nb.exact("a NaN measurement", paper: "test", quantity: "x", measured: .nan, expected: 1,
                               tolerance: 1e-12, kind: kind)
            #expect(!nan.passed && !nan.isMeasured && !nan.asExpected, "\(kind)")
            let infiniteTolerance = nb.exact("an infinite band", paper: "test", quantity: "x", measured: 5, expected: 1,
                                             tolerance: .infinity, kind: kind)
            #expect(!infiniteTolerance.passed && !infiniteTolerance.asExpected, "\(kind)")
        }
        #expect(printed.text.contains("‼ UNEXPECTED: no finite measurement, nothing refuted: a NaN measurement"))
        #expect(printed.text.contains("✗ UNEXPECTED FAILURE (no finite measurement): a NaN measurement"))
        let nanEstimate = nb.agree("a NaN tensor", paper: "test", computed: Tensor(vector: [.nan]), reference: Tensor(vector: [1]),
                                   kind: .refutation)
        #expect(!nanEstimate.asExpected)
    }

    /// A counterexample (a claim the walkthrough sets up to fail, not the paper's) is counted
    /// apart from the paper's refutations, in the summary and in /checks.
    @Test func counterexamplesAreCountedApart() throws {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§1 kinds")
        nb.exact("1 = 1", paper: "test", quantity: "x", measured: 1, expected: 1, tolerance: 0)
        nb.exact("printed: 1 = 2", paper: "errata", quantity: "x", measured: 1, expected: 2, tolerance: 0, kind: .refutation)
        let intuition = nb.exact("intuition: 1 = 3", paper: "test", quantity: "x", measured: 1, expected: 3, tolerance: 0,
                                 kind: .counterexample)
        nb.exact("intuition: 1 = 4", paper: "test", quantity: "x", measured: 1, expected: 4, tolerance: 0, kind: .counterexample)
        #expect(intuition.asExpected && printed.lines.last!.contains("✗ fails, as expected: intuition: 1 = 4"))
        #expect(nb.summaryLine == "1 confirmed; 3 refuted by measurement (1 printed claim of the paper, 2 counter-claims of the walkthrough); 0 illustrations (by construction, not evidence); 0 inconclusive.")
        #expect(nb.finish() == 0)
        let held = makeNotebook(Printed())
        held.exact("a counter-claim that holds", paper: "test", quantity: "x", measured: 1, expected: 1, tolerance: 0,
                   kind: .counterexample)
        #expect(held.finish() == 1)

        var tree = HDF5Tree()
        nb.recordChecks(into: &tree)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("notebook-kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("kinds.h5").path
        try tree.write(to: path)
        let reader = try HDF5Reader(path: path)
        defer { reader.close() }
        let counts = try reader.attributes(of: "/checks")
        #expect(counts["check_count"] == .integer(1) && counts["refutation_count"] == .integer(1)
                && counts["counterexample_count"] == .integer(2) && counts["counterexample_as_expected"] == .integer(2))
        #expect(try reader.attributes(of: "/checks/003")["kind"] == .string("counterexample"))
    }

    /// `finish` returns 0 when every verdict came out as expected and 1 otherwise, and says which.
    @Test func finishReturnsTheExitStatus() {
        let printedGood = Printed()
        let good = makeNotebook(printedGood)
        good.section("§1 fine")
        good.exact("1 = 1", paper: "test", quantity: "x", measured: 1, expected: 1, tolerance: 0)
        good.exact("1 = 2", paper: "test", quantity: "x", measured: 1, expected: 2, tolerance: 0, kind: .refutation)
        #expect(good.finish() == 0)
        #expect(printedGood.text.contains("1 confirmed; 1 refuted by measurement (1 printed claim of the paper, 0 counter-claims of the walkthrough)"))
        #expect(printedGood.text.contains("Every verdict came out as expected."))

        let printedBad = Printed()
        let bad = makeNotebook(printedBad)
        bad.section("§1 broken")
        bad.exact("1 = 1", paper: "test", quantity: "x", measured: 1, expected: 1, tolerance: 0)
        bad.exact("1 = 2", paper: "test", quantity: "x", measured: 1, expected: 2, tolerance: 0)
        #expect(bad.finish(savedFiles: ["data/x.h5"]) == 1)
        #expect(printedBad.text.contains("1 confirmed;") && printedBad.text.contains("1 UNEXPECTED"))
        #expect(printedBad.text.contains("Saved data/x.h5."))
        #expect(printedBad.text.contains("Unexpected: [§1 broken] 1 = 2"))
        #expect(!printedBad.text.contains("Every verdict came out as expected."))

        let printedHeld = Printed()
        let held = makeNotebook(printedHeld)
        held.exact("a refutation that held", paper: "test", quantity: "x", measured: 1, expected: 1, tolerance: 0, kind: .refutation)
        #expect(held.finish() == 1)
    }

    /// `recordChecks` writes one /checks/NNN group per verdict, in order, with its attributes;
    /// written with HDF5Tree and read back with HDF5Reader.
    @Test func recordChecksWritesOneGroupPerVerdict() throws {
        let printed = Printed()
        let nb = makeNotebook(printed)
        nb.section("§2 tree")
        let first = nb.agree("agreement", paper: "eq. 8", computed: Tensor(vector: [1, 2]), reference: Tensor(vector: [1, 2.5]))
        let second = nb.exact("det J", paper: "§2.5", quantity: "det J", measured: 0.64, expected: 0.64, tolerance: 1e-15,
                              basis: "a few roundings")
        let third = nb.monteCarlo("E[x] = μ", paper: "Theorem 2", estimate: gaussianSamples(mean: 0.7, count: 10_000),
                                  expected: Tensor(vector: [0.7]))
        let fourth = nb.exact("printed claim", paper: "errata 3", quantity: "gap", measured: 0.83, expected: 0, tolerance: 0.1,
                              kind: .refutation)
        var tree = HDF5Tree()
        nb.recordChecks(into: &tree)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("notebook-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("checks.h5").path
        try tree.write(to: path)

        let reader = try HDF5Reader(path: path)
        defer { reader.close() }
        #expect(try reader.children(of: "/checks") == ["001", "002", "003", "004"])
        #expect(try reader.readAttribute("description", of: "/checks") != nil)
        for (k, verdict) in [first, second, third, fourth].enumerated() {
            let attributes = try reader.attributes(of: String(format: "/checks/%03d", k + 1))
            #expect(attributes["claim"] == .string(verdict.claim))
            #expect(attributes["section"] == .string("§2 tree"))
            #expect(attributes["paper"] == .string(verdict.paper))
            #expect(attributes["kind"] == .string(verdict.kind.rawValue))
            #expect(attributes["quantity"] == .string(verdict.quantity))
            #expect(attributes["measured"] == .real(verdict.measured))
            #expect(attributes["expected"] == .real(verdict.expected))
            #expect(attributes["tolerance"] == .real(verdict.tolerance))
            #expect(attributes["basis"] == .string(verdict.basis))
            #expect(attributes["passed"] == .integer(verdict.passed ? 1 : 0))
            #expect(attributes["as_expected"] == .integer(verdict.asExpected ? 1 : 0))
            #expect(attributes["sigmas"] == verdict.sigmas.map { .real($0) })
            #expect(attributes["samples"] == verdict.samples.map { .integer($0) })
            #expect(attributes["false_alarm_rate"] == verdict.falseAlarmRate.map { .real($0) })
            #expect(attributes["band_sigmas"] == verdict.band.map { .real($0) })
        }
        // The band of the Monte Carlo check is its k: tolerance = k·σ/‖E‖ and measured = gap/‖E‖
        // with gap = sigmas·σ, so tolerance/k = measured/sigmas.
        let k = try #require(third.band)
        #expect(k == nb.monteCarloBand(degreesOfFreedom: 9_999) && k > 2.9)
        #expect(abs(third.tolerance / k - third.measured / third.sigmas!) < 1e-12 * third.tolerance)
        #expect(first.band == nil && second.band == nil)
        // Spot-check the values themselves, not only their round trip.
        let one = try reader.attributes(of: "/checks/001")
        #expect(one["passed"] == .integer(0) && one["kind"] == .string("check") && one["claim"] == .string("agreement"))
        let two = try reader.attributes(of: "/checks/002")
        #expect(two["measured"] == .real(0.64) && two["tolerance"] == .real(1e-15) && two["passed"] == .integer(1))
        let three = try reader.attributes(of: "/checks/003")
        #expect(three["samples"] == .integer(10_000))
        // The alternatives: one attribute each, their distance in σ, and their names.
        #expect(three["outcome"] == .string("confirmed") && three["illustration"] == .integer(0))
        for alternative in third.alternatives {
            #expect(three["alternative_\(alternative.key)"] == .real(alternative.sigmas))
        }
        #expect(three["alternatives"] == .string("alternative_zero: E = 0; alternative_double: 2·E; alternative_half: ½·E"))
        #expect(try reader.attributes(of: "/checks")["confirmed_count"] == .integer(2))
        let four = try reader.attributes(of: "/checks/004")
        #expect(four["kind"] == .string("refutation") && four["passed"] == .integer(0) && four["as_expected"] == .integer(1))
    }

    /// Markdown mode prints a `# ` title, `## ` sections, `**Claim.**`, fenced derivations,
    /// tables and `- ✓` / `- ✗` verdict lines; plain mode prints none of these.
    @Test func markdownMode() {
        let printed = Printed()
        let nb = makeNotebook(printed, markdown: true)
        nb.section("§2.3 eq. 8")
        nb.claim("S_m = S_{m−1} ⊗ S₁ − ∇S_{m−1}")
        nb.derivation("S₁ = x", "S₂ = x² − 1")
        nb.table(["m", "He_m(1)"], [["2", "0"], ["3", "-2"]])
        nb.exact("He₂(1) = 0", paper: "eq. 8", quantity: "He₂(1)", measured: 0, expected: 0, tolerance: 1e-15)
        nb.exact("He₂(1) = 1 (wrong)", paper: "eq. 8", quantity: "He₂(1)", measured: 0, expected: 1, tolerance: 1e-15)
        let lines = printed.allLines
        #expect(lines.first == "# 00-notebook-tests: Checks that can fail")
        #expect(lines.contains("## §2.3 eq. 8"))
        #expect(lines.contains("**Claim.** S_m = S_{m−1} ⊗ S₁ − ∇S_{m−1}"))
        #expect(lines.contains("```text"))
        #expect(lines.contains("| m | He_m(1) |"))
        #expect(lines.contains { $0.hasPrefix("- ✓ He₂(1) = 0 — ") })
        #expect(lines.contains { $0.hasPrefix("- ✗ UNEXPECTED FAILURE: He₂(1) = 1 (wrong) — ") })

        let plain = Printed()
        let plainNotebook = makeNotebook(plain)
        plainNotebook.section("§2.3 eq. 8")
        plainNotebook.exact("He₂(1) = 0", paper: "eq. 8", quantity: "He₂(1)", measured: 0, expected: 0, tolerance: 1e-15)
        #expect(!plain.allLines.contains { $0.hasPrefix("## ") || $0.hasPrefix("- ✓") || $0.hasPrefix("# ") })
        #expect(plain.allLines.contains("§2.3 eq. 8"))
        #expect(plain.allLines.contains("  ✓ He₂(1) = 0"))
        #expect(plain.allLines.contains("  00-notebook-tests · Checks that can fail"))
    }

    /// A figure is an image link relative to docs/ with its caption in Markdown (square
    /// brackets of the caption kept out of the alt text), and its path and caption in plain text.
    @Test func figureLinks() {
        let printed = Printed()
        let nb = makeNotebook(printed, markdown: true)
        nb.figure("errors", caption: "Ê[y ⊗ S(x[n])] against N.")
        #expect(printed.allLines.contains("![Ê(y ⊗ S(x(n))) against N.](figures/00-notebook-tests-errors.svg)"))
        #expect(printed.allLines.contains("*Figure.* Ê[y ⊗ S(x[n])] against N."))
        let plain = Printed()
        makeNotebook(plain).figure("errors", caption: "The errors.")
        #expect(plain.allLines.contains("    [figure docs/figures/00-notebook-tests-errors.svg, drawn by Scripts/plot from the file] The errors."))
    }

    /// `--samples` below the minimum (including `--samples -3`, read as a value) and a
    /// `--data-dir` that cannot hold the file are refused by validation, each with one clear
    /// message; a missing data folder is created.
    @Test func badOptionsAreRefused() throws {
        func message(_ arguments: [String]) -> String? {
            do {
                _ = try NotebookOptions.parse(arguments)
                return nil
            } catch {
                return NotebookOptions.message(for: error)
            }
        }
        let minimum = "--samples must be at least \(NotebookOptions.minimumSamples)"
        #expect(NotebookOptions.minimumSamples == 64)
        for value in ["1", "7", "63", "0", "-3"] {
            #expect(message(["--samples", value])?.hasPrefix(minimum) == true, "--samples \(value)")
        }
        #expect(message(["--samples=-3"])?.hasPrefix(minimum) == true)
        #expect(message(["--samples", "64"]) == nil)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("notebook-options-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/f.txt"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        #expect(message(["--data-dir", file]) == "--data-dir \(file) names a file, not a folder")
        #expect(message(["--data-dir", file + "/sub/deeper"]) == "--data-dir \(file)/sub/deeper: \(file) is a file, not a folder")
        #expect(message(["--data-dir", ""]) == "--data-dir must name a folder, got an empty string")
        #expect(message(["--data-dir", "/proc/nope"])?.hasPrefix("--data-dir /proc/nope: cannot create /proc/nope (") == true)
        // A missing folder (and its parents) is created.
        let fresh = folder + "/a/b"
        #expect(message(["--data-dir", fresh]) == nil)
        var isFolder: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: fresh, isDirectory: &isFolder) && isFolder.boolValue)
    }

    /// Threads of one process probe one folder at once (Swift Testing runs tests in
    /// parallel, and each notebook test parses the defaults): every probe must pass. With a
    /// probe named by the process id alone, O_EXCL made all but one of them fail.
    @Test func concurrentProbesOfOneFolderAllPass() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("notebook-probes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let count = 400
        let problems = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: count) { _ in
            if let problem = NotebookOptions.dataDirectoryProblem(folder) {
                problems.withLock { $0.append(problem) }
            }
        }
        #expect(problems.withLock { $0 } == [])
        // No probe is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])
    }

    /// The default options: not quick, not Markdown, the project's seed, `data` folder.
    @Test func defaultOptionsAndSampleCount() {
        let options = defaultOptions()
        #expect(!options.quick && !options.markdown && options.samples == nil)
        #expect(options.seed == 20160303 && options.dataDirectory == "data")
        #expect(options.sampleCount(full: 1000, quick: 10) == 1000)
        var quick = options
        quick.quick = true
        #expect(quick.sampleCount(full: 1000, quick: 10) == 10)
        quick.samples = 77
        #expect(quick.sampleCount(full: 1000, quick: 10) == 77)
    }
}
