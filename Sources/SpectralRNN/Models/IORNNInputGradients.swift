// The exact Jacobians ∇_{x_i} y_t of an IO-RNN's output with respect to its inputs — what
// Lemma 10 (paper Appendix B.3) bounds.

import Foundation

extension IORNN {
    /// The preactivations `z_t = A1 x_t + U h_{t−1}` (n×dh, h_0 = 0) of one n×dx window, so that
    /// `h_t = σ(z_t)`: what §3.5's assumptions keep in [−1, 1].
    public func preactivations(for x: Tensor) throws -> Tensor {
        let h = try states(for: x)
        let n = x.shape[0], dx = inputDimension, dh = hiddenDimension
        return Tensor(shape: [n, dh]) { index in
            let (t, j) = (index[0], index[1])
            var s = 0.0
            for i in 0..<dx { s += a1[j, i] * x[t, i] }
            if t > 0 { for k in 0..<dh { s += u[j, k] * h[t - 1, k] } }
            return s
        }
    }

    /// `∇_{x_i} y_t` (dy×dx, the Jacobian of the noiseless output at time t in the input at time
    /// i) for every i = 0…t (0-based) of one n×dx window, by the chain rule through the
    /// recurrence: with `z_s = A1 x_s + U h_{s−1}` and `D_s = diag(σ′(z_s))`,
    /// `∂h_t/∂x_i = D_t U D_{t−1} U ⋯ D_{i+1} U D_i A1` and `∇_{x_i} y_t = A2ᵀ ∂h_t/∂x_i`
    /// (zero for i > t: h_t does not see later inputs).
    public func inputGradients(window x: Tensor, at t: Int) throws -> [Tensor] {
        let dx = inputDimension, dh = hiddenDimension, dy = outputDimension
        let n = x.shape[0]
        guard t >= 0, t < n else { throw ModelError("IO-RNN: the time t = \(t) is outside the window of \(n) steps") }
        let z = try preactivations(for: x)
        // σ′(z_s) for s = 0…t.
        let derivatives = (0...t).map { s in (0..<dh).map { j in activation.derivative(1, at: z[s, j]) } }
        // G = A2ᵀ D_t U D_{t−1} ⋯ U (dy×dh), built from s = t down to 0.
        var g = Tensor(shape: [dy, dh]) { index in a2[index[1], index[0]] }
        var gradients = [Tensor](repeating: Tensor.zeros([dy, dx]), count: t + 1)
        for s in stride(from: t, through: 0, by: -1) {
            for o in 0..<dy { for j in 0..<dh { g[o, j] *= derivatives[s][j] } }
            gradients[s] = matmul(g, a1)
            if s > 0 { g = matmul(g, u) }
        }
        return gradients
    }
}
