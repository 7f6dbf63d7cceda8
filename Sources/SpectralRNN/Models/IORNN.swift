import Foundation

/// The input-output RNN of paper §3.2–3.3 (MATH.md §4–5) with a polynomial activation
/// `σ(z) = Σ_{i≤l} c_i z^i` (known coefficients, degree l ≥ 2; the quadratic IO-RNN of
/// walkthrough 03 is `c = (0, 0, 1)`): `h_0 = 0`, `h_t = σ(A1 x_t + U h_{t−1})` elementwise,
/// `y_t = A2ᵀ h_t + η_t`, `η_t ~ N(0, noise² I_dy)` (paper eq. 15). Scalar output (App. C.2,
/// `y_t = ⟨a2, h_t⟩`) is the case dy = 1, `A2 = a2` as a dh×1 matrix.
///
/// Shapes as in the paper: `A1` is dh×dx (rows `a_j`), `U` is dh×dh, `A2` is dh×dy (rows
/// `b_j`). Which equivalences hold depends on σ (`equivalences`, MATH.md §1): permutation of
/// the hidden units always; the per-unit scaling
/// `(a_j, U_{j·}, U_{·j}, b_j) → (s a_j, s U_{j·}, U_{·j}/s^l, b_j/s^l)` only for a monomial
/// `σ = c_l z^l`; the sign flip `s = −1` also for an odd or even σ. Compare models with
/// `align(_:to:)` and `predictionError`.
public struct IORNN: Sendable {
    /// A1 (dh×dx): row j is the input weight vector `a_j`.
    public let a1: Tensor
    /// U (dh×dh): the recurrent weights.
    public let u: Tensor
    /// A2 (dh×dy): row j is the output weight vector `b_j`, so `E[y_t | h_t] = A2ᵀ h_t`.
    public let a2: Tensor
    /// The standard deviation of each entry of the output noise η_t.
    public let noise: Double
    /// The activation's coefficients `c_0 … c_l` (constant term first, `c_l ≠ 0`, l ≥ 2).
    public let coefficients: [Double]
    /// `‖U‖₂`, kept for the divergence message.
    public let spectralNormU: Double

    /// The quadratic activation `σ(z) = z²` of paper §3.2.
    public static let quadratic: [Double] = [0, 0, 1]

    /// A state norm above this counts as divergence (see `outputs(for:noise:)`).
    public static let divergenceThreshold = 1e6

    public var inputDimension: Int { a1.shape[1] }
    public var hiddenDimension: Int { a1.shape[0] }
    public var outputDimension: Int { a2.shape[1] }
    /// l, the degree of σ.
    public var degree: Int { coefficients.count - 1 }
    /// σ as an `Activation` (for its derivatives).
    public var activation: Activation { .polynomial(coefficients) }
    /// True for σ(z) = z², the model of walkthrough 03.
    public var isQuadratic: Bool { coefficients == IORNN.quadratic }

    /// A model from A1 (dh×dx), U (dh×dh), A2 (dh×dy), the noise sd and σ's coefficients
    /// (default `z²`); throws on bad shapes, NaN/∞, negative noise or a bad activation.
    public init(a1: Tensor, u: Tensor, a2: Tensor, noise: Double = 0, coefficients: [Double] = IORNN.quadratic) throws {
        guard a1.order == 2, a1.shape[0] > 0, a1.shape[1] > 0 else {
            throw ModelError("IO-RNN: A1 must be a non-empty dh×dx matrix, got shape \(a1.shape)")
        }
        let dh = a1.shape[0]
        guard u.shape == [dh, dh] else {
            throw ModelError("IO-RNN: U must be dh×dh = \(dh)×\(dh) like A1's rows, got shape \(u.shape)")
        }
        guard a2.order == 2, a2.shape[0] == dh, a2.shape[1] > 0 else {
            throw ModelError("IO-RNN: A2 must be dh×dy with dh = \(dh) rows like A1, got shape \(a2.shape)")
        }
        guard a1.isFinite, u.isFinite, a2.isFinite else {
            throw ModelError("IO-RNN: A1, U and A2 must be finite (found NaN or ∞)")
        }
        guard noise >= 0, noise.isFinite else {
            throw ModelError("IO-RNN: the noise sd must be finite and non-negative, got \(noise)")
        }
        try IORNN.validate(coefficients: coefficients)
        self.a1 = a1
        self.u = u
        self.a2 = a2
        self.noise = noise
        self.coefficients = coefficients
        self.spectralNormU = try spectralNorm(u)
    }

    /// Throws unless `c` are the coefficients `c_0 … c_l` of a polynomial activation the model
    /// supports: finite, degree l ≥ 2, leading coefficient `c_l ≠ 0`.
    public static func validate(coefficients c: [Double]) throws {
        guard c.allSatisfy(\.isFinite) else {
            throw ModelError("IO-RNN: the activation coefficients must be finite, got \(c)")
        }
        guard c.count >= 3 else {
            throw ModelError("IO-RNN: the activation needs degree l ≥ 2 (coefficients c0, c1, …, cl with l ≥ 2), got \(c.count) coefficient\(c.count == 1 ? "" : "s")")
        }
        guard c[c.count - 1] != 0 else {
            throw ModelError("IO-RNN: the leading coefficient c\(c.count - 1) of the activation must be nonzero (drop trailing zeros), got \(c)")
        }
    }

    /// Parses "c0,c1,…,cl" (e.g. "0,0.3,0,1" for 0.3 z + z³) into validated coefficients; one-line errors.
    public static func parseActivation(_ text: String) throws -> [Double] {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ModelError("IO-RNN: the activation is empty; give its coefficients as c0,c1,…,cl (e.g. 0,0,1 for z²)")
        }
        let c = try fields.enumerated().map { i, field -> Double in
            guard let v = Double(field), v.isFinite else {
                throw ModelError("IO-RNN: activation coefficient c\(i) is '\(field)', not a finite number (give c0,c1,…,cl, e.g. 0,0.3,0,1)")
            }
            return v
        }
        try validate(coefficients: c)
        return c
    }

    /// The equivalences of this model's σ (MATH.md §1), besides permutation of hidden units.
    public enum Equivalence: String, Sendable {
        /// Monomial σ = c_l z^l: any nonzero per-unit scale s (signs included).
        case scaling
        /// σ odd or even but not a monomial: only s = ±1.
        case signFlip
        /// Neither: permutation only.
        case permutationOnly
    }

    /// Which per-unit rescalings leave the model's outputs unchanged for this σ.
    public var equivalence: Equivalence {
        let nonzero = coefficients.indices.filter { coefficients[$0] != 0 }
        if nonzero.count == 1 { return .scaling }
        if nonzero.allSatisfy({ $0 % 2 == 0 }) || nonzero.allSatisfy({ $0 % 2 == 1 }) { return .signFlip }
        return .permutationOnly
    }

    /// `p(s) = |c_0|√dh + Σ_{i≥1} |c_i| s^i`, a bound on `‖σ(z)‖₂` for `‖z‖₂ ≤ s` (since `‖z^{∘i}‖₂ ≤ ‖z‖₂^i`).
    public func activationBound(_ s: Double) -> Double {
        var total = abs(coefficients[0]) * Double(hiddenDimension).squareRoot()
        var power = 1.0
        for i in 1..<coefficients.count {
            power *= s
            total += abs(coefficients[i]) * power
        }
        return total
    }

    /// The bounded-state radius for preactivations `‖A1 x_t‖ ≤ r`: the smallest `s ≥ r` with
    /// `r + ‖U‖ p(s) ≤ s` (`p` = `activationBound`), or nil when there is none.
    ///
    /// Why it bounds every state: `‖z_t‖ ≤ r + ‖U‖ ‖h_{t−1}‖ ≤ r + ‖U‖ p(‖z_{t−1}‖)`, and
    /// `s ↦ r + ‖U‖ p(s)` is increasing and maps `[0, s_*]` into itself; so `‖z_t‖ ≤ s_*` and
    /// `‖h_t‖ ≤ p(s_*)` for every t. For σ = z² it is `s_* = 2r/(1 + √(1 − 4‖U‖r))`, which
    /// exists iff `4‖U‖r ≤ 1`. Found by the monotone iteration `s ← r + ‖U‖ p(s)` from s = r.
    public func boundedStateRadius(preactivationBound r: Double) -> Double? {
        guard r >= 0, r.isFinite else { return nil }
        if isQuadratic {
            let product = 4 * spectralNormU * r
            return product <= 1 ? 2 * r / (1 + (1 - product).squareRoot()) : nil
        }
        var s = r
        for _ in 0..<100_000 {
            let next = r + spectralNormU * activationBound(s)
            guard next.isFinite, next < 1e150 else { return nil }
            if next <= s * (1 + 1e-14) { return next }
            s = next
        }
        return nil
    }

    /// The bounded-state condition in words, for σ at hand.
    var boundedStateCondition: String {
        isQuadratic ? "4‖U‖·max‖A1 x_t‖ ≤ 1"
            : "r + ‖U‖·p(s) ≤ s for some s, with r = max‖A1 x_t‖ and p(s) = \(activationBoundDescription)"
    }

    private var activationBoundDescription: String {
        var terms: [String] = []
        for (i, c) in coefficients.enumerated() where c != 0 {
            let a = formatNumber(abs(c))
            terms.append(i == 0 ? "\(a)√dh" : (i == 1 ? "\(a)s" : "\(a)s^\(i)"))
        }
        return terms.joined(separator: " + ")
    }

    /// The same parameters with another noise sd.
    public func withNoise(_ noise: Double) throws -> IORNN {
        try IORNN(a1: a1, u: u, a2: a2, noise: noise, coefficients: coefficients)
    }

    // MARK: Simulation

    /// Runs the noiseless recurrence over one n×dx window of `xs` (flat, row-major, starting at
    /// `xOffset`), writing the n×dy means into `ys` at `yOffset`; throws on divergence (naming
    /// `window`). With `states` (n×dh) the states h_1 … h_n are written there, with
    /// `preactivations` (n×dh) the z_t = A1 x_t + U h_{t−1} (what backpropagation needs).
    func run(_ xs: UnsafeBufferPointer<Double>, xOffset: Int, length n: Int,
             into ys: UnsafeMutableBufferPointer<Double>, yOffset: Int,
             states: UnsafeMutablePointer<Double>?, preactivations: UnsafeMutablePointer<Double>? = nil,
             window: Int) throws {
        let dx = inputDimension, dh = hiddenDimension, dy = outputDimension
        var largestInput = 0.0
        // h and z on the stack, the weights and σ's coefficients by pointer: the same sums in the
        // same order as before (σ(z) by Horner's rule), without array checks per step.
        try withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * dh) { buffer in
            let h = buffer.baseAddress!, z = h + dh
            h.initialize(repeating: 0, count: 2 * dh)
            try a1.storage.withUnsafeBufferPointer { pa1 in
                try u.storage.withUnsafeBufferPointer { pu in
                    try a2.storage.withUnsafeBufferPointer { pa2 in
                        try coefficients.withUnsafeBufferPointer { c in
                            let a1 = pa1.baseAddress!, u = pu.baseAddress!, a2 = pa2.baseAddress!, x = xs.baseAddress!
                            let top = c.count - 1
                            for t in 0..<n {
                                let xt = x + (xOffset &+ t &* dx)
                                var inputNorm2 = 0.0
                                for j in 0..<dh {
                                    var s = 0.0
                                    let row = a1 + j &* dx
                                    for i in 0..<dx { s += row[i] * xt[i] }
                                    inputNorm2 += s * s
                                    let recurrent = u + j &* dh
                                    for k in 0..<dh { s += recurrent[k] * h[k] }
                                    z[j] = s
                                }
                                largestInput = Swift.max(largestInput, inputNorm2.squareRoot())
                                var norm2 = 0.0
                                for j in 0..<dh {
                                    var value = 0.0
                                    var i = top
                                    while i >= 0 { value = value * z[j] + c[i]; i &-= 1 }
                                    h[j] = value
                                    norm2 += value * value
                                }
                                let norm = norm2.squareRoot()
                                guard norm.isFinite, norm <= IORNN.divergenceThreshold else {
                                    throw divergence(window: window, t: t + 1, length: n, stateNorm: norm,
                                                     largestInput: largestInput)
                                }
                                if let states {
                                    for j in 0..<dh { states[t &* dh &+ j] = h[j] }
                                }
                                if let preactivations {
                                    for j in 0..<dh { preactivations[t &* dh &+ j] = z[j] }
                                }
                                let yt = ys.baseAddress! + (yOffset &+ t &* dy)
                                for o in 0..<dy {
                                    var s = 0.0
                                    for j in 0..<dh { s += a2[j &* dy &+ o] * h[j] }
                                    yt[o] = s
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs the noiseless recurrence over four consecutive n×dx windows of `xs` at once, window
    /// w + l in lane l of four-wide vectors (starting at `xOffset`, writing their n×dy means from
    /// `yOffset`, window after window). Each lane does the operations of `run` on its window in
    /// the same order, so the outputs are the same bits; when any of the four leaves the safe
    /// range, `run` redoes them one by one and throws the error of the first that diverges.
    /// With `states` and `preactivations` (n×dh four-wide vectors each, lane l for window w + l),
    /// h_t and z_t are recorded too. Returns false when the windows were redone one by one (then
    /// without the recording) and none diverged.
    @discardableResult
    func run4(_ xs: UnsafeBufferPointer<Double>, xOffset: Int, length n: Int,
              into ys: UnsafeMutableBufferPointer<Double>, yOffset: Int, window: Int,
              states: UnsafeMutablePointer<SIMD4<Double>>? = nil,
              preactivations: UnsafeMutablePointer<SIMD4<Double>>? = nil) throws -> Bool {
        let dx = inputDimension, dh = hiddenDimension, dy = outputDimension
        let xStride = n * dx, yStride = n * dy
        // Below this ‖h‖², ‖h‖ = √‖h‖² is below the threshold whatever the rounding of √.
        let safeNorm2 = IORNN.divergenceThreshold * IORNN.divergenceThreshold * (1 - 1e-9)
        var diverged = false
        withUnsafeTemporaryAllocation(of: SIMD4<Double>.self, capacity: 2 * dh) { buffer in
            let h = buffer.baseAddress!, z = h + dh
            h.initialize(repeating: SIMD4<Double>(), count: 2 * dh)
            a1.storage.withUnsafeBufferPointer { pa1 in
                u.storage.withUnsafeBufferPointer { pu in
                    a2.storage.withUnsafeBufferPointer { pa2 in
                        coefficients.withUnsafeBufferPointer { c in
                            let a1 = pa1.baseAddress!, u = pu.baseAddress!, a2 = pa2.baseAddress!, x = xs.baseAddress!
                            let top = c.count - 1
                            let yBase = ys.baseAddress! + yOffset
                            for t in 0..<n {
                                let xt = x + (xOffset &+ t &* dx)
                                for j in 0..<dh {
                                    var s = SIMD4<Double>()
                                    let row = a1 + j &* dx
                                    for i in 0..<dx {
                                        let xi = SIMD4(xt[i], xt[xStride &+ i], xt[2 &* xStride &+ i], xt[3 &* xStride &+ i])
                                        s += row[i] * xi
                                    }
                                    let recurrent = u + j &* dh
                                    for k in 0..<dh { s += recurrent[k] * h[k] }
                                    z[j] = s
                                }
                                var norm2 = SIMD4<Double>()
                                for j in 0..<dh {
                                    var value = SIMD4<Double>()
                                    var i = top
                                    while i >= 0 { value = value * z[j] + c[i]; i &-= 1 }
                                    h[j] = value
                                    norm2 += value * value
                                }
                                // Not (‖h‖² ≤ safe) in some lane: NaN, ∞ or near the threshold; `run` decides.
                                guard all(norm2 .<= SIMD4(repeating: safeNorm2)) else {
                                    diverged = true
                                    return
                                }
                                if let states { for j in 0..<dh { states[t &* dh &+ j] = h[j] } }
                                if let preactivations { for j in 0..<dh { preactivations[t &* dh &+ j] = z[j] } }
                                let yt = yBase + t &* dy
                                for o in 0..<dy {
                                    var s = SIMD4<Double>()
                                    for j in 0..<dh { s += a2[j &* dy &+ o] * h[j] }
                                    yt[o] = s[0]
                                    yt[yStride &+ o] = s[1]
                                    yt[2 &* yStride &+ o] = s[2]
                                    yt[3 &* yStride &+ o] = s[3]
                                }
                            }
                        }
                    }
                }
            }
        }
        if diverged {
            for l in 0..<4 {
                try run(xs, xOffset: xOffset + l * xStride, length: n, into: ys, yOffset: yOffset + l * yStride,
                        states: nil, window: window + l)
            }
            return false
        }
        return true
    }

    /// The error for a state that left the bounded region (MATH.md §4–5, CONVENTIONS §6), naming the condition that failed.
    private func divergence(window: Int, t: Int, length: Int, stateNorm: Double, largestInput: Double) -> ModelError {
        func g(_ v: Double) -> String { String(format: "%.3g", v) }
        let failed = stateNorm.isFinite
            ? "‖h_t‖ = \(g(stateNorm)) > \(g(IORNN.divergenceThreshold))"
            : "‖h_t‖ is not finite (\(stateNorm))"
        let so = isQuadratic
            ? "(4‖U‖·max‖A1 x_t‖ = \(g(4 * spectralNormU * largestInput)))"
            : (boundedStateRadius(preactivationBound: largestInput) == nil ? "(it fails here)" : "(it holds for these inputs, so the state bound was crossed by rounding or by the threshold being below the bound)")
        return ModelError("IO-RNN diverged in window \(window) at t = \(t) of \(length) (window counted from 0, t from 1): "
            + "\(failed); the recurrence h_t = σ(A1 x_t + U h_{t−1}) with σ(z) = \(activation) stays bounded when \(boundedStateCondition) — "
            + "here ‖U‖ = \(g(spectralNormU)), max ‖A1 x_t‖ = \(g(largestInput)) so far \(so)")
    }

    /// Checks that `x` is N×n×dx (or n×dx when `single`) with finite entries; returns (N, n).
    private func windowShape(_ x: Tensor, single: Bool) throws -> (windows: Int, length: Int) {
        let dx = inputDimension
        if single {
            guard x.order == 2, x.shape[1] == dx else {
                throw ModelError("IO-RNN: one window x must be n×dx = n×\(dx), got shape \(x.shape)")
            }
        } else {
            guard x.order == 3, x.shape[2] == dx else {
                throw ModelError("IO-RNN: windows x must be N×n×dx = N×n×\(dx), got shape \(x.shape)")
            }
        }
        guard x.isFinite else { throw ModelError("IO-RNN: the input x has NaN or ∞ entries") }
        return single ? (1, x.shape[0]) : (x.shape[0], x.shape[1])
    }

    /// Noiseless outputs of `windows` windows of length n stored flat in `x`, in parallel chunks; throws the
    /// divergence of the lowest-numbered window that diverged (numbered from `firstWindow`).
    func noiselessOutputs(_ x: Tensor, windows: Int, length n: Int, firstWindow: Int = 0) throws -> [Double] {
        let dx = inputDimension, dy = outputDimension
        let chunks = Swift.min(windows, 8)
        guard chunks > 0 else { return [] }
        // Each chunk writes its own windows' rows of one output array (every entry is written
        // unless a chunk throws, and then the array is dropped).
        let slots = ChunkSlots<Void>(count: chunks)
        let out = [Double](unsafeUninitializedCapacity: windows * n * dy) { all, initialized in
            initialized = all.count
            nonisolated(unsafe) let py = all
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * windows / chunks, hi = (c + 1) * windows / chunks
                do {
                    try x.storage.withUnsafeBufferPointer { px in
                        var w = lo
                        while w + 4 <= hi {
                            try run4(px, xOffset: w * n * dx, length: n, into: py, yOffset: w * n * dy, window: firstWindow + w)
                            w += 4
                        }
                        while w < hi {
                            try run(px, xOffset: w * n * dx, length: n, into: py, yOffset: w * n * dy,
                                    states: nil, window: firstWindow + w)
                            w += 1
                        }
                    }
                    slots.store(.success(()), at: c)
                } catch {
                    slots.store(.failure(error), at: c)
                }
            }
        }
        for result in slots.all() { try result.get() }
        return out
    }

    /// Adds `noise · N(0, 1)` to every entry, drawing in row-major order.
    private func addNoise(_ y: inout [Double], _ rng: inout RandomStream) {
        guard noise > 0 else { return }
        for k in 0..<y.count { y[k] += noise * rng.gaussian() }
    }

    /// The outputs `y_t = A2ᵀ h_t + η_t` (n×dy) of one window `x` (n×dx), from `h_0 = 0` (paper eq. 15, l = 2).
    ///
    /// Noiseless (`E[y_t | x[n]]`) when `rng` is nil; otherwise `η_t` is drawn from `rng` in
    /// row-major order. Throws a `ModelError` naming the failed condition when a state is
    /// not finite or `‖h_t‖ > divergenceThreshold`.
    public func outputs(for x: Tensor, noise rng: inout RandomStream?) throws -> Tensor {
        let (_, n) = try windowShape(x, single: true)
        var y = try noiselessOutputs(x, windows: 1, length: n)
        if rng != nil { addNoise(&y, &rng!) }
        return Tensor(shape: [n, outputDimension], storage: y)
    }

    /// The noiseless outputs `E[y_t | x[n]] = A2ᵀ h_t` (n×dy) of one window x (n×dx).
    public func outputs(for x: Tensor) throws -> Tensor {
        var none: RandomStream? = nil
        return try outputs(for: x, noise: &none)
    }

    /// The outputs (N×n×dy) of N windows `x` (N×n×dx), each from `h_0 = 0`; noiseless when `rng` is nil.
    ///
    /// The recurrences run in parallel; the noise is drawn afterwards in row-major order, so
    /// the result does not depend on the number of threads.
    public func outputs(forWindows x: Tensor, noise rng: inout RandomStream?) throws -> Tensor {
        let (windows, n) = try windowShape(x, single: false)
        var y = try noiselessOutputs(x, windows: windows, length: n)
        if rng != nil { addNoise(&y, &rng!) }
        return Tensor(shape: [windows, n, outputDimension], storage: y)
    }

    /// The noiseless outputs (N×n×dy) of N windows x (N×n×dx).
    public func outputs(forWindows x: Tensor) throws -> Tensor {
        var none: RandomStream? = nil
        return try outputs(forWindows: x, noise: &none)
    }

    /// The hidden states `h_1 … h_n` (n×dh) of one window x (n×dx).
    public func states(for x: Tensor) throws -> Tensor {
        let (_, n) = try windowShape(x, single: true)
        var h = [Double](repeating: 0, count: n * hiddenDimension)
        var y = [Double](repeating: 0, count: n * outputDimension)
        try x.storage.withUnsafeBufferPointer { px in
            try y.withUnsafeMutableBufferPointer { py in
                try h.withUnsafeMutableBufferPointer { ph in
                    try run(px, xOffset: 0, length: n, into: py, yOffset: 0, states: ph.baseAddress, window: 0)
                }
            }
        }
        return Tensor(shape: [n, hiddenDimension], storage: h)
    }

    /// Simulates `windows` independent stationary AR(1) windows of length `length` and the model's noisy outputs.
    ///
    /// Window w's input is `process.sampleWindow(length:using:)` with
    /// `RandomStream(seed:, purpose: purpose + " inputs", index: w)` (the same draws in the same
    /// order, by a faster loop: equal up to rounding), and its output noise comes from
    /// `purpose + " output noise"`, so the result is deterministic and independent of the
    /// number of threads. Returns x (N×n×dx) and y (N×n×dy).
    public func simulate(process: AR1Process, windows: Int, length: Int, seed: UInt64,
                         purpose: String) throws -> (x: Tensor, y: Tensor) {
        guard windows >= 1 else {
            throw ModelError("IO-RNN: simulate needs at least one window of length ≥ 1, got \(windows) × \(length)")
        }
        return try simulate(process: process, windowRange: 0..<windows, length: length, seed: seed, purpose: purpose)
    }

    /// Windows `range` of the set `simulate(process:windows:length:seed:purpose:)` draws (window w
    /// has its own random streams, so any range gives the same windows as the whole set):
    /// `range.count`×n×dx inputs and `range.count`×n×dy outputs.
    public func simulate(process: AR1Process, windowRange range: Range<Int>, length: Int, seed: UInt64,
                         purpose: String) throws -> (x: Tensor, y: Tensor) {
        guard process.dimension == inputDimension else {
            throw ModelError("IO-RNN: the input process has dimension \(process.dimension), the model dx = \(inputDimension)")
        }
        let x = try process.simulatedInputs(windowRange: range, length: length, seed: seed, purpose: purpose)
        var y = try noiselessOutputs(x, windows: range.count, length: length, firstWindow: range.lowerBound)
        addOutputNoise(&y, sd: noise, windowRange: range, length: length, outputDimension: outputDimension,
                       seed: seed, purpose: purpose)
        return (x, Tensor(shape: [range.count, length, outputDimension], storage: y))
    }

    // MARK: Population moments

    /// `E[y_t ⊗ S_l(x[n], t)] = ∇^l_{x_t} y_t = l! c_l Σ_j b_j ⊗ a_j^{⊗l}` (dy×dx^l), exactly, for
    /// every t (MATH.md §5; eq. 14 when l = 2): `h_{t−1}` does not depend on `x_t` and
    /// `σ^{(l)} = l! c_l` is constant.
    public func populationLeadingMoment() -> Tensor {
        let dx = inputDimension, l = degree
        var power = a1
        for _ in 1..<l { power = Tensor.khatriRaoRows(power, a1) }          // A1^{⊙l}, dh×dx^l
        let flat = matmul(a2, power, transposeA: true) * (Hermite.factorial(l) * coefficients[l])
        return flat.reshaped([outputDimension] + Array(repeating: dx, count: l))
    }

    /// Eq. 14 (MATH.md §4a): `E[y_t ⊗ S_2(x[n], t)] = 2 c_2 Σ_j b_j ⊗ a_j ⊗ a_j` (dy×dx×dx) for a
    /// quadratic σ (l = 2; for higher degrees this moment is eq. 16's, with coefficients μ_j
    /// that depend on the states: use `populationLeadingMoment`).
    public func populationSecondOrderMoment() -> Tensor {
        precondition(degree == 2, "IO-RNN: the second-order moment is constant only for l = 2; use populationLeadingMoment()")
        return populationLeadingMoment()
    }

    /// `M_j = Σ_k U_jk a_k a_kᵀ`, as the rows `vec(M_j)` of `U (A1 ⊙ A1)` (dh×dx²; MATH.md §4b–c).
    public func mixingMatrices() -> Tensor {
        matmul(u, Tensor.khatriRaoRows(a1, a1))
    }

    /// The corrected mixed moment (MATH.md §4c, §5): `E[y_t ⊗ S_{t^{(l−1)}, (t−1)^{(l)}}(x[n])]
    /// = (l! c_l)² Σ_j b_j ⊗ a_j^{⊗(l−1)} ⊗ Σ_k U_jk a_k^{⊗l}` (dy×dx^{2l−1}), exactly, for t ≥ 2;
    /// for σ = z² it is `4 Σ_j b_j ⊗ a_j ⊗ M_j`.
    public func populationMixedMoment() -> Tensor {
        let dx = inputDimension, l = degree
        var leading = a1, lagged = a1
        for _ in 1..<(l - 1) { leading = Tensor.khatriRaoRows(leading, a1) }   // A1^{⊙(l−1)}
        for _ in 1..<l { lagged = Tensor.khatriRaoRows(lagged, a1) }            // A1^{⊙l}
        let constant = Hermite.factorial(l) * coefficients[l]
        let flat = matmul(a2, Tensor.khatriRaoRows(leading, matmul(u, lagged)), transposeA: true) * (constant * constant)
        return flat.reshaped([outputDimension] + Array(repeating: dx, count: 2 * l - 1))
    }

    /// The first-step moments `E[y_1 ⊗ S_k(x[n], 1)] = Σ_j b_j E[σ^{(k)}(a_j·x_1)] a_j^{⊗k}`
    /// (dy×dx^k) for k = 0 … l−1 (k = 0 is `E[y_1]`), exactly: at a window's first step
    /// `h_0 = 0`, so `z_1 = A1 x_1` with `x_1 ~ N(0, Γ)` and `a_j·x_1 ~ N(0, a_jᵀΓa_j)`; the
    /// expectations are Gaussian moments in closed form (`gaussianActivationMoment`). These
    /// moments see the lower coefficients of σ and fix the per-unit scale (MATH.md §5).
    public func populationFirstStepMoments(process: AR1Process) throws -> [Tensor] {
        guard process.dimension == inputDimension else {
            throw ModelError("IO-RNN: the input process has dimension \(process.dimension), the model dx = \(inputDimension)")
        }
        let dh = hiddenDimension, dx = inputDimension, dy = outputDimension
        let variances = (0..<dh).map { j -> Double in
            let a = a1.row(j)
            return dot(a, matvec(process.gamma, a))
        }
        return (0..<degree).map { k in
            var moment = Tensor.zeros([dy] + Array(repeating: dx, count: k))
            for j in 0..<dh {
                var term = Tensor(vector: a2.row(j)) * IORNN.gaussianActivationMoment(coefficients, derivative: k, variance: variances[j])
                for _ in 0..<k { term = Tensor.outer(term, Tensor(vector: a1.row(j))) }
                moment = moment + term
            }
            return moment
        }
    }

    /// `E[σ^{(k)}(g)]` for `g ~ N(0, v)` and `σ = Σ c_i z^i`: `Σ_{i≥k} c_i i!/(i−k)! E[g^{i−k}]`,
    /// `E[g^m] = v^{m/2} (m−1)!!` for even m and 0 for odd m.
    public static func gaussianActivationMoment(_ c: [Double], derivative k: Int, variance v: Double) -> Double {
        var total = 0.0
        for i in stride(from: k, to: c.count, by: 1) where (i - k) % 2 == 0 {
            var falling = 1.0
            for r in 0..<k { falling *= Double(i - r) }
            var moment = 1.0
            var m = i - k
            while m > 1 { moment *= Double(m - 1) * v; m -= 2 }
            total += c[i] * falling * moment
        }
        return total
    }

    // MARK: Parameter generation and the norm assumptions of §3.5

    /// A random model satisfying the paper's §3.5 norm assumptions as far as they can be enforced without the input.
    ///
    /// - `U`: a Gaussian matrix rescaled to `‖U‖₂ = spectralNormU`, which must lie in
    ///   [0, 1/2] — the paper's `‖U‖ ≤ 1/l` for l = 2 (enforced: throws otherwise).
    /// - `A1`: Gaussian rows rescaled to norm `rowNormA1` each, so
    ///   `rowNormA1 ≤ ‖A1‖₂ ≤ √dh · rowNormA1`. The paper's `‖x_i‖ < 1`, `‖A1 + U‖ ≤ 1`
    ///   (ill-typed unless dx = dh, errata 8) is read as `‖A1‖·ρ + ‖U‖ ≤ 1` for an input
    ///   bound ρ; it depends on the input's scale, so it is *reported*, not enforced: see
    ///   `stabilityReport(inputBound:)` and `inputBound(for:exceedanceProbability:)`.
    ///   The paper's conditions are far from necessary, and ‖U‖ ≤ 1/2 is far from sufficient:
    ///   what matters in practice is `4‖U‖·rms‖A1 x_t‖` (`stabilityReport(for:steps:)`); the
    ///   defaults (0.2, 0.5) give 0.8 for unit-variance inputs with dx = 4, dh = 3, where no
    ///   divergence was seen in 10⁶ steps, while ‖U‖ = 0.3 already diverges now and then.
    /// - `A2`: Gaussian rows of unit norm.
    /// - Full row rank (Theorem 5): when `dh ≤ dx` (resp. `dh ≤ dy`), A1 (resp. A2) is redrawn
    ///   until its row condition number `σ_1/σ_dh` is at most `maximumCondition`; when dh
    ///   exceeds the dimension full row rank is impossible and the report shows `cond = ∞`.
    ///   When 1000 draws fail (square or nearly square shapes: σ_min of a d×d Gaussian is
    ///   about 1/√d), the rows are the orthonormal polar factor of one more draw, condition 1.
    ///
    /// - `boundedFor`: when an input process is given, the draw is refused unless the
    ///   bounded-state condition (`boundedStateRadius`) holds for preactivations up to their
    ///   rms `√tr(A1 Γ A1ᵀ)` — the condition the generator enforces when asked (the
    ///   walkthrough of polynomial activations asks for it; for σ = z² it is 4‖U‖·rms ≤ 1,
    ///   which 03's defaults meet with 0.8), since the cubic and higher degrees blow up quickly
    ///   past it (MATH.md §5). It bounds the states only while every step stays within that
    ///   scale; rarer larger steps are caught by the simulator's divergence check.
    /// - `coefficients`: σ (default z²); `‖U‖ ≤ 1/l` is enforced for degree l.
    ///
    /// Parameters come from `RandomStream(seed:, purpose: "quadratic IO-RNN parameters")`
    /// for every σ (the name predates the polynomial model; kept so that seeds give the same models).
    public static func random(inputDimension dx: Int, hidden dh: Int, outputDimension dy: Int,
                              noise: Double, spectralNormU: Double = 0.2, rowNormA1: Double = 0.5,
                              maximumCondition: Double = 10, coefficients: [Double] = IORNN.quadratic,
                              boundedFor process: AR1Process? = nil, seed: UInt64) throws -> IORNN {
        try validate(coefficients: coefficients)
        let l = coefficients.count - 1
        guard dx >= 1, dh >= 1, dy >= 1 else {
            throw ModelError("IO-RNN: dimensions must be positive, got dx = \(dx), dh = \(dh), dy = \(dy)")
        }
        guard spectralNormU >= 0, spectralNormU <= 1 / Double(l) else {
            throw ModelError("IO-RNN: ‖U‖ = \(spectralNormU) violates the paper's ‖U‖ ≤ 1/l = 1/\(l) (§3.5); choose 0 ≤ ‖U‖ ≤ \(formatNumber(1 / Double(l)))")
        }
        guard rowNormA1 > 0, rowNormA1.isFinite else {
            throw ModelError("IO-RNN: the row norm of A1 must be positive and finite, got \(rowNormA1)")
        }
        guard maximumCondition >= 1 else {
            throw ModelError("IO-RNN: the maximum condition number must be at least 1, got \(maximumCondition)")
        }
        var rng = RandomStream(seed: seed, purpose: "quadratic IO-RNN parameters")
        func rows(_ count: Int, _ columns: Int, norm: Double) throws -> Tensor {
            for _ in 0..<1000 {
                var m = rng.gaussianTensor([count, columns])
                for j in 0..<count {
                    let r = Tensor(vector: m.row(j)).frobeniusNorm
                    for i in 0..<columns { m.storage[j * columns + i] *= norm / r }
                }
                if count > columns { return m }
                if try rowConditionNumber(m) <= maximumCondition { return m }
            }
            // Square and nearly square Gaussian draws are rarely this well conditioned (σ_min of a
            // d×d Gaussian is about 1/√d): orthonormal rows from the QR of a last draw, scaled to
            // the row norm, have condition number 1.
            let draw = try svd(rng.gaussianTensor([count, columns]))
            return matmul(draw.u, draw.vt) * norm
        }
        let a1 = try rows(dh, dx, norm: rowNormA1)
        let a2 = try rows(dh, dy, norm: 1)
        let g = rng.gaussianTensor([dh, dh])
        let u = spectralNormU == 0 ? Tensor.zeros([dh, dh]) : g * (spectralNormU / (try spectralNorm(g)))
        let model = try IORNN(a1: a1, u: u, a2: a2, noise: noise, coefficients: coefficients)
        if let process {
            let report = try model.stabilityReport(for: process, steps: 1)
            let scale = report.typicalPreactivation ?? 0
            guard model.boundedStateRadius(preactivationBound: scale) != nil else {
                throw ModelError("IO-RNN: the drawn model is not bounded at the typical input scale (\(model.boundedStateCondition) fails for r = rms‖A1 x_t‖ = \(formatNumber(scale))); lower ‖U‖ or the row norm of A1")
            }
        }
        return model
    }

    /// The row norm of A1 that puts `4‖U‖·rms‖A1 x_t‖` at `target` for this process, for random row directions.
    ///
    /// For a unit direction a uniformly distributed, `E(a·x)² = tr Γ / dx`, so with dh rows of
    /// norm r, `E‖A1 x‖² = dh r² tr Γ / dx`; solving `4‖U‖ r √(dh tr Γ / dx) = target` gives r.
    /// The defaults (‖U‖ = 0.2, rows 0.5) are this with target 0.8 for dx = 4, dh = 3, Φ = 0.5 I,
    /// Σ = I; larger dh or a more persistent Φ (larger Γ) call for smaller rows (see
    /// `stabilityReport(for:steps:)` for the measurements behind 0.8).
    public static func suggestedRowNormA1(for process: AR1Process, hidden dh: Int, spectralNormU: Double,
                                          target: Double = 0.8) throws -> Double {
        guard dh >= 1, spectralNormU > 0, spectralNormU.isFinite, target > 0, target.isFinite else {
            throw ModelError("IO-RNN: the suggested row norm needs dh ≥ 1, ‖U‖ > 0 and a positive target, got dh = \(dh), ‖U‖ = \(spectralNormU), target \(target)")
        }
        let d = process.dimension
        let trace = (0..<d).reduce(0.0) { $0 + process.gamma[$1, $1] }
        return target / (4 * spectralNormU * (Double(dh) * trace / Double(d)).squareRoot())
    }

    /// A bound ρ with `P(‖x_t‖ > ρ) ≤ δ` for one stationary input `x_t ~ N(0, Γ)`: `ρ = √tr Γ + √(2 λ_max(Γ) log(1/δ))`.
    ///
    /// Gaussian concentration: `‖Γ^{1/2} z‖` is `‖Γ^{1/2}‖`-Lipschitz in `z ~ N(0, I)` and
    /// `E‖x‖ ≤ √tr Γ`. For all N·n steps of a data set at once, pass `δ / (N n)` (union bound).
    public static func inputBound(for process: AR1Process, exceedanceProbability delta: Double) throws -> Double {
        guard delta > 0, delta < 1 else {
            throw ModelError("IO-RNN: the exceedance probability must be in (0, 1), got \(delta)")
        }
        let e = try symmetricEigen(process.gamma)
        let trace = e.values.reduce(0, +)
        let largest = e.values.first ?? 0
        return trace.squareRoot() + (2 * largest * log(1 / delta)).squareRoot()
    }

    /// The norms behind the paper's §3.5 assumptions, and which of them hold for inputs bounded by ρ.
    public struct StabilityReport: Sendable, CustomStringConvertible {
        public let spectralNormA1: Double
        public let spectralNormU: Double
        public let spectralNormA2: Double
        /// Row condition numbers `σ_1/σ_dh` (∞ when dh exceeds the number of columns: no full row rank).
        public let conditionNumberA1: Double
        public let conditionNumberA2: Double
        /// The input bound ρ (`‖x_t‖ ≤ ρ`).
        public let inputBound: Double
        /// `r = ‖A1‖·ρ ≥ max_t ‖A1 x_t‖`.
        public let preactivationBound: Double
        /// The paper's assumptions, well-typed: `‖A1‖ρ + ‖U‖ ≤ 1` and `‖U‖ ≤ 1/l`; they give `‖h_t‖ ≤ 1`.
        public let paperAssumptionsHold: Bool
        /// The sufficient condition of `boundedStateRadius` (this project's; `4‖U‖r ≤ 1` for z²), which bounds every state.
        public let boundedStateConditionHolds: Bool
        /// `sup_t ‖h_t‖ ≤ p(s_*)` (`(2r / (1 + √(1 − 4‖U‖r)))²` for z²) when the condition holds, else ∞.
        public let stateBound: Double
        /// l, the degree of σ, and the bounded-state condition in words.
        public let degree: Int
        public let condition: String
        /// The root-mean-square `√E‖A1 x_t‖² = √tr(A1 Γ A1ᵀ)` under the process (nil without one).
        public let typicalPreactivation: Double?
        /// Whether the bounded-state condition holds at r = that rms (nil without a process).
        public let boundedAtTypicalScale: Bool?

        public var description: String {
            func f(_ x: Double) -> String { String(format: "%.4g", x) }
            return """
            ‖A1‖ = \(f(spectralNormA1)), ‖U‖ = \(f(spectralNormU)), ‖A2‖ = \(f(spectralNormA2)); row condition numbers cond(A1) = \(f(conditionNumberA1)), cond(A2) = \(f(conditionNumberA2))
            inputs ‖x_t‖ ≤ ρ = \(f(inputBound)), so ‖A1 x_t‖ ≤ r = ‖A1‖ρ = \(f(preactivationBound))
            paper §3.5 (read as ‖A1‖ρ + ‖U‖ ≤ 1, ‖U‖ ≤ 1/\(degree) ⇒ ‖h_t‖ ≤ 1): \(paperAssumptionsHold ? "holds" : "does not hold") (‖A1‖ρ + ‖U‖ = \(f(preactivationBound + spectralNormU)))
            """ + (condition.hasPrefix("4‖U‖") ? """

            bounded states (4‖U‖r ≤ 1 ⇒ ‖h_t‖ ≤ (2r/(1 + √(1 − 4‖U‖r)))²): \(boundedStateConditionHolds ? "holds, ‖h_t‖ ≤ \(f(stateBound))" : "does not hold, so no bound on ‖h_t‖ follows") (4‖U‖r = \(f(4 * spectralNormU * preactivationBound)))
            """ : """

            bounded states (\(condition), then ‖h_t‖ ≤ p(s)): \(boundedStateConditionHolds ? "holds, ‖h_t‖ ≤ \(f(stateBound))" : "does not hold, so no bound on ‖h_t‖ follows")
            """) + (typicalPreactivation.map { rms in
                condition.hasPrefix("4‖U‖")
                    ? "\ntypical scale (a heuristic, not a bound): rms ‖A1 x_t‖ = \(f(rms)), 4‖U‖·rms = \(f(4 * spectralNormU * rms)); divergence is rare well below 1 and frequent above it"
                    : "\ntypical scale (a heuristic, not a bound): rms ‖A1 x_t‖ = \(f(rms)); the bounded-state condition at r = rms \(boundedAtTypicalScale == true ? "holds" : "does not hold") (what the generator's boundedFor enforces): states stay bounded while the steps stay near that scale"
            } ?? "")
        }
    }

    /// The §3.5 norm report for inputs with `‖x_t‖ ≤ ρ`.
    ///
    /// Why `4‖U‖r ≤ 1` suffices: `‖h_t‖ ≤ ‖z_t‖²` for `z_t = A1 x_t + U h_{t−1}`, so
    /// `s_t = ‖z_t‖ ≤ r + ‖U‖ s_{t−1}²`; the map `s ↦ r + ‖U‖s²` has the fixed point
    /// `s_* = 2r/(1 + √(1 − 4‖U‖r)) ≥ r ≥ s_1` when `4‖U‖r ≤ 1`, and it maps `[0, s_*]` into itself.
    public func stabilityReport(inputBound rho: Double) throws -> StabilityReport {
        try stabilityReport(inputBound: rho, typicalPreactivation: nil)
    }

    /// The §3.5 norm report for `steps` inputs of an AR(1) process: ρ from `inputBound(for:exceedanceProbability:)`
    /// with δ = 0.01/steps (all steps within ρ with probability ≥ 99%), plus the typical scale `√tr(A1 Γ A1ᵀ)`.
    ///
    /// The typical scale is a heuristic for divergence, not a bound: with Φ = 0.5 I, Σ = I,
    /// dx = 4, dh = 3, ‖U‖ = 0.2 and rows of norm 0.5 (4‖U‖·rms = 0.8) no divergence appeared
    /// in 1.6·10⁶ steps for each of 6 random models, while with ‖U‖ = 0.3 (4‖U‖·rms = 1.2)
    /// about 4·10⁻⁴ of 16-step windows diverged (measured here with `simulate`).
    public func stabilityReport(for process: AR1Process, steps: Int) throws -> StabilityReport {
        guard process.dimension == inputDimension, steps >= 1 else {
            throw ModelError("IO-RNN: the stability report needs a process of dimension dx = \(inputDimension) and at least one step, got dimension \(process.dimension) and \(steps) steps")
        }
        let rho = try IORNN.inputBound(for: process, exceedanceProbability: 0.01 / Double(steps))
        let covariance = matmul(matmul(a1, process.gamma), a1, transposeB: true)   // A1 Γ A1ᵀ
        let trace = (0..<hiddenDimension).reduce(0.0) { $0 + covariance[$1, $1] }
        return try stabilityReport(inputBound: rho, typicalPreactivation: trace.squareRoot())
    }

    private func stabilityReport(inputBound rho: Double, typicalPreactivation: Double?) throws -> StabilityReport {
        guard rho >= 0, rho.isFinite else {
            throw ModelError("IO-RNN: the input bound must be finite and non-negative, got \(rho)")
        }
        let normA1 = try spectralNorm(a1)
        let r = normA1 * rho
        let radius = boundedStateRadius(preactivationBound: r)
        let bounded = radius != nil
        let stateBound = radius.map { activationBound($0) } ?? .infinity
        return StabilityReport(
            spectralNormA1: normA1, spectralNormU: spectralNormU, spectralNormA2: try spectralNorm(a2),
            conditionNumberA1: try rowConditionNumber(a1), conditionNumberA2: try rowConditionNumber(a2),
            inputBound: rho, preactivationBound: r,
            paperAssumptionsHold: r + spectralNormU <= 1 && spectralNormU <= 1 / Double(degree),
            boundedStateConditionHolds: bounded, stateBound: stateBound, degree: degree,
            condition: boundedStateCondition, typicalPreactivation: typicalPreactivation,
            boundedAtTypicalScale: typicalPreactivation.map { boundedStateRadius(preactivationBound: $0) != nil })
    }
}

extension AR1Process {
    /// Windows `range` of the input windows the simulators draw: window w is
    /// `sampleWindow(length:using:)` with `RandomStream(seed:, purpose: purpose + " inputs",
    /// index: w)` (the same draws in the same order, by a faster loop: equal up to rounding), so
    /// any range gives the same windows as the whole set, whatever the number of threads.
    /// `range.count`×n×dx.
    public func simulatedInputs(windowRange range: Range<Int>, length n: Int, seed: UInt64, purpose: String) throws -> Tensor {
        guard range.count >= 1, range.lowerBound >= 0, n >= 1 else {
            throw ModelError("simulate needs at least one window of length ≥ 1, got windows \(range) × \(n)")
        }
        let dx = dimension, windows = range.count, first = range.lowerBound
        guard !windows.multipliedReportingOverflow(by: n).overflow, !(windows * n).multipliedReportingOverflow(by: dx).overflow else {
            throw ModelError("simulate: \(windows) windows × \(n) steps × dx = \(dx) is too many values to hold in memory")
        }
        let sampler = try WindowSampler(self)
        let chunks = Swift.min(windows, 8)
        let slots = ChunkSlots<[Double]>(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = first + c * windows / chunks, hi = first + (c + 1) * windows / chunks
            var xs = [Double](repeating: 0, count: (hi - lo) * n * dx)
            for w in lo..<hi {
                var inputStream = RandomStream(seed: seed, purpose: purpose + " inputs", index: UInt64(w))
                sampler.sample(into: &xs, at: (w - lo) * n * dx, length: n, using: &inputStream)
            }
            slots.store(.success(xs), at: c)
        }
        var x: [Double] = []
        x.reserveCapacity(windows * n * dx)
        for result in slots.all() { x += try result.get() }
        return Tensor(shape: [windows, n, dx], storage: x)
    }
}

/// Adds the output noise of the simulators to y (`range.count`×n×dy, flat): window w's
/// `sd · N(0, 1)` draws come from `RandomStream(seed:, purpose: purpose + " output noise",
/// index: w)` in row-major order.
func addOutputNoise(_ y: inout [Double], sd: Double, windowRange range: Range<Int>, length n: Int,
                    outputDimension dy: Int, seed: UInt64, purpose: String) {
    guard sd > 0, !range.isEmpty else { return }
    let windows = range.count, chunks = Swift.min(windows, 8)
    y.withUnsafeMutableBufferPointer { buffer in
        nonisolated(unsafe) let py = buffer
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            // Chunks write disjoint windows.
            for w in (range.lowerBound + c * windows / chunks)..<(range.lowerBound + (c + 1) * windows / chunks) {
                var noiseStream = RandomStream(seed: seed, purpose: purpose + " output noise", index: UInt64(w))
                let base = (w - range.lowerBound) * n * dy
                for k in 0..<(n * dy) { py[base + k] += sd * noiseStream.gaussian() }
            }
        }
    }
}

/// AR(1) windows by plain loops: `AR1Process.sampleWindow`'s draws (x_1 = L_Γ z_1,
/// x_t = Φ x_{t−1} + L_Σ z_t, the z's taken from the stream in the same order), without its
/// per-step allocations.
private struct WindowSampler: Sendable {
    let d: Int
    let phi: [Double], gammaFactor: [Double], sigmaFactor: [Double]

    init(_ process: AR1Process) throws {
        d = process.dimension
        phi = process.phi.storage
        gammaFactor = try cholesky(process.gamma).storage
        sigmaFactor = try cholesky(process.sigma).storage
    }

    /// Writes one n×d window into `xs` from `offset`.
    func sample(into xs: inout [Double], at offset: Int, length n: Int, using rng: inout RandomStream) {
        var z = [Double](repeating: 0, count: d)
        for t in 0..<n {
            for i in 0..<d { z[i] = rng.gaussian() }
            let factor = t == 0 ? gammaFactor : sigmaFactor
            let row = offset + t * d, previous = row - d
            for i in 0..<d {
                var noise = 0.0, mean = 0.0
                for k in 0...i { noise += factor[i * d + k] * z[k] }      // lower triangular
                if t > 0 { for k in 0..<d { mean += phi[i * d + k] * xs[previous + k] } }
                xs[row + i] = mean + noise
            }
        }
    }
}

/// The row condition number `σ_1 / σ_k` of a k×d matrix: finite iff it has full row rank (∞ when k > d).
public func rowConditionNumber(_ m: Tensor) throws -> Double {
    guard m.order == 2, m.shape[0] >= 1 else {
        throw ModelError("row condition number: needs a non-empty matrix, got shape \(m.shape)")
    }
    guard m.shape[0] <= m.shape[1] else { return .infinity }
    let s = try singularValues(m)
    guard let largest = s.first, let smallest = s.last, smallest > 0 else { return .infinity }
    return largest / smallest
}

/// One result slot per parallel chunk, written under a lock (the project's chunked-parallel pattern).
final class ChunkSlots<Value>: @unchecked Sendable {
    private var slots: [Result<Value, any Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func store(_ value: Result<Value, any Error>, at index: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }
    func all() -> [Result<Value, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
