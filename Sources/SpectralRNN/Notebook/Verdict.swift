/// One verdict of a walkthrough: a claim, the number measured for it, what it was
/// compared with and within which tolerance.
public struct Verdict: Sendable, Equatable {
    /// A claim expected to hold (`check`) or a printed claim of the paper expected to fail
    /// (`refutation`).
    public enum Kind: String, Sendable { case check, refutation }

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
    /// How the tolerance was set, e.g. "3σ band, N = 400000" or "machine precision".
    public let basis: String
    /// For statistical verdicts: the deviation in units of its standard error.
    public let sigmas: Double?
    /// For statistical verdicts: the number of samples.
    public let samples: Int?

    /// Whether the claim held within the tolerance.
    public var passed: Bool { abs(measured - expected) <= tolerance }

    /// Whether the verdict came out as the walkthrough expects (checks pass, refutations fail).
    public var asExpected: Bool { kind == .check ? passed : !passed }
}
