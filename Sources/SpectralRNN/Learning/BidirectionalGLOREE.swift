// GLOREE-B for the bidirectional quadratic IO-RNN (paper Algorithm 2, §3.4, Theorem 7;
// MATH.md §6), with the step the paper leaves out.
//
// 1. `E[y_t ⊗ S_2(x[n], t)] = 2 Σ_{j ≤ dh+dz} b_j ⊗ c_j ⊗ c_j` over all units, `c_j` the rows of
//    A1 then B1: the rank-(dh+dz) decomposition of walkthrough 03 gives unit directions ĉ_j and
//    rows b_j of A2 — in an order of the decomposer's choosing, which says nothing of which
//    component is forward.
// 2. With the duals α = pinv(Ĉ), β = pinv(Â2) of all components, the projected mixed moments
//    `P⁻_jk = T⁻(β_j, α_j, α_k, α_k)` of `T⁻ = E[y_t ⊗ S_{t,t−1,t−1}] = 4 Σ_{j fwd} b_j ⊗ a_j ⊗ M_j`
//    and `P⁺_jk` of `T⁺ = E[y_t ⊗ S_{t,t+1,t+1}] = 4 Σ_{j bwd} b_j ⊗ c_j ⊗ N_j` are 4U on the
//    forward block and 0 elsewhere, and 4V on the backward block and 0 elsewhere. So a component
//    is forward when its row and column of P⁻ are significantly nonzero and those of P⁺ are
//    not (`assignUnits`), and then U = P⁻/4 and V = P⁺/4 on the assigned blocks: the
//    assignment and the recurrent weights come from the same pass.
//
// The t+1 moment is the t−1 moment of the time-reversed window (`TimeReversedSource`,
// `AR1Process.timeReversed`), so both use walkthrough 03's kernel.

import Foundation

/// Which side each recovered component is on, decided from the projected mixed moments.
///
/// For component j the statistic on each side is `q_j = Σ_e (P_e / se_e)²` over the 2D − 1
/// entries of row j and column j of the D×D projection (D = dh + dz), which all vanish when j
/// is not on that side; it is turned into a normal score by the Wilson–Hilferty transform of
/// a χ² with 2D − 1 degrees of freedom (entries treated as independent — an approximation the
/// walkthrough checks by measuring how often the rule errs). A side counts as present at
/// z ≥ `significant`. A component is forward when only its t−1 side is present, backward when
/// only its t+1 side is, `both` (not a unit of this model) when both are; with neither present
/// it is feed-forward (`either`) when both scores are below `absent`, and undetermined when one
/// lies between the thresholds (weak recurrence, or none: the data cannot tell).
public struct UnitAssignment: Sendable {
    public enum Side: String, Sendable {
        /// Recurrence seen on the t−1 side only.
        case forward
        /// Recurrence seen on the t+1 side only.
        case backward
        /// No recurrence on either side: a feed-forward unit, the same model on either side.
        case either
        /// Significant on both sides: not a unit of a BRNN with this dh + dz.
        case both
        /// A score between the two thresholds: the data cannot tell.
        case undetermined
    }

    /// Per recovered component (in decomposition order).
    public let sides: [Side]
    /// Normal scores z⁻_j (t−1 moment) and z⁺_j (t+1 moment).
    public let pastScores: [Double]
    public let futureScores: [Double]
    /// `‖(row j, column j) of P‖ / 4` on each side, in units of the recurrent weights, and the
    /// same norm of the standard errors (the magnitude expected from noise alone).
    public let pastMagnitudes: [Double]
    public let futureMagnitudes: [Double]
    public let pastNoise: [Double]
    public let futureNoise: [Double]
    /// Distance of each verdict from the nearest threshold that would change it, in z units
    /// (negative for `undetermined` and `both`: how far the best verdict is from holding).
    public let margins: [Double]

    /// A side is present at z ≥ 4 (one-sided tail 3·10⁻⁵ for a side without recurrence) …
    public static let significant = 4.0
    /// … and a component shows no recurrence at all when both its scores are below 3.
    public static let absent = 3.0
    /// A component without recurrence on either side is called feed-forward only when its
    /// recurrence could be at most this fraction of the weakest assigned unit's (magnitude + 3
    /// noise levels, in the units of `pastMagnitudes`); otherwise the data cannot tell.
    public static let feedForwardFraction = 0.5

    public var forwardComponents: [Int] { sides.indices.filter { sides[$0] == .forward } }
    public var backwardComponents: [Int] { sides.indices.filter { sides[$0] == .backward } }
    public var eitherComponents: [Int] { sides.indices.filter { sides[$0] == .either } }
    /// The smallest margin over the components.
    public var smallestMargin: Double { margins.min() ?? .infinity }
}

/// The Wilson–Hilferty normal score of `q ~ χ²_k`: `((q/k)^{1/3} − (1 − 2/(9k))) / √(2/(9k))`.
public func chiSquareNormalScore(_ q: Double, degreesOfFreedom k: Int) -> Double {
    let kk = Double(k), v = 2 / (9 * kk)
    return (Foundation.pow(max(q, 0) / kk, 1.0 / 3) - (1 - v)) / v.squareRoot()
}

/// The assignment from the projected t−1 and t+1 moments (D×D each) and their standard errors
/// (see `UnitAssignment`). Standard errors below `floor` are raised to it (exact moments: pass
/// a small multiple of the largest entry).
public func assignUnits(past: Tensor, pastStandardError: Tensor, future: Tensor, futureStandardError: Tensor,
                        floor: Double = 0) -> UnitAssignment {
    let d = past.shape[0]
    func scores(_ p: Tensor, _ se: Tensor) -> (z: [Double], magnitude: [Double], noise: [Double]) {
        var z: [Double] = [], magnitude: [Double] = [], noise: [Double] = []
        for j in 0..<d {
            var entries = (0..<d).map { [j, $0] }
            entries += (0..<d).filter { $0 != j }.map { [$0, j] }
            var q = 0.0, m = 0.0, s = 0.0
            for e in entries {
                let sd = max(se[e], floor, Double.leastNormalMagnitude)
                q += (p[e] / sd) * (p[e] / sd)
                m += p[e] * p[e]
                s += se[e] * se[e]
            }
            z.append(chiSquareNormalScore(q, degreesOfFreedom: entries.count))
            magnitude.append(m.squareRoot() / 4)
            noise.append(s.squareRoot() / 4)
        }
        return (z, magnitude, noise)
    }
    let before = scores(past, pastStandardError), after = scores(future, futureStandardError)
    let hi = UnitAssignment.significant, lo = UnitAssignment.absent
    var sides: [UnitAssignment.Side] = [], margins: [Double] = []
    for j in 0..<d {
        let zp = before.z[j], zf = after.z[j]
        let forward = min(zp - hi, hi - zf), backward = min(zf - hi, hi - zp)
        let either = min(lo - zp, lo - zf), both = min(zp - hi, zf - hi)
        if forward >= 0 && zf < hi { sides.append(.forward); margins.append(forward) }
        else if backward >= 0 && zp < hi { sides.append(.backward); margins.append(backward) }
        else if either > 0 { sides.append(.either); margins.append(either) }
        else if both >= 0 { sides.append(.both); margins.append(-both) }
        else { sides.append(.undetermined); margins.append(max(forward, backward, either)) }
    }
    return UnitAssignment(sides: sides, pastScores: before.z, futureScores: after.z,
                          pastMagnitudes: before.magnitude, futureMagnitudes: after.magnitude,
                          pastNoise: before.noise, futureNoise: after.noise, margins: margins)
}

/// How many components are backward: given (dz), or found from the assignment.
public enum BackwardUnits: Sendable, Equatable {
    case given(Int)
    case auto
}

/// The sides of the components as counts dh, dz call for: forward and backward ones as
/// assigned, feed-forward ones filling the forward side first (then the backward side when dz
/// is given); refuses, naming the components, when the assignment has `both` or
/// `undetermined` components or more on a side than the counts allow.
func resolveSides(_ assignment: UnitAssignment, backward: BackwardUnits) throws
    -> (forward: [Int], backward: [Int], notes: [String]) {
    let d = assignment.sides.count
    func z(_ j: Int) -> String {
        "z⁻ = \(formatNumber(assignment.pastScores[j], digits: 3)), z⁺ = \(formatNumber(assignment.futureScores[j], digits: 3))"
    }
    let rule = "a side counts at z ≥ \(formatNumber(UnitAssignment.significant)); no recurrence at all is z < \(formatNumber(UnitAssignment.absent)) on both"
    let both = assignment.sides.indices.filter { assignment.sides[$0] == .both }
    if !both.isEmpty {
        throw ModelError("GLOREE-B: component\(both.count == 1 ? "" : "s") \(both.map { String($0 + 1) }.joined(separator: ", ")) \(both.count == 1 ? "shows" : "show") recurrence on both the t−1 and the t+1 side (\(both.map(z).joined(separator: "; ")); \(rule)): no unit of a bidirectional RNN does; dh + dz may be wrong, or the data are not from this model")
    }
    let open = assignment.sides.indices.filter { assignment.sides[$0] == .undetermined }
    if !open.isEmpty {
        throw ModelError("GLOREE-B: the data cannot tell which side component\(open.count == 1 ? "" : "s") \(open.map { String($0 + 1) }.joined(separator: ", ")) \(open.count == 1 ? "is" : "are") on (\(open.map(z).joined(separator: "; ")); \(rule)): use more windows")
    }
    var forward = assignment.forwardComponents, backwardSide = assignment.backwardComponents
    let either = assignment.eitherComponents
    // "No recurrence seen" is a finding only where recurrence would have been seen: some
    // component must show it, and the feed-forward ones' noise must be well below it.
    let assigned = forward.map { assignment.pastMagnitudes[$0] } + backwardSide.map { assignment.futureMagnitudes[$0] }
    guard let weakest = assigned.min() else {
        let largest = (assignment.pastScores + assignment.futureScores).max() ?? 0
        throw ModelError("GLOREE-B: no component shows recurrence on either side (largest z = \(formatNumber(largest, digits: 3)); \(rule)): the data cannot separate forward from backward units; use more windows (a model without recurrence is walkthrough 03's, fitted by plain fit)")
    }
    for j in either {
        let bound = max(assignment.pastMagnitudes[j] + 3 * assignment.pastNoise[j],
                        assignment.futureMagnitudes[j] + 3 * assignment.futureNoise[j])
        guard bound < UnitAssignment.feedForwardFraction * weakest else {
            throw ModelError("GLOREE-B: component \(j + 1) shows no recurrence (\(z(j))), but the data cannot rule out recurrent weights of up to \(formatNumber(bound, digits: 3)), comparable to the weakest assigned unit's \(formatNumber(weakest, digits: 3)): whether it is feed-forward or on a side is undetermined; use more windows")
        }
    }
    var notes: [String] = []
    switch backward {
    case .given(let dz):
        guard dz >= 0, dz <= d else {
            throw ModelError("GLOREE-B: dz = \(dz) backward units of dh + dz = \(d) is impossible")
        }
        guard backwardSide.count <= dz, forward.count <= d - dz else {
            throw ModelError("GLOREE-B: the data put \(forward.count) component\(forward.count == 1 ? "" : "s") on the forward side and \(backwardSide.count) on the backward side (\(either.count) either), which does not fit the given dh = \(d - dz), dz = \(dz); give --backward auto to take the data's count")
        }
        for j in either {
            if forward.count < d - dz { forward.append(j) } else { backwardSide.append(j) }
        }
    case .auto:
        forward += either
    }
    for j in either {
        notes.append("component \(j + 1) shows no recurrence on either side (\(z(j))): it is feed-forward to within the sampling error and was put on the \(forward.contains(j) ? "forward" : "backward") side, where it makes the same model")
    }
    forward.sort()
    backwardSide.sort()
    if backwardSide.isEmpty {
        notes.append("no component is backward: the model is walkthrough 03's IO-RNN, and GLOREE-B is its GLOREE (U from the t−1 moment)")
    }
    return (forward, backwardSide, notes)
}

/// GLOREE-B's estimate and what it was computed from.
public struct BidirectionalGLOREEFit: Sendable {
    /// The estimated BRNN (noise 0): forward units from `forwardComponents`, backward from `backwardComponents`.
    public let model: BidirectionalIORNN
    public let assignment: UnitAssignment
    /// Indices (decomposition order) of the components put on each side, ascending.
    public let forwardComponents: [Int]
    public let backwardComponents: [Int]
    /// The unit directions ĉ_j (rows, D×dx) and the rows b_j of Â2 (D×dy), in decomposition order.
    public let directions: Tensor
    public let outputWeights: Tensor
    /// The duals α = pinv(Ĉ) (dx×D) and β = pinv(Â2) (dy×D).
    public let alpha: Tensor
    public let beta: Tensor
    /// `P⁻_jk = T⁻(β_j, α_j, α_k, α_k)` and `P⁺_jk` (D×D, decomposition order).
    public let projectedPast: Tensor
    public let projectedFuture: Tensor
    public let decomposition: CPDecomposition
    /// `‖T − Σ_j λ_j b̂_j ⊗ ĉ_j ⊗ ĉ_j‖_F / ‖T‖_F` on the second-order moment.
    public let decompositionResidual: Double
    public let conditionNumberInputWeights: Double
    public let conditionNumberA2: Double
    /// What the assignment did beyond the plain verdicts (feed-forward units, dz = 0).
    public let notes: [String]
    public let warnings: [String]

    public func model(noise: Double) throws -> BidirectionalIORNN { try model.withNoise(noise) }
}

/// The block `P_{jk} / 4`, j, k ∈ `components`, of a projected mixed moment (U or V, or their
/// standard errors); nil for no components.
private func recurrentBlock(_ p: Tensor, _ components: [Int]) -> Tensor? {
    components.isEmpty ? nil : Tensor(shape: [components.count, components.count]) { i in p[components[i[0]], components[i[1]]] / 4 }
}

/// Steps 2–3 on given factors and projections.
private func assembleBidirectional(factors f: GLOREEFactors,
                                   past: Tensor, pastSE: Tensor, future: Tensor, futureSE: Tensor, floor: Double,
                                   backward: BackwardUnits) throws -> BidirectionalGLOREEFit {
    let assignment = assignUnits(past: past, pastStandardError: pastSE, future: future, futureStandardError: futureSE, floor: floor)
    let (forward, backwardSide, notes) = try resolveSides(assignment, backward: backward)
    let dx = f.a1.shape[1], dy = f.a2.shape[1], d = f.a1.shape[0]
    func rows(_ m: Tensor, _ r: [Int]) -> Tensor? {
        r.isEmpty ? nil : Tensor(shape: [r.count, m.shape[1]]) { i in m[r[i[0]], i[1]] }
    }
    let a2 = rows(f.a2, forward + backwardSide)!
    let model = try BidirectionalIORNN(a1: rows(f.a1, forward), u: recurrentBlock(past, forward),
                                       b1: rows(f.a1, backwardSide), v: recurrentBlock(future, backwardSide), a2: a2)
    let c1 = try rowConditionNumber(f.a1), c2 = try rowConditionNumber(f.a2)
    let warnings = rankWarnings(dx: dx, dh: d, dy: dy, conditionA1: c1, conditionA2: c2,
                                units: "dh + dz", theorem: "Theorem 7", inputWeights: "[A1; B1]")
    return BidirectionalGLOREEFit(model: model, assignment: assignment, forwardComponents: forward,
                                  backwardComponents: backwardSide, directions: f.a1, outputWeights: f.a2,
                                  alpha: f.alpha, beta: f.beta, projectedPast: past, projectedFuture: future,
                                  decomposition: f.decomposition, decompositionResidual: f.residual,
                                  conditionNumberInputWeights: c1, conditionNumberA2: c2, notes: notes, warnings: warnings)
}

/// GLOREE-B on given dense moments (tests, checks): `second` ≈ 2 Σ b_j⊗c_j⊗c_j (dy×dx×dx),
/// `past` ≈ E[y_t ⊗ S_{t,t−1,t−1}], `future` ≈ E[y_t ⊗ S_{t,t+1,t+1}] (dy×dx×dx×dx each), D = dh + dz.
/// Exact moments have no sampling error: entries are judged against `relativeTolerance` times
/// the largest projected entry. On population moments it recovers the model to rounding.
public func gloreeB(fromMoments second: Tensor, past: Tensor, future: Tensor, hidden d: Int,
                    backward: BackwardUnits = .auto, relativeTolerance: Double = 1e-9,
                    decomposer: Decomposer = .refined, seed: UInt64 = 0) throws -> BidirectionalGLOREEFit {
    let f = try gloreeFactors(second: second, hidden: d, decomposer: decomposer, seed: seed)
    let dy = second.shape[0], dx = second.shape[1]
    for (name, m) in [("t−1", past), ("t+1", future)] {
        guard m.shape == [dy, dx, dx, dx], m.isFinite else {
            throw ModelError("GLOREE-B: the \(name) mixed moment must be finite and dy×dx×dx×dx = \(dy)×\(dx)×\(dx)×\(dx), got shape \(m.shape)")
        }
    }
    let p = projectMixedMoment(past, alpha: f.alpha, beta: f.beta)
    let q = projectMixedMoment(future, alpha: f.alpha, beta: f.beta)
    let floor = relativeTolerance * max(p.maxAbs, q.maxAbs, Double.leastNormalMagnitude)
    return try assembleBidirectional(factors: f, past: p, pastSE: Tensor.zeros([d, d]), future: q,
                                     futureSE: Tensor.zeros([d, d]), floor: floor, backward: backward)
}

/// The result of GLOREE-B from windows.
public struct BidirectionalGLOREEResult: Sendable {
    public let fit: BidirectionalGLOREEFit
    /// Pass 1: `Ê[y_t ⊗ S_2(x[n], t)]` (dy×dx×dx), every (window, t) pair.
    public let secondMoment: StreamingMean
    /// Pass 2: P⁻ (D×D) over the pairs with t ≥ 2, and P⁺ (D×D) over those with t ≤ n − 1.
    public let projectedPast: StreamingMean
    public let projectedFuture: StreamingMean
    /// Standard errors of Û and V̂ entrywise (batch standard errors of P / 4), on the assigned blocks.
    public let uStandardError: Tensor?
    public let vStandardError: Tensor?
    /// `‖SE‖_F / ‖Û‖_F` and the same for V̂ (nil for an empty side).
    public let uRelativeStandardError: Double?
    public let vRelativeStandardError: Double?
    public let secondMomentRelativeStandardError: Double
    public let warnings: [String]

    public var model: BidirectionalIORNN { fit.model }
    public func model(noise: Double) throws -> BidirectionalIORNN { try fit.model(noise: noise) }
}

/// GLOREE-B from windows, in two streaming passes (see the file's header): D = dh + dz
/// components, `backward` the number dz of them that run backward (or `.auto`). Pass 2 pools the
/// t−1 moment over t ≥ 2 and the t+1 moment over t ≤ n − 1 (pairs whose t−1 or t+1 falls
/// outside the window are not used; the pair counts are in the result). Memory does not grow
/// with the data; deterministic for a seed.
public func gloreeB(_ source: WindowSource, process: AR1Process, hidden d: Int, backward: BackwardUnits = .auto,
                    decomposer: Decomposer = .refined, seed: UInt64, threads: Int = 2,
                    progress: Progress? = nil) throws -> BidirectionalGLOREEResult {
    guard source.inputDimension == process.dimension else {
        throw ModelError("GLOREE-B: the windows have dx = \(source.inputDimension) but the input process has dimension \(process.dimension)")
    }
    if case .given(let dz) = backward, dz < 0 || dz > d {
        throw ModelError("GLOREE-B: dz = \(dz) backward units of dh + dz = \(d) is impossible")
    }
    let dx = source.inputDimension, dy = source.outputDimension
    let second = try estimateSecondOrderMoment(source, process: process, threads: threads, progress: progress)
    let secondRelative = second.standardError.frobeniusNorm / second.mean.frobeniusNorm
    let f = try gloreeFactors(second: second.mean, hidden: d, decomposer: decomposer, seed: seed,
                              samplingError: secondRelative.isFinite ? secondRelative : nil)
    guard second.count >= 2, secondRelative <= 0.2 else {
        throw ModelError("GLOREE-B: the second-order moment is too uncertain (relative standard error \(formatNumber(secondRelative, digits: 3)) from \(second.count) samples, above 0.2) for the duals the assignment of forward and backward units projects on: use more windows")
    }
    let pastEngine = try WindowMomentKernels.Engine(source: source, process: process, secondOrder: false, mixed: false,
                                                    projection: (f.alpha, f.beta), threads: threads)
    let futureEngine = try WindowMomentKernels.Engine(source: source, process: try process.timeReversed(), secondOrder: false,
                                                      mixed: false, projection: (f.alpha, f.beta), threads: threads)
    var reversal = BatchReversal(dx: dx, dy: dy)
    try source.forEachBatch { batch in
        let pairs = try pastEngine.accumulate(batch)
        try futureEngine.accumulate(reversal.reversed(batch))
        progress?.advance(pairs)
    }
    let past = pastEngine.projectedResult(), future = futureEngine.projectedResult()
    guard past.count >= 2, future.count >= 2 else {
        throw ModelError("GLOREE-B: the t−1 and t+1 moments need windows of at least 2 steps and at least 2 pairs each, got \(past.count) and \(future.count)")
    }
    let pastSE = past.batchStandardError ?? past.standardError
    let futureSE = future.batchStandardError ?? future.standardError
    let fit = try assembleBidirectional(factors: f, past: past.mean, pastSE: pastSE, future: future.mean, futureSE: futureSE,
                                        floor: 0, backward: backward)
    let uSE = recurrentBlock(pastSE, fit.forwardComponents), vSE = recurrentBlock(futureSE, fit.backwardComponents)
    let uRelative = uSE.map { $0.frobeniusNorm / fit.model.forward!.u.frobeniusNorm }
    let vRelative = vSE.map { $0.frobeniusNorm / fit.model.backward!.u.frobeniusNorm }
    var warnings = fit.warnings
    func g(_ x: Double) -> String { String(format: "%.3g", x) }
    for (name, relative, moment) in [("U", uRelative, past), ("V", vRelative, future)] {
        if let relative, !(relative <= 0.5) {
            warnings.append("\(name) is uncertain (relative standard error \(g(relative)) from \(moment.count) samples): use more windows")
        }
    }
    // As for GLOREE: the best fit leaves about ‖E‖ √(1 − p/n), below the sampling error.
    if secondRelative.isFinite, f.residual > secondRelative + 1e-12 {
        warnings.append("the rank-\(d) decomposition (\(decomposer.rawValue)) leaves a residual of \(g(f.residual)), above the sampling error \(g(secondRelative)): dh + dz may be wrong, or the data not from a quadratic BRNN with this input process")
    }
    return BidirectionalGLOREEResult(fit: fit, secondMoment: second, projectedPast: past, projectedFuture: future,
                                     uStandardError: uSE, vStandardError: vSE, uRelativeStandardError: uRelative,
                                     vRelativeStandardError: vRelative, secondMomentRelativeStandardError: secondRelative,
                                     warnings: warnings)
}
