// Backpropagation through time for the polynomial IO-RNN (paper eq. 15; MATH.md §1): the mean
// squared output error of a model over the windows of a source, and its exact gradient with
// respect to A1, U and A2 — what gradient training (issue 14, walkthrough 07) minimizes, and
// what refines a spectral estimate.
//
// For one window, h_0 = 0, z_t = A1 x_t + U h_{t−1}, h_t = σ(z_t), ŷ_t = A2ᵀ h_t, and the error
// is Σ_t ‖ŷ_t − y_t‖². Backwards from t = n, with e_t = ŷ_t − y_t and the carry c_{n+1} = 0:
//   δh_t = 2 A2 e_t + c_{t+1},   δz_t = δh_t ∘ σ'(z_t),   c_t = Uᵀ δz_t,
//   ∂/∂A2 += 2 h_t e_tᵀ,   ∂/∂A1 += δz_t x_tᵀ,   ∂/∂U += δz_t h_{t−1}ᵀ.
// The loss and the gradient are these sums over windows divided by the number of (window, t)
// pairs P.
//
// Streaming and parallel like the moment engine (WindowMomentsEngine.swift): each batch's (or
// minibatch's) windows are split into contiguous parts — at most `partsPerBatch`, of at least 64
// windows — whatever the number of threads. A part goes through its windows in order, four
// consecutive windows of a stacked segment at a time in vector lanes (their per-lane sums added
// at the part's end, the others' directly); the parts are added in part order. So the result is
// the same bits for any `threads`. Memory is one batch plus, per part, the states and
// preactivations of one window and of four in lanes.

import Foundation

/// The mean squared output error `L = (1/P) Σ_{w,t} ‖A2ᵀ h_t − y_t‖²` of an IO-RNN over the P
/// (window, t) pairs of a source, and (when asked for) its gradient by backpropagation through time.
public struct OutputErrorGradient: Sendable {
    /// L, the mean over (window, t) pairs of the squared norm of the output error.
    public let loss: Double
    /// ∂L/∂A1 (dh×dx), ∂L/∂U (dh×dh), ∂L/∂A2 (dh×dy); nil for `outputError` (the loss alone).
    public let a1: Tensor?
    public let u: Tensor?
    public let a2: Tensor?
    /// P, and the number of windows.
    public let pairs: Int
    public let windows: Int
}

/// The loss and gradient of `model` on every window of `source` (BPTT; see the top of this file).
///
/// The windows must come whole (a source that splits a long window into time chunks is
/// refused: backpropagation needs the whole window). Throws the divergence of the first window,
/// in order, whose state leaves the bounded region (`IORNN.divergenceThreshold`), numbered from
/// 0 over the whole source.
public func outputErrorGradient(_ model: IORNN, on source: WindowSource, threads: Int = 2) throws -> OutputErrorGradient {
    try BackpropagationThroughTime(model: model, source: source, gradient: true, threads: threads).run(source)
}

/// The loss of `outputErrorGradient` alone (the forward recurrence, no backward pass).
public func outputError(_ model: IORNN, on source: WindowSource, threads: Int = 2) throws -> OutputErrorGradient {
    try BackpropagationThroughTime(model: model, source: source, gradient: false, threads: threads).run(source)
}

/// One evaluation: the model, the per-worker workspaces and the running sums.
final class BackpropagationThroughTime: @unchecked Sendable {
    let model: IORNN
    let dx: Int, dh: Int, dy: Int
    let wantsGradient: Bool
    let workers: Int
    /// σ' as coefficients: derivative[i] = (i + 1) c_{i+1}.
    let derivative: [Double]
    /// The most parts of a batch (see the top of this file).
    static let partsPerBatch = 16

    /// The sums of one part (or of everything so far): Σ‖e‖² and the unnormalized gradient sums.
    struct Sums {
        var squaredError = 0.0
        var a1: [Double], u: [Double], a2: [Double]
        init(dx: Int, dh: Int, dy: Int) {
            a1 = [Double](repeating: 0, count: dh * dx)
            u = [Double](repeating: 0, count: dh * dh)
            a2 = [Double](repeating: 0, count: dh * dy)
        }
        mutating func add(_ other: Sums) {
            squaredError += other.squaredError
            for k in a1.indices { a1[k] += other.a1[k] }
            for k in u.indices { u[k] += other.u[k] }
            for k in a2.indices { a2[k] += other.a2[k] }
        }
    }

    private var totals: Sums
    private var pairs = 0
    private var windows = 0

    init(model: IORNN, source: WindowSource, gradient: Bool, threads: Int) throws {
        guard source.inputDimension == model.inputDimension, source.outputDimension == model.outputDimension else {
            throw ModelError("backpropagation through time: the windows have dx = \(source.inputDimension), dy = \(source.outputDimension); "
                             + "the model has dx = \(model.inputDimension), dy = \(model.outputDimension)")
        }
        guard threads >= 1 else { throw ModelError("backpropagation through time: threads must be at least 1, got \(threads)") }
        self.model = model
        dx = model.inputDimension
        dh = model.hiddenDimension
        dy = model.outputDimension
        wantsGradient = gradient
        workers = min(threads, Self.partsPerBatch)
        let c = model.coefficients
        derivative = c.count > 1 ? (1..<c.count).map { Double($0) * c[$0] } : [0]
        totals = Sums(dx: dx, dh: dh, dy: dy)
    }

    func run(_ source: WindowSource) throws -> OutputErrorGradient {
        try source.forEachBatch { batch in try accumulate(batch) }
        guard pairs > 0 else { throw ModelError("backpropagation through time: the source holds no (window, t) pairs") }
        let p = Double(pairs)
        func scaled(_ v: [Double], _ shape: [Int]) -> Tensor { Tensor(shape: shape, storage: v.map { $0 / p }) }
        return OutputErrorGradient(loss: totals.squaredError / p,
                                   a1: wantsGradient ? scaled(totals.a1, [dh, dx]) : nil,
                                   u: wantsGradient ? scaled(totals.u, [dh, dh]) : nil,
                                   a2: wantsGradient ? scaled(totals.a2, [dh, dy]) : nil,
                                   pairs: pairs, windows: windows)
    }

    /// A window of a batch: its segment and its place in the segment.
    struct WindowPlace: Sendable { let segment: Int, index: Int }

    /// The windows of a batch, in order; throws unless every segment holds whole windows.
    static func places(_ batch: [WindowSegment], dx: Int, dy: Int) throws -> [WindowPlace] {
        var places: [WindowPlace] = []
        for (s, segment) in batch.enumerated() {
            let n = segment.windowLength, count = segment.windowCount
            guard n >= 1, segment.firstTime == 0, segment.accumulate == 0..<n, segment.x.count == count * n * dx,
                  segment.y.count == count * n * dy else {
                throw ModelError("backpropagation through time needs whole windows: segment \(s) of a batch holds times "
                                 + "\(segment.firstTime)… of windows of \(n) steps (x \(segment.x.count), y \(segment.y.count) values)")
            }
            for w in 0..<count { places.append(WindowPlace(segment: s, index: w)) }
        }
        return places
    }

    private func accumulate(_ batch: [WindowSegment]) throws {
        let all = try Self.places(batch, dx: dx, dy: dy)
        totals.add(try sums(batch, all[...], firstWindow: windows))
        windows += all.count
        pairs += all.reduce(0) { $0 + batch[$1.segment].windowLength }
    }

    /// The sums over some windows of a batch (numbered from `firstWindow` in messages), in
    /// `partsPerBatch` parts added in order: the same bits for any number of workers.
    func sums(_ batch: [WindowSegment], _ places: ArraySlice<WindowPlace>, firstWindow: Int) throws -> Sums {
        var total = Sums(dx: dx, dh: dh, dy: dy)
        guard !places.isEmpty else { return total }
        // At most partsPerBatch parts, of at least 64 windows (a minibatch of 256 gets 4): the
        // partition depends on the windows alone, so the sums do not depend on the thread count.
        let count = places.count, start = places.startIndex
        let parts = max(1, min(Self.partsPerBatch, count / 64))
        let slots = ChunkSlots<Sums>(count: parts)
        let nextPart = WindowMomentKernels.PartCounter()
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                let part = nextPart.take()
                guard part < parts else { break }
                let range = (start + count * part / parts)..<(start + count * (part + 1) / parts)
                slots.store(Result { try self.accumulatePart(batch, places[range], firstWindow: firstWindow + range.lowerBound - start) },
                            at: part)
            }
        }
        if workers == 1 || parts == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: min(workers, parts), execute: work) }
        for result in slots.all() { total.add(try result.get()) }   // in part order; the first divergence first
        return total
    }

    /// The sums over consecutive windows of a batch, in order.
    private func accumulatePart(_ batch: [WindowSegment], _ places: ArraySlice<WindowPlace>, firstWindow: Int) throws -> Sums {
        var sums = Sums(dx: dx, dh: dh, dy: dy)
        guard let longest = places.map({ batch[$0.segment].windowLength }).max() else { return sums }
        // One scratch allocation per part: states, preactivations, outputs, and the backward pass's vectors.
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: longest * (2 * dh + dy) + 2 * dh + dy)
        defer { scratch.deallocate() }
        let states = scratch, preactivations = states + longest * dh, outputs = preactivations + longest * dh
        let vectors = outputs + longest * dy
        var squaredError = 0.0
        try sums.a1.withUnsafeMutableBufferPointer { ga1 in
            try sums.u.withUnsafeMutableBufferPointer { gu in
                try sums.a2.withUnsafeMutableBufferPointer { ga2 in
                    try model.u.storage.withUnsafeBufferPointer { u in
                        try model.a2.storage.withUnsafeBufferPointer { a2 in
                            try derivative.withUnsafeBufferPointer { slope in
                                let gradient = Gradient(a1: ga1.baseAddress!, u: gu.baseAddress!, a2: ga2.baseAddress!,
                                                        modelU: u.baseAddress!, modelA2: a2.baseAddress!, slope: slope,
                                                        carry: vectors, deltaZ: vectors + dh, error: vectors + 2 * dh)
                                let lanes = Lanes(dx: dx, dh: dh, dy: dy, length: longest)
                                defer { lanes.deallocate() }
                                let list = Array(places)
                                var k = 0
                                while k < list.count {
                                    let place = list[k], segment = batch[place.segment], n = segment.windowLength
                                    // Four consecutive windows of one stacked segment go through the recurrence in vector lanes.
                                    let fourInLanes = k + 4 <= list.count && list[k + 3].segment == place.segment
                                        && list[k + 3].index == place.index + 3
                                    let done = try segment.x.withUnsafeBufferPointer { x in
                                        try segment.y.withUnsafeBufferPointer { y in
                                            let xw = x.baseAddress! + place.index * n * dx, yw = y.baseAddress! + place.index * n * dy
                                            if fourInLanes,
                                               try model.run4(x, xOffset: place.index * n * dx, length: n,
                                                              into: UnsafeMutableBufferPointer(start: lanes.outputs, count: 4 * longest * dy),
                                                              yOffset: 0, window: firstWindow + k, states: lanes.states,
                                                              preactivations: lanes.preactivations) {
                                                backward4(x: xw, y: yw, length: n, lanes: lanes, gradient: gradient)
                                                return 4
                                            }
                                            try model.run(x, xOffset: place.index * n * dx, length: n,
                                                          into: UnsafeMutableBufferPointer(start: outputs, count: longest * dy), yOffset: 0,
                                                          states: states, preactivations: preactivations, window: firstWindow + k)
                                            squaredError += backward(x: xw, y: yw, yHat: outputs, length: n, states: states,
                                                                     preactivations: preactivations, gradient: gradient)
                                            return 1
                                        }
                                    }
                                    k += done
                                }
                                squaredError += lanes.addSums(to: gradient)
                            }
                        }
                    }
                }
            }
        }
        sums.squaredError = squaredError
        return sums
    }

    /// Where the backward pass adds its sums, the parameters it reads, and its scratch vectors.
    fileprivate struct Gradient {
        let a1: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, a2: UnsafeMutablePointer<Double>
        let modelU: UnsafePointer<Double>, modelA2: UnsafePointer<Double>
        let slope: UnsafeBufferPointer<Double>
        let carry: UnsafeMutablePointer<Double>, deltaZ: UnsafeMutablePointer<Double>, error: UnsafeMutablePointer<Double>
    }

    /// Scratch of the four-window path: the lanes' states, preactivations and outputs, their
    /// backward vectors, and per-lane gradient sums (added to the part's sums at its end).
    private final class Lanes {
        let states, preactivations, carry, deltaZ, error, a1, u, a2: UnsafeMutablePointer<SIMD4<Double>>
        let outputs: UnsafeMutablePointer<Double>
        var squaredError = SIMD4<Double>()
        let dx: Int, dh: Int, dy: Int
        private let vectors: UnsafeMutablePointer<SIMD4<Double>>
        private let count: Int

        init(dx: Int, dh: Int, dy: Int, length: Int) {
            (self.dx, self.dh, self.dy) = (dx, dh, dy)
            count = 2 * length * dh + 2 * dh + dy + dh * dx + dh * dh + dh * dy
            vectors = .allocate(capacity: count)
            vectors.initialize(repeating: SIMD4<Double>(), count: count)
            states = vectors
            preactivations = states + length * dh
            carry = preactivations + length * dh
            deltaZ = carry + dh
            error = deltaZ + dh
            a1 = error + dy
            u = a1 + dh * dx
            a2 = u + dh * dh
            outputs = .allocate(capacity: 4 * length * dy)
        }

        func deallocate() {
            vectors.deallocate()
            outputs.deallocate()
        }

        /// Adds the lanes' gradient sums (lane 0 to 3) to `g`; returns their Σ‖e‖².
        func addSums(to g: Gradient) -> Double {
            for e in 0..<(dh * dx) { g.a1[e] += a1[e].sum() }
            for e in 0..<(dh * dh) { g.u[e] += u[e].sum() }
            for e in 0..<(dh * dy) { g.a2[e] += a2[e].sum() }
            return squaredError.sum()
        }
    }

    /// The backward pass of `backward` for four consecutive windows in vector lanes (window l in
    /// lane l), from the states and preactivations `run4` recorded in `lanes`.
    private func backward4(x: UnsafePointer<Double>, y: UnsafePointer<Double>, length n: Int, lanes: Lanes, gradient g: Gradient) {
        let a2 = g.modelA2, u = g.modelU
        let h = lanes.states, z = lanes.preactivations, carry = lanes.carry, deltaZ = lanes.deltaZ, error = lanes.error
        let xStride = n * dx, yStride = n * dy
        let top = g.slope.count - 1
        for j in 0..<dh { carry[j] = SIMD4<Double>() }
        for t in stride(from: n - 1, through: 0, by: -1) {
            for o in 0..<dy {
                let at = t &* dy &+ o
                let yHat = SIMD4(lanes.outputs[at], lanes.outputs[yStride &+ at], lanes.outputs[2 &* yStride &+ at],
                                 lanes.outputs[3 &* yStride &+ at])
                let e = yHat - SIMD4(y[at], y[yStride &+ at], y[2 &* yStride &+ at], y[3 &* yStride &+ at])
                error[o] = e
                lanes.squaredError += e * e
            }
            guard wantsGradient else { continue }
            for j in 0..<dh {
                let hj = h[t &* dh &+ j]
                var back = carry[j]
                for o in 0..<dy {
                    lanes.a2[j &* dy &+ o] += 2 * hj * error[o]
                    back += 2 * a2[j &* dy &+ o] * error[o]
                }
                let zj = z[t &* dh &+ j]
                var slope = SIMD4<Double>()
                var i = top
                while i >= 0 { slope = slope * zj + g.slope[i]; i &-= 1 }
                deltaZ[j] = back * slope
            }
            for j in 0..<dh {
                let d = deltaZ[j]
                for i in 0..<dx {
                    let at = t &* dx &+ i
                    lanes.a1[j &* dx &+ i] += d * SIMD4(x[at], x[xStride &+ at], x[2 &* xStride &+ at], x[3 &* xStride &+ at])
                }
                if t > 0 {
                    for k in 0..<dh { lanes.u[j &* dh &+ k] += d * h[(t &- 1) &* dh &+ k] }
                }
            }
            for k in 0..<dh {
                var c = SIMD4<Double>()
                for j in 0..<dh { c += u[j &* dh &+ k] * deltaZ[j] }
                carry[k] = c
            }
        }
    }

    /// The backward pass of one window (see the top of this file): adds the gradient sums and
    /// returns the window's Σ_t ‖e_t‖².
    private func backward(x: UnsafePointer<Double>, y: UnsafePointer<Double>, yHat: UnsafePointer<Double>, length n: Int,
                          states h: UnsafePointer<Double>, preactivations z: UnsafePointer<Double>, gradient g: Gradient) -> Double {
        let a2 = g.modelA2, u = g.modelU, carry = g.carry, deltaZ = g.deltaZ, error = g.error
        let top = g.slope.count - 1
        var squaredError = 0.0
        carry.update(repeating: 0, count: dh)
        for t in stride(from: n - 1, through: 0, by: -1) {
            for o in 0..<dy {
                let e = yHat[t &* dy &+ o] - y[t &* dy &+ o]
                error[o] = e
                squaredError += e * e
            }
            guard wantsGradient else { continue }
            for j in 0..<dh {
                let hj = h[t &* dh &+ j]
                var back = carry[j]
                for o in 0..<dy {
                    g.a2[j &* dy &+ o] += 2 * hj * error[o]
                    back += 2 * a2[j &* dy &+ o] * error[o]
                }
                // σ'(z) by Horner's rule.
                let zj = z[t &* dh &+ j]
                var slope = 0.0
                var i = top
                while i >= 0 { slope = slope * zj + g.slope[i]; i &-= 1 }
                deltaZ[j] = back * slope
            }
            for j in 0..<dh {
                let d = deltaZ[j]
                for i in 0..<dx { g.a1[j &* dx &+ i] += d * x[t &* dx &+ i] }
                if t > 0 {
                    for k in 0..<dh { g.u[j &* dh &+ k] += d * h[(t &- 1) &* dh &+ k] }
                }
            }
            for k in 0..<dh {
                var c = 0.0
                for j in 0..<dh { c += u[j &* dh &+ k] * deltaZ[j] }
                carry[k] = c
            }
        }
        return squaredError
    }
}

/// What truncated BPTT gives: the same sums as `outputErrorGradient` with the carry dropped
/// (c_{t+1} = 0, so δh_t = 2 A2 e_t: each step's error reaches only its own step). **Not ∇L**: the
/// counterexample that the gradient tests and walkthrough 07 feed to their checks. A plain loop
/// over windows `x` (N×n×dx) and `y` (N×n×dy), for small checks only.
public func truncatedOutputErrorGradient(_ model: IORNN, x: Tensor, y: Tensor) throws -> OutputErrorGradient {
    let (windows, n, dx) = (x.shape[0], x.shape[1], x.shape[2])
    let dh = model.hiddenDimension, dy = model.outputDimension
    var ga1 = [Double](repeating: 0, count: dh * dx), gu = [Double](repeating: 0, count: dh * dh), ga2 = [Double](repeating: 0, count: dh * dy)
    var loss = 0.0
    for w in 0..<windows {
        let h = try model.states(for: Tensor(shape: [n, dx]) { i in x[w, i[0], i[1]] })
        for t in 0..<n {
            for o in 0..<dy {
                var e = -y[w, t, o]
                for l in 0..<dh { e += model.a2[l, o] * h[t, l] }
                loss += e * e
            }
            for j in 0..<dh {
                var z = 0.0
                for i in 0..<dx { z += model.a1[j, i] * x[w, t, i] }
                for k in 0..<dh where t > 0 { z += model.u[j, k] * h[t - 1, k] }
                var slope = 0.0
                for (i, c) in model.coefficients.enumerated() where i > 0 { slope += Double(i) * c * pow(z, Double(i - 1)) }
                var back = 0.0
                for o in 0..<dy {
                    var e = -y[w, t, o]
                    for l in 0..<dh { e += model.a2[l, o] * h[t, l] }
                    back += 2 * model.a2[j, o] * e
                    ga2[j * dy + o] += 2 * h[t, j] * e
                }
                let dz = back * slope
                for i in 0..<dx { ga1[j * dx + i] += dz * x[w, t, i] }
                for k in 0..<dh where t > 0 { gu[j * dh + k] += dz * h[t - 1, k] }
            }
        }
    }
    let pairs = Double(windows * n)
    return OutputErrorGradient(loss: loss / pairs, a1: Tensor(shape: [dh, dx], storage: ga1.map { $0 / pairs }),
                               u: Tensor(shape: [dh, dh], storage: gu.map { $0 / pairs }),
                               a2: Tensor(shape: [dh, dy], storage: ga2.map { $0 / pairs }), pairs: windows * n, windows: windows)
}

// MARK: The bidirectional RNN (paper eq. 18, walkthrough 05)

/// The loss and gradient of a bidirectional IO-RNN: `forward` holds ∂L/∂A1, ∂L/∂U and ∂L/∂ of
/// A2's forward rows, `backward` ∂L/∂B1, ∂L/∂V and ∂L/∂ of A2's backward rows (nil for a side
/// without units); `loss` is the mean over (window, t) pairs of ‖A2ᵀ [h_t; z_t] − y_t‖².
public struct BidirectionalOutputErrorGradient: Sendable {
    public let loss: Double
    public let forward: OutputErrorGradient?
    public let backward: OutputErrorGradient?
    public let pairs: Int
    public let windows: Int
}

/// The loss and gradient of a bidirectional IO-RNN on every window of `source`, by
/// backpropagation through time on each side.
///
/// The output is the sum of the two sides' outputs, so the error of one side's chain at t is
/// e_t = ŷ_t − y_t whatever the other side contributes: each side is backpropagated as an
/// IO-RNN (the backward side on the time-reversed window) whose target is y minus the other
/// side's output. So this runs `outputErrorGradient`'s engine on each side with that target,
/// after a forward pass of both sides for the targets; the same bits for any `threads`.
public func outputErrorGradient(_ model: BidirectionalIORNN, on source: WindowSource, threads: Int = 2) throws
    -> BidirectionalOutputErrorGradient {
    guard source.inputDimension == model.inputDimension, source.outputDimension == model.outputDimension else {
        throw ModelError("backpropagation through time: the windows have dx = \(source.inputDimension), dy = \(source.outputDimension); "
                         + "the model has dx = \(model.inputDimension), dy = \(model.outputDimension)")
    }
    let dx = model.inputDimension, dy = model.outputDimension
    let sides = [model.forward, model.backward]
    let engines = try sides.map { side in try side.map { try BackpropagationThroughTime(model: $0, source: source, gradient: true, threads: threads) } }
    var totals = sides.map { side in side.map { BackpropagationThroughTime.Sums(dx: dx, dh: $0.hiddenDimension, dy: dy) } }
    var pairs = 0, windows = 0
    try source.forEachBatch { batch in
        let places = try BackpropagationThroughTime.places(batch, dx: dx, dy: dy)
        guard !places.isEmpty else { return }
        var forwardBatch: [WindowSegment] = [], backwardBatch: [WindowSegment] = []
        for segment in batch {
            let count = segment.windowCount, n = segment.windowLength
            let x = Tensor(shape: [count, n, dx], storage: segment.x)
            let reversedX = reversingTime(segment.x, windows: count, steps: n, width: dx)
            // Each side's noiseless output, in the window's own time order.
            let zeros = [Double](repeating: 0, count: count * n * dy)
            let ahead = try model.forward.map { try $0.noiselessOutputs(x, windows: count, length: n, firstWindow: windows) } ?? zeros
            let behind: [Double]
            do {
                behind = try model.backward.map {
                    reversingTime(try $0.noiselessOutputs(Tensor(shape: [count, n, dx], storage: reversedX), windows: count, length: n,
                                                          firstWindow: windows), windows: count, steps: n, width: dy)
                } ?? zeros
            } catch let error as ModelError {
                throw ModelError("backward units (run from each window's end, so t counts from the end): " + error.message)
            }
            // Forward side: target y − (backward side's output); backward side, reversed: y − (forward side's output).
            forwardBatch.append(WindowSegment(windows: count, windowLength: n, x: segment.x,
                                              y: zip(segment.y, behind).map { $0 - $1 }))
            backwardBatch.append(WindowSegment(windows: count, windowLength: n, x: reversedX,
                                               y: reversingTime(zip(segment.y, ahead).map { $0 - $1 }, windows: count, steps: n, width: dy)))
        }
        for (side, engine) in engines.enumerated() {
            guard let engine else { continue }
            totals[side]!.add(try engine.sums(side == 0 ? forwardBatch : backwardBatch, places[...], firstWindow: windows))
        }
        windows += places.count
        pairs += places.reduce(0) { $0 + batch[$1.segment].windowLength }
    }
    guard pairs > 0 else { throw ModelError("backpropagation through time: the source holds no (window, t) pairs") }
    let p = Double(pairs)
    func gradient(_ side: Int) -> OutputErrorGradient? {
        guard let sums = totals[side], let m = sides[side] else { return nil }
        let dh = m.hiddenDimension
        return OutputErrorGradient(loss: sums.squaredError / p,
                                   a1: Tensor(shape: [dh, dx], storage: sums.a1.map { $0 / p }),
                                   u: Tensor(shape: [dh, dh], storage: sums.u.map { $0 / p }),
                                   a2: Tensor(shape: [dh, dy], storage: sums.a2.map { $0 / p }), pairs: pairs, windows: windows)
    }
    let forward = gradient(0), backward = gradient(1)
    return BidirectionalOutputErrorGradient(loss: (forward ?? backward)!.loss, forward: forward, backward: backward,
                                            pairs: pairs, windows: windows)
}
