// Measured norms of one window's inputs and scores, for the assumptions of paper §3.5 and the
// remark after Lemma 8 (MATH.md §8).

import Foundation

/// The largest norms over the steps of one window x[n].
public struct WindowNorms: Sendable, Equatable {
    /// `max_i ‖x_i‖₂`.
    public let input: Double
    /// `max_i ‖S₂(x[n], i)‖₂`, S₂ = u_i u_iᵀ − P_ii (spectral norm of a symmetric dx×dx matrix).
    public let secondOrderScore: Double
    /// `max_i 2 ‖P_ii‖₂ ‖u_i‖₂`: the spectral norm of the tensor ∇_{x_i} S₂ = S₂ ⊗ S₁ − S₃
    /// (entries `P_ac u_b + u_a P_bc`) when P_ii is a multiple of the identity, an upper bound
    /// on it otherwise.
    public let scoreGradient: Double

    /// The norms of window x (n×dx) under the precision of its process.
    public init(window x: Tensor, precision: WindowPrecision) throws {
        let n = x.shape[0], d = x.shape[1]
        var input = 0.0, s2 = 0.0, gradient = 0.0
        for i in 0..<n {
            input = max(input, Tensor(vector: x.row(i)).frobeniusNorm)
            let u = precision.u(x, at: i)
            let uu = dot(u, u)
            let block = precision.block(i, i)
            let p = block[0, 0]
            let isotropic = (0..<d).allSatisfy { a in (0..<d).allSatisfy { b in block[a, b] == (a == b ? p : 0) } }
            let blockNorm: Double
            if isotropic {
                // Eigenvalues of u uᵀ − p I: ‖u‖² − p (along u) and, when dx > 1, −p.
                s2 = max(s2, d > 1 ? max(abs(uu - p), abs(p)) : abs(uu - p))
                blockNorm = abs(p)
            } else {
                let s = Tensor(shape: [d, d]) { index in u[index[0]] * u[index[1]] - block[index[0], index[1]] }
                s2 = max(s2, try symmetricEigen(s).values.map(abs).max() ?? 0)
                blockNorm = try spectralNorm(block)
            }
            gradient = max(gradient, 2 * blockNorm * uu.squareRoot())
        }
        self.input = input
        self.secondOrderScore = s2
        self.scoreGradient = gradient
    }
}
