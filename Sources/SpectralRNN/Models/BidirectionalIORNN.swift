import Foundation

/// The bidirectional IO-RNN of paper §3.4 (eq. 18, MATH.md §6): forward units
/// `h_t = σ(A1 x_t + U h_{t−1})`, `h_0 = 0`; backward units `z_t = σ(B1 x_t + V z_{t+1})`,
/// `z_{n+1} = 0` at each window's end; `y_t = A2ᵀ [h_t; z_t] + η_t`, A2 ∈ R^{(dh+dz)×dy}.
///
/// Built from two `IORNN`s that share σ: `forward` (A1, U and the first dh rows of A2) runs
/// forward in time, `backward` (B1, V and the last dz rows of A2) is an IO-RNN of the
/// time-reversed window; either may be absent (dz = 0 is walkthrough 03's model). The output
/// is the sum of the two sides' outputs, and the noise is added once.
public struct BidirectionalIORNN: Sendable, WindowSimulator {
    /// A1 (dh×dx), U (dh×dh), the forward rows of A2 (dh×dy); nil when dh = 0.
    public let forward: IORNN?
    /// B1 (dz×dx), V (dz×dz), the backward rows of A2 (dz×dy); nil when dz = 0.
    public let backward: IORNN?
    /// The standard deviation of each entry of the output noise η_t.
    public let noise: Double
    public let coefficients: [Double]
    public let inputDimension: Int
    public let outputDimension: Int

    /// dh, the number of forward units.
    public var forwardDimension: Int { forward?.hiddenDimension ?? 0 }
    /// dz, the number of backward units.
    public var backwardDimension: Int { backward?.hiddenDimension ?? 0 }
    /// dh + dz, the rank of the second-order moment (Theorem 7).
    public var hiddenDimension: Int { forwardDimension + backwardDimension }

    /// `[A1; B1]` ((dh+dz)×dx): the rows c_j of Theorem 7, forward units first.
    public var stackedInputWeights: Tensor { Self.stack(forward?.a1, backward?.a1) }
    /// `A2` ((dh+dz)×dy): rows b_j, forward units first.
    public var a2: Tensor { Self.stack(forward?.a2, backward?.a2) }

    private static func stack(_ top: Tensor?, _ bottom: Tensor?) -> Tensor {
        switch (top, bottom) {
        case let (t?, b?): return Tensor(shape: [t.shape[0] + b.shape[0], t.shape[1]], storage: t.storage + b.storage)
        case let (t?, nil): return t
        case let (nil, b?): return b
        default: preconditionFailure("a bidirectional IO-RNN has at least one unit")
        }
    }

    /// A model from the forward parameters (A1 dh×dx, U dh×dh), the backward ones (B1 dz×dx,
    /// V dz×dz) — either pair nil for no units on that side — and A2 ((dh+dz)×dy, forward rows
    /// first); one-line errors on bad shapes, NaN/∞, negative noise or a bad activation.
    public init(a1: Tensor?, u: Tensor?, b1: Tensor?, v: Tensor?, a2: Tensor, noise: Double = 0,
                coefficients: [Double] = IORNN.quadratic) throws {
        guard (a1 == nil) == (u == nil), (b1 == nil) == (v == nil) else {
            throw ModelError("bidirectional IO-RNN: give A1 with U and B1 with V (or neither of a pair)")
        }
        guard a1 != nil || b1 != nil else {
            throw ModelError("bidirectional IO-RNN: needs at least one forward or backward unit")
        }
        let dh = a1.map { $0.order == 2 ? $0.shape[0] : 0 } ?? 0
        let dz = b1.map { $0.order == 2 ? $0.shape[0] : 0 } ?? 0
        guard a2.order == 2, a2.shape[0] == dh + dz, a2.shape[1] >= 1 else {
            throw ModelError("bidirectional IO-RNN: A2 must be (dh+dz)×dy = \(dh + dz)×dy (forward rows first), got shape \(a2.shape)")
        }
        if let a1, let b1, a1.order == 2, b1.order == 2, a1.shape[1] != b1.shape[1] {
            throw ModelError("bidirectional IO-RNN: A1 (\(a1.shape)) and B1 (\(b1.shape)) must have the same number dx of columns")
        }
        let dy = a2.shape[1]
        func rows(_ range: Range<Int>) -> Tensor {
            Tensor(shape: [range.count, dy], storage: Array(a2.storage[(range.lowerBound * dy)..<(range.upperBound * dy)]))
        }
        do {
            forward = try a1.map { try IORNN(a1: $0, u: u!, a2: rows(0..<dh), noise: 0, coefficients: coefficients) }
        } catch let error as ModelError {
            throw ModelError("bidirectional IO-RNN, forward units: " + error.message.replacingOccurrences(of: "IO-RNN: ", with: ""))
        }
        do {
            backward = try b1.map { try IORNN(a1: $0, u: v!, a2: rows(dh..<(dh + dz)), noise: 0, coefficients: coefficients) }
        } catch let error as ModelError {
            throw ModelError("bidirectional IO-RNN, backward units: " + error.message
                .replacingOccurrences(of: "IO-RNN: ", with: "").replacingOccurrences(of: "A1", with: "B1")
                .replacingOccurrences(of: "U must", with: "V must"))
        }
        guard noise >= 0, noise.isFinite else {
            throw ModelError("bidirectional IO-RNN: the noise sd must be finite and non-negative, got \(noise)")
        }
        self.noise = noise
        self.coefficients = coefficients
        inputDimension = (forward ?? backward!).inputDimension
        outputDimension = dy
    }

    /// The same model with another output noise sd.
    public func withNoise(_ noise: Double) throws -> BidirectionalIORNN {
        try BidirectionalIORNN(a1: forward?.a1, u: forward?.u, b1: backward?.a1, v: backward?.u, a2: a2,
                               noise: noise, coefficients: coefficients)
    }

    /// The forward-only IO-RNN of walkthrough 03 when there are no backward units.
    public var asForwardIORNN: IORNN? { backwardDimension == 0 ? try? forward?.withNoise(noise) : nil }

    // MARK: Simulation

    /// The noiseless outputs `E[y_t | x[n]] = A2ᵀ [h_t; z_t]` (N×n×dy) of N windows x (N×n×dx).
    ///
    /// The backward units run on each window read backwards, from `z_{n+1} = 0`. Throws the
    /// divergence of either side (for the backward side, t counts from the window's end).
    public func outputs(forWindows x: Tensor) throws -> Tensor {
        guard x.order == 3, x.shape[2] == inputDimension else {
            throw ModelError("bidirectional IO-RNN: windows x must be N×n×dx = N×n×\(inputDimension), got shape \(x.shape)")
        }
        guard x.isFinite else { throw ModelError("bidirectional IO-RNN: the input x has NaN or ∞ entries") }
        return try noiselessOutputs(x, firstWindow: 0)
    }

    private func noiselessOutputs(_ x: Tensor, firstWindow: Int) throws -> Tensor {
        let windows = x.shape[0], n = x.shape[1], dy = outputDimension
        var y = [Double](repeating: 0, count: windows * n * dy)
        if let forward {
            y = try forward.noiselessOutputs(x, windows: windows, length: n, firstWindow: firstWindow)
        }
        if let backward {
            let reversed: [Double]
            do {
                reversed = try backward.noiselessOutputs(x.reversedInTime(), windows: windows, length: n, firstWindow: firstWindow)
            } catch let error as ModelError {
                throw ModelError("backward units (run from each window's end, so t counts from the end): " + error.message)
            }
            let back = Tensor(shape: [windows, n, dy], storage: reversed).reversedInTime()
            for k in 0..<y.count { y[k] += back.storage[k] }
        }
        return Tensor(shape: [windows, n, dy], storage: y)
    }

    /// Windows `range` of N simulated windows (inputs and noisy outputs), with the streams of
    /// `IORNN.simulate(process:windowRange:length:seed:purpose:)`: the same seed gives the same
    /// inputs as walkthrough 03's simulator, and the result does not depend on the thread count.
    public func simulate(process: AR1Process, windowRange range: Range<Int>, length: Int, seed: UInt64,
                         purpose: String) throws -> (x: Tensor, y: Tensor) {
        guard process.dimension == inputDimension else {
            throw ModelError("bidirectional IO-RNN: the input process has dimension \(process.dimension), the model dx = \(inputDimension)")
        }
        let x = try process.simulatedInputs(windowRange: range, length: length, seed: seed, purpose: purpose)
        var y = try noiselessOutputs(x, firstWindow: range.lowerBound).storage
        addOutputNoise(&y, sd: noise, windowRange: range, length: length, outputDimension: outputDimension,
                       seed: seed, purpose: purpose)
        return (x, Tensor(shape: [range.count, length, outputDimension], storage: y))
    }

    /// N windows from 0, as `simulate(process:windowRange:…)`.
    public func simulate(process: AR1Process, windows: Int, length: Int, seed: UInt64,
                         purpose: String) throws -> (x: Tensor, y: Tensor) {
        guard windows >= 1 else {
            throw ModelError("bidirectional IO-RNN: simulate needs at least one window of length ≥ 1, got \(windows) × \(length)")
        }
        return try simulate(process: process, windowRange: 0..<windows, length: length, seed: seed, purpose: purpose)
    }

    /// The exact mixed derivative `∂_{x_{τ1}} ⋯ ∂_{x_{τm}} E[y_t | x[n]]` (dy×dx^m) of one window x
    /// (n×dx) at time t (0-based), by `IORNN.exactDerivative` on each side — the backward side on
    /// the reversed window, at time n−1−t with the slots' times reversed.
    public func exactDerivative(window x: Tensor, at t: Int, times: [Int]) -> Tensor {
        let n = x.shape[0]
        var total = Tensor.zeros([outputDimension] + Array(repeating: inputDimension, count: times.count))
        if let forward { total += forward.exactDerivative(window: x, at: t, times: times) }
        if let backward {
            let reversed = x.reshaped([1, n, inputDimension]).reversedInTime().reshaped([n, inputDimension])
            total += backward.exactDerivative(window: reversed, at: n - 1 - t, times: times.map { n - 1 - $0 })
        }
        return total
    }

    // MARK: Population moments (MATH.md §6)

    /// Theorem 7, first step: `E[y_t ⊗ S_2(x[n], t)] = 2 Σ_{j ≤ dh+dz} b_j ⊗ c_j ⊗ c_j`
    /// (dy×dx×dx) for σ = z², exactly, at every t: neither `h_{t−1}` nor `z_{t+1}` depends on x_t.
    /// (For a general polynomial, the sum of the two sides' `populationLeadingMoment`s.)
    public func populationLeadingMoment() -> Tensor {
        switch (forward, backward) {
        case let (f?, b?): return f.populationLeadingMoment() + b.populationLeadingMoment()
        case let (f?, nil): return f.populationLeadingMoment()
        case let (nil, b?): return b.populationLeadingMoment()
        default: preconditionFailure("a bidirectional IO-RNN has at least one unit")
        }
    }

    /// `E[y_t ⊗ S_{t,t−1,t−1}(x[n])] = 4 Σ_{j ≤ dh} b_j ⊗ a_j ⊗ M_j`, `M_j = Σ_k U_jk a_k a_kᵀ`
    /// (dy×dx×dx×dx, σ = z²; t ≥ 2): forward units only, since `z_t` does not depend on x_{t−1}.
    public func populationPastMixedMoment() -> Tensor {
        forward?.populationMixedMoment() ?? Tensor.zeros(mixedShape)
    }

    /// `E[y_t ⊗ S_{t,t+1,t+1}(x[n])] = 4 Σ_{j > dh} b_j ⊗ c_j ⊗ N_j`, `N_j = Σ_k V_jk c_k c_kᵀ`
    /// (t ≤ n−1): backward units only — the t−1 moment of the reversed window.
    public func populationFutureMixedMoment() -> Tensor {
        backward?.populationMixedMoment() ?? Tensor.zeros(mixedShape)
    }

    private var mixedShape: [Int] {
        [outputDimension] + Array(repeating: inputDimension, count: 2 * (coefficients.count - 1) - 1)
    }

    // MARK: Parameters

    /// A random bidirectional model: `IORNN.random` with dh + dz units (stacked `[A1; B1]` of
    /// rows of norm `rowNormA1` and row condition ≤ `maximumCondition`, A2 of unit rows), whose
    /// recurrent matrix's two diagonal blocks, each rescaled to spectral norm `spectralNormU`,
    /// are U and V. The same seed gives the same stacked weights as the IO-RNN with dh + dz units.
    public static func random(inputDimension dx: Int, forward dh: Int, backward dz: Int, outputDimension dy: Int,
                              noise: Double, spectralNormU: Double = 0.2, rowNormA1: Double = 0.5,
                              maximumCondition: Double = 10, seed: UInt64) throws -> BidirectionalIORNN {
        guard dh >= 0, dz >= 0, dh + dz >= 1 else {
            throw ModelError("bidirectional IO-RNN: dh and dz must be non-negative with dh + dz ≥ 1, got dh = \(dh), dz = \(dz)")
        }
        let stacked = try IORNN.random(inputDimension: dx, hidden: dh + dz, outputDimension: dy, noise: noise,
                                       spectralNormU: spectralNormU, rowNormA1: rowNormA1,
                                       maximumCondition: maximumCondition, seed: seed)
        func block(_ r: Range<Int>) throws -> Tensor? {
            guard !r.isEmpty else { return nil }
            let b = Tensor(shape: [r.count, r.count]) { i in stacked.u[r.lowerBound + i[0], r.lowerBound + i[1]] }
            let norm = try spectralNorm(b)
            return norm == 0 ? b : b * (spectralNormU / norm)
        }
        func rows(_ m: Tensor, _ r: Range<Int>) -> Tensor? {
            r.isEmpty ? nil : Tensor(shape: [r.count, m.shape[1]]) { i in m[r.lowerBound + i[0], i[1]] }
        }
        return try BidirectionalIORNN(a1: rows(stacked.a1, 0..<dh), u: block(0..<dh),
                                      b1: rows(stacked.a1, dh..<(dh + dz)), v: block(dh..<(dh + dz)),
                                      a2: stacked.a2, noise: noise)
    }
}

// MARK: Comparison modulo the equivalences

/// Parameter errors of a bidirectional estimate after aligning each side to the truth's same
/// side (`align(_:to:)` of walkthrough 03: permutation within the side and the σ's rescaling):
/// relative Frobenius errors of A1, U, B1, V and the stacked A2. A unit assigned to the wrong
/// side cannot be aligned: the sides must have the truth's dh and dz.
public struct BidirectionalParameterErrors: Sendable, CustomStringConvertible {
    public let a1: Double?, u: Double?, b1: Double?, v: Double?, a2: Double
    public let forwardPermutation: [Int], backwardPermutation: [Int]

    public init(_ estimate: BidirectionalIORNN, truth: BidirectionalIORNN) throws {
        guard estimate.forwardDimension == truth.forwardDimension, estimate.backwardDimension == truth.backwardDimension else {
            throw ModelError("align: the estimate has dh = \(estimate.forwardDimension), dz = \(estimate.backwardDimension), the truth dh = \(truth.forwardDimension), dz = \(truth.backwardDimension): a unit is on the wrong side")
        }
        var squared = 0.0
        func side(_ e: IORNN?, _ t: IORNN?) throws -> (Double?, Double?, [Int]) {
            guard let e, let t else { return (nil, nil, []) }
            let (aligned, permutation) = try align(e, to: t)
            squared += (aligned.a2 - t.a2).frobeniusNorm * (aligned.a2 - t.a2).frobeniusNorm
            return (aligned.a1.relativeError(to: t.a1), aligned.u.relativeError(to: t.u), permutation)
        }
        (a1, u, forwardPermutation) = try side(estimate.forward, truth.forward)
        (b1, v, backwardPermutation) = try side(estimate.backward, truth.backward)
        a2 = squared.squareRoot() / truth.a2.frobeniusNorm
    }

    public var description: String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.3g", $0) } ?? "–" }
        return "relative errors after alignment: A1 \(f(a1)), U \(f(u)), B1 \(f(b1)), V \(f(v)), A2 \(f(a2))"
    }
}

/// `‖ŷ − y*‖_F / ‖y*‖_F` for the noiseless outputs of two bidirectional models on the same windows x.
public func predictionError(_ estimate: BidirectionalIORNN, _ truth: BidirectionalIORNN, on x: Tensor) throws -> Double {
    guard estimate.inputDimension == truth.inputDimension, estimate.outputDimension == truth.outputDimension else {
        throw ModelError("predictionError: the estimate (dx = \(estimate.inputDimension), dy = \(estimate.outputDimension)) and the truth (dx = \(truth.inputDimension), dy = \(truth.outputDimension)) differ")
    }
    return try estimate.outputs(forWindows: x).relativeError(to: truth.outputs(forWindows: x))
}
