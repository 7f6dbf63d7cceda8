// Tests of the Gaussian score functions (Score/GaussianScore.swift, WindowPrecision.swift,
// Hermite.swift) against MATH.md §2: finite differences of the log-density, the paper's
// recursion eq. 8 done numerically, the closed form over partial matchings, explicit low
// orders, contractions, and the one-dimensional Hermite polynomials.
//
// Tolerances. Every comparison here is an exact identity, so the tolerance is a bound on
// rounding. We use the classical bound (Higham, "Accuracy and Stability", §3.1): a value
// computed as a sum of products, where no term passes through more than K roundings, is
// within γ_K · B of the exact value, γ_K = K u / (1 − K u), u = 2⁻⁵³, and B the sum of the
// absolute values of the terms. For a score, the terms are those of the matching sum
// (MATH.md §2); B is that sum with |P_ab| for each pair and (|P||x|)_c ≥ |u_c| for each
// single slot (`termBound` below).

import Foundation
import Testing
@testable import SpectralRNN

// MARK: - Helpers


/// Roundings on any path of the library's order-m score of dimension d (the library's count,
/// `GaussianScore.roundings`).
private func scoreRoundings(order m: Int, dimension d: Int) -> Int { GaussianScore.roundings(order: m, dimension: d) }

/// The sum over all partial matchings of `slots`: each matched pair (a, b) contributes
/// `pair(a, b)`, each unmatched slot c contributes `single(c)` (MATH.md §2, written here
/// independently of the library).
private func matchingSum(_ slots: [Int], pair: (Int, Int) -> Double, single: (Int) -> Double) -> Double {
    guard let first = slots.first else { return 1 }
    let rest = Array(slots.dropFirst())
    var total = single(first) * matchingSum(rest, pair: pair, single: single)
    for k in rest.indices {
        var remaining = rest
        remaining.remove(at: k)
        total += pair(first, rest[k]) * matchingSum(remaining, pair: pair, single: single)
    }
    return total
}

/// `(|P| |x|)_t`, an entry-wise upper bound on `|u_t|`, from the dense precision.
private func absoluteU(_ x: Tensor, at t: Int, precision p: WindowPrecision) -> [Double] {
    let d = p.dimension
    return (0..<d).map { i in
        var total = 0.0
        for s in 0..<p.length { for j in 0..<d { total += abs(p.entry(t, i, s, j)) * abs(x[s, j]) } }
        return total
    }
}

/// The entry-wise sum of the absolute values of the terms of `S_{τ1…τm}(x)`: the scale its
/// rounding errors are measured against. The suites use the library's
/// `GaussianScore.absoluteTermSum` (shared with the walkthroughs); this independent version,
/// a direct sum over matchings, checks it.
private func termBound(window x: Tensor, times: [Int], precision p: WindowPrecision) -> Tensor {
    GaussianScore.absoluteTermSum(window: x, times: times, precision: p)
}

/// The matching sum of absolute terms written out here, independently of the library.
private func independentTermBound(window x: Tensor, times: [Int], precision p: WindowPrecision) -> Tensor {
    let uAbs = Dictionary(uniqueKeysWithValues: Set(times).map { ($0, absoluteU(x, at: $0, precision: p)) })
    return Tensor(shape: Array(repeating: p.dimension, count: times.count)) { index in
        matchingSum(Array(times.indices),
                    pair: { a, b in abs(p.entry(times[a], index[a], times[b], index[b])) },
                    single: { c in uAbs[times[c]]![index[c]] })
    }
}


/// The window with every entry rounded to a multiple of 2⁻²⁰, so that `x ± h` is exact for
/// the dyadic steps h used below (the finite-difference step is then exactly h).
private func dyadic(_ x: Tensor) -> Tensor {
    Tensor(shape: x.shape, storage: x.storage.map { ($0 * 0x1p20).rounded() * 0x1p-20 })
}



/// Checks one step of the paper's recursion eq. 8 numerically, for the slot times `times`:
///
///     S_{τ1…τm} = S_{τ1…τm−1} ⊗ u_{τm} − ∂_{x_{τm}} S_{τ1…τm−1},
///
/// where the derivative (new index in the last slot) is a Richardson-extrapolated central
/// difference of the library's score of order m − 1, with steps h and h/2.
///
/// Truncation: `S_{τ1…τm−1}` is a polynomial of degree m − 1 in each coordinate of x. A central
/// difference of a polynomial of degree ≤ 3 is `f′ + h²f‴/6` exactly (the h⁴ term needs f⁽⁵⁾), so
/// `(4 D_{h/2} − D_h)/3` is exactly f′: no truncation error for m ≤ 4.
/// Rounding: each score evaluation is within γ_K·B_{m−1} (B evaluated at |x| + h, which bounds
/// every shifted point); D_h is then within γ_K B_{m−1}/h, D_{h/2} within 2γ_K B_{m−1}/h and the
/// extrapolation within 3γ_K B_{m−1}/h. The product S_{m−1}·u_j and the library's S_m each add
/// at most γ_K·B_m (every term of S_{m−1}[·]·ũ_j is a term of B_m), and the final arithmetic a
/// few roundings of the derivative's size. Hence the entry-wise tolerance
/// `γ_{K+4} · (3 B_m + 3 B_{m−1}/h + |∂S|)`.
private func checkRecursionStep(times: [Int], window x: Tensor, precision p: WindowPrecision, step h: Double,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    precondition(times.count <= 4, "Richardson extrapolation is exact only up to degree 3")
    let d = p.dimension
    let m = times.count
    let previousTimes = Array(times.dropLast())
    let tau = times[m - 1]
    let library = GaussianScore.mixed(window: x, times: times, precision: p)
    let previous = GaussianScore.mixed(window: x, times: previousTimes, precision: p)
    let u = GaussianScore.atTime(tau, order: 1, window: x, precision: p).storage

    func previousScore(shiftedAt j: Int, by step: Double) -> Tensor {
        var y = x
        y[tau, j] += step
        return GaussianScore.mixed(window: y, times: previousTimes, precision: p)
    }
    func centralDifference(_ j: Int, _ step: Double) -> Tensor {
        (previousScore(shiftedAt: j, by: step) - previousScore(shiftedAt: j, by: -step)) / (2 * step)
    }

    var predicted = Tensor.zeros(library.shape)
    var derivativeSize = Tensor.zeros(library.shape)
    for j in 0..<d {
        let derivative = (4 * centralDifference(j, h / 2) - centralDifference(j, h)) / 3
        for prefix in 0..<previous.count {
            predicted.storage[prefix * d + j] = previous.storage[prefix] * u[j] - derivative.storage[prefix]
            derivativeSize.storage[prefix * d + j] = abs(derivative.storage[prefix])
        }
    }

    let widened = Tensor(shape: x.shape, storage: x.storage.map { abs($0) + h })
    let boundNow = termBound(window: widened, times: times, precision: p)
    let boundBefore = termBound(window: widened, times: previousTimes, precision: p)
    let g = gamma(scoreRoundings(order: m, dimension: d) + 4)
    var tolerance = Tensor.zeros(library.shape)
    for prefix in 0..<previous.count {
        for j in 0..<d {
            let k = prefix * d + j
            tolerance.storage[k] = g * (3 * boundNow.storage[k] + 3 * boundBefore.storage[prefix] / h + derivativeSize.storage[k])
        }
    }
    let worst = worstRatio(library, predicted, scale: tolerance)
    #expect(worst <= 1, "times \(times): worst |S − (S⊗u − ∇S)| is \(worst) × the rounding bound",
            sourceLocation: sourceLocation)
}

// MARK: - Suite

@Suite struct ScoreTests {

    // MARK: Finite differences of the log-density

    /// S₁(x[n], t) = −∇_{x_t} log p(x[n]) for every t (paper eq. 11), by central differences.
    @Test func firstOrderScoreIsMinusGradientOfLogDensity() throws {
        let process = try fixedProcess()
        let n = 4, d = 2
        let p = process.windowPrecision(length: n)
        var rng = RandomStream(seed: 20160303, purpose: "score tests: window for finite differences")
        let x = dyadic(process.sampleWindow(length: n, using: &rng))

        // log p is quadratic, so the central difference (f(x+h) − f(x−h))/2h is exactly ∂f at
        // any h, and x ± h is exact (dyadic x, h = 2⁻⁴). What is left is the rounding of f:
        // f = −½ xᵀ(Px) + ½ log det P − (N/2) log 2π with N = n·dx; the matrix–vector product
        // and the dot product are within γ_{2N} |x|ᵀ|P||x|, the two final additions within
        // 2u·M, and log det P is the same number in both evaluations (same matrix), so
        // |f̂ − f| ≤ δ = γ_{2N+2} · M, M = ½|x|ᵀ|P||x| + ½|log det P| + (N/2) log 2π.
        // The difference quotient is then within (δ₊ + δ₋)/2h.
        let h = 0x1p-4
        let dense = process.precision(length: n)
        let logDet = try logDeterminant(dense).logAbs
        let bigN = n * d
        func roundingOfLogDensity(_ y: Tensor) -> Double {
            var quadratic = 0.0
            for a in 0..<bigN { for b in 0..<bigN { quadratic += abs(y.storage[a]) * abs(dense[a, b]) * abs(y.storage[b]) } }
            let m = 0.5 * quadratic + 0.5 * abs(logDet) + 0.5 * Double(bigN) * log(2 * Double.pi)
            return gamma(2 * bigN + 2) * m
        }
        for t in 0..<n {
            let score = GaussianScore.atTime(t, order: 1, window: x, precision: p)
            #expect(score.shape == [d])
            for i in 0..<d {
                var plus = x, minus = x
                plus[t, i] += h
                minus[t, i] -= h
                let gradient = (try process.logDensity(plus) - process.logDensity(minus)) / (2 * h)
                let tolerance = (roundingOfLogDensity(plus) + roundingOfLogDensity(minus)) / (2 * h)
                #expect(abs(score[i] + gradient) <= tolerance,
                        "t = \(t), i = \(i): S₁ = \(score[i]), −∂ log p = \(-gradient), tolerance \(tolerance)")
            }
        }
    }

    /// S_m(x[n], t) for m = 2…4 at interior times follows eq. 8, `S_m = S_{m−1} ⊗ S₁ − ∇_{x_t} S_{m−1}`,
    /// with the gradient taken numerically (see `checkRecursionStep` for the tolerance).
    @Test(arguments: [1, 2])
    func pureScoresFollowTheRecursionNumerically(t: Int) throws {
        let process = try fixedProcess()
        let p = process.windowPrecision(length: 4)
        var rng = RandomStream(seed: 20160303, purpose: "score tests: window for the recursion", index: UInt64(t))
        let x = dyadic(process.sampleWindow(length: 4, using: &rng))
        for m in 1...4 {
            checkRecursionStep(times: Array(repeating: t, count: m), window: x, precision: p, step: 0x1p-2)
        }
    }

    /// The mixed score S_{t,t−1,t−1}: built as S_t → S_{t,t−1} → S_{t,t−1,t−1}, each step
    /// differentiating in the time of the new slot (x_{t−1}); also S_{t−1,t,t+1}, whose steps
    /// differentiate in three different time slots.
    @Test func mixedScoresFollowTheRecursionWithDerivativesInTheirTimeSlots() throws {
        let process = try fixedProcess()
        let p = process.windowPrecision(length: 4)
        var rng = RandomStream(seed: 20160303, purpose: "score tests: window for the mixed recursion")
        let x = dyadic(process.sampleWindow(length: 4, using: &rng))
        let t = 2
        for times in [[t, t - 1], [t, t - 1, t - 1], [t - 1, t, t + 1], [t - 1, t, t + 1, t]] {
            checkRecursionStep(times: times, window: x, precision: p, step: 0x1p-2)
        }
    }

    // MARK: Recursion against the closed form

    /// The three-term recursion equals the sum over partial matchings, for pure and mixed time
    /// lists (including slots at non-adjacent times, where the P blocks vanish), orders 1…5,
    /// dx = 1, 2, 3. Entry-wise tolerance: 10⁻¹² of the sum of the absolute terms (the longest
    /// rounding path has K ≤ 6·3 + 3 + 5·6 − 2 = 49 roundings, γ₄₉ ≈ 5.4·10⁻¹⁵, per evaluation).
    @Test(arguments: [1, 2, 3])
    func recursionEqualsSumOverMatchings(dimension d: Int) throws {
        var rng = RandomStream(seed: 20160303, purpose: "score tests: recursion vs matchings", index: UInt64(d))
        let process = try randomProcess(dimension: d, radius: 0.8, using: &rng)
        let n = 5
        let p = process.windowPrecision(length: n)
        for _ in 0..<2 {
            let x = process.sampleWindow(length: n, using: &rng)
            for m in 1...5 {
                let random = (0..<m).map { _ in Int(rng.next() % UInt64(n)) }
                let lists = [Array(repeating: 2, count: m),
                             Array([0, 3, 0, 3, 0].prefix(m)),       // never adjacent: no pairing across times
                             Array([4, 0, 2, 4, 0].prefix(m)),       // non-adjacent, with the window's ends
                             Array([1, 2, 1, 0, 2].prefix(m)),       // adjacent and two apart
                             random]
                for times in lists {
                    let recursion = GaussianScore.mixed(window: x, times: times, precision: p)
                    let matchings = GaussianScore.mixedByMatchings(window: x, times: times, precision: p)
                    #expect(recursion.shape == Array(repeating: d, count: m))
                    let bound = termBound(window: x, times: times, precision: p)
                    let worst = worstRatio(recursion, matchings, scale: bound)
                    #expect(worst <= 1e-12, "dx = \(d), times \(times): worst gap \(worst) of the term bound")
                }
            }
        }
    }

    /// The library's `absoluteTermSum` (the recursion run on −|P| and |P||x|) is the direct sum
    /// over matchings of |P_ab| and (|P||x|)_c, and bounds |S| entry-wise; `roundingBound` is
    /// γ_K times it, and `WindowPrecision.absoluteU` is |P||x| from the dense precision.
    @Test func absoluteTermSumIsTheMatchingSumOfAbsoluteTerms() throws {
        var rng = RandomStream(seed: 20160303, purpose: "score tests: absolute terms")
        let process = try randomProcess(dimension: 2, radius: 0.8, using: &rng)
        let n = 5
        let p = process.windowPrecision(length: n)
        let x = process.sampleWindow(length: n, using: &rng)
        for t in 0..<n { #expect(p.absoluteU(x, at: t) == absoluteU(x, at: t, precision: p)) }
        for times in [[2], [2, 2], [1, 2, 1], [0, 3, 0, 4], [2, 2, 2, 2], [4, 3, 2, 1, 0]] {
            let library = GaussianScore.absoluteTermSum(window: x, times: times, precision: p)
            let independent = independentTermBound(window: x, times: times, precision: p)
            #expect(worstRatio(library, independent, scale: independent) <= 1e-13, "times \(times)")
            let score = GaussianScore.mixed(window: x, times: times, precision: p)
            #expect(zip(score.storage, library.storage).allSatisfy { abs($0) <= $1 * (1 + 1e-13) })
            let bound = GaussianScore.roundingBound(window: x, times: times, precision: p)
            let g = Rounding.gamma(GaussianScore.roundings(order: times.count, dimension: 2))
            #expect(worstRatio(bound, library * g, scale: library * g) <= 1e-15)
        }
        #expect(Rounding.gamma(10) == 10 * 0x1p-53 / (1 - 10 * 0x1p-53))
    }

    /// Blocks two or more steps apart vanish, so a mixed score over non-adjacent times factorizes:
    /// S_{0,3,0} = S_{0,0} ⊗ u₃ (slot order kept), and S_{0,3} = u₀ ⊗ u₃ exactly.
    @Test func nonAdjacentTimesDoNotCouple() throws {
        var rng = RandomStream(seed: 20160303, purpose: "score tests: non-adjacent")
        let process = try randomProcess(dimension: 2, radius: 0.8, using: &rng)
        let p = process.windowPrecision(length: 5)
        let x = process.sampleWindow(length: 5, using: &rng)
        for (s, t) in [(0, 2), (0, 3), (1, 4), (4, 0)] {
            #expect(p.block(s, t) == Tensor.zeros([2, 2]))
            for i in 0..<2 { for j in 0..<2 { #expect(p.entry(s, i, t, j) == 0) } }
        }
        #expect(p.block(1, 2) != Tensor.zeros([2, 2]))
        let u0 = p.u(x, at: 0), u3 = p.u(x, at: 3)
        #expect(GaussianScore.mixed(window: x, times: [0, 3], precision: p) == Tensor.outer([u0, u3]))
        let s00 = GaussianScore.mixed(window: x, times: [0, 0], precision: p)
        let s030 = GaussianScore.mixed(window: x, times: [0, 3, 0], precision: p)
        let expected = Tensor(shape: [2, 2, 2]) { i in s00[i[0], i[2]] * u3[i[1]] }
        let bound = termBound(window: x, times: [0, 3, 0], precision: p)
        #expect(worstRatio(s030, expected, scale: bound) <= 1e-12)
    }

    // MARK: Explicit low orders

    /// S₂ = u⊗u − P_tt, S₃ = u⊗u⊗u − (P_ab u_c + P_ac u_b + P_bc u_a) and MATH.md's S₄, built with
    /// loops from u = Px computed by hand from the dense precision, at every time; and the
    /// two-time score S_{t,s} = u_t ⊗ u_s − P_ts. Tolerance 10⁻¹² of the absolute terms.
    @Test func explicitLowOrders() throws {
        var rng = RandomStream(seed: 20160303, purpose: "score tests: explicit orders")
        let process = try randomProcess(dimension: 3, radius: 0.8, using: &rng)
        let n = 4, d = 3
        let p = process.windowPrecision(length: n)
        let dense = process.precision(length: n)
        let x = process.sampleWindow(length: n, using: &rng)
        func uByHand(_ t: Int) -> [Double] {
            (0..<d).map { i in (0..<(n * d)).reduce(0.0) { $0 + dense[t * d + i, $1] * x.storage[$1] } }
        }
        func pBlock(_ s: Int, _ t: Int) -> (Int, Int) -> Double { { i, j in dense[s * d + i, t * d + j] } }
        for t in 0..<n {
            let u = uByHand(t)
            let pt = pBlock(t, t)
            var s2 = Tensor.zeros([d, d])
            for a in 0..<d { for b in 0..<d { s2[a, b] = u[a] * u[b] - pt(a, b) } }
            var s3 = Tensor.zeros([d, d, d])
            for a in 0..<d { for b in 0..<d { for c in 0..<d {
                s3[a, b, c] = u[a] * u[b] * u[c] - (pt(a, b) * u[c] + pt(a, c) * u[b] + pt(b, c) * u[a])
            } } }
            var s4 = Tensor.zeros([d, d, d, d])
            for a in 0..<d { for b in 0..<d { for c in 0..<d { for e in 0..<d {
                let uuuu = u[a] * u[b] * u[c] * u[e]
                let puu = pt(a, b) * u[c] * u[e] + pt(a, c) * u[b] * u[e] + pt(a, e) * u[b] * u[c]
                    + pt(b, c) * u[a] * u[e] + pt(b, e) * u[a] * u[c] + pt(c, e) * u[a] * u[b]
                let pp = pt(a, b) * pt(c, e) + pt(a, c) * pt(b, e) + pt(a, e) * pt(b, c)
                s4[a, b, c, e] = uuuu - puu + pp
            } } } }
            for (m, byHand) in [(2, s2), (3, s3), (4, s4)] {
                let library = GaussianScore.atTime(t, order: m, window: x, precision: p)
                let bound = termBound(window: x, times: Array(repeating: t, count: m), precision: p)
                #expect(worstRatio(library, byHand, scale: bound) <= 1e-12, "S_\(m) at t = \(t)")
            }
            for s in 0..<n where s != t {
                let us = uByHand(s)
                let pts = pBlock(t, s)
                let byHand = Tensor(shape: [d, d]) { i in u[i[0]] * us[i[1]] - pts(i[0], i[1]) }
                let library = GaussianScore.mixed(window: x, times: [t, s], precision: p)
                let bound = termBound(window: x, times: [t, s], precision: p)
                #expect(worstRatio(library, byHand, scale: bound) <= 1e-12, "S_{\(t),\(s)}")
            }
        }
    }

    // MARK: Contracted scores

    /// `ContractedScore.value` equals the dense mixed score contracted with the slot vectors, for
    /// distinct random vectors, repeated vectors and mixed times, orders 0…6. Tolerance 10⁻¹² of the
    /// dense term bound contracted with |v| (which bounds the absolute terms of both computations).
    @Test(arguments: [2, 3])
    func contractedEqualsDenseContraction(dimension d: Int) throws {
        var rng = RandomStream(seed: 20160303, purpose: "score tests: contracted", index: UInt64(d))
        let process = try randomProcess(dimension: d, radius: 0.8, using: &rng)
        let n = 5
        let p = process.windowPrecision(length: n)
        let x = process.sampleWindow(length: n, using: &rng)
        let v = rng.gaussians(d), w = rng.gaussians(d)

        var cases: [[ScoreSlot]] = [[]]
        for m in 1...6 {
            // Distinct random vectors at random times.
            cases.append((0..<m).map { _ in ScoreSlot(time: Int(rng.next() % UInt64(n)), vector: rng.gaussians(d)) })
            // One vector repeated at one time: the pure score S_m(x[n], 2)(v, …, v).
            cases.append(Array(repeating: ScoreSlot(time: 2, vector: v), count: m))
            // Two vectors, repeated, at adjacent and non-adjacent times, interleaved.
            let pattern = [ScoreSlot(time: 1, vector: v), ScoreSlot(time: 2, vector: w), ScoreSlot(time: 1, vector: v),
                           ScoreSlot(time: 2, vector: v), ScoreSlot(time: 4, vector: w), ScoreSlot(time: 1, vector: v)]
            cases.append(Array(pattern.prefix(m)))
        }
        for slots in cases {
            let times = slots.map(\.time)
            let vectors = slots.map(\.vector)
            let contraction = ContractedScore(slots: slots, precision: p)
            let contracted = contraction.value(window: x, precision: p)
            let dense = GaussianScore.mixed(window: x, times: times, precision: p).contracted(withVectors: vectors)
            let scale = termBound(window: x, times: times, precision: p).contracted(withVectors: vectors.map { $0.map(abs) })
            // The contraction's own Σ|terms| is the dense one contracted with |v|.
            #expect(abs(contraction.absoluteTermSum(window: x, precision: p) - scale) <= 1e-13 * scale)
            // Derived bound: the contraction's rounding bound, plus the dense score's (γ_K per entry)
            // and that of its contraction (dx^m products of m factors, summed).
            let m = times.count
            let bound = contraction.roundingBound(window: x, precision: p)
                + (Rounding.gamma(scoreRoundings(order: m, dimension: d)) + Rounding.gamma(m + Int(pow(Double(d), Double(m))))) * scale
            #expect(abs(contracted - dense) <= bound,
                    "times \(times): contracted \(contracted), dense \(dense), bound \(bound)")
        }
        #expect(ContractedScore(slots: [], precision: p).value(window: x, precision: p) == 1)
    }

    /// Slots group by (time, vector): the same vector at two different times is two groups, two
    /// vectors at one time are two groups, and repeats add to the multiplicity; the coupling
    /// matrix is `C_gh = w_gᵀ P_{τg τh} w_h`.
    @Test func contractedScoreGroupsByTimeAndVector() throws {
        var rng = RandomStream(seed: 20160303, purpose: "score tests: grouping")
        let process = try randomProcess(dimension: 2, radius: 0.8, using: &rng)
        let p = process.windowPrecision(length: 4)
        let x = process.sampleWindow(length: 4, using: &rng)
        let v = [0.6, -1.1], w = [0.3, 0.8]

        let twoTimes = ContractedScore(slots: [ScoreSlot(time: 1, vector: v), ScoreSlot(time: 2, vector: v)], precision: p)
        #expect(twoTimes.groups == [ScoreSlot(time: 1, vector: v), ScoreSlot(time: 2, vector: v)])
        #expect(twoTimes.multiplicities == [1, 1])
        // S_{1,2}(v, v) = (u₁·v)(u₂·v) − vᵀP₁₂v, not the square of either projection.
        let u1 = p.u(x, at: 1), u2 = p.u(x, at: 2)
        let byHand = dot(u1, v) * dot(u2, v) - dot(v, matvec(p.block(1, 2), v))
        #expect(abs(twoTimes.value(window: x, precision: p) - byHand) <= 1e-12 * (abs(dot(u1, v) * dot(u2, v)) + 1))

        let slots = [ScoreSlot(time: 1, vector: v), ScoreSlot(time: 1, vector: w), ScoreSlot(time: 2, vector: v),
                     ScoreSlot(time: 1, vector: v), ScoreSlot(time: 1, vector: [0.6, -1.1])]
        let grouped = ContractedScore(slots: slots, precision: p)
        #expect(grouped.groups == [ScoreSlot(time: 1, vector: v), ScoreSlot(time: 1, vector: w), ScoreSlot(time: 2, vector: v)])
        #expect(grouped.multiplicities == [3, 1, 1])
        #expect(grouped.coupling.shape == [3, 3])
        for g in 0..<3 {
            for h in 0..<3 {
                let a = grouped.groups[g], b = grouped.groups[h]
                let expected = dot(a.vector, matvec(p.block(a.time, b.time), b.vector))
                #expect(abs(grouped.coupling[g, h] - expected) <= 1e-14 * (abs(expected) + 1))
            }
        }
        let dense = GaussianScore.mixed(window: x, times: slots.map(\.time), precision: p)
            .contracted(withVectors: slots.map(\.vector))
        let scale = termBound(window: x, times: slots.map(\.time), precision: p)
            .contracted(withVectors: slots.map { $0.vector.map(abs) })
        #expect(abs(grouped.value(window: x, precision: p) - dense) <= 1e-12 * scale)
        // value(u:) and value(projections:) are the same computation.
        let projections = grouped.groups.map { dot(p.u(x, at: $0.time), $0.vector) }
        #expect(grouped.value(projections: projections) == grouped.value(window: x, precision: p))
    }

    // MARK: One dimension: Hermite polynomials

    /// The recursion eq. 8 for N(0, 1) gives the closed-form He_m, m = 0…8. Both are integer
    /// arithmetic below 2⁵³ (the closed form divides exact integers with exact quotients), so
    /// they agree exactly.
    @Test func hermiteRecursionEqualsClosedForm() {
        for m in 0...8 {
            let recursion = Hermite.scoreByRecursion(order: m)
            #expect(recursion.count == m + 1)
            #expect(recursion == Hermite.closedForm(order: m), "m = \(m)")
        }
    }

    /// Known polynomials: He₀ = 1, He₁ = x, He₂ = x² − 1, He₃ = x³ − 3x, He₄ = x⁴ − 6x² + 3,
    /// He₈ = x⁸ − 28x⁶ + 210x⁴ − 420x² + 105; and `evaluate` at points.
    @Test func hermiteKnownValues() {
        #expect(Hermite.closedForm(order: 0) == [1])
        #expect(Hermite.closedForm(order: 1) == [0, 1])
        #expect(Hermite.closedForm(order: 2) == [-1, 0, 1])
        #expect(Hermite.closedForm(order: 3) == [0, -3, 0, 1])
        #expect(Hermite.closedForm(order: 4) == [3, 0, -6, 0, 1])
        #expect(Hermite.closedForm(order: 8) == [105, 0, -420, 0, 210, 0, -28, 0, 1])
        for x in [-2.5, -1.0, -0.3, 0, 0.5, 1.7, 3.0] {
            let scale = 1e-13 * (pow(abs(x), 4) + 6 * x * x + 3)
            #expect(abs(Hermite.evaluate(Hermite.closedForm(order: 2), at: x) - (x * x - 1)) <= scale)
            #expect(abs(Hermite.evaluate(Hermite.closedForm(order: 3), at: x) - (x * x * x - 3 * x)) <= scale)
            #expect(abs(Hermite.evaluate(Hermite.closedForm(order: 4), at: x) - (pow(x, 4) - 6 * x * x + 3)) <= scale)
        }
        #expect(Hermite.factorial(0) == 1 && Hermite.factorial(1) == 1 && Hermite.factorial(8) == 40320)
    }

    /// With P = [[1]] the Gaussian score is He_m(x), m = 0…8, on points in [−3, 3]; and for an
    /// i.i.d. standard window (P = I) the score at time t is He_m(x_t), whatever the other steps.
    /// Tolerance 10⁻¹² of Σ_k |c_k| |x|^k (the absolute terms of He_m(x)).
    @Test func oneDimensionalScoreIsHermite() {
        let single = WindowPrecision(diagonal: [Tensor(rows: [[1]])], subdiagonal: [])
        let iid = WindowPrecision.independent(marginalPrecision: Tensor.identity(1), length: 3)
        for m in 0...8 {
            let c = Hermite.closedForm(order: m)
            for x in stride(from: -3.0, through: 3.0, by: 0.375) {
                let scale = 1e-12 * c.enumerated().reduce(0.0) { $0 + abs($1.element) * pow(abs(x), Double($1.offset)) }
                let expected = Hermite.evaluate(c, at: x)
                let score = GaussianScore.atTime(0, order: m, window: Tensor(rows: [[x]]), precision: single)
                #expect(score.shape == Array(repeating: 1, count: m))
                #expect(abs(score.storage[0] - expected) <= scale, "m = \(m), x = \(x)")
                let window = Tensor(rows: [[0.7], [x], [-1.3]])
                let inWindow = GaussianScore.atTime(1, order: m, window: window, precision: iid)
                #expect(abs(inWindow.storage[0] - expected) <= scale, "i.i.d. window, m = \(m), x = \(x)")
            }
        }
    }
}

/// The compiled dense score (DenseScorePlan) against the memoized recursion of
/// GaussianScore.mixed, and the chain integral against the Gaussian normalization.
@Suite struct CompiledScoreTests {
    /// Every order up to 4 and a mixed pattern, at interior and end times, on random windows of
    /// a non-diagonal vector AR(1): equal to the recursion within both rounding bounds.
    @Test func denseScorePlanEqualsTheRecursion() throws {
        let process = try fixedProcess()
        let precision = process.windowPrecision(length: 5)
        var rng = RandomStream(seed: 7, purpose: "dense score plan")
        let patterns: [[Int]] = [[2], [2, 2], [2, 2, 2], [2, 2, 2, 2], [2, 1, 1], [0, 0, 1], [4, 4, 3, 3], [1, 3]]
        for times in patterns {
            let plan = DenseScorePlan(slotTimes: times, precision: precision)
            #expect(plan.count == Int(pow(2.0, Double(times.count))) && plan.order == times.count)
            for _ in 0..<20 {
                let x = process.sampleWindow(length: 5, using: &rng)
                let compiled = plan.evaluate(window: x, precision: precision)
                let recursion = GaussianScore.mixed(window: x, times: times, precision: precision)
                let bound = GaussianScore.roundingBound(window: x, times: times, precision: precision)
                #expect(compiled.shape == recursion.shape)
                // Both computations are within γ_K·Σ|terms| of the exact score: their gap within twice that.
                #expect(worstRatio(compiled, recursion, scale: bound * 2) <= 1, "times \(times)")
            }
        }
        // A wrong plan is caught: the score at t = 1 is not the score at t = 2.
        let x = process.sampleWindow(length: 5, using: &rng)
        let wrong = DenseScorePlan(slotTimes: [1, 1], precision: precision).evaluate(window: x, precision: precision)
        #expect(wrong.relativeError(to: GaussianScore.mixed(window: x, times: [2, 2], precision: precision)) > 1e-3)
    }

    /// ∫ exp(−½ xᵀJx) dx = (2π)^{n/2} det(J)^{−1/2} for the AR(1) J, to 1e−10; the printed
    /// constant (2φ)^{−n/2} does not normalize it; and bad arguments are errors, not traps.
    @Test func chainIntegralMatchesTheDeterminant() throws {
        for (phi, n) in [(0.6, 6), (-0.3, 4), (0.0, 1), (0.75, 3)] {
            let process = try AR1Process.scalar(phi: phi)
            let j = process.precision(length: n)
            let integral = try gaussianChainIntegral(diagonal: (0..<n).map { j[$0, $0] }, offDiagonal: (0..<max(0, n - 1)).map { j[$0, $0 + 1] },
                                                     halfWidth: 30, step: 0.1)
            let exact = pow(2 * Double.pi, Double(n) / 2) / (try determinant(j)).squareRoot()
            #expect(abs(integral / exact - 1) <= 1e-10, "φ = \(phi), n = \(n)")
            if phi > 0 {
                let printed = pow(2 * phi, -Double(n) / 2) * (try determinant(j)).squareRoot() * integral
                #expect(abs(printed - 1) > 0.1)
            }
        }
        #expect(throws: ModelError.self) { try gaussianChainIntegral(diagonal: [1, -1], offDiagonal: [0], halfWidth: 5, step: 0.1) }
        #expect(throws: ModelError.self) { try gaussianChainIntegral(diagonal: [1, 1], offDiagonal: [], halfWidth: 5, step: 0.1) }
        #expect(throws: ModelError.self) { try gaussianChainIntegral(diagonal: [1, 1], offDiagonal: [0.9], halfWidth: 50, step: 0.1) }
    }
}
