// GLOREE for a polynomial activation σ(z) = Σ_{i≤l} c_i z^i (paper §3.3, Theorem 6, corrected
// as in MATH.md §5). Walkthrough 03's `gloree` is the fast path for σ = z².
//
// 1. A1 and A2 up to a per-unit scale, from `E[y_t ⊗ S_l(x[n], t)] = l! c_l Σ_j b_j ⊗ a_j^{⊗l}`
//    (dy×dx^l; never vanishes, unlike eq. 16's `μ_j = E[σ″]`): its extra modes are contracted
//    with one direction θ to a dy×dx×dx tensor that the decomposers of 02 split into unit
//    directions `â_j`; then `g_j = l! c_l s_j^l b_j` by least squares on the whole tensor.
// 2. The scale s_j (`a_j = s_j â_j`): for a non-monomial σ it is not a symmetry, and the S_l
//    moment cannot see it. At a window's first step `h_0 = 0`, so the first-step moments
//    `E[y_1 ⊗ S_k(x[n], 1)] = Σ_j b_j E[σ^{(k)}(a_j·x_1)] a_j^{⊗k}` (k = 0 … l−1) are Gaussian
//    expectations in closed form; projected with the duals of (g, â) they are
//    `f_jk(s_j) = E[σ^{(k)}(s_j g)] s_j^k / (l! c_l s_j^l)`, `g ~ N(0, â_jᵀΓâ_j)`: s_j is the
//    weighted least-squares solution of `f_jk(s) = P_jk` over k.
// 3. U from the corrected `(2l−1)`-order mixed moment
//    `E[y_t ⊗ S_{t^{(l−1)}, (t−1)^{(l)}}] = (l! c_l)² Σ_j b_j ⊗ a_j^{⊗(l−1)} ⊗ Σ_k U_jk a_k^{⊗l}`:
//    `U_jk = T(β_j, α_j^{(l−1)}, α_k^{(l)}) / (l! c_l)²` with the duals of the rescaled A1, A2;
//    with the duals of (â, g) instead, `U_jk = s_j T̃_jk / (s_k^l l! c_l)`, so steps 2 and 3 share
//    one pass.

import Foundation

/// GLOREE's estimate for a polynomial activation and what it was computed from.
public struct PolynomialGLOREEFit: Sendable {
    /// σ's coefficients `c_0 … c_l`.
    public let coefficients: [Double]
    /// Â1 = diag(s) Â (dh×dx), Û (dh×dh), Â2 (dh×dy, rows `b_j = g_j / (l! c_l s_j^l)`).
    public let a1: Tensor
    public let u: Tensor
    public let a2: Tensor
    /// The unit directions `â_j` (rows, largest entry positive) and `g_j = l! c_l s_j^l b_j` (rows).
    public let directions: Tensor
    public let scaledOutputs: Tensor
    /// The per-unit scales `s_j` (1 when σ is a monomial: then any scale is equivalent).
    public let scales: [Double]
    /// False for a monomial σ, whose scale is a symmetry (MATH.md §1).
    public let scaleIdentified: Bool
    /// Per unit, the weighted residual `Σ_k ((P_jk − f_jk(s_j)) / se_jk)²` of the scale fit (k = 0 … l−1).
    public let scaleResiduals: [Double]
    /// The projected first-step moments `P_jk = T(β̃_j, α̂_j^{(k)})` (dh × orders: k = 0 … l−1, or
    /// 1 … l−1 for a scalar output) the scales were fitted to.
    public let firstStepProjections: Tensor
    /// The direction the extra modes of the S_l moment were contracted with (empty when none were:
    /// l = 2, or a scalar output with l = 3).
    public let theta: [Double]
    /// The rank-dh decomposition of the contracted dy×dx×dx tensor.
    public let decomposition: CPDecomposition
    /// `‖T − Σ_j g_j ⊗ â_j^{⊗l}‖_F / ‖T‖_F` for the S_l moment T.
    public let leadingResidual: Double
    /// `T̃_jk = T(β̃_j, α̂_j^{(l−1)}, α̂_k^{(l)})` of the mixed moment (dh×dh).
    public let projectedMixed: Tensor
    public let conditionNumberA1: Double
    public let conditionNumberA2: Double
    public let warnings: [String]

    /// l, the degree.
    public var degree: Int { coefficients.count - 1 }

    /// The estimated model, with the given output noise sd (GLOREE does not estimate it).
    public func model(noise: Double = 0) throws -> IORNN {
        try IORNN(a1: a1, u: u, a2: a2, noise: noise, coefficients: coefficients)
    }
}

/// `f_k(s) = E[σ^{(k)}(s g)] s^k / (l! c_l s^l)` for `g ~ N(0, v)`: the projected first-step moment
/// of order k of a unit with direction variance v and scale s (see the file's header).
public func firstStepProjection(_ c: [Double], order k: Int, variance v: Double, scale s: Double) -> Double {
    let l = c.count - 1
    var total = 0.0
    for i in stride(from: k, to: c.count, by: 1) where (i - k) % 2 == 0 && c[i] != 0 {
        // c_i i!/(i−k)! s^{i−k} E[g^{i−k}] · s^k / s^l = c_i i!/(i−k)! E[g^{i−k}] s^{i−l}.
        total += IORNN.gaussianActivationMoment([Double](repeating: 0, count: i) + [c[i]], derivative: k, variance: v)
            * Foundation.pow(s, Double(i - l))
    }
    return total / (Hermite.factorial(l) * c[l])
}

/// Step 1: unit directions â_j and `g_j` from the dy×dx^l moment `T ≈ l! c_l Σ_j b_j ⊗ a_j^{⊗l}`.
func polynomialLeadingFactors(_ leading: Tensor, hidden dh: Int, degree l: Int, decomposer: Decomposer, seed: UInt64)
    throws -> (directions: Tensor, scaledOutputs: Tensor, theta: [Double], decomposition: CPDecomposition, residual: Double) {
    guard leading.order == l + 1, leading.shape.dropFirst().allSatisfy({ $0 == leading.shape[1] }), leading.count > 0 else {
        throw ModelError("GLOREE: the S_\(l) moment must be dy×dx^\(l), got shape \(leading.shape)")
    }
    guard dh >= 1 else { throw ModelError("GLOREE: the hidden dimension must be positive, got \(dh)") }
    guard leading.isFinite else { throw ModelError("GLOREE: the S_\(l) moment overflowed float64 (NaN or ∞ entries); the scores u = P x multiply /x by the precision of /process: check that /process matches the scale of /x and that /x and /y are not huge") }
    let dy = leading.shape[0], dx = leading.shape[1]
    // θ: the leading left singular vector of the last mode's unfolding (a direction that every
    // a_j with a nonzero weight leans on); the extra modes 3 … l are contracted with it.
    var theta: [Double] = []
    var contracted = leading
    if l > 2 && !(dy == 1 && l == 3) {
        let unfolding = leading.reshaped([leading.count / dx, dx]).transposed()   // dx × (dy·dx^{l−1})
        let decomposition = try svd(unfolding)
        theta = (0..<dx).map { decomposition.u[$0, 0] }
        for _ in 2..<l {
            let shape = contracted.shape
            let flat = contracted.reshaped([contracted.count / dx, dx])
            contracted = Tensor(shape: Array(shape.dropLast()), storage: matvec(flat, theta))
        }
    }
    var random = RandomStream(seed: seed, purpose: "GLOREE decomposition")
    let decomposition: CPDecomposition
    if dy == 1 {
        // Scalar output (App. C.2): T = l! c_l Σ_j a2_j a_j^{⊗l} is symmetric; with its modes
        // beyond the third contracted, whitening + the robust tensor power method (Algorithm 3).
        guard l >= 3 else {
            throw ModelError("GLOREE: a scalar output needs degree l ≥ 3 (App. C.2): for l = 2 the dx×dx moment Σ_j a2_j a_j a_jᵀ has no unique rank-\(dh) decomposition")
        }
        var cube = leading.reshaped(Array(leading.shape.dropFirst()))
        while cube.order > 3 {
            let shape = cube.shape
            cube = Tensor(shape: Array(shape.dropLast()), storage: matvec(cube.reshaped([cube.count / dx, dx]), theta))
        }
        decomposition = try whitenedTensorPowerMethod(cube, rank: dh, form: .symmetric, random: &random).decomposition
    } else {
        decomposition = try decomposer.decompose(contracted, rank: dh, random: &random).normalized()
    }
    let directions = decomposition.a
    guard directions.shape == [dh, dx], directions.isFinite else {
        throw ModelError("GLOREE: the decomposition (\(decomposer.rawValue)) returned non-finite or mis-shaped factors")
    }
    // g by least squares on the whole tensor: T_flat (dy × dx^l) ≈ Gᵀ Â^{⊙l}.
    var power = directions
    for _ in 1..<l { power = Tensor.khatriRaoRows(power, directions) }
    let flat = leading.reshaped([dy, leading.count / dy])
    let scaledOutputs = try leastSquares(power.transposed(), flat.transposed())      // dh × dy
    let reconstruction = matmul(scaledOutputs, power, transposeA: true)
    let residual = reconstruction.relativeError(to: flat)
    return (directions, scaledOutputs, theta, decomposition, residual)
}

/// Step 2: the per-unit scales from the projected first-step moments P (dh × orders, column i
/// of order `orders[i]`) and their standard errors (nil: equal weights), for directions with
/// variances `â_jᵀΓâ_j`.
///
/// Minimizes `Σ_k ((P_jk − f_k(s)) / se_jk)²` over s (s > 0 when σ is odd or even, whose sign
/// flip is a symmetry; both signs otherwise) on a log grid of |s| in [10⁻³, 10³], refined by
/// golden-section search. For a monomial σ every f_k is constant and s = 1 is returned.
func fitUnitScales(_ projections: Tensor, standardErrors: Tensor?, variances: [Double], coefficients c: [Double],
                   orders: [Int]) -> (scales: [Double], identified: Bool, residuals: [Double], problems: [String]) {
    let dh = variances.count, l = c.count - 1
    let probe = try? IORNN(a1: Tensor.identity(1), u: Tensor.zeros([1, 1]), a2: Tensor.identity(1), coefficients: c)
    let equivalence = probe?.equivalence ?? .permutationOnly
    let ones = [Double](repeating: 1, count: dh), zeros = [Double](repeating: 0, count: dh)
    guard equivalence != .scaling else { return (ones, false, zeros, []) }
    // f_k(s) = Σ_i c_i i!/(i−k)! E[g^{i−k}] s^{i−l} / (l! c_l) over i ≥ k with i − k even: the
    // terms i ≠ l are what the scale is read from, the terms with i − l odd what its sign is read from.
    let terms = orders.flatMap { k in stride(from: k, to: c.count, by: 1).filter { ($0 - k) % 2 == 0 && c[$0] != 0 && $0 != l } }
    guard !terms.isEmpty else {
        return (ones, false, zeros, ["the first-step moments of orders \(orders.map(String.init).joined(separator: ", ")) do not depend on the per-unit scale for σ(z) = \(Activation.polynomial(c)): the scales are not identified and were left at 1"])
    }
    var problems: [String] = []
    let signKnown = equivalence == .signFlip || terms.contains { ($0 - l) % 2 != 0 }
    if !signKnown {
        problems.append("the first-step moments of orders \(orders.map(String.init).joined(separator: ", ")) do not see the sign of the per-unit scale for σ(z) = \(Activation.polynomial(c)), which is not a symmetry here: the positive sign was taken for every unit")
    }
    var scales: [Double] = [], residuals: [Double] = []
    for j in 0..<dh {
        func objective(_ s: Double) -> Double {
            var total = 0.0
            for (column, k) in orders.enumerated() {
                let se = standardErrors.map { max($0[j, column], 1e-300) } ?? 1
                let r = (projections[j, column] - firstStepProjection(c, order: k, variance: variances[j], scale: s)) / se
                total += r * r
            }
            return total.isFinite ? total : .infinity
        }
        let signs: [Double] = signKnown && equivalence != .signFlip ? [1, -1] : [1]
        var best = (s: 1.0, value: Double.infinity, index: 0, sign: 1.0)
        let points = 2_000
        func grid(_ i: Int) -> Double { Foundation.pow(10, -3 + 6 * Double(i) / Double(points - 1)) }
        for sign in signs {
            for i in 0..<points {
                let s = sign * grid(i)
                let v = objective(s)
                if v < best.value { best = (s, v, i, sign) }
            }
        }
        // Golden-section refinement between the grid neighbours (in log |s|).
        var lo = log(grid(max(0, best.index - 1))), hi = log(grid(min(points - 1, best.index + 1)))
        let ratio = (5.0.squareRoot() - 1) / 2
        for _ in 0..<100 {
            let m1 = hi - ratio * (hi - lo), m2 = lo + ratio * (hi - lo)
            if objective(best.sign * exp(m1)) <= objective(best.sign * exp(m2)) { hi = m2 } else { lo = m1 }
        }
        let refined = best.sign * exp((lo + hi) / 2)
        let s = objective(refined) <= best.value ? refined : best.s
        if best.index == 0 || best.index == points - 1 {
            problems.append("the scale of unit \(j + 1) lies at the edge of the search range (|s| = \(formatNumber(abs(s)))): the first-step moments do not fix it (too noisy, or σ is not the activation of the data)")
        }
        scales.append(s)
        residuals.append(objective(s))
    }
    return (scales, true, residuals, problems)
}

/// Step 3 and assembly: the model from directions, g, scales and the projected mixed moment T̃.
func assemblePolynomialFit(coefficients c: [Double], directions: Tensor, scaledOutputs g: Tensor, scales s: [Double],
                           identified: Bool, residuals: [Double], scaleProblems: [String], firstStep: Tensor, projectedMixed: Tensor,
                           theta: [Double], decomposition: CPDecomposition, leadingResidual: Double) throws -> PolynomialGLOREEFit {
    let l = c.count - 1, dh = directions.shape[0], dx = directions.shape[1], dy = g.shape[1]
    let constant = Hermite.factorial(l) * c[l]
    let a1 = Tensor(shape: [dh, dx]) { i in s[i[0]] * directions[i[0], i[1]] }
    let a2 = Tensor(shape: [dh, dy]) { i in g[i[0], i[1]] / (constant * Foundation.pow(s[i[0]], Double(l))) }
    let u = Tensor(shape: [dh, dh]) { i in s[i[0]] * projectedMixed[i[0], i[1]] / (Foundation.pow(s[i[1]], Double(l)) * constant) }
    guard a1.isFinite, a2.isFinite, u.isFinite else {
        throw ModelError("GLOREE: the estimate is not finite (scales \(s)); the moments are too noisy or the model is not this IO-RNN")
    }
    let c1 = try rowConditionNumber(a1), c2 = try rowConditionNumber(a2)
    return PolynomialGLOREEFit(coefficients: c, a1: a1, u: u, a2: a2, directions: directions, scaledOutputs: g,
                               scales: s, scaleIdentified: identified, scaleResiduals: residuals,
                               firstStepProjections: firstStep, theta: theta, decomposition: decomposition,
                               leadingResidual: leadingResidual, projectedMixed: projectedMixed,
                               conditionNumberA1: c1, conditionNumberA2: c2,
                               warnings: rankWarnings(dx: dx, dh: dh, dy: dy, conditionA1: c1, conditionA2: c2) + scaleProblems)
}

/// The duals of (â, g): α̂ = pinv(Â) (dx×dh), and per unit an output direction β̃_j (dy×dh):
/// the columns of pinv(G) when dy ≥ dh; for a scalar output (dy = 1), `β̃_j = 1/g_j`, which
/// separates the units only together with at least one α̂_j slot (so the first-step moment of
/// order 0, `E[y_1]`, is not used then).
private func duals(_ directions: Tensor, _ g: Tensor) throws -> (alpha: Tensor, beta: Tensor) {
    let dh = g.shape[0], dy = g.shape[1]
    if dy == 1 && dh > 1 {
        guard (0..<dh).allSatisfy({ g[$0, 0] != 0 && g[$0, 0].isFinite }) else {
            throw ModelError("GLOREE: a recovered output weight is zero or not finite")
        }
        return (try pseudoInverse(directions), Tensor(shape: [1, dh]) { i in 1 / g[i[1], 0] })
    }
    guard dh <= dy else {
        throw ModelError("GLOREE: dh = \(dh) > dy = \(dy): A2 cannot have full row rank (give dy ≥ dh, or a scalar output)")
    }
    return (try pseudoInverse(directions), try pseudoInverse(g))
}

/// The first-step orders k that separate the units: 0 … l−1, without 0 for a scalar output.
private func firstStepOrders(degree l: Int, outputDimension dy: Int, hidden dh: Int) -> [Int] {
    dy == 1 && dh > 1 ? Array(1..<l) : Array(0..<l)
}

private func column(_ m: Tensor, _ j: Int) -> [Double] { (0..<m.shape[0]).map { m[$0, j] } }

/// GLOREE for a polynomial activation on given dense moments (tests, checks): `leading` ≈ E[y_t ⊗ S_l]
/// (dy×dx^l), `firstStep[k]` ≈ E[y_1 ⊗ S_k(x[n], 1)] (dy×dx^k, k = 0 … l−1), `mixed` ≈ the
/// (2l−1)-order mixed moment (dy×dx^{2l−1}); Γ from `process`. On exact moments it recovers the
/// model up to its equivalences to rounding.
public func gloree(leading: Tensor, firstStep: [Tensor], mixed: Tensor, hidden dh: Int, coefficients c: [Double],
                   process: AR1Process, decomposer: Decomposer = .refined,
                   seed: UInt64 = 0) throws -> PolynomialGLOREEFit {
    try IORNN.validate(coefficients: c)
    let l = c.count - 1
    let f = try polynomialLeadingFactors(leading, hidden: dh, degree: l, decomposer: decomposer, seed: seed)
    let dx = f.directions.shape[1], dy = f.scaledOutputs.shape[1]
    guard firstStep.count == l, firstStep.enumerated().allSatisfy({ $1.shape == [dy] + Array(repeating: dx, count: $0) }) else {
        throw ModelError("GLOREE: give the \(l) first-step moments E[y_1 ⊗ S_k], k = 0…\(l - 1), of shapes dy×dx^k")
    }
    guard mixed.shape == [dy] + Array(repeating: dx, count: 2 * l - 1), mixed.isFinite else {
        throw ModelError("GLOREE: the mixed moment must be finite and dy×dx^\(2 * l - 1), got shape \(mixed.shape)")
    }
    let (alpha, beta) = try duals(f.directions, f.scaledOutputs)
    let orders = firstStepOrders(degree: l, outputDimension: dy, hidden: dh)
    let p = Tensor(shape: [dh, orders.count]) { i in
        let j = i[0], k = orders[i[1]]
        return firstStep[k].contracted(withVectors: [column(beta, j)] + Array(repeating: column(alpha, j), count: k))
    }
    let variances = (0..<dh).map { j in dot(f.directions.row(j), matvec(process.gamma, f.directions.row(j))) }
    let scales = fitUnitScales(p, standardErrors: nil, variances: variances, coefficients: c, orders: orders)
    let projected = Tensor(shape: [dh, dh]) { i in
        mixed.contracted(withVectors: [column(beta, i[0])] + Array(repeating: column(alpha, i[0]), count: l - 1)
                         + Array(repeating: column(alpha, i[1]), count: l))
    }
    return try assemblePolynomialFit(coefficients: c, directions: f.directions, scaledOutputs: f.scaledOutputs,
                                     scales: scales.scales, identified: scales.identified, residuals: scales.residuals, scaleProblems: scales.problems,
                                     firstStep: p, projectedMixed: projected, theta: f.theta,
                                     decomposition: f.decomposition, leadingResidual: f.residual)
}

/// The result of polynomial GLOREE from samples.
public struct PolynomialGLOREEResult: Sendable {
    public let fit: PolynomialGLOREEFit
    /// Pass 1: `Ê[y_t ⊗ S_l(x[n], t)]` (dy×dx^l).
    public let leadingMoment: StreamingMean
    /// Pass 2: the projected first-step moments (dh×l, entry (j, k) = `P_jk`), at t = 1 of each window.
    public let firstStep: StreamingMean
    /// Pass 2: `T̃_jk` (dh×dh), over t ≥ 2.
    public let projectedMixed: StreamingMean
    /// Standard errors of Û entrywise (from T̃'s batch standard errors, conditional on Â1, Â2 and s).
    public let uStandardError: Tensor
    /// `‖uStandardError‖_F / ‖Û‖_F`, and the S_l moment's `‖SE‖_F / ‖mean‖_F`.
    public let uRelativeStandardError: Double
    public let leadingRelativeStandardError: Double
    /// Everything that looks wrong, one line each.
    public let warnings: [String]

    /// A relative standard error of Û above this gets a warning (the estimate is then no better
    /// than a rough guess: on the cubic of walkthrough 04, 0.4 came with a U error of 0.38 and a
    /// prediction error of 7%).
    public static let largestRelativeStandardErrorOfU = 0.2

    public func model(noise: Double = 0) throws -> IORNN { try fit.model(noise: noise) }
}

/// A source restricted to each window's first step (t = 1, 0-based time 0, where `h_0 = 0`):
/// the sample of the first-step moments `E[y_1 ⊗ S_k(x[n], 1)]`.
public struct FirstStepSource: WindowSource {
    public let base: WindowSource
    public init(_ base: WindowSource) { self.base = base }
    public var inputDimension: Int { base.inputDimension }
    public var outputDimension: Int { base.outputDimension }
    public func forEachBatch(_ body: ([WindowSegment]) throws -> Void) throws {
        try base.forEachBatch { try body(firstSteps($0)) }
    }
}

/// The same segments with only each window's first step (t = 1, 0-based time 0) accumulated.
private func firstSteps(_ segments: [WindowSegment]) -> [WindowSegment] {
    segments.map { s in
        WindowSegment(windows: s.windowCount, windowLength: s.windowLength, firstTime: s.firstTime,
                      x: s.x, y: s.y, accumulate: s.accumulate.contains(0) ? 0..<1 : 0..<0)
    }
}

/// The dense `Ê[y_t ⊗ S_m(x[n], t)]` (dy×dx^m) streamed through the projected engine: one
/// projection per output coordinate and multiset of input coordinates (the moment is symmetric
/// in its input modes), then filled in by symmetry.
public func estimateScoreMomentAtTime(_ source: WindowSource, process: AR1Process, order m: Int, threads: Int = 2,
                                      progress: Progress? = nil) throws -> StreamingMean {
    let dx = source.inputDimension, dy = source.outputDimension
    guard m >= 1 else { throw ModelError("score moment at time t: the order must be at least 1, got \(m)") }
    func unit(_ i: Int, _ n: Int) -> [Double] { (0..<n).map { $0 == i ? 1 : 0 } }
    var multisets: [[Int]] = [[]]
    for _ in 0..<m { multisets = multisets.flatMap { set in ((set.last ?? 0)..<dx).map { set + [$0] } } }
    var projections: [ScoreProjection] = []
    for i in 0..<dy {
        for set in multisets { projections.append(ScoreProjection(output: unit(i, dy), slots: set.map { (0, unit($0, dx)) })) }
    }
    let packed = try estimateProjectedScoreMoment(source, process: process, projections: projections, threads: threads, progress: progress)
    let shape = [dy] + Array(repeating: dx, count: m)
    let size = shape.reduce(1, *)
    var index = [Int](repeating: 0, count: size)
    let position = Dictionary(uniqueKeysWithValues: multisets.enumerated().map { ($1, $0) })
    for flat in 0..<size {
        var rest = flat, coordinates: [Int] = []
        for _ in 0..<m { coordinates.append(rest % dx); rest /= dx }
        let i = rest
        index[flat] = i * multisets.count + position[coordinates.sorted()]!
    }
    return packed.gathered(index, shape: shape)
}

/// GLOREE for a polynomial activation from windows, in two streaming passes (see the file's header).
public func gloree(_ source: WindowSource, process: AR1Process, hidden dh: Int, coefficients c: [Double],
                   decomposer: Decomposer = .refined, seed: UInt64, threads: Int = 2,
                   progress: Progress? = nil) throws -> PolynomialGLOREEResult {
    try IORNN.validate(coefficients: c)
    guard source.inputDimension == process.dimension else {
        throw ModelError("GLOREE: the windows have dx = \(source.inputDimension) but the input process has dimension \(process.dimension)")
    }
    let l = c.count - 1
    let leading = try estimateScoreMomentAtTime(source, process: process, order: l, threads: threads, progress: progress)
    let f = try polynomialLeadingFactors(leading.mean, hidden: dh, degree: l, decomposer: decomposer, seed: seed)
    let (alpha, beta) = try duals(f.directions, f.scaledOutputs)
    let orders = firstStepOrders(degree: l, outputDimension: source.outputDimension, hidden: dh)
    var firstProjections: [ScoreProjection] = [], mixedProjections: [ScoreProjection] = []
    for j in 0..<dh {
        for k in orders {
            firstProjections.append(ScoreProjection(output: column(beta, j), slots: Array(repeating: (0, column(alpha, j)), count: k)))
        }
        for k in 0..<dh {
            mixedProjections.append(ScoreProjection(output: column(beta, j),
                                                    slots: Array(repeating: (0, column(alpha, j)), count: l - 1)
                                                        + Array(repeating: (-1, column(alpha, k)), count: l)))
        }
    }
    // Pass 2: the first-step and the mixed moments over the same batches.
    let first = try ProjectedScoreEngine(source: source, process: process, projections: firstProjections, threads: threads)
    let mixed = try ProjectedScoreEngine(source: source, process: process, projections: mixedProjections, threads: threads)
    try source.forEachBatch { batch in
        _ = try first.accumulate(firstSteps(batch))
        let pairs = try mixed.accumulate(batch)
        progress?.advance(pairs)
    }
    let firstStep = first.result(), projectedMixed = mixed.result()
    let p = firstStep.mean.reshaped([dh, orders.count])
    let pSE = (firstStep.batchStandardError ?? firstStep.standardError).reshaped([dh, orders.count])
    let variances = (0..<dh).map { j in dot(f.directions.row(j), matvec(process.gamma, f.directions.row(j))) }
    let scales = fitUnitScales(p, standardErrors: pSE, variances: variances, coefficients: c, orders: orders)
    let t = projectedMixed.mean.reshaped([dh, dh])
    let fit = try assemblePolynomialFit(coefficients: c, directions: f.directions, scaledOutputs: f.scaledOutputs,
                                        scales: scales.scales, identified: scales.identified, residuals: scales.residuals, scaleProblems: scales.problems,
                                        firstStep: p, projectedMixed: t, theta: f.theta,
                                        decomposition: f.decomposition, leadingResidual: f.residual)
    // Sampling errors and warnings.
    let constant = Hermite.factorial(l) * c[l]
    let tSE = (projectedMixed.batchStandardError ?? projectedMixed.standardError).reshaped([dh, dh])
    let uSE = Tensor(shape: [dh, dh]) { i in
        abs(fit.scales[i[0]]) * tSE[i[0], i[1]] / (abs(Foundation.pow(fit.scales[i[1]], Double(l))) * abs(constant))
    }
    let uRelative = uSE.frobeniusNorm / fit.u.frobeniusNorm
    let leadingRelative = leading.standardError.frobeniusNorm / leading.mean.frobeniusNorm
    var warnings = fit.warnings
    func g(_ x: Double) -> String { String(format: "%.3g", x) }
    if leading.count < 2 || !(leadingRelative <= 0.2) {
        warnings.append("the S_\(l) moment is uncertain (relative standard error \(g(leadingRelative)) from \(leading.count) samples): A1 and A2 are unreliable; use more windows")
    }
    if !(uRelative <= PolynomialGLOREEResult.largestRelativeStandardErrorOfU) {
        warnings.append("U is uncertain (relative standard error \(g(uRelative)) from \(projectedMixed.count) samples of the order-\(2 * l - 1) mixed moment, above \(g(PolynomialGLOREEResult.largestRelativeStandardErrorOfU))): Û may be off by that much and the model's predictions with it; use more windows")
    }
    if leadingRelative.isFinite, f.residual > 3 * leadingRelative + 1e-8 {
        warnings.append("the rank-\(dh) decomposition leaves a residual of \(g(f.residual)), beyond the sampling error \(g(leadingRelative)): dh may be wrong, or the data not from this IO-RNN with this input process")
    }
    if scales.identified, let worst = scales.residuals.max(), worst > 9 * Double(l) {
        warnings.append("the per-unit scales fit the first-step moments poorly (largest weighted residual \(g(worst)) over \(orders.count) moments): the activation may be wrong")
    }
    return PolynomialGLOREEResult(fit: fit, leadingMoment: leading, firstStep: firstStep, projectedMixed: projectedMixed,
                                  uStandardError: uSE, uRelativeStandardError: uRelative,
                                  leadingRelativeStandardError: leadingRelative, warnings: warnings)
}
