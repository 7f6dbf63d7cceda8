import Foundation

/// `∫_{R^n} exp(−½ xᵀJx) dx` for a symmetric tridiagonal J (diagonal d, off-diagonal e), by
/// the trapezoid rule on the grid `−L, −L + h, …, L` in each coordinate, integrating the chain
/// one coordinate at a time (a transfer-matrix sum):
/// `f_n(z) = e^{−d_n z²/2}`, `f_t(z) = e^{−d_t z²/2} Σ_k h e^{−e_t z z_k} f_{t+1}(z_k)`, `I = Σ_k h f_1(z_k)`.
///
/// It uses neither det J nor the Gaussian normalization, so it checks the paper's §2.5
/// constant independently (errata 1). For a positive definite J the trapezoid rule on a
/// Gaussian integrand converges faster than any power of h (its error is of order
/// `exp(−2π²s²/h²)`, s² = min over nonzero integer vectors k of kᵀJ⁻¹k ≥ 1/λ_max(J)), the
/// truncation error is of order `exp(−L²/(2λ))`, λ the largest eigenvalue of J⁻¹, and every
/// term is positive, so the rounding error is at most `γ_{n(M+2)}` relative (M grid points).
/// Cost n·M².
public func gaussianChainIntegral(diagonal d: [Double], offDiagonal e: [Double], halfWidth: Double, step: Double) throws -> Double {
    let n = d.count
    guard n >= 1, e.count == n - 1, halfWidth > 0, step > 0, halfWidth / step <= 1e5,
          d.allSatisfy({ $0 > 0 && $0.isFinite }), e.allSatisfy(\.isFinite) else {
        throw ModelError("chain integral: need n ≥ 1 positive diagonal entries, n − 1 off-diagonal ones, and 0 < step, at most 10⁵ steps per half-width")
    }
    let steps = Int((halfWidth / step).rounded())
    let grid = (-steps...steps).map { Double($0) * step }
    let m = grid.count
    // exp(−e z z_k) may exceed the double range for wide grids: refuse rather than overflow.
    guard e.map({ abs($0) * halfWidth * halfWidth }).max() ?? 0 < 700 else {
        throw ModelError("chain integral: |e|·L² ≥ 700 would overflow; use a smaller half-width")
    }
    var f = grid.map { exp(-0.5 * d[n - 1] * $0 * $0) }
    if n >= 2 {
        for t in stride(from: n - 2, through: 0, by: -1) {
            var next = [Double](repeating: 0, count: m)
            for (i, z) in grid.enumerated() {
                var sum = 0.0
                for k in 0..<m { sum += exp(-e[t] * z * grid[k]) * f[k] }
                next[i] = exp(-0.5 * d[t] * z * z) * step * sum
            }
            f = next
        }
    }
    return step * f.reduce(0, +)
}
