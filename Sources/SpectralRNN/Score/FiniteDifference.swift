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

/// A number `Σ_S c_S ε_S` over the subsets S of m nilpotent units (`ε_k² = 0`, `ε_S = Π_{k∈S} ε_k`):
/// evaluating a polynomial f at `x + Σ_k ε_k v_k` puts the mixed derivative
/// `∂_{v_1} ⋯ ∂_{v_m} f(x)` in the coefficient of `ε_1 ⋯ ε_m`, exactly up to rounding — where a
/// finite-difference stencil is exact only for low degrees (the cubic IO-RNN's `y_t` has degree 9
/// in `x_{t−1}`). Products are subset convolutions (3^m multiply–adds).
public struct Multidual: Sendable {
    /// `c_S` at index `S` (a bit mask of the units).
    public var coefficients: [Double]

    /// The constant c (m units).
    public init(_ c: Double, units m: Int) {
        coefficients = [Double](repeating: 0, count: 1 << m)
        coefficients[0] = c
    }

    /// `c + ε_k` when `unit` is k, else c.
    public init(_ c: Double, units m: Int, unit k: Int?) {
        self.init(c, units: m)
        if let k { coefficients[1 << k] += 1 }
    }

    /// The coefficient of `ε_1 ⋯ ε_m`: the mixed derivative.
    public var derivative: Double { coefficients[coefficients.count - 1] }
    public var value: Double { coefficients[0] }

    public static func + (a: Multidual, b: Multidual) -> Multidual {
        var r = a
        for i in 0..<r.coefficients.count { r.coefficients[i] += b.coefficients[i] }
        return r
    }

    public static func * (a: Double, b: Multidual) -> Multidual {
        var r = b
        for i in 0..<r.coefficients.count { r.coefficients[i] *= a }
        return r
    }

    public static func * (a: Multidual, b: Multidual) -> Multidual {
        let n = a.coefficients.count
        var r = [Double](repeating: 0, count: n)
        for s in 0..<n {
            // Sum over the submasks p of s: c_p · d_{s∖p}.
            var p = s
            while true {
                r[s] += a.coefficients[p] * b.coefficients[s ^ p]
                if p == 0 { break }
                p = (p - 1) & s
            }
        }
        var out = a
        out.coefficients = r
        return out
    }
}

extension IORNN {
    /// The exact mixed derivative `∂_{x_{τ1}[i1]} ⋯ ∂_{x_{τm}[im]} E[y_t | x[n]]` (dy values) of the
    /// noiseless output at time t (0-based) of one window x (n×dx), by the recurrence
    /// `h_t = σ(A1 x_t + U h_{t−1})` run in `Multidual` arithmetic — a second implementation of the
    /// recurrence, for derivative identities (it agrees with the simulator on the values).
    public func exactDerivative(window x: Tensor, at t: Int, slots: [(time: Int, index: Int)]) -> [Double] {
        let m = slots.count, dx = inputDimension, dh = hiddenDimension, dy = outputDimension
        precondition(x.shape.count == 2 && x.shape[1] == dx && t >= 0 && t < x.shape[0], "exactDerivative: bad window or time")
        var h = [Multidual](repeating: Multidual(0, units: m), count: dh)
        for step in 0...t {
            let inputs = (0..<dx).map { i -> Multidual in
                var v = Multidual(x[step, i], units: m)
                for (k, slot) in slots.enumerated() where slot.time == step && slot.index == i { v.coefficients[1 << k] += 1 }
                return v
            }
            var next: [Multidual] = []
            for j in 0..<dh {
                var z = Multidual(0, units: m)
                for i in 0..<dx { z = z + a1[j, i] * inputs[i] }
                for k in 0..<dh { z = z + u[j, k] * h[k] }
                // σ(z) by Horner.
                var s = Multidual(coefficients[degree], units: m)
                for i in stride(from: degree - 1, through: 0, by: -1) { s = s * z + Multidual(coefficients[i], units: m) }
                next.append(s)
            }
            h = next
        }
        return (0..<dy).map { o in (0..<dh).reduce(0.0) { $0 + a2[$1, o] * h[$1].derivative } }
    }

    /// `exactDerivative` for every index combination: the dy×dx^m tensor `∂_{x_{τ1}} ⋯ ∂_{x_{τm}} y_t`.
    public func exactDerivative(window x: Tensor, at t: Int, times: [Int]) -> Tensor {
        let dx = inputDimension, m = times.count
        var result = Tensor.zeros([outputDimension] + Array(repeating: dx, count: m))
        let stride = result.count / outputDimension
        var index = [Int](repeating: 0, count: m)
        for position in 0..<stride {
            let d = exactDerivative(window: x, at: t, slots: (0..<m).map { (times[$0], index[$0]) })
            for o in 0..<outputDimension { result.storage[o * stride + position] = d[o] }
            Tensor.advance(&index, in: Array(repeating: dx, count: m))
        }
        return result
    }
}
