// An empirical probe of the Lipschitz constant of a matrix-valued function of a sequence
// (paper Definition 2, §3.5): the largest ratio ‖Φ(x[n]) − Φ(x̃[n])‖₂ / d(x[n], x̃[n]) found
// over pairs of sequences whose steps lie in the ball ‖x_j‖ ≤ r. Every value it reports is
// the ratio of one actual pair, so it is a lower bound on the true constant: a bound c below
// it is refuted.

import Foundation

/// What a probe found: the largest ratio over random pairs, over guided pairs, and how many
/// pairs it evaluated.
public struct LipschitzProbeResult: Sendable, Equatable {
    public let randomPairs: Double
    public let guidedPairs: Double
    public let pairs: Int
    public init(randomPairs: Double, guidedPairs: Double, pairs: Int) {
        self.randomPairs = randomPairs
        self.guidedPairs = guidedPairs
        self.pairs = pairs
    }
    /// The largest ratio found.
    public var largest: Double { max(randomPairs, guidedPairs) }
}

public enum LipschitzProbe {
    /// Puts every step (row) of the n×dx window `x` inside the ball of `radius`, scaling a row down when it is outside.
    public static func projected(_ x: Tensor, radius: Double) -> Tensor {
        let n = x.shape[0], d = x.shape[1]
        var out = x
        for i in 0..<n {
            var s = 0.0
            for j in 0..<d { s += x[i, j] * x[i, j] }
            let norm = s.squareRoot()
            if norm > radius { for j in 0..<d { out[i, j] *= radius / norm } }
        }
        return out
    }

    /// Definition 2 with the Euclidean metric `‖x[n] − x̃[n]‖₂` on the stacked sequence. For each
    /// start (an n×dx window in the ball):
    /// - random pairs: the start against a random nearby window (steps of relative size 10⁻³)
    ///   and against the next start;
    /// - a guided pair: the Jacobian J of Φ at the start by central differences, then
    ///   `iterations` rounds of the power method for the operator norm of δ ↦ Σ_k δ_k J_k
    ///   (Euclidean → spectral): (a, b) the top singular pair of Σ_k δ_k J_k, then δ_k = aᵀ J_k b,
    ///   normalized; the pair is the start and the start moved by 10⁻³·r along δ (projected
    ///   into the ball).
    public static func euclidean(_ phi: (Tensor) throws -> Tensor, starts: [Tensor], radius r: Double = 1,
                                 iterations: Int = 8, seed: UInt64, purpose: String) throws -> LipschitzProbeResult {
        precondition(!starts.isEmpty && r > 0 && iterations >= 1, "LipschitzProbe.euclidean: need starts, r > 0 and iterations ≥ 1")
        var rng = RandomStream(seed: seed, purpose: purpose + " euclidean probe")
        var random = 0.0, guided = 0.0, pairs = 0
        func ratio(_ x: Tensor, _ y: Tensor) throws -> Double {
            let distance = (x - y).frobeniusNorm
            guard distance > 0 else { return 0 }
            pairs += 1
            return try spectralNorm(try phi(x) - phi(y)) / distance
        }
        let step = 1e-3 * r
        for (s, x0) in starts.enumerated() {
            let x = projected(x0, radius: r)
            let n = x.shape[0], d = x.shape[1]
            let noise = rng.gaussianTensor([n, d])
            let near = projected(x + noise * (step / noise.frobeniusNorm * Double(n).squareRoot()), radius: r)
            random = max(random, try ratio(x, near))
            if starts.count > 1 { random = max(random, try ratio(x, projected(starts[(s + 1) % starts.count], radius: r))) }
            // The Jacobian, one n·dx list of d1×d2 matrices.
            let h = 1e-5 * r
            var jacobian: [Tensor] = []
            for k in 0..<(n * d) {
                var plus = x, minus = x
                plus.storage[k] += h
                minus.storage[k] -= h
                jacobian.append((try phi(plus) - phi(minus)) / (2 * h))
            }
            var delta = rng.gaussians(n * d)
            for _ in 0..<iterations {
                let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 0 else { break }
                var m = Tensor.zeros(jacobian[0].shape)
                for k in 0..<(n * d) { m += jacobian[k] * (delta[k] / norm) }
                let decomposition = try svd(m)
                let a = decomposition.u.column(0), b = decomposition.vt.row(0)
                delta = jacobian.map { jk in
                    var v = 0.0
                    for i in 0..<a.count { for j in 0..<b.count { v += a[i] * jk[i, j] * b[j] } }
                    return v
                }
            }
            let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 {
                let direction = Tensor(shape: [n, d], storage: delta.map { $0 / norm })
                guided = max(guided, try ratio(x, projected(x + direction * step, radius: r)))
                guided = max(guided, try ratio(x, projected(x - direction * step, radius: r)))
            }
        }
        return LipschitzProbeResult(randomPairs: random, guidedPairs: guided, pairs: pairs)
    }

    /// The Hamming metric (pairs that differ in one step, distance 1; the metric of Lemma 10 and
    /// of Theorem 9's form c√n): the largest `‖Φ(x[n]) − Φ(x̃[n])‖₂` over pairs whose one
    /// differing step k is, for each start and each k, replaced by `replacements` candidates
    /// in the ball: −x_k (antipodal), a unit vector orthogonal to x_k scaled to r, and random
    /// points on the sphere of radius r ("random"); the guided pair uses the replacement among
    /// them that moved Φ most and refines it by a few rounds of ascent on the sphere.
    public static func hamming(_ phi: (Tensor) throws -> Tensor, starts: [Tensor], radius r: Double = 1,
                               replacements: Int = 4, seed: UInt64, purpose: String) throws -> LipschitzProbeResult {
        precondition(!starts.isEmpty && r > 0 && replacements >= 1, "LipschitzProbe.hamming: need starts, r > 0 and replacements ≥ 1")
        var rng = RandomStream(seed: seed, purpose: purpose + " hamming probe")
        var random = 0.0, guided = 0.0, pairs = 0
        for x0 in starts {
            let x = projected(x0, radius: r)
            let base = try phi(x)
            let n = x.shape[0], d = x.shape[1]
            func change(_ k: Int, _ v: [Double]) throws -> Double {
                var y = x
                for j in 0..<d { y[k, j] = v[j] }
                pairs += 1
                return try spectralNorm(try phi(y) - base)
            }
            func onSphere(_ v: [Double]) -> [Double] {
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return norm > 0 ? v.map { $0 * r / norm } : v
            }
            for k in 0..<n {
                let xk = x.row(k)
                var best = (value: 0.0, point: xk)
                for _ in 0..<replacements {
                    let v = onSphere(rng.gaussians(d))
                    let value = try change(k, v)
                    random = max(random, value)
                    if value > best.value { best = (value, v) }
                }
                var structured: [[Double]] = [xk.map { -$0 }]
                if d > 1 {
                    // A direction orthogonal to x_k: a random vector minus its projection on x_k.
                    let g = rng.gaussians(d)
                    let xx = dot(xk, xk)
                    let orthogonal = xx > 0 ? zip(g, xk).map { $0 - dot(g, xk) / xx * $1 } : g
                    structured.append(onSphere(orthogonal))
                }
                for v in structured {
                    let value = try change(k, v)
                    guided = max(guided, value)
                    if value > best.value { best = (value, v) }
                }
                // Ascent on the sphere: random perturbations of the best replacement, kept when they help.
                var scale = 0.3 * r
                for _ in 0..<6 {
                    let trial = onSphere(zip(best.point, rng.gaussians(d)).map { $0 + scale * $1 })
                    let value = try change(k, trial)
                    if value > best.value { best = (value, trial) } else { scale /= 2 }
                }
                guided = max(guided, best.value)
            }
        }
        return LipschitzProbeResult(randomPairs: random, guidedPairs: guided, pairs: pairs)
    }
}
