/// Classical rounding bounds of floating-point arithmetic (Higham, *Accuracy and Stability of
/// Numerical Algorithms*, §3.1): a value computed as a sum of products in which no term passes
/// through more than K roundings lies within `γ_K · B` of the exact value, where
/// `γ_K = K u / (1 − K u)`, u = 2⁻⁵³ the unit roundoff of float64, and B the sum of the
/// absolute values of the terms.
public enum Rounding {
    /// The unit roundoff of float64, 2⁻⁵³.
    public static let unit = 0x1p-53

    /// `γ_K = K u / (1 − K u)`.
    public static func gamma(_ k: Int) -> Double {
        let ku = Double(k) * unit
        precondition(ku < 1, "Rounding.gamma: K u must be below 1, got K = \(k)")
        return ku / (1 - ku)
    }
}
