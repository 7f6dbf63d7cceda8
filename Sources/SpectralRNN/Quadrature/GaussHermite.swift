/// Gauss–Hermite quadrature for Gaussian expectations `E[f(z)]`, `z ~ N(mean, variance)`:
/// exact for polynomials of degree below 2·points; for f analytic in a strip |Im z| < d
/// (sigmoid, tanh: poles at distance π or π/2 from the real axis, divided by the scale)
/// the error falls like exp(−c·d·√points), so a few hundred points reach machine precision.
/// Used to compute μ′_j = E[σ′(a_j·x + c_j)] and μ″_j exactly for the checks (MATH.md §3).
public struct GaussHermite: Sendable {
    /// Nodes of the probabilists' rule (weight e^{−z²/2}), ascending.
    public let nodes: [Double]
    /// Weights, summing to 1 (a probability measure: the rule for N(0, 1)).
    public let weights: [Double]

    /// The rule with the given number of points, by Golub–Welsch: the nodes are the
    /// eigenvalues of the Jacobi matrix of He_m (zero diagonal, off-diagonal √k), the
    /// weights the squared first components of its unit eigenvectors.
    public init(points: Int) throws {
        guard points >= 1 else { throw ModelError("Gauss–Hermite quadrature needs at least one point, got \(points)") }
        var jacobi = Tensor.zeros([points, points])
        for k in 1..<max(1, points) {
            jacobi[k - 1, k] = Double(k).squareRoot()
            jacobi[k, k - 1] = Double(k).squareRoot()
        }
        let eigen = try symmetricEigen(jacobi)
        let order = (0..<points).sorted { eigen.values[$0] < eigen.values[$1] }
        let rawNodes = order.map { eigen.values[$0] }
        let rawWeights = order.map { eigen.vectors[0, $0] * eigen.vectors[0, $0] }
        // The rule is symmetric about 0; make it so to the last bit, so that odd integrands
        // at mean 0 give exactly 0 (see `expectation`).
        nodes = (0..<points).map { (rawNodes[$0] - rawNodes[points - 1 - $0]) / 2 }
        let symmetric = (0..<points).map { (rawWeights[$0] + rawWeights[points - 1 - $0]) / 2 }
        let total = symmetric.reduce(0, +)
        weights = symmetric.map { $0 / total }
    }

    /// `E[f(z)]` for `z ~ N(mean, variance)`.
    public func expectation(mean: Double = 0, variance: Double = 1, _ f: (Double) -> Double) -> Double {
        let scale = variance.squareRoot()
        let count = nodes.count
        var total = count % 2 == 1 ? weights[count / 2] * f(mean) : 0
        // Mirror pairs first, innermost last: small terms are added before large ones.
        for i in 0..<(count / 2) {
            total += weights[i] * (f(mean + scale * nodes[i]) + f(mean + scale * nodes[count - 1 - i]))
        }
        return total
    }
}
