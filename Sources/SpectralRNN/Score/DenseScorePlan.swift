/// A dense mixed score `S_{τ1…τm}(x[n])` compiled once for fixed slot times and a fixed
/// precision, then evaluated per sample without allocating (MATH.md §2, paper eq. 8–9).
///
/// Every entry of the score is the sum over the partial matchings of its m slots of
/// `Π_pairs (−P_{τa τb})[i_a, i_b] · Π_singles u_{τc}[i_c]`; the P factors are constants, so
/// each entry is a fixed polynomial in the entries of `u_τ` at the distinct slot times. The
/// plan stores those monomials (coefficient and variables, zero coefficients dropped) and
/// evaluates them with plain loops: for the small dimensions where a dense score is wanted
/// (dx^m entries) it costs a few hundred flops per sample, against the allocations of the
/// memoized recursion of `GaussianScore.mixed`, which it equals to rounding. The expansion is
/// the matching sum of `GaussianScore.mixedByMatchings`, done once symbolically instead of per
/// entry and per sample.
public struct DenseScorePlan: Sendable {
    /// The distinct slot times, in first-appearance order: the plan reads `u_τ` for these.
    public let times: [Int]
    /// dx.
    public let dimension: Int
    /// m, the number of slots.
    public let order: Int
    /// The number of entries, dx^m.
    public let count: Int
    private let termStart: [Int]      // entry e has terms termStart[e]..<termStart[e+1]
    private let coefficients: [Double]
    private let variableStart: [Int]  // term k has variables variableStart[k]..<variableStart[k+1]
    private let variables: [Int]      // index into the stacked u: timeIndex · dx + i

    /// Compiles `S_{τ1…τm}` for slot times `slotTimes` under `precision` (all times inside its window).
    public init(slotTimes: [Int], precision: WindowPrecision) {
        let d = precision.dimension, m = slotTimes.count
        precondition(m >= 1 && slotTimes.allSatisfy { $0 >= 0 && $0 < precision.length }, "DenseScorePlan: slot times outside the window")
        var distinct: [Int] = []
        for t in slotTimes where !distinct.contains(t) { distinct.append(t) }
        let position = slotTimes.map { distinct.firstIndex(of: $0)! }
        var blocks: [[Int]: Tensor] = [:]
        for a in distinct { for b in distinct { blocks[[a, b]] = precision.block(a, b) } }
        var termStart = [0], coefficients: [Double] = [], variableStart = [0], variables: [Int] = []
        var entries = 1
        for _ in 0..<m { entries *= d }
        var index = [Int](repeating: 0, count: m)
        for _ in 0..<entries {
            // Matchings: take the first open slot; leave it single or pair it with a later one.
            func expand(_ open: [Int], _ coefficient: Double, _ singles: [Int]) {
                guard let first = open.first else {
                    coefficients.append(coefficient)
                    variables += singles
                    variableStart.append(variables.count)
                    return
                }
                let rest = Array(open.dropFirst())
                expand(rest, coefficient, singles + [position[first] * d + index[first]])
                for (k, partner) in rest.enumerated() {
                    let p = blocks[[slotTimes[first], slotTimes[partner]]]!.storage[index[first] * d + index[partner]]
                    guard p != 0 else { continue }
                    var remaining = rest
                    remaining.remove(at: k)
                    expand(remaining, -coefficient * p, singles)
                }
            }
            expand(Array(0..<m), 1, [])
            termStart.append(coefficients.count)
            var k = m - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < d { break }
                index[k] = 0
                k -= 1
            }
        }
        self.times = distinct
        self.dimension = d
        self.order = m
        self.count = entries
        self.termStart = termStart
        self.coefficients = coefficients
        self.variableStart = variableStart
        self.variables = variables
    }

    /// Writes the dx^m entries (row-major) into `output[offset…]`, scaled by `scale`, from the
    /// first-order scores stacked as `u[timeIndex · dx + i] = (u_{times[timeIndex]})_i`.
    public func evaluate(u: UnsafeBufferPointer<Double>, scale: Double = 1,
                         into output: UnsafeMutableBufferPointer<Double>, at offset: Int) {
        coefficients.withUnsafeBufferPointer { c in
            variables.withUnsafeBufferPointer { v in
                variableStart.withUnsafeBufferPointer { vs in
                    termStart.withUnsafeBufferPointer { ts in
                        for e in 0..<count {
                            var sum = 0.0
                            for k in ts[e]..<ts[e + 1] {
                                var product = c[k]
                                for j in vs[k]..<vs[k + 1] { product *= u[v[j]] }
                                sum += product
                            }
                            output[offset + e] = scale * sum
                        }
                    }
                }
            }
        }
    }

    /// The score as a Tensor (dx^m), for tests and small uses.
    public func evaluate(window x: Tensor, precision: WindowPrecision) -> Tensor {
        let stacked = times.flatMap { precision.u(x, at: $0) }
        var out = [Double](repeating: 0, count: count)
        stacked.withUnsafeBufferPointer { u in
            out.withUnsafeMutableBufferPointer { o in evaluate(u: u, into: o, at: 0) }
        }
        return Tensor(shape: Array(repeating: dimension, count: order), storage: out)
    }
}
