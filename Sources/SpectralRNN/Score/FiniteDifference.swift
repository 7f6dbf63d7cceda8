import Foundation

/// Mixed partial derivatives of a function of a window by central finite differences, for
/// checking derivative identities such as `∇²_{x_t} y_t = 2 Σ_j b_j ⊗ a_j ⊗ a_j` (paper
/// Theorem 5) on a fixed input, without sampling.
public enum FiniteDifference {
    /// `∂_{x_{τ1}} ⋯ ∂_{x_{τm}} f(x)` as a (dim f) × dx^m tensor, by the 2^m-point central
    /// stencil `Σ_{s ∈ {±1}^m} (Π s_k) f(x + h Σ_k s_k e_{τk, i_k}) / (2h)^m`.
    ///
    /// The stencil is exact (up to rounding) when f has degree at most 2 in each coordinate
    /// direction it is differentiated along, jointly at most m + 1 in the step — e.g. a
    /// quadratic in x_t for `∂²_{x_t}`, or, for `∂_{x_t}∂²_{x_{t−1}}`, a function quadratic in
    /// x_t whose x_t-derivative is quadratic in x_{t−1}. The rounding error is then at most
    /// about `2^m · ε · max|f| / (2h)^m`: `roundingBound` returns 8 times that.
    public static func mixedDerivative(of f: (Tensor) throws -> [Double], at x: Tensor, times: [Int],
                                       step h: Double) rethrows -> (derivative: Tensor, roundingBound: Double) {
        let dx = x.shape[1]
        let m = times.count
        let base = try f(x)
        var result = Tensor.zeros([base.count] + Array(repeating: dx, count: m))
        var largest = base.map(abs).max() ?? 0
        let slots = Array(repeating: dx, count: m)
        var index = [Int](repeating: 0, count: m)
        let stride = result.count / base.count
        for position in 0..<stride {
            var accumulated = [Double](repeating: 0, count: base.count)
            for signs in 0..<(1 << m) {
                var shifted = x
                var sign = 1.0
                for k in 0..<m {
                    let s: Double = signs & (1 << k) != 0 ? -1 : 1
                    sign *= s
                    shifted[times[k], index[k]] += s * h
                }
                let value = try f(shifted)
                largest = max(largest, value.map(abs).max() ?? 0)
                for i in 0..<value.count { accumulated[i] += sign * value[i] }
            }
            let scale = 1 / pow(2 * h, Double(m))
            for i in 0..<base.count { result.storage[i * stride + position] = accumulated[i] * scale }
            Tensor.advance(&index, in: slots)
        }
        let bound = 8 * Double(1 << m) * Double.ulpOfOne * largest / pow(2 * h, Double(m))
        return (result, bound)
    }
}
