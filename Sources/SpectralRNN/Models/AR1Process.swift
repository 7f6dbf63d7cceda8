import Foundation

/// The vector Gaussian AR(1) input process (paper §2.5, MATH.md §2):
/// `x_1 ~ N(0, Γ)`, `x_t = Φ x_{t−1} + ε_t`, `ε_t ~ N(0, Σ)`, with the stationary
/// covariance `Γ = Φ Γ Φᵀ + Σ`, so every `x_t` has the same law.
public struct AR1Process: Sendable {
    /// The transition matrix Φ (dx×dx), spectral radius below 1.
    public let phi: Tensor
    /// The innovation covariance Σ (dx×dx), symmetric positive definite.
    public let sigma: Tensor
    /// The stationary covariance Γ, solving `Γ = Φ Γ Φᵀ + Σ`.
    public let gamma: Tensor
    /// `Q = Σ⁻¹`.
    public let innovationPrecision: Tensor
    /// `Γ⁻¹`.
    public let stationaryPrecision: Tensor
    private let gammaFactor: Tensor
    private let sigmaFactor: Tensor

    /// The dimension dx of one input vector x_t.
    public var dimension: Int { phi.shape[0] }

    /// A process with transition Φ and innovation covariance Σ; throws when Φ is not stable
    /// or Σ is not symmetric positive definite.
    public init(phi: Tensor, sigma: Tensor) throws {
        guard phi.order == 2, phi.shape[0] == phi.shape[1], phi.shape[0] > 0 else {
            throw ModelError("AR(1) process: Φ must be a square matrix, got shape \(phi.shape)")
        }
        let d = phi.shape[0]
        guard sigma.shape == [d, d] else {
            throw ModelError("AR(1) process: Σ must be \(d)×\(d) like Φ, got shape \(sigma.shape)")
        }
        guard phi.isFinite, sigma.isFinite else {
            throw ModelError("AR(1) process: Φ and Σ must be finite (found NaN or ∞)")
        }
        let radius = try spectralRadius(phi)
        guard radius < 1 else {
            throw ModelError(String(format: "AR(1) process: spectral radius of Φ is %.4g; it must be below 1 for a stationary input", radius))
        }
        guard sigma.relativeError(to: sigma.transposed()) < 1e-12 else {
            throw ModelError("AR(1) process: Σ must be symmetric")
        }
        guard let sigmaFactor = try? cholesky(sigma) else {
            throw ModelError("AR(1) process: Σ must be positive definite")
        }
        // Scores multiply x by Σ⁻¹ and products of scores are formed: past this range they
        // overflow (or lose every digit) in float64 long before anything is estimated.
        let scale = (0..<d).map { sigma[$0, $0] }.max()!
        let smallest = (0..<d).map { sigmaFactor[$0, $0] * sigmaFactor[$0, $0] }.min()!
        guard scale <= 1e100, smallest >= 1e-100 else {
            throw ModelError(String(format: "AR(1) process: Σ has diagonal up to %.3g and a Cholesky pivot of %.3g; scores (Σ⁻¹ x) "
                                    + "and their products overflow float64 outside 10⁻¹⁰⁰ … 10¹⁰⁰: rescale the inputs", scale, smallest))
        }
        var gamma = try AR1Process.stationaryCovariance(phi: phi, sigma: sigma)
        gamma = (gamma + gamma.transposed()) * 0.5
        self.phi = phi
        self.sigma = sigma
        self.gamma = gamma
        self.sigmaFactor = sigmaFactor
        self.gammaFactor = try cholesky(gamma)
        self.innovationPrecision = try inverse(sigma)
        self.stationaryPrecision = try inverse(gamma)
    }

    /// Γ = Σ_k Φ^k Σ (Φ^k)ᵀ, the solution of the discrete Lyapunov equation Γ = Φ Γ Φᵀ + Σ
    /// (paper §2.5), by Smith's doubling: Γ ← Γ + A Γ Aᵀ, A ← A² sums 2^k terms after k steps,
    /// O(dx³) each, so ρ(Φ) = 0.999 takes 15 steps (the dense (I − Φ⊗Φ) solve took O(dx⁶)
    /// time and O(dx⁴) memory: 65 GB at dx = 300).
    static func stationaryCovariance(phi: Tensor, sigma: Tensor) throws -> Tensor {
        var gamma = sigma
        var power = phi
        for _ in 0..<100 {
            let added = matmul(matmul(power, gamma), power, transposeB: true)
            gamma = gamma + added
            guard gamma.isFinite else { break }
            if added.frobeniusNorm <= 1e-18 * gamma.frobeniusNorm { return gamma }
            power = matmul(power, power)
        }
        throw ModelError("AR(1) process: the series Σ_k Φ^k Σ Φ^kᵀ for Γ does not converge (spectral radius of Φ too close to 1)")
    }

    /// The same stationary chain read backwards, `x̃_t = x_{n+1−t}`: again a Gaussian AR(1),
    /// with the same Γ, `Φ̃ = Γ Φᵀ Γ⁻¹` (since `Cov(x_t, x_{t+1}) = Γ Φᵀ`) and
    /// `Σ̃ = Γ − Φ̃ Γ Φ̃ᵀ`. A window has the same density read either way, so the reversed
    /// process's window precision is P with its blocks in reverse order: the score at t+1 of
    /// a window is the score at t−1 of the reversed window (walkthrough 05's backward units).
    public func timeReversed() throws -> AR1Process {
        let reversedPhi = matmul(matmul(gamma, phi, transposeB: true), stationaryPrecision)
        var reversedSigma = gamma - matmul(matmul(reversedPhi, gamma), reversedPhi, transposeB: true)
        reversedSigma = (reversedSigma + reversedSigma.transposed()) * 0.5
        return try AR1Process(phi: reversedPhi, sigma: reversedSigma)
    }

    /// The scalar process `x_t = φ x_{t−1} + ε_t`, `ε_t ~ N(0, s²)` — the paper's case.
    public static func scalar(phi: Double, noiseVariance: Double = 1) throws -> AR1Process {
        guard noiseVariance > 0, noiseVariance.isFinite else {
            throw ModelError("AR(1) process: the noise variance must be positive and finite, got \(noiseVariance)")
        }
        return try AR1Process(phi: Tensor(rows: [[phi]]), sigma: Tensor(rows: [[noiseVariance]]))
    }

    /// `count` independent windows (count×n×dx), drawn one after another from `rng` with
    /// `sampleWindow(length:using:)` — fresh test windows for prediction errors.
    public func sampleWindows(_ count: Int, length n: Int, using rng: inout RandomStream) -> Tensor {
        var storage: [Double] = []
        storage.reserveCapacity(count * n * dimension)
        for _ in 0..<count { storage += sampleWindow(length: n, using: &rng).storage }
        return Tensor(shape: [count, n, dimension], storage: storage)
    }

    /// One stationary window `x[n]` as an n×dx tensor (row t is x_{t+1}).
    public func sampleWindow(length n: Int, using rng: inout RandomStream) -> Tensor {
        let d = dimension
        var x = Tensor.zeros([n, d])
        var previous = [Double](repeating: 0, count: d)
        for t in 0..<n {
            let z = rng.gaussians(d)
            let noise = matvec(t == 0 ? gammaFactor : sigmaFactor, z)
            let mean = t == 0 ? [Double](repeating: 0, count: d) : matvec(phi, previous)
            for i in 0..<d { x[t, i] = mean[i] + noise[i] }
            previous = Array(x.storage[(t * d)..<((t + 1) * d)])
        }
        return x
    }

    /// The blocks of the precision matrix P of a window (MATH.md §2): P is block
    /// tridiagonal with `P_11 = Γ⁻¹ + ΦᵀQΦ`, `P_tt = Q + ΦᵀQΦ`, `P_nn = Q`,
    /// `P_{t,t−1} = −QΦ`, `P_{t−1,t} = −ΦᵀQ` (paper's J for scalar φ, Σ = 1).
    public func precisionBlock(row s: Int, column t: Int, length n: Int) -> Tensor {
        precondition(s >= 0 && s < n && t >= 0 && t < n, "precisionBlock: (\(s), \(t)) outside a window of length \(n)")
        let q = innovationPrecision
        if s == t {
            if n == 1 { return stationaryPrecision }
            let phiTQPhi = matmul(matmul(phi, q, transposeA: true), phi)
            if s == 0 { return stationaryPrecision + phiTQPhi }
            if s == n - 1 { return q }
            return q + phiTQPhi
        }
        if s == t + 1 { return -matmul(q, phi) }
        if t == s + 1 { return -matmul(phi, q, transposeA: true) }
        return Tensor.zeros([dimension, dimension])
    }

    /// The dense precision P (n·dx × n·dx) of a window of length n.
    public func precision(length n: Int) -> Tensor {
        let d = dimension
        var p = Tensor.zeros([n * d, n * d])
        for s in 0..<n {
            for t in max(0, s - 1)...min(n - 1, s + 1) {
                let block = precisionBlock(row: s, column: t, length: n)
                for i in 0..<d { for j in 0..<d { p[s * d + i, t * d + j] = block[i, j] } }
            }
        }
        return p
    }

    /// The covariance of a stationary window of length n (n·dx × n·dx, time-major): block
    /// (s, r) is `Cov(x_s, x_r) = Φ^{s−r} Γ` for s ≥ r, and its transpose `Γ (Φᵀ)^{r−s}` above
    /// the diagonal (MATH.md §2). Its inverse is the precision P.
    public func windowCovariance(length n: Int) -> Tensor {
        precondition(n >= 1, "windowCovariance: a window has at least one time step, got \(n)")
        let d = dimension
        var c = Tensor.zeros([n * d, n * d])
        var block = gamma  // Φ^k Γ for k = 0, 1, …
        for k in 0..<n {
            for r in 0..<(n - k) {
                let s = r + k
                for i in 0..<d { for j in 0..<d {
                    c[s * d + i, r * d + j] = block[i, j]
                    c[r * d + j, s * d + i] = block[i, j]
                } }
            }
            block = matmul(phi, block)
        }
        return c
    }

    /// The log-density of a window by its Markov factorization (paper §2.5),
    /// `log N(x₁; 0, Γ) + Σ_{t=2}^{n} log N(x_t; Φ x_{t−1}, Σ)`, each factor
    /// `−½ rᵀC⁻¹r − ½ log det C − (dx/2) log 2π`. The same function as `logDensity`, computed
    /// without the window precision P.
    public func logDensityByFactorization(_ window: Tensor) throws -> Double {
        try checkWindow(window, "log-density")
        return (0..<window.shape[0]).reduce(0.0) { $0 + factor($1, of: window).value }
    }

    /// The factors of the window's density that contain x_t (Lemma 4, eq. 10):
    /// `log p(x_t | x_{t−1}) + log p(x_{t+1} | x_t)`, with `log p(x₁)` for t = 1 and no second
    /// factor at the window's end. As a function of x_t it differs from the log-density by a
    /// constant, so its derivatives in x_t are those of the log-density.
    public func logLocalFactors(_ window: Tensor, at t: Int) throws -> Double {
        try checkWindow(window, "local factors")
        let n = window.shape[0]
        guard t >= 0 && t < n else { throw ModelError("AR(1) local factors: time \(t) outside a window of length \(n)") }
        return factor(t, of: window).value + (t + 1 < n ? factor(t + 1, of: window).value : 0)
    }

    /// A bound on the rounding error of `logDensityByFactorization` (t = nil) or of
    /// `logLocalFactors(at: t)` at this window: `γ_K · Σ|parts|` (Higham §3.1), the parts of each
    /// factor bounded by `½ r̄ᵀ|C⁻¹| r̄` with `r̄ = |x_s| + |Φ||x_{s−1}| ≥ |r|`, `½|log det C|` and
    /// `(dx/2) log 2π`; K counts the roundings of r (dx + 1), of the quadratic form (dx² + 2) and
    /// of the sum of the parts (3 per factor). The inverses C⁻¹ and log-determinants are computed
    /// once per process: their errors are the same at every window (they cancel in finite
    /// differences) and are not included. Entry-wise increasing in |x|, so its value at
    /// `|x| + δ` bounds it on every point within δ of x.
    public func factorizationRoundingBound(_ window: Tensor, at t: Int? = nil) throws -> Double {
        try checkWindow(window, "rounding bound")
        let n = window.shape[0]
        let times: [Int]
        if let t {
            guard t >= 0 && t < n else { throw ModelError("AR(1) rounding bound: time \(t) outside a window of length \(n)") }
            times = t + 1 < n ? [t, t + 1] : [t]
        } else {
            times = Array(0..<n)
        }
        let d = dimension
        let k = 2 * (d + 1) + d * d + 2 + 3 * times.count
        return Rounding.gamma(k) * times.reduce(0.0) { $0 + factor($1, of: window).magnitude }
    }

    private func checkWindow(_ window: Tensor, _ what: String) throws {
        guard window.order == 2, window.shape[1] == dimension, window.shape[0] >= 1 else {
            throw ModelError("AR(1) \(what): a window must be n×\(dimension), got shape \(window.shape)")
        }
    }

    /// Factor s of the Markov factorization, `log N(x_s; 0, Γ)` (s = 0) or
    /// `log N(x_s; Φ x_{s−1}, Σ)`, and the sum of the absolute values of its parts (bounded as
    /// in `factorizationRoundingBound`).
    private func factor(_ s: Int, of window: Tensor) -> (value: Double, magnitude: Double) {
        let d = dimension
        let x = Array(window.storage[(s * d)..<((s + 1) * d)])
        var r = x
        var rBound = x.map(abs)
        let precision = s == 0 ? stationaryPrecision : innovationPrecision
        let choleskyFactor = s == 0 ? gammaFactor : sigmaFactor
        if s > 0 {
            let previous = Array(window.storage[((s - 1) * d)..<(s * d)])
            let mean = matvec(phi, previous)
            for i in 0..<d {
                r[i] -= mean[i]
                for j in 0..<d { rBound[i] += abs(phi[i, j]) * abs(previous[j]) }
            }
        }
        var quadratic = 0.0, quadraticBound = 0.0
        for i in 0..<d {
            for j in 0..<d {
                quadratic += r[i] * precision[i, j] * r[j]
                quadraticBound += rBound[i] * abs(precision[i, j]) * rBound[j]
            }
        }
        // ½ log det C = Σ log L_ii for the Cholesky factor L of C.
        let halfLogDet = (0..<d).reduce(0.0) { $0 + log(choleskyFactor[$1, $1]) }
        let constant = 0.5 * Double(d) * log(2 * Double.pi)
        return (-0.5 * quadratic - halfLogDet - constant, 0.5 * quadraticBound + abs(halfLogDet) + constant)
    }

    /// The log-density of a window, `−½ xᵀPx + ½ log det P − (n·dx/2) log 2π` (paper §2.5,
    /// with the normalization `(2π)^{−n/2}` of errata 1).
    public func logDensity(_ window: Tensor) throws -> Double {
        guard window.order == 2, window.shape[1] == dimension, window.shape[0] >= 1 else {
            throw ModelError("AR(1) log-density: a window must be n×\(dimension), got shape \(window.shape)")
        }
        let n = window.shape[0]
        let p = precision(length: n)
        let x = window.storage
        let px = matvec(p, x)
        let logDet = try logDeterminant(p)
        return -0.5 * dot(x, px) + 0.5 * logDet.logAbs - 0.5 * Double(x.count) * log(2 * Double.pi)
    }
}
