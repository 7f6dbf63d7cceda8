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
    /// For statistical verdicts: the probability that a true claim fails this check (two-sided
    /// tail of the band under the Student-t or normal law of the deviation).
    public let falseAlarmRate: Double?

    public init(section: String, claim: String, paper: String, kind: Kind, quantity: String,
                measured: Double, expected: Double, tolerance: Double, basis: String,
                sigmas: Double? = nil, samples: Int? = nil, falseAlarmRate: Double? = nil) {
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
    }

    /// Whether the comparison could be made at all: measured value, expected value and
    /// tolerance are finite numbers (a NaN neither confirms nor refutes anything).
    public var isMeasured: Bool { measured.isFinite && expected.isFinite && tolerance.isFinite }

    /// Whether the claim held within the tolerance (false for a value that is not measured).
    public var passed: Bool { isMeasured && abs(measured - expected) <= tolerance }

    /// Whether the claim was shown false: a finite measured value outside the tolerance.
    public var failedByMeasurement: Bool { isMeasured && !(abs(measured - expected) <= tolerance) }

    /// Whether the verdict came out as the walkthrough expects: checks pass; refutations and
    /// counterexamples fail by a finite measurement.
    public var asExpected: Bool { kind.expectsFailure ? failedByMeasurement : passed }
}
