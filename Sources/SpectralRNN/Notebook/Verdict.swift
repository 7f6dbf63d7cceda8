/// One verdict of a walkthrough: a claim, the number measured for it, what it was
/// compared with and within which tolerance.
public struct Verdict: Sendable, Equatable {
    /// What a verdict is expected to show.
    public enum Kind: String, Sendable, CaseIterable {
        /// A claim expected to hold.
        case check
        /// A printed claim of the paper, expected to fail (an erratum).
        case refutation
        /// A claim the walkthrough itself sets up to fail — an intuition, a misuse of a method,
        /// a deliberately wrong value showing that a check can fail — not a claim of the paper.
        case counterexample

        /// Whether verdicts of this kind are expected to fail.
        public var expectsFailure: Bool { self != .check }
    }

    public let section: String
    public let claim: String
    /// Where the claim comes from: the paper's equation, theorem or errata number.
    public let paper: String
    public let kind: Kind
    /// What `measured` is, e.g. "rel. error" or "det J".
    public let quantity: String
    public let measured: Double
    public let expected: Double
    /// The claim holds when `|measured − expected| ≤ tolerance`.
    public let tolerance: Double
    /// How the tolerance was set, e.g. "4.9σ from 32 batch means, …" or "machine precision".
    public let basis: String
    /// For statistical verdicts: the deviation in units of its standard error.
    public let sigmas: Double?
    /// For statistical verdicts: the number of samples.
    public let samples: Int?
    /// For statistical verdicts: the probability that a true claim fails this check (the tail of
    /// the band under the Student-t law of the deviation: two-sided for an error norm, one-sided
    /// for `Notebook.oneSided`).
    public let falseAlarmRate: Double?
    /// For statistical verdicts: the band k in standard errors (the claim holds when its
    /// deviation is at most k·σ, and an alternative is rejected when it lies farther than k·σ).
    public let band: Double?
    /// For statistical verdicts. A check's alternatives are what a reader could mistake for the
    /// claim (E = 0, 2E, ½E, the printed form; for a slope, a slower rate): each must be rejected
    /// for a confirmation. A sampled refutation's alternatives are the corrected claim: it must
    /// NOT be rejected (else the sample rejects both forms, which points to a bug, not an erratum).
    public let alternatives: [AlternativeOutcome]
    /// True when the verdict shows something the walkthrough built in (a value compared with a
    /// rearrangement of itself, a parameter chosen to make a claim fail, a count of dimensions):
    /// printed as an illustration and counted apart, never as evidence.
    public let isIllustration: Bool

    public init(section: String, claim: String, paper: String, kind: Kind, quantity: String,
                measured: Double, expected: Double, tolerance: Double, basis: String,
                sigmas: Double? = nil, samples: Int? = nil, falseAlarmRate: Double? = nil, band: Double? = nil,
                alternatives: [AlternativeOutcome] = [], isIllustration: Bool = false) {
        self.section = section
        self.claim = claim
        self.paper = paper
        self.kind = kind
        self.quantity = quantity
        self.measured = measured
        self.expected = expected
        self.tolerance = tolerance
        self.basis = basis
        self.sigmas = sigmas
        self.samples = samples
        self.falseAlarmRate = falseAlarmRate
        self.band = band
        self.alternatives = alternatives
        self.isIllustration = isIllustration
    }

    /// Whether the comparison could be made at all: measured value, expected value and
    /// tolerance are finite numbers (a NaN neither confirms nor refutes anything).
    public var isMeasured: Bool { measured.isFinite && expected.isFinite && tolerance.isFinite }

    /// Whether the claim held within the tolerance (false for a value that is not measured).
    public var passed: Bool { isMeasured && abs(measured - expected) <= tolerance }

    /// Whether the claim was shown false: a finite measured value outside the tolerance.
    public var failedByMeasurement: Bool { isMeasured && !(abs(measured - expected) <= tolerance) }

    /// Whether the verdict came out as the walkthrough expects: checks pass; refutations and
    /// counterexamples fail by a finite measurement. (An inconclusive check is as expected:
    /// nothing failed, but it is not counted as a confirmation.)
    public var asExpected: Bool {
        kind.expectsFailure ? ((failedByMeasurement && !rejectsItsCorrection) || isInconclusive) : passed
    }

    /// A refutation whose sample rejects the corrected claim too: both forms fail, which is not
    /// evidence for the correction (an unexpected verdict).
    public var rejectsItsCorrection: Bool { kind.expectsFailure && alternatives.contains(where: \.rejected) }

    /// A claim that held while the same sample failed to reject one of its alternatives: the
    /// data cannot tell the claim from something a reader could mistake for it. For a check,
    /// the alternatives are E = 0, 2E, ½E and the printed form; for a sampled refutation, the
    /// corrected claim — a printed claim that "holds" only because the sample cannot tell it
    /// from the corrected one is not a sign the paper is right, but a sample too small.
    public var isInconclusive: Bool {
        !isIllustration && passed && alternatives.contains { !$0.rejected }
    }

    /// What the verdict counts as in the summary.
    public var outcome: Outcome {
        if !asExpected { return .unexpected }
        if isIllustration { return .illustration }
        if isInconclusive { return .inconclusive }
        switch kind {
        case .check: return .confirmed
        case .refutation, .counterexample: return .refuted
        }
    }

    /// What a verdict counts as in a walkthrough's summary.
    public enum Outcome: String, Sendable, CaseIterable {
        /// A claim expected to hold held, and the same sample rejected every alternative.
        case confirmed
        /// A claim expected to fail was shown false by data or an exact computation.
        case refuted
        /// Something built in by construction, shown as expected (not evidence).
        case illustration
        /// A claim held but its alternatives were not all rejected: no evidence either way.
        case inconclusive
        /// The verdict did not come out as expected.
        case unexpected
    }
}

/// An alternative to a Monte Carlo claim: a value a reader could mistake for the claimed one
/// (`E = 0`, the paper's printed form, the claim with its constant off by a factor of two).
public struct Alternative: Sendable, Equatable {
    /// A short ASCII key for the attribute in `/checks` (`alternative_KEY`).
    public let key: String
    /// What it is, in words, e.g. "E = 0" or "½·E (constant 2 instead of 4)".
    public let name: String
    /// Its value, of the claim's shape.
    public let value: Tensor

    public init(key: String, name: String, value: Tensor) {
        precondition(!key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") },
                     "Alternative: the key must be ASCII letters, digits or _, got \(key)")
        self.key = key
        self.name = name
        self.value = value
    }

    /// The alternatives every Monte Carlo claim with a non-zero value E faces: E = 0, 2E and ½E.
    public static func defaults(for expected: Tensor) -> [Alternative] {
        guard expected.frobeniusNorm > 0 else { return [] }
        return [Alternative(key: "zero", name: "E = 0", value: Tensor.zeros(expected.shape)),
                Alternative(key: "double", name: "2·E", value: expected * 2),
                Alternative(key: "half", name: "½·E", value: expected * 0.5)]
    }
}

/// How one alternative fared against the sample.
public struct AlternativeOutcome: Sendable, Equatable {
    public let key: String
    public let name: String
    /// The estimate's distance from the alternative in units of its σ: ‖Ê − alternative‖/σ for a
    /// Monte Carlo verdict, (alternative − estimate)/se (signed) for `Notebook.oneSided`.
    public let sigmas: Double
    /// Whether the band of the check (k·σ) excludes it.
    public let rejected: Bool

    public init(key: String, name: String, sigmas: Double, rejected: Bool) {
        self.key = key
        self.name = name
        self.sigmas = sigmas
        self.rejected = rejected
    }
}
