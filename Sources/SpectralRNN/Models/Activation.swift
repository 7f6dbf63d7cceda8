import Foundation

/// An elementwise activation σ and its derivatives (paper §2.2, §3.1).
public enum Activation: Sendable, Equatable, CustomStringConvertible {
    /// σ(z) = 1/(1 + e^{−z}).
    case sigmoid
    /// σ(z) = tanh z.
    case tanh
    /// σ(z) = Σ_i c_i z^i with the given coefficients (constant term first).
    case polynomial([Double])

    /// σ⁽ᵏ⁾(z), the k-th derivative (k = 0 is σ itself); sigmoid and tanh up to k = 3.
    public func derivative(_ k: Int, at z: Double) -> Double {
        switch self {
        case .sigmoid:
            let s = 1 / (1 + exp(-z))
            switch k {
            case 0: return s
            case 1: return s * (1 - s)
            case 2: return s * (1 - s) * (1 - 2 * s)
            case 3: return s * (1 - s) * (1 - 6 * s + 6 * s * s)
            default: preconditionFailure("Activation.sigmoid: derivative of order \(k) not implemented")
            }
        case .tanh:
            let t = Foundation.tanh(z)
            switch k {
            case 0: return t
            case 1: return 1 - t * t
            case 2: return -2 * t * (1 - t * t)
            case 3: return (1 - t * t) * (6 * t * t - 2)
            default: preconditionFailure("Activation.tanh: derivative of order \(k) not implemented")
            }
        case .polynomial(let c):
            // Horner on Σ_{i ≥ k} c_i · i!/(i−k)! · z^{i−k}.
            var total = 0.0
            for i in stride(from: c.count - 1, through: k, by: -1) {
                var falling = 1.0
                for j in 0..<k { falling *= Double(i - j) }
                total = total * z + c[i] * falling
            }
            return total
        }
    }

    /// σ(z).
    public func callAsFunction(_ z: Double) -> Double { derivative(0, at: z) }

    public var description: String {
        switch self {
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .polynomial(let c):
            let terms = c.enumerated().filter { $0.element != 0 }.map { i, ci in
                i == 0 ? formatNumber(ci) : "\(formatNumber(ci))·z" + (i > 1 ? "^\(i)" : "")
            }
            return terms.isEmpty ? "0" : terms.joined(separator: " + ")
        }
    }
}
