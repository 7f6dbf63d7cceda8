/// Gaussian score functions of a window `x[n]` with precision P (paper eq. 7–11, MATH.md §2).
///
/// With `u = P x`, the m-th order score `S_m = (−1)^m ∇^m p / p` is the multivariate
/// Hermite tensor: the sum over all partial matchings of its m index slots, each matched
/// pair (a, b) contributing `−P_ab` and each unmatched slot c contributing `u_c`. A mixed
/// score `S_{τ1…τm}(x[n])` puts slot k at time `τk`; `S_m(x[n], t)` is the case τ = (t, …, t).
public enum GaussianScore {
    /// `S_{τ1…τm}(x[n])` as a dense dx^m tensor, by the three-term recursion
    /// `S_{1…m} = S_{1…m−1} ⊗ u_{τm} − Σ_{k<m} P_{τk τm} ⊗ S_{1…k̂…m−1}` — paper eq. 8,
    /// `S_m = S_{m−1} ⊗ u − ∇_x S_{m−1}`, written out since `∇_x u = P`.
    public static func mixed(window x: Tensor, times: [Int], precision: WindowPrecision) -> Tensor {
        let us = Dictionary(uniqueKeysWithValues: Set(times).map { ($0, precision.u(x, at: $0)) })
        return mixed(u: { us[$0]! }, times: times, precision: precision)
    }

    /// `S_m(x[n], t)`, the m-th order score at time t (paper eq. 9) as a dense dx^m tensor.
    public static func atTime(_ t: Int, order m: Int, window x: Tensor, precision: WindowPrecision) -> Tensor {
        mixed(window: x, times: Array(repeating: t, count: m), precision: precision)
    }

    /// The mixed score from given first-order scores `u(τ)` (so a caller that already has
    /// `u = P x` does not compute it again).
    public static func mixed(u: (Int) -> [Double], times: [Int], precision: WindowPrecision) -> Tensor {
        let d = precision.dimension
        let slotCount = times.count
        var memo = [Tensor?](repeating: nil, count: 1 << slotCount)
        memo[0] = Tensor(scalar: 1)
        var uCache: [Int: [Double]] = [:]
        for time in times where uCache[time] == nil { uCache[time] = u(time) }
        // The score over the slots in `mask` (bit k = slot k), in increasing slot order.
        func score(_ mask: Int) -> Tensor {
            if let known = memo[mask] { return known }
            let slots = (0..<slotCount).filter { mask & (1 << $0) != 0 }
            let last = slots.count - 1
            let lastTime = times[slots[last]]
            let uLast = uCache[lastTime]!
            let previous = score(mask & ~(1 << slots[last]))
            let withoutPair = (0..<last).map { k in score(mask & ~(1 << slots[last]) & ~(1 << slots[k])) }
            let blocks = (0..<last).map { k in precision.block(times[slots[k]], lastTime) }
            let shape = Array(repeating: d, count: slots.count)
            var result = Tensor.zeros(shape)
            var index = [Int](repeating: 0, count: slots.count)
            for position in 0..<result.count {
                let iLast = index[last]
                var value = uLast[iLast] * previous.storage[position / d]
                for k in 0..<last {
                    let coupling = blocks[k].storage[index[k] * d + iLast]
                    if coupling != 0 {
                        // Row-major offset of the index with slots k and last removed.
                        var reduced = 0
                        for m in 0..<last where m != k { reduced = reduced * d + index[m] }
                        value -= coupling * withoutPair[k].storage[reduced]
                    }
                }
                result.storage[position] = value
                Tensor.advance(&index, in: shape)
            }
            memo[mask] = result
            return result
        }
        return score((1 << slotCount) - 1)
    }

    /// The same mixed score by its closed form, the sum over all partial matchings of the
    /// slots (MATH.md §2). Exponential in m: for checking the recursion, not for use.
    public static func mixedByMatchings(window x: Tensor, times: [Int], precision: WindowPrecision) -> Tensor {
        let d = precision.dimension
        let us = times.map { precision.u(x, at: $0) }
        let shape = Array(repeating: d, count: times.count)
        return Tensor(shape: shape) { index in
            // Sum over matchings: take the first open slot; leave it single or pair it.
            func sum(_ open: [Int]) -> Double {
                guard let first = open.first else { return 1 }
                let rest = Array(open.dropFirst())
                var total = us[first][index[first]] * sum(rest)
                for (k, partner) in rest.enumerated() {
                    var remaining = rest
                    remaining.remove(at: k)
                    total -= precision.entry(times[first], index[first], times[partner], index[partner]) * sum(remaining)
                }
                return total
            }
            return sum(Array(0..<times.count))
        }
    }
}

extension GaussianScore {
    /// The entry-wise sum of the absolute values of the terms of the matching sum of
    /// `S_{τ1…τm}` (MATH.md §2): `|P_ab|` for each matched pair and `magnitude(τ_c)[i_c]` for
    /// each single slot — with `magnitude(τ) ≥ |u_τ|` entry-wise, a bound on `|S|` and the
    /// scale its rounding errors are measured against.
    public static func absoluteTermSum(magnitude: (Int) -> [Double], times: [Int],
                                       precision: WindowPrecision) -> Tensor {
        mixed(u: magnitude, times: times, precision: precision.negatedAbsolute)
    }

    /// `absoluteTermSum` for a window, with `(|P| |x|)_τ ≥ |u_τ|` for the single slots.
    public static func absoluteTermSum(window x: Tensor, times: [Int], precision: WindowPrecision) -> Tensor {
        absoluteTermSum(magnitude: { precision.absoluteU(x, at: $0) }, times: times, precision: precision)
    }

    /// Roundings on any path of the library's order-m score of dimension d: one entry of
    /// `u_t = Σ_s P_ts x_s` takes 3 blocks × d products and sums (≤ 2·3d + 3 roundings); level k
    /// of the three-term recursion adds one product and k − 1 product–subtraction pairs
    /// (≤ 2k roundings), Σ_{k=2}^{m} 2k = m(m+1) − 2.
    public static func roundings(order m: Int, dimension d: Int) -> Int { 6 * d + 3 + recursionRoundings(order: m) }

    /// The roundings the recursion itself adds to given `u` and P: m(m+1) − 2.
    public static func recursionRoundings(order m: Int) -> Int { m * (m + 1) - 2 }

    /// An entry-wise bound on the rounding error of `mixed(window:times:precision:)`:
    /// `γ_K · absoluteTermSum`, K = `roundings(order:dimension:)` (Higham §3.1, see `Rounding`).
    public static func roundingBound(window x: Tensor, times: [Int], precision: WindowPrecision) -> Tensor {
        absoluteTermSum(window: x, times: times, precision: precision)
            * Rounding.gamma(roundings(order: times.count, dimension: precision.dimension))
    }
}

/// One slot of a contracted mixed score: the time it lies at and the vector it is
/// contracted with.
public struct ScoreSlot: Sendable, Equatable {
    public let time: Int
    public let vector: [Double]
    public init(time: Int, vector: [Double]) {
        self.time = time
        self.vector = vector
    }
}

/// A mixed score contracted with one vector per slot, `S_{τ1…τm}(x[n])(v1, …, vm)`, computed
/// without building the dx^m tensor.
///
/// Slots with the same time and vector are grouped (g = 1…r, multiplicities n_g). With
/// `a_g = u_{τg}·w_g` and `C_gh = w_gᵀ P_{τg τh} w_h`, the contraction is the multivariate
/// Hermite polynomial `H_n(a; C)`, computed by `H_{k+e_g} = a_g H_k − Σ_h C_gh k_h H_{k−e_h}`
/// over the `Π (n_g + 1)` multi-indices `k ≤ n`: polynomial in m for a fixed number of
/// distinct vectors. C does not depend on x and is computed once; each window then costs
/// `u` at the r slot times and r dot products.
public struct ContractedScore: Sendable {
    /// The distinct (time, vector) pairs.
    public let groups: [ScoreSlot]
    /// The multiplicity of each group.
    public let multiplicities: [Int]
    /// `C_gh = w_gᵀ P_{τg τh} w_h`.
    public let coupling: Tensor
    /// The recursion as a flat schedule (see `HermiteSchedule`).
    let schedule: HermiteSchedule

    /// Prepares the contraction of `S_{τ1…τm}` with the slots' vectors under precision P.
    public init(slots: [ScoreSlot], precision: WindowPrecision) {
        var groups: [ScoreSlot] = []
        var multiplicities: [Int] = []
        for slot in slots {
            precondition(slot.vector.count == precision.dimension, "ContractedScore: vector of length \(slot.vector.count), expected \(precision.dimension)")
            precondition(slot.time >= 0 && slot.time < precision.length, "ContractedScore: time \(slot.time) outside the window")
            if let g = groups.firstIndex(of: slot) {
                multiplicities[g] += 1
            } else {
                groups.append(slot)
                multiplicities.append(1)
            }
        }
        let r = groups.count
        var c = Tensor.zeros([r, r])
        for g in 0..<r {
            for h in 0..<r {
                let block = precision.block(groups[g].time, groups[h].time)
                c[g, h] = dot(groups[g].vector, matvec(block, groups[h].vector))
            }
        }
        self.groups = groups
        self.multiplicities = multiplicities
        self.coupling = c
        self.schedule = HermiteSchedule(multiplicities: multiplicities, coupling: c)
    }

    /// The contraction for a window, given its first-order scores `u(τ)` at the slot times.
    public func value(u: (Int) -> [Double]) -> Double {
        value(projections: groups.map { dot(u($0.time), $0.vector) })
    }

    /// The contraction for a window x (n×dx) under the precision the score was prepared with.
    public func value(window x: Tensor, precision: WindowPrecision) -> Double {
        value(u: { precision.u(x, at: $0) })
    }

    /// The sum of the absolute values of the terms of the contraction for a window x: the
    /// same matching sum with `|w_g|ᵀ(|P| |x|)_{τg}` for each single slot and `|w_g|ᵀ|P_{τg τh}||w_h|`
    /// for each pair — equal to `absoluteTermSum` of the dense score contracted with the `|v_k|`.
    public func absoluteTermSum(window x: Tensor, precision: WindowPrecision) -> Double {
        let absoluteSlots = zip(groups, multiplicities).flatMap { group, k in
            Array(repeating: ScoreSlot(time: group.time, vector: group.vector.map(abs)), count: k)
        }
        let bound = ContractedScore(slots: absoluteSlots, precision: precision.negatedAbsolute)
        return bound.value(projections: bound.groups.map { dot(precision.absoluteU(x, at: $0.time), $0.vector) })
    }

    /// Roundings on any path of `value(window:precision:)`: `u` (6d + 3, as for the dense score),
    /// a projection on w (2d), a coupling `wᵀ P w` (4d), and per recursion level one product and
    /// r product–subtraction pairs (2(r + 1)), over m levels.
    public func roundings(dimension d: Int) -> Int {
        6 * d + 3 + 2 * d + 4 * d + 2 * multiplicities.reduce(0, +) * (groups.count + 1)
    }

    /// A bound on the rounding error of `value(window:precision:)`: `γ_K · absoluteTermSum`.
    public func roundingBound(window x: Tensor, precision: WindowPrecision) -> Double {
        Rounding.gamma(roundings(dimension: precision.dimension)) * absoluteTermSum(window: x, precision: precision)
    }

    /// The contraction from the projections `a_g = u_{τg}·w_g`.
    public func value(projections a: [Double]) -> Double {
        var h = [Double](repeating: 0, count: schedule.states)
        return a.withUnsafeBufferPointer { pa in
            h.withUnsafeMutableBufferPointer { ph in schedule.evaluate(pa.baseAddress!, into: ph.baseAddress!) }
        }
    }
}

/// The Hermite recursion of `ContractedScore`, flattened once so that each evaluation is a
/// loop over precomputed terms with no allocation (the hot path of the projected moment
/// engine, ProjectedScoreMoment.swift).
///
/// Multi-indices `k ≤ n` (n the multiplicities) are numbered row-major; state 0 is `H_0 = 1`.
/// Each later state k is built from its predecessor `k − e_g` (g the last index that was
/// incremented) as `H_k = a_g H_{k−e_g} − Σ_h C_gh (k − e_g)_h H_{k−e_g−e_h}`; the schedule
/// stores, per state, g, the predecessor, and the (state, coefficient) pairs of the sum.
struct HermiteSchedule: Sendable {
    /// The number of multi-indices, `Π (n_g + 1)`; the last one is the contraction.
    let states: Int
    /// Per state s ≥ 1: the group whose projection multiplies, and the predecessor state.
    let group: [Int32]
    let predecessor: [Int32]
    /// Per state s ≥ 1, the terms `termStart[s]..<termStart[s+1]` of the sum.
    let termStart: [Int32]
    let termState: [Int32]
    let termCoefficient: [Double]

    init(multiplicities: [Int], coupling: Tensor) {
        let r = multiplicities.count
        var strides = [Int](repeating: 1, count: r)
        var states = 1
        for g in stride(from: r - 1, through: 0, by: -1) {
            strides[g] = states
            states *= multiplicities[g] + 1
        }
        var group = [Int32](repeating: 0, count: states), predecessor = [Int32](repeating: 0, count: states)
        var termStart = [Int32](repeating: 0, count: states + 1)
        var termState: [Int32] = [], termCoefficient: [Double] = []
        var k = [Int](repeating: 0, count: r)
        for state in 1..<max(1, states) {
            var g = r - 1
            while true {
                k[g] += 1
                if k[g] <= multiplicities[g] { break }
                k[g] = 0
                g -= 1
            }
            let from = state - strides[g]
            group[state] = Int32(g)
            predecessor[state] = Int32(from)
            termStart[state] = Int32(termState.count)
            for other in 0..<r {
                let kOther = k[other] - (other == g ? 1 : 0)
                if kOther > 0, coupling[g, other] != 0 {
                    termState.append(Int32(from - strides[other]))
                    termCoefficient.append(coupling[g, other] * Double(kOther))
                }
            }
        }
        if states > 1 { termStart[states] = Int32(termState.count) }
        self.states = states
        self.group = group
        self.predecessor = predecessor
        self.termStart = termStart
        self.termState = termState
        self.termCoefficient = termCoefficient
    }

    /// The contraction for projections `a` (one per group), using `h` (room for `states` values).
    @inline(__always)
    func evaluate(_ a: UnsafePointer<Double>, into h: UnsafeMutablePointer<Double>) -> Double {
        h[0] = 1
        guard states > 1 else { return 1 }
        group.withUnsafeBufferPointer { pg in
            predecessor.withUnsafeBufferPointer { pp in
                termStart.withUnsafeBufferPointer { ps in
                    termState.withUnsafeBufferPointer { pts in
                        termCoefficient.withUnsafeBufferPointer { ptc in
                            for state in 1..<states {
                                var value = a[Int(pg[state])] * h[Int(pp[state])]
                                var term = Int(ps[state])
                                let end = Int(ps[state + 1])
                                while term < end {
                                    value -= ptc[term] * h[Int(pts[term])]
                                    term += 1
                                }
                                h[state] = value
                            }
                        }
                    }
                }
            }
        }
        return h[states - 1]
    }
}
