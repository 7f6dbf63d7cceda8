/// Probabilists' Hermite polynomials `He_m`, the score functions of N(0, 1) (paper §2.3).
public enum Hermite {
    /// The coefficients (constant term first) of `S_m` for N(0, 1) built by the paper's
    /// recursion eq. 8: `S_1 = x`, `S_m = S_{m−1}·x − d/dx S_{m−1}` (since `−∇ log p = x`).
    public static func scoreByRecursion(order m: Int) -> [Double] {
        var s: [Double] = [1]  // S_0 = 1
        for _ in 0..<m {
            var next = [Double](repeating: 0, count: s.count + 1)
            for (i, c) in s.enumerated() { next[i + 1] += c }            // S·x
            for i in 1..<max(1, s.count) { next[i - 1] -= Double(i) * s[i] }  // − S′
            s = next
        }
        return s
    }

    /// The coefficients of `He_m` from the closed form
    /// `He_m(x) = m! Σ_{k ≤ m/2} (−1)^k x^{m−2k} / (k! (m−2k)! 2^k)`.
    public static func closedForm(order m: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m + 1)
        for k in 0...(m / 2) {
            let sign: Double = k % 2 == 0 ? 1 : -1
            c[m - 2 * k] = sign * factorial(m) / (factorial(k) * factorial(m - 2 * k) * Double(1 << k))
        }
        return c
    }

    /// Evaluates a polynomial given by its coefficients (constant term first).
    public static func evaluate(_ coefficients: [Double], at x: Double) -> Double {
        coefficients.reversed().reduce(0) { $0 * x + $1 }
    }

    /// `n!` as a Double.
    public static func factorial(_ n: Int) -> Double {
        n < 2 ? 1 : (2...n).reduce(1.0) { $0 * Double($1) }
    }
}

